# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The shipped learned policy drives the embedded simulator through the ROS graph.

Greedy decoding on a pinned public case the shipped checkpoint solves in evaluation (identity
81, a toggle in FloorPlan1); the policy sees only the camera frames and text.
"""

from __future__ import annotations

import json

import pytest

from ego_reasoner_ros.nodes.launcher import ProcessGroup
from ros_graph_helpers import (DATA, REPO, LockedBuffer, Probe, case_task, start_nodes,
                               wait_until)

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.training]

MODEL = REPO / 'models' / 'ego-reasoner-tiny'
PINNED = 81


@pytest.mark.skipif(not (DATA / 'test_public.json').is_file(), reason='public data absent')
@pytest.mark.skipif(not (MODEL / 'model.safetensors').is_file(), reason='no shipped model')
def test_shipped_model_completes_a_pinned_task_through_the_graph(ros_env, tmp_path):
    pytest.importorskip('transformers')
    cases = json.loads((DATA / 'test_public.json').read_text())
    case = next(c for c in cases if c['identity'] == PINNED)
    task = case_task(case, 'learned')
    out = LockedBuffer()
    group = ProcessGroup(out)
    env = dict(ros_env, EGO_REASONER_DATA=str(DATA))
    start_nodes(group, env, {
        # the evaluator's frame size, so the model sees what it saw in evaluation
        'sim_bridge': {'scenes_dir': str(DATA / 'scenes'), 'scene': case['scene'],
                       'agent_positions': str(DATA / 'agent_positions.json'),
                       'width': 448, 'height': 448, 'publish_rate_hz': 2.0,
                       'publish_world_state': False},
        'action_executor': {},
        'reasoner': {'policy': f'hf:{MODEL}', 'runs_dir': str(tmp_path / 'runs')},
    })
    probe = Probe('learned_probe')
    try:
        probe.send_task(task)
        final = probe.final_status('learned', timeout=240)
        assert final['state'] == 'succeeded', out.text()[-4000:]
        actions = probe.get('reasoner/action', task_id='learned')
        assert [a['verb'] for a in actions][0] == 'init' and len(actions) >= 2
        # the last result and the final status come from different nodes: under load the
        # probe may see the status first
        wait_until(lambda: {a['action_id'] for a in actions} <= {
            r['action_id'] for r in probe.get('executor/result', task_id='learned')},
            10.0, 'a result for every action')
        thoughts = probe.get('reasoner/thought', task_id='learned')
        assert thoughts and all('<DecisionMaking>' in (t.get('raw') or '') for t in thoughts)
    finally:
        probe.close()
        group.stop()
