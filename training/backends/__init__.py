# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""MLLM policy backends, registered with the core policy registry on import.

- ``hf:PATH_OR_HUB_ID``: a transformers vision-language model in process (:mod:`.hf`):
  Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5 with conversation-prefix KV-cache reuse, Gemma 3
  and other image-text-to-text models through ``generate``.
- ``openai:BASE_URL#MODEL``: any OpenAI-compatible chat-completions server
  (:mod:`.openai_backend`), for example ``vllm serve`` or ``ego-reasoner serve``.
- ``vllm:MODEL``: an offline vLLM engine in process (:mod:`.vllm_backend`), imported lazily.

Importing this package is cheap: torch, transformers and vllm load when a policy is built.
"""

from __future__ import annotations

from typing import Any

from ego_reasoner_ros.core.policy import (
    Policy,
    PolicyArgumentError,
    check_keywords,
    register_policy,
)


def _check_hf(arg: str | None, kwargs: dict[str, Any]) -> None:
    """``hf:PATH``: PATH is a model folder (or a hub id), and every keyword is one it takes."""
    from ego_reasoner_ros.training.model_path import check_model_path

    if not arg:
        raise PolicyArgumentError('the hf policy needs a model: "hf:PATH_OR_HUB_ID"')
    check_model_path(arg)
    from ego_reasoner_ros.training.backends.hf import HF_POLICY_KEYWORDS

    check_keywords(f'hf:{arg}', kwargs, HF_POLICY_KEYWORDS)


def _check_openai(arg: str | None, kwargs: dict[str, Any]) -> None:
    if not arg:
        raise PolicyArgumentError('the openai policy needs a server: "openai:BASE_URL#MODEL"')
    from ego_reasoner_ros.training.backends.openai_backend import OPENAI_POLICY_KEYWORDS

    check_keywords(f'openai:{arg}', kwargs, OPENAI_POLICY_KEYWORDS)


@register_policy('hf', check=_check_hf)
def _make_hf(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.hf import make_hf_policy

    return make_hf_policy(arg, **kwargs)


@register_policy('openai', check=_check_openai)
def _make_openai(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.openai_backend import make_openai_policy

    return make_openai_policy(arg, **kwargs)


@register_policy('vllm')
def _make_vllm(arg: str | None, **kwargs: Any) -> Policy:
    from ego_reasoner_ros.training.backends.vllm_backend import make_vllm_policy

    return make_vllm_policy(arg, **kwargs)


__all__ = ['Policy']
