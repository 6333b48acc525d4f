# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Prompt builder, message converters, image helpers and the policy registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ego_reasoner_ros.core import images as imgs
from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.parser import InvalidOutput, InvalidReason
from ego_reasoner_ros.core.policy import (
    Policy,
    PolicyError,
    PolicyInput,
    ScriptedPolicy,
    UnknownPolicyError,
    make_policy,
    register_policy,
    registered_policies,
    unregister_policy,
)
from ego_reasoner_ros.core.prompts import (
    FEEDBACK_TOKEN,
    IMAGE_PLACEHOLDER,
    PROMPT_VERSION,
    THOUGHT_TAGS,
    PromptBuilder,
    PromptConfig,
)

RNG = np.random.default_rng(11)


def frame(h=5, w=7):
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def texts(msg):
    return [b['text'] for b in msg['content'] if b['type'] == 'text']


def kinds(msg):
    return [b['type'] for b in msg['content']]


def test_system_message_and_version():
    msg = PromptBuilder().system_message()
    assert msg['role'] == 'system' and kinds(msg) == ['text']
    assert PROMPT_VERSION


@pytest.mark.parametrize('style,put,absent', [('local', '- put <object>', 'put in <object>'),
                                              ('api', '- put in <object>', '- put <object>')])
def test_first_turn_holds_image_instruction_menu_and_format(style, put, absent):
    builder = PromptBuilder(PromptConfig(menu_style=style))
    img = frame()
    msg = builder.first_turn('Find the Apple.', [img])
    assert msg['role'] == 'user' and kinds(msg) == ['image', 'text']
    assert msg['content'][0]['image'] is img
    text = texts(msg)[0]
    assert 'Find the Apple.' in text
    menu = [line for line in text.splitlines() if line.startswith('- ')]
    assert len(menu) == 9
    assert put in text and absent not in text
    for cmd in ('navigate to <object>', 'pickup <object>', 'toggle <object>', 'open <object>',
                'close <object>', 'observe', 'move forward', 'end'):
        assert any(line.startswith(f'- {cmd}') for line in menu), cmd
    assert '<DecisionMaking>' in text and '</DecisionMaking>' in text
    for tag in THOUGHT_TAGS:
        assert f'<{tag}>' in text


def test_task_last_layout_and_legacy_records():
    new = texts(PromptBuilder().first_turn('Find the Apple.', [frame()]))[0]
    old = texts(PromptBuilder(PromptConfig(task_last=False)).first_turn(
        'Find the Apple.', [frame()]))[0]
    assert new.endswith('\n\nTask: Find the Apple.')
    assert old.splitlines()[1] == 'Task: Find the Apple.' and not old.endswith('Apple.')
    assert sorted(filter(None, new.splitlines())) == sorted(filter(None, old.splitlines()))
    # a config stored before task_last existed (ego-er-prompt-1) reads as the old layout
    assert PromptConfig.from_dict({'menu_style': 'local'}).task_last is False
    assert PromptConfig.from_dict(PromptConfig().to_dict()) == PromptConfig()
    with pytest.raises(ValueError, match='task_last'):
        PromptConfig(task_last='yes')


def test_first_turn_rejects_empty_instruction_and_bad_images():
    with pytest.raises(ValueError):
        PromptBuilder().first_turn('  ', [frame()])
    with pytest.raises(TypeError):
        PromptBuilder().first_turn('Find it.', frame())  # a bare array, not a list


def test_observe_gloss_follows_composite_flag():
    separate = PromptBuilder(PromptConfig()).menu_text()
    composite = PromptBuilder(PromptConfig(observe_as_composite=True)).menu_text()
    assert 'three pictures' in separate and 'panorama' in composite


