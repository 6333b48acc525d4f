# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Data engine: task synthesis (taskgen), instruction phrasings and thought templates."""

from __future__ import annotations

import os
from pathlib import Path
import random

import pytest

from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training import phrasings, thoughts
from ego_reasoner_ros.training.goals import goal_for_task
from ego_reasoner_ros.training.tasks import Task
from ego_reasoner_ros.training.taskgen import (
    LONG_RANGE,
    TASK_TYPES,
    TEST_SCENES,
    TaskGenConfig,
    generate_tasks,
    is_test_scene,
)

DATA = Path(os.environ.get('EGO_REASONER_DATA', '/work/shared/data/embodied-reasoner'))
SCENES = DATA / 'scenes'
needs_data = pytest.mark.skipif(not SCENES.is_dir(), reason='public scene data not available')

# Key-action verb patterns per type (er-protocol.md section 4), navigation excluded.
PATTERNS = {
    'single_search': [[]],
    'single_search_from_closerep': [['open']],
    'single_pickup': [['pickup']],
    'single_pickup_from_closerep': [['open', 'pickup', 'close']],
    'single_toggle': [['toggle']],
    'pickup_and_put': [['pickup', 'put']],
    'pickup_and_put_in_closerep': [['pickup', 'open', 'put']],
    'pickup_from_closerep_and_put': [['open', 'pickup', 'close', 'put']],
    'pickup_from_closerep_and_put_in_closerep': [['open', 'pickup', 'close', 'open', 'put']],
}


@pytest.fixture(scope='module')
def proc_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('proc')
    generate_scenes(root, 8, 11, ReceptacleCompat.builtin())
    return root


@pytest.fixture(scope='module')
def real_tasks():
    if not SCENES.is_dir():
        pytest.skip('public scene data not available')
    return generate_tasks([SCENES], TaskGenConfig(seed=3, tasks_per_scene=25))


def _verbs(task: dict) -> list[str]:
    return [a['action'] for a in task['task_metadata']['actions']]


def _check_task(t: dict) -> None:
    task = Task.from_dict(t)  # the evaluator's loader accepts it
    verbs = _verbs(t)
    assert verbs[-1] == 'end' and verbs[0] == 'navigate to'
    core = [v for v in verbs[:-1] if v != 'navigate to']
    if t['tasktype'] in PATTERNS:
        assert core in PATTERNS[t['tasktype']], (t['tasktype'], verbs)
    # Every navigated Type is seeded navigable; one instance per Type among key targets.
    navs = {a['objectType'] for a in t['task_metadata']['actions'] if a['action'] == 'navigate to'}
    assert navs <= set(t['navigable_objects'])
    types = [oid.split('|')[0] for oid in t['target_objects']]
    assert len(types) == len(set(types))
    assert t['related_objects']
    assert t['taskquery'] and t['taskname']
    goal_for_task(task)  # the strict metric can derive a goal


def test_tasks_on_procedural_scenes_cover_types_and_validate(proc_scenes: Path) -> None:
    ts = generate_tasks([proc_scenes], TaskGenConfig(seed=1, tasks_per_scene=30))
    assert ts.skipped_scenes == []  # procedural scenes are always allowed
    assert len({t['identity'] for t in ts.tasks}) == len(ts.tasks)
    for t in ts.tasks:
        _check_task(t)
    assert len({t['tasktype'] for t in ts.tasks}) >= 8


def test_generation_is_deterministic_and_seed_dependent(proc_scenes: Path) -> None:
    a = generate_tasks([proc_scenes], TaskGenConfig(seed=5, tasks_per_scene=10)).tasks
    b = generate_tasks([proc_scenes], TaskGenConfig(seed=5, tasks_per_scene=10)).tasks
    c = generate_tasks([proc_scenes], TaskGenConfig(seed=6, tasks_per_scene=10)).tasks
    assert a == b
    assert [t['taskquery'] for t in a] != [t['taskquery'] for t in c]


