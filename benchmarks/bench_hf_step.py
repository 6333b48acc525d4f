# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Per-decision time of the hf backend along one episode, with and without prefix reuse.

Plays a synthetic episode of ``--steps`` decisions (one 800x450 frame per turn, the full
history kept in context) with the shipped tiny checkpoint (``models/ego-reasoner-tiny``; or
``--model DIR``, or ``--build-tiny`` for a freshly built preset) and times step 1 and step N.
Every decision generates exactly ``--new-tokens`` tokens (the stop tokens are disabled), so
the steps differ only by their prompts. Each figure is the median over ``--reps`` episodes,
for each torch thread count in ``--threads``, as wall time and as process CPU time (steadier
on a shared machine); the greedy tokens of every step are compared between reuse on and off.
The target of issue 7: step N at most 1.5x step 1 with reuse.
Optionally (``--train``) also times one SFT training step (forward + backward + AdamW) on an
8-image, ~600-text-token trajectory. The last stdout line is one JSON object.
With ``--family NAME [NAME ...]`` (or ``all``) it times instead a tiny random model of each
family (:mod:`ego_reasoner_ros.training.families`: hidden 64, ``--layers``, eager attention),
with the same episode, and prints a table of prompt, prefill and new tokens at step 1 and
step N and the step-N/step-1 ratios with and without reuse; Gemma 3 (decoded by
``generate``) runs without reuse either way.

    python benchmarks/bench_hf_step.py [--steps 20] [--new-tokens 32] [--threads 1 2]
    python benchmarks/bench_hf_step.py --family all --threads 1 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import tempfile
import time

import numpy as np

SHIPPED_TINY = Path(__file__).resolve().parents[1] / 'models' / 'ego-reasoner-tiny'


def _episode(engine, steps: int, rng: np.random.Generator, settings) -> list[dict]:
    from ego_reasoner_ros.core.actions import Action
    from ego_reasoner_ros.core.prompts import PromptBuilder

    builder = PromptBuilder()

    def frame() -> np.ndarray:
        return rng.integers(0, 255, (450, 800, 3), dtype=np.uint8)

    msgs = [builder.system_message(), builder.first_turn('put the apple in the fridge',
                                                         [frame()])]
    engine.reset()
    rows = []
    for step in range(1, steps + 1):
        cpu = time.process_time()
        res = engine.generate(msgs, settings)
        cpu = time.process_time() - cpu
        rows.append({'step': step, 'seconds': res.seconds, 'prefill_s': res.prefill_seconds,
                     'cpu_s': cpu,
                     'prompt_tokens': res.prompt_tokens, 'prefill_tokens': res.prefill_tokens,
                     'new_tokens': res.completion_tokens, 'token_ids': res.token_ids})
        msgs.append(builder.assistant(res.text))
        msgs.append(builder.after_success(Action.parse_canonical('move forward'), [frame()]))
    return rows


def _decision_times(engine, args, settings) -> dict:
    """Median step-1 / step-N figures with and without reuse for the current thread count."""
    result: dict = {}
    tokens: dict[str, list] = {}
    for label, reuse in (('reuse', True), ('no_reuse', False)):
        engine.reuse_prefix = reuse
        _episode(engine, 2, np.random.default_rng(0), settings)  # warm-up
        runs = [_episode(engine, args.steps, np.random.default_rng(1 + rep), settings)
                for rep in range(args.reps)]
        tokens[label] = [row['token_ids'] for row in runs[0]]
        for index in (0, args.steps - 1):
            rows = [run[index] for run in runs]
            key = f'{label}_step{rows[0]["step"]}'
            result[f'{key}_s'] = round(statistics.median(r['seconds'] for r in rows), 4)
            result[f'{key}_prefill_s'] = round(
                statistics.median(r['prefill_s'] for r in rows), 4)
            result[f'{key}_cpu_s'] = round(statistics.median(r['cpu_s'] for r in rows), 4)
            result[f'{key}_prompt_tokens'] = rows[0]['prompt_tokens']
            result[f'{key}_prefill_tokens'] = rows[0]['prefill_tokens']
            result[f'{key}_new_tokens'] = rows[0]['new_tokens']
        for name, unit in (('wall', 's'), ('cpu', 'cpu_s')):
            result[f'{label}_ratio_{name}'] = round(
                result[f'{label}_step{args.steps}_{unit}'] / result[f'{label}_step1_{unit}'], 3)
    result['identical_greedy_tokens'] = tokens['reuse'] == tokens['no_reuse']
    return result


def _train_step(model_dir: Path, threads: int) -> dict:
    import torch

    from ego_reasoner_ros.training.processor import load_model_and_processor

    torch.set_num_threads(threads)
    model, proc = load_model_and_processor(model_dir)
    model.train()
    rng = np.random.default_rng(0)
    content = []
    for i in range(8):
        content.append({'type': 'image', 'image': rng.integers(0, 255, (450, 800, 3),
                                                                 dtype=np.uint8)})
        content.append({'type': 'text', 'text': f'step {i} ' + 'the robot sees a kitchen ' * 14})
    from ego_reasoner_ros.training.backends.hf_inputs import normalize_messages

    msgs, images = normalize_messages([{'role': 'user', 'content': content},
                                       {'role': 'assistant', 'content': 'ok ' * 40}])
    text = proc.apply_chat_template(msgs, tokenize=False)
    enc = proc(text=[text], images=images, return_tensors='pt')
    labels = enc['input_ids'].clone()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
    tokens = int(enc['input_ids'].shape[1])
    image_tokens = int((enc['input_ids'] == proc.image_token_id).sum())
    best = min(times[1:])
    return {'train_tokens': tokens, 'train_image_tokens': image_tokens,
            'train_step_s': round(best, 3), 'train_tokens_per_s': round(tokens / best)}


