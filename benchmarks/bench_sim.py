# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Embedded simulator speed: actions/s without rendering and RGB + instance-mask frames/s.

Usage: python benchmarks/bench_sim.py [--data DIR] [--max-cases N] [--frames N]
The last line printed is JSON: {"actions_per_s": ..., "frames_per_s": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys

from ego_reasoner_ros.sim_bridge.bench import bench_sim


SHARED_ER = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'embodied-reasoner'


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get(
        "EGO_REASONER_DATA", str(SHARED_ER)))
    ap.add_argument("--max-cases", type=int, default=None)
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args(argv)
    figures = bench_sim(args.data, max_cases=args.max_cases, frames=args.frames)
    print(json.dumps({k: v for k, v in figures.items()
                      if k not in ("actions_per_s", "frames_per_s")}))
    print(json.dumps({"actions_per_s": figures["actions_per_s"],
                      "frames_per_s": figures["frames_per_s"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
