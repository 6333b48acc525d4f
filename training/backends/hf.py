# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ``hf`` policy: a transformers vision-language model run in process.

Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5 (M-RoPE models) decode with the engine's own loop
described below; other families (Gemma 3, any ``AutoModelForImageTextToText`` model with its
processor) go through ``model.generate`` on the whole conversation every turn. Qwen3.5's
linear-attention state cannot be cut back to a prefix: it is reused when the new prompt
extends the whole cached sequence, or from a copy kept at the end of the previous prompt
(the attention layers cut back to it).

An embodied episode is one growing conversation: every turn repeats the whole history
(system prompt, earlier images, earlier replies) and appends a few new tokens and images.
:class:`HFEngine` keeps the key/value cache of the previous turn's full sequence, generated
reply included, and on the next turn runs only the tokens after the longest common prefix
(equal token ids and equal image contents). The rest of a turn's work is kept flat along an
episode as well: image grids are remembered by image content, so only the images after the
reused prefix are preprocessed; only the turns after the previous prompt's last turn start
are tokenised; the M-RoPE positions of the prefix are kept and only the new part's computed;
decoded keys/values are appended into spare buffer capacity instead of re-concatenated.
When the new prompt does not extend the cached one (a new episode, edited history) the
cache is cut back to the common prefix, or dropped. Decoding is a plain token loop (greedy
by default; temperature, top-k, top-p and repetition penalty on request), identical with and
without the reuse.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
import functools
import logging
from pathlib import Path
import threading
import time
from typing import Any

from ego_reasoner_ros.core import images as imgs
from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.core.policy import Policy, PolicyError, PolicyInput
from ego_reasoner_ros.core.prompts import load_prompt_config
from ego_reasoner_ros.training.backends.generation import (
    GenerationResult, GenerationSettings, PromptTooLongError, resolve_model_defaults)
from ego_reasoner_ros.training.backends.hf_cache import buffered_layer_class, cache_nbytes
from ego_reasoner_ros.training.backends.hf_inputs import (
    content_blocks, image_key, normalize_messages)

logger = logging.getLogger(__name__)


@dataclass
class _Prompt:
    """One call's prompt: token ids, image spans and what is known about each image."""

    ids: Any                       # (1, L) int64 tensor
    keys: list[tuple]              # image keys, in order
    sources: list[Any]             # image sources, in order
    grids: list[tuple[int, int, int]]
    spans: list[tuple[int, int]]   # image token spans [start, end), in order
    pixels: dict[tuple, Any]       # pixel rows of the images preprocessed in this call


