# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scripted expert: reads the instruction and the exact world state, plans, acts.

The expert never sees the task record (key actions, target or related objects). It turns the
instruction into a list of operations (:func:`parse_instruction`), then plans each operation
by trying short candidate action sequences on copies of the world and keeping the first one
whose effect is right (the object is held, the receptacle holds it, the appliance changed
state...). It uses the verbs the reference's key actions use: it opens the closed container
it takes from and closes it again afterwards, opens a closed receptacle before putting into
it, and puts into the receptacle Type named in the instruction.

``ExpertPolicy(search_rank=k)`` first visits ``k`` plausible wrong receptacles (opening and
closing the closed ones) before the right one, for human-like search trajectories.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
import logging
import random
import re
from typing import Any

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.training.sim_env import resolve_world

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- instruction parsing
_TOGGLE_WORDS = re.compile(r'\b(switch\w*|turn\w* (?:on|off)|power\w*|activat\w*|press\w*|'
                           r'flip\w*|turn\w* the \w+ (?:on|off))\b', re.I)
_SEARCH_WORDS = re.compile(r'\b(look\w*|find\w*|locat\w*|search\w*|identif\w*|spot\w*|'
                           r'check\w*|see if|where)\b', re.I)
_PICK_WORDS = re.compile(r'\b(take|taking|grab\w*|pick\w*|get|getting|fetch\w*|retriev\w*|'
                         r'collect\w*|bring\w*)\b', re.I)
_LONG_WORDS = re.compile(r'\b(wash\w*|rins\w*|clean\w*|heat\w*|warm\w*|fire|coffee|'
                         r'out of)\b', re.I)

#: Everyday nouns of long instructions -> candidate scene Types (first present wins).
NOUN_SYNONYMS: dict[str, tuple[str, ...]] = {
    'stove': ('StoveBurner',), 'burner': ('StoveBurner',), 'fire': ('StoveBurner',),
    'refrigerator': ('Fridge',), 'fridge': ('Fridge',), 'counter': ('CounterTop',),
    'countertop': ('CounterTop',), 'sink': ('SinkBasin', 'Sink'), 'coffee': ('CoffeeMachine',),
    'tap': ('Faucet',), 'table': ('DiningTable', 'CoffeeTable', 'SideTable'),
    'trash': ('GarbageCan',), 'bin': ('GarbageCan',), 'tv': ('Television',),
}
_PRONOUNS = frozenset({'it', 'them', 'they', 'this', 'that', 'one', ''})
_DET = r'(?:the\s+|a\s+|an\s+|some\s+|your\s+)?'
_PREP = r'(?:onto|into|on\s+to|on|in|to)'
_EVENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ('takeout', re.compile(r'\btak\w*\s+' + _DET + r'(?P<obj>\w+)\s+out\s+of\b')),
    ('put', re.compile(
        r'\b(?:put|putting|place|placing|set|setting|plonk\w*|plop\w*|transfer\w*|chuck\w*|'
        r'move|moving|stor\w*)\b(?P<obj>(?:\s+(?!' + _PREP + r'\b)[\w-]+){0,3}?)\s+' + _PREP
        + r'\s+' + _DET + r'(?P<dest>\w+)')),
    ('wash', re.compile(r'\b(?:wash\w*|rins\w*|clean\w*)\b(?:\s+(?P<obj>it|them|the\s+\w+))?')),
    ('fire', re.compile(r'\b(?:turn\w*\s+on|ignit\w*|start\w*|light\w*)\s+(?:the\s+)?'
                        r'(?:fire|stove|burner)')),
    ('heat', re.compile(r'\b(?:heat\w*|warm\w*)\b')),
    ('coffee', re.compile(r'\bpour\w*\s+(?:some\s+)?coffee')),
    ('find', re.compile(r'\b(?:find\w*|locat\w*|get|grab\w*|fetch\w*)\s+' + _DET
                        + r'(?P<obj>\w+)')),
)


