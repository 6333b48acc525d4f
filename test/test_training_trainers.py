# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""SFT / GRPO on the tiny preset, the assistant-only loss mask, rewards, data loading."""

from __future__ import annotations

import doctest
import json

import pytest

pytest.importorskip('trl')
torch = pytest.importorskip('torch')

pytestmark = pytest.mark.training

TINY = ('tiny={vocab_size: 600, hidden: 64, layers: 2, heads: 2, kv_heads: 1, '
        'vision_depth: 1, vision_width: 32, image_size: 112}')


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    from ego_reasoner_ros.training.train_data import write_synthetic_sharegpt

    return write_synthetic_sharegpt(tmp_path_factory.mktemp('data'), 4, turns=2,
                                    image_size=(56, 84))


@pytest.fixture(scope='module')
def sft_run(data_dir, tmp_path_factory):
    from ego_reasoner_ros.training.sft import load_config, run_sft

    out = tmp_path_factory.mktemp('sft')
    cfg = load_config('training/configs/tiny_sft.yaml', [
        f'data={data_dir}', f'output_dir={out}', 'max_steps=12', 'learning_rate=3e-3',
        'warmup_ratio=0', 'lr_scheduler_type=constant', 'gradient_accumulation_steps=1',
        'per_device_train_batch_size=2', 'logging_steps=1', 'save_steps=6', 'limit=2', TINY,
        'torch_threads=2'])
    summary = run_sft(cfg)
    return cfg, summary


def test_sft_lowers_loss_and_changes_parameters(sft_run):
    from ego_reasoner_ros.training.processor import load_model_and_processor

    cfg, summary = sft_run
    assert summary['global_step'] == 12
    history = json.loads(open(f'{cfg.output_dir}/log_history.json').read())
    losses = [e['loss'] for e in history if 'loss' in e]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5
    init, _ = load_model_and_processor(f'{cfg.output_dir}/tiny-init')
    final, _ = load_model_and_processor(summary['final'])
    changed = [n for (n, a), (_m, b) in zip(init.state_dict().items(),
                                           final.state_dict().items()) if not torch.equal(a, b)]
    assert any('language_model' in n for n in changed)
    assert any('visual' in n for n in changed)
    assert (summary['curves'][0]).endswith('loss.png')
    with open(summary['curves'][0], 'rb') as fh:
        assert fh.read(8) == b'\x89PNG\r\n\x1a\n'


def test_sft_resume_continues_from_checkpoint(sft_run):
    from ego_reasoner_ros.training.sft import TrainConfig, latest_checkpoint, run_sft

    cfg, _summary = sft_run
    ckpt = latest_checkpoint(cfg.output_dir)
    assert ckpt is not None and ckpt.endswith('checkpoint-12')
    more = TrainConfig(**{**cfg.__dict__, 'max_steps': 14})
    summary = run_sft(more, resume=True)
    assert summary['global_step'] == 14
    steps = [e['step'] for e in json.loads(
        open(f'{cfg.output_dir}/log_history.json').read()) if 'loss' in e]
    assert steps[-2:] == [13, 14]
    # the resumed run starts from the trained weights, not from a fresh initialisation
    losses = {e['step']: e['loss'] for e in json.loads(
        open(f'{cfg.output_dir}/log_history.json').read()) if 'loss' in e}
    assert losses[13] < losses[1] - 0.5


def test_loss_mask_covers_only_assistant_tokens(sft_run, data_dir):
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from ego_reasoner_ros.training.processor import load_processor
    from ego_reasoner_ros.training.train_data import load_sft_dataset

    cfg, summary = sft_run
    proc = load_processor(summary['final'])
    collator = DataCollatorForVisionLanguageModeling(processor=proc, assistant_only_loss=True)
    ds = load_sft_dataset(data_dir)
    rows = [ds[0], ds[1]]
    expected = [[b['text'] for m in r['messages'] if m['role'] == 'assistant'
                 for b in m['content'] if b['type'] == 'text'] for r in rows]
    batch = collator([dict(r) for r in rows])
    for i, replies in enumerate(expected):
        labels = batch['labels'][i]
        kept = labels[labels != -100].tolist()
        assert proc.tokenizer.decode(kept) == ''.join(r + '<|im_end|>' for r in replies)
        # image tokens and user/system text are never in the loss
        ids = batch['input_ids'][i]
        assert not bool(((ids == proc.image_token_id) & (labels != -100)).any())


