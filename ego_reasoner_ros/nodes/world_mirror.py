# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A read-only copy of the simulator's world, rebuilt from the ``debug/world_state`` topic.

ROS-free. Only the scripted expert (``needs_world=True``) uses it: the sim bridge publishes
the episode's scene, task, camera settings and the list of actions applied since ``init``,
plus the exact snapshot; the mirror replays that history on its own (render-less) embedded
simulator, which is deterministic, and checks the result against the snapshot. A learned
policy never gets this object.
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)

#: World methods that change state; the proxy refuses them.
MUTATORS = frozenset({'apply', 'init', 'navigate', 'pickup', 'put', 'open', 'close', 'toggle',
                      'observe', 'move_forward', 'end'})


class WorldMirrorError(RuntimeError):
    """The mirror cannot be built or drifted from the published snapshot."""


class ReadOnlyWorld:
    """Delegates queries to the mirror's current world; state-changing calls raise."""

    def __init__(self, mirror: WorldMirror) -> None:
        object.__setattr__(self, '_mirror', mirror)

    def resolve_world(self) -> Any:
        """The replica ``World`` itself (what ``training.sim_env.resolve_world`` unwraps).

        Planners deep-copy it to try action sequences; it is a replica, so nothing done to it
        reaches the simulator, and the next sync detects any drift.
        """
        return self._mirror.world

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') or name == '_mirror':
            raise AttributeError(name)
        if name in MUTATORS:
            raise AttributeError(f'the world proxy is read-only: {name}() is not available')
        return getattr(self._mirror.world, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError('the world proxy is read-only')


class WorldMirror:
    """Keeps a replica of the simulator's world in step with published world states."""

    def __init__(self) -> None:
        self._sim: Any = None
        self._key: tuple | None = None
        self._applied = 0
        self.proxy = ReadOnlyWorld(self)

    @property
    def world(self) -> Any:
        """The replica's current ``World`` (raises when nothing was synced yet)."""
        if self._sim is None or self._sim.world is None:
            raise WorldMirrorError('no world state received from the sim bridge yet')
        return self._sim.world

    def sync(self, state: dict[str, Any]) -> None:
        """Bring the replica to the published state (``world`` field of ``world_state``)."""
        from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
        if not state.get('scene'):
            raise WorldMirrorError('world state names no scene')
        cfg = state.get('config') or {}
        key = (state['scene'], state.get('scenes_dir') or '', repr(state.get('task') or {}),
               state.get('agent_positions') or '', repr(sorted(cfg.items())), state.get('seed'))
        history = [(v, t) for v, t in state.get('history') or []]
        if key != self._key or len(history) < self._applied:
            self._sim = make_sim(SimConfig(
                type='embedded', render=False, width=int(cfg.get('width', 448)),
                height=int(cfg.get('height', 448)), fov=float(cfg.get('fov_deg', 90.0)),
                move_distance=float(cfg.get('move_distance', 0.5)),
                visibility_distance=float(cfg.get('visibility_distance', 20.0)),
                scenes_dir=state.get('scenes_dir') or None))
            options: dict[str, Any] = {'scene': state['scene']}
            if state.get('task'):
                options['task'] = state['task']
            if state.get('agent_positions'):
                options['agent_positions'] = state['agent_positions']
            self._sim.reset(seed=state.get('seed'), options=options)
            self._key, self._applied = key, 0
        for verb, target in history[self._applied:]:
            self._sim.world.apply(verb, target)
            self._applied += 1
        self._check(state.get('snapshot') or {})

    def _check(self, snap: dict[str, Any]) -> None:
        if not snap:
            return
        mine = self._sim.world.snapshot()
        for key in ('held', 'current_container', 'agent'):
            if key in snap and mine.get(key) != snap[key]:
                raise WorldMirrorError(f'world mirror drifted on {key!r}: '
                                       f'{mine.get(key)!r} != {snap[key]!r}')
