# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
r"""``ego-reasoner harvest``: the episodes a policy fails, as a dataset for on-policy GRPO.

    ego-reasoner harvest --policy hf:runs/sft/final --data runs/datagen --out runs/harvest \\
        --n 200 --task-types single_pickup pickup_and_put --policy-arg torch_threads=1

Prints the summary as one JSON line; exit code 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ego_reasoner_ros.cli.eval_cmd import add_policy_arg, parse_policy_args
from ego_reasoner_ros.cli.options import OptionMap, fill


def harvest_options() -> OptionMap:
    """How ``harvest``'s options fill :class:`~ego_reasoner_ros.training.harvest.HarvestConfig`."""
    from ego_reasoner_ros.training.harvest import HarvestConfig

    return OptionMap(HarvestConfig, derived={
        'out_dir': ('out',), 'policy_kwargs': ('policy_arg',), 'progress': ('no_progress',)})


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``harvest`` on ``subparsers``."""
    p = subparsers.add_parser(
        'harvest', help="run a policy on a dataset's tasks; keep the episodes it fails",
        description="Run a policy on a data-engine folder's tasks (the rollout reward's loop, "
                    'seed and scoring) and write the episodes it fails as a dataset: '
                    'prompts for GRPO at the states the policy itself reaches.')
    p.add_argument('--policy', required=True, help='policy spec, e.g. hf:runs/sft/final')
    p.add_argument('--data', required=True, help='data-engine folder (tasks.json)')
    p.add_argument('--out', required=True, help='output folder (resumed if it exists)')
    p.add_argument('--n', type=int, default=200, help='tasks to run (default 200)')
    p.add_argument('--split', default='train', choices=('train', 'val'),
                   help="the source split to draw tasks from (default train)")
    p.add_argument('--task-types', nargs='+', default=None, metavar='TYPE',
                   help='keep only these ER task types')
    p.add_argument('--keep', default='failed', choices=('failed', 'all'),
                   help='which episodes to write (default failed)')
    p.add_argument('--seed', type=int, default=0, help='task-order shuffle seed')
    add_policy_arg(p)
    p.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    p.set_defaults(func=run_harvest_cmd)
    return p


def run_harvest_cmd(args: argparse.Namespace) -> int:
    """Run the harvest; prints the summary as the last stdout line."""
    from ego_reasoner_ros.core.errors import DataError
    from ego_reasoner_ros.training.harvest import run_harvest

    try:
        cfg = fill(harvest_options(), args, out_dir=args.out,
                   policy_kwargs=parse_policy_args(args.policy_arg),
                   progress=not args.no_progress)
        summary = run_harvest(cfg)
    except (ValueError, DataError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
