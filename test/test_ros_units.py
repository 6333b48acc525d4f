# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ROS-free pieces of the node graph: DDS guard, schemas, safety, semantic map, replay."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.nodes import dds, protocol
from ego_reasoner_ros.nodes.safety import ApprovalGate, RateLimiter, SafetyConfig, SafetyGate
from ego_reasoner_ros.nodes.semantic_map import SemanticMap
from ros_graph_helpers import CONFIG


# ------------------------------------------------------------------ DDS guard
def test_shipped_profile_is_localhost_only():
    ok, reason = dds.profile_is_localhost(dds.shipped_profile_path())
    assert ok, reason


def test_guard_refuses_test_and_demo_modes_without_localhost(monkeypatch, tmp_path):
    monkeypatch.delenv('FASTDDS_DEFAULT_PROFILES_FILE', raising=False)
    monkeypatch.delenv('FASTRTPS_DEFAULT_PROFILES_FILE', raising=False)
    monkeypatch.delenv('ROS_AUTOMATIC_DISCOVERY_RANGE', raising=False)
    for mode in ('test', 'demo'):
        with pytest.raises(dds.DDSConfigError, match='fastdds_localhost.xml'):
            dds.ensure_localhost_dds(mode)
    assert dds.ensure_localhost_dds('robot') == 'robot'
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    assert dds.ensure_localhost_dds('test') == 'test'


def test_guard_rejects_a_profile_that_multicasts(monkeypatch, tmp_path):
    monkeypatch.delenv('ROS_AUTOMATIC_DISCOVERY_RANGE', raising=False)
    monkeypatch.delenv('FASTRTPS_DEFAULT_PROFILES_FILE', raising=False)
    text = dds.shipped_profile_path().read_text()
    leaky = tmp_path / 'leaky.xml'
    leaky.write_text(text.replace('<useBuiltinTransports>false', '<useBuiltinTransports>true'))
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', str(leaky))
    with pytest.raises(dds.DDSConfigError, match='useBuiltinTransports'):
        dds.ensure_localhost_dds('demo')
    wide = tmp_path / 'wide.xml'
    wide.write_text(text.replace('<address>127.0.0.1</address>', '<address>10.0.0.5</address>',
                                 1))
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', str(wide))
    with pytest.raises(dds.DDSConfigError, match='loopback'):
        dds.ensure_localhost_dds('demo')
    with pytest.raises(dds.DDSConfigError, match='unknown DDS mode'):
        dds.ensure_localhost_dds('lab')


def test_localhost_env_and_domain_ids():
    env = dds.localhost_env(42, mode='test', base={'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'})
    assert env['ROS_DOMAIN_ID'] == '42' and env['EGO_REASONER_DDS_MODE'] == 'test'
    assert 'ROS_AUTOMATIC_DISCOVERY_RANGE' not in env
    assert env['FASTRTPS_DEFAULT_PROFILES_FILE'] == env['FASTDDS_DEFAULT_PROFILES_FILE']
    assert dds.localhost_confined(env)[0]
    a = dds.choose_domain_id(owner_pid=os.getpid())
    assert 1 <= a <= 100
    assert dds.choose_domain_id(owner_pid=os.getpid()) == a  # idempotent for its owner
    other = os.getppid()  # a live process holds a different id
    b = dds.choose_domain_id(owner_pid=other)
    assert b != a and 1 <= b <= 100
    dds.release_domain_id(b, owner_pid=other)


# ------------------------------------------------------------------ schemas
def test_protocol_validates_and_rejects():
    ok = {'action_id': 'a', 'task_id': 't', 'step': 1, 'verb': 'pickup', 'target': 'Mug'}
    assert protocol.decode('action', json.dumps(ok))['target'] == 'Mug'
    for bad, msg in [('{', 'malformed JSON'), ('[]', 'JSON object'),
                     (json.dumps({**ok, 'step': True}), "'step' must be int"),
                     (json.dumps({**ok, 'action_id': ' '}), 'must not be empty'),
                     (json.dumps({k: v for k, v in ok.items() if k != 'verb'}), "'verb'")]:
        with pytest.raises(protocol.SchemaError, match=msg):
            protocol.decode('action', bad)
    err = protocol.error_result('a', 't', 'nope')
    assert protocol.validate('result', err)['status'] == 'rejected'
    assert protocol.best_effort_ids('{"action_id": "x", "verb": 3}') == ('x', 'unknown')


