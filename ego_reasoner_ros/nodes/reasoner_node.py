# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Reasoner node: a task in, the policy + Embodied-Reasoner loop on a worker thread, actions out.

Run::

    ros2 run ego_reasoner_ros reasoner_node --ros-args --params-file config/reasoner.yaml

Subscribes ``task`` (JSON), ``camera/image_raw``, ``executor/result`` (JSON), ``estop``
and, for the expert only, ``debug/world_state``; publishes ``reasoner/thought``,
``reasoner/action`` and ``reasoner/status`` (JSON, also a heartbeat while a task runs).
The episode runs :func:`ego_reasoner_ros.core.loop.run_episode` against
:class:`RosStepEnvironment`, so step budgets, invalid outputs and timeouts are handled
exactly as in evaluation; callbacks never block on inference. An EB-ALFRED task
(``benchmark: eb-alfred``) runs EB's protocol instead, the loop of
:func:`ego_reasoner_ros.training.eb_alfred.loop.run_eb_episode` over
:class:`~ego_reasoner_ros.training.eb_alfred.remote.RemoteEBEnv` with this node's transport.
"""

from __future__ import annotations

from collections import OrderedDict
import datetime as _dt
import json
from pathlib import Path
import threading
import time
from typing import Any
import uuid

import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, String

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.loop import EpisodeError, LoopConfig, StepOutcome, run_episode
from ego_reasoner_ros.core.parser import extract_thought
from ego_reasoner_ros.core.policy import (Policy, PolicyInput, PolicyWrapper, ScriptedPolicy,
                                          make_policy)
from ego_reasoner_ros.nodes import protocol
from ego_reasoner_ros.nodes.common import declare, run_node
from ego_reasoner_ros.nodes.conversions import json_msg, msg_to_image, stamp_to_ns
from ego_reasoner_ros.nodes.params import ReasonerParams
from ego_reasoner_ros.nodes.qos import IMAGE_QOS, JSON_QOS, LATCHED_QOS
from ego_reasoner_ros.nodes.world_mirror import WorldMirror
from ego_reasoner_ros.training.eb_alfred.skills import BENCHMARK as EB_ALFRED
from ego_reasoner_ros.training.eb_alfred.skills import EB_POLICIES

class TaskAbortedError(RuntimeError):
    """The running task was aborted (e-stop or shutdown)."""


def wait_for_subscriber(pub: Any, abort: threading.Event, deadline: float) -> None:
    """Block until ``pub`` has matched a subscriber (discovery), abort, or ``deadline``."""
    while pub.get_subscription_count() == 0:
        if abort.is_set():
            raise TaskAbortedError('aborted while waiting for a subscriber')
        if time.monotonic() > deadline:
            raise TimeoutError(f'nobody subscribes to {pub.topic_name}')
        time.sleep(0.02)


def build_policy(spec: str) -> Policy:
    """``make_policy(spec)``, plus ``scripted:<file.json>`` for tests and graph checks.

    The file holds a list of model outputs, or ``{"outputs": [...], "delay_s": 0.5}``.
    """
    if spec.startswith('scripted:'):
        data = json.loads(Path(spec.partition(':')[2]).read_text())
        outputs = data['outputs'] if isinstance(data, dict) else data
        policy = ScriptedPolicy(outputs, when_exhausted='<DecisionMaking>end</DecisionMaking>')
        delay = float(data.get('delay_s', 0.0)) if isinstance(data, dict) else 0.0
        return _SlowPolicy(policy, delay) if delay > 0 else policy
    return make_policy(spec)


class _SlowPolicy(PolicyWrapper):
    """A policy that thinks for ``delay_s`` before each answer (stands in for a slow model)."""

    def __init__(self, inner: Policy, delay_s: float) -> None:
        super().__init__(inner)
        self.delay_s = delay_s

    def act(self, inp: PolicyInput) -> str:
        time.sleep(self.delay_s)
        return self.inner.act(inp)


class _ThoughtTap(PolicyWrapper):
    """Wraps the real policy and publishes each thought as soon as the model produces it."""

    def __init__(self, inner: Policy, on_output: Any) -> None:
        super().__init__(inner)
        self._on_output = on_output

    def act(self, inp: PolicyInput) -> str:
        raw = self.inner.act(inp)
        if isinstance(raw, str):
            self._on_output(inp.step, raw)
        return raw


class RosStepEnvironment:
    """The core loop's ``StepEnvironment`` over ROS: actions out, results and frames in."""

    def __init__(self, node: ReasonerNode, task: dict[str, Any], run_id: str) -> None:
        self.node, self.task, self.run_id = node, task, run_id
        self.step = 0
        self.world: Any = node.mirror.proxy if node.mirror is not None else None

    def reset(self) -> StepOutcome:
        extra = {k: self.task[k] for k in ('scene', 'seed', 'sim_task') if k in self.task}
        outcome = self._run('init', None, extra)
        if not outcome.success:
            raise RuntimeError(f'init failed: {outcome.feedback}')
        return outcome

    def execute(self, action: Action) -> StepOutcome:
        return self._run(action.verb.value, action.target, {})

    def _run(self, verb: str, target: str | None, extra: dict[str, Any]) -> StepOutcome:
        node = self.node
        if node.abort.is_set():
            raise TaskAbortedError(node.abort_reason)
        # the run id makes every run of a task (a repeated task_id too) its own actions
        # the episode loop's step number (init is 0), the one the thought log and the
        # replay use; a reply naming an object the scene lacks takes a number but sends none
        self.step = 0 if verb == 'init' else max(node.decision_step, self.step + 1)
        aid = f'{self.task["task_id"]}/{node.boot_id}/{self.run_id}/{self.step}'
        payload = {'action_id': aid, 'task_id': self.task['task_id'], 'step': self.step,
                   'verb': verb, 'run_id': self.run_id, **extra}
        if target is not None:
            payload['target'] = target
        node.get_logger().info(f'[step {payload["step"]}] action: {verb}'
                               + (f' {target}' if target else ''))
        res = node.request(aid, payload)
        images = node.frames_for(res['frame_stamps'])
        if res.get('error') and not res['success'] and verb == 'init':
            # the simulator could not start the episode (unknown scene, bad sim_task):
            # that error is the cause, not the world state it never published
            raise RuntimeError(f'init failed: {res["error"]}')
        if (node.mirror is not None and res['status'] in ('succeeded', 'failed')
                and (res['success'] or not res.get('error') or res['frame_stamps'])):
            node.wait_world(aid)  # a rejected action never ran: no new world state comes
        feedback = res['feedback']
        if res['status'] == 'cancelled':
            raise TaskAbortedError(feedback)
        if res['status'] not in ('succeeded', 'failed'):
            feedback = feedback or res['status']
        node.get_logger().info(f'[step {payload["step"]}] result: {res["status"]}'
                               + (f' ({feedback})' if feedback else ''))
        return StepOutcome(success=bool(res['success']), feedback=feedback, images=images,
                           legal_objects=list(res['legal_objects']),
                           scene_types=list(res['scene_types']),
                           info={'action_id': aid, 'status': res['status']})


