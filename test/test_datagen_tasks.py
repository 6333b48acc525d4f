# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Data engine: task synthesis (taskgen), instruction phrasings and thought templates."""

from __future__ import annotations

import copy
from pathlib import Path
import random

import pytest

from data_paths import ER_DATA

from ego_reasoner_ros.sim_bridge.bench import replay_case
from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.scene import iter_scene_dirs, load_scene
from ego_reasoner_ros.training import phrasings, thoughts
from ego_reasoner_ros.training.evaluate import evaluate_tasks
from ego_reasoner_ros.training.expert import ExpertPolicy
from ego_reasoner_ros.training.goals import goal_for_task
from ego_reasoner_ros.training.task_builder import SceneIndex
from ego_reasoner_ros.training.task_replay import KeyReplayer
from ego_reasoner_ros.training.tasks import Task
from ego_reasoner_ros.training.taskgen import (
    LONG_RANGE,
    TASK_TYPES,
    TEST_SCENES,
    TaskGenConfig,
    generate_tasks,
    is_test_scene,
)

DATA = ER_DATA
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


# ------------------------------------------------------------------ names, winnability, search
def _scene_types(roots: list[Path]) -> set[str]:
    return {t for r in roots for d in iter_scene_dirs(r) for t in load_scene(d).object_types()}


def test_everyday_names_name_one_type_only(proc_scenes: Path) -> None:
    roots = [proc_scenes] + ([SCENES] if SCENES.is_dir() else [])
    types = _scene_types(roots)
    assert {'BathtubBasin', 'SinkBasin', 'CounterTop'} <= types
    split = {phrasings.split_type(t): t for t in types}
    owner: dict[str, str] = {}
    for t in sorted(types):
        for name in phrasings.everyday_names(t):
            key = name.lower()
            # Not another Type split into words ("bathtub" is the Type Bathtub) ...
            assert split.get(key, t) == t, f'{t}: {name!r} is the Type {split[key]}'
            # ... and not an everyday name of another Type.
            assert owner.setdefault(key, t) == t, f'{name!r} names {owner[key]} and {t}'
    assert 'bathtub' not in phrasings.everyday_names('BathtubBasin')
    assert phrasings.split_type('TVStand') == 'tv stand'


def _keys(task: dict) -> list[str]:
    return [f"{a['action']} {a['objectType']}" for a in task['task_metadata']['actions']]


def test_every_generated_task_replays(proc_scenes: Path) -> None:
    ts = generate_tasks([proc_scenes], TaskGenConfig(seed=2, tasks_per_scene=30))
    sim = make_sim(SimConfig(render=False))
    failed = [(t['identity'], r.steps[-1]) for t in ts.tasks
              for r in [replay_case(sim, t, None, proc_scenes)] if not r.ok]
    assert ts.tasks and not failed
    # The replay check rejects a chain the simulator refuses (a put onto the Floor).
    task = next(t for t in ts.tasks if t['tasktype'] == 'pickup_and_put')
    scene = load_scene(Path(task['scene_path']))
    replayer = KeyReplayer()
    assert replayer(task, scene)
    floor = next(o for o in scene.objects if o.object_type == 'Floor')
    bad = copy.deepcopy(task)
    for a in bad['task_metadata']['actions']:
        if a['action'] == 'put':
            a.update(objectId=floor.object_id, objectType='Floor')
    bad['task_metadata']['actions'].insert(-2, {**bad['task_metadata']['actions'][-2],
                                                'action': 'navigate to', 'baseaction': ''})
    bad['navigable_objects'] = [*bad['navigable_objects'], 'Floor']
    assert not replayer(bad, scene)
    assert (replayer.replayed, replayer.failed) == (2, 1)


@needs_data
def test_non_receptacles_are_never_put_targets() -> None:
    # FloorPlan429's Bathtub is listed as a receptacle Type but cannot hold anything there.
    scene_dir = SCENES / 'bathrooms' / 'FloorPlan429'
    scene = load_scene(scene_dir)
    assert any(o.object_type == 'Bathtub' and not o.receptacle for o in scene.objects)
    ts = generate_tasks([scene_dir], TaskGenConfig(seed=0, tasks_per_scene=60),
                        compat=ReceptacleCompat.default(DATA))
    assert ts.tasks
    assert not any('put Bathtub' in _keys(t) for t in ts.tasks)
    sim = make_sim(SimConfig(render=False))
    assert all(replay_case(sim, t, None, SCENES).ok for t in ts.tasks)


def _searched(task: dict) -> str:
    return task['related_objects'][0]


def test_searches_for_repeated_types_are_well_defined(proc_scenes: Path) -> None:
    ts = generate_tasks([proc_scenes], TaskGenConfig(
        seed=4, tasks_per_scene=40, types=('single_search', 'single_search_from_closerep')))
    index = {d.name: SceneIndex(load_scene(d)) for d in iter_scene_dirs(proc_scenes)}
    repeated = []
    for t in ts.tasks:
        ix = index[t['scene']]
        obj = ix.objects[_searched(t)]
        nav = t['task_metadata']['actions'][0]['objectId']
        # target_objects names the navigate target exactly when its Type repeats.
        assert (nav in t['target_objects']) == (ix.type_count[ix.type_of(nav)] > 1)
        if ix.type_count[obj.type] > 1:
            repeated.append(t)
            closed = t['tasktype'] == 'single_search_from_closerep'
            for other in ix.of_type(obj.type):
                assert ix.type_of(other.parent) == ix.type_of(obj.parent)
                assert (ix.in_closed(other) if closed else ix.exposed(other))
    assert repeated  # the well-defined ones are still generated
    # ... and any instance answers them: the expert passes the ER metric and the goal.
    rows = evaluate_tasks([Task.from_dict(t, i) for i, t in enumerate(repeated)],
                          ExpertPolicy(), make_sim(SimConfig(render=False)),
                          scenes=proc_scenes)
    assert all(r['success'] and r['strict_success'] for r in rows), [
        (t['taskquery'], r['steps']) for t, r in zip(repeated, rows)
        if not (r['success'] and r['strict_success'])]
