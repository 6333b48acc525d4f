# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The model families users bring, each checked against transformers' own ``generate``.

One test per family builds a tiny random model of the family's exact class with its offline
processor (:mod:`ego_reasoner_ros.training.families`) and checks, in order: the ``hf`` engine
replays a 10-turn expert episode (history teacher-forced, images every turn) with the same
greedy tokens as ``model.generate()`` on the full conversation, with prefix reuse and without;
``serve`` answers chat-completions requests with images and the ``openai`` backend gets the
same reply through it; LoRA SFT lowers the loss, changes only adapter weights, and the merged
model's outputs equal the adapter model's; ``freeze_vision`` freezes the vision tower; one
GRPO step changes the weights; save -> load keeps outputs.
"""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest

pytest.importorskip('trl')
pytest.importorskip('peft')
torch = pytest.importorskip('torch')

from ego_reasoner_ros.core.policy import PolicyInput, make_policy  # noqa: E402

pytestmark = pytest.mark.training

NEW_TOKENS = 6
TURNS = 10


@pytest.fixture(scope='module')
def expert_episode(probe_data):
    """The first 10 turns of a probe-expert trajectory: (prompt history, expert reply) pairs."""
    from ego_reasoner_ros.training.train_data import load_sft_dataset

    rows = [r for r in load_sft_dataset(probe_data / 'sharegpt')
            if sum(m['role'] == 'assistant' for m in r['messages']) >= TURNS]
    assert rows, 'the probe expert wrote no 10-turn episode'
    row = rows[0]
    images = iter(row['images'])
    convo = []
    for msg in row['messages']:
        blocks = [{'type': 'image', 'image': next(images)} if b['type'] == 'image'
                  else {'type': 'text', 'text': b['text']} for b in msg['content']]
        convo.append({'role': msg['role'], 'content': blocks})
    turns = [convo[:i] for i, m in enumerate(convo) if m['role'] == 'assistant'][:TURNS]
    assert all(any(b['type'] == 'image' for b in t[-1]['content']) for t in turns[:1])
    return turns


@pytest.fixture(scope='module')
def corpus(probe_data):
    from ego_reasoner_ros.training.train_data import corpus_from_rows, load_rows

    return list(corpus_from_rows(load_rows(probe_data / 'sharegpt')))


@pytest.fixture(scope='module')
def sft_data(tmp_path_factory):
    from ego_reasoner_ros.training.train_data import write_synthetic_sharegpt

    return write_synthetic_sharegpt(tmp_path_factory.mktemp('fam_data'), 2, turns=2,
                                    image_size=(56, 84))


def _engines(model, processor):
    from ego_reasoner_ros.training.backends.generation import GenerationSettings
    from ego_reasoner_ros.training.backends.hf import HFEngine

    settings = GenerationSettings(max_new_tokens=NEW_TOKENS)
    reuse = HFEngine(model, processor, settings)
    plain = HFEngine(model, processor, settings, reuse_prefix=False)
    for eng in (reuse, plain):
        eng.stop_ids = set()  # every turn generates NEW_TOKENS tokens
    return reuse, plain


def _reference(engine, history) -> list[int]:
    """transformers' greedy ``generate`` on the processor's encoding of the whole history."""
    enc = engine.encode(history)
    out = engine.model.generate(**enc, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                do_sample=False)
    return out[0, enc['input_ids'].shape[1]:].tolist()


def _logits(model, engine, history):
    with torch.no_grad():
        return model(**engine.encode(history)).logits[0, -8:]


def _changed(a, b) -> list[str]:
    sb = b.state_dict()
    return [n for n, t in a.state_dict().items() if not torch.equal(t, sb[n])]


def _check_replay(spec, model, processor, episode):
    reuse, plain = _engines(model, processor)
    assert reuse.can_reuse == spec.prefix_reuse
    distinct = set()
    for history in episode:
        ref = _reference(plain, history)
        got, fresh = reuse.generate(history), plain.generate(history)
        assert got.token_ids == ref, f'turn {len(history)}: reuse differs from generate()'
        assert fresh.token_ids == ref, f'turn {len(history)}: engine differs from generate()'
        assert got.prompt_tokens == fresh.prompt_tokens == plain.encode(history)[
            'input_ids'].shape[1]
        distinct.add(tuple(ref))
        if spec.prefix_reuse and history is not episode[0]:
            # only the new turn (plus the last reply's tail) is run through the model
            assert got.reused_tokens > 0 and got.prefill_tokens * 3 < got.prompt_tokens
        else:
            assert got.reused_tokens == 0
    assert len(distinct) > 2, 'the random model answers every turn alike: a weak check'


def _check_serve(model, processor, episode):
    import ego_reasoner_ros.training.backends  # noqa: F401  (registers the prefixes)
    from ego_reasoner_ros.core import images as imgs
    from ego_reasoner_ros.training.serve import ChatServer

    reuse, plain = _engines(model, processor)
    reuse.stop_ids = set(plain.stop_ids)
    with ChatServer(reuse, 'tiny-family', port=0).start() as server:
        policy = make_policy(f'openai:{server.base_url}', max_tokens=NEW_TOKENS, timeout=120,
                             temperature=0)
        for step, history in enumerate(episode[:3], start=1):
            text = policy.act(PolicyInput(messages=history, images=[], instruction='x',
                                          step=step))
            assert text == plain.generate(history).text
        # a raw request with data: URL images
        history = episode[1]
        messages = []
        for msg in history:
            blocks = []
            for b in msg['content']:
                if b['type'] == 'image':
                    png = imgs.encode_png(b['image'])
                    url = 'data:image/png;base64,' + base64.b64encode(png).decode()
                    blocks.append({'type': 'image_url', 'image_url': {'url': url}})
                else:
                    blocks.append(b)
            messages.append({'role': msg['role'], 'content': blocks})
        body = json.dumps({'model': 'tiny-family', 'messages': messages,
                           'max_tokens': NEW_TOKENS, 'temperature': 0}).encode()
        req = urllib.request.Request(f'{server.base_url}/chat/completions', data=body,
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=120) as resp:
            answer = json.loads(resp.read())
        assert answer['choices'][0]['message']['content'] == plain.generate(history).text
        assert answer['usage']['prompt_tokens'] == plain.encode(history)['input_ids'].shape[1]


def _check_lora_sft_and_merge(spec, model_dir, sft_data, out, episode):
    import peft

    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.sft import load_config, run_sft

    targets = '[' + ', '.join(spec.lora_targets) + ']'
    cfg = load_config('training/configs/tiny_sft.yaml', [
        f'model={model_dir}', f'data={sft_data}', f'output_dir={out}', 'max_steps=6',
        'learning_rate=2e-2', 'warmup_ratio=0', 'lr_scheduler_type=constant',
        'gradient_accumulation_steps=1', 'per_device_train_batch_size=2', 'logging_steps=1',
        'save_steps=6', 'limit=2', 'torch_threads=2',
        f'lora={{r: 4, alpha: 8, dropout: 0.0, target_modules: {targets}}}'])
    summary = run_sft(cfg)
    assert summary['global_step'] == 6
    losses = [e['loss'] for e in json.loads((out / 'log_history.json').read_text())
              if 'loss' in e]
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.3, losses
    base, processor = load_model_and_processor(model_dir, attn_implementation='eager')
    merged, _ = load_model_and_processor(summary['final'], attn_implementation='eager')
    changed = _changed(base, merged)
    assert changed, 'LoRA training changed nothing'
    # only the adapted projections of the language model changed (merged into them)
    for name in changed:
        assert 'language_model' in name and name.rsplit('.', 2)[-2] in spec.lora_targets, name
    adapter_dir = out / 'checkpoint-6'
    saved = json.loads((adapter_dir / 'adapter_config.json').read_text())
    assert saved['peft_type'] == 'LORA'
    with_adapter = peft.PeftModel.from_pretrained(base, adapter_dir).eval()
    trainable = [n for n, p in with_adapter.named_parameters() if 'lora_' in n]
    assert trainable
    from ego_reasoner_ros.training.backends.hf import HFEngine

    engine = HFEngine(merged, processor)
    for history in episode[:2]:
        a, b = _logits(with_adapter, engine, history), _logits(merged, engine, history)
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-3 * float(a.abs().max()))
    # the merged model decodes what the adapter model decodes
    history = episode[1]
    enc = engine.encode(history)
    kw = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    assert torch.equal(with_adapter.generate(**enc, **kw), merged.generate(**enc, **kw))
    return summary['final']


def _check_freeze_vision(model_dir, sft_data, out):
    from ego_reasoner_ros.training.sft import load_config, prepare_model

    cfg = load_config('training/configs/tiny_sft.yaml', [
        f'model={model_dir}', f'data={sft_data}', f'output_dir={out}', 'freeze_vision=true'])
    model, _ = prepare_model(cfg)
    vision = ('visual', 'vision_tower', 'multi_modal_projector')
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    assert not any(v for n, v in flags.items() if any(k in n for k in vision))
    assert any(not v for n, v in flags.items()) and all(
        v for n, v in flags.items() if 'language_model' in n)


def _check_grpo(model_dir, sft_data, out):
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig, run_grpo
    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.sft import load_config

    cfg = load_config('training/configs/tiny_grpo.yaml', [
        f'model={model_dir}', f'data={sft_data}', f'output_dir={out}', 'max_steps=1',
        'learning_rate=1e-2', 'warmup_ratio=0', 'per_device_train_batch_size=2',
        'num_generations=2',
        'max_completion_length=6', 'logging_steps=1', 'limit=1',
        'rewards={format: 0.5, imitation: 1.0}', 'save_steps=100', 'torch_threads=2'],
        GRPOTrainConfig)

    def alternating_reward(completions, **kwargs):
        # differs inside every group, so the advantages (and the gradient) are non-zero
        return [float(i % 2) for i in range(len(completions))]

    summary = run_grpo(cfg, extra_rewards=[(alternating_reward, 1.0)])
    assert summary['global_step'] == 1
    history = json.loads((out / 'log_history.json').read_text())
    assert any('reward' in e for e in history)
    before, _ = load_model_and_processor(model_dir)
    after, _ = load_model_and_processor(summary['final'])
    assert type(after) is type(before) and _changed(before, after)


def _check_save_load(model, processor, tmp, episode):
    from ego_reasoner_ros.training.processor import load_model_and_processor

    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    again, proc2 = load_model_and_processor(tmp, attn_implementation='eager')
    assert type(again) is type(model) and type(proc2) is type(processor)
    a, _ = _engines(model, processor)
    b, _ = _engines(again, proc2)
    for history in (episode[0], episode[-1]):
        assert torch.equal(b.encode(history)['input_ids'], a.encode(history)['input_ids'])
        assert torch.equal(_logits(again, b, history), _logits(model, a, history))
        assert b.generate(history).token_ids == a.generate(history).token_ids


@pytest.mark.parametrize('name', ['qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'qwen3_5', 'gemma3'])
def test_family(name, expert_episode, corpus, sft_data, tmp_path):
    from ego_reasoner_ros.training.families import build_tiny_family, family
    from ego_reasoner_ros.training.processor import load_model_and_processor

    torch.set_num_threads(2)
    spec = family(name)
    model_dir = build_tiny_family(tmp_path / 'init', name, corpus)
    model, processor = load_model_and_processor(model_dir, attn_implementation='eager',
                                                dtype='float32')
    assert type(model).__name__ == spec.model_class
    assert model.config.model_type == spec.model_type
    _check_replay(spec, model, processor, expert_episode)
    _check_serve(model, processor, expert_episode)
    _check_lora_sft_and_merge(spec, model_dir, sft_data, tmp_path / 'sft', expert_episode)
    _check_freeze_vision(model_dir, sft_data, tmp_path / 'frozen')
    _check_grpo(model_dir, sft_data, tmp_path / 'grpo')
    _check_save_load(model, processor, tmp_path / 'saved', expert_episode)


REAL_SIZE = ('qwen2_5vl_3b', 'qwen2_5vl_7b', 'qwen3vl_4b', 'qwen3vl_8b')


@pytest.mark.parametrize('key', REAL_SIZE)
def test_real_size_configs_are_valid(key):
    """The one-GPU LoRA SFT / GRPO recipes (not run here) load, and their vLLM keys exist."""
    import dataclasses

    import trl
    import yaml

    from ego_reasoner_ros.training.grpo import GRPOTrainConfig
    from ego_reasoner_ros.training.sft import TrainConfig, load_config

    sft = load_config(f'training/configs/{key}_lora_sft.yaml')
    assert isinstance(sft, TrainConfig) and sft.lora and sft.bf16
    grpo = load_config(f'training/configs/{key}_lora_grpo.yaml', (), GRPOTrainConfig)
    assert grpo.model == f'{sft.output_dir}/final' and grpo.lora
    known = {f.name for f in dataclasses.fields(trl.GRPOConfig)}
    assert set(grpo.trainer) <= known
    assert grpo.trainer['use_vllm'] and grpo.trainer['vllm_mode'] in ('colocate', 'server')
    for name in (f'{key}_lora_sft', f'{key}_lora_grpo'):
        text = open(f'training/configs/{name}.yaml', encoding='utf-8').read()
        assert yaml.safe_load(text)['note'] == 'not run on this machine'
        assert 'Memory estimate' in text


def test_qwen3_vl_vllm_policy_config():
    import inspect

    import yaml

    from ego_reasoner_ros.training.backends.vllm_backend import VLLMPolicy

    spec = yaml.safe_load(open('training/configs/qwen3vl_8b_vllm_policy.yaml',
                               encoding='utf-8'))
    assert spec['policy'].startswith('vllm:Qwen/Qwen3-VL-')
    own = set(inspect.signature(VLLMPolicy.__init__).parameters) - {'self', 'engine_kwargs'}
    engine_args = {'gpu_memory_utilization', 'dtype', 'mm_processor_kwargs'}  # vllm.LLM's
    assert set(spec['policy_args']) <= own | engine_args
