# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The EB-ALFRED options of ``ego-reasoner eval`` and their handler (imports stay light)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_BAD_INPUT = 2
BENCHMARKS = ('er', 'eb-alfred')


def add_eb_arguments(parser: argparse.ArgumentParser) -> None:
    """``--benchmark``, ``--eb-data``, ``--subset``, ``--language-only``, ``--n-shots``."""
    parser.add_argument('--benchmark', choices=BENCHMARKS, default='er',
                        help='er (default: Embodied-Reasoner test cases, needs --tasks) or '
                             'eb-alfred (EB-ALFRED replayed in the embedded simulator)')
    parser.add_argument('--eb-data', default=None, metavar='DIR',
                        help='EB-ALFRED data folder (default: $EGO_REASONER_EB_DATA, the '
                             'fetched copy, then ../shared/data/embodiedbench)')
    parser.add_argument('--subset', default=None,
                        help='EB-ALFRED: one subset only (base, common_sense, '
                             'complex_instruction, visual_appearance, spatial, long_horizon)')
    parser.add_argument('--language-only', action='store_true',
                        help='EB-ALFRED: no frames in the prompt (EB language-only mode)')
    parser.add_argument('--n-shots', type=int, default=10,
                        help='EB-ALFRED: in-context examples in the prompt (default 10)')


def run_eb_eval(args: argparse.Namespace) -> int:
    """``eval --benchmark eb-alfred``: 0 done, 1 the run failed, 2 bad input."""
    from ego_reasoner_ros.cli.eval_cmd import parse_policy_args
    from ego_reasoner_ros.core.errors import DataError
    from ego_reasoner_ros.core.policy import UnknownPolicyError
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers the core policies)
    from ego_reasoner_ros.training.eb_alfred.evaluate import EBEvalConfig, evaluate
    from ego_reasoner_ros.training.evaluate import parse_shard

    try:
        config = EBEvalConfig(
            policy=args.policy, scenes=args.scenes, eb_data=args.eb_data, out=args.out,
            subset=args.subset, language_only=args.language_only, parser=args.parser,
            workers=args.workers, shard=parse_shard(args.shard) if args.shard else None,
            n_shots=args.n_shots, resume=not args.no_resume, limit=args.limit,
            plots=not args.no_plots,
            policy_kwargs=parse_policy_args(args.policy_arg))
        summary = evaluate(config)
    except (DataError, UnknownPolicyError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the run failed after it started
        print(f'error: the EB-ALFRED run failed: {exc}', file=sys.stderr)
        return 1
    print(f"{summary['n_episodes']} episodes, success {100 * summary['success_rate']:.2f}%, "
          f"progress {100 * summary['progress_rate']:.2f}% ({summary['label']}); report in "
          f'{args.out}', file=sys.stderr)
    head: dict[str, Any] = {k: summary[k] for k in ('n_episodes', 'success_rate',
                                                    'progress_rate', 'eb_average_success')}
    head['subsets'] = summary['subsets']
    print(json.dumps(head))
    return 0
