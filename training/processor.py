# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Load vision-language models and an image-only processor without torchvision.

``transformers`` 5.x gives ``Qwen2VLProcessor`` a video processor that needs torchvision,
which is not usable on the CPU build this project runs on; ``AutoProcessor`` then silently
returns only the tokenizer. :class:`Qwen2VLImageOnlyProcessor` keeps the image path of the
real processor (same chat template, same ``<|image_pad|>`` expansion, same
``mm_token_type_ids``) and leaves out videos. :func:`load_model_and_processor` is the single
loading path for the locally built ``tiny`` preset and for real hub checkpoints. The same
processor serves Qwen2.5-VL, Qwen3-VL and Qwen3.5 (their image path is Qwen2-VL's, with their
own patch size and chat template); Gemma 3 loads its own processor with its PIL image
processor (:data:`OTHER_PROCESSORS`).
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import require

logger = logging.getLogger(__name__)

IMAGE_TOKEN = '<|image_pad|>'
VIDEO_TOKEN = '<|video_pad|>'
VISION_START = '<|vision_start|>'
VISION_END = '<|vision_end|>'
#: Special tokens every Qwen2-VL tokenizer has (the tiny tokenizer is trained with them).
SPECIAL_TOKENS = ('<|endoftext|>', '<|im_start|>', '<|im_end|>', VISION_START, VISION_END,
                  IMAGE_TOKEN, VIDEO_TOKEN)
#: Pixel budget of one image when nothing else is said (the ER evaluation setting).
DEFAULT_MAX_PIXELS = 351232
DEFAULT_MIN_PIXELS = 56 * 56

#: The Qwen2-VL ChatML template: string content or lists of image/text blocks, one
#: ``<|vision_start|><|image_pad|><|vision_end|>`` per image, a default system turn when the
#: conversation has none. Assistant replies (with their ``<|im_end|>``) sit inside
#: ``{% generation %}`` so ``return_assistant_tokens_mask`` (TRL ``assistant_only_loss``)
#: marks exactly the tokens the model must learn to write.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system{{ '\\n' }}You are a helpful assistant.<|im_end|>{{ '\\n' }}"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}{{ '\\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}"
    "{% if block['type'] == 'text' %}{{ block['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>"
    "{% endgeneration %}{{ '\\n' }}"
    "{% else %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}"
    "{% if block['type'] == 'image' or block['type'] == 'image_url' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif block['type'] == 'text' %}{{ block['text'] }}"
    "{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>{{ '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant{{ '\\n' }}{% endif %}"
)


def _processor_class():
    """Define the processor subclass on first use (transformers is imported lazily)."""
    global _PROCESSOR_CLS
    if _PROCESSOR_CLS is not None:
        return _PROCESSOR_CLS
    tf_proc = require('transformers.models.qwen2_vl.processing_qwen2_vl',
                      install='transformers', purpose='the Qwen2-VL processor')
    mixin = require('transformers.processing_utils', install='transformers').ProcessorMixin

    class Qwen2VLImageOnlyProcessor(tf_proc.Qwen2VLProcessor):
        """``Qwen2VLProcessor`` without the torchvision-backed video processor."""

        attributes = ['image_processor', 'tokenizer']

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None,
                     **kwargs: Any) -> None:
            del kwargs  # a saved video_processor entry is ignored
            self.image_token = getattr(tokenizer, 'image_token', None) or IMAGE_TOKEN
            self.video_token = getattr(tokenizer, 'video_token', None) or VIDEO_TOKEN
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            mixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    Qwen2VLImageOnlyProcessor.__module__ = __name__
    Qwen2VLImageOnlyProcessor.__qualname__ = "Qwen2VLImageOnlyProcessor"
    _PROCESSOR_CLS = Qwen2VLImageOnlyProcessor
    return _PROCESSOR_CLS


_PROCESSOR_CLS = None


def image_processor_class():
    """Return ``Qwen2VLImageProcessorPil`` (the PIL backend; no torchvision)."""
    mod = require('transformers.models.qwen2_vl.image_processing_pil_qwen2_vl',
                  install='transformers', purpose='the Qwen2-VL image processor')
    return mod.Qwen2VLImageProcessorPil


