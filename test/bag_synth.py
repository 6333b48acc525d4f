# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Synthetic reasoner-graph traffic for the bag tests (ROS-free, via the rosbags typestore).

:func:`write_episode` writes what the recorder would see during one episode: the task, the
``init`` action with its frame and result, one thought per policy call, the executed actions
with frames and results, the final status and an operator verdict. Run as a script it keeps
writing episodes into a bag until killed (the SIGKILL test)::

    python test/bag_synth.py BAG_DIR [--episodes N] [--chunk-duration S]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
import sys
import time
from typing import Any

import numpy as np

from ego_reasoner_ros.runtime import bagio

SCENE_TYPES = ['CounterTop', 'Apple', 'Fridge', 'Cabinet']
TOPICS = {
    '/camera/image_raw': 'sensor_msgs/msg/Image',
    '/camera/camera_info': 'sensor_msgs/msg/CameraInfo',
    '/task': 'std_msgs/msg/String',
    '/reasoner/thought': 'std_msgs/msg/String',
    '/reasoner/action': 'std_msgs/msg/String',
    '/executor/result': 'std_msgs/msg/String',
    '/reasoner/status': 'std_msgs/msg/String',
    '/verdict': 'std_msgs/msg/String',
}
#: The default plan: (raw decision, executed?, success).
DEFAULT_PLAN = [
    ('navigate to CounterTop', True, True),
    ('pickup Banana', False, False),         # unknown object: failed, not sent
    ('<no decision>', False, False),          # invalid reply
    ('pickup Apple', True, False),            # sent, fails
    ('pickup Apple', True, True),
    ('end', False, True),
]


def add_topics(writer: bagio.McapBagWriter | bagio.QueuedBagWriter) -> None:
    """Declare the recorder's topics."""
    for topic, msgtype in TOPICS.items():
        writer.add_topic(topic, msgtype)


def string_cdr(payload: dict[str, Any] | str) -> bytes:
    """CDR bytes of a std_msgs/String holding ``payload`` (JSON-encoded if a dict)."""
    ts = bagio.typestore()
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return bagio.serialize(ts.types['std_msgs/msg/String'](data=text), 'std_msgs/msg/String')


