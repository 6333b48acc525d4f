# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A :class:`~ego_reasoner_ros.core.loop.StepEnvironment` over a simulator backend.

The episode loop talks to :class:`SimStepEnvironment`; the task metadata the simulator needs
(navigable/target/related objects, for instance resolution and the reference's navigation
redirect) goes to the simulator here and never to the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.loop import StepOutcome


def resolve_world(world: Any) -> Any:
    """The world object behind a read-only proxy (anything else is returned unchanged).

    A proxy is an object whose type defines ``resolve_world()``: the reasoner node's mirror of
    the simulator's world (``nodes.world_mirror.ReadOnlyWorld``); planners that copy the world
    call this first.
    """
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
        track_initial: capture the world state the strict goal check compares against at
            every reset (:attr:`initial`).
    """

    def __init__(self, sim: Any, *, scene: Any, scenes_dir: Any = None,
                 task: Mapping[str, Any] | None = None,
                 agent_positions: Mapping[str, Any] | None = None, seed: int | None = None,
                 track_initial: bool = False) -> None:
        self.sim = sim
        self.scene = scene
        self.scenes_dir = scenes_dir
        self.task = dict(task or {})
        self.agent_positions = agent_positions
        self.seed = seed
        self.track_initial = track_initial
        #: The world state captured at the last reset (``track_initial``; None without a world).
        self.initial: Any = None
        self._scene_types: list[str] = []

    @property
    def world(self) -> Any:
        """The simulator's exact world state of the current episode (None without one).

        A backend builds a new world at every reset; the loop reads this after ``reset()``.
        """
        return getattr(self.sim, 'world', None)

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
        if self.track_initial and self.world is not None:
            from ego_reasoner_ros.training.goals import capture_initial

            self.initial = capture_initial(self.world)
        else:
            self.initial = None
        return self._outcome(obs, info, True)

    def execute(self, action: Action) -> StepOutcome:
        """Run one action in the simulator."""
        obs, _reward, _term, _trunc, info = self.sim.step(action)
        return self._outcome(obs, info, bool(info.get('success')))
