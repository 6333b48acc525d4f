# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Baseline policies: uniformly random actions, and a feedback-driven heuristic.

``RandomPolicy`` draws a verb and an object Type at random (seeded per episode); it reads only
the scene's Type vocabulary from the world, nothing else. ``HeuristicPolicy`` has no world
access: it reads the instruction, then tries ``navigate to`` the object and, when that fails,
explores receptacle Types in a fixed order, judging only by the success or failure the text
feedback reports.
"""

from __future__ import annotations

from collections.abc import Generator
import random

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.training.instruction_parser import Op, parse_without_scene

_OBJECT_VERBS = (Verb.NAVIGATE_TO, Verb.PICKUP, Verb.PUT, Verb.TOGGLE, Verb.OPEN, Verb.CLOSE)
_FREE_VERBS = (Verb.OBSERVE, Verb.MOVE_FORWARD, Verb.END)

#: Where the heuristic looks, in order, when the object itself is not navigable yet.
EXPLORE_ORDER: tuple[str, ...] = (
    'CounterTop', 'DiningTable', 'Cabinet', 'Drawer', 'Fridge', 'Shelf', 'SideTable', 'Desk',
    'CoffeeTable', 'TVStand', 'Dresser', 'Bed', 'Sofa', 'ArmChair', 'Sink', 'SinkBasin',
    'Microwave', 'StoveBurner', 'GarbageCan', 'Toilet', 'BathtubBasin', 'Bathtub',
    'ShelvingUnit', 'Safe', 'Box', 'Chair', 'Stool', 'Ottoman',
)
OPENABLE_GUESS = frozenset({'Cabinet', 'Drawer', 'Fridge', 'Microwave', 'Safe', 'Box',
                            'Dresser', 'Toilet'})
#: Types the heuristic also knows without world access (after the ones the text spells out).
KNOWN_TYPES: tuple[str, ...] = EXPLORE_ORDER + (
    'Faucet', 'CoffeeMachine', 'Plate', 'Pan', 'Mug', 'Egg', 'Apple', 'Bread', 'Lettuce',
    'Potato', 'Tomato')


class RandomPolicy(Policy):
    """Random actions: P(objectless verb) = 0.2, otherwise a random verb and scene Type."""

    name = 'random'
    needs_world = True  # only to read the scene's Type vocabulary
    needs_images = False

    def __init__(self, end_probability: float = 0.05) -> None:
        if not 0.0 <= end_probability <= 1.0:
            raise ValueError(f'end_probability must be in [0, 1], got {end_probability}')
        self.end_probability = end_probability
        self.rng = random.Random(0)
        self.types: list[str] = []

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Reseed and read the scene's Types."""
        self.rng = random.Random(seed if seed is not None else 0)
        scene_types = getattr(world, 'scene_types', None)
        self.types = [t for t in (scene_types() if callable(scene_types) else [])
                      if t != 'Floor']

    def act(self, inp: PolicyInput) -> str:
        """A random action in the decision format."""
        if self.rng.random() < self.end_probability:
            return format_decision(Action(Verb.END))
        if not self.types or self.rng.random() < 0.2:
            verb = self.rng.choice(_FREE_VERBS[:2])
            return format_decision(Action(verb))
        verb = self.rng.choice(_OBJECT_VERBS)
        return format_decision(Action(verb, self.rng.choice(self.types)))


class HeuristicPolicy(Policy):
    """Instruction parsing plus fixed-order exploration, driven by text feedback only."""

    name = 'heuristic'
    needs_world = False
    needs_images = False

    def __init__(self) -> None:
        self._gen: Generator[Action, bool | None, None] | None = None

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Parse the instruction (without world access) and restart the script."""
        del seed, world
        ops = parse_without_scene(instruction, KNOWN_TYPES)
        self._gen = self._script(ops)
        self._started = False

    def _try_at(self, loc: str | None, op: Op) -> Generator[Action, bool | None, bool]:
        """Navigate to ``loc`` (if any) and try the operation there; True on success."""
        verb = {'pickup': Verb.PICKUP, 'put': Verb.PUT, 'toggle': Verb.TOGGLE,
                'open': Verb.OPEN, 'close': Verb.CLOSE}.get(op.kind)
        if loc is not None:
            ok = yield Action(Verb.NAVIGATE_TO, loc)
            if not ok:
                return False
        if verb is None:  # find: arriving is the best this baseline can tell
            return loc == op.obj
        ok = yield Action(verb, op.obj)
        if ok:
            return True
        if loc in OPENABLE_GUESS or op.obj in OPENABLE_GUESS:
            target = op.obj if op.kind == 'put' and op.obj in OPENABLE_GUESS else loc
            opened = yield Action(Verb.OPEN, target)
            if opened:
                ok = yield Action(verb, op.obj)
                return bool(ok)
        return False

    def _script(self, ops: list[Op]) -> Generator[Action, bool | None, None]:
        yield Action(Verb.OBSERVE)
        for op in ops:
            done = yield from self._try_at(op.obj if op.kind != 'put' else None, op)
            if not done and op.kind == 'put':
                done = yield from self._try_at(op.obj, op)
            if not done and op.kind != 'put':
                done = yield from self._try_at(op.obj, op)
            for loc in EXPLORE_ORDER:
                if done:
                    break
                done = yield from self._try_at(loc, op)

    def act(self, inp: PolicyInput) -> str:
        """The next scripted action; ``end`` when the script is exhausted."""
        if self._gen is None:
            raise RuntimeError('call reset() before act()')
        try:
            if not self._started:
                self._started = True
                action = next(self._gen)
            else:
                action = self._gen.send(inp.last_success)
        except StopIteration:
            action = Action(Verb.END)
        return format_decision(action)
