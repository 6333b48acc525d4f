# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data engine's default expert (``--expert engine``): :class:`DataEnginePolicy`.

Like the reference's approach, actions come from the task's key actions plus a search plan and
thoughts are written separately. Search is human-like: the correct place is visited first,
second or third (variants b, a, c of the reference, drawn by :func:`search_rank_for`), wrong
closed containers are opened and closed again, and every miss is followed by a
``<Reflection>``. Thoughts come from :mod:`~ego_reasoner_ros.training.thoughts`, filled with the
true state. The registry beside it (``training/experts/__init__.py``) names it ``engine``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import math
import random
from typing import Any

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.loop import max_steps_for
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training import thoughts
from ego_reasoner_ros.training import phrasings as ph
from ego_reasoner_ros.training.task_builder import stable_int
from ego_reasoner_ros.training.tasks import Task


#: Probabilities of the search variants: correct place first (b), second (a), third (c).
RANK_WEIGHTS = (0.4, 0.35, 0.25)
#: Places worth searching when the compatibility table suggests none in view.
SEARCH_PLACES = ('CounterTop', 'DiningTable', 'Cabinet', 'Drawer', 'Shelf', 'SideTable',
                 'Desk', 'Dresser', 'CoffeeTable', 'Fridge', 'Sofa', 'ArmChair', 'Bed',
                 'TVStand', 'SinkBasin', 'GarbageCan', 'ShelvingUnit', 'Microwave')
#: The experts the data engine can run (the registry in ``training/experts``).
_SKIP_VISIBLE = frozenset({'Floor', 'Wall', 'Window', 'LightSwitch', 'Blinds', 'Curtains'})
_NAV, _END = Verb('navigate to'), Verb('end')
_SINGLE_OBJECT = frozenset({'single_search', 'single_search_from_closerep', 'single_pickup',
                            'single_pickup_from_closerep', 'single_toggle'})


def search_rank_for(identity: str, seed: int) -> int:
    """The search variant of a task (0: correct place first, 1: second, 2: third)."""
    u = (stable_int(seed, identity, 'rank') % 10_000) / 10_000
    acc = 0.0
    for rank, w in enumerate(RANK_WEIGHTS):
        acc += w
        if u < acc:
            return rank
    return len(RANK_WEIGHTS) - 1


@dataclass
class _Phase:
    """A search phase: find ``target`` whose true place is reached by key ``index``."""

    index: int
    target: str
    place: str
    distractors: list[str] = field(default_factory=list)
    planned: bool = False
    observed: bool = False
    misses: list[str] = field(default_factory=list)


def keys_of(task: Task) -> list[Action]:
    """The task's key actions without the final ``end``."""
    return [Action(a['action'], a.get('objectType') or None)
            for a in task.metadata_actions if a['action'] != 'end']


def closed_openable(world: Any, place: str) -> bool:
    """Whether the instance ``navigate to place`` reaches is an openable that is closed."""
    oid = world.instance_for(place)
    if oid is None:
        return False
    obj = world.scene.get(oid)
    return bool(obj and obj.openable and not world.is_open(oid))


def find_phases(task: Task, keys: Sequence[Action]) -> dict[int, _Phase]:
    """Key navigations that lead to finding an object (key index -> search phase)."""
    out: dict[int, _Phase] = {}
    related_type = (task.related_objects[0].split('|', 1)[0]
                    if task.related_objects else None)
    holding = False
    for k, a in enumerate(keys):
        if a.verb == Verb('pickup'):
            holding = True
        elif a.verb in (Verb('put'), Verb('put in')):
            holding = False
        if a.verb != _NAV:
            continue
        held_before = holding
        rest = keys[k + 1:]
        nxt = rest[0] if rest else None
        target = None
        if nxt is None or (task.tasktype.startswith('single_search')
                           and nxt.verb in (Verb('open'), _END)):
            target = related_type
        elif nxt.verb == Verb('pickup'):
            target = nxt.target
        elif nxt.verb == Verb('open') and len(rest) > 1 and rest[1].verb == Verb('pickup'):
            target = rest[1].target
        if target and not held_before and a.target:
            out[k] = _Phase(k, target, a.target)
    return out