class HFEngine:
    """Chat generation over a vision-language model with conversation-prefix KV reuse.

    Args:
        model: a ``Qwen2VLForConditionalGeneration``, ``Qwen2_5_VLForConditionalGeneration``,
            ``Qwen3VLForConditionalGeneration``, ``Qwen3_5ForConditionalGeneration`` (own loop)
            or another image-text-to-text model (``generate``, no reuse).
        processor: the image-only processor (:mod:`ego_reasoner_ros.training.processor`).
        settings: default generation settings.
        reuse_prefix: keep the KV cache between calls and reuse the common prefix.

    The per-call work besides the model stays flat along an episode: the image grid of every
    image seen is remembered by content (:func:`image_key`), so only the images outside the
    reused prefix are preprocessed; the previous prompt's token ids are kept up to its last
    turn start, so only the new turns are tokenised; the M-RoPE positions of the reused prefix
    are kept and only the new part's computed; the prefix match is one tensor comparison;
    the cache layers append in place. Each shortcut is equal to the full computation
    (``encode`` is the reference). Calls are serialised with a lock, so one engine can serve
    several threads.
    """

    #: Image grids remembered (least recently used first out).
    grid_cache_size = 4096
    #: Append decoded keys/values into spare capacity instead of re-concatenating.
    buffered_cache = True
    #: Refuse prompts longer than this (None: the model's context only).
    max_prompt_tokens: int | None = None
    #: Keep the conversation's KV cache for the next call only while it holds at most this
    #: many bytes (None: unbounded).
    max_cache_bytes: int | None = None
    _TURN_MARKER = '<|im_start|>'

    def __init__(self, model: Any, processor: Any, settings: GenerationSettings | None = None,
                 *, reuse_prefix: bool = True) -> None:
        self.torch = require('torch', purpose='the hf backend')
        self.model = model
        self.processor = processor
        self.settings = resolve_model_defaults(settings or GenerationSettings(), model)
        self.reuse_prefix = reuse_prefix
        # the own decoding loop takes Qwen-VL (M-RoPE) models; other families use generate()
        inner = getattr(model, 'model', model)
        self.own_loop = hasattr(inner, 'get_rope_index') and hasattr(
            getattr(processor, 'image_processor', None), 'merge_size')
        #: how the cache is reused across calls: ``"prefix"`` (full attention: cut back to
        #: the longest common prefix), ``"snapshot"`` (linear-attention layers, whose state
        #: cannot be cut back: reused where the new prompt extends the whole cached sequence,
        #: or from the state kept at the end of the previous prompt, the attention layers cut
        #: back to it), None (no reuse: families decoded by ``generate``, sliding windows)
        self.reuse_kind = self._cache_reuse_kind() if self.own_loop else None
        self.can_reuse = self.reuse_kind is not None
        if reuse_prefix and not self.can_reuse:
            logger.info('%s: no prefix reuse (its cache cannot be cut back to a prefix)',
                        type(model).__name__)
        tok = processor.tokenizer
        self.stop_ids = {i for i in (tok.convert_tokens_to_ids('<|im_end|>'),
                                     tok.convert_tokens_to_ids('<|endoftext|>'),
                                     tok.eos_token_id)
                         if isinstance(i, int) and i >= 0 and i != tok.unk_token_id}
        gen_eos = getattr(getattr(model, 'generation_config', None), 'eos_token_id', None)
        if isinstance(gen_eos, int):
            self.stop_ids.add(gen_eos)
        elif isinstance(gen_eos, (list, tuple)):
            self.stop_ids.update(int(i) for i in gen_eos)
        self._lock = threading.Lock()
        self._grids: OrderedDict[tuple, tuple[int, int, int]] = OrderedDict()
        self._image_settings_seen: tuple | None = None
        # (prompt text, its ids, char and token index of its last turn start)
        self._token_memo: tuple[str, Any, int, int] | None = None
        self._clear_cache()

    def _cache_reuse_kind(self) -> str | None:
        """``reuse_kind`` from the layers of the model's ``DynamicCache``."""
        tf = require('transformers', purpose='the hf backend')
        try:
            layers = tf.DynamicCache(config=self.model.config.get_text_config()).layers
        except (TypeError, ValueError, AttributeError):
            return None
        kinds = {type(layer) for layer in layers}
        if kinds <= {tf.cache_utils.DynamicLayer}:
            return 'prefix'
        linear = getattr(tf.cache_utils, 'LinearAttentionLayer', None)
        if linear is not None and kinds <= {tf.cache_utils.DynamicLayer, linear}:
            return 'snapshot'
        return None

    @staticmethod
    def _is_linear(layer: Any) -> bool:
        return hasattr(layer, 'recurrent_states')

    def _linear_states(self, cache) -> dict[int, tuple[dict, dict]]:
        """Copies of the conv and recurrent states of the cache's linear-attention layers."""
        return {idx: ({i: t.clone() for i, t in layer.conv_states.items() if t is not None},
                      {i: t.clone() for i, t in layer.recurrent_states.items()
                       if t is not None})
                for idx, layer in enumerate(cache.layers) if self._is_linear(layer)}

    def _cut_back(self, cache, reuse: int) -> None:
        """Make ``cache`` hold the first ``reuse`` tokens of the cached sequence."""
        if self.reuse_kind == 'snapshot' and reuse != self.cached_tokens:
            # the linear layers' state at the end of the previous prompt (== reuse)
            for idx, (conv, rec) in self._snapshot[1].items():
                layer = cache.layers[idx]
                for i, t in conv.items():
                    layer.conv_states[i].copy_(t)
                for i, t in rec.items():
                    layer.recurrent_states[i].copy_(t)
        drop = cache.get_seq_length() - reuse
        if drop > 0:
            for layer in cache.layers:
                if not self._is_linear(layer):
                    layer.crop(-drop)

    def _clear_cache(self) -> None:
        self._cache = None
        self._snapshot: tuple[int, dict] | None = None  # (prompt length, linear states)
        self._cached_ids = self.torch.zeros(0, dtype=self.torch.long)  # (C,)
        self._cached_pos = self.torch.zeros(3, 0, dtype=self.torch.long)  # (3, C)
        self._cached_keys: list[tuple] = []  # image keys of the cached sequence

    @classmethod
    def from_pretrained(cls, path_or_id: str, *, settings: GenerationSettings | None = None,
                        reuse_prefix: bool = True, **load_kwargs: Any) -> HFEngine:
        """Load with :func:`~ego_reasoner_ros.training.processor.load_model_and_processor`."""
        from ego_reasoner_ros.training.processor import load_model_and_processor

        model, processor = load_model_and_processor(path_or_id, **load_kwargs)
        return cls(model, processor, settings, reuse_prefix=reuse_prefix)

    @property
    def device(self):
        """The device of the model's parameters."""
        return next(self.model.parameters()).device

    def reset(self) -> None:
        """Forget the cached conversation."""
        with self._lock:
            self._clear_cache()

    @property
    def cached_tokens(self) -> int:
        """Tokens whose keys and values are cached."""
        return int(self._cached_ids.shape[0])

    @property
    def context_tokens(self) -> int | None:
        """The model's context length (``max_position_embeddings``), None if unknown."""
        config = self.model.config
        text = config.get_text_config() if hasattr(config, 'get_text_config') else config
        n = getattr(text, 'max_position_embeddings', None)
        return int(n) if isinstance(n, int) and n > 0 else None

    @property
    def cache_bytes(self) -> int:
        """Bytes held by the kept KV cache (spare buffer capacity included)."""
        return cache_nbytes(self._cache)

    def check_prompt_length(self, prompt_tokens: int, max_new_tokens: int) -> None:
        """Raise :class:`PromptTooLongError` when the prompt or prompt + budget is too long."""
        limit = self.max_prompt_tokens
        if limit is not None and prompt_tokens > limit:
            raise PromptTooLongError(f'the prompt has {prompt_tokens} tokens; at most {limit} '
                                     'are accepted')
        context = self.context_tokens
        if context is not None and prompt_tokens + max_new_tokens > context:
            raise PromptTooLongError(
                f'the prompt ({prompt_tokens} tokens) plus max_tokens ({max_new_tokens}) '
                f'exceeds the model\'s context of {context} tokens')

    # ----------------------------------------------------------------- inputs
    def encode(self, messages: Sequence[dict]) -> dict[str, Any]:
        """Tokenise ``messages`` with the generation prompt (processor outputs).

        The reference encoding (the processor over the whole conversation); generation
        builds the same ``input_ids`` incrementally.
        """
        norm, images = normalize_messages(messages)
        if not norm or norm[-1]['role'] == 'assistant':
            raise ValueError('the conversation must end with a user (or system) turn')
        text = self.processor.apply_chat_template(norm, add_generation_prompt=True,
                                                  tokenize=False)
        return self.processor(text=[text], images=images or None, return_tensors='pt')

    def _image_settings(self) -> tuple:
        """What the image grids depend on besides the pixels."""
        ip = self.processor.image_processor
        return tuple(repr(getattr(ip, name, None)) for name in (
            'size', 'min_pixels', 'max_pixels', 'patch_size', 'merge_size',
            'temporal_patch_size', 'resample'))

    def _preprocess(self, todo: dict[tuple, Any]) -> dict[tuple, Any]:
        """Run the image processor on ``{key: source}``; remember grids, return pixel rows."""
        if not todo:
            return {}
        pils = [imgs.to_pil(source) for source in todo.values()]
        out = self.processor.image_processor(images=pils, return_tensors='pt')
        grid = out['image_grid_thw']
        rows = self.torch.split(out['pixel_values'], grid.prod(dim=1).tolist())
        pixels = {}
        for key, thw, part in zip(todo, grid.tolist(), rows):
            self._grids[key] = (int(thw[0]), int(thw[1]), int(thw[2]))
            self._grids.move_to_end(key)
            pixels[key] = part
        return pixels

    def _encode_text(self, text: str):
        """Token ids ``(1, n)`` of ``text`` as the processor's tokenizer call gives them."""
        ids = self.processor.tokenizer([text], return_tensors='pt')['input_ids']
        return ids.to(self.torch.long)

    @functools.cached_property
    def _turn_split_ok(self) -> bool:
        """Whether ids(a + b) == ids(a) + ids(b) when ``b`` starts with ``<|im_start|>``.

        True for tokenizers that split special tokens out before anything else and add no
        BOS/EOS (Qwen2-VL's and the tiny preset's); then only the text after the last turn
        start of the previous prompt needs tokenising.
        """
        marker = self._TURN_MARKER
        tok = self.processor.tokenizer
        marker_id = tok.convert_tokens_to_ids(marker)
        if not isinstance(marker_id, int) or marker_id < 0 or marker_id == tok.unk_token_id:
            return False
        samples = [('<|im_start|>system\nYou are a robot.<|im_end|>\n',
                    '<|im_start|>user\n look  at\n\nthis<|im_end|>\n'),
                   ('a reply <DecisionMaking>x</DecisionMaking> \n', '<|im_start|> user '),
                   ('text\n\n', '<|im_start|>assistant\n')]
        for head, tail in samples:
            whole = self._encode_text(head + tail)[0].tolist()
            parts = self._encode_text(head)[0].tolist(), self._encode_text(tail)[0].tolist()
            if whole != parts[0] + parts[1] or parts[1][:1] != [marker_id]:
                return False
        return not self._encode_text('').numel()

    def _tokenize(self, text: str):
        """Token ids ``(1, n)`` of the expanded prompt ``text``.

        The previous prompt's ids are reused up to its last turn start when ``text`` extends
        it there (the ids of a conversation do not change when turns are appended), so
        only the new turns are tokenised; otherwise the whole text is.
        """
        torch = self.torch
        memo = self._token_memo
        if memo is not None and self._turn_split_ok:
            prev_text, prev_ids, char_cut, tok_cut = memo
            if text.startswith(self._TURN_MARKER, char_cut) \
                    and text[:char_cut] == prev_text[:char_cut]:
                tail = self._encode_text(text[char_cut:])
                ids = torch.cat([prev_ids[:, :tok_cut], tail], dim=1)
                self._remember_tokens(text, ids)
                return ids
        ids = self._encode_text(text)
        self._remember_tokens(text, ids)
        return ids

    def _remember_tokens(self, text: str, ids) -> None:
        marker_id = self.processor.tokenizer.convert_tokens_to_ids(self._TURN_MARKER)
        starts = (ids[0] == marker_id).nonzero()
        char_cut = text.rfind(self._TURN_MARKER)
        if starts.numel() and char_cut > 0:
            self._token_memo = (text, ids, char_cut, int(starts[-1, 0]))
        else:
            self._token_memo = None

    def _prepare(self, messages: Sequence[dict]) -> _Prompt:
        """Template, image grids (cached by content) and token ids of the whole prompt."""
        torch = self.torch
        norm, sources = content_blocks(messages, convert=False)
        if not norm or norm[-1]['role'] == 'assistant':
            raise ValueError('the conversation must end with a user (or system) turn')
        text = self.processor.apply_chat_template(norm, add_generation_prompt=True,
                                                  tokenize=False)
        settings = self._image_settings()
        if settings != self._image_settings_seen:  # resized images: nothing known holds
            self._grids.clear()
            self._clear_cache()
            self._image_settings_seen = settings
        keys = [image_key(source) for source in sources]
        pixels = self._preprocess({k: s for k, s in zip(keys, sources) if k not in self._grids})
        grids = []
        for key in keys:
            grids.append(self._grids[key])
            self._grids.move_to_end(key)
        while len(self._grids) > max(self.grid_cache_size, len(keys)):
            self._grids.popitem(last=False)
        # expand each placeholder to the image's tokens, as the processor does
        token = self.processor.image_token
        parts = text.split(token)
        if len(parts) != len(sources) + 1:
            raise PolicyError(f'the chat template wrote {len(parts) - 1} image placeholders '
                              f'for {len(sources)} images')
        merge = self.processor.image_processor.merge_size ** 2
        pieces = [parts[0]]
        for (t, h, w), part in zip(grids, parts[1:]):
            pieces.append(token * (t * h * w // merge))
            pieces.append(part)
        ids = self._tokenize(''.join(pieces))
        # image spans [start, end) in token indices
        is_image = (ids[0] == self.processor.image_token_id).to(torch.int8)
        edges = torch.diff(is_image, prepend=is_image.new_zeros(1),
                           append=is_image.new_zeros(1))
        starts = (edges == 1).nonzero().flatten().tolist()
        ends = (edges == -1).nonzero().flatten().tolist()
        spans = list(zip(starts, ends))
        if len(spans) != len(grids) or any(
                e - s != t * h * w // merge for (s, e), (t, h, w) in zip(spans, grids)):
            raise PolicyError(f'{len(spans)} image spans but {len(grids)} images '
                              '(adjacent images without separators are not supported)')
        return _Prompt(ids=ids, keys=keys, sources=sources, grids=grids, spans=spans,
                       pixels=pixels)

    def _reusable(self, prompt: _Prompt) -> int:
        """Prompt tokens whose cached keys and values are valid for ``prompt``."""
        if not self.reuse_prefix or not self.can_reuse or self._cache is None:
            return 0
        flat = prompt.ids[0]
        length = flat.shape[0]
        n = min(int(self._cached_ids.shape[0]), length)
        differ = (self._cached_ids[:n] != flat[:n]).nonzero()
        reuse = min(int(differ[0, 0]) if differ.numel() else n, length - 1)
        for i, (s, e) in enumerate(prompt.spans):
            if s >= reuse:
                break
            # never split an image; equal tokens but other pixels end the match
            if e > reuse or i >= len(self._cached_keys) or self._cached_keys[i] != prompt.keys[i]:
                reuse = s
                break
        if self.reuse_kind == 'snapshot' and reuse != self.cached_tokens:
            # a linear-attention state exists only at the two ends kept
            snap = self._snapshot[0] if self._snapshot is not None else 0
            return snap if reuse >= snap else 0
        return reuse

    def _positions(self, prompt: _Prompt, reuse: int):
        """M-RoPE position ids ``(3, 1, L)`` of the whole prompt and the rope delta.

        The positions of the first ``reuse`` tokens come from the cache; the rest are
        computed for the new part only, shifted past the largest cached position (the
        positions of a Qwen2-VL sequence only depend on what comes before).
        """
        torch = self.torch
        ids = prompt.ids[:, reuse:]
        length = prompt.ids.shape[1]
        offset = int(self._cached_pos[:, :reuse].max()) + 1 if reuse else 0
        first = sum(1 for s, _e in prompt.spans if s < reuse)
        inner = getattr(self.model, 'model', self.model)
        if first < len(prompt.grids) and hasattr(inner, 'get_rope_index'):
            grid = torch.tensor(prompt.grids[first:], dtype=torch.long)
            mm = (ids == self.processor.image_token_id).to(torch.long)
            new, _delta = inner.get_rope_index(ids, mm_token_type_ids=mm, image_grid_thw=grid)
            new = new + offset
        else:
            new = (torch.arange(ids.shape[1]) + offset).view(1, 1, -1).expand(3, 1, -1)
        if reuse:
            positions = torch.cat([self._cached_pos[:, None, :reuse], new], dim=-1)
        else:
            positions = new
        top = max(offset - 1, int(new.max())) if new.numel() else offset - 1
        return positions, top + 1 - length

    def _new_cache(self):
        """An empty ``DynamicCache``; full-attention layers append in place (buffered)."""
        tf = require('transformers', purpose='the hf backend')
        cache = tf.DynamicCache(config=self.model.config.get_text_config())
        if self.buffered_cache:
            layer_cls = buffered_layer_class()
            cache.layers = [layer_cls() if type(layer) is tf.cache_utils.DynamicLayer else layer
                            for layer in cache.layers]
        return cache

    # ------------------------------------------------------------- generation
    def generate(self, messages: Sequence[dict], settings: GenerationSettings | None = None,
                 **overrides: Any) -> GenerationResult:
        """Generate the assistant reply to ``messages`` (the full conversation so far)."""
        settings = (settings or self.settings).updated(**overrides) if overrides \
            else (settings or self.settings)
        settings = resolve_model_defaults(settings, self.model)
        with self._lock, self.torch.inference_mode():
            return self._generate(messages, settings)

    def _generate(self, messages: Sequence[dict],
                  settings: GenerationSettings) -> GenerationResult:
        if not self.own_loop:
            return self._generate_with_transformers(messages, settings)
        torch = self.torch
        start = time.perf_counter()
        prompt = self._prepare(messages)
        ids = prompt.ids
        length = ids.shape[1]
        self.check_prompt_length(length, settings.max_new_tokens)
        reuse = self._reusable(prompt)
        positions, delta = self._positions(prompt, reuse)
        if reuse == 0:
            cache = self._new_cache()
        else:
            cache = self._cache
            self._cut_back(cache, reuse)
        device = self.device
        kwargs: dict[str, Any] = {}
        first = sum(1 for s, _e in prompt.spans if s < reuse)
        if first < len(prompt.keys):
            # pixels of the images after the reused prefix (normally the new ones only)
            todo = {k: s for k, s in zip(prompt.keys[first:], prompt.sources[first:])
                    if k not in prompt.pixels}
            prompt.pixels.update(self._preprocess(todo))
            pixels = torch.cat([prompt.pixels[k] for k in prompt.keys[first:]])
            kwargs['pixel_values'] = pixels.to(device=device, dtype=self.model.dtype)
            kwargs['image_grid_thw'] = torch.tensor(prompt.grids[first:], dtype=torch.long,
                                                    device=device)
            kwargs['mm_token_type_ids'] = (ids[:, reuse:] == self.processor.image_token_id) \
                .to(device=device, dtype=torch.long)
        # the cache is now being rewritten: invalidate it until this call succeeds
        self._clear_cache()
        out = self.model(
            input_ids=ids[:, reuse:].to(device),
            position_ids=positions[:, :, reuse:].to(device),
            attention_mask=torch.ones(1, length, dtype=torch.long, device=device),
            past_key_values=cache, use_cache=True, logits_to_keep=1, **kwargs)
        logits = out.logits[:, -1, :]
        prefill_seconds = time.perf_counter() - start
        snapshot = (length, self._linear_states(cache)) \
            if self.reuse_kind == 'snapshot' and self.reuse_prefix else None

        generator = None
        if settings.do_sample and settings.seed is not None:
            generator = torch.Generator(device=device).manual_seed(settings.seed)
        # tokens the repetition penalty applies to (only built when there is one)
        seen = ids[0].to(device) if settings.repetition_penalty != 1.0 else None
        generated: list[int] = []
        finish = 'length'
        for step in range(settings.max_new_tokens):
            token = self._choose(logits, settings, seen, generator)
            generated.append(token)
            if token in self.stop_ids:
                finish = 'stop'
                break
            if step + 1 == settings.max_new_tokens:
                break
            cur = length + len(generated) - 1  # index of ``token`` in the sequence
            if seen is not None:
                seen = torch.cat([seen, torch.tensor([token], device=device)])
            out = self.model(
                input_ids=torch.tensor([[token]], device=device),
                position_ids=torch.full((3, 1, 1), cur + delta, dtype=torch.long,
                                        device=device),
                attention_mask=torch.ones(1, cur + 1, dtype=torch.long, device=device),
                past_key_values=cache, use_cache=True)
            logits = out.logits[:, -1, :]
        if self.reuse_prefix and self.can_reuse:
            fed = generated[:-1]  # the last token was chosen but never run
            self._cache = cache
            self._cached_ids = torch.cat([ids[0], torch.tensor(fed, dtype=torch.long)])
            gen_pos = (torch.arange(length, length + len(fed)) + delta).expand(3, -1)
            self._cached_pos = torch.cat([positions[:, 0, :], gen_pos], dim=-1)
            self._cached_keys = list(prompt.keys)
            self._snapshot = snapshot
            if self.max_cache_bytes is not None and cache_nbytes(cache) > self.max_cache_bytes:
                self._clear_cache()  # too big to keep: the next call recomputes its prompt
        text_ids = [t for t in generated if t not in self.stop_ids]
        text = self.processor.tokenizer.decode(text_ids, skip_special_tokens=True)
        return GenerationResult(
            text=text, prompt_tokens=length, prefill_tokens=length - reuse,
            reused_tokens=reuse, completion_tokens=len(generated), finish_reason=finish,
            seconds=time.perf_counter() - start, prefill_seconds=prefill_seconds,
            token_ids=generated)

    def _generate_with_transformers(self, messages: Sequence[dict],
                                    settings: GenerationSettings) -> GenerationResult:
        """Generate with ``model.generate`` (families outside the own loop).

        The processor encodes the whole conversation every call (no prefix reuse); the stop
        tokens and sampling settings are mapped to ``generate``'s arguments.
        """
        torch = self.torch
        tf = require('transformers', purpose='the hf backend')
        start = time.perf_counter()
        device = self.device
        enc = {k: v.to(device=device, dtype=self.model.dtype) if k == 'pixel_values'
               else v.to(device) for k, v in self.encode(messages).items()}
        length = int(enc['input_ids'].shape[1])
        self.check_prompt_length(length, settings.max_new_tokens)
        first: list[float] = []

        class _FirstToken(tf.LogitsProcessor):
            def __call__(self, input_ids, scores):
                if not first:
                    first.append(time.perf_counter())
                return scores

        kwargs: dict[str, Any] = dict(
            max_new_tokens=settings.max_new_tokens, do_sample=settings.do_sample,
            logits_processor=tf.LogitsProcessorList([_FirstToken()]),
            pad_token_id=self.processor.tokenizer.pad_token_id)
        if self.stop_ids:
            kwargs['eos_token_id'] = sorted(self.stop_ids)
        else:  # no stop tokens: always the full budget
            kwargs['min_new_tokens'] = settings.max_new_tokens
        if settings.repetition_penalty != 1.0:
            kwargs['repetition_penalty'] = settings.repetition_penalty
        if settings.do_sample:
            kwargs.update(temperature=settings.temperature, top_k=settings.top_k,
                          top_p=settings.top_p)
        with torch.random.fork_rng(devices=[] if device.type == 'cpu' else [device]):
            if settings.do_sample and settings.seed is not None:
                torch.manual_seed(settings.seed)
            out = self.model.generate(**enc, **kwargs)
        generated = out[0, length:].tolist()
        finish = 'stop' if generated and generated[-1] in self.stop_ids else 'length'
        text_ids = [t for t in generated if t not in self.stop_ids]
        now = time.perf_counter()
        return GenerationResult(
            text=self.processor.tokenizer.decode(text_ids, skip_special_tokens=True),
            prompt_tokens=length, prefill_tokens=length, reused_tokens=0,
            completion_tokens=len(generated), finish_reason=finish, seconds=now - start,
            prefill_seconds=(first[0] if first else now) - start, token_ids=generated)

    def _choose(self, logits, settings: GenerationSettings, seen, generator) -> int:
        torch = self.torch
        scores = logits[0].float()
        if settings.repetition_penalty != 1.0:
            prev = scores[seen]
            prev = torch.where(prev < 0, prev * settings.repetition_penalty,
                               prev / settings.repetition_penalty)
            scores = scores.scatter(0, seen, prev)
        if not settings.do_sample:
            return int(torch.argmax(scores))
        scores = scores / settings.temperature
        if settings.top_k and settings.top_k < scores.numel():
            kth = torch.topk(scores, settings.top_k).values[-1]
            scores = scores.masked_fill(scores < kth, float('-inf'))
        if settings.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=True)
            cum = torch.softmax(sorted_scores, dim=-1).cumsum(-1)
            remove = cum - torch.softmax(sorted_scores, dim=-1) >= settings.top_p
            scores = scores.masked_fill(remove.scatter(0, order, remove), float('-inf'))
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))