def test_after_success_one_block_per_image_and_names_action():
    builder = PromptBuilder()
    msg = builder.after_success(Action(Verb.PICKUP, 'Apple'), [frame()])
    assert kinds(msg) == ['image', 'text'] and 'pickup Apple' in texts(msg)[0]
    views = [frame(), frame(), frame()]
    msg = builder.after_success(Action(Verb.OBSERVE), views)
    assert kinds(msg) == ['image'] * 3 + ['text']
    assert [b['image'] for b in msg['content'][:3]] == views
    assert 'left' in texts(msg)[0] and 'right' in texts(msg)[0]
    msg = builder.after_success(Action(Verb.MOVE_FORWARD), [frame()])
    assert 'navigate to' in texts(msg)[0]


def test_after_failure_is_text_only_with_feedback_token():
    action = Action(Verb.OPEN, 'Fridge')
    msg = PromptBuilder().after_failure(action, 'The Fridge is not in reach.')
    assert kinds(msg) == ['text']
    text = texts(msg)[0]
    assert text.startswith(FEEDBACK_TOKEN)
    assert 'open Fridge' in text and 'The Fridge is not in reach.' in text
    plain = PromptBuilder(PromptConfig(include_feedback_token=False)).after_failure(action, '')
    assert FEEDBACK_TOKEN not in texts(plain)[0]


def test_after_invalid_quotes_reason():
    inv = InvalidOutput(InvalidReason.NO_DECISION_TAG, 'no decision block found')
    msg = PromptBuilder().after_invalid(inv)
    assert kinds(msg) == ['text']
    assert 'no decision block found' in texts(msg)[0]
    assert '<DecisionMaking>' in texts(msg)[0]
    assert PromptBuilder.assistant('hi') == {'role': 'assistant',
                                             'content': [{'type': 'text', 'text': 'hi'}]}


def _conversation():
    b = PromptBuilder()
    a, c = frame(), frame()
    msgs = [b.system_message(), b.first_turn('Find the Apple.', [a]),
            b.assistant('<DecisionMaking>observe</DecisionMaking>'),
            b.after_success(Action(Verb.OBSERVE), [c, c, a])]
    return msgs, [a, c, c, a]


def test_to_openai_messages_uses_lossless_data_urls():
    msgs, images = _conversation()
    out = PromptBuilder.to_openai_messages(msgs)
    urls = [b['image_url']['url'] for m in out for b in m['content']
            if b['type'] == 'image_url']
    assert len(urls) == 4 and all(u.startswith('data:image/png;base64,') for u in urls)
    for url, img in zip(urls, images, strict=True):
        np.testing.assert_array_equal(imgs.to_numpy(url), img)
    assert [texts(m) for m in out] == [texts(m) for m in msgs]
    assert msgs[1]['content'][0]['type'] == 'image'  # input untouched
    cache = {}
    cached = PromptBuilder.to_openai_messages(msgs, cache=cache)
    assert cached == out and len(cache) == 2  # two distinct image objects
    assert PromptBuilder.to_openai_messages(msgs, cache=cache) == out
    json.dumps(out)


def test_to_sharegpt_and_text_only():
    msgs, _ = _conversation()
    paths = ['i0.png', 'i1.png', 'i2.png', 'i3.png']
    row = PromptBuilder.to_sharegpt(msgs, paths)
    assert row['images'] == paths
    assert [m['role'] for m in row['messages']] == ['system', 'user', 'assistant', 'user']
    assert row['messages'][1]['content'].startswith(IMAGE_PLACEHOLDER)
    assert sum(m['content'].count(IMAGE_PLACEHOLDER) for m in row['messages']) == 4
    with pytest.raises(ValueError, match='image'):
        PromptBuilder.to_sharegpt(msgs, paths[:3])
    blank = PromptBuilder.messages_text_only(msgs)
    assert PromptBuilder.count_images(blank) == 0
    assert sum(texts(m).count('[image]') for m in blank) == 4


def test_prompt_config_validation_and_round_trip():
    with pytest.raises(ValueError, match='menu_style'):
        PromptConfig(menu_style='remote')
    with pytest.raises(ValueError):
        PromptConfig(observe_as_composite='yes')
    cfg = PromptConfig(menu_style='api', observe_as_composite=True)
    assert PromptConfig.from_dict(cfg.to_dict()) == cfg


