# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Tiny random models of the vision-language families this package supports, built offline.

Each family gets the exact model class users bring (``Qwen2VLForConditionalGeneration``,
``Qwen2_5_VLForConditionalGeneration``, ``Qwen3VLForConditionalGeneration``,
``Qwen3_5ForConditionalGeneration``, ``Gemma3ForConditionalGeneration``) at a tiny size with
random weights, a byte-level BPE tokenizer trained here with the family's special tokens,
a chat template written here in that family's format (real checkpoints bring their own from
the hub), and the family's image processing through its PIL image processor (no
torchvision). The result is saved with ``save_pretrained`` and loaded back through
:func:`ego_reasoner_ros.training.processor.load_model_and_processor`, the same code path as a
real checkpoint. Used by ``test/test_model_families.py`` and
``benchmarks/bench_hf_step.py --family``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.training import processor as proc

logger = logging.getLogger(__name__)

_MARKER = 'ego_reasoner_tiny.json'

#: ChatML as Qwen3-VL writes it: no default system turn (Qwen2-VL's adds one).
QWEN3_CHAT_TEMPLATE = proc.CHAT_TEMPLATE.replace(
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system{{ '\\n' }}You are a helpful assistant.<|im_end|>{{ '\\n' }}"
    "{% endif %}", '')

GEMMA3_SPECIAL_TOKENS = ('<pad>', '<eos>', '<bos>', '<start_of_turn>', '<end_of_turn>',
                         '<start_of_image>', '<end_of_image>', '<image_soft_token>')

#: Gemma 3's turn format: ``<bos>``, the system text folded into the first user turn,
#: ``<start_of_turn>user|model``, ``<start_of_image>`` per image; assistant replies (with their
#: ``<end_of_turn>``) inside ``{% generation %}`` for the assistant-only loss.
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% if messages[0]['content'] is string %}{% set sys = messages[0]['content'] %}"
    "{% else %}{% set sys = messages[0]['content'][0]['text'] %}{% endif %}"
    "{% set prefix = sys ~ '\\n\\n' %}{% set rest = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}"
    "{% if message['role'] == 'assistant' %}"
    "<start_of_turn>model{{ '\\n' }}"
    "{% generation %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}"
    "{% if block['type'] == 'text' %}{{ block['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<end_of_turn>"
    "{% endgeneration %}{{ '\\n' }}"
    "{% else %}"
    "<start_of_turn>user{{ '\\n' }}{% if loop.first %}{{ prefix }}{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}"
    "{% if block['type'] == 'image' or block['type'] == 'image_url' %}<start_of_image>"
    "{% elif block['type'] == 'text' %}{{ block['text'] }}"
    "{% endif %}"
    "{% endfor %}{% endif %}"
    "<end_of_turn>{{ '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model{{ '\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    """One supported model family.

    Attributes:
        name: the family name (``--family``, test ids).
        model_class: the transformers class of its models.
        model_type: ``config.model_type`` of its checkpoints.
        prefix_reuse: whether the ``hf`` engine reuses the cache across turns for it
            (otherwise it prefills the whole conversation every turn); Qwen3.5's
            linear-attention state is reused from the end of the previous prompt.
        lora_targets: the language model's projection names LoRA adapts.
    """

    name: str
    model_class: str
    model_type: str
    prefix_reuse: bool
    lora_targets: tuple[str, ...] = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj',
                                     'up_proj', 'down_proj')


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family('qwen2_vl', 'Qwen2VLForConditionalGeneration', 'qwen2_vl', True),
    Family('qwen2_5_vl', 'Qwen2_5_VLForConditionalGeneration', 'qwen2_5_vl', True),
    Family('qwen3_vl', 'Qwen3VLForConditionalGeneration', 'qwen3_vl', True),
    Family('qwen3_5', 'Qwen3_5ForConditionalGeneration', 'qwen3_5', True),
    Family('gemma3', 'Gemma3ForConditionalGeneration', 'gemma3', False),
)}


def family(name: str) -> Family:
    """The family called ``name``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    if name not in FAMILIES:
        raise ValueError(f'unknown model family {name!r}; choose from {sorted(FAMILIES)}')
    return FAMILIES[name]


