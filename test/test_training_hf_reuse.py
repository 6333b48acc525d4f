# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""hf backend incremental work: image grid cache, incremental tokens/positions, KV buffers.

The engine builds each prompt from what it kept of the previous one (image grids by content,
the token ids up to the last turn start, the M-RoPE positions of the reused prefix). These
tests check every piece against the reference (the processor over the whole conversation,
``get_rope_index`` over the whole sequence, a fresh engine) along long episodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('transformers')
torch = pytest.importorskip('torch')

from ego_reasoner_ros.core.actions import Action  # noqa: E402
from ego_reasoner_ros.core.prompts import PromptBuilder  # noqa: E402

pytestmark = pytest.mark.training

SHIPPED = Path(__file__).resolve().parents[1] / 'models' / 'ego-reasoner-tiny'


@pytest.fixture(scope='module')
def engine():
    if not (SHIPPED / 'model.safetensors').is_file():
        pytest.skip('the shipped tiny checkpoint is not in this checkout')
    from ego_reasoner_ros.training.backends.generation import GenerationSettings
    from ego_reasoner_ros.training.backends.hf import HFEngine

    torch.set_num_threads(2)
    eng = HFEngine.from_pretrained(str(SHIPPED), settings=GenerationSettings(max_new_tokens=8))
    eng.stop_ids = set()  # every turn generates max_new_tokens, so the history grows
    return eng


def _twin(engine, **kwargs):
    """A new engine over the same weights (empty caches)."""
    from ego_reasoner_ros.training.backends.hf import HFEngine

    twin = HFEngine(engine.model, engine.processor, engine.settings, **kwargs)
    twin.stop_ids = set(engine.stop_ids)
    return twin


def _frame(rng, h=60, w=100):
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def _turn(builder, rng, t):
    """The user turn after decision ``t``: one frame, three (observe), or a failure text."""
    if t % 5 == 3:
        return builder.after_failure(Action.parse_canonical('pickup Apple'), 'too far away')
    if t % 4 == 1:
        return builder.after_success(Action.parse_canonical('observe'),
                                     [_frame(rng, 60, 100) for _ in range(3)])
    return builder.after_success(Action.parse_canonical('move forward'), [_frame(rng)])


def _play(engines, n_turns, seed=0, **overrides):
    """Play one episode on every engine in lockstep; return each engine's results."""
    rng = np.random.default_rng(seed)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('find the apple', [_frame(rng)])]
    results = [[] for _ in engines]
    for t in range(n_turns):
        for eng, out in zip(engines, results):
            out.append(eng.generate(msgs, **overrides))
        msgs.append(builder.assistant(results[0][-1].text))
        msgs.append(_turn(builder, rng, t))
    return results, msgs


@pytest.mark.parametrize('n_turns,overrides', [(20, {}), (6, {'repetition_penalty': 1.3})])
def test_long_episode_same_tokens_with_and_without_reuse(engine, n_turns, overrides):
    engine.reset()
    no_reuse = _twin(engine, reuse_prefix=False)
    (reused, plain), msgs = _play([engine, no_reuse], n_turns, **overrides)
    for a, b in zip(reused, plain):
        assert a.token_ids == b.token_ids
        assert a.prompt_tokens == b.prompt_tokens
        assert b.reused_tokens == 0
    assert all(r.reused_tokens > 0 for r in reused[1:])
    # late turns prefill only the new turn, a small part of the prompt
    assert reused[-1].prefill_tokens * 4 < reused[-1].prompt_tokens
    # a fresh engine (no grid cache, no token memo, no KV) agrees on the last turn
    fresh = _twin(engine).generate(msgs, **overrides)
    again = engine.generate(msgs, **overrides)
    assert fresh.token_ids == again.token_ids
    assert again.reused_tokens > 0 and fresh.reused_tokens == 0


def test_prompt_matches_processor_over_an_episode(engine):
    engine.reset()
    rng = np.random.default_rng(3)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('open the fridge', [_frame(rng)])]
    inner = engine.model.model
    for t in range(8):
        ref = engine.encode(msgs)
        prompt = engine._prepare(msgs)
        assert torch.equal(prompt.ids, ref['input_ids'])
        assert torch.equal(torch.tensor(prompt.grids), ref['image_grid_thw'])
        res = engine.generate(msgs)
        # positions: cached prefix + incremental part == get_rope_index over the whole prompt
        full, delta = inner.get_rope_index(ref['input_ids'], mm_token_type_ids=ref[
            'mm_token_type_ids'], image_grid_thw=ref['image_grid_thw'])
        length = res.prompt_tokens
        assert torch.equal(engine._cached_pos[:, :length], full[:, 0])
        generated = engine._cached_pos[:, length:]
        expect = torch.arange(length, length + generated.shape[1]) + int(delta)
        assert torch.equal(generated, expect.expand(3, -1))
        msgs.append(builder.assistant(res.text))
        msgs.append(_turn(builder, rng, t))
    # the pixels handed to the model for new images are the processor's rows
    twin = _twin(engine)
    msgs = [builder.system_message(),
            builder.first_turn('x', [_frame(rng, 120, 90), _frame(rng, 40, 300)])]
    prompt, ref = twin._prepare(msgs), twin.encode(msgs)
    assert len(prompt.pixels) == 2
    rows = torch.cat([prompt.pixels[key] for key in prompt.keys])
    assert torch.equal(rows, ref['pixel_values'])


