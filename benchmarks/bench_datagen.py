# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Throughput of the data engine: trajectories per second at 448x448, extrapolated to 10,000.

    python benchmarks/bench_datagen.py --n 1000 --workers 2
    python benchmarks/bench_datagen.py --n 10000 --workers 2   # the full target run

Prints one JSON line: generation seconds (task list + trajectories + episode records),
format-building seconds (sharegpt, hf, card), and the extrapolated time for 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import sys
import tempfile
import time

from ego_reasoner_ros.training.datagen import DatagenConfig, run_datagen
from ego_reasoner_ros.training.dataset_formats import build_formats


SHARED_ER = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'embodied-reasoner'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scenes', type=Path, default=Path(os.environ.get(
        'EGO_REASONER_DATA', str(SHARED_ER))) / 'scenes')
    parser.add_argument('--n', type=int, default=1000)
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--image-size', type=int, default=448)
    parser.add_argument('--procedural', type=int, default=0)
    parser.add_argument('--out', type=Path, default=None, help='keep the dataset here')
    args = parser.parse_args()
    scenes = args.scenes if args.scenes.is_dir() else None
    procedural = args.procedural or (0 if scenes else 40)
    out = args.out or Path(tempfile.mkdtemp(prefix='bench_datagen_'))
    try:
        cfg = DatagenConfig(out_dir=out, scenes_dir=scenes, procedural=procedural, n=args.n,
                            image_size=args.image_size, workers=args.workers,
                            formats=(), progress=False)
        t0 = time.monotonic()
        summary = run_datagen(cfg)
        gen = time.monotonic() - t0
        t1 = time.monotonic()
        build_formats(out)
        fmt = time.monotonic() - t1
        n = summary['n_trajectories']
        per = gen / max(n, 1)
        print(json.dumps({
            'n_trajectories': n, 'n_images': summary['n_images'],
            'image_size': args.image_size, 'workers': args.workers,
            'scenes': 'public training scenes' if scenes else f'{procedural} procedural',
            'generation_seconds': round(gen, 1), 'formats_seconds': round(fmt, 1),
            'trajectories_per_second': round(n / gen, 2) if gen else None,
            'extrapolated_10k_generation_seconds': round(per * 10_000, 0),
            'extrapolated_10k_total_seconds': round((gen + fmt) / max(n, 1) * 10_000, 0),
            'n_rejected': summary['n_rejected'],
            'load_average': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
        }))
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
