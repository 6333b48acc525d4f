# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The winnability check of generated tasks: their key actions replayed in the simulator.

:class:`KeyActionsPolicy` proposes a task's key actions (an ``observe`` first where the
navigable-type gate needs it); :class:`KeyReplayer` runs it through the scored-episode runner
and counts the task winnable when every action succeeds and the strict goal holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import logging
from typing import Any

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.scene import Scene

logger = logging.getLogger(__name__)



class KeyActionsPolicy(Policy):
    """Proposes a task's key actions in order, then ``end``.

    ``observe`` comes first where the navigable-type gate needs it, as
    :func:`~ego_reasoner_ros.sim_bridge.bench.replay_case` does; at the first failed action it
    answers ``end`` and keeps the reason in :attr:`failure`.
    """

    name = 'key-actions'
    needs_world = True
    prompt_config = None

    def __init__(self, actions: Sequence[Mapping[str, Any]]) -> None:
        from ego_reasoner_ros.sim_bridge.bench import OBJECTLESS_KEY_VERBS

        self._objectless = OBJECTLESS_KEY_VERBS
        self.actions = [a for a in actions if a['action'] != 'end']
        self.failure = ''
        self.world: Any = None
        self._next = 0
        self._observed = False

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        del instruction, seed
        self.world, self._next, self._observed, self.failure = world, 0, False, ''

    def act(self, inp: PolicyInput) -> str:
        from ego_reasoner_ros.core.actions import Verb, as_action
        from ego_reasoner_ros.core.parser import format_decision

        end = format_decision(Action(Verb.END))
        if inp.last_action is not None and inp.last_success is False:
            self.failure = f'{inp.last_action}: {inp.feedback}'
            return end
        if self._next >= len(self.actions):
            return end
        a = self.actions[self._next]
        verb, target = a['action'], a.get('objectType') or ''
        if verb not in self._objectless and not target:
            self.failure = f'untyped key action {verb!r}'
            return end
        if (verb == 'navigate to' and not self._observed
                and target not in self.world.navigable_types):
            self._observed = True
            return format_decision(Action(Verb.OBSERVE))
        self._next, self._observed = self._next + 1, False
        try:
            return format_decision(as_action(f'{verb} {target}'.strip()))
        except ValueError as exc:
            self.failure = f'{verb} {target}: {exc}'
            return end


class KeyReplayer:
    """Tells whether a task is winnable: its key actions replay in the embedded simulator.

    The task's key actions (:class:`KeyActionsPolicy`) run through the scored-episode runner
    with the task's reset options and caps wide enough for any key sequence; the task counts
    as winnable when every action succeeds and the strict goal holds.
    """

    def __init__(self) -> None:
        from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

        self.sim = make_sim(SimConfig(render=False))
        self.replayed = 0
        self.failed = 0

    def __call__(self, rec: Mapping[str, Any], scene: Scene) -> bool:
        from dataclasses import replace

        from ego_reasoner_ros.core.loop import LoopConfig
        from ego_reasoner_ros.training.episode_runner import ER_PROTOCOL, run_scored_episode
        from ego_reasoner_ros.training.tasks import Task

        self.replayed += 1
        policy = KeyActionsPolicy(rec['task_metadata']['actions'])
        budget = 2 * len(policy.actions) + 2  # init, an observe before each action, end
        protocol = replace(ER_PROTOCOL, loop_config=LoopConfig(max_steps=budget,
                                                               max_repeats=budget + 1))
        try:
            run = run_scored_episode(policy, Task.from_dict(dict(rec)), self.sim, scene=scene,
                                     protocol=protocol, score=False).raise_error()
            failure = policy.failure or '; '.join(run.strict.failed if run.strict else
                                                  ('no world state',))
        except DataError as exc:
            failure = str(exc)
        if failure:
            self.failed += 1
            logger.debug('dropped unwinnable task %s (%s)', rec.get('identity'), failure)
        return not failure
