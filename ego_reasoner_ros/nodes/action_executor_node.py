# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Action executor node: checks each action, runs it on a backend, reports every result.

Run::

    ros2 run ego_reasoner_ros action_executor_node --ros-args --params-file config/executor.yaml

Subscribes ``reasoner/action`` (JSON), ``estop`` (std_msgs/Bool), ``executor/approval`` (JSON)
and ``reasoner/status`` (heartbeat watchdog); publishes ``executor/result`` (JSON).
Guarantees: an ``action_id`` runs at most once (a repeat gets the stored result again), one
action runs at a time, e-stop cancels the running action and rejects new ones until released,
and a lost reasoner heartbeat cancels the running action so nothing is left moving.
An EB-ALFRED skill (``benchmark: eb-alfred``, ``skill: "find a Cabinet_2"``) passes the same
gate as the core action it maps onto and runs on the sim backend.
"""

from __future__ import annotations

from collections import OrderedDict
import dataclasses
import threading
import time
from typing import Any

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from std_msgs.msg import Bool, String

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.nodes import protocol
from ego_reasoner_ros.nodes.common import declare, run_node
from ego_reasoner_ros.nodes.conversions import json_msg
from ego_reasoner_ros.nodes.executor_backends import (
    Backend,
    Cancelled,
    ExecResult,
    RobotBackend,
    SimBackend,
    manipulation_params,
)
from ego_reasoner_ros.nodes.params import ExecutorParams
from ego_reasoner_ros.nodes.safety import ApprovalGate, SafetyConfig, SafetyGate
from ego_reasoner_ros.nodes.qos import ESTOP_QOS, JSON_QOS
from ego_reasoner_ros.training.eb_alfred.skills import BENCHMARK as EB_ALFRED
from ego_reasoner_ros.training.eb_alfred.skills import skill_gate

class ActionExecutorNode(Node):
    """Safety gate + backend dispatch + result reporting."""

    def __init__(self) -> None:
        super().__init__('action_executor')
        self.p = declare(self, ExecutorParams)
        self.safety = SafetyGate(SafetyConfig(
            allowed_verbs=list(self.p.allowed_verbs),
            allowed_objects=list(self.p.allowed_objects),
            max_actions=self.p.max_actions, window_s=self.p.rate_window_s,
            approval_verbs=list(self.p.approval_verbs),
            approval_timeout_s=self.p.approval_timeout_s))
        self.approvals = ApprovalGate()
        self._lock = threading.Lock()
        self._done: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._running: str | None = None
        self._cancel = threading.Event()
        self._cancel_reason = ''
        self._estopped = False
        self._last_heartbeat = 0.0      # any reasoner heartbeat seen: the watchdog is armed
        self._heartbeats: OrderedDict[tuple[str, str], float] = OrderedDict()  # per task run
        self._running_key: tuple[str, str] = ('', '')
        self._running_since = 0.0
        self.backend = self._make_backend()
        self.pub_result = self.create_publisher(String, 'executor/result', JSON_QOS)
        self.create_subscription(String, 'reasoner/action', self._on_action, JSON_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.create_subscription(Bool, 'estop', self._on_estop, ESTOP_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.create_subscription(String, 'executor/approval', self._on_approval, JSON_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.create_subscription(String, 'reasoner/status', self._on_status, JSON_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        if float(self.p.watchdog_timeout_s) > 0:
            self.create_timer(0.1, self._watchdog,
                              callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f'action executor ready: backend={self.p.backend}')

    def _make_backend(self) -> Backend:
        kind = self.p.backend
        if kind == 'sim':
            return SimBackend(self)
        # the backend is 'robot' (ExecutorParams checked it, and that it has a semantic map)
        params = dataclasses.asdict(self.p)
        params['manipulation'] = manipulation_params(self, list(self.p.manipulation_verbs))
        return RobotBackend(self, params)

    # ------------------------------------------------------------ inputs
    def _on_estop(self, msg: Bool) -> None:
        if msg.data:
            self._estopped = True
            self._abort('e-stop')
            self.get_logger().warning('E-STOP: execution stopped, goals cancelled')
        elif self._estopped:
            self._estopped = False
            self.get_logger().info('e-stop released')

    def _abort(self, reason: str) -> None:
        self._cancel_reason = reason
        self._cancel.set()
        self.approvals.cancel_all()
        self.backend.cancel_all()

    def _on_approval(self, msg: String) -> None:
        try:
            ans = protocol.decode('approval', msg.data)
        except protocol.SchemaError as exc:
            self.get_logger().warning(f'ignored approval: {exc}')
            return
        if not self.approvals.answer(ans['action_id'], ans['approved']):
            self.get_logger().warning(f'approval for {ans["action_id"]} matches no pending '
                                      'action')

    def _on_status(self, msg: String) -> None:
        try:
            st = protocol.decode('status', msg.data)
        except protocol.SchemaError:
            return
        if st['state'] in ('running', 'heartbeat', 'accepted'):
            now = time.monotonic()
            self._last_heartbeat = now
            with self._lock:
                key = (st['task_id'], st.get('run_id', ''))
                self._heartbeats[key] = now
                self._heartbeats.move_to_end(key)
                while len(self._heartbeats) > 256:
                    self._heartbeats.popitem(last=False)

    def _watchdog(self) -> None:
        # Armed by the first heartbeat: actions sent by hand, with no reasoner, are not cancelled.
        if self._running is None or self._cancel.is_set() or self._last_heartbeat == 0.0:
            return
        # Per task run: the clock of the running action's own run, started no earlier than the
        # action itself, so a new task is never judged by an earlier task's last heartbeat.
        with self._lock:
            last = max(self._heartbeats.get(self._running_key, 0.0), self._running_since)
        if time.monotonic() - last > float(self.p.watchdog_timeout_s):
            self.get_logger().warning(f'reasoner heartbeat lost: cancelling {self._running}')
            self._abort('reasoner heartbeat lost')

    def _on_action(self, msg: String) -> None:
        try:
            req = protocol.decode('action', msg.data)
        except protocol.SchemaError as exc:
            aid, tid = protocol.best_effort_ids(msg.data)
            self._publish(protocol.error_result(aid, tid, str(exc)))
            return
        aid = req['action_id']
        with self._lock:
            if aid in self._done:
                self.get_logger().info(f'{aid} already ran; resending its result')
                self._publish(self._done[aid])
                return
            if aid == self._running:
                return  # duplicate delivery of the running action
            if self._running is not None:
                self._publish(protocol.error_result(aid, req['task_id'],
                                                    f'busy with {self._running}'))
                return
            self._running = aid
            self._running_key = (req['task_id'], req.get('run_id', ''))
            self._running_since = time.monotonic()
            self._cancel.clear()
            self._cancel_reason = ''
        threading.Thread(target=self._run, args=(req,), name=f'exec-{aid}',
                         daemon=True).start()

    # ------------------------------------------------------------ execution
    def _run(self, req: dict[str, Any]) -> None:
        aid, tid = req['action_id'], req['task_id']
        try:
            payload = self._execute(req)
        except Exception as exc:  # noqa: BLE001 - report, keep the node alive
            self.get_logger().error(f'{aid} failed: {type(exc).__name__}: {exc}')
            payload = protocol.error_result(aid, tid, f'{type(exc).__name__}: {exc}',
                                            status='error')
        if req.get('run_id'):
            payload['run_id'] = req['run_id']
        with self._lock:
            self._done[aid] = payload
            while len(self._done) > 1024:
                self._done.popitem(last=False)
            self._running = None
        self._publish(payload)

    def _gate_action(self, req: dict[str, Any]) -> tuple[str, str | None, str, bool]:
        """(verb, target, label, check the scene's objects) of a request; ValueError if bad.

        An EB-ALFRED skill is checked as the core action it maps onto (``skill_gate``), not
        against the scene's objects: the simulator answers a missing object with EB's own
        feedback, which the benchmark counts.
        """
        if req.get('benchmark') == EB_ALFRED and req['verb'] != 'init':
            if not isinstance(self.backend, SimBackend):
                raise ValueError('EB-ALFRED skills run on the sim backend only')
            verb, target = skill_gate(req['skill'])
            if (verb, target) != (req['verb'], req.get('target')):
                raise ValueError(f'verb/target {req["verb"]!r}/{req.get("target")!r} do not '
                                 f'match skill {req["skill"]!r} ({verb!r}/{target!r})')
            return verb, target, req['skill'], False
        action = Action(req['verb'], req.get('target'))
        return action.verb.value, action.target, str(action), True

    def _execute(self, req: dict[str, Any]) -> dict[str, Any]:
        aid, tid = req['action_id'], req['task_id']
        if self._estopped:
            return protocol.error_result(aid, tid, 'e-stop is active')
        try:
            verb, target, action, scene_check = self._gate_action(req)
        except (ValueError, TypeError) as exc:
            return protocol.error_result(aid, tid, f'invalid action: {exc}')
        if verb == 'end':
            return protocol.error_result(aid, tid, "'end' is not executed")
        if verb != 'init':
            scene = (self.backend.scene_objects()
                     if scene_check and self.p.check_scene_objects else None)
            decision = self.safety.check_parts(verb, target, scene)
            if not decision.ok:
                return protocol.error_result(aid, tid, decision.reason)
            if self.safety.needs_approval_verb(verb):
                self.approvals.request(aid)
                self.get_logger().info(f'waiting for approval of {aid}: {action}')
                if not self.approvals.wait(aid, self.safety.config.approval_timeout_s):
                    return protocol.error_result(aid, tid, f'{action} was not approved')
        if self._cancel.is_set():
            return protocol.error_result(aid, tid, f'cancelled: {self._cancel_reason}',
                                         status='cancelled')
        timeout = float(self.p.action_timeout_s)
        try:
            res: ExecResult = self.backend.execute(req, self._cancel, timeout)
        except Cancelled:
            return protocol.error_result(aid, tid, f'cancelled: {self._cancel_reason}',
                                         status='cancelled')
        except TimeoutError:
            self.backend.cancel_all()
            return protocol.error_result(aid, tid, f'{action} timed out after {timeout:g} s',
                                         status='timeout')
        payload = {'action_id': aid, 'task_id': tid, 'status': res.status,
                   'success': res.success, 'feedback': res.feedback,
                   'frame_stamps': res.frame_stamps, 'legal_objects': res.legal_objects,
                   'scene_types': res.scene_types}
        if res.error:
            payload['error'] = res.error
        if res.eb is not None:
            payload['eb'] = res.eb
        self.get_logger().info(f'{aid}: {action} -> {res.status}'
                               + (f' ({res.feedback})' if res.feedback else ''))
        return payload

    def _publish(self, payload: dict[str, Any]) -> None:
        self.pub_result.publish(json_msg('result', payload))

    def close(self) -> None:
        """Cancel anything still moving."""
        self._abort('shutdown')


def main(args: list[str] | None = None) -> None:
    """Console entry point ``action_executor_node``."""
    raise SystemExit(run_node(ActionExecutorNode, args))


if __name__ == '__main__':
    main()
