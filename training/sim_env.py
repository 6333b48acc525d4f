# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A :class:`~ego_reasoner_ros.core.loop.StepEnvironment` over a simulator backend.

The episode loop talks to :class:`SimStepEnvironment`; the task metadata the simulator needs
(navigable/target/related objects, for instance resolution and the reference's navigation
redirect) goes to the simulator here and never to the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.loop import StepOutcome


class LiveWorld:
    """Stands for "the simulator's world of the current episode".

    The episode loop looks ``env.world`` up before ``env.reset()``, while a backend builds a
    new world at each reset; this proxy forwards every attribute to the world of the moment,
    and :meth:`resolve_world` returns the real object (policies that copy the world call it).
    """

    def __init__(self, sim: Any) -> None:
        self._sim = sim

    def resolve_world(self) -> Any:
        """The simulator's current world object."""
        world = getattr(self._sim, 'world', None)
        if world is None:
            raise RuntimeError('the simulator has no world yet (reset it first)')
        return world

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve_world(), name)


def resolve_world(world: Any) -> Any:
    """Unwrap a :class:`LiveWorld` (anything else is returned unchanged)."""
    fn = getattr(type(world), 'resolve_world', None)
    return world.resolve_world() if fn is not None else world


class SimStepEnvironment:
    """Adapter from a ``SimBackend`` (``reset``/``step``) to the loop's ``StepEnvironment``.

    Args:
        sim: the backend (``EmbeddedSim`` or the AI2-THOR one); reused across episodes.
        scene: scene name (or path / ``Scene``) given to ``sim.reset``.
        scenes_dir: where scene names are looked up.
        task: the ``options["task"]`` mapping (navigable/target/related objects, identity).
        agent_positions: the ``agent_positions.json`` content, or None.
        seed: passed to ``sim.reset``.
        on_reset: called with this adapter right after the simulator reset (the evaluator
            records the initial world state for the strict metric there).
    """

    def __init__(self, sim: Any, *, scene: Any, scenes_dir: Any = None,
                 task: Mapping[str, Any] | None = None,
                 agent_positions: Mapping[str, Any] | None = None, seed: int | None = None,
                 on_reset: Callable[[SimStepEnvironment], None] | None = None) -> None:
        self.sim = sim
        self.scene = scene
        self.scenes_dir = scenes_dir
        self.task = dict(task or {})
        self.agent_positions = agent_positions
        self.seed = seed
        self.on_reset = on_reset
        self._scene_types: list[str] = []

    @property
    def world(self) -> Any:
        """The simulator's exact world state, as a :class:`LiveWorld` (None without one)."""
        if not hasattr(self.sim, 'world'):
            return None
        return LiveWorld(self.sim)

    def _outcome(self, obs: Mapping[str, Any], info: Mapping[str, Any],
                 success: bool) -> StepOutcome:
        extra = {k: v for k, v in info.items()
                 if k in ('navigable_objects', 'held', 'error', 'current_container')}
        return StepOutcome(success=success, feedback=str(info.get('feedback') or ''),
                           images=list(obs.get('images') or []),
                           legal_objects=list(info.get('legal_objects') or []),
                           scene_types=list(self._scene_types), info=extra)

    def reset(self) -> StepOutcome:
        """Reset the simulator to the scene and task; the ``init`` frame."""
        options: dict[str, Any] = {'scene': self.scene, 'task': self.task}
        if self.scenes_dir is not None:
            options['scenes_dir'] = self.scenes_dir
        if self.agent_positions is not None:
            options['agent_positions'] = self.agent_positions
        obs, info = self.sim.reset(seed=self.seed, options=options)
        self._scene_types = list(self.sim.scene_types())
        if self.on_reset is not None:
            self.on_reset(self)
        return self._outcome(obs, info, True)

    def execute(self, action: Action) -> StepOutcome:
        """Run one action in the simulator."""
        obs, _reward, _term, _trunc, info = self.sim.step(action)
        return self._outcome(obs, info, bool(info.get('success')))
