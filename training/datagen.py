# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data engine: o1-style expert trajectories in the embedded simulator, at scale.

For every generated task (:mod:`taskgen`) a rule-based expert (:class:`DataEnginePolicy`, the
reference's approach: actions come from the key actions plus a search plan, thoughts are
written separately) acts through the shared episode loop
(:func:`ego_reasoner_ros.core.loop.run_episode`) in the embedded simulator, which renders the
frame after each action and the three views after ``observe``. Search is human-like: the
correct place is visited first, second or third (variants b, a, c of the reference), wrong
closed containers are opened and closed again, and every miss is followed by a
``<Reflection>``. Thoughts come from :mod:`thoughts`, filled with the true state.

A trajectory is kept only when the episode ends by the expert's ``end``, every action
succeeded, the evaluator's ER metric scores it a success and the strict goal check holds.

Output folder::

    DIR/tasks.json                 the deterministic task list (with the settings)
    DIR/episodes/<id>/             one EpisodeRecord per kept trajectory (atomic writes)
    DIR/rejected/<id>.json         why a task produced no trajectory
    DIR/sharegpt/{train,val}.json  LLaMA-Factory sharegpt rows (+ dataset_info.json)
    DIR/hf/{train,val}/            datasets.Dataset.save_to_disk (images embedded)
    DIR/README.md, DIR/stats.json, DIR/steps_histogram.png

Interrupted runs resume: the task list is read back, finished episodes are skipped,
half-written folders are removed, and the formats are rebuilt from the episode records.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
import json
import logging
import math
import multiprocessing as mp
import os
from pathlib import Path
import random
import shutil
import tempfile
import time
from typing import Any

from ego_reasoner_ros.core.progress import Progress
from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.errors import DataError, require
from ego_reasoner_ros.core.loop import max_steps_for
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.core.prompts import (
    IMAGE_PLACEHOLDER, PROMPT_CONFIG_FILE, PromptBuilder, PromptConfig)
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.training import experts, thoughts
from ego_reasoner_ros.training import phrasings as ph
from ego_reasoner_ros.training.episode_runner import ScoredEpisode, run_scored_episode
from ego_reasoner_ros.training.taskgen import (
    TaskGenConfig,
    generate_tasks,
    select_scene_dirs,
    stable_int,
)
from ego_reasoner_ros.training.tasks import Task

logger = logging.getLogger(__name__)

TASKS_FILE = 'tasks.json'
EPISODES_DIR = 'episodes'
REJECTED_DIR = 'rejected'
#: Probabilities of the search variants: correct place first (b), second (a), third (c).
RANK_WEIGHTS = (0.4, 0.35, 0.25)
#: Places worth searching when the compatibility table suggests none in view.
SEARCH_PLACES = ('CounterTop', 'DiningTable', 'Cabinet', 'Drawer', 'Shelf', 'SideTable',
                 'Desk', 'Dresser', 'CoffeeTable', 'Fridge', 'Sofa', 'ArmChair', 'Bed',
                 'TVStand', 'SinkBasin', 'GarbageCan', 'ShelvingUnit', 'Microwave')
#: The experts the data engine can run (the registry in ``training/experts``).
EXPERTS = experts.expert_names()
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


# ============================================================================ expert policy
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


# ============================================================================ one trajectory
@dataclass
class Verdict:
    """Whether a trajectory is kept, and why not."""

    kept: bool
    reason: str = ''
    er_success: int = 0
    strict_success: bool = False
    n_failed_steps: int = 0


def sim_config(image_size: int, render: bool = True) -> SimConfig:
    """The data engine's simulator settings (three views after ``observe``)."""
    return SimConfig(width=image_size, height=image_size, render=render,
                     observe_composite=False)


def task_from_record(rec: dict[str, Any]) -> Task:
    """A :class:`Task` from a generated record (extra fields ignored)."""
    return Task.from_dict(rec)


#: Expert counters (``stats()`` keys) of deliberate failures: the engine's probes, the
#: sweep's unreachable places and mistaken pickups, the probe search's failed tries.
PLANNED_FAILURE_KEYS = ('probes', 'failed_navigations', 'mistaken_pickups', 'failed_probes')