def _families(args: argparse.Namespace) -> None:
    """``--family``: step 1 and step N of each family's tiny model, with and without reuse."""
    import torch

    from ego_reasoner_ros.training.backends.generation import GenerationSettings

    from ego_reasoner_ros.training.backends.hf import HFEngine
    from ego_reasoner_ros.training.families import FAMILIES, build_tiny_family, family
    from ego_reasoner_ros.training.processor import load_model_and_processor
    from ego_reasoner_ros.training.tiny import builtin_corpus

    names = list(FAMILIES) if args.family == ['all'] else args.family
    for name in names:
        family(name)  # unknown names fail before any work
    result: dict = {'steps': args.steps, 'new_tokens': args.new_tokens, 'reps': args.reps,
                    'cpus': os.cpu_count(), 'families': {}}
    settings = GenerationSettings(max_new_tokens=args.new_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model_dir = build_tiny_family(Path(tmp) / name, name, builtin_corpus() * 20,
                                          hidden=args.family_hidden, layers=args.layers)
            model, proc = load_model_and_processor(model_dir, attn_implementation='eager')
            engine = HFEngine(model, proc)
            engine.stop_ids = set()
            row: dict = {'class': type(model).__name__, 'prefix_reuse': engine.can_reuse,
                         'params_m': round(sum(p.numel() for p in model.parameters()) / 1e6,
                                           2)}
            for threads in args.threads:
                torch.set_num_threads(threads)
                figures = _decision_times(engine, args, settings)
                row.update({f't{threads}_{key}': value for key, value in figures.items()})
            result['families'][name] = row
            print(f'{name}: ' + json.dumps(row), flush=True)
    print('family      reuse  prompt1 prompt20 prefill20  new  ratio(reuse)  ratio(no reuse)')
    t = args.threads[0]
    for name, row in result['families'].items():
        print(f"{name:<11} {str(row['prefix_reuse']):<6} "
              f"{row[f't{t}_reuse_step1_prompt_tokens']:>7} "
              f"{row[f't{t}_reuse_step{args.steps}_prompt_tokens']:>8} "
              f"{row[f't{t}_reuse_step{args.steps}_prefill_tokens']:>9} "
              f"{row[f't{t}_reuse_step{args.steps}_new_tokens']:>4} "
              f"{row[f't{t}_reuse_ratio_cpu']:>13} {row[f't{t}_no_reuse_ratio_cpu']:>16}")
    print(json.dumps(result))


def main() -> None:
    """Run the benchmark and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--new-tokens', type=int, default=32)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--reps', type=int, default=5, help='episodes per figure (median)')
    parser.add_argument('--model', default=None,
                        help=f'model dir (default: {SHIPPED_TINY} when present)')
    parser.add_argument('--build-tiny', action='store_true',
                        help='build a fresh tiny preset instead of loading a checkpoint')
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--family-hidden', type=int, default=64,
                        help='text hidden size of the --family models')
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--train', action='store_true', help='also time one SFT step')
    parser.add_argument('--family', nargs='+', default=None, metavar='NAME',
                        help='time tiny random models of these families instead (qwen2_vl, '
                             'qwen2_5_vl, qwen3_vl, qwen3_5, gemma3, or all)')
    args = parser.parse_args()
    if args.steps < 2 or args.reps < 1 or args.new_tokens < 1:
        parser.error('need --steps >= 2, --reps >= 1 and --new-tokens >= 1')

    import torch

    from ego_reasoner_ros.training.backends.generation import GenerationSettings

    from ego_reasoner_ros.training.backends.hf import HFEngine
    from ego_reasoner_ros.training.tiny import build_tiny, builtin_corpus

    if args.family:
        _families(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.build_tiny or (args.model is None and not SHIPPED_TINY.is_dir()):
            model_dir = build_tiny(Path(tmp) / 'tiny', builtin_corpus() * 20,
                                   hidden=args.hidden, layers=args.layers,
                                   image_size=args.image_size)
            model_name = f'tiny h{args.hidden} l{args.layers} {args.image_size}px (built)'
        else:
            model_dir = Path(args.model) if args.model else SHIPPED_TINY
            model_name = str(model_dir)
        engine = HFEngine.from_pretrained(str(model_dir))
        engine.stop_ids = set()  # fixed number of new tokens per decision
        n_params = sum(p.numel() for p in engine.model.parameters())
        settings = GenerationSettings(max_new_tokens=args.new_tokens)
        result: dict = {'model': model_name, 'params_m': round(n_params / 1e6, 2),
                        'steps': args.steps, 'new_tokens': args.new_tokens, 'reps': args.reps,
                        'cpus': os.cpu_count(),
                        'load_before': [round(x, 2) for x in os.getloadavg()]}
        for threads in args.threads:
            torch.set_num_threads(threads)
            figures = _decision_times(engine, args, settings)
            result.update({f't{threads}_{key}': value for key, value in figures.items()})
        result['load_after'] = [round(x, 2) for x in os.getloadavg()]
        if args.train:
            result.update(_train_step(model_dir, args.threads[-1]))
    for key, value in result.items():
        print(f'{key:>36}: {value}')
    print(json.dumps(result))


if __name__ == '__main__':
    main()
