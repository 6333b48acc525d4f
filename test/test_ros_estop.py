# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""E-stop on the robot backend: a running NavigateToPose goal is cancelled, nothing else moves.

The stand-in navigation server's goals last 3 s and honour cancel requests. The cancel
latency target (100 ms) is measured by ``benchmarks/bench_estop.py``; here the bound only
separates "cancelled by the e-stop" from "ran to its end".
"""

from __future__ import annotations

import time

import pytest

from robot_graph import robot_graph
from ros_graph_helpers import wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]

NAV_S = 3.0


@pytest.fixture(scope='module')
def graph(ros_env, tmp_path_factory):
    with robot_graph(ros_env, tmp_path_factory.mktemp('estop'), nav_duration=NAV_S) as g:
        yield g


def test_estop_cancels_the_goal_and_blocks_actions_until_released(graph):
    aid = graph.send('navigate to', 'Microwave')
    goal = graph.wait_event('goal')
    time.sleep(0.2)  # well inside the 3 s goal
    t_stop = graph.estop(True)
    cancel = graph.wait_event('cancel_request', lambda e: e['goal'] == goal['goal'])
    end = graph.wait_event('goal_end', lambda e: e['goal'] == goal['goal'])
    res = graph.result(aid)
    assert res['status'] == 'cancelled' and res['success'] is False
    assert 'e-stop' in res['feedback']
    assert end['status'] == 'canceled'
    latency_s = (cancel['t_ns'] - t_stop) / 1e9
    assert 0 <= latency_s < 1.0, f'cancel reached the server {latency_s:.3f} s after the e-stop'
    assert end['t_ns'] - goal['t_ns'] < NAV_S * 1e9, 'the goal did not run to its end'

    # while stopped: a manipulation and a navigation are both rejected, nothing reaches
    # the robot
    before = len(graph.events('goal')), len(graph.events('service'))
    for verb, target in (('pickup', 'Mug'), ('navigate to', 'Fridge')):
        res = graph.run(verb, target)
        assert res['status'] == 'rejected' and res['feedback'] == 'e-stop is active'
    time.sleep(0.5)
    assert (len(graph.events('goal')), len(graph.events('service'))) == before
    assert graph.events('service') == []

    # released: actions run again
    graph.estop(False)
    wait_until(lambda: 'e-stop released' in graph.out.text(), 10, 'the release')
    res = graph.run('pickup', 'Mug')
    assert res['status'] == 'succeeded'
    assert [e['request']['string_value'] for e in graph.events('service')] == ['Mug_1']
    res = graph.run('navigate to', 'Fridge', timeout=NAV_S + 15)
    assert res['status'] == 'succeeded'
    assert [e['status'] for e in graph.events('goal_end')] == ['canceled', 'succeeded']


def test_estop_during_observe_stops_the_remaining_turns(graph):
    n_goals = len(graph.events('goal'))
    aid = graph.send('observe')
    goal = wait_until(lambda: graph.events('goal')[n_goals:], 10, 'the first turn')[0]
    graph.estop(True)
    assert graph.result(aid)['status'] == 'cancelled'
    end = graph.wait_event('goal_end', lambda e: e['goal'] == goal['goal'])
    assert end['status'] == 'canceled'
    time.sleep(1.0)
    assert len(graph.events('goal')) == n_goals + 1, 'no further turn after the e-stop'
    graph.estop(False)
    wait_until(lambda: graph.out.text().count('e-stop released') >= 2, 10, 'the release')