def test_first_turn_rows_end_at_the_plan_and_keep_their_image(sft_run, data_dir):
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from ego_reasoner_ros.training.processor import load_processor
    from ego_reasoner_ros.training.train_data import load_sft_dataset

    full = load_sft_dataset(data_dir)
    only = load_sft_dataset(data_dir, first_turns='only')
    mixed = load_sft_dataset(data_dir, first_turns='add', seed=1)
    assert len(only) == len(full) and len(mixed) == 2 * len(full)
    for long_row, short in zip(full, only):
        roles = [m['role'] for m in short['messages']]
        assert roles[-1] == 'assistant' and roles.count('assistant') == 1
        assert short['messages'] == long_row['messages'][:len(roles)]
        n_blocks = sum(b['type'] == 'image' for m in short['messages'] for b in m['content'])
        assert n_blocks == len(short['images']) >= 1
        assert len(short['images']) < len(long_row['images'])
    assert sorted(len(r['messages']) for r in mixed) == sorted(
        [len(r['messages']) for r in full] + [len(r['messages']) for r in only])
    text = load_sft_dataset(data_dir, first_turns='text')
    for short, warm in zip(only, text):
        assert [m['role'] for m in warm['messages']] == ['user', 'assistant']
        assert warm['images'] == []
        line = warm['messages'][0]['content'][0]['text']
        assert line.startswith('Task: ') and '\n' not in line
        assert line in short['messages'][1]['content'][-1]['text']
        assert warm['messages'][1] == short['messages'][-1]
    with pytest.raises(ValueError, match='first_turns'):
        load_sft_dataset(data_dir, first_turns='some')
    # short and long rows batch together: the loss covers exactly each row's replies
    proc = load_processor(sft_run[1]['final'])
    collator = DataCollatorForVisionLanguageModeling(processor=proc, assistant_only_loss=True)
    batch = collator([dict(only[0]), dict(full[1])])
    first_reply = next(b['text'] for m in only[0]['messages'] if m['role'] == 'assistant'
                       for b in m['content'] if b['type'] == 'text')
    kept = batch['labels'][0][batch['labels'][0] != -100].tolist()
    assert proc.tokenizer.decode(kept) == first_reply + '<|im_end|>'


def test_grpo_runs_logs_rewards_and_changes_parameters(sft_run, data_dir, tmp_path):
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig, run_grpo
    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.sft import load_config

    cfg_sft, sft_summary = sft_run
    cfg = load_config('training/configs/tiny_grpo.yaml', [
        f'model={sft_summary["final"]}', f'data={data_dir}', f'output_dir={tmp_path}',
        'max_steps=2', 'learning_rate=1e-2', 'per_device_train_batch_size=4',
        'num_generations=4', 'max_completion_length=12', 'logging_steps=1', 'limit=4',
        'rewards={format: 0.5, imitation: 1.0}', 'save_steps=100'], GRPOTrainConfig)

    def length_reward(completions, **kwargs):
        # varies inside each group so the advantages (and gradients) are non-zero
        return [float(len(c[0]['content']) % 7) for c in completions]

    summary = run_grpo(cfg, extra_rewards=[(length_reward, 1.0)])
    assert summary['global_step'] == 2
    history = json.loads(open(f'{tmp_path}/log_history.json').read())
    logged = [e for e in history if 'reward' in e]
    assert logged and 'rewards/format_reward/mean' in logged[0]
    assert 'rewards/imitation_reward/mean' in logged[0]
    before, _ = load_model_and_processor(sft_summary['final'])
    after, _ = load_model_and_processor(summary['final'])
    assert any(not torch.equal(a, b) for a, b in zip(before.state_dict().values(),
                                                      after.state_dict().values()))


def test_rewards_on_handcrafted_completions():
    from ego_reasoner_ros.training import rewards

    good = [{'role': 'assistant', 'content': '<Thinking>go</Thinking>'
             '<DecisionMaking>navigate to Fridge</DecisionMaking>'}]
    wrong = [{'role': 'assistant', 'content': '<DecisionMaking>open Fridge</DecisionMaking>'}]
    broken = [{'role': 'assistant', 'content': 'navigate to Fridge'}]
    unknown = [{'role': 'assistant', 'content': '<DecisionMaking>jump Fridge</DecisionMaking>'}]
    kw = {'expert_action': ['navigate to Fridge'] * 4,
          'object_types': [json.dumps(['Fridge', 'Apple'])] * 4}
    comps = [good, wrong, broken, unknown]
    assert rewards.format_reward(comps, **kw) == [1.0, 1.0, 0.0, 0.0]
    assert rewards.imitation_reward(comps, **kw) == [1.0, 0.0, 0.0, 0.0]
    failures, _ = doctest.testmod(rewards)
    assert failures == 0


