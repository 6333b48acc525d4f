# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Supervised fine-tuning of a Qwen2-VL-family policy with TRL's ``SFTTrainer``.

    ego-reasoner train sft --config training/configs/tiny_sft.yaml [key=value ...] [--resume]
    accelerate launch --config_file training/configs/accelerate_cpu2.yaml --num_processes 2
        -m ego_reasoner_ros.training.sft --config training/configs/tiny_sft.yaml

The loss covers assistant turns only (``assistant_only_loss``: the chat template marks the
replies, ``<|im_end|>`` included, with ``{% generation %}``); images stay interleaved in the
user turns. ``model: tiny`` builds the tiny preset (tokenizer trained on the dataset's text)
into ``OUTPUT_DIR/tiny-init`` first. LoRA through PEFT when ``lora`` is set. Checkpoints go to
``OUTPUT_DIR/checkpoint-*`` (``--resume`` continues from the latest), the final model and
processor to ``OUTPUT_DIR/final``, the loss curve to ``OUTPUT_DIR/loss.png`` and the log
history to ``OUTPUT_DIR/log_history.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import json
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.training import settings
from ego_reasoner_ros.training.settings import GROUP
from ego_reasoner_ros.training.train_data import FIRST_TURNS

logger = logging.getLogger(__name__)

LORA_DEFAULT_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj',
                        'down_proj']


