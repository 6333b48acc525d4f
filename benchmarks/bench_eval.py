# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Time the expert on the full public test set with two workers; prints one JSON object.

    python benchmarks/bench_eval.py [--data DIR] [--workers 2] [--policy expert]

Target: the 563 public cases with the expert, ``--workers 2``, rendering off, in <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import tempfile
import time


SHARED_ER = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'embodied-reasoner'


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--data', default=os.environ.get(
        'EGO_REASONER_DATA', str(SHARED_ER)))
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--policy', default='expert')
    args = parser.parse_args()

    import ego_reasoner_ros.training.policies  # noqa: F401
    from ego_reasoner_ros.training.evaluate import EvalConfig, evaluate

    data = Path(args.data)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = evaluate(EvalConfig(
            policy=args.policy, tasks=data / 'test_public.json', scenes=data / 'scenes',
            out=out, workers=args.workers, render=False, plots=False, progress=False))
        wall = time.perf_counter() - started
    print(json.dumps({
        'benchmark': 'eval_public_set', 'policy': args.policy, 'workers': args.workers,
        'n_tasks': summary['n_tasks'], 'wall_seconds': round(wall, 2),
        'tasks_per_second': round(summary['n_tasks'] / wall, 1),
        'success_rate': round(summary['success_rate'], 4),
        'strict_success_rate': round(summary['strict_success_rate'], 4),
        'n_errors': summary['n_errors'], 'target_seconds': 60,
        'label': summary['label'],
    }))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
