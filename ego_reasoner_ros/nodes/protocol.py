# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""JSON payloads carried in ``std_msgs/String`` between the nodes, validated on receipt.

ROS-free. Every request carries an ``action_id`` (or ``task_id``) and every reply echoes it,
so a result can never be matched to the wrong action. Topic names are relative.

=========================  =================  =============================================
topic                      type               JSON fields
=========================  =================  =============================================
``task``                   std_msgs/String    task_id, instruction, [task_type], [scene],
                                              [seed], [sim_task] (simulator only);
                                              EB-ALFRED: task_id, benchmark, episode,
                                              [language_only]
``reasoner/thought``       std_msgs/String    task_id, step, thought, raw, [run_id]
``reasoner/action``        std_msgs/String    action_id, task_id, step, verb, [target],
                                              [scene], [seed], [sim_task] (init only),
                                              [run_id], [benchmark], [episode] (init),
                                              [skill] (EB-ALFRED)
``reasoner/status``        std_msgs/String    task_id, state, step, message, boot_id,
                                              [run_id], [run_dir], [success], [task]
``executor/result``        std_msgs/String    action_id, task_id, status, success,
                                              feedback, frame_stamps, legal_objects,
                                              scene_types, [error], [run_id], [eb]
``executor/approval``      std_msgs/String    action_id, approved
``sim/action``             std_msgs/String    action_id, verb, [target], [scene], [seed],
                                              [sim_task], [benchmark], [episode], [skill]
``sim/result``             std_msgs/String    action_id, success, feedback, frame_stamps,
                                              legal_objects, scene_types, terminated,
                                              [error], [eb]
``debug/world_state``      std_msgs/String    seq, action_id, world (snapshot, expert only)
``estop``                  std_msgs/Bool      true stops and cancels, false releases
``camera/image_raw``       sensor_msgs/Image  rgb8; header.stamp identifies the frame
``camera/camera_info``     sensor_msgs/CameraInfo
``camera/depth/image_raw`` sensor_msgs/Image  32FC1 metres (when enabled)
=========================  =================  =============================================

``frame_stamps`` are the ``header.stamp`` of the frames an action produced, in nanoseconds.
Every run of a task (also a repeated ``task_id``) gets a fresh ``run_id``; its action ids are
``<task_id>/<boot_id>/<run_id>/<step>``, so a result can never answer another run.
``sim_task`` holds only ``navigable_objects``, ``target_objects``, ``related_objects`` (lists
of strings) and ``identity`` (int, string or null); anything else is rejected on receipt.

``benchmark`` is ``er`` (the default: an Embodied-Reasoner task) or ``eb-alfred``. An
EB-ALFRED task names a public split entry, ``{"task_id": "t1", "benchmark": "eb-alfred",
"episode": {"subset": "base", "index": 3}}``, optionally ``"language_only": true`` (no frame
in the prompt); the episode sets the instruction and the scene, so ``instruction``,
``task_type``, ``scene``, ``seed`` and ``sim_task`` are rejected there. Its ``init`` action
carries ``benchmark`` and ``episode``; every later action carries ``benchmark`` and the EB
``skill`` (``"find a Cabinet_2"``) with ``verb``/``target`` the core action the safety gate
checks it as (:func:`ego_reasoner_ros.training.eb_alfred.remote.skill_gate`). Results carry
``eb``: on init the episode id, instruction, action list and instance names; after every
skill the goal conditions met (``conditions``: [met, total]) and ``task_success``.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import Any

from ego_reasoner_ros.core.errors import EgoReasonerError
from ego_reasoner_ros.training.eb_alfred.skills import BENCHMARK as EB_ALFRED
from ego_reasoner_ros.training.eb_alfred.skills import check_episode_ref

MAX_PAYLOAD = 1 << 20

#: result ``status`` values
RESULT_STATUSES = ('succeeded', 'failed', 'rejected', 'cancelled', 'timeout', 'error')
#: reasoner ``state`` values
TASK_STATES = ('idle', 'accepted', 'running', 'succeeded', 'failed', 'aborted', 'rejected',
               'error', 'heartbeat')


class SchemaError(EgoReasonerError, ValueError):
    """A JSON payload does not follow its documented schema."""


@dataclass(frozen=True)
class Field:
    """One JSON field: name, accepted Python types, whether it must be present."""

    name: str
    types: tuple[type, ...]
    required: bool = True


def _f(name: str, *types: type, required: bool = True) -> Field:
    return Field(name, types, required)


