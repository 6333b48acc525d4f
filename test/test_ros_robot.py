# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The executor's robot backend against a real NavigateToPose server and real services.

``nav2_msgs`` is built from ``test/nav2_standin`` with the venv's rosidl wheels (cached; the
tests skip with the reason when that is impossible). The stand-in server, the manipulation
services and a camera run in one child process, the executor (``robot_executor.yaml``) in
another; every goal and request they receive is checked field by field.
"""

from __future__ import annotations

import math

import pytest

from ego_reasoner_ros.core.errors import MissingDependencyError
from ego_reasoner_ros.nodes.executor_backends import load_interface, load_nav2_action
from ego_reasoner_ros.nodes.semantic_map import SemanticMap
from robot_graph import SEMANTIC_MAP, robot_graph

pytestmark = [pytest.mark.ros, pytest.mark.slow]

SCENARIO = [('init', None), ('navigate to', 'Mug'), ('pickup', 'Mug'),
            ('navigate to', 'Microwave'), ('open', 'Microwave'), ('put', 'Microwave'),
            ('observe', None), ('pickup', 'Fridge'), ('navigate to', 'Spaceship')]


@pytest.fixture(scope='module')
def scenario(ros_env, tmp_path_factory):
    """Run SCENARIO once: per step the result and the stand-in events it caused."""
    steps = []
    with robot_graph(ros_env, tmp_path_factory.mktemp('robot'), nav_duration=0.3) as graph:
        for verb, target in SCENARIO:
            before = len(graph.events())
            res = graph.run(verb, target)
            events = [e for e in graph.events()[before:] if e['event'] != 'frame']
            steps.append({'verb': verb, 'target': target, 'result': res, 'events': events,
                          'frames': [e['stamp_ns'] for e in graph.events('frame')]})
        yield steps


def _step(steps, verb, target):
    return next(s for s in steps if (s['verb'], s['target']) == (verb, target))


def _kinds(step, kind):
    return [e for e in step['events'] if e['event'] == kind]


def _assert_pose(goal, x, y, yaw):
    pose = goal['pose']
    assert pose['frame_id'] == 'map'
    assert (pose['x'], pose['y'], pose['z']) == pytest.approx((x, y, 0.0))
    assert (pose['qx'], pose['qy']) == (0.0, 0.0)
    assert pose['qz'] == pytest.approx(math.sin(yaw / 2))
    assert pose['qw'] == pytest.approx(math.cos(yaw / 2))


def test_navigate_sends_the_semantic_map_pose_to_navigate_to_pose(scenario):
    nav = _step(scenario, 'navigate to', 'Microwave')
    assert nav['result']['status'] == 'succeeded' and nav['result']['success'] is True
    goals = _kinds(nav, 'goal')
    assert len(goals) == 1
    _assert_pose(goals[0], 2.5, 0.5, 1.5708)  # Microwave_1's own pose
    assert goals[0]['behavior_tree'] == ''
    assert goals[0]['pose']['stamp_ns'] > 0
    assert [e['status'] for e in _kinds(nav, 'goal_end')] == ['succeeded']
    # the Mug has no pose: it lies in the CoffeeMachine on CounterTop_1, so go there
    mug = _step(scenario, 'navigate to', 'Mug')
    _assert_pose(_kinds(mug, 'goal')[0], 1.0, 0.5, 0.0)
    assert mug['result']['status'] == 'succeeded'


def test_results_carry_a_frame_taken_after_the_motion_ended(scenario):
    for step in scenario:
        if step['verb'] != 'navigate to' or not step['result']['success']:
            continue
        end = _kinds(step, 'goal_end')[-1]['t_ns']
        stamps = step['result']['frame_stamps']
        assert len(stamps) == 1
        assert stamps[0] in step['frames'], 'the stamp of a frame the camera published'
        assert stamps[0] > end, 'the frame shows the robot after it arrived'


def test_manipulation_services_get_the_object_in_the_configured_field(scenario):
    pickup = _step(scenario, 'pickup', 'Mug')
    calls = _kinds(pickup, 'service')
    assert len(calls) == 1
    assert calls[0]['service'] == 'manipulation/pickup'
    assert calls[0]['type'] == 'test_msgs/srv/BasicTypes'
    assert calls[0]['request']['string_value'] == 'Mug_1'  # value: id
    assert pickup['result']['status'] == 'succeeded'
    assert pickup['result']['feedback'] == 'done Mug_1'  # message_field: string_value
    assert pickup['result']['frame_stamps'][0] > calls[0]['t_ns']
    assert not _kinds(pickup, 'goal'), 'no navigation for a manipulation'

    # open is configured (by parameters) onto another type: the object *type* in a string[]
    opened = _step(scenario, 'open', 'Microwave')
    calls = _kinds(opened, 'service')
    assert [(c['service'], c['type']) for c in calls] == [
        ('manipulation/open_by_type', 'rcl_interfaces/srv/GetParameters')]
    assert calls[0]['request'] == {'names': ['Microwave']}
    assert opened['result']['status'] == 'succeeded' and opened['result']['feedback'] == ''

    put = _step(scenario, 'put', 'Microwave')
    calls = _kinds(put, 'service')
    assert [c['service'] for c in calls] == ['manipulation/put']
    assert calls[0]['request']['string_value'] == 'Microwave_1'
    assert put['result']['success'] is True


def test_observe_turns_in_place_and_returns_three_still_views(scenario):
    obs = _step(scenario, 'observe', None)
    assert obs['result']['status'] == 'succeeded'
    goals = _kinds(obs, 'goal')
    ends = _kinds(obs, 'goal_end')
    assert len(goals) == 4 and [e['status'] for e in ends] == ['succeeded'] * 4
    base = 1.5708  # facing the Microwave, where the robot stands
    for goal, turn in zip(goals, (0.5, 1.0, 1.5, 2.0), strict=True):
        _assert_pose(goal, 2.5, 0.5, base + turn * math.pi)  # left, back, right, forward
    stamps = obs['result']['frame_stamps']
    assert len(stamps) == 3 and len(set(stamps)) == 3
    for i, stamp in enumerate(stamps):  # each view is taken between two turns
        assert ends[i]['t_ns'] < stamp < goals[i + 1]['t_ns']


def test_illegal_or_unknown_objects_never_reach_the_robot(scenario):
    fridge = _step(scenario, 'pickup', 'Fridge')
    assert fridge['result']['status'] == 'failed'
    assert 'cannot be picked up' in fridge['result']['feedback']
    assert fridge['events'] == []
    moon = _step(scenario, 'navigate to', 'Spaceship')
    assert moon['result']['status'] == 'rejected'
    assert "'Spaceship' is not in the scene" in moon['result']['feedback']
    assert moon['events'] == []
    legal = SemanticMap.load(SEMANTIC_MAP).types()
    assert fridge['result']['legal_objects'] == legal


def test_interface_loading_errors_are_clear():
    with pytest.raises(MissingDependencyError, match='nav2_msgs'):
        load_nav2_action()  # the stand-in is on the children's path only
    srv = load_interface('test_msgs/srv/BasicTypes')
    assert 'string_value' in srv.Request.get_fields_and_field_types()
    with pytest.raises(MissingDependencyError, match='no_such_pkg'):
        load_interface('no_such_pkg/srv/Thing')
    with pytest.raises(ValueError, match='no interface'):
        load_interface('test_msgs/srv/NoSuchService')
    with pytest.raises(ValueError, match='pkg/kind/Type'):
        load_interface('test_msgs/BasicTypes')
