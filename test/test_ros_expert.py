# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scripted expert drives the embedded simulator through the ROS graph (separate processes).

The expert reads the simulator's ground truth only through ``debug/world_state`` (a replica
world in the reasoner); everything else goes over the same topics as a learned policy.
"""

from __future__ import annotations

import json

import pytest

from ego_reasoner_ros.nodes.launcher import ProcessGroup
from ros_graph_helpers import DATA, LockedBuffer, Probe, case_task, start_nodes, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]

needs_data = pytest.mark.skipif(not (DATA / 'test_public.json').is_file(),
                                reason=f'Embodied-Reasoner data not found at {DATA}')


def _sim_params(scene: str) -> dict:
    return {'scenes_dir': str(DATA / 'scenes'), 'scene': scene,
            'agent_positions': str(DATA / 'agent_positions.json'),
            'width': 320, 'height': 240, 'publish_rate_hz': 2.0}


def _expert_available() -> bool:
    try:
        import ego_reasoner_ros.training.policies  # noqa: F401
        from ego_reasoner_ros.core.policy import registered_policies
    except ImportError:
        return False
    return 'expert' in registered_policies()


@needs_data
@pytest.mark.skipif(not _expert_available(), reason='the expert policy is not registered '
                    '(ego_reasoner_ros.training.policies missing)')
def test_expert_completes_a_pickup_task_through_the_graph(ros_env, tmp_path):
    cases = json.loads((DATA / 'test_public.json').read_text())
    case = next(c for c in cases if c['tasktype'] == 'single_pickup')
    task = case_task(case, 'expert-pickup')
    out = LockedBuffer()
    group = ProcessGroup(out)
    env = dict(ros_env, EGO_REASONER_DATA=str(DATA))
    start_nodes(group, env, {
        'sim_bridge': _sim_params(case['scene']),
        'action_executor': {},
        'reasoner': {'policy': 'expert', 'runs_dir': str(tmp_path / 'runs')},
    })
    probe = Probe('expert_probe')
    try:
        probe.send_task(task)
        final = probe.final_status('expert-pickup', timeout=120)
        assert final['state'] == 'succeeded', out.text()[-4000:]
        actions = probe.get('reasoner/action', task_id='expert-pickup')

        def all_answered() -> dict | None:
            # the final status and the last result come from different nodes on different
            # topics: under load the probe may see the status first
            got = {r['action_id']: r for r in probe.get('executor/result',
                                                        task_id='expert-pickup')}
            return got if all(a['action_id'] in got for a in actions) else None
        results = wait_until(all_answered, 10.0, 'a result for every action')
        assert any(a['verb'] == 'pickup' and results[a['action_id']]['success']
                   for a in actions), 'the expert picked the object up'
        thoughts = wait_until(
            lambda: (t := probe.get('reasoner/thought', task_id='expert-pickup'))
            and len(t) >= len(actions) and t, 10.0, 'a thought per action')
        assert len(thoughts) == len(actions)  # init has none, end has one
        assert all(t['thought'].strip() for t in thoughts)
    finally:
        probe.close()
        group.stop()