def test_split_is_by_scene(proc_scenes: Path) -> None:
    ts = generate_tasks([proc_scenes], TaskGenConfig(seed=1, tasks_per_scene=10,
                                                    val_fraction=0.25))
    split_of = {}
    for t in ts.tasks:
        assert split_of.setdefault(t['scene'], t['split']) == t['split']
    assert set(split_of.values()) == {'train', 'val'}
    assert sorted(s for s, v in split_of.items() if v == 'val') == ts.val_scenes


def test_is_test_scene() -> None:
    assert is_test_scene('FloorPlan1') and is_test_scene('FloorPlan404')
    assert not is_test_scene('FloorPlan10') and not is_test_scene('FloorPlan5')
    assert not is_test_scene('Procedural_kitchen_0001')
    assert len(TEST_SCENES) == 16


@needs_data
def test_real_scenes_skip_test_floorplans(real_tasks) -> None:
    present = {p.name for p in SCENES.glob('*/*') if p.name in TEST_SCENES}
    assert set(real_tasks.skipped_scenes) == present
    assert not {t['scene'] for t in real_tasks.tasks} & TEST_SCENES
    allowed = generate_tasks([SCENES / 'kitchens'], TaskGenConfig(
        seed=3, tasks_per_scene=2, allow_test_scenes=True))
    assert allowed.skipped_scenes == [] and 'FloorPlan1' in allowed.scenes


@needs_data
def test_real_scene_tasks_follow_the_rules(real_tasks) -> None:
    types = {t['tasktype'] for t in real_tasks.tasks}
    assert types == set(TASK_TYPES)
    for t in real_tasks.tasks:
        _check_task(t)
    toggles = [t for t in real_tasks.tasks if t['tasktype'] == 'single_toggle']
    assert not {t['task_metadata']['actions'][1]['objectType'] for t in toggles} & {
        'Candle', 'LightSwitch', 'StoveBurner', 'StoveKnob'}
    # Sink receptacles are named SinkBasin; long-range tasks wash and cook.
    puts = {a['objectType'] for t in real_tasks.tasks for a in t['task_metadata']['actions']
            if a['action'] == 'put'}
    assert 'Sink' not in puts
    lr = [t for t in real_tasks.tasks if t['tasktype'] == LONG_RANGE]
    lr_keys = {f"{a['action']} {a['objectType']}" for t in lr
               for a in t['task_metadata']['actions']}
    assert {'toggle Faucet', 'toggle StoveBurner'} <= lr_keys
    # Search tasks: the canonical taskname names the searched Type (metric substring rule).
    for t in real_tasks.tasks:
        if t['tasktype'] == 'single_search':
            assert t['related_objects'][0].split('|')[0].lower() in t['taskname'].lower()


def test_phrasings_counts_and_names() -> None:
    counts = phrasings.phrasing_counts()
    assert set(counts) == set(TASK_TYPES)
    assert min(counts.values()) >= 8
    assert phrasings.natural_name('CounterTop') == 'counter top'
    assert phrasings.natural_name('AlarmClock') == 'alarm clock'
    rng = random.Random(0)
    texts = {phrasings.render_instruction('pickup_and_put', {'obj': 'Apple',
                                                            'rec': 'CounterTop'}, rng)[0]
             for _ in range(60)}
    assert len(texts) > 20
    assert any('counter' in x and 'CounterTop' not in x for x in texts)
    with pytest.raises(ValueError):
        phrasings.render_instruction('no_such_type', {}, rng)


def test_thought_templates_are_varied_and_tagged() -> None:
    assert min(thoughts.template_counts().values()) >= 4
    ctx = thoughts.ThoughtContext(task='Find the apple.', goal='find the apple',
                                  visible=['table', 'chair'], target='apple',
                                  place='counter top', missed_at='fridge',
                                  misses=['fridge'], candidates=['fridge', 'counter top'])
    rng = random.Random(1)
    texts = {thoughts.compose(thoughts.StepKind.MISS, ctx, rng)[0] for _ in range(40)}
    assert len(texts) > 20
    for text in texts:
        assert '<Reflection>' in text and 'fridge' in text
        assert '{' not in text
