# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner train``: fine-tune a policy (SFT or GRPO) and build the tiny preset.

- ``train sft --config training/configs/tiny_sft.yaml [--resume] [KEY=VALUE ...]``
- ``train grpo --config training/configs/tiny_grpo.yaml [--resume] [KEY=VALUE ...]``
- ``train tiny OUT_DIR [--data DATASET] [--hidden 256 ...]``: build the tiny preset alone.

The last stdout line of each is one JSON object (the run summary). Multi-process runs use
``accelerate launch -m ego_reasoner_ros.training.sft`` (or ``.grpo``) with the same flags.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train`` with ``sft``, ``grpo`` and ``tiny`` on ``subparsers``."""
    from ego_reasoner_ros.training.sft import add_train_arguments

    train = subparsers.add_parser('train', help='fine-tune a policy (SFT, GRPO)',
                                  description='Fine-tune a Qwen2-VL-family policy with TRL.')
    train.set_defaults(func=lambda _args: (train.print_help(), 2)[1])
    sub = train.add_subparsers(dest='train_command', metavar='{sft,grpo,tiny}')
    sft = sub.add_parser('sft', help='supervised fine-tuning (TRL SFTTrainer)')
    add_train_arguments(sft)
    sft.set_defaults(func=_run_sft)
    grpo = sub.add_parser('grpo', help='GRPO with parser-based and simulator rewards')
    add_train_arguments(grpo)
    grpo.set_defaults(func=_run_grpo)
    tiny = sub.add_parser('tiny', help='build the tiny random Qwen2-VL preset')
    tiny.add_argument('out_dir')
    tiny.add_argument('--data', help='dataset whose text trains the tokenizer')
    for name, default in (('hidden', 256), ('layers', 4), ('vision-depth', 2),
                          ('vision-width', 128), ('image-size', 224), ('vocab-size', 8192)):
        tiny.add_argument(f'--{name}', type=int, default=default)
    tiny.set_defaults(func=_run_tiny)
    return train


def _print(summary: dict[str, Any], keys: tuple[str, ...]) -> None:
    print(json.dumps({k: summary.get(k) for k in keys}))


def _run_sft(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.training.sft import config_from_args, run_sft

    summary = run_sft(config_from_args(args), resume=args.resume)
    _print(summary, ('final', 'global_step', 'first_loss', 'last_loss', 'curves'))
    return 0


def _run_grpo(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig, run_grpo
    from ego_reasoner_ros.training.sft import config_from_args

    summary = run_grpo(config_from_args(args, GRPOTrainConfig), resume=args.resume)
    _print(summary, ('final', 'global_step', 'first_reward', 'last_reward', 'curves'))
    return 0


def _run_tiny(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.training import train_data
    from ego_reasoner_ros.training.tiny import build_tiny

    corpus = list(train_data.corpus_from_rows(train_data.load_rows(args.data))) \
        if args.data else []
    out = build_tiny(args.out_dir, corpus, hidden=args.hidden, layers=args.layers,
                     vision_depth=args.vision_depth, vision_width=args.vision_width,
                     image_size=args.image_size, vocab_size=args.vocab_size)
    print(json.dumps({'path': str(out)}))
    return 0