def make_processor(tokenizer: Any, *, min_pixels: int = DEFAULT_MIN_PIXELS,
                   max_pixels: int = DEFAULT_MAX_PIXELS, chat_template: str | None = None):
    """Build an image-only processor around ``tokenizer``."""
    if min_pixels <= 0 or max_pixels < min_pixels:
        raise ValueError(f'need 0 < min_pixels <= max_pixels, got {min_pixels}, {max_pixels}')
    image_proc = image_processor_class()(min_pixels=min_pixels, max_pixels=max_pixels)
    template = chat_template or getattr(tokenizer, 'chat_template', None) or CHAT_TEMPLATE
    return _processor_class()(image_processor=image_proc, tokenizer=tokenizer,
                              chat_template=template)


def set_max_pixels(processor: Any, max_pixels: int | None = None,
                   min_pixels: int | None = None) -> None:
    """Change the image pixel budget of ``processor`` in place (None keeps the value)."""
    size = dict(processor.image_processor.size)
    if min_pixels is not None:
        size['shortest_edge'] = int(min_pixels)
    if max_pixels is not None:
        size['longest_edge'] = int(max_pixels)
    if size['shortest_edge'] > size['longest_edge']:
        raise ValueError(f'min_pixels {size["shortest_edge"]} > max_pixels '
                         f'{size["longest_edge"]}')
    processor.image_processor.size = type(processor.image_processor.size)(**size) \
        if not isinstance(processor.image_processor.size, dict) else size


def load_processor(path_or_id: str | os.PathLike, *, min_pixels: int | None = None,
                   max_pixels: int | None = None, **kwargs: Any):
    """Load the image-only processor of a local directory or hub id.

    Works for the tiny presets and real Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5
    checkpoints (their saved processor configs carry video entries, which are ignored), and
    for the families in :data:`OTHER_PROCESSORS` (Gemma 3) with their own processor.
    """
    tf = require('transformers', purpose='loading a processor')
    src = str(path_or_id)
    tokenizer = tf.AutoTokenizer.from_pretrained(src, **kwargs)
    model_type = _model_type_of(src, **kwargs)
    if model_type in OTHER_PROCESSORS:  # not Qwen-VL: the family's own processor, PIL images
        return _other_processor(src, model_type, tokenizer, **kwargs)
    image_proc = image_processor_class().from_pretrained(src, **kwargs)
    processor = _processor_class()(image_processor=image_proc, tokenizer=tokenizer,
                                   chat_template=_chat_template_of(src, tokenizer))
    if min_pixels is not None or max_pixels is not None:
        set_max_pixels(processor, max_pixels=max_pixels, min_pixels=min_pixels)
    return processor


#: ``model_type`` -> (processor class, its PIL image processor class) for the families
#: outside Qwen-VL; their processors take no video processor, so they load as they are.
OTHER_PROCESSORS = {
    'gemma3': ('transformers.models.gemma3.processing_gemma3.Gemma3Processor',
               'transformers.models.gemma3.image_processing_pil_gemma3.Gemma3ImageProcessorPil'),
}


def _model_type_of(src: str, **kwargs: Any) -> str | None:
    """``model_type`` of the checkpoint's ``config.json`` (None when there is none)."""
    config = Path(src) / 'config.json'
    if config.is_file():
        import json

        return json.loads(config.read_text(encoding='utf-8')).get('model_type')
    try:
        tf = require('transformers', purpose='loading a processor')
        return tf.AutoConfig.from_pretrained(src, **kwargs).model_type
    except (OSError, ValueError):
        return None


