# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
r"""``ego-reasoner compare``: a stage table over evaluation runs, with paired tests.

    ego-reasoner compare untrained=runs/eval/u sft=runs/eval/s grpo=runs/eval/g \\
        --paired sft:grpo --out runs/stage_table.md

Each run is an ``ego-reasoner eval --out`` folder; all must cover the same tasks. Prints the
markdown table (the reference's columns plus strict success and wall time) and, as its last
line, one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any


def _run_arg(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition('=')
    if not sep or not label or not path:
        raise argparse.ArgumentTypeError(f'expected LABEL=DIR, got {text!r}')
    return label, Path(path)


def _pair_arg(text: str) -> tuple[str, str]:
    before, sep, after = text.partition(':')
    if not sep or not before or not after:
        raise argparse.ArgumentTypeError(f'expected BEFORE:AFTER labels, got {text!r}')
    return before, after


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        'compare', help='stage table over evaluation runs, with exact McNemar tests',
        description='Tabulate several `ego-reasoner eval` runs over the same tasks in the '
                    "reference's format and test paired differences in per-task success.")
    p.add_argument('runs', nargs='+', type=_run_arg, metavar='LABEL=DIR',
                   help='a row: its label and an eval output folder')
    p.add_argument('--paired', action='append', type=_pair_arg, default=[],
                   metavar='BEFORE:AFTER', help='test AFTER against BEFORE (repeatable)')
    p.add_argument('--out', type=Path, help='also write the markdown table here')
    p.set_defaults(func=run_compare)
    return p


def run_compare(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.core.errors import DataError
    from ego_reasoner_ros.training.report import compare_runs

    try:
        table, figures = compare_runs(args.runs, args.paired)
    except DataError as exc:  # a run folder that is missing or unreadable: bad input
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(table)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table, encoding='utf-8')
    print(json.dumps(figures, default=str))
    return 0
