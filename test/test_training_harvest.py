# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The on-policy harvest: failed episodes become GRPO prompts whose replay is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ego_reasoner_ros.cli.main import main
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.grpo import GRPOTrainConfig
from ego_reasoner_ros.training.harvest import HarvestConfig, run_harvest
from ego_reasoner_ros.training.rollout_reward import RolloutReward, RolloutRewardConfig
from ego_reasoner_ros.training.train_data import grpo_rows, load_rows, parse_turns


def _text(msg: dict) -> str:
    return ''.join(b.get('text') or '' for b in msg['content'] if b['type'] == 'text')


def _results(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / 'results.jsonl').read_text().splitlines()]


def test_failed_episodes_are_kept_and_replay_to_the_same_failure(probe_data, tmp_path) -> None:
    out = tmp_path / 'harvest'
    summary = run_harvest(HarvestConfig(policy='random', data=str(probe_data), out_dir=str(out),
                                        n=3, progress=False))
    results = _results(out)
    assert summary['n_tasks'] == len(results) == 3
    failed = [r for r in results if not r['success']]
    assert failed, 'a random policy should fail some of these tasks'
    assert summary['n_kept'] == len(failed) and all(r['kept'] for r in failed)
    rows = load_rows(out / 'sharegpt')
    assert sorted(r['identity'] for r in rows) == sorted(r['identity'] for r in failed)
    # the harvest's task file is what the rollout reward reads
    reward = RolloutReward(RolloutRewardConfig(tasks=str(out / 'tasks.json')))
    stored = {r['identity']: r['messages']
              for r in json.loads((out / 'sharegpt' / 'train.json').read_text())}
    for row in rows:
        replies = [_text(m) for m in row['messages'] if m['role'] == 'assistant']
        record, er = reward.run(reward._task(row['identity']), replies, None)
        assert er.success == 0
        # the same replies through the same loop give back the same conversation (the
        # replay may go on with an ``end`` where the harvest was cut off by the loop)
        kept = stored[row['identity']]
        assert record.to_sharegpt(image_prefix='x')['messages'][:len(kept)] == kept
        # GRPO prompts at the last K decisions before the failure
        prompts = list(grpo_rows([row], turns='last:2'))
        n_assistant = len(replies)
        assert len(prompts) == min(2, n_assistant)
        assert [sum(1 for m in p['prompt'] if m['role'] == 'assistant') for p in prompts] == \
            list(range(n_assistant - len(prompts), n_assistant))


def test_resume_skips_done_tasks_and_keep_all(probe_data, tmp_path) -> None:
    out = tmp_path / 'all'
    cfg = HarvestConfig(policy='probe', data=str(probe_data), out_dir=str(out), n=4,
                        keep='all', progress=False)
    first = run_harvest(cfg)
    assert first['n_kept'] == first['n_tasks'] == 4
    assert first['success_rate'] > 0  # the probe expert succeeds on most of them
    lines = (out / 'results.jsonl').read_text()
    second = run_harvest(cfg)
    assert (out / 'results.jsonl').read_text() == lines  # nothing ran again
    assert second['success_rate'] == first['success_rate']
    # a line cut short by an interrupted run is run again, not lost
    with (out / 'results.jsonl').open('a') as f:
        f.write('{"identity": "cut')
    assert run_harvest(cfg)['n_tasks'] == 4
    # other settings into the same folder would mix two harvests: refused
    with pytest.raises(DataError, match='other settings .*seed'):
        run_harvest(HarvestConfig(policy='probe', data=str(probe_data), out_dir=str(out), n=4,
                                  keep='all', seed=5, progress=False))


def test_cli_and_bad_settings(probe_data, tmp_path, capsys) -> None:
    out = tmp_path / 'cli'
    assert main(['harvest', '--policy', 'probe', '--data', str(probe_data), '--out', str(out),
                 '--n', '2', '--no-progress']) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['n_tasks'] == 2 and len(_results(out)) == 2
    # no task of that type: a clear error, not an empty dataset
    assert main(['harvest', '--policy', 'probe', '--data', str(probe_data), '--out', str(out),
                 '--task-types', 'no_such_type']) == 2
    assert 'no train task' in capsys.readouterr().err
    with pytest.raises(DataError, match='no train task'):
        run_harvest(HarvestConfig(policy='probe', data=str(probe_data), out_dir=str(out),
                                  task_types=['no_such_type'], progress=False))
    assert main(['harvest', '--policy', 'probe', '--data', str(tmp_path), '--out',
                 str(out)]) == 2
    assert 'tasks.json' in capsys.readouterr().err
    with pytest.raises(ValueError, match='keep'):
        HarvestConfig(policy='probe', data=str(probe_data), out_dir=str(out), keep='some')
    with pytest.raises(ValueError, match='n must'):
        HarvestConfig(policy='probe', data=str(probe_data), out_dir=str(out), n=0)


def test_turns_values() -> None:
    assert [parse_turns(t) for t in ('all', 'first', 'last', 'last:3')] == [0, 0, 1, 3]
    for bad in ('last:0', 'tail', 'last:x', 'first:2'):
        with pytest.raises(ValueError, match='turns'):
            parse_turns(bad)
    with pytest.raises(ValueError, match='turns'):
        GRPOTrainConfig(data='d', turns='last:0')
