# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner datagen``: synthesise tasks and expert trajectories, or check a dataset.

    ego-reasoner datagen --scenes DATA/scenes --out data/er_train --n 10000 --workers 2
    ego-reasoner datagen --procedural 20 --out /tmp/tiny --tasks-per-scene 5
    ego-reasoner datagen --check data/er_train

Re-running the same command after an interruption resumes the run. The last line printed is
one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ego_reasoner_ros.cli.options import OptionMap, fill
from ego_reasoner_ros.training import experts

logger = logging.getLogger(__name__)


def datagen_options() -> OptionMap:
    """How ``datagen``'s options fill :class:`~ego_reasoner_ros.training.datagen.DatagenConfig`."""
    from ego_reasoner_ros.training.datagen import DatagenConfig

    return OptionMap(DatagenConfig, derived={
        'out_dir': ('out',), 'scenes_dir': ('scenes',), 'formats': ('formats',),
        'progress': ('no_progress',)},
        extra=frozenset({'check', 'check_limit'}))  # --check DIR: the dataset check


def _expert_name(name: str) -> str:
    """``--expert``: a registered expert; a removed one names the log entry (exit 2)."""
    try:
        return experts.get_expert(name).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``datagen``."""
    p = subparsers.add_parser(
        'datagen', help='generate tasks and o1-style expert trajectories (training data)',
        description='Generate tasks over a scene set and expert trajectories with thoughts '
                    'in the embedded simulator; writes episode records, sharegpt, a Hugging '
                    'Face dataset and a dataset card. Resumable.')
    p.add_argument('--scenes', type=Path, default=None,
                   help='scenes root (<room>/<FloorPlanN>/metadata.json)')
    p.add_argument('--out', type=Path, default=None, help='output folder')
    p.add_argument('--procedural', type=int, default=0, metavar='N',
                   help='also generate N procedural scenes (enough on its own)')
    size = p.add_mutually_exclusive_group()
    size.add_argument('--tasks-per-scene', type=int, default=None, metavar='K')
    size.add_argument('--n', type=int, default=None, metavar='TOTAL',
                      help='number of trajectories to produce')
    p.add_argument('--image-size', type=int, default=448, metavar='S')
    p.add_argument('--workers', type=int, default=1, metavar='W')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--allow-test-scenes', action='store_true',
                   help='also use the reference test FloorPlans (skipped by default)')
    p.add_argument('--formats', default='sharegpt,hf,card',
                   help='comma list of sharegpt, hf, card (default: all)')
    p.add_argument('--rewrite-url', default=None,
                   help='OpenAI-compatible endpoint to rewrite thoughts (off by default)')
    p.add_argument('--rewrite-model', default='default')
    p.add_argument('--thought-style', choices=('full', 'brief', 'none'), default='full',
                   help='full thoughts (default), one short sentence per step (small models), '
                        'or none')
    p.add_argument('--failure-prob', type=float, default=0.0, metavar='P',
                   help='before each navigation, with probability P first try a plausible '
                        'place the scene lacks, then recover (teaches recovery; default 0)')
    p.add_argument('--expert', type=_expert_name, default='engine',
                   metavar='{' + ','.join(experts.expert_names()) + '}',
                   help='; '.join(f'{e.name}: {e.help}' for e in experts.EXPERTS.values()))
    p.add_argument('--restate-task', action='store_true',
                   help='end every later user turn with the task line again (recorded in '
                        'prompt_config.json, which trained models carry and the loop uses)')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--check', type=Path, default=None, metavar='DIR',
                   help='check a dataset (replay every trajectory) instead of generating')
    p.add_argument('--check-limit', type=int, default=None, metavar='N',
                   help='with --check: replay only the first N episodes')
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Generate or check; print one JSON line of figures."""
    from ego_reasoner_ros.core.errors import DataError

    if args.check is not None:
        from ego_reasoner_ros.training.check_dataset import check_dataset

        try:
            report = check_dataset(args.check, limit=args.check_limit,
                                   progress=not args.no_progress)
        except DataError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 2
        print(json.dumps(report))
        return 0 if report['ok'] else 1
    if args.out is None:
        print('error: --out DIR is required (or --check DIR)', file=sys.stderr)
        return 2
    from ego_reasoner_ros.training.datagen import run_datagen

    try:
        cfg = fill(datagen_options(), args, out_dir=args.out, scenes_dir=args.scenes,
                   formats=tuple(f.strip() for f in args.formats.split(',') if f.strip()),
                   progress=not args.no_progress)
        summary = run_datagen(cfg)
    except (DataError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
