# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Recorder node: the reasoner graph's topics into a rosbag2 (MCAP) bag, losslessly.

Run::

    ros2 run ego_reasoner_ros recorder_node --ros-args -p out_dir:=bags -p compression:=zstd
    ego-reasoner record --out bags            # the same, without ros2

Subscribes raw (serialized bytes, no deserialization) to the camera, ``camera/camera_info``,
``task``, ``reasoner/thought``, ``reasoner/action``, ``executor/result``, ``reasoner/status``
and ``verdict`` (plus ``extra_topics`` given as ``name:pkg/msg/Type``) and hands the bytes
to :class:`~ego_reasoner_ros.runtime.bagio.QueuedBagWriter`, whose thread writes chunked
MCAP files (``<out_dir>/<bag_name>/``). Step topics use a reliable KEEP_LAST(``json_depth``)
subscription, the camera a reliable one of depth ``image_depth`` (``best_effort`` for
cameras that only offer it). SIGINT/SIGTERM close the bag cleanly (``metadata.yaml``); a
SIGKILL loses at most the chunk in progress (``chunk_duration_s``).

``verdict`` is the operator's outcome label: ``std_msgs/String`` JSON
``{"task_id": str, "success": bool, "note": str}``, read by ``ego-reasoner bag2data``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path
import threading
import time
from typing import Any

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from ego_reasoner_ros.nodes.common import declare, run_node
from ego_reasoner_ros.nodes.params import RecorderParams
from ego_reasoner_ros.runtime.bagio import BagWriterConfig, QosSpec, QueuedBagWriter

LOG = logging.getLogger(__name__)

#: topic -> message type recorded by default (relative names, resolved in the namespace).
DEFAULT_TOPICS: dict[str, str] = {
    'camera/image_raw': 'sensor_msgs/msg/Image',
    'camera/camera_info': 'sensor_msgs/msg/CameraInfo',
    'task': 'std_msgs/msg/String',
    'reasoner/thought': 'std_msgs/msg/String',
    'reasoner/action': 'std_msgs/msg/String',
    'executor/result': 'std_msgs/msg/String',
    'reasoner/status': 'std_msgs/msg/String',
    'verdict': 'std_msgs/msg/String',
}
_CLASSES = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/CameraInfo': CameraInfo,
            'std_msgs/msg/String': String}
_CAMERA_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CameraInfo')

def _import_type(msgtype: str) -> Any:
    if msgtype in _CLASSES:
        return _CLASSES[msgtype]
    pkg, kind, name = msgtype.split('/')
    module = __import__(f'{pkg}.{kind}', fromlist=[name])
    return getattr(module, name)


class RecorderNode(Node):
    """Raw subscriptions feeding a queued MCAP writer."""

    def __init__(self) -> None:
        super().__init__('recorder')
        self.p = declare(self, RecorderParams)
        name = self.p.bag_name or _dt.datetime.now().strftime('rosbag2_%Y_%m_%d-%H_%M_%S')
        self.bag_path = Path(self.p.out_dir) / name
        config = BagWriterConfig(
            chunk_size=max(1, int(float(self.p.chunk_size_mb) * (1 << 20))),
            chunk_duration_s=float(self.p.chunk_duration_s),
            compression=self.p.compression,
            max_file_size=int(float(self.p.max_file_size_mb) * (1 << 20)),
            max_file_duration_s=float(self.p.max_file_duration_s),
            fsync=bool(self.p.fsync))
        self.bag = QueuedBagWriter(self.bag_path, config)
        self._lock = threading.Lock()
        self._closed = False
        #: messages the middleware reports as lost before they reached the recorder
        self.lost: dict[str, int] = {}

        topics = dict(DEFAULT_TOPICS)
        image_topic = self.p.image_topic
        if image_topic != 'camera/image_raw':
            topics.pop('camera/image_raw')
            topics[image_topic] = 'sensor_msgs/msg/Image'
        if not self.p.record_camera:
            topics = {t: ty for t, ty in topics.items() if ty not in _CAMERA_TYPES}
        topics.update(self.p.topics())  # extra_topics, checked by RecorderParams

        group = ReentrantCallbackGroup()
        reliable_images = self.p.image_reliability != 'best_effort'
        for topic, msgtype in topics.items():
            camera = msgtype in _CAMERA_TYPES
            depth = int(self.p.image_depth if camera else self.p.json_depth)
            reliability = (ReliabilityPolicy.RELIABLE if (reliable_images or not camera)
                           else ReliabilityPolicy.BEST_EFFORT)
            qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                             reliability=reliability)
            full = self.resolve_topic_name(topic)
            self.bag.add_topic(full, msgtype, QosSpec(
                reliability='reliable' if reliability == ReliabilityPolicy.RELIABLE
                else 'best_effort', depth=depth))
            events = SubscriptionEventCallbacks(message_lost=self._make_lost_callback(full))
            self.create_subscription(_import_type(msgtype), topic, self._make_callback(full),
                                     qos, callback_group=group, raw=True,
                                     event_callbacks=events)
        self._started = time.monotonic()
        period = float(self.p.stats_period_s)
        if period > 0:
            self.create_timer(period, self._log_stats)
        self.get_logger().info(f'recording {len(topics)} topics to {self.bag_path}')

    def _make_callback(self, topic: str) -> Any:
        bag = self.bag

        def on_message(data: bytes) -> None:
            with self._lock:
                if not self._closed:
                    bag.put(topic, data)
        return on_message

    def _make_lost_callback(self, topic: str) -> Any:
        def on_lost(info: Any) -> None:
            self.lost[topic] = int(info.total_count)
            self.get_logger().warning(f'{topic}: {info.total_count_change} message(s) lost '
                                      f'before reaching the recorder ({info.total_count} '
                                      'in all); the publisher history was too short for '
                                      'this load')
        return on_lost

    def _log_stats(self) -> None:
        total = sum(self.bag.received.values())
        self.get_logger().info(f'{total} messages received, backlog {self.bag.backlog()}, '
                               f'{self.bag.writer.chunks_flushed} chunks written')

    def stats(self) -> dict[str, Any]:
        """Received / written counts per topic."""
        return {'bag': str(self.bag_path), 'received': dict(self.bag.received),
                'written': self.bag.writer.counts(), 'lost': dict(self.lost),
                'seconds': round(time.monotonic() - self._started, 3)}

    def close(self) -> None:
        """Stop taking messages, drain the queue and close the bag (metadata.yaml)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.bag.close()
        # the ROS logger may be gone already (context shut down by the signal)
        LOG.info('bag closed: %s', json.dumps(self.stats()))


def main(args: list[str] | None = None) -> None:
    """Console entry point ``recorder_node``."""
    raise SystemExit(run_node(RecorderNode, args, threads=2))


if __name__ == '__main__':
    main()
