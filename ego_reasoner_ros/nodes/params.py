# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The nodes' ROS parameters as dataclasses: one per node, typed, defaulted and validated.

Each field is one ROS parameter (:func:`ego_reasoner_ros.nodes.common.declare` declares
them from the fields and builds the dataclass from their values). A field's default is what
a bare ``ros2 run`` gets; ``config/*.yaml`` restates the defaults for the simulator graph
(``robot_executor.yaml`` overrides them for a robot) and the README's parameter table
documents them; ``test/test_node_params.py`` holds all three together.

Types are checked on construction (an int is taken for a float, a list for a string list);
string lists drop empty entries, because a ROS parameter file writes an empty list as
``['']``. A bad value raises :class:`ParamError`, which names the parameter; the node then
exits 2. This module does not import rclpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import dataclasses
from dataclasses import dataclass, field
import typing
from typing import Any, ClassVar, TypeVar

__all__ = ['ExecutorParams', 'NodeParams', 'ParamError', 'ReasonerParams', 'RecorderParams',
           'SimBridgeParams', 'NODE_PARAMS']

P = TypeVar('P', bound='NodeParams')

#: the shipped generated kitchen (``make demo``): needs no data download
DEFAULT_SCENE = 'procedural:kitchen:0'


class ParamError(ValueError):
    """A node parameter has a bad value; the message names the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f'parameter {name!r}: {message}')
        self.name = name


def _strings(*values: str) -> Any:
    return field(default_factory=lambda: tuple(values))


@dataclass(frozen=True)
class NodeParams:
    """Base of the node parameter dataclasses: type checks and the ROS declaration helpers."""

    #: the node name, as in the parameter files (``<node>: ros__parameters:``)
    NODE: ClassVar[str] = ''

    def __post_init__(self) -> None:
        types = self.field_types()
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name),
                                                     types[f.name]))

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """``{field name: type}`` (``str``, ``int``, ``float``, ``bool`` or ``tuple``)."""
        hints = typing.get_type_hints(cls)
        return {f.name: (tuple if typing.get_origin(hints[f.name]) is tuple
                         else hints[f.name]) for f in dataclasses.fields(cls)}

    @classmethod
    def from_mapping(cls: type[P], values: Mapping[str, Any]) -> P:
        """Build from ``{name: value}``; an unknown name is a :class:`ParamError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in names:
                raise ParamError(key, f'{cls.NODE} has no such parameter '
                                      f'(known: {", ".join(sorted(names))})')
        return cls(**dict(values))

    @classmethod
    def ros_defaults(cls) -> dict[str, Any]:
        """``{name: default}`` as ROS declares them (an empty string list is ``['']``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = (f.default_factory() if f.default is dataclasses.MISSING  # type: ignore[misc]
                     else f.default)
            out[f.name] = (list(value) or ['']) if isinstance(value, tuple) else value
        return out


def _coerce(name: str, value: Any, kind: Any) -> Any:
    if kind is tuple:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ParamError(name, f'expected a list of strings, got {value!r}')
        items = list(value)
        if not all(isinstance(v, str) for v in items):
            raise ParamError(name, f'expected a list of strings, got {value!r}')
        return tuple(v for v in items if v)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ParamError(name, f'expected an integer, got {value!r}')
    if not isinstance(value, kind):
        raise ParamError(name, f'expected {kind.__name__}, got {type(value).__name__} '
                               f'{value!r}')
    return value


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ParamError(name, message)


def _choice(obj: Any, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(obj, name)
    _check(value in choices, name, f'must be one of {", ".join(choices)}; got {value!r}')


def _at_least(obj: Any, lower: float, *names: str, strict: bool = False) -> None:
    for name in names:
        value = getattr(obj, name)
        ok = value > lower if strict else value >= lower
        _check(ok, name, f'must be {">" if strict else ">="} {lower}, got {value!r}')


@dataclass(frozen=True)
class SimBridgeParams(NodeParams):
    """``sim_bridge_node``: the simulator, its camera and its debug topic."""

    NODE: ClassVar[str] = 'sim_bridge'

    backend: str = 'embedded'              # embedded | ai2thor
    scene: str = DEFAULT_SCENE             # procedural:[ROOM:]SEED, FloorPlanN (data), folder
    scenes_dir: str = ''                   # '' = the public data set's scenes
    agent_positions: str = ''              # agent_positions.json (optional)
    seed: int = 0
    width: int = 448                       # the frames policies see in evaluation
    height: int = 448
    fov_deg: float = 90.0
    fov_axis: str = 'vertical'             # as in AI2-THOR
    move_distance: float = 0.5
    visibility_distance: float = 20.0
    depth: bool = False
    publish_rate_hz: float = 5.0           # camera republish rate (0 = only after actions)
    frame_id: str = 'camera'
    # debug/world_state: ground truth for the expert, the reasoner's default policy; the
    # bridge only ever drives a simulator, so a bare run serves the default reasoner
    publish_world_state: bool = True
    reset_on_start: bool = True
    eb_data: str = ''                      # EB-ALFRED data folder ('' = resolved as by eval)
    eb_resolution: int = 500               # EB-ALFRED frames (EB: 500x500)

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice(self, 'backend', ('embedded', 'ai2thor'))
        _choice(self, 'fov_axis', ('vertical', 'horizontal'))
        _at_least(self, 0, 'width', 'height', 'move_distance', 'visibility_distance',
                  'eb_resolution', strict=True)
        _at_least(self, 0, 'publish_rate_hz')
        _check(0 < self.fov_deg < 180, 'fov_deg', f'must be in (0, 180), got {self.fov_deg}')


@dataclass(frozen=True)
class ReasonerParams(NodeParams):
    """``reasoner_node``: the policy, the loop's limits, where episodes go, a launch task."""

    NODE: ClassVar[str] = 'reasoner'

    policy: str = 'expert'
    parser_mode: str = 'strict'            # strict (as evaluated) | lenient
    step_timeout_s: float = 300.0          # per policy / environment call (0 = none)
    action_timeout_s: float = 60.0         # waiting for the executor's result
    action_resend_s: float = 2.0           # resend an unanswered action (deduped by id)
    frame_wait_s: float = 5.0              # waiting for the frames a result names
    world_wait_s: float = 5.0              # waiting for debug/world_state (expert only)
    max_steps: int = 0                     # 0 = the task type's budget
    heartbeat_hz: float = 2.0              # reasoner/status while a task runs (0 = none)
    runs_dir: str = 'runs'
    run_dir: str = ''                      # '' = runs_dir/<timestamp> per task
    save_episodes: bool = True
    initial_task: str = ''                 # JSON task or a plain instruction, run once ready
    initial_task_file: str = ''            # or a file holding the JSON task
    initial_task_type: str = ''
    initial_scene: str = ''
    exit_after_task: bool = False
    wait_for_recorder_s: float = 0.0       # > 0: before a task, wait for a recorder to match
    image_topic: str = 'camera/image_raw'
    eb_data: str = ''                      # EB-ALFRED data folder ('' = resolved as by eval)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(bool(self.policy.strip()), 'policy', 'must name a policy (e.g. expert)')
        _choice(self, 'parser_mode', ('strict', 'lenient'))
        _at_least(self, 0, 'action_timeout_s', 'action_resend_s', strict=True)
        _at_least(self, 0, 'step_timeout_s', 'frame_wait_s', 'world_wait_s', 'max_steps',
                  'heartbeat_hz', 'wait_for_recorder_s')
        _check(bool(self.image_topic), 'image_topic', 'must name a topic')


@dataclass(frozen=True)
class ExecutorParams(NodeParams):
    """``action_executor_node``: the safety gate, the backend and the robot backend's wiring.

    The robot's per-verb services (``manipulation.<verb>.*``) are declared by
    :func:`ego_reasoner_ros.nodes.executor_backends.manipulation_params`.
    """

    NODE: ClassVar[str] = 'action_executor'

    backend: str = 'sim'                   # sim | robot
    action_timeout_s: float = 30.0
    allowed_verbs: tuple[str, ...] = ()    # empty = the whole vocabulary
    allowed_objects: tuple[str, ...] = ()  # empty = any object of the scene
    check_scene_objects: bool = True
    # a bare run is as guarded as the shipped sim graph: a rate limit and a watchdog
    max_actions: int = 120                 # per rate_window_s; 0 = unlimited
    rate_window_s: float = 60.0
    approval_verbs: tuple[str, ...] = ()   # verbs that wait for executor/approval
    approval_timeout_s: float = 60.0
    watchdog_timeout_s: float = 3.0        # > 0: cancel when reasoner heartbeats stop
    # robot backend
    semantic_map: str = ''
    nav_action: str = 'navigate_to_pose'
    image_topic: str = 'camera/image_raw'
    frame_wait_s: float = 2.0
    move_forward_m: float = 0.25
    manipulation_verbs: tuple[str, ...] = _strings('pickup', 'put', 'put in', 'toggle',
                                                   'open', 'close')

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice(self, 'backend', ('sim', 'robot'))
        _check(self.backend != 'robot' or bool(self.semantic_map), 'semantic_map',
               'the robot backend needs a semantic map YAML')
        _at_least(self, 0, 'action_timeout_s', 'rate_window_s', 'approval_timeout_s',
                  'move_forward_m', strict=True)
        _at_least(self, 0, 'max_actions', 'watchdog_timeout_s', 'frame_wait_s')


@dataclass(frozen=True)
class RecorderParams(NodeParams):
    """``recorder_node``: the bag, its chunking and rotation, and the subscriptions' QoS."""

    NODE: ClassVar[str] = 'recorder'

    out_dir: str = 'bags'
    bag_name: str = ''                     # '' = rosbag2_<date>-<time>
    image_topic: str = 'camera/image_raw'
    record_camera: bool = True
    extra_topics: tuple[str, ...] = ()     # 'name:pkg/msg/Type' (types with a Python class)
    compression: str = 'zstd'              # none | zstd | lz4 (per chunk)
    chunk_size_mb: float = 4.0
    chunk_duration_s: float = 1.0
    max_file_size_mb: float = 0.0          # rotate to a new .mcap file (0 = never)
    max_file_duration_s: float = 0.0
    fsync: bool = False
    json_depth: int = 1000
    image_depth: int = 100
    image_reliability: str = 'reliable'    # or best_effort
    stats_period_s: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice(self, 'compression', ('none', 'zstd', 'lz4'))
        _choice(self, 'image_reliability', ('reliable', 'best_effort'))
        _at_least(self, 0, 'chunk_size_mb', 'chunk_duration_s', strict=True)
        _at_least(self, 1, 'json_depth', 'image_depth')
        _at_least(self, 0, 'max_file_size_mb', 'max_file_duration_s', 'stats_period_s')
        for spec in self.extra_topics:
            topic, _, msgtype = spec.partition(':')
            _check(bool(topic.strip()) and msgtype.count('/') == 2, 'extra_topics',
                   f'entry {spec!r} must be name:pkg/msg/Type')

    def topics(self) -> dict[str, str]:
        """``extra_topics`` as ``{topic: type}``."""
        return {t.strip(): ty.strip() for t, _, ty in (s.partition(':')
                                                       for s in self.extra_topics)}


#: node name -> its parameter dataclass
NODE_PARAMS: dict[str, type[NodeParams]] = {
    cls.NODE: cls for cls in (SimBridgeParams, ReasonerParams, ExecutorParams, RecorderParams)}