def test_removed_planning_reward_names_its_training_log_entry(tmp_path):
    from ego_reasoner_ros.training.experts import RemovedOptionError
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig
    from ego_reasoner_ros.training.rewards import REWARD_FUNCTIONS, get_reward

    assert 'planning' not in REWARD_FUNCTIONS
    with pytest.raises(RemovedOptionError, match='reward planning was removed.*"Session 7"'):
        get_reward('planning')
    with pytest.raises(RemovedOptionError, match='Session 7'):
        GRPOTrainConfig(data=str(tmp_path), rewards={'planning': 1.0, 'format': 0.5})


def test_env_reward_in_embedded_sim():
    from ego_reasoner_ros.core.data_store import resolve_data_dir
    from ego_reasoner_ros.training.rewards import EnvReward

    try:
        resolve_data_dir()
    except Exception:  # noqa: BLE001
        pytest.skip('Embodied-Reasoner data not available')
    task = json.dumps({'navigable_objects': ['Cabinet', 'GarbageCan', 'CounterTop'],
                       'target_objects': ['CounterTop|-00.08|+01.15|00.00'],
                       'related_objects': ['CreditCard|-00.46|+01.10|+00.87']})
    keys = json.dumps(['navigate to CounterTop', 'end'])
    comps = ['<DecisionMaking>navigate to CounterTop</DecisionMaking>',
             '<DecisionMaking>end</DecisionMaking>', 'no decision']
    reward = EnvReward()
    got = reward(comps, scene=['FloorPlan1'] * 3, task=[task] * 3, key_actions=[keys] * 3,
                 history_actions=['[]'] * 3)
    cfg = reward.config
    assert got == [cfg.key_progress, cfg.premature_end, cfg.invalid]
    after = reward(['<DecisionMaking>end</DecisionMaking>',
                    '<DecisionMaking>navigate to CounterTop</DecisionMaking>'],
                   scene=['FloorPlan1'] * 2, task=[task] * 2, key_actions=[keys] * 2,
                   history_actions=[json.dumps(['navigate to CounterTop'])] * 2)
    assert after[0] == cfg.success
    assert after[1] < cfg.key_progress  # repeating the last action earns no progress


def test_grpo_rows_and_configs(data_dir):
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig
    from ego_reasoner_ros.training.sft import TrainConfig, load_config
    from ego_reasoner_ros.training.train_data import grpo_rows, load_rows

    rows = list(grpo_rows(load_rows(data_dir)))
    assert len(rows) == 4 * 2
    first = rows[0]
    assert first['prompt'][-1]['role'] == 'user' and len(first['images']) == 1
    assert json.loads(rows[1]['history_actions']) == [first['expert_action']]
    replies = [m for m in load_rows(data_dir)[0]['messages'] if m['role'] == 'assistant']
    reply_text = ''.join(b.get('text', '') for b in replies[0]['content'])
    assert first['expert_reply'] == reply_text
    assert f'<DecisionMaking>{first["expert_action"]}</DecisionMaking>' in reply_text
    for name in ('tiny_sft', 'qwen2vl_2b_lora_sft', 'qwen2vl_7b_lora_sft'):
        assert isinstance(load_config(f'training/configs/{name}.yaml'), TrainConfig)
    for name in ('tiny_grpo', 'qwen2vl_2b_lora_grpo'):
        assert isinstance(load_config(f'training/configs/{name}.yaml', (), GRPOTrainConfig),
                          GRPOTrainConfig)
    with pytest.raises(ValueError, match='unknown config keys'):
        load_config('training/configs/tiny_sft.yaml', ['not_a_key=1'])
    # a rewards override replaces the file's mapping (a reward left out is off) ...
    cfg = load_config('training/configs/tiny_grpo.yaml', ['rewards={imitation: 1.0}'],
                      GRPOTrainConfig)
    assert cfg.rewards == {'imitation': 1.0}
    # ... while other mappings merge key by key
    cfg = load_config('training/configs/tiny_sft.yaml', ['tiny={layers: 2}'])
    assert cfg.tiny['layers'] == 2 and cfg.tiny['hidden'] == 256


@pytest.mark.parametrize('option', ['look=add', 'look=only'])
def test_removed_look_rows_name_their_training_log_entry(tmp_path, option):
    from ego_reasoner_ros.training.experts import RemovedOptionError
    from ego_reasoner_ros.training.settings import load_config
    from ego_reasoner_ros.training.sft import TrainConfig

    with pytest.raises(RemovedOptionError, match=f'{option} was removed.*"Session 8"'):
        load_config(None, [f'data={tmp_path}', option], TrainConfig)
