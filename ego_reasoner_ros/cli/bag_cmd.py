# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner bag2data`` and ``ego-reasoner record``: bags in, training data out.

    ego-reasoner bag2data bags/run1 bags/run2/run2_0.mcap --out data/robot [--successful-only]
    ego-reasoner record --out bags [--compression zstd] [-- --ros-args ...]

``bag2data`` prints warnings/errors on stderr and, as its last stdout line, one JSON object of
figures (``n_bags``, ``n_failed_bags``, ``n_episodes``, ``n_steps``, ``n_images``,
``n_truncated_files``, ``n_train``, ``n_val`` ...). Exit codes: 0 every bag converted, 3 some
bags failed but the others were converted and written, 1 no bag could be converted.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
import sys
from typing import Any

EXIT_OK = 0
EXIT_NONE_CONVERTED = 1
EXIT_SOME_FAILED = 3


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bag2data`` and ``record`` on ``subparsers``; returns the ``bag2data`` parser."""
    p = subparsers.add_parser(
        'bag2data', help='turn recorded bags into episodes and SFT/GRPO datasets',
        description='Rebuild episodes from rosbag2/MCAP recordings of the reasoner graph and '
                    'write them in the data engine layout (episodes/, sharegpt/, hf/, '
                    'labels.jsonl). A bag cut short by a crash is read up to its last '
                    'complete chunk.',
        epilog='Exit codes: 0 all bags converted; 3 some bags failed (named on stderr), the '
               'others were written; 1 none converted.')
    p.add_argument('bags', nargs='+', type=Path, metavar='BAG',
                   help='rosbag2 folder (with or without metadata.yaml) or .mcap file')
    p.add_argument('--out', type=Path, required=True, help='output dataset folder')
    p.add_argument('--successful-only', action='store_true',
                   help='keep only episodes labelled successful (verdict, else final status)')
    p.add_argument('--val-fraction', type=float, default=0.0,
                   help='share of episodes written to val.json / hf/val (default 0)')
    p.add_argument('--seed', type=int, default=0, help='seed of the train/val split')
    p.add_argument('--parser-mode', choices=['strict', 'lenient'], default='strict',
                   help='parser mode the reasoner ran with (default strict)')
    p.add_argument('--topic', action='append', default=[], metavar='ROLE=NAME',
                   help='override a topic name; roles: task, thought, action, result, '
                        'status, verdict, image')
    p.add_argument('--no-hf', action='store_true', help='do not write the hf/ datasets copy')
    p.set_defaults(func=run_bag2data)

    rec = subparsers.add_parser(
        'record', help='record the reasoner graph topics to an MCAP bag (recorder node)',
        description='Run the recorder node: raw subscriptions to the camera and step topics, '
                    'chunked MCAP files in OUT/<name>/. Ctrl-C or SIGTERM closes the bag.')
    rec.add_argument('--out', default='bags', help='folder that receives the bag folder')
    rec.add_argument('--name', default='', help='bag folder name (default: rosbag2_<time>)')
    rec.add_argument('--compression', choices=['none', 'zstd', 'lz4'], default='zstd')
    rec.add_argument('--max-file-size-mb', type=float, default=0.0,
                     help='rotate to a new .mcap file after this size (0: never)')
    rec.add_argument('--max-file-duration-s', type=float, default=0.0,
                     help='rotate to a new .mcap file after this time (0: never)')
    rec.add_argument('--no-camera', action='store_true', help='record the step topics only')
    rec.add_argument('ros_args', nargs=argparse.REMAINDER,
                     help='extra arguments after -- go to rclpy (--ros-args ...)')
    rec.set_defaults(func=run_record)
    return p


def _parse_topics(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        role, sep, name = pair.partition('=')
        if not sep or not name:
            raise SystemExit(f'error: --topic expects ROLE=NAME, got {pair!r}')
        out[role.strip()] = name.strip()
    return out


def run_bag2data(args: argparse.Namespace) -> int:
    """Convert the bags; prints the figures as the last stdout line."""
    from ego_reasoner_ros.training.bag2data import ConvertOptions, convert_bags

    try:
        options = ConvertOptions(topics=_parse_topics(args.topic),
                                 parser_mode=args.parser_mode,
                                 successful_only=args.successful_only,
                                 val_fraction=args.val_fraction, seed=args.seed,
                                 write_hf=not args.no_hf)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    figures = convert_bags(args.bags, args.out, options)
    for bag, error in figures['failed'].items():
        print(f'error: {error}' if str(bag) in error else f'error: {bag}: {error}',
              file=sys.stderr)
    for file in figures['truncated']:
        print(f'warning: {file}: cut short; recovered its complete chunks', file=sys.stderr)
    print(json.dumps(figures))
    if figures['n_failed_bags'] == figures['n_bags']:
        return EXIT_NONE_CONVERTED
    return EXIT_SOME_FAILED if figures['n_failed_bags'] else EXIT_OK


def run_record(args: argparse.Namespace) -> int:
    """Run the recorder node until SIGINT/SIGTERM."""
    from ego_reasoner_ros.nodes import recorder_node

    extra = [a for a in args.ros_args if a != '--']
    params = {'out_dir': args.out, 'bag_name': args.name, 'compression': args.compression,
              'max_file_size_mb': args.max_file_size_mb,
              'max_file_duration_s': args.max_file_duration_s,
              'record_camera': not args.no_camera}
    ros_args = ['recorder_node', '--ros-args'] + [x for k, v in params.items()
                                 for x in ('-p', f'{k}:={_param(v)}')]
    if extra and extra[0] == '--ros-args':
        extra = extra[1:]
    try:
        recorder_node.main(ros_args + extra)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return value if value else "''"
    return str(value)
