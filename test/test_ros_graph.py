# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""End to end: sim bridge, reasoner and action executor as separate processes over DDS.

DDS stays on localhost (conftest sets the shipped profile and a per-run domain id).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ego_reasoner_ros.nodes.launcher import ProcessGroup
from ros_graph_helpers import (
    DATA,
    LockedBuffer,
    Probe,
    search_case,
    start_nodes,
    wait_until,
)

pytestmark = [pytest.mark.ros, pytest.mark.slow]

needs_data = pytest.mark.skipif(not (DATA / 'test_public.json').is_file(),
                                reason=f'Embodied-Reasoner data not found at {DATA}')

SCRIPT = [
    'The card may lie on the counter; I will go there first. '
    '<DecisionMaking>navigate to CounterTop</DecisionMaking>',
    'The CreditCard is on the CounterTop, the search is done. '
    '<DecisionMaking>end</DecisionMaking>',
]


def _sim_params() -> dict:
    return {'scenes_dir': str(DATA / 'scenes'), 'scene': 'FloorPlan1',
            'agent_positions': str(DATA / 'agent_positions.json'),
            'width': 320, 'height': 240, 'publish_rate_hz': 2.0}


@pytest.fixture(scope='module')
def graph(ros_env, tmp_path_factory):
    """The three nodes with a scripted policy, plus a probe node."""
    if not (DATA / 'test_public.json').is_file():
        pytest.skip(f'Embodied-Reasoner data not found at {DATA}')
    tmp = tmp_path_factory.mktemp('graph')
    script = tmp / 'script.json'
    script.write_text(json.dumps(SCRIPT))
    out = LockedBuffer()
    group = ProcessGroup(out)
    env = dict(ros_env, EGO_REASONER_DATA=str(DATA))
    start_nodes(group, env, {
        'sim_bridge': _sim_params(),
        'action_executor': {},
        'reasoner': {'policy': f'scripted:{script}', 'runs_dir': str(tmp / 'runs')},
    })
    probe = Probe('graph_probe')
    try:
        yield group, probe, out, tmp
    finally:
        probe.close()
        codes = group.stop()
        print(out.text()[-4000:])
        assert all(c is not None for c in codes.values()), 'a node process survived'


@needs_data
def test_task_runs_to_the_end_with_every_action_and_result_published(graph):
    group, probe, out, tmp = graph
    task = search_case()
    probe.send_task(task)
    final = probe.final_status('search', timeout=60)
    assert final['state'] == 'succeeded', final
    assert final['success'] is True

    actions = probe.get('reasoner/action', task_id='search')
    assert [(a['verb'], a.get('target')) for a in actions] == [
        ('init', None), ('navigate to', 'CounterTop')]
    assert actions[0]['scene'] == 'FloorPlan1'
    assert actions[0]['sim_task']['navigable_objects'] == task['sim_task']['navigable_objects']
    results = wait_until(lambda: (r := probe.get('executor/result', task_id='search'))
                         and len(r) >= 2 and r, 10, 'results')
    by_id = {r['action_id']: r for r in results}
    for a in actions:  # one result per action, matched by its id
        assert by_id[a['action_id']]['status'] == 'succeeded'
        assert by_id[a['action_id']]['frame_stamps'], 'a successful action produced frames'
    # A resent action (no result within action_resend_s) is answered again from the
    # executor's cache: same id, same outcome, never a second execution.
    assert set(by_id) == {a['action_id'] for a in actions}
    for r in results:
        assert r == by_id[r['action_id']]
    assert 'CounterTop' in by_id[actions[1]['action_id']]['scene_types']

    thoughts = probe.get('reasoner/thought', task_id='search')
    assert [t['thought'].strip() for t in thoughts] == [
        s.split('<DecisionMaking>')[0].strip() for s in SCRIPT]

    run_dir = Path(final['run_dir'])
    assert (run_dir / 'replay.html').is_file()
    html = (run_dir / 'replay.html').read_text()
    assert 'navigate to CounterTop' in html and 'data:image/png;base64,' in html
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['actions'] == ['navigate to CounterTop', 'end']
    assert all(p.poll() is None for p in group.procs.values())


@needs_data
def test_bad_input_gets_error_results_and_every_node_keeps_running(graph):
    group, probe, out, tmp = graph
    probe.send_action('{"action_id": "bad-1", "task_id": "x", "step": 1, "verb": ')
    probe.send_action(json.dumps({'action_id': 'bad-2', 'task_id': 'x', 'step': 1,
                                  'verb': 'teleport', 'target': 'Moon'}))
    probe.send_action(json.dumps({'action_id': 'bad-3', 'task_id': 'x', 'step': 1,
                                  'verb': 'pickup', 'target': 'Spaceship'}))
    probe.send_action(json.dumps({'action_id': 'bad-4', 'task_id': 'x', 'step': 1,
                                  'verb': 'print("hi")'}))
    probe.send_task('not json at all')
    probe.send_task({'task_id': 'no-instruction'})

    def errors():
        res = probe.get('executor/result', task_id='x') + probe.get('executor/result',
                                                                    action_id='unknown')
        return res if len(res) >= 4 else None
    res = wait_until(errors, 20, 'four error results')
    assert all(r['success'] is False and r['status'] == 'rejected' for r in res)
    texts = ' | '.join(r['feedback'] for r in res)
    assert 'malformed JSON' in texts
    assert "unknown verb 'teleport'" in texts
    assert "'Spaceship' is not in the scene" in texts
    rejected = wait_until(lambda: len(r := probe.get('reasoner/status', state='rejected')) >= 2
                          and r, 20, 'two rejected tasks')
    assert {r['task_id'] for r in rejected} >= {'unknown', 'no-instruction'}

    # a second task while one runs is rejected; the first still completes
    first = search_case()
    first['task_id'] = 'first'
    second = dict(first, task_id='second')
    probe.send_task(first)
    probe.send_task(second)
    assert probe.final_status('second', timeout=30)['state'] == 'rejected'
    assert probe.final_status('first', timeout=60)['state'] == 'succeeded'
    assert all(p.poll() is None for p in group.procs.values()), out.text()[-3000:]
