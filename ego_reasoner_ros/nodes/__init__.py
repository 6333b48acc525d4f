# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ROS 2 nodes (floor 4): sim bridge, reasoner, action executor, and their ROS-free helpers.

Importing this package does not import rclpy; the node modules do.
"""