# ------------------------------------------------------------------- images
def test_image_conversions_are_lossless():
    img = frame(6, 9)
    np.testing.assert_array_equal(imgs.decode_png(imgs.encode_png(img)), img)
    np.testing.assert_array_equal(imgs.to_numpy(imgs.to_pil(img)), img)
    rgba = np.concatenate([img, np.full((6, 9, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(imgs.to_numpy(rgba), img)
    assert imgs.to_numpy(np.zeros((4, 4), np.uint8)).shape == (4, 4, 3)
    with pytest.raises(ValueError):
        imgs.to_numpy(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        imgs.to_numpy(42)


def test_image_files_and_data_urls(tmp_path):
    img = frame()
    path = imgs.save_png(img, tmp_path / 'a.png')
    np.testing.assert_array_equal(imgs.load_png(path), img)
    np.testing.assert_array_equal(imgs.to_numpy(str(path)), img)
    url = imgs.data_url(path)
    assert imgs.data_url(url) == url
    np.testing.assert_array_equal(imgs.to_numpy(url), img)
    with pytest.raises(FileNotFoundError):
        imgs.load_png(tmp_path / 'missing.png')


def test_observe_composite_layout():
    left, back, right = (np.full((45, 80, 3), v, np.uint8) for v in (50, 100, 150))
    comp = imgs.observe_composite(left, back, right, labels=None)
    assert comp.shape == (45, 80 * 3 + 10, 3)  # 800x450 frames would give 2410x450
    assert (comp[:, 80:85] == 0).all() and (comp[:, 165:170] == 0).all()
    assert (comp[:, :80] == 50).all() and (comp[:, 85:165] == 100).all()
    assert (comp[:, 170:] == 150).all()
    labelled = imgs.observe_composite(left, back, right)
    assert labelled.shape == comp.shape
    assert not np.array_equal(labelled[:15], comp[:15])  # the labels are drawn at the top
    np.testing.assert_array_equal(labelled[-5:], comp[-5:])
    with pytest.raises(ValueError, match='height'):
        imgs.observe_composite(left, back, np.zeros((10, 80, 3), np.uint8))


# ------------------------------------------------------------------- policy
def test_scripted_policy_replays_and_rewinds():
    policy = ScriptedPolicy(['a', 'b'])
    inp = PolicyInput(messages=[], images=[], instruction='x', step=1)
    assert [policy.act(inp), policy.act(inp)] == ['a', 'b']
    with pytest.raises(PolicyError, match='ran out'):
        policy.act(inp)
    policy.reset('x')
    assert policy.act(inp) == 'a' and len(policy.seen) == 1
    assert ScriptedPolicy([], when_exhausted='end').act(inp) == 'end'
    with pytest.raises(TypeError):
        ScriptedPolicy('abc')


def test_policy_registry(tmp_path):
    class Echo(Policy):
        def __init__(self, arg, **kwargs):
            self.name, self.arg, self.kwargs = 'echo', arg, kwargs

        def act(self, inp):
            return self.arg

    register_policy('echo-test')(Echo)
    try:
        assert 'echo-test' in registered_policies()
        pol = make_policy('echo-test:http://h:8000/v1#m', temperature=0.1)
        assert pol.arg == 'http://h:8000/v1#m' and pol.kwargs == {'temperature': 0.1}
        assert make_policy('echo-test').arg is None
    finally:
        unregister_policy('echo-test')
    with pytest.raises(UnknownPolicyError, match="Known policies: .*scripted"):
        make_policy('echo-test:x')
    with pytest.raises(ValueError):
        register_policy('bad:name', Echo)

    script = tmp_path / 'script.json'
    end = '<DecisionMaking>end</DecisionMaking>'
    script.write_text(json.dumps([end]))
    pol = make_policy(f'scripted:{script}')
    assert isinstance(pol, ScriptedPolicy) and pol.outputs == [end]
    assert make_policy('scripted', outputs=['x']).outputs == ['x']

    register_policy('not-a-policy', lambda arg, **kw: object())
    try:
        with pytest.raises(TypeError, match='not a Policy'):
            make_policy('not-a-policy')
    finally:
        unregister_policy('not-a-policy')
