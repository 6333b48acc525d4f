# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""GRPO of a Qwen2-VL-family policy with TRL's ``GRPOTrainer``.

    ego-reasoner train grpo --config training/configs/tiny_grpo.yaml [key=value ...]
    accelerate launch ... -m ego_reasoner_ros.training.grpo --config ...

Prompts are the conversations before each expert decision of the dataset
(:func:`~ego_reasoner_ros.training.train_data.load_grpo_dataset`); rewards come from
:mod:`ego_reasoner_ros.training.rewards` by name (``format``, ``imitation``, ``env``,
``rollout``) with optional weights. Generation uses TRL's own HF ``generate`` rollouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import json
import logging
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.training.experts import check_removed
from ego_reasoner_ros.training.settings import GROUP
from ego_reasoner_ros.training.train_data import parse_turns
from ego_reasoner_ros.training.sft import (
    TrainConfig, build_arg_parser, config_from_args, finish, keep_prompt_config,
    latest_checkpoint, lora_config, prepare_model, trainer_args)

logger = logging.getLogger(__name__)


@dataclass
class GRPOTrainConfig(TrainConfig):
    """:class:`~ego_reasoner_ros.training.sft.TrainConfig` plus GRPO settings.

    Attributes:
        rewards: reward names, or a mapping name -> weight.
        env_reward: options of :class:`~ego_reasoner_ros.training.rewards.EnvRewardConfig`.
        rollout_reward: options of
            :class:`~ego_reasoner_ros.training.rollout_reward.RolloutRewardConfig` (the
            ``rollout`` reward: the episode finished by the model being trained).
        turns: which assistant turns become prompts (``all``, ``first``, ``last``, or
            ``last:K``: the last K of each trajectory, e.g. near a harvested failure).
        max_prompt_images: skip prompts with more images.
        num_generations: completions per prompt (the group size).
        max_completion_length: tokens per completion.
        temperature: rollout sampling temperature.
        beta: KL coefficient (0 skips the reference model).
    """

    output_dir: str = 'runs/grpo'
    learning_rate: float = 1e-6
    rewards: Any = field(default_factory=lambda: {'format': 0.5, 'imitation': 1.0})
    env_reward: dict[str, Any] = field(default_factory=dict, metadata=GROUP)
    rollout_reward: dict[str, Any] = field(default_factory=dict, metadata=GROUP)
    turns: str = 'all'
    max_prompt_images: int | None = None
    num_generations: int = 4
    max_completion_length: int = 256
    temperature: float = 1.0
    beta: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.rewards, str):
            self.rewards = [self.rewards]
        if isinstance(self.rewards, list):
            self.rewards = {name: 1.0 for name in self.rewards}
        if not isinstance(self.rewards, dict) or not self.rewards:
            raise ValueError('rewards must name at least one reward function')
        for name in self.rewards:
            check_removed(f'reward {name}')  # a reward that lost: exit 2 naming its log entry
        if self.num_generations < 2:
            raise ValueError('num_generations must be >= 2 (GRPO compares a group)')
        if self.max_completion_length < 1:
            raise ValueError('max_completion_length must be >= 1')
        parse_turns(self.turns)


def reward_functions(cfg: GRPOTrainConfig) -> tuple[list[Any], list[float]]:
    """The reward callables and weights named by ``cfg.rewards``."""
    from ego_reasoner_ros.training.rewards import get_reward

    funcs, weights = [], []
    for name, weight in cfg.rewards.items():
        opts = {'env': cfg.env_reward, 'rollout': cfg.rollout_reward}.get(name, {})
        funcs.append(get_reward(name, **opts))
        weights.append(float(weight))
    return funcs, weights


def run_grpo(cfg: GRPOTrainConfig, *, resume: bool | str = False,
             extra_rewards: Sequence[tuple[Any, float]] = ()) -> dict[str, Any]:
    """Train with ``GRPOTrainer``; returns a summary (final path, rewards, curves).

    ``extra_rewards`` adds ``(callable, weight)`` pairs to the configured rewards.
    """
    trl = require('trl', purpose='GRPO')
    from ego_reasoner_ros.training import train_data

    dataset = train_data.load_grpo_dataset(cfg.data, turns=cfg.turns, limit=cfg.limit,
                                           max_prompt_images=cfg.max_prompt_images,
                                           task_types=cfg.task_types)

    def corpus():
        return train_data.corpus_from_rows(train_data.load_rows(cfg.data))

    checkpoint = None
    if resume:
        checkpoint = resume if isinstance(resume, str) else latest_checkpoint(cfg.output_dir)
    model, processor = prepare_model(cfg, corpus, checkpoint=checkpoint)
    funcs, weights = reward_functions(cfg)
    for func, weight in extra_rewards:
        funcs.append(func)
        weights.append(float(weight))
    args = trainer_args(cfg)
    args.update(num_generations=cfg.num_generations,
                max_completion_length=cfg.max_completion_length,
                temperature=cfg.temperature, beta=cfg.beta, reward_weights=weights)
    args.update(cfg.trainer)
    grpo_args = trl.GRPOConfig(**args)
    trainer = trl.GRPOTrainer(model=model, reward_funcs=funcs, args=grpo_args,
                              train_dataset=dataset, processing_class=processor,
                              peft_config=lora_config(cfg))
    for func in funcs:
        if hasattr(func, 'bind'):  # rewards that continue episodes with the live model
            func.bind(trainer)
    wording = keep_prompt_config(trainer, cfg)
    trainer.train(resume_from_checkpoint=checkpoint)
    reward_keys = ['reward'] + [f'rewards/{getattr(f, "__name__", "reward")}/mean'
                                for f in funcs]
    summary = finish(trainer, processor, cfg, ['loss', *reward_keys], prompt_config=wording)
    rewards = [e['reward'] for e in trainer.state.log_history if 'reward' in e]
    summary.update(first_reward=rewards[0] if rewards else None,
                   last_reward=rewards[-1] if rewards else None)
    logger.info('GRPO done: %s', json.dumps({k: summary[k] for k in (
        'final', 'global_step', 'first_reward', 'last_reward')}))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ego_reasoner_ros.training.grpo`` (also under ``accelerate launch``)."""
    args = build_arg_parser('ego_reasoner_ros.training.grpo').parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    summary = run_grpo(config_from_args(args, GRPOTrainConfig), resume=args.resume)
    print(json.dumps({k: summary[k] for k in ('final', 'global_step', 'first_reward',
                                               'last_reward', 'curves')}))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
