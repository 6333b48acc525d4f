# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""hf backend (prefix reuse), tiny preset loader round trip, serve + openai backend."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip('trl')
torch = pytest.importorskip('torch')

from ego_reasoner_ros.core.actions import Action  # noqa: E402
from ego_reasoner_ros.core.policy import PolicyInput, make_policy  # noqa: E402
from ego_reasoner_ros.core.prompts import PromptBuilder  # noqa: E402

pytestmark = pytest.mark.training

TINY = dict(hidden=64, layers=2, heads=2, kv_heads=1, vision_depth=1, vision_width=32,
            vision_heads=2, image_size=112, vocab_size=600)


@pytest.fixture(scope='module')
def tiny_dir(tmp_path_factory):
    from ego_reasoner_ros.training.tiny import build_tiny

    corpus = [f'<Thinking>I look at object {i} near the Fridge and the CounterTop.</Thinking>'
              f'<DecisionMaking>navigate to Fridge</DecisionMaking>' for i in range(300)]
    return build_tiny(tmp_path_factory.mktemp('tiny'), corpus, **TINY)


@pytest.fixture(scope='module')
def engines(tiny_dir):
    from ego_reasoner_ros.training.backends.generation import GenerationSettings
    from ego_reasoner_ros.training.backends.hf import HFEngine

    reuse = HFEngine.from_pretrained(str(tiny_dir), settings=GenerationSettings(
        max_new_tokens=10), torch_threads=2)
    fresh = HFEngine(reuse.model, reuse.processor, reuse.settings, reuse_prefix=False)
    return reuse, fresh


def _frame(rng, h=60, w=100):
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def _episode_turns(rng, builder, n_turns):
    """Yield the growing conversation of an episode, one user turn at a time."""
    msgs = [builder.system_message(), builder.first_turn('find the apple', [_frame(rng)])]
    actions = ['observe', 'pickup Apple', 'navigate to Fridge', 'move forward']
    for t in range(n_turns):
        reply = yield msgs
        msgs.append(builder.assistant(reply))
        action = Action.parse_canonical(actions[t % len(actions)])
        if t % 3 == 1:
            msgs.append(builder.after_failure(action, 'it is too far away'))
        elif action.verb.value == 'observe':
            msgs.append(builder.after_success(action, [_frame(rng) for _ in range(3)]))
        else:
            msgs.append(builder.after_success(action, [_frame(rng)]))


@pytest.mark.parametrize('sample', [False, True])
def test_prefix_reuse_gives_identical_outputs(engines, sample):
    reuse, fresh = engines
    reuse.reset()
    overrides = {'do_sample': True, 'temperature': 1.0, 'seed': 7} if sample else {}
    rng = np.random.default_rng(1)
    convo = _episode_turns(rng, PromptBuilder(), 5)
    msgs = next(convo)
    reused_any = False
    for _ in range(5):
        a = reuse.generate(msgs, **overrides)
        b = fresh.generate(msgs, **overrides)
        assert a.token_ids == b.token_ids
        assert a.text == b.text
        assert b.reused_tokens == 0 and b.prefill_tokens == b.prompt_tokens
        assert a.prefill_tokens + a.reused_tokens == a.prompt_tokens
        reused_any |= a.reused_tokens > 0
        try:
            msgs = convo.send(a.text)
        except StopIteration:
            break
    assert reused_any
    # the last turn reused everything except the new turn
    assert a.prefill_tokens < a.prompt_tokens / 2


def test_greedy_matches_transformers_generate(engines):
    reuse, fresh = engines
    rng = np.random.default_rng(2)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('open the fridge', [_frame(rng)])]
    enc = fresh.encode(msgs)
    out = fresh.model.generate(**enc, max_new_tokens=10, do_sample=False)
    ours = fresh.generate(msgs)
    expected = out[0, enc['input_ids'].shape[1]:].tolist()
    assert ours.token_ids == expected[:len(ours.token_ids)]


def test_cache_falls_back_when_history_changes(engines):
    reuse, _fresh = engines
    reuse.reset()
    rng = np.random.default_rng(3)
    builder = PromptBuilder()
    first = [builder.system_message(), builder.first_turn('find the mug', [_frame(rng)])]
    reuse.generate(first)
    other = [builder.system_message(), builder.first_turn('find the pan', [_frame(rng)])]
    res = reuse.generate(other)
    # only the shared head (system turn, text before the instruction) can be reused
    assert 0 < res.reused_tokens < res.prompt_tokens
    assert res.prefill_tokens == res.prompt_tokens - res.reused_tokens