class HFPolicy(Policy):
    """The ``hf:PATH_OR_HUB_ID`` policy: the whole conversation goes to :class:`HFEngine`."""

    name = 'hf'

    def __init__(self, engine: HFEngine, *, name: str | None = None) -> None:
        self.engine = engine
        if name:
            self.name = name
        self.last_result: GenerationResult | None = None

    @classmethod
    def from_pretrained(cls, path_or_id: str, **kwargs: Any) -> HFPolicy:
        """Load a model; ``kwargs`` hold generation settings, ``reuse_prefix`` and load options."""
        kwargs = dict(kwargs)
        settings = GenerationSettings.from_kwargs(kwargs)
        reuse = kwargs.pop('reuse_prefix', True)
        name = kwargs.pop('name', None) or f'hf:{path_or_id}'
        engine = HFEngine.from_pretrained(path_or_id, settings=settings, reuse_prefix=reuse,
                                          **kwargs)
        policy = cls(engine, name=name)
        if Path(path_or_id).is_dir():  # the prompt wording the model was trained on
            policy.prompt_config = load_prompt_config(path_or_id)
        return policy

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Drop the cached conversation; a seed re-seeds sampling."""
        del instruction, world
        self.engine.reset()
        if seed is not None and self.engine.settings.do_sample:
            self.engine.settings = self.engine.settings.updated(seed=seed)

    def act(self, inp: PolicyInput) -> str:
        """Generate the reply to the full conversation in ``inp.messages``."""
        self.last_result = self.engine.generate(inp.messages)
        logger.debug('hf step %d: %d prompt tokens, %d prefilled, %d generated in %.2f s',
                     inp.step, self.last_result.prompt_tokens,
                     self.last_result.prefill_tokens, self.last_result.completion_tokens,
                     self.last_result.seconds)
        return self.last_result.text

    def close(self) -> None:
        """Drop the cache."""
        self.engine.reset()


def make_hf_policy(arg: str | None, **kwargs: Any) -> HFPolicy:
    """Factory for ``hf:PATH_OR_HUB_ID``."""
    if not arg:
        raise ValueError('the hf policy needs a model: "hf:PATH_OR_HUB_ID"')
    return HFPolicy.from_pretrained(arg, **kwargs)


def _hf_keywords() -> frozenset[str]:
    from ego_reasoner_ros.core.policy import keyword_names
    from ego_reasoner_ros.training.processor import LoadOptions

    return frozenset(keyword_names(GenerationSettings, LoadOptions) | {'reuse_prefix', 'name'})


#: The keyword arguments ``hf:`` takes (``--policy-arg``): generation and load settings.
HF_POLICY_KEYWORDS = _hf_keywords()