_STR = str
_INT = int
_LIST = list
SCHEMAS: dict[str, tuple[Field, ...]] = {
    'task': (_f('task_id', _STR), _f('instruction', _STR, required=False),
             _f('task_type', _STR, required=False), _f('scene', _STR, required=False),
             _f('seed', _INT, required=False), _f('sim_task', dict, required=False),
             _f('benchmark', _STR, required=False), _f('episode', dict, required=False),
             _f('language_only', bool, required=False)),
    'thought': (_f('task_id', _STR), _f('step', _INT), _f('thought', _STR),
                _f('raw', _STR, required=False), _f('run_id', _STR, required=False)),
    'action': (_f('action_id', _STR), _f('task_id', _STR), _f('step', _INT),
               _f('verb', _STR), _f('target', _STR, type(None), required=False),
               _f('scene', _STR, required=False), _f('seed', _INT, required=False),
               _f('sim_task', dict, required=False), _f('run_id', _STR, required=False),
               _f('benchmark', _STR, required=False), _f('episode', dict, required=False),
               _f('skill', _STR, required=False)),
    'status': (_f('task_id', _STR), _f('state', _STR), _f('step', _INT),
               _f('message', _STR), _f('boot_id', _STR), _f('run_dir', _STR, required=False),
               _f('success', bool, required=False), _f('task', dict, required=False),
               _f('run_id', _STR, required=False)),
    'result': (_f('action_id', _STR), _f('task_id', _STR), _f('status', _STR),
               _f('success', bool), _f('feedback', _STR), _f('frame_stamps', _LIST),
               _f('legal_objects', _LIST), _f('scene_types', _LIST),
               _f('error', _STR, required=False), _f('run_id', _STR, required=False),
               _f('eb', dict, required=False)),
    'approval': (_f('action_id', _STR), _f('approved', bool)),
    'sim_action': (_f('action_id', _STR), _f('verb', _STR),
                   _f('target', _STR, type(None), required=False),
                   _f('scene', _STR, required=False), _f('seed', _INT, required=False),
                   _f('sim_task', dict, required=False),
                   _f('benchmark', _STR, required=False), _f('episode', dict, required=False),
                   _f('skill', _STR, required=False)),
    'sim_result': (_f('action_id', _STR), _f('success', bool), _f('feedback', _STR),
                   _f('frame_stamps', _LIST), _f('legal_objects', _LIST),
                   _f('scene_types', _LIST), _f('terminated', bool),
                   _f('error', _STR, required=False), _f('eb', dict, required=False)),
    'world_state': (_f('seq', _INT), _f('action_id', _STR), _f('world', dict)),
}


def validate(kind: str, payload: Any) -> dict[str, Any]:
    """Check ``payload`` against the schema ``kind``; return it (unknown keys are dropped).

    Raises:
        SchemaError: missing field, wrong type, bad enum value or empty id.
    """
    if kind not in SCHEMAS:
        raise SchemaError(f'unknown schema {kind!r}')
    if not isinstance(payload, dict):
        raise SchemaError(f'{kind}: expected a JSON object, got {type(payload).__name__}')
    out: dict[str, Any] = {}
    for field in SCHEMAS[kind]:
        if field.name not in payload:
            if field.required:
                raise SchemaError(f'{kind}: missing field {field.name!r}')
            continue
        value = payload[field.name]
        ok = isinstance(value, field.types)
        if ok and bool not in field.types and isinstance(value, bool):
            ok = False  # bool is an int subclass; do not accept true as a step number
        if not ok:
            names = '/'.join('null' if t is type(None) else t.__name__ for t in field.types)
            raise SchemaError(f'{kind}: field {field.name!r} must be {names}, '
                              f'got {type(value).__name__}')
        out[field.name] = value
    for key in ('action_id', 'task_id'):
        if key in out and not out[key].strip():
            raise SchemaError(f'{kind}: {key} must not be empty')
    if kind == 'result' and out['status'] not in RESULT_STATUSES:
        raise SchemaError(f'result: status must be one of {RESULT_STATUSES}')
    if kind == 'status' and out['state'] not in TASK_STATES:
        raise SchemaError(f'status: state must be one of {TASK_STATES}')
    if kind in ('task', 'action', 'sim_action'):
        check_benchmark(out, kind)
    if 'sim_task' in out:
        check_sim_task(out['sim_task'], kind)
    return out


#: ``benchmark`` values: Embodied-Reasoner tasks (the default) and EB-ALFRED episodes
BENCHMARKS = ('er', EB_ALFRED)
#: fields of an ER task that an EB-ALFRED task may not carry (its episode sets them)
_ER_ONLY = ('instruction', 'task_type', 'scene', 'seed', 'sim_task')