def _other_processor(src: str, model_type: str, tokenizer: Any, **kwargs: Any):
    """The processor of a non-Qwen family, with its PIL image processor (no torchvision)."""
    import importlib
    import json

    classes = []
    for dotted in OTHER_PROCESSORS[model_type]:
        module, name = dotted.rsplit('.', 1)
        classes.append(getattr(importlib.import_module(module), name))
    processor_cls, image_cls = classes
    extra: dict[str, Any] = {}
    saved = Path(src) / 'processor_config.json'
    if saved.is_file():
        extra = {k: v for k, v in json.loads(saved.read_text(encoding='utf-8')).items()
                 if k not in ('image_processor', 'processor_class', 'video_processor')
                 and not isinstance(v, dict)}
    else:
        tf = require('transformers', purpose='loading a processor')
        try:
            path = tf.utils.cached_file(src, 'processor_config.json', **kwargs)
            extra = {k: v for k, v in json.loads(Path(path).read_text()).items()
                     if k not in ('processor_class',) and not isinstance(v, dict)}
        except (OSError, TypeError):
            extra = {}
    image_proc = image_cls.from_pretrained(src, **kwargs)
    return processor_cls(image_processor=image_proc, tokenizer=tokenizer,
                         chat_template=_chat_template_of(src, tokenizer), **extra)


def _chat_template_of(src: str, tokenizer: Any) -> str:
    """The checkpoint's chat template (processor file, tokenizer, or the default)."""
    path = Path(src)
    for name in ('chat_template.jinja', 'chat_template.json'):
        candidate = path / name
        if candidate.is_file():
            text = candidate.read_text(encoding='utf-8')
            if name.endswith('.json'):
                import json
                text = json.loads(text).get('chat_template', '')
            if text:
                return text
    return getattr(tokenizer, 'chat_template', None) or CHAT_TEMPLATE


@dataclass
class LoadOptions:
    """How :func:`load_model_and_processor` loads a model.

    Attributes:
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:0"``, or ``"auto"`` (device_map).
        attn_implementation: passed through (``"sdpa"``, ``"eager"``, ``"flash_attention_2"``).
        min_pixels / max_pixels: the image pixel budget (None keeps the saved one).
        torch_threads: ``torch.set_num_threads`` when set.
    """

    dtype: str = 'auto'
    device: str = 'cpu'
    attn_implementation: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        if self.dtype not in ('auto', 'float32', 'bfloat16', 'float16'):
            raise ValueError(f'unsupported dtype {self.dtype!r}')
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ValueError('torch_threads must be >= 1')
        for name in ('min_pixels', 'max_pixels'):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f'{name} must be positive, got {value}')


def load_model_and_processor(path_or_id: str | os.PathLike,
                             options: LoadOptions | None = None, **kwargs: Any):
    """Load a vision-language model and its image-only processor.

    The same code path serves the tiny preset directories and real checkpoints (hub ids or
    local paths; any ``AutoModelForImageTextToText`` family whose processor
    :func:`load_processor` builds). Extra ``kwargs`` update :class:`LoadOptions`.

    Returns:
        ``(model, processor)`` with the model in eval mode.
    """
    if options is None:
        options = LoadOptions(**kwargs)
    elif kwargs:
        options = LoadOptions(**{**options.__dict__, **kwargs})
    torch = require('torch', purpose='running a VLM')
    tf = require('transformers', purpose='running a VLM')
    if options.torch_threads:
        torch.set_num_threads(options.torch_threads)
    src = str(path_or_id)
    dtype: Any = options.dtype
    if dtype != 'auto':
        dtype = getattr(torch, dtype)
    elif options.device == 'cpu':
        dtype = torch.float32  # bf16 matmuls are slow on most CPUs
    model_kwargs: dict[str, Any] = {'dtype': dtype}
    if options.attn_implementation:
        model_kwargs['attn_implementation'] = options.attn_implementation
    if options.device == 'auto':
        model_kwargs['device_map'] = 'auto'
    auto_cls = getattr(tf, 'AutoModelForImageTextToText', None)
    try:
        if auto_cls is None:
            raise ValueError('no AutoModelForImageTextToText')
        model = auto_cls.from_pretrained(src, **model_kwargs)
    except ValueError:
        model = tf.Qwen2VLForConditionalGeneration.from_pretrained(src, **model_kwargs)
    if options.device not in ('auto', 'cpu'):
        model = model.to(options.device)
    model.eval()
    processor = load_processor(src, min_pixels=options.min_pixels,
                               max_pixels=options.max_pixels)
    logger.info('loaded %s (%s, %.1f M params)', src, type(model).__name__,
                sum(p.numel() for p in model.parameters()) / 1e6)
    return model, processor