class DataEnginePolicy(Policy):
    """Rule-based expert for data generation.

    It knows the task's key actions (like the reference's o1StyleGenerate) and reads the exact
    world for its thoughts and its search.

    Args:
        task: the task (key actions and related objects drive the plan).
        search_rank: wrong places visited before the true one in the first search phase.
        seed: randomness of thoughts, distractors and optional steps.
        compat: receptacle compatibility table (plausible search places).
        verify_prob: probability of a ``<Verification>`` + ``move forward`` before ``end``
            (default: none for single-object tasks, 0.3 for pickup_and_put_in_closerep,
            0.6 otherwise, as in the reference).
        observe_prob: probability of looking around before the first search.
        rewriter: optional callable that rewrites a thought (tags kept).
        failure_prob: probability, before each ``navigate to``, of first trying a plausible
            place that is not in the scene; the simulator rejects it and the next reply
            recovers (a ``<Reflection>`` on the failure, then the planned action). Teaches
            models what to do after a failed command; 0 (default) never does it.
    """

    name = 'data-engine'
    needs_world = True

    def __init__(self, task: Task, *, search_rank: int = 0, seed: int = 0,
                 compat: ReceptacleCompat | None = None, verify_prob: float | None = None,
                 observe_prob: float = 0.2,
                 rewriter: Callable[[str], str] | None = None,
                 failure_prob: float = 0.0) -> None:
        if not 0.0 <= failure_prob <= 1.0:
            raise ValueError(f'failure_prob must be in [0, 1], got {failure_prob}')
        self.failure_prob = failure_prob
        if search_rank not in (0, 1, 2):
            raise ValueError(f'search_rank must be 0, 1 or 2, got {search_rank}')
        self.task = task
        self.search_rank = search_rank
        self.seed = seed
        self.compat = compat or ReceptacleCompat.builtin()
        if verify_prob is None:
            verify_prob = (0.0 if task.tasktype in _SINGLE_OBJECT else
                           0.3 if task.tasktype == 'pickup_and_put_in_closerep' else 0.6)
        self.verify_prob = verify_prob
        self.observe_prob = observe_prob
        self.rewriter = rewriter
        self.max_step = max_steps_for(task.tasktype)
        self.keys: list[Action] = keys_of(task)

    # ------------------------------------------------------------------ setup
    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        if world is None:
            raise ValueError('DataEnginePolicy needs the world state')
        self.world: Any = world
        self.instruction = instruction
        self.rng = random.Random(stable_int(self.seed, self.task.identity, 'policy'))
        self.i = 0
        self.queue: deque[tuple[Action, str]] = deque()
        self.prev_role = ''
        self.prev_action: Action | None = None
        self.location: str | None = None
        self.repaired: set[int] = set()
        self.done: list[str] = []
        self.verify = self.rng.random() < self.verify_prob
        self.verified = False
        self.templates: list[str] = []
        self.n_misses = 0
        self.n_reflections_after_miss = 0
        self.n_observes = 0
        self.n_probes = 0
        self._pending: tuple[Action, str] | None = None
        self.phases = find_phases(self.task, self.keys)
        for k, ph_ in enumerate(self.phases.values()):
            ph_.distractors = [None] * (self.search_rank if k == 0 else  # type: ignore[list-item]
                                        self.rng.choice((0, min(1, self.search_rank))))

    # ------------------------------------------------------------------ world views
    def _visible_types(self) -> list[str]:
        w = self.world
        pose = w.agent_pose
        seen: dict[str, float] = {}
        for oid, t in zip(w.ids, w.types):
            if t in _SKIP_VISIBLE or not w.is_visible(oid) or oid == w.held:
                continue
            lo, hi = w.box(oid)
            d = math.hypot((lo[0] + hi[0]) / 2 - pose.x, (lo[2] + hi[2]) / 2 - pose.z)
            seen[t] = min(d, seen.get(t, d))
        return sorted(seen, key=seen.get)

    def _contains_type(self, place: str, target: str) -> bool:
        oid = self.world.instance_for(place)
        if oid is None:
            return True
        stack = list(self.world.contents(oid))
        while stack:
            c = stack.pop()
            if self.world.type_of(c) == target:
                return True
            stack.extend(self.world.contents(c))
        return False

    def _closed_openable(self, place: str) -> bool:
        return closed_openable(self.world, place)

    def _pick_distractors(self, phase: _Phase, count: int) -> list[str]:
        key_types = {a.target for a in self.keys if a.target}
        plausible = ['SinkBasin' if r == 'Sink' else r
                     for r in self.compat.receptacles_for(phase.target)] + list(SEARCH_PLACES)
        nav = set(self.world.navigable_types)
        cands = []
        for t in dict.fromkeys(plausible):
            if t in nav and t not in key_types and t != phase.place \
                    and not self._contains_type(t, phase.target):
                cands.append(t)
        self.rng.shuffle(cands)
        return cands[:count]

    def _budget_left(self, inp: PolicyInput) -> int:
        """Executed steps still available after the remaining plan (end excluded)."""
        remaining = (len(self.keys) - self.i) + len(self.queue) + (
            1 if self.verify and not self.verified else 0)
        return (self.max_step - 2) - (inp.step - 1) - remaining - 1  # one spare step

    # ------------------------------------------------------------------ decisions
    def _next(self, inp: PolicyInput) -> tuple[Action, str]:
        if self.queue:
            return self.queue.popleft()
        w = self.world
        # A distractor was just reached: peek into it when it is a closed container.
        if self.prev_role == 'detour_nav' and inp.last_success and self.prev_action:
            place = self.prev_action.target
            if place in w.legal_types and self._closed_openable(place) \
                    and self._budget_left(inp) >= 2:
                self.queue.append((Action(Verb('close'), place), 'unpeek'))
                return Action(Verb('open'), place), 'peek'
        if self.i >= len(self.keys):
            if self.verify and not self.verified and self._budget_left(inp) >= 0:
                self.verified = True
                return Action(Verb('move forward')), 'verify'
            return Action(_END), 'end'
        a = self.keys[self.i]
        phase = self.phases.get(self.i)
        if phase is not None:
            if not phase.planned:
                want = len(phase.distractors)
                if want and (self.rng.random() < self.observe_prob or
                             len(self._pick_distractors(phase, want)) < want) \
                        and not phase.observed and self._budget_left(inp) >= 1:
                    phase.observed = True
                    self.n_observes += 1
                    return Action(Verb('observe')), 'observe'
                phase.distractors = self._pick_distractors(phase, want)
                phase.planned = True
            while phase.distractors:
                d = phase.distractors.pop(0)
                cost = 3 if self._closed_openable(d) else 1
                if self._budget_left(inp) >= cost:
                    return Action(_NAV, d), 'detour_nav'
        if a.verb not in (_NAV,) and a.target and a.target not in w.legal_types \
                and self.i not in self.repaired:
            self.repaired.add(self.i)
            fix = self._repair_target(a.target)
            if fix is not None:
                return Action(_NAV, fix), 'repair'
        self.i += 1
        return a, 'key' if not phase else 'search_key'

    def _repair_target(self, object_type: str) -> str | None:
        w = self.world
        nav = set(w.navigable_types)
        held = w.held
        for oid in w.objects_of_type(object_type):
            if oid == held or w.is_hidden(oid):
                continue
            for cand in [object_type] + [w.type_of(p) for p in w.ancestors(oid)]:
                if cand in nav and cand != 'Floor':
                    return cand
        return object_type if object_type in nav else None

    # ------------------------------------------------------------------ thoughts
    def _context(self, action: Action, role: str) -> tuple[str, thoughts.ThoughtContext]:
        w = self.world
        rng = self.rng
        held = w.held_type
        phase = self.phases.get(self.i - 1 if role == 'search_key' else self.i)
        nat = ph.natural_name
        missed_at = nat(self.prev_action.target) if (
            self.prev_role in ('detour_nav', 'peek', 'unpeek') and self.prev_action
            and self.prev_action.target) else None
        remaining = []
        for j in range(self.i, min(self.i + 4, len(self.keys))):
            k = self.keys[j]
            if j in self.phases:  # never reveal where the object is
                remaining.append(f'find the {nat(self.phases[j].target)}')
            else:
                remaining.append(thoughts.describe_action(k.verb.value, k.target, held))
        visible = self._visible_types()
        target_in_view = bool(phase and phase.target in visible)
        if phase is not None:
            visible = [t for t in visible if t != phase.target]
        ctx = thoughts.ThoughtContext(
            task=self.instruction,
            goal=self._goal(),
            visible=[nat(t, rng) for t in visible[:6]],
            location=nat(self.location) if self.location else None,
            held=nat(held) if held else None,
            target=nat(phase.target) if phase else None,
            place=nat(action.target) if action.target else None,
            missed_at=missed_at,
            misses=[nat(m) for m in (phase.misses if phase else [])],
            candidates=self._candidates(phase),
            next_step=thoughts.describe_action(action.verb.value, action.target, held),
            remaining=remaining if role != 'key' else remaining[1:],
            done=self.done[-3:],
            extra={'target_in_view': target_in_view},
        )
        if self.prev_action is not None and inp_failed(self):
            return thoughts.StepKind.FAILED, ctx
        if role == 'observe':
            kind = thoughts.StepKind.OBSERVE
        elif self.prev_role == '' and not self.done:
            kind = thoughts.StepKind.FIRST
        elif role == 'peek':
            kind = thoughts.StepKind.PEEK
        elif role == 'unpeek':
            kind = thoughts.StepKind.UNPEEK
        elif self.prev_role == 'detour_nav':
            kind = thoughts.StepKind.MISS
        elif role in ('detour_nav', 'search_key') or self.prev_role == 'unpeek':
            kind = thoughts.StepKind.SEARCH
        elif role == 'observe':
            kind = thoughts.StepKind.OBSERVE
        elif role == 'repair':
            kind = thoughts.StepKind.REPAIR
            ctx.target = nat(self.keys[self.i].target) if self.i < len(self.keys) else None
        elif role == 'verify':
            kind = thoughts.StepKind.VERIFY
        elif role == 'end':
            kind = thoughts.StepKind.FINAL
        else:
            kind = thoughts.StepKind.PROGRESS
            found = self.phases.get(self.i - 2) if self.prev_role == 'search_key' else None
            ctx.target = None
            if found is not None and any(w.is_visible(o) for o in
                                         w.objects_of_type(found.target)):
                ctx.target = nat(found.target)
        return kind, ctx

    def _candidates(self, phase: _Phase | None) -> list[str]:
        if phase is None:
            return []
        names = [phase.place] + [d for d in phase.distractors if d]
        extra = [t for t in self.compat.receptacles_for(phase.target)
                 if t in self.world.navigable_types and t not in names]
        names += extra[:2]
        self.rng.shuffle(names)
        return [ph.natural_name(n) for n in names]

    def _goal(self) -> str:
        t = self.task
        nat = ph.natural_name
        if t.tasktype.startswith('single_search'):
            rel = t.related_objects[0].split('|', 1)[0] if t.related_objects else 'object'
            return f'find the {nat(rel)}'
        parts = []
        held = None
        for k in self.keys:
            if k.verb == Verb('pickup'):
                held = k.target
                if t.tasktype.startswith('single_pickup'):
                    parts.append(f'pick up the {nat(k.target)}')
            elif k.verb in (Verb('put'), Verb('put in')) or k.verb == Verb('toggle'):
                parts.append(thoughts.describe_action(k.verb.value, k.target, held))
        return ' and '.join(dict.fromkeys(parts)) or 'complete the task'

    # ------------------------------------------------------------------ act
    def act(self, inp: PolicyInput) -> str:
        self._last_inp = inp
        if self._pending is not None and inp.last_success is False:
            return self._recover(inp)
        if inp.last_action is not None and inp.last_success is False:
            if self.prev_role in ('key', 'search_key'):
                # A key action failed: give up (the trajectory will be rejected).
                return '<Thinking>I cannot complete this task.</Thinking>' + format_decision(
                    Action(_END))
            self.queue.clear()
        if inp.last_action is not None and inp.last_success:
            self._after_success(inp.last_action)
        action, role = self._next(inp)
        if self.failure_prob > 0 and action.verb == _NAV and self._budget_left(inp) >= 2 \
                and self.rng.random() < self.failure_prob:
            wrong = self._absent_place(action.target)
            if wrong is not None:
                self._pending = (action, role)
                self.n_probes += 1
                action, role = Action(_NAV, wrong), 'probe'
        kind, ctx = self._context(action, role)
        if kind in (thoughts.StepKind.MISS, thoughts.StepKind.UNPEEK):
            self.n_reflections_after_miss += 1
        text, used = thoughts.compose(kind, ctx, self.rng)
        self.templates.extend(used)
        if self.rewriter is not None:
            text = self.rewriter(text)
        self.prev_role, self.prev_action = role, action
        return text + format_decision(action)

    def _absent_place(self, planned: str | None) -> str | None:
        """A plausible search place that the scene does not have (None if none is left)."""
        present = set(self.world.scene_types())
        pool = [t for t in SEARCH_PLACES if t not in present and t != planned]
        return self.rng.choice(pool) if pool else None

    def _recover(self, inp: PolicyInput) -> str:
        """The reply after a deliberately failed probe: reflect, then the planned action."""
        action, role = self._pending  # type: ignore[misc]
        self._pending = None
        _kind, ctx = self._context(action, role)
        wrong = self.prev_action.target if self.prev_action is not None else None
        ctx.feedback = f'there is no {ph.natural_name(wrong)} here' if wrong else 'no effect'
        text, used = thoughts.compose(thoughts.StepKind.FAILED, ctx, self.rng)
        self.templates.extend(used)
        if self.rewriter is not None:
            text = self.rewriter(text)
        self.prev_role, self.prev_action = role, action
        return text + format_decision(action)

    def _after_success(self, action: Action) -> None:
        held = self.world.held_type
        if action.verb == _NAV:
            self.location = action.target
            if self.prev_role == 'detour_nav':
                self.n_misses += 1
                phase = self._phase_of_detour()
                if phase is not None and action.target:
                    phase.misses.append(action.target)
        if self.prev_role in ('key', 'search_key') and action.verb != _NAV:
            self.done.append(thoughts.past_action(action.verb.value, action.target,
                                                  held or self._last_held()))
        elif self.prev_role == 'search_key' and action.verb == _NAV and action.target:
            self.done.append(f'reached the {ph.natural_name(action.target)}')
        self._held_before = held

    def _last_held(self) -> str | None:
        return getattr(self, '_held_before', None)

    def _phase_of_detour(self) -> _Phase | None:
        return self.phases.get(self.i)

    def stats(self) -> dict[str, Any]:
        """Counters stored in the episode metadata."""
        return {'search_rank': self.search_rank, 'misses': self.n_misses,
                'reflections_after_miss': self.n_reflections_after_miss,
                'observes': self.n_observes, 'verification': self.verified,
                'probes': self.n_probes,
                'templates': sorted(set(self.templates))}


def inp_failed(policy: DataEnginePolicy) -> bool:
    """Whether the policy's last input reported a failed action."""
    inp = getattr(policy, '_last_inp', None)
    return bool(inp is not None and inp.last_action is not None and inp.last_success is False)
