# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Human approval on ``executor/approval`` before manipulations on the robot backend.

``approval_verbs`` lists the verbs that wait; each waits for ``{action_id, approved}`` on
``executor/approval`` up to ``approval_timeout_s`` and reaches the manipulation service only
after ``approved: true``.
"""

from __future__ import annotations

import time

import pytest

from robot_graph import robot_graph
from ros_graph_helpers import wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]

# Long enough that the approval test (a pause, a stray answer, the real one) finishes well
# inside it on a loaded machine; the time-out test waits it out once.
TIMEOUT_S = 5.0


@pytest.fixture(scope='module')
def graph(ros_env, tmp_path_factory):
    with robot_graph(ros_env, tmp_path_factory.mktemp('approval'), nav_duration=0.2,
                     executor_params={'approval_verbs': ['pickup', 'open'],
                                      'approval_timeout_s': TIMEOUT_S}) as g:
        yield g


def _waiting(graph, aid):
    wait_until(lambda: f'waiting for approval of {aid}' in graph.out.text(), 10,
               f'{aid} to wait for approval')


def _calls(graph, service):
    return [e for e in graph.events('service') if e['service'] == service]


def test_approved_manipulation_runs_only_after_the_approval(graph):
    aid = graph.send('pickup', 'Mug')
    _waiting(graph, aid)
    time.sleep(0.5)
    assert _calls(graph, 'manipulation/pickup') == [], 'nothing runs before the approval'
    assert graph.probe.get('executor/result', action_id=aid) == []
    graph.approve('not/this/one', True)  # an answer for another action changes nothing
    wait_until(lambda: 'approval for not/this/one matches no pending action'
               in graph.out.text(), 10, 'the stray approval to be ignored')
    assert _calls(graph, 'manipulation/pickup') == []
    t_approve = time.time_ns()
    graph.approve(aid, True)
    res = graph.result(aid)
    assert res['status'] == 'succeeded' and res['feedback'] == 'done Mug_1'
    calls = _calls(graph, 'manipulation/pickup')
    assert len(calls) == 1 and calls[0]['request']['string_value'] == 'Mug_1'
    assert calls[0]['t_ns'] > t_approve


def test_rejected_manipulation_never_reaches_the_robot(graph):
    aid = graph.send('open', 'Fridge')
    _waiting(graph, aid)
    graph.approve(aid, False)
    res = graph.result(aid)
    assert res['status'] == 'rejected' and res['success'] is False
    assert res['feedback'] == 'open Fridge was not approved'
    time.sleep(0.3)
    assert _calls(graph, 'manipulation/open_by_type') == []


def test_unanswered_approval_times_out_and_the_executor_goes_on(graph):
    t0 = time.monotonic()
    aid = graph.send('open', 'Cabinet')
    _waiting(graph, aid)
    res = graph.result(aid, timeout=TIMEOUT_S + 10)
    assert time.monotonic() - t0 >= TIMEOUT_S * 0.9, 'rejected only once the wait ran out'
    assert res['status'] == 'rejected' and res['feedback'] == 'open Cabinet was not approved'
    graph.approve(aid, True)  # a late answer is ignored
    wait_until(lambda: f'approval for {aid} matches no pending action' in graph.out.text(),
               10, 'the late approval to be ignored')
    assert _calls(graph, 'manipulation/open_by_type') == []
    # not busy, not stuck: navigation needs no approval and runs at once
    nav = graph.send('navigate to', 'Cabinet')
    assert graph.result(nav)['status'] == 'succeeded'
    assert f'waiting for approval of {nav}' not in graph.out.text()


def test_estop_rejects_a_pending_approval(graph):
    aid = graph.send('open', 'Cabinet')
    _waiting(graph, aid)
    graph.estop(True)
    res = graph.result(aid)
    assert res['status'] == 'rejected' and res['success'] is False
    graph.approve(aid, True)
    time.sleep(0.3)
    assert _calls(graph, 'manipulation/open_by_type') == []
    graph.estop(False)
    wait_until(lambda: 'e-stop released' in graph.out.text(), 10, 'the release')
