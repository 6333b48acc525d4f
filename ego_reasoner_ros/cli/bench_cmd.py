# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner bench``: speed figures of the simulator.

    ego-reasoner bench sim [--data DIR] [--max-cases N] [--frames N]

The last line printed is one JSON object: ``{"actions_per_s": ..., "frames_per_s": ...}``.
"""

from __future__ import annotations

import argparse
import json

from ego_reasoner_ros.core.data_store import resolve_data_dir
from ego_reasoner_ros.core.errors import DataError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bench`` and its targets."""
    bench = subparsers.add_parser('bench', help='speed benchmarks (simulator)',
                                  description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    targets = bench.add_subparsers(dest='bench_target', metavar='TARGET')
    sim = targets.add_parser(
        'sim', help='actions/s without rendering and frames/s of RGB + instance mask',
        description='Replay every public case\'s key actions (with observe where the '
                    'navigable gate needs it, plus invalid actions) through the embedded '
                    'simulator\'s action and legality code, single process.')
    sim.add_argument('--data', default=None,
                     help='Embodied-Reasoner data folder (default: $EGO_REASONER_DATA or the '
                          'cache of `ego-reasoner data fetch`)')
    sim.add_argument('--max-cases', type=int, default=None, help='replay only the first N cases')
    sim.add_argument('--frames', type=int, default=200, help='frames rendered for frames/s')
    sim.add_argument('--width', type=int, default=448)
    sim.add_argument('--height', type=int, default=448)
    sim.set_defaults(func=_run_sim)
    bench.set_defaults(func=lambda _args: bench.print_help() or 2)


def _run_sim(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.sim_bridge.bench import bench_sim

    try:
        root = resolve_data_dir(args.data)
    except DataError as exc:
        print(f'error: {exc}')
        return 2
    figures = bench_sim(root, max_cases=args.max_cases, frames=args.frames,
                        width=args.width, height=args.height)
    details = {k: v for k, v in figures.items() if k not in ('actions_per_s', 'frames_per_s')}
    print(json.dumps(details, default=str))
    print(json.dumps({'actions_per_s': figures['actions_per_s'],
                      'frames_per_s': figures['frames_per_s']}))
    return 0
