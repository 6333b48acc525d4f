# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The expert on data-engine tasks it was not tuned on: procedural and non-test public scenes.

Every task type, every phrasing template (rendered explicitly, with exact Types and with every
everyday name) and the long-range clause templates. A task counts as solved when both the ER
metric and the strict goal check succeed. Tasks are measured only where they are winnable
(replaying the task's own key actions succeeds). A search for a Type with several instances
cannot tell which one the key actions open, so there only the strict goal (some instance
found) is required.
"""

from __future__ import annotations

from collections import Counter
import copy
from pathlib import Path
import re
from typing import Any

import pytest

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.procedural import ROOM_TYPES, write_scene
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.scene import load_scene
from ego_reasoner_ros.training import phrasings as ph
from ego_reasoner_ros.training.evaluate import evaluate_tasks
from ego_reasoner_ros.training.expert import ExpertPolicy
from ego_reasoner_ros.training.taskgen import (
    LONG_RANGE,
    TASK_TYPES,
    TaskGenConfig,
    generate_tasks,
    is_test_scene,
)
from ego_reasoner_ros.training.tasks import Task
from data_paths import ER_DATA

DATA = ER_DATA
SEARCH_TYPES = ('single_search', 'single_search_from_closerep')
MIN_RATE = 0.99


class _KeyReplay(Policy):
    """Test oracle: replays one task's key actions (tells whether a task is winnable)."""

    name = 'key-replay'

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = list(keys)

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        self.queue = list(self.keys)

    def act(self, inp: PolicyInput) -> str:
        key = self.queue.pop(0) if self.queue else 'end'
        action = Action(Verb.END) if key == 'end' else Action.parse_canonical(key)
        return format_decision(action)


class _FixedRng:
    """Stands in for ``random.Random`` in the renderers: picks choice ``k`` of every list."""

    def __init__(self, k: int, exact_types: bool) -> None:
        self.k = k
        self.exact_types = exact_types

    def random(self) -> float:
        return 0.0 if self.exact_types else 0.999

    def randrange(self, n: int) -> int:
        return self.k % n

    def choice(self, seq: Any) -> Any:
        return seq[self.k % len(seq)]


def _ok(row: dict[str, Any]) -> bool:
    return bool(row['success'] and row['strict_success'] and not row['error'])


def _winnable(tasks: list[Task], sim: Any, scenes: Path) -> list[bool]:
    return [_ok(evaluate_tasks([t], _KeyReplay(t.key_actions), sim, scenes=scenes)[0])
            for t in tasks]


def _ambiguous_search(task: Task, scenes: Path, cache: dict[str, Any]) -> bool:
    """A search for a Type with several instances: the key actions open just one of them."""
    if task.tasktype not in SEARCH_TYPES:
        return False
    match = re.fullmatch(r'Find the (\w+) in the room\.', task.taskname)
    assert match, task.taskname
    if task.scene not in cache:
        found = list(scenes.glob(f'*/{task.scene}'))
        cache[task.scene] = Counter(o.object_type for o in load_scene(found[0]).objects)
    return cache[task.scene][match.group(1)] > 1


def _run(tasks: list[Task], scenes: Path) -> dict[str, Any]:
    """Expert results over the winnable, unambiguous tasks, with the exclusions counted."""
    sim = make_sim(SimConfig(render=False, scenes_dir=str(scenes)))
    cache: dict[str, Any] = {}
    ambiguous = [t for t in tasks if _ambiguous_search(t, scenes, cache)]
    rest = [t for t in tasks if not _ambiguous_search(t, scenes, cache)]
    winnable = _winnable(rest, sim, scenes)
    measured = [t for t, w in zip(rest, winnable) if w]
    rows = evaluate_tasks(measured, ExpertPolicy(), sim, scenes=scenes)
    amb_rows = evaluate_tasks(ambiguous, ExpertPolicy(), sim, scenes=scenes)
    failures = [f'{t.tasktype} (ambiguous): {t.instruction!r} not found'
                for t, r in zip(ambiguous, amb_rows) if not r['strict_success'] or r['error']]
    failures += [f'{t.tasktype}: {t.instruction!r} -> '
                f"{[(s['action'], s.get('object')) for s in r['steps']][1:]} "
                f'(keys {list(t.key_actions)}; er={r["success"]} strict={r["strict_success"]} '
                f'{r["strict_failed"]} {r["error"] or ""})'
                for t, r in zip(measured, rows) if not _ok(r)]
    return {'measured': measured + ambiguous, 'rows': rows + amb_rows, 'failures': failures,
            'unwinnable': len(rest) - len(measured), 'ambiguous': len(ambiguous)}


def _assert_rate(result: dict[str, Any], min_rate: float = MIN_RATE) -> None:
    n = len(result['measured'])
    solved = n - len(result['failures'])
    assert n > 0
    assert solved >= min_rate * n, (
        f'expert solved {solved}/{n} (unwinnable excluded: {result["unwinnable"]}, '
        f'ambiguous searches (strict goal only): {result["ambiguous"]}); failures:\n'
        + '\n'.join(result['failures']))


def _tasks(dicts: list[dict[str, Any]]) -> list[Task]:
    return [Task.from_dict(d, i) for i, d in enumerate(dicts)]


@pytest.fixture(scope='module')
def procedural(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp('procedural')
    compat = ReceptacleCompat.builtin()
    dirs = [write_scene(root, seed, ROOM_TYPES[seed % 4], compat=compat) for seed in range(16)]
    taskset = generate_tasks(dirs, TaskGenConfig(seed=3, tasks_per_scene=40), compat=compat)
    return root, taskset.tasks


def test_procedural_tasks_of_every_type(procedural):
    root, dicts = procedural
    tasks = _tasks(dicts)
    assert {t.tasktype for t in tasks} == set(TASK_TYPES)
    assert {d['scene'].split('_')[1] for d in dicts} >= {'kitchen', 'bedroom', 'bathroom'}
    result = _run(tasks, root)
    _assert_rate(result)
    assert result['unwinnable'] < 0.05 * len(tasks)


# ------------------------------------------------------------------ every template
_SLOT = re.compile(r'\\\{(\w+)\\\}')


def _slots_of(template: str, text: str) -> dict[str, str]:
    """Invert ``template.format(**slots) == text`` (slots are Types or on/off)."""
    pattern = _SLOT.sub(lambda m: f'(?P<{m.group(1)}>\\w+)', re.escape(template))
    match = re.fullmatch(pattern, text)
    assert match, (template, text)
    return match.groupdict()


def _long_clauses(taskname: str) -> list[tuple[str, dict[str, str]]]:
    """The clauses of a long-range task, read back from its canonical taskname."""
    body = taskname.removeprefix('First, ').removesuffix('.')
    clauses = []
    for part in body.split(', then '):
        for kind, templates in ph.LONG_CLAUSES.items():
            pattern = _SLOT.sub(lambda m: f'(?P<{m.group(1)}>\\w+)', re.escape(templates[0]))
            match = re.fullmatch(pattern, part)
            if match:
                clauses.append((kind, match.groupdict()))
                break
        else:
            raise AssertionError(f'unknown clause {part!r} in {taskname!r}')
    return clauses


def _rerendered(dicts: list[dict[str, Any]], per_type: int = 2) -> tuple[list[dict], set]:
    """Every template of every type (and every long-range clause template), both namings."""
    out: list[dict[str, Any]] = []
    covered: set[tuple[str, str, int]] = set()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for d in dicts:
        by_type.setdefault(d['tasktype'], []).append(d)
    # Toggle bases: the first task of each state, so both template tables are rendered.
    firsts: dict[str, dict[str, Any]] = {}
    for d in by_type.get('single_toggle', []):
        firsts.setdefault(d['taskname'].split()[1], d)
    if firsts:
        by_type['single_toggle'] = list(firsts.values())
    # Long-range bases: enough of them to hold every clause kind (one recipe each).
    long_bases: list[dict[str, Any]] = []
    kinds: set[str] = set()
    for d in by_type.get(LONG_RANGE, []):
        new = {k for k, _ in _long_clauses(d['taskname'])} - kinds
        if new or len(long_bases) < per_type:
            long_bases.append(d)
            kinds |= new
    for tt, bases in by_type.items():
        for b, base in enumerate(long_bases if tt == LONG_RANGE else bases[:per_type]):
            if tt == LONG_RANGE:
                clauses = _long_clauses(base['taskname'])
                count = max(len(ph.LONG_CLAUSES[k]) for k, _ in clauses)
            else:
                slots = _slots_of(ph.CANONICAL[tt] if tt != 'single_toggle'
                                  else 'Turn {state} the {app}.', base['taskname'])
                table = (ph.TOGGLE_PHRASINGS[slots['state']] if tt == 'single_toggle'
                         else ph.PHRASINGS[tt])
                count = len(table)
            for k in range(count):
                for exact in (False, True):
                    rng = _FixedRng(k + b, exact)
                    task = copy.deepcopy(base)
                    if tt == LONG_RANGE:
                        task['taskquery'] = ph.render_long_instruction(clauses, rng)
                        for kind, _ in clauses:
                            covered.add((tt, kind, (k + b) % len(ph.LONG_CLAUSES[kind])))
                    else:
                        task['taskquery'], idx = ph.render_instruction(tt, slots, rng)
                        covered.add((tt, slots.get('state', ''), idx))
                    task['identity'] = f"{base['identity']}-t{k}-{int(exact)}"
                    out.append(task)
    return out, covered


def test_every_phrasing_template(procedural):
    root, dicts = procedural
    variants, covered = _rerendered(dicts)
    for tt, table in ph.PHRASINGS.items():
        assert {i for t, _, i in covered if t == tt} == set(range(len(table))), tt
    for state, table in ph.TOGGLE_PHRASINGS.items():
        assert {i for t, s, i in covered if (t, s) == ('single_toggle', state)} == set(
            range(len(table))), state
    long_kinds = {k for t, k, _ in covered if t == LONG_RANGE}
    for kind in long_kinds:
        assert {i for t, k, i in covered if (t, k) == (LONG_RANGE, kind)} == set(
            range(len(ph.LONG_CLAUSES[kind]))), kind
    assert long_kinds == set(ph.LONG_CLAUSES)
    _assert_rate(_run(_tasks(variants), root))


# ------------------------------------------------------------------ public non-test scenes
@pytest.mark.skipif(not (DATA / 'scenes').is_dir(), reason='Embodied-Reasoner scenes absent')
def test_public_non_test_scenes():
    scenes = DATA / 'scenes'
    dirs = sorted((d for d in scenes.glob('*/FloorPlan*')
                   if (d / 'metadata.json').is_file() and not is_test_scene(d.name)),
                  key=lambda d: int(re.sub(r'\D', '', d.name) or 0))
    assert len(dirs) >= 10
    chosen = dirs[::max(1, len(dirs) // 12)][:12]
    assert len({d.parent.name for d in chosen}) == 4  # every room type
    taskset = generate_tasks(chosen, TaskGenConfig(seed=5, tasks_per_scene=36),
                             compat=ReceptacleCompat.default(DATA))
    tasks = _tasks(taskset.tasks)
    assert {t.tasktype for t in tasks} == set(TASK_TYPES)
    _assert_rate(_run(tasks, scenes))