def planned_failures(expert_stats: dict[str, Any]) -> int:
    """How many failed steps an expert made on purpose, from its ``stats()`` counters."""
    return sum(int(expert_stats.get(k, 0)) for k in PLANNED_FAILURE_KEYS)


def judge(run: ScoredEpisode, *, allowed_failures: int = 0) -> Verdict:
    """Apply the acceptance rules to a finished, scored episode.

    ``allowed_failures`` failed steps are accepted (the expert's deliberate probes).
    """
    record, score = run.record, run.score
    failed = max(0, sum(1 for s in record.steps if s.executed and not s.success)
                 - allowed_failures)
    strict = run.strict
    strict_ok = bool(strict is not None and strict.success)
    strict_msg = '; '.join(strict.failed) if strict is not None else 'no world state'
    reason = ''
    if record.terminated_by != 'end':
        reason = f'episode ended by {record.terminated_by}'
    elif failed:
        reason = f'{failed} failed step(s)'
    elif not score.success:
        reason = f'ER metric {score.reward}/{score.total}'
    elif not strict_ok:
        reason = f'strict goal failed: {strict_msg}'
    return Verdict(not reason, reason, score.success, strict_ok, failed)


def run_task(task: Task, sim: Any, *, seed: int, search_rank: int | None = None,
             scene: Any = None, compat: ReceptacleCompat | None = None,
             rewriter: Callable[[str], str] | None = None,
             episode_id: str | None = None,
             failure_prob: float = 0.0,
             expert: str = 'engine',
             prompt: PromptConfig | None = None) -> tuple[EpisodeRecord, Verdict]:
    """Run the expert on one task; return the record (metadata filled) and the verdict.

    ``expert`` names an entry of the registry (``training/experts``): ``'engine'``
    (:class:`DataEnginePolicy`) or one built on
    :class:`~ego_reasoner_ros.training.sweep.SweepExpertPolicy` with the entry's ``search``
    (``'sweep'``, ``'probe'``, ``'probe-look'``).
    """
    rank = search_rank_for(str(task.identity), seed) if search_rank is None else search_rank
    spec = experts.get_expert(expert)
    policy: DataEnginePolicy | Any
    if spec.search is not None:
        from ego_reasoner_ros.training.sweep import SweepExpertPolicy

        rank = 0
        view = getattr(getattr(sim, 'config', None), 'width', 112)
        policy = SweepExpertPolicy(task, compat=compat, failure_prob=failure_prob, seed=seed,
                                   search=spec.search, view_size=int(view))
    else:
        policy = DataEnginePolicy(task, search_rank=rank, seed=seed, compat=compat,
                                  rewriter=rewriter, failure_prob=failure_prob)
    run = run_scored_episode(policy, task, sim, scene=scene, seed=seed,
                             builder=PromptBuilder(prompt or PromptConfig()),
                             episode_id=episode_id or f'{task.identity}-v{rank}').raise_error()
    record = run.record
    verdict = judge(run, allowed_failures=planned_failures(policy.stats()))
    record.metadata.update({
        'task_identity': str(task.identity), 'taskname': task.taskname,
        'key_actions': list(task.key_actions), 'expert': policy.stats(),
        'er_success': verdict.er_success, 'strict_success': verdict.strict_success,
    })
    return record, verdict


