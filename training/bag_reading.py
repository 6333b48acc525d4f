# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Reading the reasoner graph's recorded topics out of a bag, for :mod:`bag2data`.

The topics are matched by suffix (:data:`DEFAULT_TOPICS`, overridable per role) and checked
for their message type; :func:`read_events` collects the string messages per ``task_id`` and
run (tasks, thoughts, actions, results, statuses, verdicts) and the image stamps in one pass,
and :func:`load_frames` decodes only the frames the reconstruction picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import json
import logging
import struct
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.runtime import bagio

logger = logging.getLogger(__name__)

IMAGE_TYPE = 'sensor_msgs/msg/Image'
STRING_TYPE = 'std_msgs/msg/String'
#: role -> default topic (relative; matched as a suffix of the recorded name).
DEFAULT_TOPICS: dict[str, str] = {
    'task': 'task',
    'thought': 'reasoner/thought',
    'action': 'reasoner/action',
    'result': 'executor/result',
    'status': 'reasoner/status',
    'verdict': 'verdict',
    'image': 'camera/image_raw',
}
ROLE_TYPES = {role: (IMAGE_TYPE if role == 'image' else STRING_TYPE) for role in DEFAULT_TOPICS}


def _role_of(topic: str, topic_map: dict[str, str]) -> str | None:
    name = topic.strip('/')
    best, best_len = None, -1
    for role, want in topic_map.items():
        if (name == want or name.endswith('/' + want)) and len(want) > best_len:
            best, best_len = role, len(want)
    return best


def _decode_string(data: bytes) -> str:
    return bagio.deserialize(data, STRING_TYPE).data


def _image_stamp(data: bytes) -> int:
    """``header.stamp`` in ns straight from the CDR bytes (no pixel copy)."""
    little = data[1] & 1 if len(data) >= 4 else 1
    sec, nsec = struct.unpack_from('<iI' if little else '>iI', data, 4)
    return sec * 1_000_000_000 + nsec


def image_to_array(msg: Any) -> np.ndarray:
    """An HxWx3 uint8 RGB array of a typestore ``sensor_msgs/Image``.

    Raises:
        DataError: unsupported encoding or a buffer of the wrong size.
    """
    channels = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}
    if msg.encoding not in channels:
        raise DataError(f'unsupported image encoding {msg.encoding!r}')
    c = channels[msg.encoding]
    h, w = int(msg.height), int(msg.width)
    step = int(msg.step) or w * c
    buf = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if step < w * c or buf.size < step * h:
        raise DataError(f'image data of {buf.size} bytes is too small for {h}x{w} '
                        f'{msg.encoding}')
    arr = buf[:step * h].reshape(h, step)[:, :w * c].reshape(h, w, c)
    if msg.encoding == 'mono8':
        arr = np.repeat(arr, 3, axis=2)
    elif msg.encoding in ('bgr8', 'bgra8'):
        arr = arr[:, :, 2::-1]
    else:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


@dataclass
class Frame:
    stamp: int
    t: int
    index: int


@dataclass
class BagEvents:
    """The decoded non-image messages of one bag plus the frame index."""

    tasks: dict[str, dict] = field(default_factory=dict)
    thoughts: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    actions: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    results: dict[str, tuple[int, dict]] = field(default_factory=dict)
    statuses: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    verdicts: dict[str, tuple[int, dict]] = field(default_factory=dict)
    run_starts: dict[str, int] = field(default_factory=dict)   # run key -> its 'accepted'
    frames: list[Frame] = field(default_factory=list)
    bad_payloads: int = 0


_RUN_SEP = '\x00'


def _run_key(task_id: str, run_id: str) -> str:
    """The event key of one run of ``task_id`` (the reasoner gives every run a ``run_id``)."""
    return f'{task_id}{_RUN_SEP}{run_id}'


def split_key(key: str) -> tuple[str, str]:
    tid, _sep, run = key.partition(_RUN_SEP)
    return tid, run


def verdict_for(key: str, ev: BagEvents) -> tuple[int, dict] | None:
    """The run's own verdict; a verdict naming only the task labels its latest earlier run."""
    if key in ev.verdicts:
        return ev.verdicts[key]
    tid, run = split_key(key)
    verdict = ev.verdicts.get(tid)
    if verdict is None or not run:
        return verdict
    starts = {k: t for k, t in ev.run_starts.items() if split_key(k)[0] == tid and t < verdict[0]}
    return verdict if starts and max(starts, key=starts.__getitem__) == key else None


