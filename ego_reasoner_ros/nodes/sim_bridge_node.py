# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Simulator bridge node: owns a simulator, publishes its camera, executes its actions.

Run::

    ros2 run ego_reasoner_ros sim_bridge_node --ros-args --params-file config/sim_bridge.yaml

Topics (relative): publishes ``camera/image_raw`` (rgb8), ``camera/camera_info``,
``camera/depth/image_raw`` (32FC1, when ``depth`` is true), ``sim/result`` and
``debug/world_state`` (when ``publish_world_state`` is true); subscribes ``sim/action``.
An action with ``benchmark: eb-alfred`` runs in an EB-ALFRED session instead
(:class:`ego_reasoner_ros.training.eb_alfred.remote.EBSession`): its init rebuilds the named
episode's initial state (ALFRED rules, 1.5 m visibility, ``eb_resolution`` frames), each
later action one EB skill, answered with EB's feedback string.
JSON schemas: :mod:`ego_reasoner_ros.nodes.protocol`.
"""

from __future__ import annotations

from collections import OrderedDict
import dataclasses
import json
import os
import threading
from typing import Any

import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.nodes import protocol
from ego_reasoner_ros.nodes.common import StampSource, declare, run_node
from ego_reasoner_ros.nodes.conversions import camera_info, image_to_msg, json_msg
from ego_reasoner_ros.nodes.params import SimBridgeParams
from ego_reasoner_ros.nodes.qos import IMAGE_QOS, JSON_QOS, LATCHED_QOS
from ego_reasoner_ros.training.eb_alfred.skills import BENCHMARK as EB_ALFRED

def build_sim(params: SimBridgeParams) -> Any:
    """Build the simulator backend named by the ``backend`` parameter."""
    from ego_reasoner_ros.sim_bridge.registry import SimConfig
    from ego_reasoner_ros.sim_bridge.registry import make_sim
    wanted = {'type': params.backend, 'backend': params.backend,
              'width': params.width, 'height': params.height,
              'fov': params.fov_deg, 'depth': params.depth,
              'move_distance': params.move_distance,
              'visibility_distance': params.visibility_distance,
              'scenes_dir': params.scenes_dir or None}
    names = {f.name for f in dataclasses.fields(SimConfig)}
    cfg = SimConfig(**{k: v for k, v in wanted.items() if k in names and v is not None})
    return make_sim(cfg)


def world_snapshot(sim: Any) -> dict[str, Any]:
    """A JSON-ready snapshot of the simulator's exact world state (empty if it has none)."""
    world = getattr(sim, 'world', None)
    fn = getattr(world, 'snapshot', None) if world is not None else None
    if not callable(fn):
        return {}
    return json.loads(json.dumps(fn(), default=_json_default))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return str(obj)


