# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Time the oracle on the public EB-ALFRED-replay episodes with two workers; one JSON line.

    python benchmarks/bench_eb_alfred.py [--eb-data DIR] [--scenes DIR] [--workers 2]
        [--report FILE]

Target: the 240 public episodes with the oracle, ``--workers 2``, in <= 48 s (0.2 s per
episode). For scale: AI2-THOR's paper reports 0.07 s per THOR action on a desktop GPU
(arXiv 1712.05474), and EB-ALFRED spends 1 to 40+ THOR calls per skill, so one episode
there takes seconds before any model time. ``--report`` also runs the heuristic and the
negative control and writes a report with their rows beside the oracle's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import tempfile
import time

SHARED = Path(__file__).resolve().parents[2] / 'shared' / 'data'


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--eb-data', default=None)
    parser.add_argument('--scenes', default=str(SHARED / 'embodied-reasoner' / 'scenes'))
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--report', default=None, help='write the oracle/heuristic report here')
    args = parser.parse_args()

    from ego_reasoner_ros.training.eb_alfred.evaluate import (
        EBEvalConfig,
        evaluate,
        render_report,
    )

    def run(policy: str) -> tuple[dict, float]:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            summary = evaluate(EBEvalConfig(policy=policy, scenes=args.scenes,
                                            eb_data=args.eb_data, out=out, workers=args.workers,
                                            language_only=True))
            return summary, time.perf_counter() - t0

    oracle, wall = run('oracle')
    line = {
        'benchmark': 'eb_alfred_replay_oracle', 'workers': args.workers,
        'n_episodes': oracle['n_episodes'], 'wall_seconds': round(wall, 2),
        'seconds_per_episode': round(wall / max(oracle['n_episodes'], 1), 4),
        'success_rate': round(oracle['success_rate'], 4),
        'progress_rate': round(oracle['progress_rate'], 4),
        'failures': [f"{f['episode_id']} ({f.get('class')}: {f.get('reason')})"
                     for f in oracle['failures']],
        'target_seconds': 48, 'label': oracle['label'],
    }
    if args.report:
        others = [run(p)[0] for p in ('oracle-negative', 'heuristic')]
        Path(args.report).write_text(render_report([oracle, *others]), encoding='utf-8')
        line['negative_control_success_rate'] = round(others[0]['success_rate'], 4)
        line['heuristic_success_rate'] = round(others[1]['success_rate'], 4)
    print(json.dumps(line))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
