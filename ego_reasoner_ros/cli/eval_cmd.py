# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner eval`` and ``ego-reasoner eval-merge``.

- ``eval --policy POLICY --tasks FILE --scenes DIR --out DIR [--agent-positions FILE]
  [--workers N] [--limit K] [--parser strict|lenient] [--seed S] [--shard I/N]
  [--sim embedded|ai2thor] [--render/--no-render]``: evaluate a policy on ER test cases and
  write summary.json, results.jsonl, report.md and two plots into DIR. The last stdout line
  is a JSON object with the headline figures.
- ``eval-merge DIR... --out DIR``: merge shard outputs into one summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from ego_reasoner_ros.cli.options import OptionMap, fill
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import UnknownPolicyError

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
_HEADLINE = ('n_tasks', 'success_rate', 'search_efficiency', 'task_completeness',
             'strict_success_rate', 'n_errors', 'wall_seconds', 'label')


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` and ``eval-merge`` on ``subparsers``; returns the ``eval`` parser."""
    ev = subparsers.add_parser(
        'eval', help='evaluate a policy on Embodied-Reasoner test cases',
        description='Run a policy on ER test cases in a simulator and report the ER metric '
                    '(success, search efficiency, task completeness, groups) and the strict '
                    'goal-state success rate.')
    ev.add_argument('--policy', required=True,
                    help='policy spec: expert, expert:K, sweep, sweep:P, random, heuristic, '
                         'hf:PATH, ...')
    ev.add_argument('--tasks', default=None,
                    help='task file (test_809.json format; required for --benchmark er)')
    ev.add_argument('--scenes', required=True, help='scenes folder (<room>/<FloorPlanN>/)')
    ev.add_argument('--out', required=True, help='output folder')
    ev.add_argument('--agent-positions', default=None,
                    help='agent_positions.json (default: the one beside the task file; '
                         '"" disables it)')
    ev.add_argument('--workers', type=int, default=1, help='worker processes (default 1)')
    ev.add_argument('--limit', type=int, default=None, help='evaluate the first K cases only')
    ev.add_argument('--parser', choices=('strict', 'lenient'), default='strict',
                    help='decision parser (default strict, as the reference)')
    ev.add_argument('--seed', type=int, default=0, help='base seed (default 0)')
    ev.add_argument('--shard', default=None, metavar='I/N',
                    help='run slice I of N (deterministic by identity)')
    ev.add_argument('--sim', choices=('embedded', 'ai2thor'), default='embedded',
                    help='simulator backend (default embedded)')
    ev.add_argument('--render', action=argparse.BooleanOptionalAction, default=None,
                    help='render frames (default: whatever the policy needs)')
    ev.add_argument('--blank-images', action='store_true',
                    help='show the policy uniform grey frames instead of the rendered ones '
                         '(vision ablation)')
    add_policy_arg(ev)
    ev.add_argument('--threads-per-worker', type=int, default=None,
                    help='torch threads in each worker (default: the CPUs shared equally '
                         'between several workers; one worker keeps torch\'s default)')
    resume = ev.add_mutually_exclusive_group()
    resume.add_argument('--resume', action='store_true',
                        help='continue the run in --out (it must exist and have the same '
                             'settings); without this flag a run found there is continued '
                             'too, and a new one is started otherwise')
    resume.add_argument('--no-resume', action='store_true',
                        help='refuse an --out folder that already holds a run')
    ev.add_argument('--no-plots', action='store_true', help='skip the PNG plots')
    ev.add_argument('--no-progress', action='store_true',
                    help='no progress bar and no progress lines')
    from ego_reasoner_ros.cli.eb_alfred_cmd import add_eb_arguments

    add_eb_arguments(ev)  # --benchmark eb-alfred and its options
    ev.set_defaults(func=run_eval)

    merge = subparsers.add_parser(
        'eval-merge', help='merge sharded evaluation outputs',
        description='Merge the results.jsonl of several eval --shard runs into one summary.')
    merge.add_argument('runs', nargs='+', help='shard output folders')
    merge.add_argument('--out', required=True, help='output folder for the merged report')
    merge.add_argument('--no-plots', action='store_true', help='skip the PNG plots')
    merge.set_defaults(func=run_merge)
    return ev


def eval_options() -> OptionMap:
    """How ``eval``'s options fill :class:`~ego_reasoner_ros.training.evaluate.EvalConfig`."""
    from ego_reasoner_ros.training.evaluate import EvalConfig

    return OptionMap(EvalConfig, derived={
        'shard': ('shard',), 'plots': ('no_plots',), 'policy_kwargs': ('policy_arg',),
        'resume': ('resume', 'no_resume'), 'progress': ('no_progress',),
        'progress_log': ('no_progress',)},
        # --benchmark eb-alfred and its options fill EBEvalConfig (eb_alfred_cmd)
        extra=frozenset({'benchmark', 'eb_data', 'subset', 'language_only', 'n_shots'}))


def add_policy_arg(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--policy-arg KEY=VALUE`` option (read by :func:`parse_policy_args`)."""
    parser.add_argument('--policy-arg', action='append', default=[], metavar='KEY=VALUE',
                        help='keyword argument for the policy factory (repeatable), e.g. '
                             'max_new_tokens=64 or torch_threads=1; values are read as JSON '
                             'when they parse')


def parse_policy_args(pairs: list[str]) -> dict[str, Any]:
    """``["max_new_tokens=64", "name=x"]`` -> ``{"max_new_tokens": 64, "name": "x"}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key.strip():
            raise ValueError(f'--policy-arg {pair!r} must look like KEY=VALUE')
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _headline(summary: dict[str, Any]) -> str:
    head = {k: summary.get(k) for k in _HEADLINE}
    head['groups'] = summary.get('groups')
    return json.dumps(head)


def run_eval(args: argparse.Namespace) -> int:
    """The ``eval`` command: 0 done, 1 the run failed, 2 bad input (nothing run)."""
    if getattr(args, 'benchmark', 'er') == 'eb-alfred':
        from ego_reasoner_ros.cli.eb_alfred_cmd import run_eb_eval

        return run_eb_eval(args)
    if not args.tasks:
        print('error: --tasks is required for the ER benchmark', file=sys.stderr)
        return EXIT_BAD_INPUT
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers expert/random/...)
    from ego_reasoner_ros.training.evaluate import evaluate, parse_shard

    try:
        config = fill(
            eval_options(), args, shard=parse_shard(args.shard) if args.shard else None,
            plots=not args.no_plots, policy_kwargs=parse_policy_args(args.policy_arg),
            resume='require' if args.resume else 'never' if args.no_resume else 'auto',
            progress=not args.no_progress, progress_log=not args.no_progress)
        summary = evaluate(config)
    except (DataError, UnknownPolicyError, ValueError) as exc:
        # every check runs before the first case: nothing was run, nothing written
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    for err in summary.get('errors', []):
        print(f'error in identity {err.get("identity")}: {err.get("error")}', file=sys.stderr)
    print(f'{summary["n_tasks"]} tasks, success {100 * summary["success_rate"]:.2f}%, '
          f'strict {100 * summary["strict_success_rate"]:.2f}% ({summary["label"]}); '
          f'report in {args.out}', file=sys.stderr)
    print(_headline(summary))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """The ``eval-merge`` command."""
    from ego_reasoner_ros.training.eb_alfred import evaluate as eb_eval
    from ego_reasoner_ros.training.report import merge_runs

    if args.runs and eb_eval.is_eb_run(args.runs[0]):  # EB-ALFRED-replay shards
        try:
            summary = eb_eval.merge_runs(args.runs, args.out, plots=not args.no_plots)
        except DataError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return EXIT_BAD_INPUT
        print(json.dumps({k: summary[k] for k in ('n_episodes', 'success_rate',
                                                  'progress_rate', 'subsets')}))
        return 0
    try:
        summary = merge_runs(args.runs, args.out, plots=not args.no_plots)
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    print(_headline(summary))
    return 0
