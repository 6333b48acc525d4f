# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Stage tables over evaluation runs and the exact paired test (``ego-reasoner compare``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ego_reasoner_ros.cli.main import main as cli_main
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.training.baselines import RandomPolicy
from ego_reasoner_ros.training.evaluate import evaluate_tasks
from ego_reasoner_ros.training.expert import ExpertPolicy
from ego_reasoner_ros.training.report import (build_summary, compare_runs, mcnemar_exact,
                                              write_outputs)
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks
from ego_reasoner_ros.training.tasks import Task


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    before = {i: False for i in range(10)}
    after = {i: i < 6 for i in range(10)}  # 6 discordant, all for "after"
    t = mcnemar_exact(before, after)
    assert (t['n_paired'], t['before_only'], t['after_only']) == (10, 0, 6)
    assert t['p_value'] == pytest.approx(2 / 2 ** 6, rel=1e-3)
    # 1 vs 5 discordant: 2 * (C(6,0) + C(6,1)) / 2^6
    after[5], before[9] = False, True
    t = mcnemar_exact(before, after)
    assert (t['before_only'], t['after_only']) == (1, 5)
    assert t['p_value'] == pytest.approx(14 / 64, rel=1e-3)
    assert mcnemar_exact({1: True}, {1: True})['p_value'] == 1.0
    assert mcnemar_exact({1: True}, {2: True})['n_paired'] == 0


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp('compare')
    scenes = root / 'scenes'
    generate_scenes(scenes, 3, 7, ReceptacleCompat.builtin())
    ts = generate_tasks([scenes], TaskGenConfig(seed=1, tasks_per_scene=4))
    tasks = [Task.from_dict(t, i) for i, t in enumerate(ts.tasks)]
    sim = make_sim(SimConfig(render=False))
    dirs = []
    for name, policy in (('random', RandomPolicy()), ('expert', ExpertPolicy())):
        rows = evaluate_tasks(tasks, policy, sim, scenes=scenes)
        out = root / name
        write_outputs(out, build_summary(rows, {'policy': name, 'sim': 'embedded'}), rows,
                      plots=False)
        dirs.append(out)
    return dirs[0], dirs[1], scenes


def test_compare_runs_tabulates_and_tests_real_runs(two_runs) -> None:
    random_dir, expert_dir, _ = two_runs
    table, figures = compare_runs([('random', random_dir), ('expert', expert_dir)],
                                  [('random', 'expert')])
    rand, exp = figures['runs']['random'], figures['runs']['expert']
    assert exp['success_rate'] > rand['success_rate']
    assert f'| expert | {100 * exp["success_rate"]:.2f} |' in table
    assert 'Search | Manipulate | Transport | Composite' in table
    (test,) = figures['paired']
    rows = {json.loads(x)['identity']: json.loads(x)['success']
            for x in (expert_dir / 'results.jsonl').read_text().splitlines() if x.strip()}
    assert test['n_paired'] == len(rows)
    assert test['gain_points'] == pytest.approx(
        100 * (exp['success_rate'] - rand['success_rate']), abs=0.01)
    assert test['p_value'] < 0.05
    with pytest.raises(DataError, match='unknown label'):
        compare_runs([('random', random_dir)], [('random', 'grpo')])


def test_compare_refuses_runs_over_different_tasks(two_runs, tmp_path: Path) -> None:
    random_dir, expert_dir, _ = two_runs
    lines = (expert_dir / 'results.jsonl').read_text().splitlines()
    short = tmp_path / 'short'
    short.mkdir()
    (short / 'results.jsonl').write_text('\n'.join(lines[:-1]) + '\n')
    (short / 'summary.json').write_text((expert_dir / 'summary.json').read_text())
    with pytest.raises(DataError, match='different tasks'):
        compare_runs([('random', random_dir), ('short', short)])
    with pytest.raises(DataError, match='no summary.json'):
        compare_runs([('x', tmp_path)])


def test_compare_cli(two_runs, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    random_dir, expert_dir, _ = two_runs
    out = tmp_path / 'table.md'
    code = cli_main(['compare', f'random={random_dir}', f'expert={expert_dir}',
                     '--paired', 'random:expert', '--out', str(out)])
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(printed[-1])
    assert figures['paired'][0]['after'] == 'expert'
    assert '| random → expert |' in out.read_text()
    # a folder with no results is bad input
    assert cli_main(['compare', f'a={random_dir}', f'b={tmp_path}']) == 2
    assert 'no summary.json' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(['compare', 'no-equals-sign'])
