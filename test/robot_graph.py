# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The executor's robot backend against stand-in robot interfaces, for tests and benchmarks.

:class:`RobotGraph` starts two processes, ``test/robot_standins.py`` (a NavigateToPose server
built from ``test/nav2_standin``, manipulation services, a camera) and
``action_executor_node`` with ``config/robot_executor.yaml``, both with the nav2_msgs overlay
on their paths, plus an in-process probe node that sends actions, e-stops and approvals and
records the executor's results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import json
from pathlib import Path
import sys
import time
from typing import Any

from ego_reasoner_ros.nodes.launcher import ProcessGroup, node_command
from nav2_overlay import OverlayUnavailableError, build_overlay, overlay_env
from ros_graph_helpers import CONFIG, LockedBuffer, Probe, spec, wait_until

HERE = Path(__file__).resolve().parent
SEMANTIC_MAP = CONFIG / 'semantic_map_example.yaml'
#: manipulation services the stand-in offers: name -> type
SERVICES = {'manipulation/pickup': 'test_msgs/srv/BasicTypes',
            'manipulation/put': 'test_msgs/srv/BasicTypes',
            'manipulation/toggle': 'test_msgs/srv/BasicTypes',
            'manipulation/close': 'test_msgs/srv/BasicTypes',
            'manipulation/open_by_type': 'rcl_interfaces/srv/GetParameters'}
#: executor parameters on top of robot_executor.yaml: no reasoner heartbeat in these tests,
#: and ``open`` goes to a service of another type that takes the object *type* in a string[]
BASE_PARAMS: dict[str, Any] = {
    'watchdog_timeout_s': 0.0,
    'approval_verbs': [''],
    'manipulation.open.type': 'rcl_interfaces/srv/GetParameters',
    'manipulation.open.service': 'manipulation/open_by_type',
    'manipulation.open.field': 'names',
    'manipulation.open.value': 'type',
    'manipulation.open.success_field': '',
    'manipulation.open.message_field': '',
}


def overlay_prefix() -> Path:
    """The built nav2_msgs stand-in, or skip the calling test with the reason."""
    import pytest
    try:
        return build_overlay()
    except OverlayUnavailableError as exc:
        pytest.skip(f'nav2_msgs stand-in unavailable: {exc}')


@contextmanager
def robot_graph(env: dict[str, str], workdir: Path, **kwargs: Any) -> Iterator[RobotGraph]:
    """A started :class:`RobotGraph` (skips without the stand-in); on exit every process
    must have stopped, and the graph's output is printed for the test report."""
    graph = RobotGraph(env, overlay_prefix(), workdir, **kwargs)
    try:
        yield graph
    finally:
        codes = graph.close()
        print(graph.out.text()[-4000:])
        assert all(c is not None for c in codes.values()), 'a process survived'


class RobotGraph:
    """Stand-in robot + action executor (robot backend) + probe."""

    def __init__(self, env: dict[str, str], prefix: Path, workdir: Path, *,
                 nav_duration: float = 0.3, executor_params: dict[str, Any] | None = None,
                 camera_hz: float = 20.0) -> None:
        self.log_path = workdir / 'standin_events.jsonl'
        self.log_path.write_text('')
        self.out = LockedBuffer()
        self.group = ProcessGroup(self.out)
        env = overlay_env(prefix, env)
        cmd = [sys.executable, str(HERE / 'robot_standins.py'), '--log', str(self.log_path),
               '--nav-duration', str(nav_duration), '--camera-hz', str(camera_hz)]
        for name, type_name in SERVICES.items():
            cmd += ['--service', f'{name}={type_name}']
        self.group.start('standins', cmd, env)
        params = dict(BASE_PARAMS, semantic_map=str(SEMANTIC_MAP), **(executor_params or {}))
        self.group.start('action_executor', node_command(spec('robot', 'action_executor'),
                                                          CONFIG, params), env)
        self.probe = Probe(f'robot_probe_{int(time.time() * 1000) % 100000}')
        from std_msgs.msg import String

        from ego_reasoner_ros.nodes.qos import JSON_QOS
        self._String = String
        self.pub_approval = self.probe.node.create_publisher(String, 'executor/approval',
                                                             JSON_QOS)
        self._step = 0
        self._sent: dict[str, str] = {}
        wait_until(lambda: self.events('ready'), 30, 'the stand-ins to start')
        wait_until(lambda: 'action executor ready' in self.out.text(), 30,
                   'the executor to start')

    # ------------------------------------------------------------ stand-in events
    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Events the stand-ins logged so far (of one kind)."""
        rows = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [r for r in rows if kind is None or r['event'] == kind]

    def wait_event(self, kind: str, pred: Callable[[dict[str, Any]], bool] = lambda _e: True,
                   timeout: float = 10.0) -> dict[str, Any]:
        """The first event of ``kind`` matching ``pred``, waiting for it."""
        return wait_until(lambda: next((e for e in self.events(kind) if pred(e)), None),
                          timeout, f'a {kind} event')

    # ------------------------------------------------------------ probe side
    def send(self, verb: str, target: str | None = None, action_id: str | None = None) -> str:
        """Publish one action request; return its action id."""
        self._step += 1
        aid = action_id or f'robot/t/{self._step}'
        payload: dict[str, Any] = {'action_id': aid, 'task_id': 'robot', 'step': self._step,
                                   'verb': verb}
        if target is not None:
            payload['target'] = target
        self._sent[aid] = json.dumps(payload)
        self.probe.send_action(self._sent[aid])
        return aid

    def result(self, action_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """The executor's result for ``action_id``, waiting for it.

        Like the reasoner, the request is resent every 2 s until answered: a sample published
        while discovery completes can be lost, and the executor is idempotent per action id.
        """
        next_send = [time.monotonic() + 2.0]

        def answered() -> dict[str, Any] | None:
            found = next(iter(self.probe.get('executor/result', action_id=action_id)), None)
            if found is None and action_id in self._sent and time.monotonic() > next_send[0]:
                self.probe.send_action(self._sent[action_id])
                next_send[0] = time.monotonic() + 2.0
            return found

        return wait_until(answered, timeout, f'the result of {action_id}')

    def run(self, verb: str, target: str | None = None, timeout: float = 20.0
            ) -> dict[str, Any]:
        """Send an action and wait for its result."""
        return self.result(self.send(verb, target), timeout)

    def approve(self, action_id: str, approved: bool) -> None:
        self.probe.wait_for_subscribers(self.pub_approval)
        self.pub_approval.publish(self._String(data=json.dumps(
            {'action_id': action_id, 'approved': approved})))

    def estop(self, on: bool) -> int:
        """Publish on ``estop``; return the wall-clock time of the publish (ns)."""
        self.probe.wait_for_subscribers(self.probe.pub_estop)
        t = time.time_ns()
        self.probe.estop(on)
        return t

    def close(self) -> dict[str, int]:
        self.probe.close()
        return self.group.stop()
