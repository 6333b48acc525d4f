# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The node graph under faults and bad input (issue 23), on loopback, without the data set.

A repeated task_id runs again for real; a bad sim_task, an unknown scene and a task during
e-stop get the true cause; ``launch --keep-running`` keeps one folder per task run; a node that
dies (or never starts) is named and the launch exits non-zero.
"""

from __future__ import annotations

import json
import re
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import pytest

from ego_reasoner_ros.nodes.launcher import ProcessGroup
from ros_graph_helpers import DATA, LockedBuffer, Probe, start_nodes, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]

SCENE = 'procedural:kitchen:0'
SMALL = {'width': 96, 'height': 72, 'publish_rate_hz': 0.0}
FINALS = ('succeeded', 'failed', 'aborted', 'error', 'rejected')


def _script(tmp_path: Path, n_observe: int = 1) -> Path:
    script = tmp_path / 'script.json'
    script.write_text(json.dumps(
        ['I look around. <DecisionMaking>observe</DecisionMaking>'] * n_observe
        + ['Done. <DecisionMaking>end</DecisionMaking>']))
    return script


def _finals(probe: Probe, task_id: str) -> list[dict]:
    return [m for m in probe.get('reasoner/status', task_id=task_id) if m['state'] in FINALS]


@pytest.fixture
def graph(ros_env, tmp_path):
    """sim bridge + executor + reasoner (scripted policy) on a generated kitchen, and a probe."""
    out = LockedBuffer()
    group = ProcessGroup(out)
    reasoner = {'policy': f'scripted:{_script(tmp_path)}', 'runs_dir': str(tmp_path / 'runs')}
    start_nodes(group, ros_env, {'sim_bridge': dict(SMALL, scene=SCENE),
                                 'action_executor': {}, 'reasoner': reasoner})
    probe = Probe('faults_probe')
    try:
        yield probe, group, out
    finally:
        probe.close()
        group.stop()


def _run_task(probe: Probe, task: dict, n_finals: int, timeout: float = 120.0) -> dict:
    probe.send_task(task)
    return wait_until(lambda: _finals(probe, task['task_id'])[n_finals - 1:], timeout,
                      f'final status #{n_finals} of {task["task_id"]}')[0]


def test_same_task_id_twice_runs_twice_for_real(graph):
    probe, _group, out = graph
    task = {'task_id': 'same-id', 'instruction': 'Find the Apple.', 'scene': SCENE}
    first = _run_task(probe, task, 1)
    second = _run_task(probe, task, 2)
    assert first['state'] == second['state'] == 'succeeded', out.text()[-3000:]
    assert first['run_id'] != second['run_id']
    actions = probe.get('reasoner/action', task_id='same-id')
    runs = {}
    for a in actions:
        runs.setdefault(a['run_id'], []).append(a)
    assert set(runs) == {first['run_id'], second['run_id']}
    ids = [{a['action_id'] for a in acts} for acts in runs.values()]
    assert not ids[0] & ids[1], 'a second run must not reuse the first run\'s action ids'
    for acts in runs.values():
        assert [a['verb'] for a in acts] == ['init', 'observe']  # the scene is reset (init)
    results = probe.get('executor/result', task_id='same-id')
    stamps = [tuple(r['frame_stamps']) for r in results if r['status'] == 'succeeded']
    assert len(stamps) == 4 and len(set(stamps)) == 4, 'every action produced new frames'
    assert 'already ran' not in out.text()
    assert {r['run_id'] for r in results} == set(runs)
    folders = {m.get('run_dir') for m in (first, second)}
    assert len(folders) == 2 and all(Path(f, 'episode').is_dir() for f in folders)


def test_bad_sim_task_unknown_scene_and_estop_get_the_true_cause(graph):
    probe, _group, out = graph
    # a task that ran some steps, so a stale step number would show
    ok = _run_task(probe, {'task_id': 'warm-up', 'instruction': 'Find the Apple.'}, 1)
    assert ok['state'] == 'succeeded' and ok['step'] > 0, out.text()[-3000:]

    bad = _run_task(probe, {'task_id': 'bad-sim-task', 'instruction': 'Find the Apple.',
                            'sim_task': {'target_objects': 5}}, 1)
    assert bad['state'] == 'rejected' and bad['step'] == 0
    assert 'sim_task.target_objects must be a list of strings' in bad['message']
    assert not probe.get('reasoner/action', task_id='bad-sim-task'), 'rejected on receipt'

    lost = _run_task(probe, {'task_id': 'no-scene', 'instruction': 'Find the Apple.',
                             'scene': 'procedural:nosuchroom:0'}, 1)
    assert lost['state'] == 'error', lost
    assert 'init failed' in lost['message'] and 'nosuchroom' in lost['message'], lost
    assert 'world_state' not in lost['message']

    probe.estop(True)
    wait_until(lambda: probe.get('reasoner/status', message='e-stop active: new tasks are '
                                 'rejected'), 30, 'the reasoner to see the e-stop')
    stopped = _run_task(probe, {'task_id': 'during-estop', 'instruction': 'Find the Apple.'}, 1)
    assert stopped['state'] == 'rejected' and stopped['step'] == 0
    assert 'e-stop is active' in stopped['message']
    assert not probe.get('reasoner/action', task_id='during-estop')
    probe.estop(False)
    wait_until(lambda: probe.get('reasoner/status', message='e-stop released'), 30,
               'the reasoner to see the release')
    # the executor hears the release on its own subscription, maybe later than the reasoner
    wait_until(lambda: re.search(r'\[action_executor\][^\n]*e-stop released', out.text()), 30,
               'the executor to see the release')
    again = _run_task(probe, {'task_id': 'during-estop', 'instruction': 'Find the Apple.'}, 2)
    assert again['state'] == 'succeeded', out.text()[-3000:]


def test_expert_unknown_scene_names_the_scene_not_the_world_state(ros_env, tmp_path):
    """With the expert (it mirrors debug/world_state), an init error is still the cause."""
    out = LockedBuffer()
    group = ProcessGroup(out)
    start_nodes(group, ros_env, {
        'sim_bridge': dict(SMALL, scene=SCENE, publish_world_state=True),
        'action_executor': {}, 'reasoner': {'policy': 'expert', 'runs_dir': str(tmp_path),
                                            'world_wait_s': 3.0}})
    probe = Probe('faults_expert_probe')
    try:
        final = _run_task(probe, {'task_id': 'lost', 'instruction': 'Find the Apple.',
                                  'scene': str(tmp_path / 'no_such_scene')}, 1)
        assert final['state'] == 'error', out.text()[-3000:]
        assert 'no_such_scene' in final['message'] and 'world_state' not in final['message']
    finally:
        probe.close()
        group.stop()


# ---------------------------------------------------------------- ego-reasoner launch
def _launch(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', 'ego_reasoner_ros.cli.main', 'launch', 'sim',
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, **kw)


class _Reader:
    """Collects a child's output on a thread (so the pipe never fills)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.buf = LockedBuffer()
        self._t = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._t.start()

    def _pump(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.buf.write(line)

    def text(self) -> str:
        return self.buf.text()

    def join(self) -> None:
        self._t.join(timeout=10)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f'/proc/{pid}/task/{pid}/children').read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _node_pid(launch_pid: int, module: str) -> int | None:
    for pid in _children(launch_pid):
        try:
            if module in Path(f'/proc/{pid}/cmdline').read_text():
                return pid
        except OSError:
            continue
    return None


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=10)