@dataclass
class TrainConfig:
    """Settings shared by SFT and GRPO (read from YAML; unknown keys are errors).

    Attributes:
        model: hub id, local path, or ``"tiny"`` (built into ``output_dir/tiny-init``).
        data: sharegpt folder / JSON file or saved ``datasets`` directory.
        output_dir: checkpoints, final model, curves.
        tiny: sizes for the tiny preset (see :class:`~ego_reasoner_ros.training.tiny.TinyConfig`).
        max_steps: stop after this many optimizer steps (-1: use ``num_train_epochs``).
        lora: PEFT LoRA settings (``r``, ``alpha``, ``dropout``, ``target_modules``); None
            trains all (unfrozen) weights.
        freeze_vision: freeze the vision tower and merger (the reference does).
        min_pixels / max_pixels: image pixel budget during training.
        torch_threads: ``torch.set_num_threads``.
        limit: use only the first N dataset rows.
        first_turns: ``none``, ``add``, ``only`` or ``text``: mix in (or train on only)
            each trajectory's first turn, the instruction-to-plan step (see
            :func:`~ego_reasoner_ros.training.train_data.load_sft_dataset`).
        task_types: train only on trajectories of these ER task types (None: all).
        trainer: extra ``SFTConfig`` / ``GRPOConfig`` fields, passed through.
        note: free text about the recipe (not used).

    ``tiny``, ``lora`` and ``trainer`` are option groups: an override merges into them key
    by key (:mod:`~ego_reasoner_ros.training.settings`).
    """

    model: str = 'tiny'
    data: str = ''
    output_dir: str = 'runs/sft'
    tiny: dict[str, Any] = field(default_factory=dict, metadata=GROUP)
    max_steps: int = -1
    num_train_epochs: float = 1.0
    learning_rate: float = 1e-5
    lr_scheduler_type: str = 'cosine'
    warmup_ratio: float = 0.1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    logging_steps: int = 1
    save_steps: int = 500
    save_total_limit: int | None = 2
    seed: int = 42
    bf16: bool = False
    gradient_checkpointing: bool = False
    max_length: int | None = None
    lora: dict[str, Any] | None = field(default=None, metadata=GROUP)
    merge_lora: bool = True
    freeze_vision: bool = False
    min_pixels: int | None = None
    max_pixels: int | None = None
    torch_threads: int | None = None
    limit: int | None = None
    first_turns: str = 'none'
    task_types: list[str] | None = None
    dtype: str = 'auto'
    trainer: dict[str, Any] = field(default_factory=dict, metadata=GROUP)
    note: str = ''

    def __post_init__(self) -> None:
        for name in ('learning_rate', 'warmup_ratio', 'num_train_epochs'):
            try:  # YAML 1.1 reads "1e-5" as a string
                setattr(self, name, float(getattr(self, name)))
            except (TypeError, ValueError):
                raise ValueError(f'{name} must be a number, got {getattr(self, name)!r}') \
                    from None
        if not self.model:
            raise ValueError('model must name a checkpoint or "tiny"')
        if isinstance(self.task_types, str):
            self.task_types = [self.task_types]
        if self.task_types is not None:
            from ego_reasoner_ros.training.tasks import TASK_TYPES

            unknown = [t for t in self.task_types if t not in TASK_TYPES]
            if unknown:
                raise ValueError(f'unknown task types {unknown}; choose from {sorted(TASK_TYPES)}')
        if not self.data:
            raise ValueError('data must name a dataset folder or file')
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError('max_steps must be -1 or positive')
        if self.learning_rate <= 0:
            raise ValueError('learning_rate must be positive')
        if self.per_device_train_batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise ValueError('batch size and gradient accumulation must be >= 1')
        if self.first_turns not in FIRST_TURNS:
            raise ValueError(f'first_turns must be one of {FIRST_TURNS}, got {self.first_turns!r}')
        if self.lora is not None and not isinstance(self.lora, dict):
            raise ValueError('lora must be a mapping (r, alpha, dropout, target_modules)')

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping, rejecting unknown keys."""
        return settings.from_mapping(cls, data)


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = (),
                cls: type = TrainConfig):
    """Read a YAML config, apply ``key=value`` overrides, validate (see ``settings``)."""
    return settings.load_config(path, overrides, cls)


# ------------------------------------------------------------------- model setup
def prepare_model(cfg: TrainConfig, corpus: Any = (), *,
                  checkpoint: str | None = None) -> tuple[Any, Any]:
    """Build the tiny preset if asked (main process first) and load model + processor.

    ``checkpoint`` (a ``checkpoint-N`` folder being resumed) is loaded instead of
    ``cfg.model``: ``from_pretrained`` maps the saved weight names back to the model's,
    which the trainer's raw state-dict load on resume does not do for Qwen2-VL in
    transformers 5 (every weight would be reported missing and stay untrained).
    """
    accelerate = require('accelerate', purpose='training')
    from ego_reasoner_ros.training.processor import LoadOptions, load_model_and_processor
    from ego_reasoner_ros.training.tiny import build_tiny, is_tiny_dir

    source = cfg.model
    if cfg.model == 'tiny':
        target = Path(cfg.output_dir) / 'tiny-init'
        torch = require('torch', purpose='training')
        # the trainer later builds its own state with cpu=use_cpu; agree with it here
        use_cpu = bool(cfg.trainer.get('use_cpu')) or not torch.cuda.is_available()
        state = accelerate.PartialState(cpu=use_cpu)
        with state.main_process_first():
            if not is_tiny_dir(target):
                build_tiny(target, list(corpus() if callable(corpus) else corpus), **cfg.tiny)
        source = str(target)
    if checkpoint is not None and (Path(checkpoint) / 'config.json').is_file():
        source = checkpoint  # a full model (LoRA checkpoints hold adapters only)
    model, processor = load_model_and_processor(
        source, LoadOptions(dtype=cfg.dtype, min_pixels=cfg.min_pixels,
                            max_pixels=cfg.max_pixels, torch_threads=cfg.torch_threads))
    model.train()
    if cfg.freeze_vision:
        inner = getattr(model, 'model', model)
        # Qwen-VL: ``visual`` (tower and merger); Gemma 3 and others: tower and projector
        parts = [getattr(inner, name, None) for name in ('visual', 'vision_tower',
                                                          'multi_modal_projector')]
        parts = [part for part in parts if part is not None]
        if not parts:
            raise ValueError('freeze_vision: the model has no vision tower')
        for part in parts:
            for param in part.parameters():
                param.requires_grad_(False)
    return model, processor


def lora_config(cfg: TrainConfig):
    """The PEFT ``LoraConfig`` of ``cfg.lora`` (None when LoRA is off)."""
    if cfg.lora is None:
        return None
    peft = require('peft', purpose='LoRA training')
    opts = dict(cfg.lora)
    # target only the language model's projections (the vision tower has its own qkv)
    targets = opts.pop('target_modules', LORA_DEFAULT_TARGETS)
    if isinstance(targets, list):
        targets = r'.*language_model.*\.(' + '|'.join(targets) + r')$'
    return peft.LoraConfig(r=int(opts.pop('r', 8)), lora_alpha=int(opts.pop('alpha', 16)),
                           lora_dropout=float(opts.pop('dropout', 0.0)),
                           target_modules=targets, task_type='CAUSAL_LM', **opts)


def trainer_args(cfg: TrainConfig) -> dict[str, Any]:
    """Common ``TrainingArguments`` fields of both trainers."""
    args = dict(
        output_dir=cfg.output_dir, max_steps=cfg.max_steps,
        num_train_epochs=cfg.num_train_epochs, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type, warmup_steps=cfg.warmup_ratio,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        logging_steps=cfg.logging_steps, save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit, seed=cfg.seed, bf16=cfg.bf16,
        gradient_checkpointing=cfg.gradient_checkpointing, dataloader_pin_memory=False,
        report_to='none', remove_unused_columns=False, disable_tqdm=True)
    torch = require('torch', purpose='training')
    if not torch.cuda.is_available():
        args['use_cpu'] = True  # makes torchrun / multi-process CPU runs use DDP over gloo
    args.update(cfg.trainer)
    return args


def latest_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest ``checkpoint-N`` folder, or None."""
    root = Path(output_dir)
    found = [p for p in root.glob('checkpoint-*') if p.is_dir() and p.name[11:].isdigit()]
    return str(max(found, key=lambda p: int(p.name[11:]))) if found else None