def frame_pixels(value: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A recognisable HxWx3 frame: every pixel ``value`` in R, ``value // 2`` in G."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, :, 0] = value % 256
    arr[:, :, 1] = (value // 2) % 256
    return arr


def image_cdr(stamp_ns: int, pixels: np.ndarray) -> bytes:
    """CDR bytes of an rgb8 sensor_msgs/Image stamped ``stamp_ns``."""
    ts = bagio.typestore()
    t = ts.types
    h, w, _ = pixels.shape
    msg = t['sensor_msgs/msg/Image'](
        header=t['std_msgs/msg/Header'](
            stamp=t['builtin_interfaces/msg/Time'](sec=stamp_ns // 10**9,
                                                   nanosec=stamp_ns % 10**9),
            frame_id='camera'),
        height=h, width=w, encoding='rgb8', is_bigendian=0, step=w * 3,
        data=pixels.reshape(-1).copy())
    return bagio.serialize(msg, 'sensor_msgs/msg/Image')


@dataclass
class Clock:
    """Strictly increasing fake receive times (ms apart)."""

    t: int = 1_700_000_000_000_000_000

    def next(self, ms: int = 5) -> int:
        self.t += ms * 1_000_000
        return self.t


def write_episode(writer: Any, task_id: str, clock: Clock, *,
                  plan: list[tuple[str, bool, bool]] | None = None, verdict: bool | None = True,
                  with_stamps: bool = True, final: bool = True, frame_base: int = 0,
                  extra_frames: int = 2, task_on_status: bool = False,
                  run_id: str | None = None) -> dict[str, Any]:
    """Write one episode's messages; returns what a faithful rebuild must contain.

    ``writer`` has ``write(topic, t, data)`` (a :class:`bagio.McapBagWriter`).
    ``task_on_status``: the task never crosses ``/task`` (the reasoner's ``initial_task``);
    only its ``accepted`` status carries it. ``run_id``: the messages carry it, as the reasoner's
    do (every run of a task, a repeated ``task_id`` too, has its own); then an ``accepted``
    status is always written.
    """
    plan = DEFAULT_PLAN if plan is None else plan
    boot = 'b00t' if run_id is None else f'b00t/{run_id}'
    run = {} if run_id is None else {'run_id': run_id}
    frame_no = [frame_base]
    expected: dict[str, Any] = {'task_id': task_id, 'frames': [], 'n_model_steps': 0,
                                'n_executed': 0, 'thoughts': []}

    def frame() -> int:
        for _ in range(extra_frames):  # background camera traffic
            frame_no[0] += 1
            t = clock.next(1)
            writer.write('/camera/image_raw', t, image_cdr(t, frame_pixels(frame_no[0])))
        frame_no[0] += 1
        t = clock.next(1)
        writer.write('/camera/image_raw', t, image_cdr(t, frame_pixels(frame_no[0])))
        return t

    def result(aid: str, ok: bool, stamps: list[int], feedback: str = '') -> None:
        writer.write('/executor/result', clock.next(), string_cdr({
            'action_id': aid, 'task_id': task_id, 'status': 'succeeded' if ok else 'failed',
            'success': ok, 'feedback': feedback,
            'frame_stamps': stamps if with_stamps else [],
            'legal_objects': ['Apple'], 'scene_types': SCENE_TYPES, **run}))

    task = {'task_id': task_id, 'instruction': 'Please put the Apple on the CounterTop.',
            'task_type': 'single_pickup', 'scene': 'FloorPlan1'}
    if not task_on_status:
        writer.write('/task', clock.next(), string_cdr(task))
    if task_on_status or run_id is not None:
        writer.write('/reasoner/status', clock.next(), string_cdr({
            'task_id': task_id, 'state': 'accepted', 'step': 0, 'boot_id': 'b00t',
            'message': task['instruction'], 'task': task, **run}))
    step = 0
    aid = f'{task_id}/{boot}/{step}'
    writer.write('/reasoner/action', clock.next(), string_cdr({
        'action_id': aid, 'task_id': task_id, 'step': 0, 'verb': 'init',
        'scene': 'FloorPlan1', **run}))
    stamp = frame()
    expected['frames'].append(frame_no[0])
    result(aid, True, [stamp])
    for k, (decision, executed, ok) in enumerate(plan):
        raw = (f'Thought {k}: I consider {decision}.' if decision == '<no decision>' else
               f'Thought {k}: next I {decision}. <DecisionMaking>{decision}</DecisionMaking>')
        writer.write('/reasoner/thought', clock.next(), string_cdr({
            'task_id': task_id, 'step': k + 1, 'thought': raw.split('<')[0].strip(),
            'raw': raw, **run}))
        expected['thoughts'].append(raw)
        expected['n_model_steps'] += 1
        if not executed:
            if decision.startswith('pickup Banana'):
                expected['n_executed'] += 1
            continue
        step += 1
        expected['n_executed'] += 1
        aid = f'{task_id}/{boot}/{step}'
        verb, _, target = decision.partition(' ') if not decision.startswith('navigate') \
            else ('navigate to', '', decision.split(' ', 2)[2])
        writer.write('/reasoner/action', clock.next(), string_cdr({
            'action_id': aid, 'task_id': task_id, 'step': step, 'verb': verb,
            'target': target, **run}))
        if ok:
            stamp = frame()
            expected['frames'].append(frame_no[0])
            result(aid, True, [stamp])
        else:
            result(aid, False, [], feedback='cannot do that')
    if final:
        writer.write('/reasoner/status', clock.next(), string_cdr({
            'task_id': task_id, 'state': 'succeeded', 'step': len(plan), 'boot_id': 'b00t',
            'message': f'ended by end after {expected["n_executed"] + 1} steps',
            'success': True, **run}))
    if verdict is not None:
        writer.write('/verdict', clock.next(), string_cdr({
            'task_id': task_id, 'success': verdict, 'note': 'operator label'}))
    return expected


def main(argv: list[str] | None = None) -> int:
    """Write episodes into a bag until done or killed; prints progress lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument('bag')
    ap.add_argument('--episodes', type=int, default=10**6)
    ap.add_argument('--chunk-duration', type=float, default=0.05)
    ap.add_argument('--compression', default='zstd')
    ap.add_argument('--sleep', type=float, default=0.01)
    args = ap.parse_args(argv)
    cfg = bagio.BagWriterConfig(chunk_duration_s=args.chunk_duration,
                                compression=args.compression)
    writer = bagio.McapBagWriter(args.bag, cfg)
    add_topics(writer)
    clock = Clock()
    for i in range(args.episodes):
        write_episode(writer, f'task-{i}', clock, frame_base=i * 100)
        writer.flush()  # an episode is on disk once this line is printed
        print(f'episode {i} flushed', flush=True)
        time.sleep(args.sleep)
    writer.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