def _check_topics(bag: str, scans: Sequence[bagio.FileScan], topic_map: dict[str, str]) -> None:
    """Refuse topics of a known role with another type or a non-ROS 2 encoding."""
    seen = False
    for scan in scans:
        for topic, (msgtype, schema_enc, msg_enc) in scan.topics.items():
            role = _role_of(topic, topic_map)
            if role is None:
                continue
            seen = True
            if msgtype != ROLE_TYPES[role]:
                raise DataError(f'{scan.path}: topic {topic} has message type {msgtype!r}; '
                                f'expected {ROLE_TYPES[role]} (unknown schema)')
            if schema_enc not in ('ros2msg', 'ros2idl') or msg_enc != 'cdr':
                raise DataError(f'{scan.path}: topic {topic} uses schema encoding '
                                f'{schema_enc!r} / message encoding {msg_enc!r}; expected '
                                'ros2msg / cdr')
    if not seen:
        found = sorted({t for s in scans for t in s.topics})
        raise DataError(f'{bag}: none of the episode topics {sorted(topic_map.values())} '
                        f'is in the bag (found: {found or "no topics"})')


def read_events(bag: str, topic_map: dict[str, str],
                 scans: list[bagio.FileScan]) -> BagEvents:
    ev = BagEvents()
    image_index = 0
    messages = bagio.iter_bag_messages(
        bag, scans=scans, want=lambda topic, _t: _role_of(topic, topic_map) is not None)
    checked = 0
    for msg in messages:
        if len(scans) != checked:  # a new file: check its topics before decoding any
            _check_topics(bag, scans, topic_map)
            checked = len(scans)
        role = _role_of(msg.topic, topic_map)
        if role == 'image':
            ev.frames.append(Frame(_image_stamp(msg.data), msg.log_time, image_index))
            image_index += 1
            continue
        try:
            payload = json.loads(_decode_string(msg.data))
            if not isinstance(payload, dict):
                raise ValueError('not a JSON object')
        except (ValueError, TypeError) as exc:
            ev.bad_payloads += 1
            logger.debug('%s: skipped a %s message that is not a JSON object: %s',
                          msg.file, role, exc)
            continue
        tid = str(payload.get('task_id') or payload.get('episode_id') or '')
        if tid and role != 'task' and isinstance(payload.get('run_id'), str) and payload['run_id']:
            tid = _run_key(tid, payload['run_id'])  # runs of a repeated task_id stay apart
        t = msg.log_time
        if role == 'task' and tid:
            ev.tasks.setdefault(tid, payload)
        elif role == 'thought' and tid:
            ev.thoughts.setdefault(tid, []).append((t, payload))
        elif role == 'action' and tid and payload.get('action_id'):
            sent = ev.actions.setdefault(tid, [])
            # an unanswered action is resent under the same id: keep the first copy
            if all(p.get('action_id') != payload['action_id'] for _t, p in sent):
                sent.append((t, payload))
        elif role == 'result' and payload.get('action_id'):
            ev.results.setdefault(str(payload['action_id']), (t, payload))
        elif role == 'status' and tid:
            ev.statuses.setdefault(tid, []).append((t, payload))
            if payload.get('state') == 'accepted' and isinstance(payload.get('task'), dict):
                ev.tasks.setdefault(tid, payload['task'])  # a task that never crossed 'task'
                ev.run_starts.setdefault(tid, t)
        elif role == 'verdict' and tid and isinstance(payload.get('success'), bool):
            ev.verdicts[tid] = (t, payload)
    if not scans:
        raise DataError(f'{bag}: no .mcap files')
    _check_topics(bag, scans, topic_map)
    if sum(s.messages for s in scans) == 0:
        where = '; '.join(f'{s.path}: {s.error}' for s in scans if s.error) or bag
        raise DataError(f'{bag}: no complete chunk could be read ({where})')
    ev.frames.sort(key=lambda f: f.t)
    return ev


def load_frames(bag: str, topic_map: dict[str, str], wanted: set[int]) -> dict[int, np.ndarray]:
    """Decode the frames with these sequence numbers (second pass over the bag)."""
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    index = 0
    last = max(wanted)
    for msg in bagio.iter_bag_messages(
            bag, want=lambda topic, _t: _role_of(topic, topic_map) == 'image'):
        if index in wanted:
            try:
                out[index] = image_to_array(bagio.deserialize(msg.data, IMAGE_TYPE))
            except DataError as exc:
                logger.warning('%s: frame %d unusable: %s', msg.file, index, exc)
        index += 1
        if index > last:
            break
    return out
