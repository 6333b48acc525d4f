# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Backends of the action executor: the simulator bridge, or Nav2 + manipulation services.

Both run in the executor's worker thread and block on futures that the node's
multi-threaded executor completes; both honour a cancel event (e-stop, watchdog) and a
timeout. A backend never evaluates model text: it receives a validated ``(verb, target)``.

Robot backend parameters (``config/robot_executor.yaml``)::

    semantic_map: /path/to/map.yaml
    nav_action: navigate_to_pose           # nav2_msgs/action/NavigateToPose server
    manipulation_verbs: [pickup, put, put_in, toggle, open, close]
    manipulation.pickup.type: test_msgs/srv/BasicTypes   # any pkg/srv/Type
    manipulation.pickup.service: manipulation/pickup
    manipulation.pickup.field: string_value               # request field getting the object
    manipulation.pickup.value: id                         # id | type of the map object
    manipulation.pickup.success_field: bool_value         # response field: success (optional)
    manipulation.pickup.message_field: string_value       # response field: feedback (optional)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
import importlib
import math
import threading
import time
from typing import Any

from ego_reasoner_ros.core.errors import MissingDependencyError
from ego_reasoner_ros.nodes.semantic_map import Pose2D, SemanticMap

POLL_S = 0.005


@dataclass
class ExecResult:
    """What a backend reports for one action."""

    status: str
    success: bool
    feedback: str
    frame_stamps: list[int] = field(default_factory=list)
    legal_objects: list[str] = field(default_factory=list)
    scene_types: list[str] = field(default_factory=list)
    error: str | None = None
    eb: dict[str, Any] | None = None   # the simulator's EB-ALFRED fields, passed through