@dataclass(frozen=True)
class Op:
    """One planned operation: ``find``, ``pickup``, ``put``, ``toggle``, ``open``, ``close``."""

    kind: str
    obj: str
    check: str = ''

    def __str__(self) -> str:
        return f'{self.kind} {self.obj}'


def find_mentions(text: str, scene_types: Sequence[str]) -> list[str]:
    """Scene Types written in ``text`` (exact, whole word), in order; longest match wins."""
    taken: list[tuple[int, int, str]] = []
    for t in sorted(set(scene_types), key=len, reverse=True):
        pattern = re.compile(r'(?<![A-Za-z])' + re.escape(t) + r'(?![A-Za-z])')
        for m in pattern.finditer(text):
            if not any(m.start() < e and s < m.end() for s, e, _ in taken):
                taken.append((m.start(), m.end(), t))
    return [t for _, _, t in sorted(taken)]


def map_noun(word: str, scene_types: Sequence[str]) -> str | None:
    """Map an everyday noun ("lettuces", "refrigerator") to a scene Type, or None."""
    w = word.lower().strip()
    if not w or w in _PRONOUNS:
        return None
    lower = {t.lower(): t for t in scene_types}
    forms = [w]
    if w.endswith('es'):
        forms.append(w[:-2])
    if w.endswith('s'):
        forms.append(w[:-1])
    for form in forms:
        if form in lower:
            return lower[form]
    for form in forms:
        for cand in NOUN_SYNONYMS.get(form, ()):
            if cand in scene_types:
                return cand
    return None


def _last_type(words: str, scene_types: Sequence[str]) -> str | None:
    found = None
    for word in re.findall(r'[\w-]+', words):
        t = map_noun(word, scene_types)
        if t is not None:
            found = t
    return found


def parse_long_instruction(text: str, scene_types: Sequence[str]) -> list[Op]:
    """Clause-level parsing of multi-step instructions (wash, cook, heat, coffee, place)."""
    lower = text.lower()
    events: list[tuple[int, int, str, re.Match[str]]] = []
    for kind, pattern in _EVENT_PATTERNS:
        for m in pattern.finditer(lower):
            events.append((m.start(), m.end(), kind, m))
    events.sort(key=lambda e: (e[0], -e[1]))
    accepted: list[tuple[int, int, str, re.Match[str]]] = []
    for ev in events:
        if accepted and ev[0] < accepted[-1][1]:
            continue
        accepted.append(ev)
    ops: list[Op] = []
    focus: str | None = None
    held: str | None = None

    def pickup(obj: str) -> None:
        nonlocal held
        if held != obj:
            ops.append(Op('pickup', obj))
            held = obj

    for _s, _e, kind, m in accepted:
        if kind == 'find':
            t = map_noun(m.group('obj'), scene_types)
            focus = t or focus
        elif kind == 'takeout':
            t = map_noun(m.group('obj'), scene_types) or focus
            if t:
                focus = t
                ops.append(Op('pickup', t))
                held = t
        elif kind == 'put':
            dest = map_noun(m.group('dest'), scene_types)
            obj = _last_type(m.group('obj') or '', scene_types) or held or focus
            if dest is None or obj is None or obj == dest:
                continue
            pickup(obj)
            ops.append(Op('put', dest))
            held, focus = None, obj
        elif kind == 'wash':
            obj = _last_type(m.group('obj') or '', scene_types) or held or focus
            if obj is None:
                continue
            wash = [Op('put', 'SinkBasin' if 'SinkBasin' in scene_types else 'Sink'),
                    Op('toggle', 'Faucet', 'wash'), Op('pickup', obj)]
            if ops[-3:] == wash:
                continue  # "rinse it clean": one wash
            pickup(obj)
            ops.extend(wash)
            held, focus = obj, obj
        elif kind == 'fire':
            ops.append(Op('toggle', 'StoveBurner', 'cook'))
        elif kind == 'heat':
            if ops and ops[-1] == Op('put', 'Microwave'):
                ops.extend([Op('close', 'Microwave'), Op('toggle', 'Microwave', 'heat')])
        elif kind == 'coffee':
            obj = held or focus
            if obj is None:
                continue
            pickup(obj)
            ops.extend([Op('put', 'CoffeeMachine'), Op('toggle', 'CoffeeMachine'),
                        Op('pickup', obj)])
            held = obj
    return ops


