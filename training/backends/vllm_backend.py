# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ``vllm`` policy: an offline vLLM engine in process (GPU machines).

Spec: ``vllm:MODEL`` (hub id or path). vLLM is imported only when the policy is built and a
missing install raises :class:`~ego_reasoner_ros.core.errors.MissingDependencyError`. The
defaults follow the reference evaluation (greedy, 1024 new tokens, 32k context, at most 32
images per prompt). vLLM does its own prefix caching (``enable_prefix_caching``).
"""

from __future__ import annotations

import logging
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.core.policy import Policy, PolicyError, PolicyInput
from ego_reasoner_ros.core.prompts import PromptBuilder

logger = logging.getLogger(__name__)


class VLLMPolicy(Policy):
    """Chat with a ``vllm.LLM`` engine.

    Args:
        model: hub id or local path.
        temperature, top_p, top_k, repetition_penalty, max_tokens, seed: sampling settings.
        max_model_len: context length.
        max_images: per-prompt image limit (``limit_mm_per_prompt``).
        engine_kwargs: more ``vllm.LLM`` arguments (``tensor_parallel_size``, ``dtype`` ...).
    """

    name = 'vllm'

    def __init__(self, model: str, *, temperature: float = 0.0, top_p: float = 1.0,
                 top_k: int = -1, repetition_penalty: float = 1.0, max_tokens: int = 1024,
                 seed: int | None = None, max_model_len: int = 32768, max_images: int = 32,
                 **engine_kwargs: Any) -> None:
        vllm = require('vllm', purpose='the vllm policy backend (GPU machines)')
        self.name = f'vllm:{model}'
        self._llm = vllm.LLM(model=model, max_model_len=max_model_len,
                             limit_mm_per_prompt={'image': max_images},
                             enable_prefix_caching=True, **engine_kwargs)
        self._sampling = vllm.SamplingParams(
            temperature=temperature, top_p=top_p, top_k=top_k,
            repetition_penalty=repetition_penalty, max_tokens=max_tokens, seed=seed)

    def act(self, inp: PolicyInput) -> str:
        """Generate the reply to the full conversation."""
        messages = PromptBuilder.to_openai_messages(inp.messages)
        outputs = self._llm.chat(messages, self._sampling, use_tqdm=False)
        try:
            return outputs[0].outputs[0].text
        except (IndexError, AttributeError) as exc:
            raise PolicyError(f'vllm returned no output: {outputs!r}') from exc


def make_vllm_policy(arg: str | None, **kwargs: Any) -> VLLMPolicy:
    """Factory for ``vllm:MODEL``."""
    if not arg:
        raise ValueError('the vllm policy needs a model: "vllm:MODEL"')
    return VLLMPolicy(arg, **kwargs)