def test_keep_running_ten_tasks_leave_ten_episode_folders(ros_env, tmp_path):
    script = _script(tmp_path)
    proc = _launch(['--keep-running', '--scene', SCENE, '--policy', f'scripted:{script}',
                    '--runs-dir', str(tmp_path / 'runs'), '--timeout', '600',
                    '--domain-id', ros_env['ROS_DOMAIN_ID']], ros_env)
    reader = _Reader(proc)
    probe = Probe('keep_running_probe')
    try:
        wait_until(lambda: 'reasoner ready' in reader.text() or proc.poll() is not None, 120,
                   'the reasoner to start')
        for i in range(10):  # the same id for some: every run is still its own folder
            task = {'task_id': f'task-{i % 4}', 'instruction': 'Find the Apple.'}
            final = _run_task(probe, task, i // 4 + 1)
            assert final['state'] == 'succeeded', reader.text()[-3000:]
    finally:
        probe.close()
        code = _stop(proc)
        reader.join()
    assert code == 130, reader.text()[-3000:]
    run_dir = next(p for p in (tmp_path / 'runs').iterdir() if p.is_dir())
    folders = [p for p in run_dir.iterdir() if (p / 'episode' / 'episode.json').is_file()]
    assert len(folders) == 10, sorted(p.name for p in run_dir.iterdir())
    assert all((p / 'replay.html').is_file() for p in folders)
    assert '10 episode folder(s)' in reader.text()


@pytest.mark.parametrize('scene', [
    'procedural:nosuchroom:0',
    pytest.param('NoSuchScene', marks=pytest.mark.skipif(
        not (DATA / 'scenes').is_dir(), reason='needs the Embodied-Reasoner scenes')),
])
def test_missing_scene_exits_non_zero_naming_the_sim_bridge(ros_env, tmp_path, scene):
    env = dict(ros_env, EGO_REASONER_DATA=str(DATA))
    proc = _launch(['--scene', scene, '--instruction', 'Find the Apple.',
                    '--runs-dir', str(tmp_path), '--timeout', '300',
                    '--domain-id', ros_env['ROS_DOMAIN_ID']], env)
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 2, out[-3000:]
    assert '[launch] node sim_bridge exited with code 2' in out
    assert 'Traceback' not in out


def test_failed_task_exits_1(ros_env, tmp_path):
    """One task to the end (the launch's exit_after_task mode): a failed task exits 1."""
    script = tmp_path / 'garbage.json'
    script.write_text(json.dumps(['I do not know.'] * 8))  # invalid replies end it as failed
    proc = _launch(['--scene', SCENE, '--instruction', 'Find the Apple.', '--policy',
                    f'scripted:{script}', '--runs-dir', str(tmp_path), '--timeout', '300',
                    '--domain-id', ros_env['ROS_DOMAIN_ID']], ros_env)
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 1, out[-3000:]
    assert 'task demo: failed' in out
    assert '[launch] node reasoner exited with code 1' in out


def test_killed_reasoner_is_named_and_the_launch_fails(ros_env, tmp_path):
    proc = _launch(['--keep-running', '--scene', SCENE, '--policy',
                    f'scripted:{_script(tmp_path)}', '--runs-dir', str(tmp_path),
                    '--timeout', '300', '--domain-id', ros_env['ROS_DOMAIN_ID']], ros_env)
    reader = _Reader(proc)
    try:
        wait_until(lambda: 'reasoner ready' in reader.text() or proc.poll() is not None, 120,
                   'the reasoner to start')
        pid = wait_until(lambda: _node_pid(proc.pid, 'reasoner_node'), 30, 'the reasoner pid')
        os.kill(pid, signal.SIGKILL)
        code = proc.wait(timeout=120)
    finally:
        code = _stop(proc)
        reader.join()
    text = reader.text()
    assert code == 1, text[-3000:]
    assert '[launch] node reasoner was killed by signal 9; the run failed' in text


def test_domain_id_is_validated(tmp_path):
    for bad in ('250', '-1'):
        proc = subprocess.run([sys.executable, '-m', 'ego_reasoner_ros.cli.main', 'launch',
                               'sim', '--domain-id', bad, '--runs-dir', str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert '0..232' in proc.stderr and 'Traceback' not in proc.stderr


def test_claimed_domain_lock_is_released_on_an_early_error(tmp_path, monkeypatch, capsys):
    import argparse

    from ego_reasoner_ros.cli import launch_cmd
    from ego_reasoner_ros.nodes import dds
    claimed: list[int] = []
    real = dds.choose_domain_id

    def choose(owner_pid=None):
        claimed.append(real(owner_pid))
        return claimed[-1]
    monkeypatch.setattr(dds, 'choose_domain_id', choose)
    monkeypatch.setenv('EGO_REASONER_DATA', str(tmp_path / 'no_data_here'))
    parser = argparse.ArgumentParser()
    launch_cmd.add_parser(parser.add_subparsers(dest='cmd'))
    args = parser.parse_args(['launch', 'sim', '--case', '0', '--runs-dir', str(tmp_path)])
    assert launch_cmd.run(args) == 2
    assert claimed and not (dds._lock_dir() / str(claimed[0])).exists()
    assert 'error:' in capsys.readouterr().err


def test_heartbeat_watchdog_is_per_task_run(ros_env, tmp_path):
    """A stale heartbeat of an earlier task never cancels the next task's first action; a
    task run whose own heartbeats stop is still cancelled."""
    from robot_graph import robot_graph
    from std_msgs.msg import String

    from ego_reasoner_ros.nodes.sim_bridge_node import JSON_QOS
    with robot_graph(ros_env, tmp_path, nav_duration=2.5,
                     executor_params={'watchdog_timeout_s': 1.0}) as graph:
        probe = graph.probe
        pub = probe.node.create_publisher(String, 'reasoner/status', JSON_QOS)
        wait_until(lambda: pub.get_subscription_count() > 0, 30, 'the executor on status')

        def beat(task_id: str, run_id: str) -> None:
            pub.publish(String(data=json.dumps({
                'task_id': task_id, 'state': 'heartbeat', 'step': 1, 'message': 'running',
                'boot_id': 'b00t', 'run_id': run_id})))

        for _ in range(5):  # arm the watchdog with task A's heartbeat, then let it go stale
            beat('task-a', 'ra')
            time.sleep(0.1)
        time.sleep(2.0)

        beating = threading.Event()
        stop = threading.Event()

        def heartbeats() -> None:
            while not stop.is_set():
                if beating.is_set():
                    beat('task-b', 'rb')
                time.sleep(0.2)
        ticker = threading.Thread(target=heartbeats, daemon=True)
        ticker.start()
        try:
            def action(aid: str) -> str:
                probe.send_action(json.dumps({
                    'action_id': aid, 'task_id': 'task-b', 'step': 1, 'run_id': 'rb',
                    'verb': 'navigate to', 'target': 'Fridge'}))
                return aid
            aid = action('task-b/b00t/rb/1')
            time.sleep(0.5)  # task B's first heartbeat comes late (a long task message)
            beating.set()
            res = graph.result(aid, timeout=30)
            assert res['status'] == 'succeeded', res
            beating.clear()  # task B's reasoner goes silent: its action is cancelled
            aid = action('task-b/b00t/rb/2')
            res = graph.result(aid, timeout=30)
            assert res['status'] == 'cancelled' and 'heartbeat lost' in res['feedback'], res
        finally:
            stop.set()
            ticker.join(timeout=5)
