# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Frames per second of the box renderer on one core; prints a final JSON line.

Renders a scene (a public FloorPlan when ``--scene`` is given, else a procedural kitchen)
from every free grid cell and 8 headings, RGB + instance mask at 448x448 by default.
``--frames DIR`` also writes one example frame per procedural room type to DIR.

Run: ``python benchmarks/bench_render.py [--scene PATH/metadata.json] [--frames docs/images]``
(pin one core with ``taskset -c 0`` and ``OMP_NUM_THREADS=1`` for a single-core figure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
import time

import cv2
import numpy as np

from ego_reasoner_ros.sim_bridge.procedural import ROOM_TYPES, generate_scene, navigation_grid
from ego_reasoner_ros.sim_bridge.procedural_types import CAMERA_OFFSET
from ego_reasoner_ros.sim_bridge.render import (
    BoxRenderer, CameraPose, boxes_from_objects, write_png)


def _poses(meta: dict, limit: int) -> list[CameraPose]:
    xs, zs, free = navigation_grid(meta)
    cells = np.argwhere(free)
    y = meta['agent']['position']['y'] + CAMERA_OFFSET
    poses = [CameraPose((float(xs[ix]), y, float(zs[iz])), yaw, 30.0)
             for iz, ix in cells for yaw in range(0, 360, 45)]
    step = max(1, len(poses) // limit)
    return poses[::step][:limit]


def example_frames(out_dir: Path, seed: int = 0, size: int = 448) -> list[Path]:
    """One frame per room type from the start pose of a procedural scene."""
    renderer = BoxRenderer()
    written = []
    for rtype in ROOM_TYPES:
        meta = generate_scene(seed, rtype)
        boxes = boxes_from_objects(meta['objects'], hollow_types=('Sink', 'Bathtub'))
        fx = [o for o in meta['objects'] if o['objectType'] == 'Floor'][0]
        c = fx['axisAlignedBoundingBox']['center']
        ag = meta['agent']['position']
        # stand back from the room centre so the frame shows most of the furniture
        yaw = math.degrees(math.atan2(c['x'] - ag['x'], c['z'] - ag['z']))
        pose = CameraPose((ag['x'], ag['y'] + CAMERA_OFFSET, ag['z']), yaw, 30.0)
        res = renderer.render(boxes.mins, boxes.maxs, boxes.colors, boxes.ids, pose, size, size,
                              hollow=boxes.hollow)
        written.append(write_png(out_dir / f'frame_{rtype}.png', res.rgb))
    return written


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--scene', type=Path, default=None, help='a public metadata.json')
    ap.add_argument('--size', type=int, default=448)
    ap.add_argument('--frames', type=Path, default=None, help='write example frames here')
    ap.add_argument('--n', type=int, default=600, help='frames to time')
    ap.add_argument('--depth', action='store_true', help='also compute depth')
    args = ap.parse_args()
    cv2.setNumThreads(1)
    if args.frames is not None:
        for p in example_frames(args.frames, size=args.size):
            print(f'wrote {p}')
    if args.scene is not None:
        meta = json.loads(args.scene.read_text())[0]
        name = meta.get('sceneName', str(args.scene))
    else:
        meta = generate_scene(0, 'kitchen')
        name = meta['sceneName']
    boxes = boxes_from_objects(meta['objects'])
    renderer = BoxRenderer()
    poses = _poses(meta, args.n)
    in_view = []
    for pose in poses[:5]:  # warm-up
        renderer.render(boxes.mins, boxes.maxs, boxes.colors, boxes.ids, pose, args.size,
                        args.size, want_mask=True, want_depth=args.depth)
    t0 = time.perf_counter()
    for pose in poses:
        res = renderer.render(boxes.mins, boxes.maxs, boxes.colors, boxes.ids, pose, args.size,
                              args.size, want_mask=True, want_depth=args.depth)
        in_view.append(len(np.unique(res.instance_mask)) - 1)
    dt = time.perf_counter() - t0
    print(json.dumps({
        'bench': 'render', 'scene': name, 'boxes': int(len(boxes.ids)),
        'mean_boxes_in_view': round(float(np.mean(in_view)), 1), 'size': args.size,
        'frames': len(poses), 'fps': round(len(poses) / dt, 1),
        'ms_per_frame': round(1000 * dt / len(poses), 3), 'depth': bool(args.depth),
        'cpu_threads': os.environ.get('OMP_NUM_THREADS', 'unset'),
    }))


if __name__ == '__main__':
    main()
