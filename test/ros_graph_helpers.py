# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Helpers for the ROS graph tests: node processes and an in-test probe node."""

from __future__ import annotations

from collections.abc import Callable
import io
import json
from pathlib import Path
import threading
import time
from typing import Any

from ego_reasoner_ros.nodes.launcher import LAUNCH_TABLE, ProcessGroup, node_command
from data_paths import ER_DATA

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'config'
DATA = ER_DATA


class LockedBuffer(io.StringIO):
    """A StringIO safe to write from several pump threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        with self._lock:
            return super().write(s)

    def text(self) -> str:
        with self._lock:
            return self.getvalue()


def spec(kind: str, name: str):
    """The launcher's NodeSpec of node ``name`` in launch ``kind``."""
    return next(s for s in LAUNCH_TABLE[kind] if s.name == name)


def start_nodes(group: ProcessGroup, env: dict[str, str], nodes: dict[str, dict[str, Any]],
                kind: str = 'sim') -> None:
    """Start launch-table nodes with extra parameters: ``{name: params}``."""
    for name, params in nodes.items():
        group.start(name, node_command(spec(kind, name), CONFIG, params), env)


def wait_until(pred: Callable[[], Any], timeout: float, what: str = 'condition') -> Any:
    """Poll ``pred`` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


class Probe:
    """An rclpy node in the test process recording the graph's JSON topics."""

    TOPICS = ('reasoner/thought', 'reasoner/action', 'reasoner/status', 'executor/result')

    def __init__(self, name: str = 'test_probe') -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import Bool, String

        from ego_reasoner_ros.nodes.qos import JSON_QOS
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node(name, context=self.ctx)
        self.lock = threading.Lock()
        self.msgs: dict[str, list[dict[str, Any]]] = {t: [] for t in self.TOPICS}
        self.subs = {topic: self.node.create_subscription(String, topic, self._cb(topic),
                                                         JSON_QOS) for topic in self.TOPICS}
        self.pub_task = self.node.create_publisher(String, 'task', JSON_QOS)
        self.pub_action = self.node.create_publisher(String, 'reasoner/action', JSON_QOS)
        self.pub_estop = self.node.create_publisher(Bool, 'estop', 10)
        self._String, self._Bool = String, Bool
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException
        try:
            while self.ctx.ok():
                self.executor.spin_once(timeout_sec=0.05)
        except (ExternalShutdownException, Exception):  # noqa: BLE001 - shutting down
            pass

    def _cb(self, topic: str) -> Callable[[Any], None]:
        def cb(msg: Any) -> None:
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                data = {'_raw': msg.data}
            with self.lock:
                self.msgs[topic].append(data)
        return cb

    def get(self, topic: str, **match: Any) -> list[dict[str, Any]]:
        """Recorded messages of ``topic`` whose fields equal ``match``.

        Resends of an unanswered action carry the same ``action_id``: only the first is kept.
        """
        with self.lock:
            found = [m for m in self.msgs[topic]
                     if all(m.get(k) == v for k, v in match.items())]
        if topic.endswith('reasoner/action'):
            seen: set[str] = set()
            found = [m for m in found
                     if not (m.get('action_id') in seen or seen.add(m.get('action_id')))]
        return found

    def wait_for_subscribers(self, pub: Any, timeout: float = 60.0) -> None:
        wait_until(lambda: pub.get_subscription_count() > 0, timeout,
                   f'a subscriber on {pub.topic_name}')

    def wait_matched(self, timeout: float = 90.0) -> None:
        """Wait until every recorded topic has a matched publisher (nothing gets lost)."""
        for topic, sub in self.subs.items():
            wait_until(lambda s=sub: s.get_publisher_count() > 0, timeout,
                       f'a publisher on {topic}')
        self._settle()

    def _settle(self) -> None:
        """Once: our side sees a match before the remote side has finished matching us.

        A sample sent by the remote side in that gap (the result of ``init``) never reaches
        us, so give discovery a moment before the first request.
        """
        if not getattr(self, '_settled', False):
            time.sleep(0.5)
            self._settled = True

    def send_task(self, payload: dict[str, Any] | str) -> None:
        self.wait_matched()
        self.wait_for_subscribers(self.pub_task)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.pub_task.publish(self._String(data=text))

    def send_action(self, text: str) -> None:
        self.wait_for_subscribers(self.pub_action)
        wait_until(lambda: self.subs['executor/result'].get_publisher_count() > 0, 30,
                   'the executor')
        self._settle()
        self.pub_action.publish(self._String(data=text))

    def estop(self, on: bool = True) -> None:
        self.pub_estop.publish(self._Bool(data=on))

    def final_status(self, task_id: str, timeout: float) -> dict[str, Any]:
        finals = ('succeeded', 'failed', 'aborted', 'error', 'rejected')
        return wait_until(lambda: next(iter(
            [m for m in self.get('reasoner/status', task_id=task_id) if m['state'] in finals]),
            None), timeout, f'the end of task {task_id}')

    def close(self) -> None:
        import rclpy
        rclpy.try_shutdown(context=self.ctx)
        self._thread.join(timeout=2.0)
        self.node.destroy_node()


def search_case() -> dict[str, Any]:
    """The public test set's first case (a single_search in FloorPlan1) as a task payload."""
    case = json.loads((DATA / 'test_public.json').read_text())[0]
    return case_task(case, 'search')


def case_task(case: dict[str, Any], task_id: str) -> dict[str, Any]:
    return {'task_id': task_id, 'instruction': case['taskquery'],
            'task_type': case['tasktype'], 'scene': case['scene'],
            'sim_task': {k: case[k] for k in ('navigable_objects', 'target_objects',
                                              'related_objects', 'identity')}}