def test_edited_history_falls_back_to_a_full_encoding(engine):
    engine.reset()
    rng = np.random.default_rng(4)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('find the mug', [_frame(rng)])]
    first = engine.generate(msgs)
    msgs += [builder.assistant(first.text), _turn(builder, rng, 0)]
    engine.generate(msgs)
    edited = [msgs[0], builder.first_turn('find the pan', [_frame(rng)])]
    assert torch.equal(engine._prepare(edited).ids, engine.encode(edited)['input_ids'])
    res = engine.generate(edited)
    assert res.token_ids == _twin(engine).generate(edited).token_ids


def test_same_tokens_other_pixels_is_not_reused(engine):
    """Two frames of one size give equal token ids: the cache must still tell them apart."""
    engine.reset()
    rng = np.random.default_rng(5)
    builder = PromptBuilder()
    frame_a, frame_b = _frame(rng), _frame(rng)
    msgs_a = [builder.system_message(), builder.first_turn('find the cup', [frame_a])]
    msgs_b = [builder.system_message(), builder.first_turn('find the cup', [frame_b])]
    engine.generate(msgs_a)
    res = engine.generate(msgs_b)
    span_start = engine._prepare(msgs_b).spans[0][0]
    assert res.reused_tokens <= span_start
    assert res.token_ids == _twin(engine).generate(msgs_b).token_ids
    # a frame changed in place gets a new key as well
    engine.generate(msgs_a)
    frame_a[:10] = 0
    res = engine.generate(msgs_a)
    assert res.reused_tokens <= span_start
    assert res.token_ids == _twin(engine).generate(msgs_a).token_ids


def test_image_key(tmp_path):
    from ego_reasoner_ros.core import images as imgs
    from ego_reasoner_ros.training.backends.hf_inputs import image_key

    rng = np.random.default_rng(6)
    frame = _frame(rng)
    assert image_key(frame) == image_key(frame.copy())
    other = frame.copy()
    other[0, 0, 0] ^= 1
    assert image_key(other) != image_key(frame)
    assert image_key(frame[:, ::-1]) != image_key(frame)  # non-contiguous views work
    assert image_key(imgs.to_pil(frame)) == image_key(imgs.to_pil(frame.copy()))
    url = imgs.data_url(frame)
    assert image_key(url) == image_key(str(url)) != image_key(imgs.data_url(other))
    path = imgs.save_png(frame, tmp_path / 'f.png')
    assert image_key(path) == image_key(str(path))
    with pytest.raises(FileNotFoundError):
        image_key(tmp_path / 'missing.png')
    with pytest.raises(TypeError):
        image_key(3.5)


def test_buffered_layer_matches_dynamic_layer():
    from transformers.cache_utils import DynamicLayer

    from ego_reasoner_ros.training.backends.hf_cache import buffered_layer_class

    ref, buf = DynamicLayer(), buffered_layer_class()()
    gen = torch.Generator().manual_seed(0)
    steps = [('add', 300), ('add', 1), ('crop', -5), ('add', 1), ('add', 400), ('crop', 0),
             ('crop', -200), ('add', 3)]
    for op, n in steps:
        if op == 'add':
            k, v = torch.randn(1, 2, n, 8, generator=gen), torch.randn(1, 2, n, 8, generator=gen)
            out_ref, out_buf = ref.update(k, v), buf.update(k, v)
            assert all(torch.equal(a, b) for a, b in zip(out_ref, out_buf))
        else:
            ref.crop(n)
            buf.crop(n)
        assert buf.get_seq_length() == ref.get_seq_length()
        assert torch.equal(buf.keys, ref.keys) and torch.equal(buf.values, ref.values)
    with pytest.raises(ValueError):
        buf.crop(3)
    buf.reset()
    assert buf.get_seq_length() == 0


def test_pixel_budget_change_drops_what_was_cached(engine):
    from ego_reasoner_ros.training.processor import set_max_pixels

    engine.reset()
    rng = np.random.default_rng(7)
    builder = PromptBuilder()
    msgs = [builder.system_message(), builder.first_turn('find the pan', [_frame(rng)])]
    engine.generate(msgs)
    size = dict(engine.processor.image_processor.size)
    try:
        set_max_pixels(engine.processor, max_pixels=56 * 56)
        prompt = engine._prepare(msgs)
        assert torch.equal(prompt.ids, engine.encode(msgs)['input_ids'])
        assert engine.cached_tokens == 0
    finally:
        set_max_pixels(engine.processor, max_pixels=size['longest_edge'],
                       min_pixels=size['shortest_edge'])
