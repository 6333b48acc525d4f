# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Evaluation keeps every finished case, resumes after a kill, and refuses bad input up front.

Runs on generated scenes and tasks, so it needs no data download.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ego_reasoner_ros.cli.main import EXIT_BAD_INPUT, main
from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training.evaluate import EvalConfig
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks

REPO = Path(__file__).resolve().parents[1]
# A policy that thinks a little: the expert, 20 ms a decision, so that a run can be killed
# part way. Registered in the child process before the command line runs.
SLOW_POLICY = textwrap.dedent('''
    import time
    import ego_reasoner_ros.training.policies
    from ego_reasoner_ros.core.policy import PolicyWrapper, make_policy, register_policy

    class Slow(PolicyWrapper):
        def act(self, inp):
            time.sleep(0.02)
            return self.inner.act(inp)

    register_policy('slow-expert', lambda arg, **kw: Slow(make_policy('expert', **kw)))
''')


@pytest.fixture(scope='module')
def generated(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp('eval_resume')
    generate_scenes(root / 'scenes', 3, 7, ReceptacleCompat.builtin())
    tasks = generate_tasks([root / 'scenes'], TaskGenConfig(seed=1, tasks_per_scene=12)).tasks
    (root / 'tasks.json').write_text(json.dumps(tasks))
    (root / 'slowpolicy.py').write_text(SLOW_POLICY)
    return root / 'tasks.json', root / 'scenes'


def _command(generated, out: Path, *extra: str) -> list[str]:
    tasks, scenes = generated
    code = (f'import sys; sys.path.insert(0, {str(tasks.parent)!r}); import slowpolicy; '
            'from ego_reasoner_ros.cli.main import main; sys.exit(main(sys.argv[1:]))')
    return [sys.executable, '-c', code, 'eval', '--policy', 'slow-expert', '--tasks',
            str(tasks), '--scenes', str(scenes), '--out', str(out), '--workers', '2',
            '--no-plots', *extra]


def _lines(path: Path) -> int:
    try:
        return path.read_text(encoding='utf-8').count('\n')
    except FileNotFoundError:
        return 0


def _without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != 'wall_seconds'}


def _rows(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / 'results.jsonl').read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != 'wall_seconds'} for r in rows]