def check_benchmark(out: dict[str, Any], kind: str) -> None:
    """The benchmark rules of a task or an action (see the module docstring)."""
    bench = out.get('benchmark', 'er')
    if bench not in BENCHMARKS:
        raise SchemaError(f'{kind}: benchmark must be one of {list(BENCHMARKS)}, '
                          f'got {bench!r}')
    if 'episode' in out:
        if bench != EB_ALFRED:
            raise SchemaError(f"{kind}: episode needs \"benchmark\": \"{EB_ALFRED}\"")
        try:
            check_episode_ref(out['episode'])
        except ValueError as exc:
            raise SchemaError(f'{kind}: {exc}') from None
    if kind == 'task':
        if bench == 'er':
            if 'instruction' not in out:
                raise SchemaError("task: missing field 'instruction'")
            if not out['instruction'].strip():
                raise SchemaError('task: instruction must not be empty')
            if 'language_only' in out:
                raise SchemaError(f'task: language_only applies to benchmark {EB_ALFRED!r} '
                                  'only')
            return
        extra = [k for k in _ER_ONLY if k in out]
        if extra:
            raise SchemaError(f'task: {extra} do not apply to benchmark {EB_ALFRED!r} (the '
                              'episode sets the instruction and the scene)')
        if 'episode' not in out:
            raise SchemaError(f'task: benchmark {EB_ALFRED!r} needs an episode '
                              '{"subset": ..., "index": ...}')
        return
    # actions: init carries the episode, every other EB action its skill
    if bench == 'er':
        if 'skill' in out:
            raise SchemaError(f"{kind}: skill needs \"benchmark\": \"{EB_ALFRED}\"")
        return
    if out['verb'] == 'init':
        if 'episode' not in out:
            raise SchemaError(f'{kind}: an {EB_ALFRED} init needs an episode')
        if 'skill' in out:
            raise SchemaError(f'{kind}: an init carries no skill')
        return
    if 'episode' in out:
        raise SchemaError(f'{kind}: only an init carries an episode')
    if not out.get('skill', '').strip():
        raise SchemaError(f'{kind}: an {EB_ALFRED} action needs a skill '
                          '("find a Cabinet_2", ...)')


#: the keys a ``sim_task`` may hold (the simulator's ``TaskSpec``)
SIM_TASK_LISTS = ('navigable_objects', 'target_objects', 'related_objects')


def check_sim_task(sim_task: dict[str, Any], kind: str = 'task') -> None:
    """Reject a ``sim_task`` the simulator could not use (unknown key, wrong type)."""
    unknown = sorted(set(sim_task) - set(SIM_TASK_LISTS) - {'identity'})
    if unknown:
        raise SchemaError(f'{kind}: sim_task has unknown key(s) {unknown}; allowed: '
                          f'{list(SIM_TASK_LISTS) + ["identity"]}')
    for key in SIM_TASK_LISTS:
        value = sim_task.get(key)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            raise SchemaError(f'{kind}: sim_task.{key} must be a list of strings, '
                              f'got {type(value).__name__}')
    ident = sim_task.get('identity')
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (int, str))):
        raise SchemaError(f'{kind}: sim_task.identity must be an int or a string, '
                          f'got {type(ident).__name__}')


def decode(kind: str, text: str) -> dict[str, Any]:
    """Parse and validate a JSON string of schema ``kind``.

    Raises:
        SchemaError: not JSON, too large, or not matching the schema.
    """
    if not isinstance(text, str):
        raise SchemaError(f'{kind}: expected text, got {type(text).__name__}')
    if len(text) > MAX_PAYLOAD:
        raise SchemaError(f'{kind}: payload of {len(text)} bytes exceeds {MAX_PAYLOAD}')
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f'{kind}: malformed JSON: {exc}') from None
    return validate(kind, payload)


def encode(kind: str, payload: dict[str, Any]) -> str:
    """Validate ``payload`` and return compact JSON (raises :class:`SchemaError`)."""
    validate(kind, payload)
    return json.dumps(payload, separators=(',', ':'), ensure_ascii=False)


def error_result(action_id: str, task_id: str, message: str, *,
                 status: str = 'rejected') -> dict[str, Any]:
    """An error ``result`` payload for an action that was not (fully) executed."""
    return {'action_id': action_id or 'unknown', 'task_id': task_id or 'unknown',
            'status': status, 'success': False, 'feedback': message, 'frame_stamps': [],
            'legal_objects': [], 'scene_types': [], 'error': message}


def best_effort_ids(text: str) -> tuple[str, str]:
    """Pull ``action_id``/``task_id`` out of a payload that failed validation, if possible."""
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return 'unknown', 'unknown'
    if not isinstance(payload, dict):
        return 'unknown', 'unknown'
    aid, tid = payload.get('action_id'), payload.get('task_id')
    return (aid if isinstance(aid, str) and aid else 'unknown',
            tid if isinstance(tid, str) and tid else 'unknown')
