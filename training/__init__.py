# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Offline learning: evaluation, expert, data engine, policy backends, SFT and GRPO."""