# ============================================================================ the engine
@dataclass
class DatagenConfig:
    """Settings of :func:`run_datagen` (see ``ego-reasoner datagen --help``)."""

    out_dir: Path
    scenes_dir: Path | None = None
    procedural: int = 0
    tasks_per_scene: int | None = None
    n: int | None = None
    image_size: int = 448
    workers: int = 1
    seed: int = 0
    allow_test_scenes: bool = False
    formats: tuple[str, ...] = ('sharegpt', 'hf', 'card')
    progress: bool = True
    rewrite_url: str | None = None
    rewrite_model: str = 'default'
    thought_style: str = 'full'
    restate_task: bool = False
    failure_prob: float = 0.0
    expert: str = 'engine'

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_prob <= 1.0:
            raise ValueError(f'failure_prob must be in [0, 1], got {self.failure_prob}')
        experts.get_expert(self.expert)  # unknown or removed: ValueError
        self.out_dir = Path(self.out_dir)
        if self.thought_style not in thoughts.THOUGHT_STYLES:
            raise ValueError(f'thought_style must be one of {thoughts.THOUGHT_STYLES}, '
                             f'got {self.thought_style!r}')
        if self.scenes_dir is not None:
            self.scenes_dir = Path(self.scenes_dir)
        if self.scenes_dir is None and self.procedural <= 0:
            raise ValueError('give --scenes DIR or --procedural N (or both)')
        if self.procedural < 0:
            raise ValueError(f'procedural must be >= 0, got {self.procedural}')
        if self.n is not None and self.n < 1:
            raise ValueError(f'n must be >= 1, got {self.n}')
        if self.tasks_per_scene is not None and self.tasks_per_scene < 1:
            raise ValueError(f'tasks_per_scene must be >= 1, got {self.tasks_per_scene}')
        if not 32 <= self.image_size <= 2048:
            raise ValueError(f'image_size must be in [32, 2048], got {self.image_size}')
        if self.workers < 1:
            raise ValueError(f'workers must be >= 1, got {self.workers}')
        bad = set(self.formats) - {'sharegpt', 'hf', 'card'}
        if bad:
            raise ValueError(f'unknown formats {sorted(bad)}; use sharegpt, hf, card')

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide the task list (a resumed run must match them)."""
        return {'scenes_dir': str(self.scenes_dir.resolve()) if self.scenes_dir else None,
                'procedural': self.procedural, 'tasks_per_scene': self.tasks_per_scene,
                'n': self.n, 'seed': self.seed, 'allow_test_scenes': self.allow_test_scenes,
                'image_size': self.image_size,
                **({'thought_style': self.thought_style} if self.thought_style != 'full'
                   else {}),
                **({'failure_prob': self.failure_prob} if self.failure_prob else {}),
                **({'expert': self.expert} if self.expert != 'engine' else {}),
                **({'restate_task': True} if self.restate_task else {})}


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _procedural_scenes(cfg: DatagenConfig) -> Path | None:
    """Procedural scenes under ``DIR/procedural_scenes`` (written once, atomically)."""
    if cfg.procedural <= 0:
        return None
    dest = cfg.out_dir / 'procedural_scenes'
    if dest.is_dir():
        return dest
    from ego_reasoner_ros.sim_bridge.procedural import generate_scenes

    tmp = Path(tempfile.mkdtemp(prefix='.procedural.', dir=cfg.out_dir))
    generate_scenes(tmp, cfg.procedural, cfg.seed * 100_003)
    os.replace(tmp, dest)
    return dest


def plan_tasks(cfg: DatagenConfig) -> dict[str, Any]:
    """The task list of a run: read back from ``tasks.json`` or generated and written."""
    path = cfg.out_dir / TASKS_FILE
    if path.is_file():
        data = json.loads(path.read_text(encoding='utf-8'))
        if data.get('config') != cfg.fingerprint():
            raise DataError(f'{path} was made with other settings ({data.get("config")}); '
                            'use a new output folder or the same settings')
        return data
    roots: list[Path] = []
    if cfg.scenes_dir is not None:
        roots.append(cfg.scenes_dir)
    proc = _procedural_scenes(cfg)
    if proc is not None:
        roots.append(proc)
    from ego_reasoner_ros.sim_bridge.scene import iter_scene_dirs

    dirs = [d for r in roots for d in iter_scene_dirs(r)]
    keep, skipped = select_scene_dirs(dirs, allow_test_scenes=cfg.allow_test_scenes)
    if not keep:
        raise DataError('no usable scenes found (test scenes are skipped unless '
                        '--allow-test-scenes)')
    per_scene = cfg.tasks_per_scene or (
        math.ceil(1.35 * cfg.n / len(keep)) + 2 if cfg.n else 40)
    tcfg = TaskGenConfig(seed=cfg.seed, tasks_per_scene=per_scene, allow_test_scenes=True)
    taskset = generate_tasks(keep, tcfg)
    data = {'config': cfg.fingerprint(), 'skipped_scenes': skipped,
            'scenes': taskset.scenes, 'val_scenes': taskset.val_scenes,
            'tasks': taskset.tasks}
    _atomic_write(path, json.dumps(data))
    return data


_WORKER: dict[str, Any] = {}


def _worker_init(out_dir: str, image_size: int, seed: int, rewrite_url: str | None,
                 rewrite_model: str, thought_style: str = 'full',
                 failure_prob: float = 0.0, expert: str = 'engine',
                 restate_task: bool = False) -> None:
    _WORKER.clear()
    rewriter = make_rewriter(rewrite_url, rewrite_model) if rewrite_url else None
    if thought_style != 'full':
        rewriter = _shortener(thought_style, rewriter)
    _WORKER.update(out_dir=Path(out_dir), sim=make_sim(sim_config(image_size)), seed=seed,
                   compat=ReceptacleCompat.default(), rewriter=rewriter,
                   failure_prob=failure_prob, expert=expert,
                   prompt=PromptConfig(restate_task=restate_task))


def _shortener(style: str, then: Callable[[str], str] | None = None) -> Callable[[str], str]:
    """A thought rewriter applying :func:`thoughts.shorten` (then ``then``, if given)."""
    def rewrite(text: str) -> str:
        short = thoughts.shorten(text, style)
        return then(short) if then is not None and short else short
    return rewrite


def episode_id_for(rec: dict[str, Any], seed: int) -> str:
    """The stable episode id of a task record."""
    return f'{rec["identity"]}-v{search_rank_for(str(rec["identity"]), seed)}'


def _work(rec: dict[str, Any]) -> dict[str, Any]:
    out: Path = _WORKER['out_dir']
    eid = episode_id_for(rec, _WORKER['seed'])
    started = time.monotonic()
    try:
        task = task_from_record(rec)
        record, verdict = run_task(task, _WORKER['sim'], seed=_WORKER['seed'],
                                   scene=rec.get('scene_path') or rec['scene'],
                                   compat=_WORKER['compat'], rewriter=_WORKER['rewriter'],
                                   episode_id=eid, failure_prob=_WORKER['failure_prob'],
                                   expert=_WORKER['expert'], prompt=_WORKER['prompt'])
    except Exception as exc:  # noqa: BLE001 - one bad task must not stop the run
        logger.warning('task %s failed: %s', rec.get('identity'), exc)
        verdict = Verdict(False, f'{type(exc).__name__}: {exc}')
        record = None
    if verdict.kept and record is not None:
        record.metadata['split'] = rec.get('split', 'train')
        record.save(out / EPISODES_DIR / eid, overwrite=True)
    else:
        _atomic_write(out / REJECTED_DIR / f'{eid}.json',
                      json.dumps({'identity': rec.get('identity'), 'tasktype': rec.get('tasktype'),
                                  'reason': verdict.reason}))
    return {'id': eid, 'kept': verdict.kept, 'reason': verdict.reason,
            'seconds': time.monotonic() - started}


def _clean_partials(out: Path) -> int:
    n = 0
    for base in (out / EPISODES_DIR, out / REJECTED_DIR, out):
        if not base.is_dir():
            continue
        for p in base.iterdir():
            if p.name.startswith('.') and (p.name.endswith(('.partial', '.old', '.tmp'))
                                           or p.name.startswith('.procedural.')):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(
                    missing_ok=True)
                n += 1
    return n


def _done_ids(out: Path) -> tuple[set[str], set[str]]:
    kept = {p.parent.name for p in (out / EPISODES_DIR).glob('*/episode.json')}
    rejected = {p.stem for p in (out / REJECTED_DIR).glob('*.json')}
    return kept, rejected


def run_datagen(cfg: DatagenConfig) -> dict[str, Any]:
    """Generate (or resume) a dataset; returns the summary figures."""
    started = time.monotonic()
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    cleaned = _clean_partials(cfg.out_dir)
    plan = plan_tasks(cfg)
    tasks: list[dict[str, Any]] = plan['tasks']
    order = {episode_id_for(t, cfg.seed): k for k, t in enumerate(tasks)}
    kept, rejected = _done_ids(cfg.out_dir)
    target = cfg.n if cfg.n is not None else len(tasks)
    todo = [t for t in tasks if episode_id_for(t, cfg.seed) not in kept | rejected]
    n_resumed = len(kept)
    bar = Progress(min(target, len(tasks)), 'datagen', unit='traj',
                   done=min(len(kept), target), enabled=cfg.progress, counts_success=False)
    init_args = (str(cfg.out_dir), cfg.image_size, cfg.seed, cfg.rewrite_url, cfg.rewrite_model,
                 cfg.thought_style, cfg.failure_prob, cfg.expert, cfg.restate_task)
    pool = None
    if cfg.workers > 1:
        ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else 'spawn')
        pool = ctx.Pool(cfg.workers, initializer=_worker_init, initargs=init_args)
    else:
        _worker_init(*init_args)
    reasons: Counter[str] = Counter()
    try:
        pos = 0
        while pos < len(todo) and len(kept) < target:
            need = target - len(kept)
            size = max(cfg.workers * 4, math.ceil(need * 1.2) + cfg.workers)
            batch = todo[pos:pos + size]
            pos += len(batch)
            results: Iterator[dict[str, Any]] = (
                pool.imap_unordered(_work, batch, chunksize=2) if pool is not None
                else map(_work, batch))
            for res in results:
                if res['kept']:
                    kept.add(res['id'])
                    if len(kept) <= target:
                        bar.update(1)
                else:
                    rejected.add(res['id'])
                    reasons[res['reason'].split(':')[0]] += 1
                bar.note = f'{len(rejected)} rejected'
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        bar.close()
    # Keep the first N trajectories in task order; later extras are removed.
    ordered = sorted(kept, key=lambda i: order.get(i, 1 << 60))
    extra = ordered[target:]
    for eid in extra:
        shutil.rmtree(cfg.out_dir / EPISODES_DIR / eid, ignore_errors=True)
    gen_seconds = time.monotonic() - started
    stats = build_formats(cfg.out_dir, formats=cfg.formats, plan=plan, seed=cfg.seed)
    summary = {
        'n_trajectories': stats['n_trajectories'],
        'n_images': stats['n_images'],
        'n_thought_tokens': stats['n_thought_tokens'],
        'n_tasks_planned': len(tasks),
        'n_rejected': len(rejected),
        'n_resumed': n_resumed,
        'n_removed_partials': cleaned,
        'n_skipped_scenes': len(plan.get('skipped_scenes', [])),
        'skipped_scenes': plan.get('skipped_scenes', []),
        'reflection_share': stats['reflection_share'],
        'rejection_reasons': dict(reasons),
        'generation_seconds': round(gen_seconds, 2),
        'wall_seconds': round(time.monotonic() - started, 2),
        'out_dir': str(cfg.out_dir),
    }
    return summary


# ============================================================================ formats
def _tokens(text: str) -> int:
    return len(text.split())


def load_episodes(out_dir: Path) -> list[EpisodeRecord]:
    """Every complete episode record of a dataset folder, in id order."""
    root = Path(out_dir) / EPISODES_DIR
    return [EpisodeRecord.load(p.parent, lazy_images=True)
            for p in sorted(root.glob('*/episode.json'))]


def reflects_after_failure(record: EpisodeRecord) -> bool:
    """Whether a reply right after a failed command holds a ``<Reflection>``."""
    failed = False
    for step in record.steps:
        if step.from_model and failed and '<Reflection>' in (step.raw_output or ''):
            return True
        if step.executed:
            failed = not step.success
    return False


def episode_stats(record: EpisodeRecord) -> dict[str, Any]:
    """Per-trajectory figures for the card."""
    model = record.model_steps
    expert = record.metadata.get('expert', {})
    n_images = len(record.initial_images) + sum(len(s.images) for s in record.steps)
    return {
        'id': record.episode_id, 'tasktype': record.task_type, 'scene': record.scene,
        'split': record.metadata.get('split', 'train'),
        'steps': record.step_count - 1, 'images': n_images,
        'thought_tokens': sum(_tokens(s.thought) for s in model),
        'search_rank': expert.get('search_rank', 0), 'misses': expert.get('misses', 0),
        # the engine counts reflections after visiting a wrong place; every expert's
        # reflections after a failed command are read from the trajectory
        'reflection_after_miss': bool(expert.get('reflections_after_miss', 0))
        or reflects_after_failure(record),
        'templates': expert.get('templates', []),
        'tags': sorted({t for s in model for t in thoughts_tags(s.raw_output)}),
    }


def thoughts_tags(text: str) -> list[str]:
    """The thought tags present in a reply."""
    return [t for t in ('Observation', 'Planning', 'Thinking', 'Reflection', 'Verification')
            if f'<{t}>' in text]


def build_formats(out_dir: Path | str, *, formats: Sequence[str] = ('sharegpt', 'hf', 'card'),
                  plan: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """(Re)build sharegpt, hf and the dataset card from the complete episode records."""
    out = Path(out_dir)
    if plan is None:
        plan = json.loads((out / TASKS_FILE).read_text(encoding='utf-8'))
    task_by_id = {str(t['identity']): t for t in plan.get('tasks', [])}
    records = load_episodes(out)
    prompts = set()  # each record is rebuilt with the prompt wording it ran with
    rows: dict[str, list[dict[str, Any]]] = {'train': [], 'val': []}
    stats = []
    for rec in records:
        split = rec.metadata.get('split', 'train')
        tid = rec.metadata.get('task_identity', '')
        task = task_by_id.get(tid, {})
        prompts.add(json.dumps(rec.prompt_config.to_dict(), sort_keys=True))
        row = rec.to_sharegpt(image_prefix=f'../{EPISODES_DIR}/{rec.episode_id}')
        row.update({'identity': rec.episode_id, 'scene': rec.scene, 'tasktype': rec.task_type,
                    'taskname': task.get('taskname', rec.metadata.get('taskname', '')),
                    'key_actions': rec.metadata.get('key_actions', [])})
        rows['val' if split == 'val' else 'train'].append(row)
        stats.append(episode_stats(rec))
    if 'sharegpt' in formats:
        sg = out / 'sharegpt'
        for split, items in rows.items():
            _atomic_write(sg / f'{split}.json', json.dumps(items, indent=0))
        info = {f'ego_er_{split}': {
            'file_name': f'{split}.json', 'formatting': 'sharegpt',
            'columns': {'messages': 'messages', 'images': 'images'},
            'tags': {'role_tag': 'role', 'content_tag': 'content', 'user_tag': 'user',
                     'assistant_tag': 'assistant', 'system_tag': 'system'}}
            for split in rows}
        _atomic_write(sg / 'dataset_info.json', json.dumps(info, indent=1))
    if 'hf' in formats:
        write_hf(out, rows)
    if len(prompts) > 1:
        raise DataError(f'{out}: episodes were made with different prompt wordings: '
                        f'{sorted(prompts)}')
    if prompts:  # trainers copy it into checkpoints, so models carry their wording
        wording = json.dumps(json.loads(next(iter(prompts))), indent=1) + '\n'
        _atomic_write(out / PROMPT_CONFIG_FILE, wording)
        if 'sharegpt' in formats:
            _atomic_write(out / 'sharegpt' / PROMPT_CONFIG_FILE, wording)
    summary = summarise(stats, plan)
    _atomic_write(out / 'stats.json', json.dumps(summary, indent=1))
    if 'card' in formats:
        write_card(out, summary, stats, plan)
    return summary


def write_hf(out: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """``datasets`` copies (images embedded as PNG bytes), saved with ``save_to_disk``."""
    ds_mod = require('datasets', purpose='the Hugging Face dataset format')
    ds_mod.disable_progress_bars()
    features = ds_mod.Features({
        'id': ds_mod.Value('string'), 'scene': ds_mod.Value('string'),
        'tasktype': ds_mod.Value('string'), 'taskname': ds_mod.Value('string'),
        'key_actions': ds_mod.Sequence(ds_mod.Value('string')),
        'messages': [{'role': ds_mod.Value('string'), 'content': ds_mod.Value('string')}],
        'images': ds_mod.Sequence(ds_mod.Image()),
    })
    sg = out / 'sharegpt'
    for split, items in rows.items():
        def gen(items: list[dict[str, Any]] = items) -> Iterator[dict[str, Any]]:
            for r in items:
                yield {'id': r['identity'], 'scene': r['scene'] or '',
                       'tasktype': r['tasktype'], 'taskname': r['taskname'],
                       'key_actions': r['key_actions'], 'messages': r['messages'],
                       'images': [{'bytes': (sg / p).read_bytes(), 'path': Path(p).name}
                                  for p in r['images']]}

        dest = out / 'hf' / split
        tmp = out / 'hf' / f'.{split}.partial'
        cache = out / 'hf' / '.cache'
        shutil.rmtree(tmp, ignore_errors=True)
        if items:
            ds = ds_mod.Dataset.from_generator(gen, features=features, cache_dir=str(cache))
        else:
            ds = ds_mod.Dataset.from_dict({k: [] for k in features}, features=features)
        ds.save_to_disk(str(tmp))
        del ds
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
        shutil.rmtree(cache, ignore_errors=True)


def summarise(stats: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, Any]:
    """Dataset figures: totals, per type, variants, template and phrasing counts."""
    per_type: dict[str, dict[str, Any]] = {}
    for tt in sorted({s['tasktype'] for s in stats}):
        sel = [s for s in stats if s['tasktype'] == tt]
        per_type[tt] = {
            'count': len(sel),
            'steps_mean': round(sum(s['steps'] for s in sel) / len(sel), 2),
            'steps_max': max(s['steps'] for s in sel),
            'images': sum(s['images'] for s in sel),
            'thought_tokens': sum(s['thought_tokens'] for s in sel),
            'reflection_share': round(sum(s['reflection_after_miss'] for s in sel) / len(sel),
                                      3),
            'distinct_templates': len({t for s in sel for t in s['templates']}),
            'distinct_phrasings': ph.phrasing_counts().get(tt, 0),
        }
    n = len(stats)
    return {
        'n_trajectories': n,
        'n_train': sum(1 for s in stats if s['split'] != 'val'),
        'n_val': sum(1 for s in stats if s['split'] == 'val'),
        'n_images': sum(s['images'] for s in stats),
        'n_thought_tokens': sum(s['thought_tokens'] for s in stats),
        'reflection_share': round(sum(s['reflection_after_miss'] for s in stats) / n, 3)
        if n else 0.0,
        'variants': dict(Counter(f"rank{s['search_rank']}" for s in stats)),
        'per_type': per_type,
        'template_pools': thoughts.template_counts(),
        'n_templates_total': sum(thoughts.template_counts().values()),
        'phrasings_per_type': ph.phrasing_counts(),
        'skipped_scenes': plan.get('skipped_scenes', []),
        'val_scenes': plan.get('val_scenes', []),
        'n_scenes': len(plan.get('scenes', [])),
    }


#: How each expert searches, in the words of the dataset card (from the registry).
EXPERT_SEARCH = {name: e.does for name, e in experts.EXPERTS.items()}


def write_card(out: Path, summary: dict[str, Any], stats: list[dict[str, Any]],
               plan: dict[str, Any]) -> None:
    """``README.md`` (dataset card) and ``steps_histogram.png``."""
    plot = write_histogram(out / 'steps_histogram.png', stats)
    expert = str(plan.get('config', {}).get('expert', 'engine'))
    lines = [
        '# Embodied reasoning trajectories (ego_reasoner_ros data engine)', '',
        f'Expert trajectories generated in the embedded simulator: the `{expert}` expert '
        f'{EXPERT_SEARCH.get(expert, "acts")}, and every assistant turn '
        'holds thoughts in `<Observation>`, `<Planning>`, `<Thinking>`, `<Reflection>` and '
        '`<Verification>` tags written from the true simulator state, then the action in '
        '`<DecisionMaking>`. Every trajectory succeeded under the Embodied-Reasoner metric '
        'and the strict goal check.', '',
        '## Layout', '',
        '- `episodes/<id>/episode.json` + `images/`: per-episode records '
        '(`EpisodeRecord.load`).',
        '- `sharegpt/train.json`, `sharegpt/val.json` (+ `dataset_info.json`): LLaMA-Factory '
        'sharegpt rows; image paths are relative to the JSON file.',
        '- `hf/train`, `hf/val`: `datasets.load_from_disk` (images embedded).',
        '- `tasks.json`: the task list (test_809 format) and the generation settings.', '',
        '## Figures', '',
        f"- trajectories: {summary['n_trajectories']} (train {summary['n_train']}, "
        f"val {summary['n_val']})",
        f"- images: {summary['n_images']}",
        f"- thought tokens (whitespace): {summary['n_thought_tokens']}",
        f"- share with a reflection after a miss or a failed command: "
        f"{summary['reflection_share']:.1%}",
        f"- search variants: {summary['variants']}",
        f"- scenes: {summary['n_scenes']} (validation: {', '.join(summary['val_scenes'])})",
        f"- skipped reference test scenes: {', '.join(summary['skipped_scenes']) or 'none'}",
        f"- thought templates: {summary['n_templates_total']} in "
        f"{len(summary['template_pools'])} pools", '',
        '| task type | count | mean steps | max steps | images | thought tokens | '
        'reflection share | templates used | phrasings |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for tt, s in summary['per_type'].items():
        lines.append(f"| {tt} | {s['count']} | {s['steps_mean']} | {s['steps_max']} | "
                     f"{s['images']} | {s['thought_tokens']} | {s['reflection_share']:.1%} | "
                     f"{s['distinct_templates']} | {s['distinct_phrasings']} |")
    if plot is not None:
        lines += ['', '![steps per trajectory](steps_histogram.png)']
    _atomic_write(out / 'README.md', '\n'.join(lines) + '\n')


def write_histogram(path: Path, stats: list[dict[str, Any]]) -> Path | None:
    """Steps per trajectory, one histogram per task type (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning('matplotlib is missing; no histogram written')
        return None
    types = sorted({s['tasktype'] for s in stats})
    if not types:
        return None
    cols = 3
    rows = math.ceil(len(types) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, tt in zip(axes.ravel(), types):
        vals = [s['steps'] for s in stats if s['tasktype'] == tt]
        ax.hist(vals, bins=range(min(vals), max(vals) + 2), color='#4a7bb7', edgecolor='white')
        ax.set_title(tt if len(tt) < 34 else tt[:31] + '...', fontsize=8)
        ax.set_xlabel('steps', fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(types):]:
        ax.axis('off')
    fig.tight_layout()
    tmp = path.with_name('.' + path.name + '.tmp.png')
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path


# ============================================================================ rewriting
def make_rewriter(url: str, model: str = 'default', *, timeout: float = 60.0
                  ) -> Callable[[str], str]:
    """A thought rewriter over an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    The rewritten text is used only when it keeps exactly the same tags in the same order;
    otherwise (or on any error) the template text is kept.
    """
    import urllib.request

    endpoint = url.rstrip('/')
    if not endpoint.endswith('/chat/completions'):
        endpoint += '/v1/chat/completions' if not endpoint.endswith('/v1') else \
            '/chat/completions'
    prompt = ('Rewrite the robot\'s reasoning below in fresh, natural words. Keep every XML '
              'tag, their order and every fact exactly; add nothing. Reply with the rewritten '
              'text only.\n\n')

    def rewrite(text: str) -> str:
        body = json.dumps({'model': model, 'temperature': 0.9,
                           'messages': [{'role': 'user', 'content': prompt + text}]}).encode()
        req = urllib.request.Request(endpoint, data=body,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                data = json.loads(resp.read().decode('utf-8'))
            new = str(data['choices'][0]['message']['content']).strip()
        except Exception as exc:  # noqa: BLE001 - fall back to the template text
            logger.debug('thought rewrite failed: %s', exc)
            return text
        if _tag_sequence(new) != _tag_sequence(text) or '<DecisionMaking>' in new:
            return text
        return new

    return rewrite


def _tag_sequence(text: str) -> list[str]:
    import re

    return re.findall(r'</?(?:Observation|Planning|Thinking|Reflection|Verification)>', text)


def image_placeholders(row: dict[str, Any]) -> int:
    """``<image>`` placeholders in a sharegpt row."""
    return sum(str(m.get('content', '')).count(IMAGE_PLACEHOLDER) for m in row['messages'])


def config_to_json(cfg: DatagenConfig) -> dict[str, Any]:
    """JSON-ready settings."""
    d = asdict(cfg)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