def save_curves(log_history: list[dict[str, Any]], out_dir: str | os.PathLike,
                keys: Sequence[str] = ('loss',)) -> list[Path]:
    """Write ``log_history.json`` and one PNG per logged key in ``keys`` (value vs step)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'log_history.json').write_text(json.dumps(log_history, indent=1), encoding='utf-8')
    written = []
    matplotlib = require('matplotlib', purpose='training curves')
    matplotlib.use('Agg')
    plt = require('matplotlib.pyplot')
    for key in keys:
        points = [(e['step'], e[key]) for e in log_history if key in e and 'step' in e]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([p[0] for p in points], [p[1] for p in points], marker='.')
        ax.set_xlabel('step')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f'{key.replace("/", "_")}.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def progress_callback(tf: Any) -> Any:
    """A ``TrainerCallback`` that reports steps done, the last loss, the rate and the ETA.

    A bar on a terminal, progress lines in a log (``core.progress.Progress``).
    """
    from ego_reasoner_ros.core.progress import Progress

    class _Progress(tf.TrainerCallback):
        def __init__(self) -> None:
            self.progress: Progress | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.progress = Progress(state.max_steps, 'train', unit='step',
                                         done=state.global_step, counts_success=False)

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(state.global_step - self.progress.done)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.progress is not None and logs and 'loss' in logs:
                self.progress.note = f'loss {float(logs["loss"]):.4f}'

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.close()
                self.progress = None

    return _Progress()


def keep_prompt_config(trainer: Any, cfg: TrainConfig) -> Any:
    """Make checkpoints carry the dataset's prompt wording; report progress too.

    Checkpoints get ``prompt_config.json``; :func:`progress_callback` reports the steps.

    The ``hf`` policy reads it back, so a model is always prompted the way it was trained.
    Returns the wording (None when the dataset records none: the default one).
    """
    from ego_reasoner_ros.core.prompts import save_prompt_config
    from ego_reasoner_ros.training.train_data import prompt_config_of

    tf = require('transformers', purpose='training')
    trainer.add_callback(progress_callback(tf))
    wording = prompt_config_of(cfg.data)
    if wording is None:
        return None

    class _SavePromptConfig(tf.TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f'checkpoint-{state.global_step}'
                if folder.is_dir():
                    save_prompt_config(folder, wording)

    trainer.add_callback(_SavePromptConfig())
    return wording


def finish(trainer: Any, processor: Any, cfg: TrainConfig, curve_keys: Sequence[str],
           prompt_config: Any = None) -> dict[str, Any]:
    """Save the final model (LoRA merged if asked), processor, curves; return a summary.

    ``prompt_config`` (the dataset's wording) is saved beside the final model.
    """
    final = Path(cfg.output_dir) / 'final'
    model = trainer.model
    if trainer.accelerator.is_main_process:
        unwrapped = trainer.accelerator.unwrap_model(model)
        if cfg.lora is not None and cfg.merge_lora and hasattr(unwrapped, 'merge_and_unload'):
            unwrapped = unwrapped.merge_and_unload()
        unwrapped.save_pretrained(final)
        processor.save_pretrained(final)
        if prompt_config is not None:
            from ego_reasoner_ros.core.prompts import save_prompt_config

            save_prompt_config(final, prompt_config)
        curves = save_curves(trainer.state.log_history, cfg.output_dir, curve_keys)
    else:
        curves = []
    trainer.accelerator.wait_for_everyone()
    losses = [e['loss'] for e in trainer.state.log_history if 'loss' in e]
    return {'final': str(final), 'global_step': trainer.state.global_step,
            'first_loss': losses[0] if losses else None,
            'last_loss': losses[-1] if losses else None,
            'curves': [str(p) for p in curves], 'config': asdict(cfg)}


# ------------------------------------------------------------------------- SFT
def run_sft(cfg: TrainConfig, *, resume: bool | str = False) -> dict[str, Any]:
    """Train with ``SFTTrainer``; returns a summary (final path, losses, curves)."""
    trl = require('trl', purpose='SFT')
    from ego_reasoner_ros.training import train_data

    dataset = train_data.load_sft_dataset(cfg.data, limit=cfg.limit,
                                          first_turns=cfg.first_turns, seed=cfg.seed,
                                          task_types=cfg.task_types)

    def corpus():
        return train_data.corpus_from_rows(train_data.load_rows(cfg.data))

    checkpoint = None
    if resume:
        checkpoint = resume if isinstance(resume, str) else latest_checkpoint(cfg.output_dir)
        if checkpoint is None:
            logger.warning('--resume: no checkpoint in %s, starting fresh', cfg.output_dir)
    model, processor = prepare_model(cfg, corpus, checkpoint=checkpoint)
    sft_args = trl.SFTConfig(**{**trainer_args(cfg), 'max_length': cfg.max_length,
                                'assistant_only_loss': True,
                                **cfg.trainer})
    trainer = trl.SFTTrainer(model=model, args=sft_args, train_dataset=dataset,
                             processing_class=processor, peft_config=lora_config(cfg))
    wording = keep_prompt_config(trainer, cfg)
    trainer.train(resume_from_checkpoint=checkpoint)
    summary = finish(trainer, processor, cfg, ('loss', 'learning_rate', 'grad_norm'),
                     prompt_config=wording)
    logger.info('SFT done: %s', json.dumps({k: summary[k] for k in (
        'final', 'global_step', 'first_loss', 'last_loss')}))
    return summary


def build_arg_parser(prog: str) -> argparse.ArgumentParser:
    """Arguments shared by ``python -m ...sft`` / ``...grpo`` and the CLI."""
    parser = argparse.ArgumentParser(prog=prog)
    add_train_arguments(parser)
    return parser


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--resume``, ``--output-dir``, ``key=value`` overrides."""
    parser.add_argument('--config', help='YAML config (training/configs/*.yaml)')
    parser.add_argument('--resume', nargs='?', const=True, default=False,
                        help='continue from the latest checkpoint (or the one given)')
    parser.add_argument('--output-dir', help='override output_dir')
    parser.add_argument('--data', help='override data')
    parser.add_argument('--model', help='override model')
    parser.add_argument('overrides', nargs='*', metavar='KEY=VALUE',
                        help='config overrides, e.g. max_steps=5 lora.r=8')


def config_from_args(args: argparse.Namespace, cls: type = TrainConfig):
    """The validated config of parsed arguments."""
    overrides = list(args.overrides or [])
    resume = getattr(args, 'resume', False)
    if isinstance(resume, str) and '=' in resume and not Path(resume).exists():
        # `--resume key=value`: argparse took the override as the checkpoint path
        overrides.insert(0, resume)
        args.resume = True
    for name in ('output_dir', 'data', 'model'):
        value = getattr(args, name, None)
        if value:
            overrides.append(f'{name}={value}')
    return load_config(args.config, overrides, cls)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ego_reasoner_ros.training.sft`` (also under ``accelerate launch``)."""
    args = build_arg_parser('ego_reasoner_ros.training.sft').parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    summary = run_sft(config_from_args(args), resume=args.resume)
    print(json.dumps({k: summary[k] for k in ('final', 'global_step', 'first_loss',
                                               'last_loss', 'curves')}))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
