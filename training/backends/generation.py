# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Generation settings and results of the in-process engine (:mod:`hf`) and its server.

:class:`GenerationSettings` (greedy by default; the budget falls back to the checkpoint's own,
:func:`resolve_model_defaults`), :class:`GenerationResult` (one decision's text and token
accounting) and :class:`PromptTooLongError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
import logging
from typing import Any

logger = logging.getLogger(__name__)

#: The generation budget of a checkpoint that states none.
DEFAULT_MAX_NEW_TOKENS = 1024


def resolve_model_defaults(settings: GenerationSettings, model: Any) -> GenerationSettings:
    """Fill what ``settings`` leaves open from the checkpoint's ``generation_config``."""
    if settings.max_new_tokens is not None:
        return settings
    saved = getattr(getattr(model, 'generation_config', None), 'max_new_tokens', None)
    budget = int(saved) if isinstance(saved, int) and saved > 0 else DEFAULT_MAX_NEW_TOKENS
    logger.info('max_new_tokens %d (%s)', budget,
                "the checkpoint's generation_config" if saved else 'default')
    return replace(settings, max_new_tokens=budget)


@dataclass
class GenerationSettings:
    """Sampling settings; the defaults decode greedily.

    Attributes:
        max_new_tokens: generation budget per decision; None takes the checkpoint's own
            (``max_new_tokens`` in its ``generation_config.json``: the budget it was measured
            with), else :data:`DEFAULT_MAX_NEW_TOKENS`.
        do_sample: sample instead of taking the argmax; implied by ``temperature > 0``.
        temperature: softmax temperature when sampling.
        top_k: keep the k most likely tokens (0 keeps all).
        top_p: nucleus mass (1.0 keeps all).
        repetition_penalty: CTRL-style penalty over prompt and generated tokens (1.0: none).
        seed: seed of the sampler (None: torch's global generator).
    """

    max_new_tokens: int | None = None
    do_sample: bool = False
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
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


class PromptTooLongError(ValueError):
    """The prompt (plus the generation budget) does not fit the engine's token limits."""


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