class SimBridgeNode(Node):
    """Wraps a ``sim_bridge`` backend; one action at a time, each action id runs once."""

    def __init__(self) -> None:
        super().__init__('sim_bridge')
        self.p = declare(self, SimBridgeParams)
        self._stamps = StampSource()
        self._lock = threading.Lock()
        self._done: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._last_frame: np.ndarray | None = None
        self._last_depth: np.ndarray | None = None
        self._world_seq = 0
        self._scene_types: list[str] = []
        self._legal: list[str] = []
        self._episode: dict[str, Any] = {}   # what the debug topic needs to replay the world
        self._history: list[list[Any]] = []
        self._eb: Any = None            # the EB-ALFRED session, built on its first init
        self._eb_active = False         # the last init was an EB-ALFRED episode
        self.sim = build_sim(self.p)
        self.pub_image = self.create_publisher(Image, 'camera/image_raw', IMAGE_QOS)
        self.pub_info = self.create_publisher(CameraInfo, 'camera/camera_info', IMAGE_QOS)
        self.pub_depth = (self.create_publisher(Image, 'camera/depth/image_raw', IMAGE_QOS)
                          if self.p.depth else None)
        self.pub_result = self.create_publisher(String, 'sim/result', JSON_QOS)
        self.pub_world = (self.create_publisher(String, 'debug/world_state', LATCHED_QOS)
                          if self.p.publish_world_state else None)
        group = MutuallyExclusiveCallbackGroup()
        self.create_subscription(String, 'sim/action', self._on_action, JSON_QOS,
                                 callback_group=group)
        if self.p.reset_on_start and self.p.scene:
            try:
                self._reset(self.p.scene or None, int(self.p.seed), 'startup')
            except DataError as exc:  # a scene that needs data nobody fetched: say so, exit 2
                self.get_logger().fatal(f'cannot load scene {self.p.scene!r}: {exc}')
                raise SystemExit(2) from exc
        rate = float(self.p.publish_rate_hz)
        if rate > 0:
            self.create_timer(1.0 / rate, self._republish, callback_group=group)
        self.get_logger().info(f'sim bridge ready: backend={self.p.backend} '
                               f'scene={self.p.scene or "(default)"}')

    # ---------------------------------------------------------------- camera
    def _publish_frame(self, rgb: np.ndarray, depth: np.ndarray | None = None) -> int:
        stamp = self._stamps.next()
        frame_id = self.p.frame_id
        self.pub_image.publish(image_to_msg(rgb, encoding='rgb8', stamp_ns=stamp,
                                            frame_id=frame_id))
        h, w = rgb.shape[:2]
        self.pub_info.publish(camera_info(w, h, float(self.p.fov_deg),
                                          fov_axis=self.p.fov_axis, stamp_ns=stamp,
                                          frame_id=frame_id))
        if self.pub_depth is not None and depth is not None:
            self.pub_depth.publish(image_to_msg(np.asarray(depth, np.float32),
                                                encoding='32FC1', stamp_ns=stamp,
                                                frame_id=frame_id))
        return stamp

    def _republish(self) -> None:
        if self._last_frame is not None:
            self._publish_frame(self._last_frame, self._last_depth)

    def _publish_obs(self, obs: dict[str, Any]) -> list[int]:
        obs = obs or {}
        images = [np.asarray(im, dtype=np.uint8) for im in obs.get('images', [])]
        depth = obs.get('depth')
        depths = list(depth) if isinstance(depth, (list, tuple)) else (
            [depth] if depth is not None else [])
        stamps = []
        for i, rgb in enumerate(images):
            stamps.append(self._publish_frame(rgb, depths[i] if i < len(depths) else None))
        if images:
            self._last_frame = images[-1]
            self._last_depth = depths[-1] if depths else None
        return stamps

    def _publish_world(self, action_id: str) -> None:
        if self.pub_world is None or self._eb_active:  # the expert plays ER tasks only
            return
        self._world_seq += 1
        world = dict(self._episode, history=list(self._history),
                     snapshot=world_snapshot(self.sim))
        payload = {'seq': self._world_seq, 'action_id': action_id, 'world': world}
        self.pub_world.publish(json_msg('world_state', payload))

    # ---------------------------------------------------------------- actions
    def _reset(self, scene: str | None, seed: int | None, action_id: str,
               sim_task: dict[str, Any] | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if scene:
            options['scene'] = scene
        if self.p.scenes_dir:
            options['scenes_dir'] = self.p.scenes_dir
        if sim_task:
            options['task'] = sim_task
        if self.p.agent_positions:
            options['agent_positions'] = self.p.agent_positions
        obs, info = self.sim.reset(seed=seed, options=options or None)
        self._history = []
        self._episode = {
            'scene': scene or '', 'scenes_dir': self.p.scenes_dir, 'seed': seed,
            'task': sim_task or {}, 'agent_positions': self.p.agent_positions,
            'config': {k: getattr(self.p, k) for k in ('width', 'height', 'fov_deg',
                                                      'move_distance',
                                                      'visibility_distance')}}
        scene_types = getattr(self.sim, 'scene_types', None)
        self._scene_types = list(scene_types() if callable(scene_types) else [])
        return self._finish(action_id, obs, info, success=True, terminated=False)

    def _finish(self, action_id: str, obs: dict[str, Any], info: dict[str, Any], *,
                success: bool, terminated: bool) -> dict[str, Any]:
        stamps = self._publish_obs(obs)
        info = info or {}
        self._legal = list(info.get('legal_objects', self._legal) or [])
        result = {'action_id': action_id, 'success': bool(success),
                  'feedback': str(info.get('feedback') or info.get('error') or ''),
                  'frame_stamps': stamps, 'legal_objects': self._legal,
                  'scene_types': list(self._scene_types), 'terminated': bool(terminated)}
        if info.get('error'):
            result['error'] = str(info['error'])
        self._publish_world(action_id)
        return result

    def _on_action(self, msg: String) -> None:
        try:
            req = protocol.decode('sim_action', msg.data)
        except protocol.SchemaError as exc:
            aid, _ = protocol.best_effort_ids(msg.data)
            self.get_logger().warning(f'rejected sim action: {exc}')
            self._send(dict(_error(aid, str(exc))))
            return
        aid = req['action_id']
        with self._lock:
            if aid in self._done:  # a repeated request never runs twice
                self._send(self._done[aid])
                return
            try:
                result = self._execute(req)
            except Exception as exc:  # noqa: BLE001 - report, keep the node alive
                self.get_logger().error(f'sim action {aid} failed: {exc}')
                result = _error(aid, f'{type(exc).__name__}: {exc}')
            self._done[aid] = result
            while len(self._done) > 512:
                self._done.popitem(last=False)
        self._send(result)

    def _execute(self, req: dict[str, Any]) -> dict[str, Any]:
        aid = req['action_id']
        if req.get('benchmark') == EB_ALFRED:
            return self._eb_execute(req)
        if req['verb'] == 'init':
            self._eb_active = False
            return self._reset(req.get('scene') or self.p.scene or None,
                               req.get('seed', int(self.p.seed)), aid, req.get('sim_task'))
        try:
            action = Action(req['verb'], req.get('target'))
        except (ValueError, TypeError) as exc:
            return _error(aid, str(exc))
        obs, _reward, terminated, _trunc, info = self.sim.step(action)
        self._history.append([action.verb.value, action.target])
        info = info or {}
        return self._finish(aid, obs, info, success=bool(info.get('success', False)),
                            terminated=bool(terminated))

    def _eb_execute(self, req: dict[str, Any]) -> dict[str, Any]:
        aid = req['action_id']
        try:
            if self._eb is None:
                from ego_reasoner_ros.training.eb_alfred.remote import EBSession
                self._eb = EBSession(self.p.eb_data or None, self.p.scenes_dir or None,
                                     resolution=int(self.p.eb_resolution))
            if req['verb'] == 'init':
                self._eb_active = False
                reply = self._eb.start(req['episode'])
                self._eb_active = True
                self._scene_types = list(reply.scene_types)
            elif not self._eb_active:
                return _error(aid, 'no EB-ALFRED episode is loaded: send init with an '
                                   'episode first')
            else:
                reply = self._eb.step(req['skill'])
        except ValueError as exc:  # DataError too: no data, no such episode, not a skill
            return _error(aid, str(exc))
        obs = {'images': [reply.frame] if reply.frame is not None else []}
        result = self._finish(aid, obs, {'feedback': reply.feedback, 'legal_objects': []},
                              success=reply.success, terminated=False)
        result['eb'] = reply.eb
        return result

    def _send(self, result: dict[str, Any]) -> None:
        self.pub_result.publish(json_msg('sim_result', result))

    def close(self) -> None:
        """Close the simulator."""
        close = getattr(self.sim, 'close', None)
        if callable(close):
            close()


def _error(action_id: str, message: str) -> dict[str, Any]:
    return {'action_id': action_id or 'unknown', 'success': False, 'feedback': message,
            'frame_stamps': [], 'legal_objects': [], 'scene_types': [], 'terminated': False,
            'error': message}


def main(args: list[str] | None = None) -> None:
    """Console entry point ``sim_bridge_node``."""
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    raise SystemExit(run_node(SimBridgeNode, args))


if __name__ == '__main__':
    main()