class Cancelled(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The action was cancelled (e-stop, watchdog) while it ran."""


class Backend(ABC):
    """One way of carrying out actions."""

    @abstractmethod
    def execute(self, req: dict[str, Any], cancel: threading.Event,
                timeout_s: float) -> ExecResult:
        """Run one validated action request; must return promptly once ``cancel`` is set."""

    def scene_objects(self) -> list[str] | None:
        """Object types known to exist, for the allowlist check (None: unknown)."""
        return None

    def cancel_all(self) -> None:  # noqa: B027 - optional hook, nothing moves by default
        """Stop whatever is moving (called from the e-stop callback)."""


def _wait_future(future: Any, cancel: threading.Event, deadline: float) -> Any:
    """Wait for an rclpy future; raise :class:`Cancelled` or :class:`TimeoutError`."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    while not done.wait(POLL_S):
        if cancel.is_set():
            raise Cancelled()
        if time.monotonic() > deadline:
            raise TimeoutError()
    return future.result()


# --------------------------------------------------------------------- simulator
class SimBackend(Backend):
    """Forwards actions to ``sim_bridge_node`` over ``sim/action`` / ``sim/result``."""

    def __init__(self, node: Any) -> None:
        from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
        from std_msgs.msg import String

        from ego_reasoner_ros.nodes.qos import JSON_QOS
        self._node = node
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._scene_types: list[str] | None = None
        self._pub = node.create_publisher(String, 'sim/action', JSON_QOS)
        node.create_subscription(String, 'sim/result', self._on_result, JSON_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())

    def _on_result(self, msg: Any) -> None:
        from ego_reasoner_ros.nodes import protocol
        try:
            res = protocol.decode('sim_result', msg.data)
        except protocol.SchemaError as exc:
            self._node.get_logger().warning(f'ignored malformed sim result: {exc}')
            return
        with self._lock:
            ev = self._waiting.get(res['action_id'])
            if ev is not None:  # only the action we wait for; strays are dropped
                self._results[res['action_id']] = res
                ev.set()
        if res.get('scene_types'):
            self._scene_types = list(res['scene_types'])

    def scene_objects(self) -> list[str] | None:
        return self._scene_types

    def execute(self, req: dict[str, Any], cancel: threading.Event,
                timeout_s: float) -> ExecResult:
        from ego_reasoner_ros.nodes.conversions import json_msg
        aid = req['action_id']
        ev = threading.Event()
        with self._lock:
            self._waiting[aid] = ev
        payload = {k: req[k] for k in ('action_id', 'verb', 'target', 'scene', 'seed',
                                       'sim_task', 'benchmark', 'episode', 'skill')
                   if k in req}
        try:
            deadline = time.monotonic() + timeout_s
            while self._pub.get_subscription_count() == 0:  # sim bridge not discovered yet
                if cancel.is_set():
                    raise Cancelled()
                if time.monotonic() > deadline:
                    raise TimeoutError()
                time.sleep(0.02)
            self._pub.publish(json_msg('sim_action', payload))
            while not ev.wait(POLL_S):
                if cancel.is_set():
                    raise Cancelled()
                if time.monotonic() > deadline:
                    raise TimeoutError()
            with self._lock:
                res = self._results.pop(aid)
        finally:
            with self._lock:
                self._waiting.pop(aid, None)
                self._results.pop(aid, None)
        return ExecResult(status='succeeded' if res['success'] else 'failed',
                          success=res['success'], feedback=res['feedback'],
                          frame_stamps=list(res['frame_stamps']),
                          legal_objects=list(res['legal_objects']),
                          scene_types=list(res['scene_types']), error=res.get('error'),
                          eb=res.get('eb'))


# --------------------------------------------------------------------- robot
@dataclass
class ServiceSpec:
    """How one manipulation verb maps onto a ROS service."""

    verb: str
    type_name: str
    service: str
    field: str
    value: str = 'id'
    success_field: str = ''
    message_field: str = ''

    def __post_init__(self) -> None:
        if self.type_name.count('/') != 2 or '/srv/' not in self.type_name:
            raise ValueError(f'manipulation.{self.verb}.type must look like pkg/srv/Type, '
                             f'got {self.type_name!r}')
        if not self.service or not self.field:
            raise ValueError(f'manipulation.{self.verb} needs a service name and a field')
        if self.value not in ('id', 'type'):
            raise ValueError(f'manipulation.{self.verb}.value must be id or type')


def load_interface(type_name: str) -> Any:
    """Import ``pkg/srv/Type`` or ``pkg/action/Type`` by name (like rosidl_runtime_py)."""
    try:
        pkg, kind, name = type_name.split('/')
    except ValueError:
        raise ValueError(f'interface name must be pkg/kind/Type, got {type_name!r}') from None
    try:
        module = importlib.import_module(f'{pkg}.{kind}')
    except ImportError as exc:
        raise MissingDependencyError(
            f'interface package {pkg!r} is not installed (needed for {type_name}); install '
            f'ros-<distro>-{pkg.replace("_", "-")} or build it') from exc
    try:
        return getattr(module, name)
    except AttributeError:
        raise ValueError(f'{pkg}.{kind} has no interface {name!r}') from None


def load_nav2_action() -> Any:
    """``nav2_msgs.action.NavigateToPose``, with a clear error when nav2_msgs is missing."""
    try:
        from nav2_msgs.action import NavigateToPose  # type: ignore[import-not-found]
    except ImportError as exc:
        raise MissingDependencyError(
            'nav2_msgs is not installed: the robot backend needs '
            'nav2_msgs/action/NavigateToPose (apt install ros-jazzy-nav2-msgs, or build the '
            'interface package)') from exc
    return NavigateToPose


def _cancel_when_accepted(future: Any) -> None:
    """Done-callback of a goal request given up on: cancel the goal if it was accepted."""
    handle = future.result()
    if handle is not None and handle.accepted:
        handle.cancel_goal_async()


def _set_field(msg: Any, name: str, value: str) -> None:
    if not hasattr(msg, name):
        raise ValueError(f'{type(msg).__name__} has no field {name!r}; fields: '
                         f'{list(msg.get_fields_and_field_types())}')
    kind = msg.get_fields_and_field_types()[name]
    if kind.startswith('sequence<string') or kind.startswith('string['):
        setattr(msg, name, [value])
    elif kind.startswith('string'):
        setattr(msg, name, value)
    else:
        raise ValueError(f'field {name!r} of {type(msg).__name__} is {kind}, not a string')


class RobotBackend(Backend):
    """Nav2 ``NavigateToPose`` for navigation, configured services for manipulation."""

    def __init__(self, node: Any, params: dict[str, Any]) -> None:
        from rclpy.action import ActionClient
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        self._node = node
        self.params = params
        self.map = SemanticMap.load(params['semantic_map'])
        self._group = ReentrantCallbackGroup()
        self._nav_type = load_nav2_action()
        self._nav = ActionClient(node, self._nav_type, params['nav_action'],
                                 callback_group=self._group)
        self._specs: dict[str, ServiceSpec] = {}
        self._clients: dict[str, Any] = {}
        self._srv_types: dict[str, Any] = {}
        for verb_key, spec in (params.get('manipulation') or {}).items():
            verb = verb_key.replace('_', ' ')
            sp = ServiceSpec(verb=verb, type_name=spec['type'], service=spec['service'],
                             field=spec['field'], value=spec.get('value', 'id'),
                             success_field=spec.get('success_field', ''),
                             message_field=spec.get('message_field', ''))
            srv_type = load_interface(sp.type_name)
            _set_field(srv_type.Request(), sp.field, 'probe')  # fail at start, not mid-task
            self._specs[verb] = sp
            self._srv_types[verb] = srv_type
            self._clients[verb] = node.create_client(srv_type, sp.service,
                                                     callback_group=self._group)
        self._goal_lock = threading.Lock()
        self._goal_handle: Any = None
        self._last_stamp = 0
        self._frame_cv = threading.Condition()
        self._pose: Pose2D | None = None
        node.create_subscription(Image, params.get('image_topic', 'camera/image_raw'),
                                 self._on_frame, qos_profile_sensor_data,
                                 callback_group=self._group)

    # ------------------------------------------------------------ camera
    def _on_frame(self, msg: Any) -> None:
        from ego_reasoner_ros.nodes.conversions import stamp_to_ns
        with self._frame_cv:
            self._last_stamp = stamp_to_ns(msg.header.stamp)
            self._frame_cv.notify_all()

    def _now_ns(self) -> int:
        return int(self._node.get_clock().now().nanoseconds)

    def _capture(self, after_ns: int, cancel: threading.Event, wait_s: float) -> list[int]:
        """Stamp of the first frame newer than ``after_ns`` (empty if none arrives).

        Called once a motion or manipulation has finished, with the time it finished, so
        the frame shows the result and not the robot still moving; a stale frame is never
        returned in its place.
        """
        deadline = time.monotonic() + wait_s
        with self._frame_cv:
            while self._last_stamp <= after_ns and not cancel.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._frame_cv.wait(min(left, 0.05))
            return [self._last_stamp] if self._last_stamp > after_ns else []

    def scene_objects(self) -> list[str] | None:
        return self.map.types()

    # ------------------------------------------------------------ navigation
    def _navigate(self, pose: Pose2D, cancel: threading.Event, deadline: float) -> tuple[bool,
                                                                                          str]:
        from geometry_msgs.msg import PoseStamped
        if not self._nav.wait_for_server(timeout_sec=max(0.1, min(5.0, deadline -
                                                                   time.monotonic()))):
            return False, f'navigation server {self.params["nav_action"]!r} is not available'
        if cancel.is_set():  # e-stop while waiting for the server: send nothing
            raise Cancelled()
        goal = self._nav_type.Goal()
        ps = PoseStamped()
        ps.header.frame_id = self.map.frame_id
        ps.header.stamp = self._node.get_clock().now().to_msg()
        ps.pose.position.x, ps.pose.position.y = float(pose.x), float(pose.y)
        qx, qy, qz, qw = pose.quaternion()
        ps.pose.orientation.x, ps.pose.orientation.y = qx, qy
        ps.pose.orientation.z, ps.pose.orientation.w = qz, qw
        goal.pose = ps
        if hasattr(goal, 'behavior_tree'):
            goal.behavior_tree = str(self.params.get('behavior_tree', ''))
        sent = self._nav.send_goal_async(goal)
        try:
            handle = _wait_future(sent, cancel, deadline)
        except (Cancelled, TimeoutError):
            sent.add_done_callback(_cancel_when_accepted)  # the server may still accept it
            raise
        if not handle.accepted:
            return False, 'navigation goal rejected'
        with self._goal_lock:
            self._goal_handle = handle
        try:
            if cancel.is_set():
                raise Cancelled()
            wrapped = _wait_future(handle.get_result_async(), cancel, deadline)
        except (Cancelled, TimeoutError):
            self._cancel_goal()
            raise
        finally:
            with self._goal_lock:
                self._goal_handle = None
        from action_msgs.msg import GoalStatus
        if wrapped.status == GoalStatus.STATUS_SUCCEEDED:
            self._pose = pose
            return True, ''
        if cancel.is_set():  # our own cancel ended the goal before the poll saw the event
            raise Cancelled()
        return False, f'navigation ended with status {wrapped.status}'

    def _cancel_goal(self) -> None:
        with self._goal_lock:
            handle = self._goal_handle
        if handle is not None:
            handle.cancel_goal_async()

    def cancel_all(self) -> None:
        self._cancel_goal()

    # ------------------------------------------------------------ actions
    def execute(self, req: dict[str, Any], cancel: threading.Event,
                timeout_s: float) -> ExecResult:
        verb, target = req['verb'], req.get('target')
        deadline = time.monotonic() + timeout_s
        types = self.map.types()
        wait_frame = float(self.params.get('frame_wait_s', 2.0))

        def result(ok: bool, feedback: str, stamps: list[int] | None = None) -> ExecResult:
            return ExecResult(status='succeeded' if ok else 'failed', success=ok,
                              feedback=feedback, frame_stamps=stamps or [],
                              legal_objects=types, scene_types=types)

        if verb == 'init':
            return result(True, '', self._capture(0, cancel, wait_frame))
        ok, why = self.map.legality(verb, target)
        if not ok:
            return result(False, why)
        if verb == 'navigate to':
            obj = self.map.resolve(target)
            ok, why = self._navigate(self.map.nav_pose(obj), cancel, deadline)
            if ok:
                self.map.apply(verb, target)
                return result(True, '', self._capture(self._now_ns(), cancel, wait_frame))
            return result(False, why)
        if verb in ('observe', 'move forward'):
            base = self._pose or Pose2D(0.0, 0.0, 0.0)
            if verb == 'move forward':
                step = float(self.params.get('move_forward_m', 0.25))
                pose = Pose2D(base.x + step * math.cos(base.yaw),
                              base.y + step * math.sin(base.yaw), base.yaw)
                ok, why = self._navigate(pose, cancel, deadline)
                return result(ok, why,
                              self._capture(self._now_ns(), cancel, wait_frame) if ok else [])
            stamps: list[int] = []
            for turn in (math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi):
                ok, why = self._navigate(Pose2D(base.x, base.y, base.yaw + turn), cancel,
                                         deadline)
                if not ok:
                    return result(False, why)
                if turn < 2 * math.pi:  # left, back, right (once still); then face forward
                    stamps += self._capture(self._now_ns(), cancel, wait_frame)
            self._pose = base
            return result(True, '', stamps)
        return self._manipulate(verb, target, cancel, deadline, wait_frame, result)

    def _manipulate(self, verb: str, target: str, cancel: threading.Event, deadline: float,
                    wait_frame: float, result: Any) -> ExecResult:
        spec = self._specs.get(verb)
        if spec is None:
            return result(False, f'no manipulation service configured for {verb!r}')
        client = self._clients[verb]
        if not client.wait_for_service(timeout_sec=max(0.1, min(5.0, deadline -
                                                               time.monotonic()))):
            return result(False, f'manipulation service {spec.service!r} is not available')
        if cancel.is_set():
            raise Cancelled()
        obj = self.map.resolve(target)
        request = self._srv_types[verb].Request()
        _set_field(request, spec.field, obj.id if spec.value == 'id' else obj.type)
        response = _wait_future(client.call_async(request), cancel, deadline)
        ok = bool(getattr(response, spec.success_field)) if spec.success_field else True
        message = str(getattr(response, spec.message_field)) if spec.message_field else ''
        if ok:
            self.map.apply(verb, target)
            return result(True, message, self._capture(self._now_ns(), cancel, wait_frame))
        return result(False, message or f'{verb} {target} failed')


def manipulation_params(node: Any, verbs: list[str]) -> dict[str, dict[str, str]]:
    """Declare and read ``manipulation.<verb>.*`` parameters for ``verbs``."""
    out: dict[str, dict[str, str]] = {}
    for verb in verbs:
        key = verb.replace(' ', '_')
        spec = {}
        for name in ('type', 'service', 'field', 'value', 'success_field', 'message_field'):
            default = 'id' if name == 'value' else ''
            spec[name] = node.declare_parameter(f'manipulation.{key}.{name}', default).value
        if spec['type']:
            out[key] = spec
    return out