def _train_bpe(corpus: Iterable[str], specials: Iterable[str], vocab_size: int):
    tokenizers = require('tokenizers', purpose='training a tiny tokenizer')
    from ego_reasoner_ros.training.tiny import builtin_corpus

    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(specials),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def _iter() -> Iterator[str]:
        yield from builtin_corpus()
        yield from (t for t in corpus if isinstance(t, str) and t)

    tok.train_from_iterator(_iter(), trainer=trainer)
    return tok


def _qwen_tokenizer(corpus: Iterable[str], vocab_size: int, template: str):
    tf = require('transformers', purpose='a tiny tokenizer')
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=_train_bpe(corpus, proc.SPECIAL_TOKENS, vocab_size),
        eos_token='<|im_end|>', pad_token='<|endoftext|>',
        additional_special_tokens=list(proc.SPECIAL_TOKENS[1:]), chat_template=template,
        padding_side='left', model_max_length=32768)


def _gemma_tokenizer(corpus: Iterable[str], vocab_size: int):
    tf = require('transformers', purpose='a tiny tokenizer')
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=_train_bpe(corpus, GEMMA3_SPECIAL_TOKENS, vocab_size),
        pad_token='<pad>', eos_token='<eos>', bos_token='<bos>',
        additional_special_tokens=list(GEMMA3_SPECIAL_TOKENS[3:]),
        extra_special_tokens={'boi_token': '<start_of_image>', 'eoi_token': '<end_of_image>',
                              'image_token': '<image_soft_token>'},
        chat_template=GEMMA3_CHAT_TEMPLATE, padding_side='left', model_max_length=32768)


