# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The episode-return GRPO reward: exact replay of the prompt, scoring, and GRPO with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ego_reasoner_ros.core.policy import Policy, ScriptedPolicy
from ego_reasoner_ros.training.rollout_reward import RolloutReward, RolloutRewardConfig
from ego_reasoner_ros.training.train_data import grpo_rows, load_rows


def _text(msg: dict) -> str:
    return ''.join(b.get('text') or '' for b in msg['content'] if b['type'] == 'text')


def _rows_by_trajectory(data: Path) -> list[tuple[dict, list[dict]]]:
    out = []
    for row in load_rows(data / 'sharegpt'):
        out.append((row, list(grpo_rows([row]))))
    return out


class _Spy(Policy):
    """Records the conversation it is asked to continue, then ends."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def act(self, inp):
        self.messages = inp.messages
        return '<DecisionMaking>end</DecisionMaking>'


def test_prompt_replays_exactly_and_expert_completion_scores_success(probe_data) -> None:
    reward = RolloutReward(RolloutRewardConfig(tasks=str(probe_data / 'tasks.json'),
                                               max_new_steps=50))
    full = reward.config.success + reward.config.completeness
    checked = 0
    for row, prompts in _rows_by_trajectory(probe_data):
        replies = [_text(m) for m in row['messages'] if m['role'] == 'assistant']
        for turn, prompt in enumerate(prompts):
            # the simulator, loop and prompt builder rebuild the prompt turn for turn
            spy = _Spy()
            reward.bind(policy=spy)
            reward.episode_score(reward._task(prompt['identity']), replies[:turn], spy)
            rebuilt = [(m['role'], _text(m)) for m in spy.messages]
            assert rebuilt == [(m['role'], _text(m)) for m in prompt['prompt']]
            # the expert's reply, then the rest of the expert's replies: full success
            reward.bind(policy=ScriptedPolicy(replies[turn + 1:]))
            got = reward([[{'role': 'assistant', 'content': replies[turn]}]],
                         prompts=[prompt['prompt']], identity=[prompt['identity']])
            assert got == [pytest.approx(full)]
            checked += 1
        # ending at the first turn: no success, and at most the ``end`` key action matched.
        # The ER protocol counts an ``end`` on a search task only when the target is in view
        # (or right after a key action), so there an immediate end may score nothing.
        reward.bind(policy=None)
        first = prompts[0]
        early = reward(['<DecisionMaking>end</DecisionMaking>'], prompts=[first['prompt']],
                       identity=[first['identity']])
        if reward._task(first['identity']).tasktype == 'single_search':
            assert 0.0 <= early[0] < reward.config.completeness
        else:
            assert 0.0 < early[0] < reward.config.completeness
    assert checked >= 6


def test_continuation_budget_ends_the_episode(probe_data) -> None:
    reward = RolloutReward(RolloutRewardConfig(tasks=str(probe_data / 'tasks.json'),
                                               max_new_steps=1))
    row, prompts = max(_rows_by_trajectory(probe_data), key=lambda rp: len(rp[1]))
    replies = [_text(m) for m in row['messages'] if m['role'] == 'assistant']
    assert len(replies) >= 3
    # the script could finish the task, but only one model decision is allowed
    policy = ScriptedPolicy(replies[1:])
    reward.bind(policy=policy)
    score, info = reward.episode_score(reward._task(prompts[0]['identity']), replies[:1],
                                       policy)
    assert info['model_calls'] == 1 and info['success'] == 0
    assert 0.0 < score < reward.config.success


def test_rollout_config_and_unknown_identity(probe_data) -> None:
    with pytest.raises(ValueError, match='tasks'):
        RolloutRewardConfig()
    with pytest.raises(ValueError, match='max_new_steps'):
        RolloutRewardConfig(tasks='x.json', max_new_steps=-1)
    reward = RolloutReward(RolloutRewardConfig(tasks=str(probe_data / 'tasks.json')))
    with pytest.raises(Exception, match='not in'):
        reward(['<DecisionMaking>end</DecisionMaking>'], prompts=[[]], identity=['nope'])


@pytest.mark.training
def test_grpo_with_the_rollout_reward_continues_with_the_live_model(probe_data, tmp_path):
    pytest.importorskip('trl')
    torch = pytest.importorskip('torch')
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig, run_grpo
    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.sft import load_config

    tiny = ('tiny={vocab_size: 600, hidden: 64, layers: 2, heads: 2, kv_heads: 1, '
            'vision_depth: 1, vision_width: 32, image_size: 56}')
    cfg = load_config('training/configs/tiny_grpo.yaml', [
        'model=tiny', tiny, f'data={probe_data / "sharegpt"}', f'output_dir={tmp_path}',
        'max_steps=2', 'learning_rate=1e-2', 'per_device_train_batch_size=4',
        'num_generations=4', 'max_completion_length=24', 'logging_steps=1', 'limit=6',
        'rewards={rollout: 1.0}', 'save_steps=100', 'torch_threads=2',
        f'rollout_reward={{tasks: {probe_data / "tasks.json"}, max_new_steps: 2, '
        'max_new_tokens: 24}'], GRPOTrainConfig)
    # the configured reward is built inside run_grpo; a second one made here is bound the
    # same way and shows that the continuations ran on the trainer's model
    watched = RolloutReward(RolloutRewardConfig(tasks=str(probe_data / 'tasks.json'),
                                                max_new_steps=2, max_new_tokens=24))

    calls = []

    def spread(completions, **kwargs):
        # varies inside each group so the update is non-zero even if every rollout fails
        calls.append(len(completions))
        return [float(len(str(c)) % 5) for c in completions]

    summary = run_grpo(cfg, extra_rewards=[(watched, 0.0), (spread, 0.1)])
    assert summary['global_step'] == 2 and calls
    assert watched.calls == 2 and watched.model_decisions > 0
    history = json.loads((tmp_path / 'log_history.json').read_text())
    logged = [e for e in history if 'rewards/rollout_reward/mean' in e]
    assert logged
    # an untrained model never finishes a task: the reward is completeness alone
    assert all(0.0 <= e['rewards/rollout_reward/mean'] <= 1.5 for e in logged)
    before, _ = load_model_and_processor(str(tmp_path / 'tiny-init'))
    after, _ = load_model_and_processor(summary['final'])
    assert any(not torch.equal(a, b) for a, b in zip(before.state_dict().values(),
                                                      after.state_dict().values()))
