# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Data engine: expert trajectories replay to success; formats and dataset card are consistent."""

from __future__ import annotations

import json
from pathlib import Path
import random
import re

import pytest

from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import make_sim
from ego_reasoner_ros.training import dataset_formats, datagen, judging, metrics
from ego_reasoner_ros.training.check_dataset import check_dataset, replay_episode
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks
from data_paths import ER_DATA


def _sim(size: int, render: bool = True):
    """A data-engine simulator (the engine's settings)."""
    return make_sim(judging.sim_config(size, render=render))


DATA = ER_DATA
SCENES = DATA / 'scenes'
TAG_RE = re.compile(r'^(?:<(Observation|Planning|Thinking|Reflection|Verification)>[^<]+'
                    r'</\1>)+<DecisionMaking>[^<\n]+</DecisionMaking>$')


def _sample(tasks: list[dict], per_type: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    by_type: dict[str, list[dict]] = {}
    for t in tasks:
        by_type.setdefault(t['tasktype'], []).append(t)
    out = []
    for items in by_type.values():
        out += rng.sample(items, min(per_type, len(items)))
    return out


def _run_and_check(recs: list[dict], sim, replay_sim) -> list:
    compat = ReceptacleCompat.default()
    records = []
    for rec in recs:
        task = judging.task_from_record(rec)
        record, verdict = judging.run_task(task, sim, seed=0, scene=rec['scene_path'],
                                           compat=compat)
        if not verdict.kept:
            continue
        records.append((rec, record))
        # ER metric on the recorded trajectory, and the strict goal (in the verdict).
        score = metrics.score_trajectory(record.trajectory_entries(), task.key_actions,
                                         tasktype=task.tasktype, taskname=task.taskname)
        assert score.success == 1 and verdict.strict_success
        assert record.terminated_by == 'end'
        for step in record.model_steps:
            assert TAG_RE.match(step.raw_output), step.raw_output
        # observe returns the three views
        for step in record.steps:
            if step.action is not None and step.action.verb.value == 'observe':
                assert len(step.images) == 3
            elif step.executed:
                assert len(step.images) == 1
        assert replay_episode(record, rec, replay_sim) == []
    return records


@pytest.fixture(scope='module')
def sims():
    return _sim(96), _sim(64, render=False)


def test_procedural_trajectories_replay_to_success(tmp_path: Path, sims) -> None:
    generate_scenes(tmp_path, 8, 21, ReceptacleCompat.builtin())
    ts = generate_tasks([tmp_path], TaskGenConfig(seed=2, tasks_per_scene=20))
    sample = _sample(ts.tasks, 4)
    records = _run_and_check(sample, *sims)
    assert len(records) >= 0.9 * len(sample)


@pytest.mark.skipif(not SCENES.is_dir(), reason='public scene data not available')
def test_real_scene_trajectories_replay_to_success(sims) -> None:
    ts = generate_tasks([SCENES], TaskGenConfig(seed=4, tasks_per_scene=12))
    sample = _sample(ts.tasks, 5, seed=1)
    records = _run_and_check(sample, *sims)
    assert len(records) >= 0.9 * len(sample)
    kinds = {r.task_type for _, r in records}
    assert len(kinds) == 11
    # Search variants: the correct place is visited later, after misses with reflections.
    late = [r for _, r in records if r.metadata['expert']['search_rank'] > 0
            and r.metadata['expert']['misses'] > 0]
    assert late
    for r in late:
        assert any('<Reflection>' in s.raw_output for s in r.model_steps)
    # The thoughts differ between trajectories (no memorisable fixed strings).
    firsts = [r.model_steps[0].raw_output for _, r in records]
    assert len(set(firsts)) == len(firsts)


def test_search_rank_controls_detours(sims) -> None:
    if not SCENES.is_dir():
        pytest.skip('public scene data not available')
    ts = generate_tasks([SCENES / 'kitchens'], TaskGenConfig(
        seed=0, tasks_per_scene=8, types=('single_pickup',)))
    compat = ReceptacleCompat.default()
    lengths = {0: [], 2: []}
    for rec in ts.tasks[:8]:
        task = judging.task_from_record(rec)
        for rank in (0, 2):
            record, verdict = judging.run_task(task, sims[0], seed=0, search_rank=rank,
                                               scene=rec['scene_path'], compat=compat)
            assert verdict.kept, verdict.reason
            lengths[rank].append(record.step_count)
    assert all(a < b for a, b in zip(lengths[0], lengths[2]))


def test_small_dataset_formats_and_card(tmp_path: Path) -> None:
    cfg = datagen.DatagenConfig(out_dir=tmp_path / 'ds', procedural=6, tasks_per_scene=4,
                                image_size=64, seed=1, progress=False)
    summary = datagen.run_datagen(cfg)
    out = cfg.out_dir
    assert summary['n_trajectories'] > 10
    assert summary['n_images'] >= summary['n_trajectories'] * 2
    report = check_dataset(out)
    assert report['ok'], report['problems']
    # sharegpt rows load with the trainer's reader (paths relative to the JSON file).
    from ego_reasoner_ros.training.train_data import read_sharegpt

    rows = read_sharegpt(out / 'sharegpt' / 'train.json')
    n_val = len(json.loads((out / 'sharegpt' / 'val.json').read_text()))
    assert len(rows) + n_val == summary['n_trajectories']
    datasets = pytest.importorskip('datasets')
    hf = datasets.load_from_disk(str(out / 'hf' / 'train'))
    assert len(hf) == len(rows)
    first = hf[0]
    assert len(first['images']) == sum(m['content'].count('<image>') for m in first['messages'])
    card = (out / 'README.md').read_text()
    stats = json.loads((out / 'stats.json').read_text())
    for tt in stats['per_type']:
        assert tt in card
    assert f"the `engine` expert {dataset_formats.EXPERT_SEARCH['engine']}" in card
    assert set(dataset_formats.EXPERT_SEARCH) == set(datagen.EXPERTS)
    assert (out / 'steps_histogram.png').stat().st_size > 1000
    assert 0 <= stats['reflection_share'] <= 1


def test_config_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        datagen.DatagenConfig(out_dir=tmp_path)  # no scenes, no procedural
    with pytest.raises(ValueError):
        datagen.DatagenConfig(out_dir=tmp_path, procedural=2, workers=0)
    with pytest.raises(ValueError):
        datagen.DatagenConfig(out_dir=tmp_path, procedural=2, formats=('parquet',))