class ReasonerNode(Node):
    """Runs one task at a time on a worker thread; everything else stays responsive."""

    def __init__(self) -> None:
        super().__init__('reasoner')
        self.p = declare(self, ReasonerParams)
        self.boot_id = uuid.uuid4().hex[:8]
        self._cond = threading.Condition()
        self._results: dict[str, dict[str, Any]] = {}
        self._waiting: set[str] = set()
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._world_action: str | None = None
        self._world_state: dict[str, Any] | None = None
        self.abort = threading.Event()
        self.abort_reason = ''
        self._task: dict[str, Any] | None = None
        self._run_id = ''
        self._step = 0
        self.decision_step = 0  # the loop step of the decision being executed
        self._estopped = False
        self._failed_task = False
        self._worker: threading.Thread | None = None
        self._eb_root: Path | None = None

        try:
            import ego_reasoner_ros.training.policies  # noqa: F401 - registers the policies
        except ImportError as exc:
            self.get_logger().warning(f'training policies unavailable: {exc}')
        # an EB-only policy (oracle, heuristic) is built per EB-ALFRED task; ER tasks need
        # one of the core registry's
        self.policy: Policy | None = (None if self.p.policy in EB_POLICIES
                                      else build_policy(self.p.policy))
        needs_world = self.policy is not None and self.policy.needs_world
        self.mirror = WorldMirror() if needs_world else None

        self.pub_thought = self.create_publisher(String, 'reasoner/thought', JSON_QOS)
        self.pub_action = self.create_publisher(String, 'reasoner/action', JSON_QOS)
        self.pub_status = self.create_publisher(String, 'reasoner/status', JSON_QOS)
        fast = ReentrantCallbackGroup()
        self.create_subscription(String, 'task', self._on_task, JSON_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self.create_subscription(Image, self.p.image_topic, self._on_image, IMAGE_QOS,
                                 callback_group=fast)
        self.create_subscription(String, 'executor/result', self._on_result, JSON_QOS,
                                 callback_group=fast)
        self.create_subscription(Bool, 'estop', self._on_estop, 10, callback_group=fast)
        if self.mirror is not None:
            self.create_subscription(String, 'debug/world_state', self._on_world, LATCHED_QOS,
                                     callback_group=fast)
        hz = float(self.p.heartbeat_hz)
        if hz > 0:
            self.create_timer(1.0 / hz, self._heartbeat,
                              callback_group=MutuallyExclusiveCallbackGroup())
        self._status('idle', 'ready', task_id='none')
        if self.p.initial_task or self.p.initial_task_file:
            self._initial_timer = self.create_timer(1.0, self._start_initial_task)
        name = self.policy.name if self.policy is not None else self.p.policy
        self.get_logger().info(f'reasoner ready: policy={name} boot={self.boot_id}')

    # ------------------------------------------------------------ inputs
    def _on_image(self, msg: Image) -> None:
        try:
            frame = msg_to_image(msg)
        except ValueError as exc:
            self.get_logger().warning(f'dropped camera frame: {exc}')
            return
        with self._cond:
            self._frames[stamp_to_ns(msg.header.stamp)] = frame
            while len(self._frames) > 64:
                self._frames.popitem(last=False)
            self._cond.notify_all()

    def _on_result(self, msg: String) -> None:
        try:
            res = protocol.decode('result', msg.data)
        except protocol.SchemaError as exc:
            self.get_logger().warning(f'ignored malformed result: {exc}')
            return
        with self._cond:
            if res['action_id'] in self._waiting:  # results of other actions are ignored
                self._results[res['action_id']] = res
                self._cond.notify_all()

    def _on_world(self, msg: String) -> None:
        try:
            st = protocol.decode('world_state', msg.data)
        except protocol.SchemaError as exc:
            self.get_logger().warning(f'ignored world state: {exc}')
            return
        with self._cond:
            self._world_state, self._world_action = st['world'], st['action_id']
            self._cond.notify_all()

    def _on_estop(self, msg: Bool) -> None:
        was = self._estopped
        self._estopped = bool(msg.data)
        if msg.data and self._task is not None:
            self.abort_reason = 'e-stop'
            self.abort.set()
            with self._cond:
                self._cond.notify_all()
        if self._estopped != was:  # say so, so a client knows why tasks are rejected
            self._status('idle', 'e-stop active: new tasks are rejected' if msg.data
                         else 'e-stop released', task_id='none', step=0)

    def _on_task(self, msg: String) -> None:
        try:
            task = protocol.decode('task', msg.data)
        except protocol.SchemaError as exc:
            _aid, tid = protocol.best_effort_ids(msg.data)
            self._status('rejected', str(exc), task_id=tid, step=0)
            return
        self.start_task(task)

    def _start_initial_task(self) -> None:
        self._initial_timer.cancel()
        text = self.p.initial_task.strip()
        try:
            if self.p.initial_task_file:
                text = Path(self.p.initial_task_file).read_text().strip()
            task = protocol.decode('task', text) if text.startswith('{') else protocol.validate(
                'task', {'task_id': f'task-{self.boot_id}', 'instruction': text})
        except (OSError, protocol.SchemaError) as exc:
            self._status('rejected', str(exc), task_id='initial', step=0)
            self._failed_task = True
            self._maybe_exit()
            return
        if self.p.initial_task_type and 'task_type' not in task:
            task['task_type'] = self.p.initial_task_type
        if self.p.initial_scene and 'scene' not in task:
            task['scene'] = self.p.initial_scene
        self.start_task(task)

    def start_task(self, task: dict[str, Any]) -> bool:
        """Start ``task`` on the worker thread; reject it while another task runs."""
        if self._task is not None:
            self._status('rejected', f'busy with task {self._task["task_id"]}',
                         task_id=task['task_id'], step=0)
            return False
        if self._estopped:
            self._status('rejected', 'e-stop is active; release it (estop false) first',
                         task_id=task['task_id'], step=0)
            return False
        try:
            episode = self._task_episode(task)
        except ValueError as exc:  # DataError too
            self._status('rejected', str(exc), task_id=task['task_id'], step=0)
            return False
        run_id = uuid.uuid4().hex[:8]
        self._task, self._step, self._run_id = task, 0, run_id
        self.abort.clear()
        # the whole task rides on 'accepted', so a bag holds it even when it never crossed
        # the task topic (initial_task, a service call)
        self._status('accepted', episode.instruction if episode else task['instruction'],
                     task_id=task['task_id'], task=task)
        target = self._run_task if episode is None else self._run_eb_task
        self._worker = threading.Thread(target=target, args=(task, run_id, episode),
                                        name='reasoner-episode', daemon=True)
        self._worker.start()
        return True

    def _task_episode(self, task: dict[str, Any]) -> Any:
        """The EB-ALFRED episode a task names (None for an ER task); ValueError: why not."""
        if task.get('benchmark', 'er') != EB_ALFRED:
            if self.policy is None:
                raise ValueError(f'policy {self.p.policy!r} plans {EB_ALFRED} episodes '
                                 'only')
            return None
        if self.policy is not None and self.policy.needs_world:
            raise ValueError(f'policy {self.p.policy!r} plans Embodied-Reasoner tasks '
                             f'only, not {EB_ALFRED} episodes')
        from ego_reasoner_ros.training.eb_alfred import remote
        if self._eb_root is None:
            self._eb_root = remote.resolve_eb_data(self.p.eb_data or None)
        return remote.find_episode(self._eb_root, task['episode']['subset'],
                                   task['episode']['index'])

    # ------------------------------------------------------------ worker side
    def request(self, aid: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Publish an action and block (worker thread) until its own result arrives."""
        timeout = float(self.p.action_timeout_s)
        with self._cond:
            self._waiting.add(aid)
        try:
            deadline = time.monotonic() + timeout
            wait_for_subscriber(self.pub_action, self.abort, deadline)
            message = json_msg('action', payload)
            self.pub_action.publish(message)
            # A sample sent while discovery is still completing on the executor's side can be
            # lost; the executor is idempotent per action_id (a duplicate of a running action is
            # ignored, of a finished one answered with the stored result), so resend until a
            # result arrives.
            resend_s = float(self.p.action_resend_s)
            next_send = time.monotonic() + resend_s
            with self._cond:
                while aid not in self._results:
                    if self.abort.is_set():
                        raise TaskAbortedError(self.abort_reason)
                    now = time.monotonic()
                    left = deadline - now
                    if left <= 0:
                        raise TimeoutError(f'no result for {aid} within {timeout:g} s')
                    if resend_s > 0 and now >= next_send:
                        self.pub_action.publish(message)
                        next_send = now + resend_s
                    self._cond.wait(min(left, 0.1))
                return self._results.pop(aid)
        finally:
            with self._cond:
                self._waiting.discard(aid)
                self._results.pop(aid, None)

    def frames_for(self, stamps: list[int]) -> list[np.ndarray]:
        """The frames with these stamps (waits up to ``frame_wait_s`` for late ones)."""
        deadline = time.monotonic() + float(self.p.frame_wait_s)
        with self._cond:
            while any(s not in self._frames for s in stamps):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [s for s in stamps if s not in self._frames]
                    self.get_logger().warning(f'frames {missing} never arrived')
                    break
                self._cond.wait(min(left, 0.05))
            return [self._frames[s] for s in stamps if s in self._frames]

    def wait_world(self, aid: str) -> None:
        """Wait for the world state published after ``aid`` and sync the mirror."""
        deadline = time.monotonic() + float(self.p.world_wait_s)
        with self._cond:
            while self._world_action != aid:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f'no debug/world_state after {aid}; the expert needs '
                                       'the sim bridge with publish_world_state: true')
                self._cond.wait(min(left, 0.05))
            state = self._world_state
        assert self.mirror is not None and state is not None
        self.mirror.sync(state)

    def _on_output(self, step: int, raw: str) -> None:
        task = self._task or {}
        thought = extract_thought(raw)
        self._step = step
        self.decision_step = step
        self.get_logger().info(f'[step {step}] thought: {thought.strip()}')
        self.pub_thought.publish(json_msg('thought', {
            'task_id': task.get('task_id', 'unknown'), 'step': step, 'thought': thought,
            'raw': raw, 'run_id': self._run_id}))

    def _wait_for_recorder(self) -> None:
        """Give a bag recorder time to match the step topics, so the bag has the whole task.

        The recorder is the only subscriber of the thought topic and a second subscriber of the
        action topic (besides the executor).
        """
        limit = float(self.p.wait_for_recorder_s)
        deadline = time.monotonic() + limit
        while limit > 0 and time.monotonic() < deadline and not self.abort.is_set():
            if (self.pub_thought.get_subscription_count() >= 1
                    and self.pub_status.get_subscription_count() >= 1
                    and self.pub_action.get_subscription_count() >= 2):
                return
            time.sleep(0.05)
        if limit > 0:
            self.get_logger().warning('no recorder matched the step topics in time')

    def _run_task(self, task: dict[str, Any], run_id: str, _episode: Any = None) -> None:
        tid = task['task_id']
        run_dir = self._run_dir(tid, run_id)
        state, message, success, record = 'error', '', False, None
        try:
            self._wait_for_recorder()
            self._status('running', 'episode started', task_id=tid)
            env = RosStepEnvironment(self, task, run_id)
            max_steps = int(self.p.max_steps) or None
            config = LoopConfig(parser_mode=self.p.parser_mode, max_steps=max_steps,
                                step_timeout_s=float(self.p.step_timeout_s) or None)
            record = run_episode(_ThoughtTap(self.policy, self._on_output), env,
                                 task['instruction'], task.get('task_type', ''),
                                 config=config, seed=task.get('seed'),
                                 episode_id=f'{tid}_{run_id}'.replace('/', '_'),
                                 scene=task.get('scene'))
            success = record.terminated_by == 'end' and bool(record.end_success)
            state = 'succeeded' if success else 'failed'
            message = f'ended by {record.terminated_by} after {record.step_count} steps'
        except EpisodeError as exc:
            record = exc.record
            aborted = isinstance(exc.__cause__, TaskAbortedError)
            state = 'aborted' if aborted else 'error'
            message = str(exc.__cause__ or exc)
        except Exception as exc:  # noqa: BLE001 - report, keep the node alive
            message = f'{type(exc).__name__}: {exc}'
        saved = self._save(record, run_dir) if record is not None else None
        self._finish_task(tid, run_id, state, message, success, saved)

    def _finish_task(self, tid: str, run_id: str, state: str, message: str, success: bool,
                     saved: Path | None) -> None:
        self.get_logger().info(f'task {tid}: {state} ({message})')
        self._failed_task = not success
        self._task = None  # free before the final status: a client may send the next at once
        self._status(state, message, task_id=tid, success=success,
                     run_dir=str(saved) if saved else None, run_id=run_id)
        self._maybe_exit()

    def _eb_send(self, task: dict[str, Any], run_id: str,
                 fields: dict[str, Any]) -> Any:
        """The EB-ALFRED transport: one init or skill as an action, its result back."""
        from ego_reasoner_ros.training.eb_alfred.remote import RemoteReply
        if self.abort.is_set():
            raise TaskAbortedError(self.abort_reason)
        step = int(fields.pop('step'))
        aid = f'{task["task_id"]}/{self.boot_id}/{run_id}/{step}'
        payload = {'action_id': aid, 'task_id': task['task_id'], 'step': step,
                   'run_id': run_id, 'benchmark': EB_ALFRED, **fields}
        what = fields.get('skill') or f'init {task["episode"]}'
        self.get_logger().info(f'[step {step}] action: {what}')
        res = self.request(aid, payload)
        if res['status'] == 'cancelled':
            raise TaskAbortedError(res['feedback'])
        if res['status'] in ('timeout', 'error'):
            raise RuntimeError(f'{what}: {res["status"]}: {res["feedback"]}')
        self.get_logger().info(f'[step {step}] result: {res["status"]} ({res["feedback"]})')
        return RemoteReply(success=bool(res['success']), feedback=res['feedback'],
                           status=res['status'], images=self.frames_for(res['frame_stamps']),
                           eb=dict(res.get('eb') or {}))

    def _run_eb_task(self, task: dict[str, Any], run_id: str, episode: Any) -> None:
        from ego_reasoner_ros.training.eb_alfred import remote
        tid = task['task_id']
        state, message, success, saved = 'error', '', False, None
        try:
            self._wait_for_recorder()
            self._status('running', 'episode started', task_id=tid)
            policy = remote.make_remote_policy(self.p.policy, self.policy)
            record = remote.run_remote_episode(
                _ThoughtTap(policy, self._on_output), remote.load_spec(self._eb_root),
                episode, lambda fields: self._eb_send(task, run_id, fields),
                language_only=bool(task.get('language_only', False)),
                parser=self.p.parser_mode)
            success = bool(record['success'])
            state = 'succeeded' if success else 'failed'
            message = (f'ended by {record["ended_by"]} after {record["num_steps"]} actions, '
                       f'{record["planner_steps"]} plans; progress {record["progress"]:.2f}')
            if self.p.save_episodes:
                saved = remote.write_run(record, self._run_dir(tid, run_id))
        except TaskAbortedError as exc:
            state, message = 'aborted', str(exc)
        except Exception as exc:  # noqa: BLE001 - report, keep the node alive
            message = f'{type(exc).__name__}: {exc}'
        self._finish_task(tid, run_id, state, message, success, saved)

    def _run_dir(self, task_id: str, run_id: str) -> Path:
        """``run_dir`` when set (one task per launch), else a new folder per task run."""
        if self.p.run_dir:
            return Path(self.p.run_dir)
        stamp = _dt.datetime.now().strftime('%Y%m%d_%H%M%S_%f')
        safe = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in task_id)[:64]
        return Path(self.p.runs_dir) / f'{stamp}_{safe}_{run_id}'

    def _save(self, record: Any, run_dir: Path) -> Path | None:
        if not self.p.save_episodes:
            return None
        try:
            from ego_reasoner_ros.runtime.replay import write_replay
            run_dir.mkdir(parents=True, exist_ok=True)
            record.save(run_dir / 'episode', overwrite=True)
            paths = write_replay(record, run_dir)
            (run_dir / 'summary.json').write_text(json.dumps({
                'episode_id': record.episode_id, 'instruction': record.instruction,
                'terminated_by': record.terminated_by, 'steps': record.step_count,
                'actions': [str(s.action) for s in record.steps if s.action is not None],
                'replay': str(paths.html)}, indent=2))
            self.get_logger().info(f'episode replay: {paths.html.resolve()}')
            return run_dir.resolve()
        except Exception as exc:  # noqa: BLE001 - saving must not kill the node
            self.get_logger().error(f'could not save the episode: {exc}')
            return None

    def _maybe_exit(self) -> None:
        if self.p.exit_after_task:
            import rclpy
            self.get_logger().info('task done; exiting (exit_after_task)')
            rclpy.try_shutdown(context=self.context)

    @property
    def exit_code(self) -> int:
        """With ``exit_after_task``: 1 when the task did not succeed, else 0."""
        return 1 if self.p.exit_after_task and self._failed_task else 0

    # ------------------------------------------------------------ status
    def _heartbeat(self) -> None:
        task = self._task
        if task is not None:
            self._status('heartbeat', 'running', task_id=task['task_id'])

    def _status(self, state: str, message: str, *, task_id: str, success: bool | None = None,
                run_dir: str | None = None, task: dict[str, Any] | None = None,
                step: int | None = None, run_id: str | None = None) -> None:
        """Publish a status; without ``step``, it is about the current run (its step, run id)."""
        payload: dict[str, Any] = {'task_id': task_id or 'unknown', 'state': state,
                                   'step': self._step if step is None else step,
                                   'message': message, 'boot_id': self.boot_id}
        if run_id is None and step is None and self._task is not None:
            run_id = self._run_id
        if run_id:
            payload['run_id'] = run_id
        if success is not None:
            payload['success'] = success
        if run_dir:
            payload['run_dir'] = run_dir
        if task is not None:
            payload['task'] = task
        self.pub_status.publish(json_msg('status', payload))

    def close(self) -> None:
        """Abort a running task so the worker stops sending actions."""
        self.abort_reason = 'shutdown'
        self.abort.set()


def main(args: list[str] | None = None) -> None:
    """Console entry point ``reasoner_node``."""
    raise SystemExit(run_node(ReasonerNode, args))


if __name__ == '__main__':
    main()
