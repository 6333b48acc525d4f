# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ROS-free agent protocol: actions, parser, prompts, episode records and the episode loop."""
