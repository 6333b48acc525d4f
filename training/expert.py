# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scripted expert: reads the instruction and the exact world state, plans, acts.

The expert never sees the task record (key actions, target or related objects). It turns the
instruction into a list of operations (``instruction_parser.parse_instruction``), then plans
each operation (``expert_planner.Planner``) by trying short candidate action sequences on
copies of the world and keeping the first one whose effect is right (the object is held, the
receptacle holds it, the appliance changed state...). It uses the verbs the reference's key
actions use: it opens the closed container it takes from and closes it again afterwards, opens
a closed receptacle before putting into it, and puts into the receptacle Type named in the
instruction.

``ExpertPolicy(search_rank=k)`` first visits ``k`` plausible wrong receptacles (opening and
closing the closed ones) before the right one, for human-like search trajectories.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.training.expert_planner import Planner, Step, clone_world, simulate
from ego_reasoner_ros.training.instruction_parser import Op, capabilities_of, parse_instruction
from ego_reasoner_ros.training.sim_env import resolve_world

logger = logging.getLogger(__name__)


class ExpertPolicy(Policy):
    """Scripted expert with exact world access (see the module docstring).

    Args:
        search_rank: how many wrong receptacles to visit before the right one (0: none).
        rng: random source for choosing those receptacles (seeded from ``reset(seed=...)``
            when not given).
        thoughts: prefix each decision with a short ``<Thinking>`` text.
    """

    name = 'expert'
    needs_world = True
    needs_images = False

    def __init__(self, search_rank: int = 0, rng: random.Random | None = None, *,
                 thoughts: bool = True) -> None:
        if search_rank < 0:
            raise ValueError(f'search_rank must be >= 0, got {search_rank}')
        self.search_rank = int(search_rank)
        self._fixed_rng = rng
        self.rng = rng or random.Random(0)
        self.thoughts = thoughts
        self.world: Any = None
        self.ops: list[Op] = []
        self._queue: list[tuple[Step, int, str]] = []
        self._next_op = 0
        self._planner: Planner | None = None
        self.instruction = ''

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Parse the instruction against the world's Types and plan the first operations."""
        if world is None:
            raise ValueError('the expert needs the world state (world=...)')
        world = resolve_world(world)
        self.world = world
        self.instruction = instruction
        if self._fixed_rng is None:
            self.rng = random.Random(seed if seed is not None else 0)
        self.ops = parse_instruction(instruction, world.scene_types(), capabilities_of(world))
        logger.debug('expert plan for %r: %s', instruction, [str(o) for o in self.ops])
        self._planner = Planner(world)
        self._queue = []
        self._next_op = 0
        self._replan(first=True)

    def _replan(self, first: bool = False) -> None:
        """Plan every remaining operation from the live world state."""
        assert self._planner is not None
        w = clone_world(self.world)
        queue: list[tuple[Step, int, str]] = []
        if first and self.search_rank and self.ops:
            for step in self._planner.decoy_visits(w, self.ops[0], self.search_rank, self.rng):
                queue.append((step, 0, 'decoy'))
            if queue:
                w = simulate(w, [s for s, _, _ in queue]) or w
        for k in range(self._next_op, len(self.ops)):
            op = self.ops[k]
            found = self._planner.plan(w, op)
            if found is None:
                logger.debug('expert: cannot plan %s', op)
                continue
            seq, w = found
            queue += [(s, k, str(op)) for s in seq]
        self._queue = queue

    def planned_steps(self) -> list[Step]:
        """The (verb, target) steps still planned, in order (after :meth:`reset`)."""
        return [step for step, _, _ in self._queue]

    def act(self, inp: PolicyInput) -> str:
        """The next action of the plan, re-planned after any failure."""
        if self.world is None:
            raise RuntimeError('call reset() before act()')
        if inp.last_success is False:
            self._replan()
        if not self._queue:
            return self._text(Action(Verb.END), 'Everything asked for is done.')
        (verb, target), k, why = self._queue.pop(0)
        self._next_op = k  # a failure re-plans from this operation
        return self._text(Action(Verb(verb), target), f'To {why}, I will {verb}'
                          + (f' the {target}.' if target else '.'))

    def _text(self, action: Action, thought: str) -> str:
        if not self.thoughts:
            return format_decision(action)
        return f'<Thinking>{thought}</Thinking>\n{format_decision(action)}'
