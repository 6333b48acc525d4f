# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ``hf`` policy: a transformers Qwen2-VL / Qwen2.5-VL model run in process.

An embodied episode is one growing conversation: every turn repeats the whole history
(system prompt, earlier images, earlier replies) and appends a few new tokens and images.
:class:`HFEngine` keeps the key/value cache (``DynamicCache``) of the previous turn's full
sequence, generated reply included, and on the next turn runs only the tokens after the
longest common prefix, with the pixel values of the new images only and the M-RoPE
position ids of the full sequence sliced to the new part. When the new prompt does not
extend the cached tokens (a new episode, edited history) the cache is cut back to the
common prefix, or dropped. Decoding is a plain token loop (greedy by default; temperature,
top-k, top-p and repetition penalty on request), identical with and without the reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
import logging
import threading
import time
from typing import Any

from ego_reasoner_ros.core import images as imgs
from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.core.policy import Policy, PolicyError, PolicyInput

logger = logging.getLogger(__name__)


@dataclass
class GenerationSettings:
    """Sampling settings; the defaults decode greedily.

    Attributes:
        max_new_tokens: generation budget per decision.
        do_sample: sample instead of taking the argmax; implied by ``temperature > 0``.
        temperature: softmax temperature when sampling.
        top_k: keep the k most likely tokens (0 keeps all).
        top_p: nucleus mass (1.0 keeps all).
        repetition_penalty: CTRL-style penalty over prompt and generated tokens (1.0: none).
        seed: seed of the sampler (None: torch's global generator).
    """

    max_new_tokens: int = 1024
    do_sample: bool = False
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f'max_new_tokens must be >= 1, got {self.max_new_tokens}')
        if self.temperature < 0:
            raise ValueError(f'temperature must be >= 0, got {self.temperature}')
        if self.top_k < 0:
            raise ValueError(f'top_k must be >= 0, got {self.top_k}')
        if not 0 < self.top_p <= 1:
            raise ValueError(f'top_p must be in (0, 1], got {self.top_p}')
        if self.repetition_penalty <= 0:
            raise ValueError('repetition_penalty must be positive')
        if self.temperature > 0 and not self.do_sample:
            self.do_sample = True
        if self.do_sample and self.temperature == 0:
            self.temperature = 1.0

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> GenerationSettings:
        """Pop the known fields out of ``kwargs`` and build the settings."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: kwargs.pop(k) for k in list(kwargs) if k in names})

    def updated(self, **changes: Any) -> GenerationSettings:
        """A copy with ``changes`` applied (None values ignored)."""
        data = asdict(self)
        data.update({k: v for k, v in changes.items() if v is not None})
        if changes.get('temperature') == 0 and 'do_sample' not in changes:
            data['do_sample'] = False
        return GenerationSettings(**data)


@dataclass
class GenerationResult:
    """One decision's text and accounting.

    Attributes:
        text: the decoded reply (special tokens removed).
        prompt_tokens: tokens of the whole prompt.
        prefill_tokens: prompt tokens actually run through the model this turn.
        reused_tokens: prompt tokens served from the cache.
        completion_tokens: generated tokens.
        finish_reason: ``"stop"`` (end-of-turn token) or ``"length"``.
        seconds: wall time of the call.
        prefill_seconds: wall time up to the first generated token.
    """

    text: str
    prompt_tokens: int
    prefill_tokens: int
    reused_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float
    prefill_seconds: float
    token_ids: list[int] = field(default_factory=list, repr=False)


def normalize_messages(messages: Sequence[dict]) -> tuple[list[dict], list[Any]]:
    """Return messages with block content and PIL image blocks, plus the images in order.

    Accepts the core block format (``image`` blocks holding arrays, PIL images, paths or
    data URLs), OpenAI ``image_url`` blocks and plain string content.
    """
    out: list[dict] = []
    images: list[Any] = []
    for msg in messages:
        role = msg.get('role')
        if role not in ('system', 'user', 'assistant'):
            raise ValueError(f'unsupported message role {role!r}')
        content = msg.get('content')
        if content is None:
            content = ''
        if isinstance(content, str):
            out.append({'role': role, 'content': [{'type': 'text', 'text': content}]})
            continue
        blocks = []
        for block in content:
            kind = block.get('type')
            if kind == 'text':
                blocks.append({'type': 'text', 'text': block.get('text', '')})
            elif kind in ('image', 'image_url'):
                source = block.get('image') if kind == 'image' else block.get('image_url')
                if isinstance(source, dict):
                    source = source.get('url')
                if source is None:
                    raise ValueError('image block without an image')
                pil = imgs.to_pil(source)
                images.append(pil)
                blocks.append({'type': 'image', 'image': pil})
            else:
                raise ValueError(f'unsupported content block type {kind!r}')
        out.append({'role': role, 'content': blocks})
    return out, images


class HFEngine:
    """Chat generation over a Qwen2-VL-family model with conversation-prefix KV reuse.

    Args:
        model: a ``Qwen2VLForConditionalGeneration`` / ``Qwen2_5_VLForConditionalGeneration``.
        processor: the image-only processor (:mod:`ego_reasoner_ros.training.processor`).
        settings: default generation settings.
        reuse_prefix: keep the KV cache between calls and reuse the common prefix.

    Calls are serialised with a lock, so one engine can serve several threads.
    """

    def __init__(self, model: Any, processor: Any, settings: GenerationSettings | None = None,
                 *, reuse_prefix: bool = True) -> None:
        self.torch = require('torch', purpose='the hf backend')
        self.model = model
        self.processor = processor
        self.settings = settings or GenerationSettings()
        self.reuse_prefix = reuse_prefix
        tok = processor.tokenizer
        self.stop_ids = {i for i in (tok.convert_tokens_to_ids('<|im_end|>'),
                                     tok.convert_tokens_to_ids('<|endoftext|>'),
                                     tok.eos_token_id) if isinstance(i, int) and i >= 0}
        gen_eos = getattr(getattr(model, 'generation_config', None), 'eos_token_id', None)
        if isinstance(gen_eos, int):
            self.stop_ids.add(gen_eos)
        elif isinstance(gen_eos, (list, tuple)):
            self.stop_ids.update(int(i) for i in gen_eos)
        self._lock = threading.Lock()
        self._cache = None
        self._cached_ids: list[int] = []

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
            self._cache = None
            self._cached_ids = []

    @property
    def cached_tokens(self) -> int:
        """Tokens whose keys and values are cached."""
        return len(self._cached_ids)

    # ----------------------------------------------------------------- inputs
    def encode(self, messages: Sequence[dict]) -> dict[str, Any]:
        """Tokenise ``messages`` with the generation prompt (processor outputs)."""
        norm, images = normalize_messages(messages)
        if not norm or norm[-1]['role'] == 'assistant':
            raise ValueError('the conversation must end with a user (or system) turn')
        text = self.processor.apply_chat_template(norm, add_generation_prompt=True,
                                                  tokenize=False)
        return self.processor(text=[text], images=images or None, return_tensors='pt')

    def _positions(self, enc: dict[str, Any]):
        """Full-sequence M-RoPE position ids ``(3, 1, L)`` and the rope delta."""
        torch = self.torch
        ids = enc['input_ids']
        grid = enc.get('image_grid_thw')
        inner = getattr(self.model, 'model', self.model)
        if grid is not None and hasattr(inner, 'get_rope_index'):
            mm = enc.get('mm_token_type_ids')
            if mm is None:
                mm = (ids == self.processor.image_token_id).int()
            pos, delta = inner.get_rope_index(ids, mm_token_type_ids=mm, image_grid_thw=grid)
            return pos, int(delta.reshape(-1)[0])
        length = ids.shape[1]
        return torch.arange(length).view(1, 1, -1).expand(3, 1, -1), 0

    @staticmethod
    def _common_prefix(a: list[int], b: list[int]) -> int:
        n = min(len(a), len(b))
        i = 0
        while i < n and a[i] == b[i]:
            i += 1
        return i

    # ------------------------------------------------------------- generation
    def generate(self, messages: Sequence[dict], settings: GenerationSettings | None = None,
                 **overrides: Any) -> GenerationResult:
        """Generate the assistant reply to ``messages`` (the full conversation so far)."""
        settings = (settings or self.settings).updated(**overrides) if overrides \
            else (settings or self.settings)
        with self._lock, self.torch.inference_mode():
            return self._generate(messages, settings)

    def _generate(self, messages: Sequence[dict],
                  settings: GenerationSettings) -> GenerationResult:
        torch = self.torch
        start = time.perf_counter()
        enc = self.encode(messages)
        ids = enc['input_ids']
        id_list = ids[0].tolist()
        length = len(id_list)
        positions, delta = self._positions(enc)
        image_token = self.processor.image_token_id
        # image spans [start, end) in token indices, in order
        spans: list[tuple[int, int]] = []
        i = 0
        while i < length:
            if id_list[i] == image_token:
                j = i
                while j < length and id_list[j] == image_token:
                    j += 1
                spans.append((i, j))
                i = j
            else:
                i += 1
        grid = enc.get('image_grid_thw')
        if grid is not None and len(spans) != grid.shape[0]:
            raise PolicyError(f'{len(spans)} image spans but {grid.shape[0]} image grids '
                              '(adjacent images without separators are not supported)')

        reuse = 0
        if self.reuse_prefix and self._cache is not None:
            reuse = min(self._common_prefix(self._cached_ids, id_list), length - 1)
            for s, e in spans:  # never split an image
                if s < reuse < e:
                    reuse = s
                    break
        if reuse == 0:
            cache = require('transformers', purpose='the hf backend').DynamicCache(
                config=self.model.config.get_text_config())
        else:
            cache = self._cache
            drop = cache.get_seq_length() - reuse
            if drop > 0:
                cache.crop(-drop)
        kwargs: dict[str, Any] = {}
        done_images = sum(1 for s, e in spans if e <= reuse)
        if grid is not None and done_images < grid.shape[0]:
            rows = int(grid[:done_images].prod(dim=1).sum()) if done_images else 0
            kwargs['pixel_values'] = enc['pixel_values'][rows:].to(self.device)
            kwargs['image_grid_thw'] = grid[done_images:].to(self.device)
            mm = enc.get('mm_token_type_ids')
            if mm is not None:
                kwargs['mm_token_type_ids'] = mm[:, reuse:].to(self.device)
        if 'pixel_values' in kwargs:
            kwargs['pixel_values'] = kwargs['pixel_values'].to(self.model.dtype)
        # the cache is now being rewritten: invalidate it until this call succeeds
        self._cache, self._cached_ids = None, []
        device = self.device
        out = self.model(
            input_ids=ids[:, reuse:].to(device),
            position_ids=positions[:, :, reuse:].to(device),
            attention_mask=torch.ones(1, length, dtype=torch.long, device=device),
            past_key_values=cache, use_cache=True, logits_to_keep=1, **kwargs)
        logits = out.logits[:, -1, :]
        prefill_seconds = time.perf_counter() - start

        generator = None
        if settings.do_sample and settings.seed is not None:
            generator = torch.Generator(device=device).manual_seed(settings.seed)
        seen = torch.tensor(id_list, device=device)
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
            seen = torch.cat([seen, torch.tensor([token], device=device)])
            out = self.model(
                input_ids=torch.tensor([[token]], device=device),
                position_ids=torch.full((3, 1, 1), cur + delta, dtype=torch.long,
                                        device=device),
                attention_mask=torch.ones(1, cur + 1, dtype=torch.long, device=device),
                past_key_values=cache, use_cache=True)
            logits = out.logits[:, -1, :]
        if self.reuse_prefix:
            self._cache = cache
            self._cached_ids = id_list + generated[:-1]
        text_ids = [t for t in generated if t not in self.stop_ids]
        text = self.processor.tokenizer.decode(text_ids, skip_special_tokens=True)
        return GenerationResult(
            text=text, prompt_tokens=length, prefill_tokens=length - reuse,
            reused_tokens=reuse, completion_tokens=len(generated), finish_reason=finish,
            seconds=time.perf_counter() - start, prefill_seconds=prefill_seconds,
            token_ids=generated)

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
        return cls(engine, name=name)

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