def parse_instruction(text: str, scene_types: Sequence[str]) -> list[Op]:
    """The operations an instruction asks for (without the final ``end``)."""
    mentions = find_mentions(text, scene_types)
    long_form = bool(_LONG_WORDS.search(text))
    if not long_form:
        if len(mentions) == 1:
            obj = mentions[0]
            if _TOGGLE_WORDS.search(text):
                return [Op('toggle', obj)]
            if re.search(r'\bfrom the room\b', text, re.I) or (
                    _PICK_WORDS.search(text) and not _SEARCH_WORDS.search(text)):
                return [Op('pickup', obj)]
            return [Op('find', obj)]
        if len(mentions) in (2, 4):
            # Two-object ordered tasks leave receptacles as they found them (close after put).
            check = 'close_after' if len(mentions) == 4 else ''
            ops = []
            for k in range(0, len(mentions), 2):
                ops += [Op('pickup', mentions[k]), Op('put', mentions[k + 1], check)]
            return ops
    ops = parse_long_instruction(text, scene_types)
    if ops or not mentions:
        return ops
    if len(mentions) == 1:
        return [Op('find', mentions[0])]
    ops = []
    for k in range(0, len(mentions) - 1, 2):
        ops += [Op('pickup', mentions[k]), Op('put', mentions[k + 1])]
    return ops


# ---------------------------------------------------------------- world helpers
def clone_world(world: Any) -> Any:
    """Deep copy of a ``World`` that shares its immutable scene description."""
    memo: dict[int, Any] = {id(world.scene): world.scene}
    stale = getattr(world, '_stale', None)
    if stale is not None:
        memo[id(stale)] = stale
    return copy.deepcopy(world, memo)


Step = tuple[str, str | None]


def _simulate(world: Any, seq: Sequence[Step]) -> Any | None:
    w = clone_world(world)
    for verb, target in seq:
        if not w.apply(verb, target).success:
            return None
    return w


