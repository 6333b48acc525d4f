# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The evaluation harness end to end on public cases (skips without the ER data)."""

from __future__ import annotations

import json

import pytest

from ego_reasoner_ros.cli.main import main
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.report import merge_runs
from ego_reasoner_ros.training.tasks import load_tasks, parse_tasks, shard
from data_paths import ER_DATA

DATA = ER_DATA
needs_data = pytest.mark.skipif(not (DATA / 'test_public.json').exists(),
                                reason='Embodied-Reasoner data not available')


def _public():
    return json.loads((DATA / 'test_public.json').read_text())


def _sample(step=40):
    cases = _public()
    return [c for i, c in enumerate(cases) if i % step == 0]


def _write(tmp_path, cases, name='tasks.json'):
    path = tmp_path / name
    path.write_text(json.dumps(cases))
    return path


def _eval(tmp_path, tasks, out, *extra):
    rc = main(['eval', '--policy', 'expert', '--tasks', str(tasks), '--scenes',
               str(DATA / 'scenes'), '--out', str(out), '--no-progress',
               '--agent-positions', str(DATA / 'agent_positions.json'), *extra])
    assert rc == 0
    return json.loads((out / 'summary.json').read_text())


def test_malformed_entries_name_the_case(tmp_path):
    good = {'identity': 1, 'scene': 'FloorPlan1', 'tasktype': 'single_pickup',
            'taskname': 'Take an Apple.', 'taskquery': 'Take an Apple from the room.',
            'task_metadata': {'actions': [{'action': 'pickup', 'objectType': 'Apple'},
                                          {'action': 'end', 'objectType': ''}]}}
    bad_type = dict(good, identity=2, tasktype='single_dance')
    no_scene = {k: v for k, v in good.items() if k != 'scene'} | {'identity': 3}
    tf = parse_tasks([good, bad_type, no_scene, 'junk'])
    assert [t.identity for t in tf.tasks] == [1]
    errors = [b.error for b in tf.invalid]
    assert 'identity 2' in errors[0] and "unknown task type 'single_dance'" in errors[0]
    assert 'identity 3' in errors[1] and 'scene' in errors[1]
    assert 'case #3' in errors[2]
    with pytest.raises(DataError, match='not found'):
        load_tasks(tmp_path / 'missing.json')


def test_shards_partition_the_cases():
    tf = parse_tasks([{'identity': i, 'scene': 'FloorPlan1', 'tasktype': 'single_search',
                       'taskname': 'Find the Apple.', 'taskquery': 'Find the Apple.',
                       'task_metadata': {'actions': [{'action': 'end'}]}} for i in range(30)])
    parts = [shard(tf.tasks, i, 3) for i in range(3)]
    ids = sorted(t.identity for p in parts for t in p)
    assert ids == list(range(30)) and all(parts)


@needs_data
def test_expert_eval_with_bad_cases_outputs_and_merge(tmp_path):
    cases = _sample()
    extra = [dict(cases[0], identity=9001, scene='FloorPlan999'),
             dict(cases[1], identity=9002, tasktype='single_dance'),
             {'identity': 9003, 'scene': 'FloorPlan1'}]
    tasks = _write(tmp_path, cases + extra)
    summary = _eval(tmp_path, tasks, tmp_path / 'full', '--no-plots')
    assert summary['n_tasks'] == len(cases) + 3
    assert summary['n_errors'] == 3
    assert {e['identity'] for e in summary['errors']} == {9001, 9002, 9003}
    assert 'FloorPlan999' in next(e['error'] for e in summary['errors']
                                  if e['identity'] == 9001)
    for key in ('success_rate', 'search_efficiency', 'task_completeness',
                'strict_success_rate', 'parser', 'agent_positions', 'seed', 'policy', 'sim',
                'wall_seconds', 'label', 'per_type'):
        assert key in summary
    assert set(summary['groups']) == {'Search', 'Manipulate', 'Transport', 'Composite'}
    assert summary['parser'] == 'strict' and summary['render'] is False
    rows = [json.loads(x)
            for x in (tmp_path / 'full' / 'results.jsonl').read_text().splitlines()]
    good = [r for r in rows if not r['error']]
    assert len(good) == len(cases)
    assert all(r['success'] and r['strict_success'] for r in good
               if r['tasktype'] != 'long-range tasks with dependency relationships')
    assert good[0]['steps'][0]['action'] == 'init' and good[0]['steps'][-1]['action'] == 'end'
    report = (tmp_path / 'full' / 'report.md').read_text()
    assert 'not comparable one-to-one with AI2-THOR' in report and 'FloorPlan999' in report

    # Two shards run separately and merged give the same figures.
    for i in range(2):
        _eval(tmp_path, tasks, tmp_path / f's{i}', '--no-plots', '--shard', f'{i}/2')
    merged = merge_runs([tmp_path / 's0', tmp_path / 's1'], tmp_path / 'merged', plots=True)
    for key in ('n_tasks', 'success_rate', 'strict_success_rate', 'n_errors'):
        assert merged[key] == summary[key]
    assert (tmp_path / 'merged' / 'success_by_group.png').stat().st_size > 0
    assert (tmp_path / 'merged' / 'success_by_type.png').stat().st_size > 0


@needs_data
def test_results_do_not_depend_on_workers(tmp_path):
    tasks = _write(tmp_path, _sample(60))
    main(['eval', '--policy', 'random', '--tasks', str(tasks), '--scenes', str(DATA / 'scenes'),
          '--out', str(tmp_path / 'w1'), '--no-plots', '--no-progress', '--seed', '3'])
    main(['eval', '--policy', 'random', '--tasks', str(tasks), '--scenes', str(DATA / 'scenes'),
          '--out', str(tmp_path / 'w2'), '--no-plots', '--no-progress', '--seed', '3',
          '--workers', '2'])

    def steps(d):
        rows = [json.loads(x) for x in (d / 'results.jsonl').read_text().splitlines()]
        return [(r['identity'], [(s['action'], s['object']) for s in r['steps']]) for r in rows]

    assert steps(tmp_path / 'w1') == steps(tmp_path / 'w2')