def test_hf_policy_through_registry(tiny_dir):
    import ego_reasoner_ros.training.backends  # noqa: F401  (registers the prefixes)

    policy = make_policy(f'hf:{tiny_dir}', max_new_tokens=6)
    rng = np.random.default_rng(4)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('find the apple', [_frame(rng)])]
    text = policy.act(PolicyInput(messages=msgs, images=[], instruction='x', step=1))
    assert isinstance(text, str)
    assert policy.last_result.completion_tokens <= 6


def test_loader_round_trip(tiny_dir, tmp_path):
    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.tiny import is_tiny_dir

    assert is_tiny_dir(tiny_dir)
    model, proc = load_model_and_processor(tiny_dir)
    assert type(proc).__name__ == 'Qwen2VLImageOnlyProcessor'
    assert proc.image_processor.size['longest_edge'] == TINY['image_size'] ** 2
    model.save_pretrained(tmp_path / 'copy')
    proc.save_pretrained(tmp_path / 'copy')
    model2, proc2 = load_model_and_processor(tmp_path / 'copy', max_pixels=56 * 56 * 4)
    for (name, p1), (_n, p2) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert torch.equal(p1, p2), name
    assert proc2.tokenizer.get_vocab() == proc.tokenizer.get_vocab()
    assert proc2.image_processor.size['longest_edge'] == 56 * 56 * 4
    msgs = [{'role': 'user', 'content': [{'type': 'image', 'image': _frame(
        np.random.default_rng(0), 112, 112)}, {'type': 'text', 'text': 'hi'}]}]
    from ego_reasoner_ros.training.backends.hf_inputs import normalize_messages

    norm, images = normalize_messages(msgs)
    text = proc2.apply_chat_template(norm, add_generation_prompt=True, tokenize=False)
    assert text.count('<|vision_start|><|image_pad|><|vision_end|>') == 1
    assert text.endswith('<|im_start|>assistant\n')
    enc = proc2(text=[text], images=images, return_tensors='pt')
    assert 'mm_token_type_ids' in enc and int(enc['image_grid_thw'].prod()) // 4 == int(
        (enc['input_ids'] == proc2.image_token_id).sum())


def test_openai_backend_against_serve(engines):
    import ego_reasoner_ros.training.backends  # noqa: F401
    from ego_reasoner_ros.training.serve import ChatServer

    reuse, fresh = engines
    reuse.reset()
    with ChatServer(reuse, 'tiny-test', port=0).start() as server:
        assert server.httpd.server_address[0] == '127.0.0.1'
        policy = make_policy(f'openai:{server.base_url}', max_tokens=10, timeout=60)
        assert policy.client.model == 'tiny-test'
        rng = np.random.default_rng(5)
        convo = _episode_turns(rng, PromptBuilder(), 2)
        msgs = next(convo)
        for turn in range(2):
            text = policy.act(PolicyInput(messages=msgs, images=[], instruction='x',
                                          step=turn + 1))
            # the served answer is the model's own greedy answer
            assert text == fresh.generate(msgs).text
            usage = policy.last_response['usage']
            assert usage['completion_tokens'] >= 1
            if turn:
                assert usage['prompt_tokens_details']['cached_tokens'] > 0
            try:
                msgs = convo.send(text)
            except StopIteration:
                break
        bad = urllib.request.Request(f'{server.base_url}/chat/completions',
                                     data=json.dumps({'messages': []}).encode(),
                                     headers={'Content-Type': 'application/json'})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad, timeout=30)
        assert err.value.code == 400


def test_openai_client_retries_then_fails():
    from ego_reasoner_ros.core.policy import PolicyError
    from ego_reasoner_ros.training.backends.openai_backend import OpenAIChatClient

    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    with pytest.raises(PolicyError, match='failed'):
        OpenAIChatClient(f'http://127.0.0.1:{port}/v1', 'm', timeout=2, max_retries=1,
                         backoff=0.01).chat([{'role': 'user', 'content': 'hi'}])


def test_vllm_backend_reports_missing_dependency():
    import importlib.util

    from ego_reasoner_ros.core.errors import MissingDependencyError
    import ego_reasoner_ros.training.backends  # noqa: F401

    if importlib.util.find_spec('vllm') is not None:
        pytest.skip('vllm is installed')
    with pytest.raises(MissingDependencyError, match='vllm'):
        make_policy('vllm:some/model')
