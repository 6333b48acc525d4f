# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A tiny StepEnvironment and helpers shared by the core loop / episode tests."""

from __future__ import annotations

import numpy as np

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.loop import StepOutcome

TYPES = ['CounterTop', 'Apple', 'Fridge', 'Microwave', 'Mug']


def decide(text: str, thought: str = 'I look around.') -> str:
    """A model reply with a thought and a decision."""
    return f'<Thinking>{thought}</Thinking><DecisionMaking>{text}</DecisionMaking>'


class FakeEnv:
    """Deterministic environment: random small frames, configurable failing actions."""

    def __init__(self, *, fail: tuple[str, ...] = ('open Microwave',), size=(6, 8),
                 seed: int = 0, raise_on: str | None = None) -> None:
        self.fail = set(fail)
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.raise_on = raise_on
        self.executed: list[Action] = []
        self.resets = 0
        self.world = {'fake': True}

    def _frame(self) -> np.ndarray:
        return self.rng.integers(0, 256, size=(*self.size, 3), dtype=np.uint8)

    def reset(self) -> StepOutcome:
        self.resets += 1
        self.executed = []
        return StepOutcome(True, 'ready', [self._frame()], ['CounterTop'], list(TYPES),
                           {'navigable_objects': ['CounterTop', 'Fridge']})

    def execute(self, action: Action) -> StepOutcome:
        if self.raise_on is not None and str(action) == self.raise_on:
            raise RuntimeError(f'simulator crashed on {action}')
        self.executed.append(action)
        if str(action) in self.fail:
            return StepOutcome(False, f'{action} is not possible here', [], ['CounterTop'],
                               list(TYPES))
        n = 3 if str(action) == 'observe' else 1
        legal = [action.target] if action.target else ['CounterTop']
        return StepOutcome(True, '', [self._frame() for _ in range(n)], legal, list(TYPES),
                           {'navigable_objects': ['CounterTop', 'Fridge']})


def canon(messages: list[dict]) -> list:
    """Messages with images replaced by (shape, bytes), comparable with ==."""
    out = []
    for msg in messages:
        blocks = []
        for block in msg['content']:
            if block['type'] == 'image':
                arr = np.asarray(block['image'])
                blocks.append(('image', arr.shape, arr.tobytes()))
            else:
                blocks.append((block['type'], block.get('text')))
        out.append((msg['role'], blocks))
    return out
