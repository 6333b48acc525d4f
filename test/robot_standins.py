# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Stand-ins for a robot's ROS interfaces, run as a child process by the robot tests.

    python test/robot_standins.py --log events.jsonl --nav-duration 0.3 \
        --service manipulation/pickup=test_msgs/srv/BasicTypes --camera-hz 20

- a ``nav2_msgs/action/NavigateToPose`` server on ``navigate_to_pose`` whose goals take
  ``--nav-duration`` seconds (checked every 5 ms for a cancel request, which is honoured);
- one service per ``--service name=pkg/srv/Type``, answering success (``bool_value=True`` and
  ``string_value='done <object>'`` where the response has them);
- a camera on ``camera/image_raw`` (8x8 rgb8, stamped with the wall clock).

Every goal, cancel request, goal end, service request and frame is appended to ``--log`` as
one JSON object per line, with ``t_ns`` (wall clock) for the tests and the benchmark to read.
The DDS environment (localhost profile, domain id) comes from the parent.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import threading
import time
from typing import Any


class EventLog:
    """Append-only JSON-lines file, one object per event."""

    def __init__(self, path: str) -> None:
        self._fh = open(path, 'a', buffering=1)  # noqa: SIM115 - open for the process' life
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        fields.update(event=event, t_ns=time.time_ns())
        with self._lock:
            self._fh.write(json.dumps(fields) + '\n')
            self._fh.flush()


def _plain(msg: Any) -> dict[str, Any]:
    """The string, bool and number fields of a request (lists of strings included)."""
    out: dict[str, Any] = {}
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if isinstance(value, (str, bool, int, float)):
            out[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
    return out


def _pose(ps: Any) -> dict[str, Any]:
    p, q = ps.pose.position, ps.pose.orientation
    return {'frame_id': ps.header.frame_id,
            'stamp_ns': ps.header.stamp.sec * 1_000_000_000 + ps.header.stamp.nanosec,
            'x': p.x, 'y': p.y, 'z': p.z, 'qx': q.x, 'qy': q.y, 'qz': q.z, 'qw': q.w,
            'yaw': 2.0 * math.atan2(q.z, q.w)}


def _load(type_name: str) -> Any:
    pkg, kind, name = type_name.split('/')
    return getattr(importlib.import_module(f'{pkg}.{kind}'), name)


class Standins:
    """The action server, services and camera on one node."""

    def __init__(self, node: Any, log: EventLog, nav_duration: float,
                 services: list[tuple[str, str]], camera_hz: float) -> None:
        from nav2_msgs.action import NavigateToPose  # the test-built stand-in
        from rclpy.action import ActionServer, CancelResponse, GoalResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from sensor_msgs.msg import Image

        self.node, self.log, self.nav_duration = node, log, nav_duration
        self._nav_type = NavigateToPose
        self._goal_count = 0
        group = ReentrantCallbackGroup()
        self.server = ActionServer(
            node, NavigateToPose, 'navigate_to_pose', self._execute,
            goal_callback=lambda _g: GoalResponse.ACCEPT,
            cancel_callback=self._on_cancel, callback_group=group)
        self._cancel_ok = CancelResponse.ACCEPT
        self.services = []
        for name, type_name in services:
            srv_type = _load(type_name)
            self.services.append(node.create_service(
                srv_type, name, self._service_cb(name, type_name, srv_type),
                callback_group=group))
        self._image = Image(height=8, width=8, encoding='rgb8', step=24, data=bytes(192))
        self.pub_image = node.create_publisher(Image, 'camera/image_raw', 10)
        self._frame = 0
        if camera_hz > 0:
            node.create_timer(1.0 / camera_hz, self._publish_frame, callback_group=group)

    def _publish_frame(self) -> None:
        now = time.time_ns()
        self._image.header.stamp.sec = now // 1_000_000_000
        self._image.header.stamp.nanosec = now % 1_000_000_000
        self._image.header.frame_id = str(self._frame)
        self._frame += 1
        self.pub_image.publish(self._image)
        self.log.write('frame', stamp_ns=now)

    def _on_cancel(self, goal_handle: Any) -> Any:
        self.log.write('cancel_request', goal=self._goal_key(goal_handle))
        return self._cancel_ok

    @staticmethod
    def _goal_key(goal_handle: Any) -> str:
        return bytes(goal_handle.goal_id.uuid).hex()

    def _execute(self, goal_handle: Any) -> Any:
        key = self._goal_key(goal_handle)
        req = goal_handle.request
        self.log.write('goal', goal=key, pose=_pose(req.pose),
                       behavior_tree=req.behavior_tree)
        feedback = self._nav_type.Feedback()
        feedback.current_pose = req.pose
        end = time.monotonic() + self.nav_duration
        while time.monotonic() < end:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                self.log.write('goal_end', goal=key, status='canceled')
                return self._nav_type.Result()
            feedback.distance_remaining = float(end - time.monotonic())
            goal_handle.publish_feedback(feedback)
            time.sleep(0.005)
        goal_handle.succeed()
        self.log.write('goal_end', goal=key, status='succeeded')
        return self._nav_type.Result()

    def _service_cb(self, name: str, type_name: str, srv_type: Any) -> Any:
        def cb(request: Any, response: Any) -> Any:
            fields = _plain(request)
            self.log.write('service', service=name, type=type_name, request=fields)
            target = fields.get('string_value') or ','.join(fields.get('names', []))
            if hasattr(response, 'bool_value'):
                response.bool_value = True
            if hasattr(response, 'string_value'):
                response.string_value = f'done {target}'
            return response
        return cb


def main() -> int:
    """Run the stand-ins until SIGINT/SIGTERM."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--log', required=True)
    ap.add_argument('--nav-duration', type=float, default=0.3)
    ap.add_argument('--camera-hz', type=float, default=20.0)
    ap.add_argument('--service', action='append', default=[],
                    help='name=pkg/srv/Type (repeatable)')
    args = ap.parse_args()
    services = [tuple(s.split('=', 1)) for s in args.service]

    from ego_reasoner_ros.nodes.dds import ensure_localhost_dds
    ensure_localhost_dds('test')
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    log = EventLog(args.log)
    rclpy.init()
    node = rclpy.create_node('robot_standins')
    Standins(node, log, args.nav_duration, services, args.camera_hz)
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    log.write('ready')
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