def _mrope_section(head_dim: int) -> list[int]:
    quarter = head_dim // 8
    section = [quarter, (head_dim // 2 - quarter) // 2]
    section.append(head_dim // 2 - sum(section))
    return section


def _qwen_ids(tokenizer: Any) -> dict[str, int]:
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (
        ('image_token_id', proc.IMAGE_TOKEN), ('video_token_id', proc.VIDEO_TOKEN),
        ('vision_start_token_id', proc.VISION_START),
        ('vision_end_token_id', proc.VISION_END))}
    return ids


def _text_common(tokenizer: Any, hidden: int, layers: int) -> dict[str, Any]:
    eos = tokenizer.convert_tokens_to_ids(tokenizer.eos_token)
    pad = tokenizer.convert_tokens_to_ids(tokenizer.pad_token)
    return dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                max_position_embeddings=32768, bos_token_id=pad, eos_token_id=eos,
                pad_token_id=pad)


def _config_qwen2_vl(tf: Any, tok: Any, hidden: int, layers: int) -> Any:
    return tf.Qwen2VLConfig(
        text_config=dict(**_text_common(tok, hidden, layers), rope_parameters={
            'rope_type': 'default', 'mrope_section': _mrope_section(hidden // 4),
            'rope_theta': 1e6}),
        vision_config=dict(depth=2, embed_dim=32, hidden_size=hidden, num_heads=2, mlp_ratio=2,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
        tie_word_embeddings=True, **_qwen_ids(tok))


def _config_qwen2_5_vl(tf: Any, tok: Any, hidden: int, layers: int) -> Any:
    return tf.Qwen2_5_VLConfig(
        text_config=dict(**_text_common(tok, hidden, layers), rope_parameters={
            'rope_type': 'default', 'mrope_section': _mrope_section(hidden // 4),
            'rope_theta': 1e6}),
        # window attention in block 0, full attention in block 1 (as the real ones mix them)
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2,
                           out_hidden_size=hidden, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1]),
        tie_word_embeddings=True, **_qwen_ids(tok))


def _qwen3_vision(hidden: int) -> dict[str, Any]:
    return dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2,
                out_hidden_size=hidden, patch_size=16, spatial_merge_size=2,
                temporal_patch_size=2, num_position_embeddings=16)


def _config_qwen3_vl(tf: Any, tok: Any, hidden: int, layers: int) -> Any:
    head = hidden // 4
    return tf.Qwen3VLConfig(
        text_config=dict(**_text_common(tok, hidden, layers), head_dim=head, rope_parameters={
            'rope_type': 'default', 'mrope_section': _mrope_section(head),
            'mrope_interleaved': True, 'rope_theta': 5e6}),
        # deepstack: the first vision block's features also feed the first decoder layer
        vision_config=dict(**_qwen3_vision(hidden), deepstack_visual_indexes=[0]),
        tie_word_embeddings=True, **_qwen_ids(tok))


def _config_qwen3_5(tf: Any, tok: Any, hidden: int, layers: int) -> Any:
    head = hidden // 4
    layers = max(layers, 2)
    # Qwen3.5 alternates linear-attention (gated delta net) and full-attention layers
    types = ['linear_attention' if (i + 1) % 2 else 'full_attention' for i in range(layers)]
    return tf.Qwen3_5Config(
        text_config=dict(**_text_common(tok, hidden, layers), head_dim=head, layer_types=types,
                         linear_key_head_dim=16, linear_value_head_dim=16,
                         linear_num_key_heads=2, linear_num_value_heads=4,
                         rope_parameters={'rope_type': 'default',
                                          'mrope_section': _mrope_section(head),
                                          'mrope_interleaved': True, 'rope_theta': 1e7,
                                          'partial_rotary_factor': 1.0}),
        vision_config=_qwen3_vision(hidden), tie_word_embeddings=True, **_qwen_ids(tok))


#: Standard deviation of the random weights times sqrt(fan-in).
WEIGHT_STD = 1.5
#: Query/key norm weight of the tiny Qwen3.5 (zero-centred norm: the gain is 1 + this).
QK_NORM_GAIN = 3.0

GEMMA3_IMAGE_SIZE = 56
GEMMA3_TOKENS_PER_IMAGE = 4


def _config_gemma3(tf: Any, tok: Any, hidden: int, layers: int) -> Any:
    text = _text_common(tok, hidden, layers)
    text.update(head_dim=hidden // 4, query_pre_attn_scalar=hidden // 4, sliding_window=64,
                bos_token_id=tok.convert_tokens_to_ids('<bos>'),
                layer_types=['sliding_attention', 'full_attention'][:layers] +
                ['full_attention'] * max(0, layers - 2),
                rope_parameters={'full_attention': {'rope_type': 'default', 'rope_theta': 1e6},
                                 'sliding_attention': {'rope_type': 'default',
                                                       'rope_theta': 1e4}})
    return tf.Gemma3Config(
        text_config=text,
        vision_config=dict(model_type='siglip_vision_model', hidden_size=32,
                           intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=GEMMA3_IMAGE_SIZE, patch_size=14),
        mm_tokens_per_image=GEMMA3_TOKENS_PER_IMAGE,
        boi_token_index=tok.convert_tokens_to_ids('<start_of_image>'),
        eoi_token_index=tok.convert_tokens_to_ids('<end_of_image>'),
        image_token_index=tok.convert_tokens_to_ids('<image_soft_token>'),
        tie_word_embeddings=True)


_CONFIGS: dict[str, Callable[..., Any]] = {
    'qwen2_vl': _config_qwen2_vl, 'qwen2_5_vl': _config_qwen2_5_vl,
    'qwen3_vl': _config_qwen3_vl, 'qwen3_5': _config_qwen3_5, 'gemma3': _config_gemma3}


def make_family_processor(name: str, tokenizer: Any, *, image_size: int):
    """The offline processor of family ``name`` around ``tokenizer`` (no torchvision)."""
    if name == 'gemma3':
        mod = require('transformers.models.gemma3.image_processing_pil_gemma3',
                      install='transformers')
        tf = require('transformers', purpose='the Gemma 3 processor')
        image_proc = mod.Gemma3ImageProcessorPil(
            size={'height': GEMMA3_IMAGE_SIZE, 'width': GEMMA3_IMAGE_SIZE})
        return tf.Gemma3Processor(image_processor=image_proc, tokenizer=tokenizer,
                                  chat_template=GEMMA3_CHAT_TEMPLATE,
                                  image_seq_length=GEMMA3_TOKENS_PER_IMAGE)
    patch = 16 if name in ('qwen3_vl', 'qwen3_5') else 14
    side = 2 * patch
    pixels = max(side * side, (image_size // side) ** 2 * side * side)
    image_proc = proc.image_processor_class()(
        min_pixels=side * side, max_pixels=pixels, patch_size=patch, merge_size=2,
        temporal_patch_size=2,
        **({'image_mean': [0.5] * 3, 'image_std': [0.5] * 3} if patch == 16 else {}))
    return proc._processor_class()(image_processor=image_proc, tokenizer=tokenizer,
                                   chat_template=tokenizer.chat_template)


def build_tiny_family(out_dir: str | os.PathLike, name: str, corpus_texts: Iterable[str] = (),
                      *, hidden: int = 64, layers: int = 2, image_size: int = 64,
                      vocab_size: int = 1024, seed: int = 0) -> Path:
    """Build and save a tiny random model of family ``name`` with its processor.

    Args:
        out_dir: target directory (created).
        name: a key of :data:`FAMILIES`.
        corpus_texts: texts for the tokenizer (the prompt builder's wording is always added).
        hidden, layers: text model size (4 attention heads, 2 key/value heads).
        image_size: side of the square image pixel budget (Qwen families).
        vocab_size: BPE vocabulary size.
        seed: torch seed of the random initialisation.

    Returns:
        ``out_dir`` as a Path, loadable with ``load_model_and_processor``.
    """
    spec = family(name)
    if hidden % 16 or hidden < 32:
        raise ValueError(f'hidden must be a multiple of 16 and >= 32, got {hidden}')
    if layers < 1 or image_size < 32 or vocab_size < 512:
        raise ValueError('need layers >= 1, image_size >= 32, vocab_size >= 512')
    torch = require('torch', purpose='the tiny model')
    tf = require('transformers', purpose='the tiny model')
    corpus = list(corpus_texts)
    if name == 'gemma3':
        tokenizer = _gemma_tokenizer(corpus, vocab_size)
    else:
        template = proc.CHAT_TEMPLATE if name in ('qwen2_vl', 'qwen2_5_vl') \
            else QWEN3_CHAT_TEMPLATE
        tokenizer = _qwen_tokenizer(corpus, vocab_size, template)
    processor = make_family_processor(name, tokenizer, image_size=image_size)
    config = _CONFIGS[name](tf, tokenizer, hidden, layers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = getattr(tf, spec.model_class)(config)
        # weights far larger than a real init: the greedy tokens then depend on every input
        # token and its position (with the usual 0.02 a random model repeats one token), so
        # a position or cache error changes them
        with torch.no_grad():
            for pname, param in model.named_parameters():
                # (not the linear-attention decay/beta gates: they would forget everything)
                if param.dim() >= 2 and 'embed' not in pname \
                        and not pname.endswith(('in_proj_a.weight', 'in_proj_b.weight')):
                    param.normal_(0.0, WEIGHT_STD / param.shape[-1] ** 0.5)
                elif name == 'qwen3_5' and pname.endswith(('q_norm.weight', 'k_norm.weight')):
                    # sharper attention: its normalised queries and keys otherwise average
                    # over the whole history and every turn gets the same answer
                    param.fill_(QK_NORM_GAIN)
    text = config.get_text_config()
    stops = [text.eos_token_id]
    if name == 'gemma3':
        stops.append(tokenizer.convert_tokens_to_ids('<end_of_turn>'))
    model.generation_config.eos_token_id = stops
    model.generation_config.pad_token_id = text.pad_token_id
    model.generation_config.do_sample = False
    from ego_reasoner_ros.training.tiny import TINY_MAX_NEW_TOKENS

    model.generation_config.max_new_tokens = TINY_MAX_NEW_TOKENS
    model.save_pretrained(out)
    processor.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / _MARKER).write_text(json.dumps({
        'preset': f'tiny-{name}', 'family': name, 'hidden': hidden, 'layers': layers,
        'image_size': image_size, 'vocab_size': vocab_size, 'seed': seed,
        'parameters': n_params}, indent=2), encoding='utf-8')
    logger.info('built tiny %s in %s: %.2f M params, vocab %d', spec.model_class, out,
                n_params / 1e6, len(tokenizer))
    return out
