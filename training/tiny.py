# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ``tiny`` preset: a small random Qwen2-VL built offline with a locally trained tokenizer.

No weights can be downloaded on the machines this project is built on, so tests, demos and
CPU training runs use a model with the exact Qwen2-VL architecture (vision tower, merger,
M-RoPE language model), random weights, and a byte-level BPE tokenizer trained on the
project's own text (the data engine's thoughts and instructions plus the prompt wording).
The result is saved with ``save_pretrained`` and loaded back through
:func:`ego_reasoner_ros.training.processor.load_model_and_processor`, the same code path as
a real checkpoint.

Default size (hidden 256, 4 layers, vision depth 2 / width 128, 224-pixel images, about
4.5 M parameters with an 8k vocabulary) is the largest that trains an 8-image, ~1,100-token
trajectory in well under a second per step on two CPU cores (see ``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
import json
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.training import processor as proc

logger = logging.getLogger(__name__)

TINY_PRESET_NAME = 'tiny'
_MARKER = 'ego_reasoner_tiny.json'


#: ``max_new_tokens`` in a tiny model's ``generation_config.json``.
TINY_MAX_NEW_TOKENS = 128


@dataclass
class TinyConfig:
    """Sizes of the tiny model.

    Attributes:
        hidden: text hidden size (also the vision merger's output size).
        layers: text decoder layers.
        heads: text attention heads (the head size must be even and divisible by 4).
        kv_heads: key/value heads (grouped-query attention).
        intermediate: text MLP width; 0 picks ``4 * hidden``.
        vision_depth: vision transformer blocks.
        vision_width: vision embedding width.
        vision_heads: vision attention heads.
        image_size: side of the square pixel budget: ``max_pixels = image_size ** 2``.
        vocab_size: BPE vocabulary size (special tokens included).
        seed: torch seed of the random initialisation.
    """

    hidden: int = 256
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 0
    vision_depth: int = 2
    vision_width: int = 128
    vision_heads: int = 2
    image_size: int = 224
    vocab_size: int = 8192
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ('hidden', 'layers', 'heads', 'kv_heads', 'vision_depth', 'vision_width',
                     'vision_heads', 'image_size', 'vocab_size'):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')
        if self.hidden % self.heads or (self.hidden // self.heads) % 4:
            raise ValueError(f'hidden {self.hidden} / heads {self.heads} must give a head size '
                             'divisible by 4 (M-RoPE sections)')
        if self.heads % self.kv_heads:
            raise ValueError('heads must be a multiple of kv_heads')
        if self.vision_width % self.vision_heads:
            raise ValueError('vision_width must be a multiple of vision_heads')
        if self.image_size < 56:
            raise ValueError('image_size must be at least 56 pixels')
        if self.vocab_size < 512:
            raise ValueError('vocab_size must be at least 512 (256 byte symbols + merges)')
        if self.intermediate < 0:
            raise ValueError('intermediate must be >= 0')

    @property
    def max_pixels(self) -> int:
        """The per-image pixel budget."""
        return self.image_size * self.image_size


def builtin_corpus() -> list[str]:
    """Prompt wording every tokenizer must cover: system turn, menu, turn templates."""
    from ego_reasoner_ros.core.actions import Action
    from ego_reasoner_ros.core.prompts import PromptBuilder, PromptConfig

    texts: list[str] = []
    for style in ('local', 'api'):
        for composite in (False, True):
            builder = PromptBuilder(PromptConfig(menu_style=style,
                                                 observe_as_composite=composite))
            texts.append(builder.system_message()['content'][0]['text'])
            texts.append(builder.first_turn('put the apple in the fridge', [])
                         ['content'][-1]['text'])
            for canonical in ('navigate to Fridge', 'pickup Apple', 'observe', 'move forward',
                              'open Drawer', 'end'):
                action = Action.parse_canonical(canonical)
                texts.append(builder.after_success(action, [])['content'][-1]['text'])
                texts.append(builder.after_failure(action, 'it is not reachable')
                             ['content'][-1]['text'])
            texts.append(builder.after_invalid('no command found')['content'][-1]['text'])
    texts.append('<Observation>I see a kitchen.</Observation><Planning>First find the apple.'
                 '</Planning><DecisionMaking>navigate to CounterTop</DecisionMaking>')
    return texts


def train_tokenizer(corpus_texts: Iterable[str], *, vocab_size: int = 8192):
    """Train a byte-level BPE tokenizer and wrap it as a Qwen2-VL-style fast tokenizer."""
    tokenizers = require('tokenizers', purpose='training the tiny tokenizer')
    tf = require('transformers', purpose='the tiny tokenizer')
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(proc.SPECIAL_TOKENS),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def _iter() -> Iterator[str]:
        yield from builtin_corpus()
        for text in corpus_texts:
            if isinstance(text, str) and text:
                yield text

    tok.train_from_iterator(_iter(), trainer=trainer)
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token='<|im_end|>', pad_token='<|endoftext|>',
        additional_special_tokens=list(proc.SPECIAL_TOKENS[1:]),
        chat_template=proc.CHAT_TEMPLATE, padding_side='left', model_max_length=32768)


def tiny_model_config(tokenizer: Any, cfg: TinyConfig):
    """The ``Qwen2VLConfig`` of the tiny model for ``tokenizer``."""
    tf = require('transformers', purpose='the tiny model')
    head = cfg.hidden // cfg.heads
    quarter = head // 8  # head // 2 rotary pairs split 1/4 temporal, 3/8 height, 3/8 width
    section = [quarter, (head // 2 - quarter) // 2]
    section.append(head // 2 - sum(section))
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (
        ('image', proc.IMAGE_TOKEN), ('video', proc.VIDEO_TOKEN),
        ('vstart', proc.VISION_START), ('vend', proc.VISION_END))}
    eos = tokenizer.convert_tokens_to_ids('<|im_end|>')
    pad = tokenizer.convert_tokens_to_ids('<|endoftext|>')
    return tf.Qwen2VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=cfg.hidden,
            intermediate_size=cfg.intermediate or 4 * cfg.hidden,
            num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads,
            num_key_value_heads=cfg.kv_heads, max_position_embeddings=32768,
            rope_parameters={'rope_type': 'default', 'mrope_section': section,
                             'rope_theta': 1e6},
            bos_token_id=pad, eos_token_id=eos, pad_token_id=pad),
        vision_config=dict(
            depth=cfg.vision_depth, embed_dim=cfg.vision_width, hidden_size=cfg.hidden,
            num_heads=cfg.vision_heads, mlp_ratio=2, patch_size=14, spatial_merge_size=2,
            temporal_patch_size=2),
        image_token_id=ids['image'], video_token_id=ids['video'],
        vision_start_token_id=ids['vstart'], vision_end_token_id=ids['vend'],
        tie_word_embeddings=True)


def build_tiny(out_dir: str | os.PathLike, corpus_texts: Iterable[str] = (), *,
               config: TinyConfig | None = None, **sizes: Any) -> Path:
    """Build and save the tiny model, tokenizer and image-only processor into ``out_dir``.

    Args:
        out_dir: target directory (created).
        corpus_texts: texts to train the tokenizer on (thoughts, instructions, prompts); the
            prompt builder's wording is always added.
        config: sizes; keyword ``sizes`` (``hidden=256``, ``layers=4``, ``vision_depth=2``,
            ``vision_width=128``, ``image_size=224``, ``vocab_size=...``) override it.

    Returns:
        ``out_dir`` as a Path, loadable with ``load_model_and_processor``.
    """
    torch = require('torch', purpose='the tiny model')
    tf = require('transformers', purpose='the tiny model')
    cfg = TinyConfig(**{**(asdict(config) if config else {}), **sizes})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(corpus_texts, vocab_size=cfg.vocab_size)
    processor = proc.make_processor(tokenizer, min_pixels=min(proc.DEFAULT_MIN_PIXELS,
                                                              cfg.max_pixels),
                                    max_pixels=cfg.max_pixels)
    model_config = tiny_model_config(tokenizer, cfg)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = tf.Qwen2VLForConditionalGeneration(model_config)
    model.generation_config.eos_token_id = model_config.text_config.eos_token_id
    model.generation_config.pad_token_id = model_config.text_config.pad_token_id
    model.generation_config.do_sample = False
    # the budget tiny models are evaluated with; fine-tunes inherit it through save_pretrained
    model.generation_config.max_new_tokens = TINY_MAX_NEW_TOKENS
    model.save_pretrained(out)
    processor.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / _MARKER).write_text(json.dumps({'preset': TINY_PRESET_NAME, **asdict(cfg),
                                           'parameters': n_params}, indent=2),
                               encoding='utf-8')
    logger.info('built tiny Qwen2-VL in %s: %.2f M params, vocab %d', out, n_params / 1e6,
                len(tokenizer))
    return out


def is_tiny_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a model built by :func:`build_tiny`."""
    return (Path(path) / _MARKER).is_file()
