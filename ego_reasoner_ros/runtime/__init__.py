# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""What the deployed nodes record and write, with no training floor: MCAP bags, episode replays."""
