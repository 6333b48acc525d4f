# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Does a model read its frames? Teacher-forced accuracy of "I see X" / "No X in view".

For ``probe-look`` data (``ego-reasoner datagen --expert probe-look``), every reply that
starts ``<Observation>At Place.`` goes on with "I see X" when the frame before it shows X
and "No X ..." when it does not. This feeds whole validation trajectories to a checkpoint
(one forward pass each, the reference replies in context) and counts how often its most
likely next token after "At Place." is the right one, with the frames or blanked.
Prints a final JSON line.

Run: ``python benchmarks/bench_look_reading.py [CHECKPOINT] [--data DIR] [--rows 40] [--blank]``
(defaults: the shipped model, and a small probe-look set generated on procedural scenes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import re


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('checkpoint', nargs='?', default='models/ego-reasoner-tiny',
                    help='model folder (default: the shipped tiny model)')
    ap.add_argument('--data', type=Path, default=None,
                    help='a probe-look dataset (its sharegpt/val.json is read); default: '
                         'generate a small one on procedural scenes')
    ap.add_argument('--rows', type=int, default=40, help='validation trajectories to read')
    ap.add_argument('--blank', action='store_true', help='black frames instead of the real ones')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()

    import torch
    from PIL import Image

    from ego_reasoner_ros.core import images as imgs
    from ego_reasoner_ros.training.backends.hf import HFEngine
    from ego_reasoner_ros.training.train_data import load_rows

    if args.data is None:
        import tempfile

        from ego_reasoner_ros.training.datagen import DatagenConfig, run_datagen

        args.data = Path(tempfile.mkdtemp(prefix='look_reading_')) / 'data'
        run_datagen(DatagenConfig(out_dir=args.data, procedural=12, tasks_per_scene=10,
                                  image_size=112, expert='probe-look', progress=False))
    rows = [r for r in load_rows(args.data / 'sharegpt' / 'val.json')
            if 'pickup' in r.get('tasktype', '')][:args.rows]
    engine = HFEngine.from_pretrained(args.checkpoint, torch_threads=args.threads)
    model, proc = engine.model, engine.processor
    tok = proc.tokenizer
    counts = {'I': [0, 0], 'No': [0, 0]}  # right, total
    for row in rows:
        # the rows' image blocks are in the order of row['images'], as the trainer reads them
        pil = [imgs.to_pil(path) for path in row['images']]
        if args.blank:
            pil = [Image.new('RGB', p.size) for p in pil]
        text = proc.apply_chat_template(row['messages'], tokenize=False)
        inputs = proc(text=[text], images=pil, return_tensors='pt')
        with torch.inference_mode():
            predicted = model(**inputs).logits[0].argmax(-1).tolist()
        ids = inputs['input_ids'][0].tolist()
        for i in range(8, len(ids) - 1):
            want = tok.decode([ids[i + 1]]).strip()
            before = tok.decode(ids[i - 8:i + 1])
            if want in counts and re.search(r'<Observation>At \w+\.\s*$', before):
                counts[want][1] += 1
                counts[want][0] += tok.decode([predicted[i]]).strip() == want
    right = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    print(json.dumps({'checkpoint': args.checkpoint, 'frames': 'blank' if args.blank else 'real',
                      'rows': len(rows), 'readings': total,
                      'accuracy': round(right / total, 3) if total else None,
                      'i_see_right': counts['I'], 'no_right': counts['No']}))


if __name__ == '__main__':
    main()
