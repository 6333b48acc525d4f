# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The restated-task prompt wording, and how datasets and models carry their wording."""

from __future__ import annotations

import json
from pathlib import Path

from core_loop_fakes import FakeEnv, canon, decide
import pytest

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.loop import run_episode
from ego_reasoner_ros.core.policy import ScriptedPolicy
from ego_reasoner_ros.core.prompts import (
    PROMPT_CONFIG_FILE, PromptBuilder, PromptConfig, load_prompt_config, save_prompt_config)


def _text(msg: dict) -> str:
    return ''.join(b.get('text') or '' for b in msg['content'] if b['type'] == 'text')


def test_restate_task_ends_every_later_user_turn_with_the_task() -> None:
    builder = PromptBuilder(PromptConfig(restate_task=True))
    with pytest.raises(ValueError, match='first_turn'):
        builder.after_invalid('no tag')
    first = builder.first_turn('Put the Mug in the Fridge.', [])
    assert _text(first).endswith('Task: Put the Mug in the Fridge.')
    later = [builder.after_success(Action.parse_canonical('navigate to Fridge'), []),
             builder.after_failure(Action.parse_canonical('open Fridge'), 'it is stuck'),
             builder.after_invalid('no tag')]
    for msg in later:
        assert _text(msg).endswith('\nTask: Put the Mug in the Fridge.')
    plain = PromptBuilder()
    plain.first_turn('Put the Mug in the Fridge.', [])
    assert 'Task:' not in _text(plain.after_invalid('no tag'))
    with pytest.raises(ValueError, match='restate_task must be a bool'):
        PromptConfig(restate_task='yes')


def test_prompt_config_files_round_trip(tmp_path: Path) -> None:
    assert load_prompt_config(tmp_path) is None
    save_prompt_config(tmp_path, PromptConfig(restate_task=True))
    assert load_prompt_config(tmp_path) == PromptConfig(restate_task=True)
    (tmp_path / PROMPT_CONFIG_FILE).write_text('[1]', encoding='utf-8')
    with pytest.raises(ValueError, match='JSON object'):
        load_prompt_config(tmp_path)


def test_the_loop_prompts_a_policy_with_its_own_wording() -> None:
    replies = [decide('navigate to Fridge'), decide('open Microwave'), decide('end')]
    policy = ScriptedPolicy(replies)
    policy.prompt_config = PromptConfig(restate_task=True)
    record = run_episode(policy, FakeEnv(), 'Find the Fridge.')
    assert record.prompt_config.restate_task
    seen = policy.seen[-1].messages
    users = [m for m in seen if m['role'] == 'user']
    assert len(users) == 3 and all(_text(u).endswith('Task: Find the Fridge.') for u in users)
    # the record rebuilds the same conversation from its own wording
    assert canon(record.to_messages()[:len(seen)]) == canon(seen)
    default = ScriptedPolicy(replies)
    run_episode(default, FakeEnv(), 'Find the Fridge.')
    assert not _text(default.seen[-1].messages[-1]).endswith('Task: Find the Fridge.')


def test_datagen_records_the_wording_and_the_replay_uses_it(tmp_path: Path) -> None:
    from ego_reasoner_ros.training import datagen
    from ego_reasoner_ros.training.rollout_reward import RolloutReward, RolloutRewardConfig
    from ego_reasoner_ros.training.train_data import grpo_rows, load_rows, prompt_config_of

    datagen.run_datagen(datagen.DatagenConfig(
        out_dir=tmp_path, procedural=1, n=3, image_size=48, expert='probe', seed=4,
        restate_task=True, formats=('sharegpt',), progress=False))
    assert load_prompt_config(tmp_path).restate_task
    assert prompt_config_of(tmp_path / 'sharegpt').restate_task
    rows = load_rows(tmp_path / 'sharegpt')
    for row in rows:
        task_line = _text(row['messages'][1]).rsplit('\n', 1)[-1]
        assert task_line.startswith('Task: ')
        later = [m for m in row['messages'][2:] if m['role'] == 'user']
        assert later and all(_text(m).endswith('\n' + task_line) for m in later)
    reward = RolloutReward(RolloutRewardConfig(tasks=str(tmp_path / 'tasks.json'),
                                               max_new_steps=40))
    row = max(rows, key=lambda r: len(r['messages']))
    replies = [_text(m) for m in row['messages'] if m['role'] == 'assistant']
    prompt = list(grpo_rows([row]))[-1]
    reward.bind(policy=ScriptedPolicy([]))
    got = reward([replies[-1]], prompts=[prompt['prompt']], identity=[prompt['identity']])
    assert got == [pytest.approx(reward.config.success + reward.config.completeness)]
    meta = json.loads((tmp_path / 'tasks.json').read_text())['config']
    assert meta['restate_task'] is True


@pytest.mark.training
def test_trained_checkpoints_carry_the_wording(tmp_path: Path) -> None:
    pytest.importorskip('trl')
    pytest.importorskip('torch')
    from ego_reasoner_ros.training.backends.hf import HFPolicy
    from ego_reasoner_ros.training.sft import load_config, run_sft
    from ego_reasoner_ros.training.train_data import write_synthetic_sharegpt

    data = write_synthetic_sharegpt(tmp_path / 'data', 2, turns=1, image_size=(56, 56))
    save_prompt_config(data, PromptConfig(restate_task=True))
    cfg = load_config('training/configs/tiny_sft.yaml', [
        f'data={data}', f'output_dir={tmp_path / "out"}', 'max_steps=2', 'save_steps=1',
        'per_device_train_batch_size=1', 'gradient_accumulation_steps=1', 'logging_steps=1',
        'tiny={vocab_size: 520, hidden: 32, layers: 1, heads: 2, kv_heads: 1, '
        'vision_depth: 1, vision_width: 32, image_size: 56}', 'torch_threads=2'])
    summary = run_sft(cfg)
    for folder in (summary['final'], tmp_path / 'out' / 'checkpoint-1'):
        assert load_prompt_config(folder) == PromptConfig(restate_task=True)
    policy = HFPolicy.from_pretrained(summary['final'], max_new_tokens=4)
    assert policy.prompt_config.restate_task
