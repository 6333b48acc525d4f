# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Entry point of the ``ego-reasoner`` command.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``; the parser it
registers sets ``func`` (called with the parsed namespace, returning an exit code).

    ego-reasoner --help
    ego-reasoner data fetch
    ego-reasoner eval --policy expert --tasks test_809.json --scenes scenes --out runs/eval
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import UnknownPolicyError
from ego_reasoner_ros.core.progress import LOGGER_NAME as PROGRESS_LOGGER

#: One exit-code convention for every command.
EXIT_OK = 0  # done
EXIT_FAILED = 1  # the run failed (or, for eval/datagen checks, what was checked failed)
EXIT_BAD_INPUT = 2  # bad input: nothing was run

# Subcommand modules, in the order --help lists them.
SUBCOMMAND_MODULES = (
    'ego_reasoner_ros.cli.launch_cmd',
    'ego_reasoner_ros.cli.eval_cmd',
    'ego_reasoner_ros.cli.compare_cmd',
    'ego_reasoner_ros.cli.datagen_cmd',
    'ego_reasoner_ros.cli.train_cmd',
    'ego_reasoner_ros.cli.harvest_cmd',
    'ego_reasoner_ros.cli.serve_cmd',
    'ego_reasoner_ros.cli.bag_cmd',
    'ego_reasoner_ros.cli.bench_cmd',
    'ego_reasoner_ros.cli.data_cmd',
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every installed subcommand."""
    parser = argparse.ArgumentParser(
        prog='ego-reasoner',
        description='Embodied reasoning with a multimodal LLM: simulate, evaluate, train, deploy.',
    )
    parser.add_argument('-v', '--verbose', action='count', default=0,
                        help='more logging (-v info, -vv debug)')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subcommand is not part of this build
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format='%(levelname)s %(name)s: %(message)s')
    # progress lines of long jobs (cases done, success so far, rate, ETA) are always shown
    logging.getLogger(PROGRESS_LOGGER).setLevel(min(level, logging.INFO))
    if not getattr(args, 'func', None):
        parser.print_help()
        return EXIT_OK if args.command is None else EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except (DataError, UnknownPolicyError) as exc:  # bad input that a command did not catch
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == '__main__':
    sys.exit(main())