def test_a_killed_evaluation_resumes_to_the_uninterrupted_summary(generated, tmp_path) -> None:
    n_cases = len(json.loads(generated[0].read_text()))
    reference = tmp_path / 'reference'
    done = subprocess.run(_command(generated, reference), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    # without a terminal, progress lines say how far it is, the success so far and the rate
    assert f'eval: {n_cases}/{n_cases} (100.0%), success ' in done.stderr

    killed = tmp_path / 'killed'
    proc = subprocess.Popen(_command(generated, killed), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while _lines(killed / 'results.jsonl') < 6 and time.monotonic() < deadline:
        assert proc.poll() is None, 'the run ended before it could be killed'
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its workers, with no warning
    proc.wait(timeout=30)
    kept = _lines(killed / 'results.jsonl')
    assert 6 <= kept < n_cases  # every case finished before the kill is on disk
    assert not (killed / 'summary.json').exists()

    resumed = subprocess.run(_command(generated, killed), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert 'resuming' in resumed.stderr
    got = json.loads((killed / 'summary.json').read_text())
    want = json.loads((reference / 'summary.json').read_text())
    assert got['n_tasks'] == n_cases
    assert _without_timing(got) == _without_timing(want)
    assert _rows(killed) == _rows(reference)

    # a finished run resumed again runs nothing and gives the same summary
    again = subprocess.run(_command(generated, killed, '--resume'), capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f'{n_cases} case(s) already done' in again.stderr or 'resuming' in again.stderr
    assert _without_timing(json.loads((killed / 'summary.json').read_text())) == \
        _without_timing(want)


def test_resuming_with_other_settings_is_refused(generated, tmp_path, capsys) -> None:
    tasks, scenes = generated
    out = tmp_path / 'run'

    def run(*extra: str, policy: str = 'expert', limit: str = '4', to: Path = out) -> int:
        return main(['eval', '--policy', policy, '--tasks', str(tasks), '--scenes',
                     str(scenes), '--out', str(to), '--no-plots', '--no-progress',
                     '--limit', limit, *extra])

    assert run() == 0
    before = (out / 'results.jsonl').read_text()
    for extra, named in ((['--seed', '1'], 'seed'), (['--parser', 'lenient'], 'parser'),
                         (['--blank-images'], 'blank_images')):
        assert run(*extra) == EXIT_BAD_INPUT
        assert named in capsys.readouterr().err
    assert run(policy='heuristic') == EXIT_BAD_INPUT
    assert 'policy' in capsys.readouterr().err
    assert (out / 'results.jsonl').read_text() == before  # nothing was touched
    # a larger limit continues the same run with the cases still missing
    assert run(limit='8') == 0
    assert len(_rows(out)) == 8 and _rows(out)[:4] == [
        {k: v for k, v in json.loads(line).items() if k != 'wall_seconds'}
        for line in before.splitlines()]
    assert run('--no-resume') == EXIT_BAD_INPUT
    assert run('--resume', to=tmp_path / 'fresh') == EXIT_BAD_INPUT
    assert 'nothing to resume' in capsys.readouterr().err


@pytest.mark.parametrize('change, message', [
    ({'--policy': 'exprt'}, "Did you mean 'expert'? Known policies: expert"),
    ({'--policy': 'hf:/no/such/model'}, 'does not exist'),
    ({'--policy': 'hf:{scenes}'}, 'is not a model'),
    ({'--tasks': '{bad_tasks}'}, 'no case in the Embodied-Reasoner task format'),
    ({'--scenes': '{empty}'}, 'holds no scene'),
    ({'--policy-arg': 'max_new_token=64', '--policy': 'hf:' + str(REPO / 'models' /
                                                                 'ego-reasoner-tiny')},
     "did you mean 'max_new_tokens'"),
    ({'--policy-arg': 'rank=2'}, "policy 'expert' does not take the argument(s) 'rank'"),
])
def test_bad_input_exits_2_before_any_case_runs(generated, tmp_path, capsys, change,
                                                message) -> None:
    tasks, scenes = generated
    (tmp_path / 'bad.json').write_text(json.dumps([{'identity': 1, 'task': 'x'}]))
    (tmp_path / 'empty').mkdir()
    fill = {'scenes': scenes, 'bad_tasks': tmp_path / 'bad.json', 'empty': tmp_path / 'empty'}
    opts = {'--policy': 'expert', '--tasks': str(tasks), '--scenes': str(scenes),
            '--out': str(tmp_path / 'out')}
    opts.update({k: v.format(**fill) for k, v in change.items()})
    argv = ['eval', '--no-plots', '--no-progress']
    for key, value in opts.items():
        argv += [key, value]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / 'out').exists()  # no report, no folder


def test_workers_share_the_cpus_once_the_backend_has_imported_torch(monkeypatch) -> None:
    torch = pytest.importorskip('torch')
    from ego_reasoner_ros.training import evaluate as ev

    monkeypatch.setattr(os, 'cpu_count', lambda: 8)
    assert EvalConfig('expert', 't', 's', 'o', workers=4).torch_threads() == 2
    assert EvalConfig('expert', 't', 's', 'o', workers=1).torch_threads() is None
    assert EvalConfig('expert', 't', 's', 'o', workers=2,
                      policy_kwargs={'torch_threads': 3}).torch_threads() is None
    before = torch.get_num_threads()
    try:
        spec = 'hf:' + str(REPO / 'models' / 'ego-reasoner-tiny')
        config = EvalConfig(spec, 't', 's', 'o', workers=2, threads_per_worker=1)
        worker = ev._Worker(config, {})
        torch.set_num_threads(2)
        worker._setup_policy()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