class _Planner:
    """Plans operations on copies of the world."""

    def __init__(self, world: Any) -> None:
        self.meta = {o.object_id: o for o in world.objects}
        self.initially_open = {oid for oid, o in self.meta.items() if o.is_open}

    def _openable(self, oid: str) -> bool:
        return bool(self.meta[oid].openable)

    def _nav_options(self, w: Any, chain: Sequence[str], extra: Sequence[str] = ()) -> list:
        """None (stay), the Types along ``chain``, ``extra``, then the nearest other Types."""
        options: list[str | None] = [None]
        for t in [w.type_of(c) for c in chain] + list(extra):
            if t not in options:
                options.append(t)
        return options

    def _nearby_types(self, w: Any, oid: str, limit: int = 6) -> list[str]:
        (x0, _, z0), (x1, _, z1) = w.box(oid)
        cx, cz = (x0 + x1) / 2, (z0 + z1) / 2
        scored = []
        for t in w.navigable_types:
            inst = w.instance_for(t)
            if inst is None:
                continue
            (a0, _, b0), (a1, _, b1) = w.box(inst)
            scored.append((((a0 + a1) / 2 - cx) ** 2 + ((b0 + b1) / 2 - cz) ** 2, t))
        return [t for _, t in sorted(scored)[:limit]]

    def _search(self, w: Any, candidates: list[list[Step]], ok) -> tuple[list[Step], Any] | None:  # noqa: ANN001
        prefixes: list[list[Step]] = [[], [('observe', None)],
                                      [('move forward', None), ('observe', None)]]
        # Exploration: go to a known place and look around, which reveals new navigable
        # Types (bounded, only tried when nothing closer works).
        explore = [t for t in w.navigable_types if t != 'Floor'][:8]
        prefixes += [[('navigate to', t), ('observe', None)] for t in explore]
        for prefix in prefixes:
            base = _simulate(w, prefix) if prefix else w
            if base is None:
                continue
            for seq in candidates:
                w2 = _simulate(base, seq)
                if w2 is not None and ok(w2):
                    return prefix + seq, w2
        return None

    def _instances(self, w: Any, obj: str, want) -> list[str]:  # noqa: ANN001
        ids = [i for i in w.objects_of_type(obj) if want(i)]
        ref = w.instance_for(obj)
        if ref in ids:
            ids.remove(ref)
            ids.insert(0, ref)
        return ids

    def _closed_chain(self, w: Any, oid: str, include_self: bool) -> list[str]:
        chain = ([oid] if include_self else []) + w.ancestors(oid)
        closed = [c for c in chain if self._openable(c) and not w.is_open(c)]
        return list(reversed(closed))  # outermost first

    def _reach_candidates(self, w: Any, oid: str, final: list[Step], *,
                          include_self: bool = False) -> list[list[Step]]:
        obj_type = w.type_of(oid)
        opens = [('open', w.type_of(c)) for c in self._closed_chain(w, oid, include_self)]
        chain = w.ancestors(oid)
        options = self._nav_options(w, chain, [obj_type])
        options += [t for t in self._nearby_types(w, oid) if t not in options]
        out = []
        for nav in options:
            seq = ([('navigate to', nav)] if nav else []) + opens + final
            out.append(seq)
        return out

    # ------------------------------------------------------------ operations
    def plan(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        handler = getattr(self, f'_plan_{op.kind}')
        return handler(w, op)

    def _plan_find(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        for oid in ids:
            found = self._search(
                w, self._reach_candidates(w, oid, []),
                lambda w2, oid=oid: op.obj in w2.legal_types and w2.is_visible(oid))
            if found:
                return found
        return None

    def _plan_pickup(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        if w.held_type == op.obj:
            return [], w
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].pickupable))
        for oid in ids:
            before = w.ancestors(oid)
            found = self._search(w, self._reach_candidates(w, oid, [('pickup', op.obj)]),
                                 lambda w2: w2.held_type == op.obj)
            if not found:
                continue
            seq, w2 = found
            # Close what was opened during the episode to take it out (as the key actions do).
            for c in before:
                if self._openable(c) and w2.is_open(c) and c not in self.initially_open:
                    w3 = _simulate(w2, [('close', w2.type_of(c))])
                    if w3 is not None:
                        seq, w2 = seq + [('close', w2.type_of(c))], w3
            return seq, w2
        return None

    def _plan_put(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        held = w.held
        if held is None:
            return None
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].receptacle) and i != held)

        def ok(w2: Any) -> bool:
            parent = w2.parent(held)
            return w2.held is None and parent is not None and w2.type_of(parent) == op.obj

        for rid in ids:
            found = self._search(
                w, self._reach_candidates(w, rid, [('put', op.obj)], include_self=True), ok)
            if found is None:
                continue
            seq, w2 = found
            if op.check == 'close_after':
                parent = w2.parent(held)
                for c in [parent, *w2.ancestors(parent)]:
                    if self._openable(c) and w2.is_open(c) and c not in self.initially_open:
                        w3 = _simulate(w2, [('close', w2.type_of(c))])
                        if w3 is not None:
                            seq, w2 = seq + [('close', w2.type_of(c))], w3
            return seq, w2
        return None

    def _toggle_ok(self, w: Any, w2: Any, op: Op) -> bool:
        ids = w2.objects_of_type(op.obj)
        if not any(w2.is_toggled(i) != w.is_toggled(i) for i in ids):
            return False
        if op.check == 'cook':
            pans = [p for t in ('Pan', 'Pot') for p in w2.objects_of_type(t)]
            food = [f for p in pans for f in w2.contents(p)]
            return not food or any(w2.is_cooked(f) for f in food)
        if op.check == 'wash':
            basins = [b for t in ('SinkBasin', 'Sink') for b in w2.objects_of_type(t)]
            items = [f for b in basins for f in w2.contents(b)]
            return not items or any(w2.is_clean(f) for f in items)
        if op.check == 'heat':
            items = [f for m in w2.objects_of_type('Microwave') for f in w2.contents(m)]
            return not items or any(w2.is_heated(f) for f in items)
        return True

    def _plan_toggle(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        # A second toggle reaches the next instance (the first one is already switched), for
        # when the effect needs another faucet or burner than the reference's instance.
        for final in ([('toggle', op.obj)], [('toggle', op.obj)] * 2):
            for tid in ids:
                found = self._search(w, self._reach_candidates(w, tid, final),
                                     lambda w2: self._toggle_ok(w, w2, op))
                if found:
                    return found
        # Accept any state change when the effect check cannot be met.
        for tid in ids:
            found = self._search(w, self._reach_candidates(w, tid, [('toggle', op.obj)]),
                                 lambda w2: self._toggle_ok(w, w2, Op('toggle', op.obj)))
            if found:
                return found
        return None

    def _plan_open(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, True)

    def _plan_close(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, False)

    def _open_close(self, w: Any, op: Op, want_open: bool) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: self._openable(i)
                              and bool(w.is_open(i)) != want_open)
        verb = 'open' if want_open else 'close'
        for oid in ids:
            found = self._search(w, self._reach_candidates(w, oid, [(verb, op.obj)]),
                                 lambda w2, oid=oid: bool(w2.is_open(oid)) == want_open)
            if found:
                return found
        return None

    # ------------------------------------------------------------ decoys
    def decoy_visits(self, w: Any, op: Op, count: int, rng: random.Random) -> list[Step]:
        """Visit ``count`` plausible wrong receptacles first (human-like search)."""
        if count <= 0 or op.kind not in ('find', 'pickup'):
            return []
        targets = w.objects_of_type(op.obj)
        true_types = {w.type_of(a) for t in targets for a in w.ancestors(t)}
        pool = sorted({w.type_of(i) for i in (w.instance_for(t) for t in w.navigable_types)
                       if i is not None and self.meta[i].receptacle
                       and w.type_of(i) not in true_types and w.type_of(i) != 'Floor'
                       and not any(w.type_of(c) == op.obj for c in w.contents(i))})
        rng.shuffle(pool)
        seq: list[Step] = []
        visited = 0
        for t in pool:
            if visited >= count:
                break
            inst = w.instance_for(t)
            steps: list[Step] = [('navigate to', t)]
            if self._openable(inst) and not w.is_open(inst):
                steps += [('open', t), ('close', t)]
            w2 = _simulate(w, steps)
            if w2 is None:
                continue
            seq += steps
            w = w2
            visited += 1
        return seq


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
        self._planner: _Planner | None = None
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
        self.ops = parse_instruction(instruction, world.scene_types())
        logger.debug('expert plan for %r: %s', instruction, [str(o) for o in self.ops])
        self._planner = _Planner(world)
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
                w = _simulate(w, [s for s, _, _ in queue]) or w
        for k in range(self._next_op, len(self.ops)):
            op = self.ops[k]
            found = self._planner.plan(w, op)
            if found is None:
                logger.debug('expert: cannot plan %s', op)
                continue
            seq, w = found
            queue += [(s, k, str(op)) for s in seq]
        self._queue = queue

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
