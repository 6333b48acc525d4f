# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""MLLM policy backends, registered with the core policy registry on import.

- ``hf:PATH_OR_HUB_ID``: a transformers Qwen2-VL / Qwen2.5-VL model in process
  (:mod:`.hf`), with conversation-prefix KV-cache reuse.
- ``openai:BASE_URL#MODEL``: any OpenAI-compatible chat-completions server
  (:mod:`.openai_backend`), for example ``vllm serve`` or ``ego-reasoner serve``.
- ``vllm:MODEL``: an offline vLLM engine in process (:mod:`.vllm_backend`), imported lazily.

Importing this package is cheap: torch, transformers and vllm load when a policy is built.
"""

from __future__ import annotations

from typing import Any

from ego_reasoner_ros.core.policy import Policy, register_policy


@register_policy('hf')
def _make_hf(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.hf import make_hf_policy

    return make_hf_policy(arg, **kwargs)


@register_policy('openai')
def _make_openai(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.openai_backend import make_openai_policy

    return make_openai_policy(arg, **kwargs)


@register_policy('vllm')
def _make_vllm(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.vllm_backend import make_vllm_policy

    return make_vllm_policy(arg, **kwargs)


__all__ = ['Policy']
