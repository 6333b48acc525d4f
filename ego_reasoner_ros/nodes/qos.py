# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The QoS profiles of the nodes' topics, in one place (the recorder builds its own per topic)."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

IMAGE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
JSON_QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
ESTOP_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
