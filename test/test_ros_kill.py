# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Killing the reasoner mid-episode: no action runs twice, nothing keeps moving, clean restart."""

from __future__ import annotations

import collections
import json
import re
import signal
import time

import pytest

from ego_reasoner_ros.nodes.launcher import ProcessGroup, node_command
from ros_graph_helpers import CONFIG, DATA, LockedBuffer, Probe, search_case, spec, start_nodes
from ros_graph_helpers import wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow,
              pytest.mark.skipif(not (DATA / 'test_public.json').is_file(),
                                 reason=f'Embodied-Reasoner data not found at {DATA}')]

TARGETS = ['CounterTop', 'Cabinet', 'GarbageCan'] * 3


def test_kill_reasoner_mid_episode_then_restart(ros_env, tmp_path):
    script = tmp_path / 'slow.json'
    script.write_text(json.dumps({
        'delay_s': 0.4,
        'outputs': [f'Next place. <DecisionMaking>navigate to {t}</DecisionMaking>'
                    for t in TARGETS] + ['Done. <DecisionMaking>end</DecisionMaking>']}))
    out = LockedBuffer()
    group = ProcessGroup(out)
    env = dict(ros_env, EGO_REASONER_DATA=str(DATA))
    reasoner_params = {'policy': f'scripted:{script}', 'runs_dir': str(tmp_path / 'runs')}
    start_nodes(group, env, {
        'sim_bridge': {'scenes_dir': str(DATA / 'scenes'), 'scene': 'FloorPlan1',
                       'width': 160, 'height': 120, 'publish_rate_hz': 0.0},
        'action_executor': {},
        'reasoner': reasoner_params,
    })
    probe = Probe('kill_probe')
    try:
        task = search_case()
        probe.send_task(task)
        wait_until(lambda: len(probe.get('executor/result', task_id='search')) >= 3, 60,
                   'three results')
        group.procs['reasoner'].send_signal(signal.SIGKILL)
        group.procs['reasoner'].wait(timeout=10)
        killed_at = len(probe.get('reasoner/action', task_id='search'))
        time.sleep(3.0)  # longer than the executor's heartbeat watchdog
        actions = probe.get('reasoner/action', task_id='search')
        results = probe.get('executor/result', task_id='search')
        assert len(actions) == killed_at, 'nothing is sent once the reasoner is dead'
        assert {r['action_id'] for r in results} <= {a['action_id'] for a in actions}
        # at most the in-flight one is missing
        assert len({r['action_id'] for r in results}) >= len(actions) - 1

        # restart: a new boot, the same task id; the episode starts over from init
        group.start('reasoner2', node_command(spec('sim', 'reasoner'), CONFIG,
                                              reasoner_params), env)
        old_boot = actions[0]['action_id'].split('/')[1]

        def accepted_by_new_boot():
            return [m for m in probe.get('reasoner/status', task_id='search', state='accepted')
                    if m['boot_id'] != old_boot]
        for _ in range(20):  # the new subscription may not be matched yet: resend until seen
            probe.send_task(task)
            try:
                wait_until(accepted_by_new_boot, 2.0, 'the restarted reasoner to accept')
                break
            except AssertionError:
                continue
        final = wait_until(lambda: [m for m in probe.get('reasoner/status', task_id='search')
                                    if m['state'] in ('succeeded', 'failed', 'error')], 90,
                           'the restarted episode to end')[0]
        assert final['state'] == 'succeeded', out.text()[-3000:]
        actions = probe.get('reasoner/action', task_id='search')
        boots = collections.Counter(a['action_id'].split('/')[1] for a in actions)
        assert len(boots) == 2
        inits = [a for a in actions if a['verb'] == 'init']
        assert len(inits) == 2
        results = probe.get('executor/result', task_id='search')
        first = {}
        for r in results:  # a resent action is answered again from the cache, unchanged
            assert first.setdefault(r['action_id'], r) == r, 'one outcome per action id'
        executed = re.findall(r'\[action_executor\].*?(search/\w+/\d+): ', out.text())
        dupes = [k for k, n in collections.Counter(executed).items() if n > 1]
        assert not dupes, f'actions executed twice: {dupes}'
        assert group.procs['action_executor'].poll() is None
        assert group.procs['sim_bridge'].poll() is None
    except AssertionError:
        print(out.text()[-5000:])
        raise
    finally:
        probe.close()
        group.stop()