# ------------------------------------------------------------------ safety
def test_safety_gate_allowlists_scene_and_rate():
    t = [0.0]
    gate = SafetyGate(SafetyConfig(allowed_verbs=['navigate to', 'pickup'],
                                   allowed_objects=['Mug', 'CounterTop'], max_actions=2,
                                   window_s=10.0), clock=lambda: t[0])
    assert not gate.check(Action('open', 'Fridge')).ok
    assert 'not allowed' in gate.check(Action('pickup', 'Knife')).reason
    assert 'not in the scene' in gate.check(Action('pickup', 'Mug'), ['Apple']).reason
    assert gate.check(Action('pickup', 'mug'), ['Mug']).ok
    assert gate.check(Action('navigate to', 'CounterTop')).ok
    assert 'rate limit' in gate.check(Action('navigate to', 'CounterTop')).reason
    t[0] = 10.5
    assert gate.check(Action('navigate to', 'CounterTop')).ok
    with pytest.raises(ValueError, match='unknown verbs'):
        SafetyConfig(allowed_verbs=['rm -rf'])


def test_rate_limiter_zero_is_unlimited_and_approval_gate():
    lim = RateLimiter(0, 1.0)
    assert all(lim.try_acquire() for _ in range(100))
    gate = ApprovalGate()
    gate.request('a1')
    assert gate.answer('a1', True)
    assert gate.wait('a1', 1.0) is True
    gate.request('a2')
    assert not gate.answer('zzz', True)
    gate.cancel_all()
    assert gate.wait('a2', 1.0) is False
    gate.request('a3')
    assert gate.wait('a3', 0.05) is False  # timeout = rejection


# ------------------------------------------------------------------ semantic map
def test_semantic_map_coffee_scenario():
    m = SemanticMap.load(CONFIG / 'semantic_map_example.yaml')
    assert m.types()[:3] == ['CounterTop', 'CoffeeMachine', 'Mug']
    mug = m.resolve('mug')
    assert mug.id == 'Mug_1'
    assert m.nav_pose(mug).x == 1.0  # reached through CoffeeMachine -> CounterTop
    assert m.legality('open', 'Mug') == (False, 'Mug cannot be opened')
    assert m.legality('pickup', 'Mug')[0]
    m.apply('navigate to', 'Mug')
    assert m.at == 'CounterTop_1'
    m.apply('pickup', 'Mug')
    assert m.held == 'Mug_1'
    assert m.legality('pickup', 'Cup') == (False, 'already holding Mug_1')
    m.apply('navigate to', 'Microwave')
    assert m.legality('put in', 'Microwave') == (False, 'Microwave is closed')
    m.apply('open', 'Microwave')
    assert m.legality('put in', 'Microwave')[0]
    m.apply('put in', 'Microwave')
    assert m.held is None and m.get('Mug_1').container == 'Microwave_1'
    assert not m.legality('pickup', 'Spaceship')[0]


# ------------------------------------------------------------------ replay
def test_replay_writes_html_and_gif(tmp_path):
    from ego_reasoner_ros.runtime.replay import ReplayStep, write_replay
    img = np.zeros((24, 32, 3), np.uint8)
    img[:, :16] = 255
    steps = [ReplayStep([img], '', 'init', 'initial view', True),
             ReplayStep([img, img], 'Look <around> & think', 'observe', '', True),
             ReplayStep([], 'Try', 'pickup Mug', 'Mug is too far', False)]
    paths = write_replay(steps, tmp_path, title='demo')
    html = paths.html.read_text()
    assert html.count('data:image/png;base64,') == 3
    assert 'Look &lt;around&gt; &amp; think' in html and 'Mug is too far' in html
    from PIL import Image
    with Image.open(paths.gif) as gif:
        assert gif.n_frames == 2
    with pytest.raises(TypeError):
        write_replay([1, 2], tmp_path)


def test_reasoner_wrappers_keep_the_policys_prompt_wording() -> None:
    """The node's wrappers forward ``prompt_config``, so the loop prompts the model as trained."""
    from ego_reasoner_ros.core.policy import ScriptedPolicy
    from ego_reasoner_ros.core.prompts import PromptConfig
    from ego_reasoner_ros.nodes.reasoner_node import _SlowPolicy, _ThoughtTap

    inner = ScriptedPolicy(['<DecisionMaking>end</DecisionMaking>'])
    inner.prompt_config = PromptConfig(restate_task=True)
    assert _ThoughtTap(inner, lambda step, raw: None).prompt_config.restate_task
    assert _SlowPolicy(inner, 0.0).prompt_config.restate_task
