# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ``openai`` policy: any OpenAI-compatible chat-completions server with image input.

Spec: ``openai:BASE_URL#MODEL``, for example ``openai:http://127.0.0.1:8000/v1#er-2b``
(``vllm serve``, ``ego-reasoner serve``, hosted APIs). Images travel as PNG ``data:`` URLs
in ``image_url`` blocks. Uses the standard library only (``urllib``): per-request timeout,
retries with exponential backoff on connection errors, 429 and 5xx answers. The API key, if
any, is read from the environment variable named by ``api_key_env`` (``OPENAI_API_KEY`` by
default) and never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import logging
import os
import time
from typing import Any
import urllib.error
import urllib.request

from ego_reasoner_ros.core.policy import Policy, PolicyError, PolicyInput
from ego_reasoner_ros.core.prompts import PromptBuilder

logger = logging.getLogger(__name__)

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIChatClient:
    """Minimal chat-completions client.

    Args:
        base_url: server root including ``/v1`` (``http://127.0.0.1:8000/v1``).
        model: model name sent in each request; None asks ``/models`` for the first one.
        timeout: seconds per HTTP request.
        max_retries: retries after the first attempt.
        backoff: first retry delay in seconds, doubled each retry (capped at 30 s).
        api_key_env: environment variable holding a bearer token (optional).
    """

    def __init__(self, base_url: str, model: str | None = None, *, timeout: float = 300.0,
                 max_retries: int = 3, backoff: float = 1.0,
                 api_key_env: str = 'OPENAI_API_KEY') -> None:
        if not base_url.startswith(('http://', 'https://')):
            raise ValueError(f'base_url must start with http:// or https://, got {base_url!r}')
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ValueError('need timeout > 0, max_retries >= 0, backoff >= 0')
        self.base_url = base_url.rstrip('/')
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        self.model = model or self.list_models()[0]

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        url = f'{self.base_url}{path}'
        data = None if body is None else json.dumps(body).encode('utf-8')
        headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}
        if self._api_key:
            headers['Authorization'] = f'Bearer {self._api_key}'
        delay = self.backoff
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode('utf-8'))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode('utf-8', 'replace')[:500]
                last = PolicyError(f'{method} {url} -> HTTP {exc.code}: {detail}')
                if exc.code not in _RETRY_STATUS:
                    raise last from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = PolicyError(f'{method} {url} failed: {exc}')
            except json.JSONDecodeError as exc:
                raise PolicyError(f'{method} {url} returned invalid JSON: {exc}') from exc
            if attempt < self.max_retries:
                logger.warning('%s (attempt %d/%d), retrying in %.1f s', last, attempt + 1,
                               self.max_retries + 1, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        assert last is not None
        raise last

    def list_models(self) -> list[str]:
        """The model ids the server offers."""
        data = self._request('GET', '/models')
        ids = [m.get('id') for m in data.get('data', []) if m.get('id')]
        if not ids:
            raise PolicyError(f'{self.base_url}/models lists no model')
        return ids

    def chat(self, messages: Sequence[dict], **params: Any) -> dict:
        """POST ``/chat/completions``; ``messages`` are OpenAI-format. Returns the JSON answer."""
        body = {'model': self.model, 'messages': list(messages)}
        body.update({k: v for k, v in params.items() if v is not None})
        return self._request('POST', '/chat/completions', body)


class OpenAIPolicy(Policy):
    """The ``openai:BASE_URL#MODEL`` policy.

    Args:
        client: the chat client.
        temperature, top_p, max_tokens, seed: request parameters (greedy by default).
        extra_body: more request fields (for example ``{"top_k": 10,
            "repetition_penalty": 1.1}``, which vLLM accepts).
    """

    name = 'openai'

    def __init__(self, client: OpenAIChatClient, *, temperature: float = 0.0,
                 top_p: float | None = None, max_tokens: int = 1024, seed: int | None = None,
                 extra_body: dict | None = None, name: str | None = None) -> None:
        if max_tokens < 1:
            raise ValueError('max_tokens must be >= 1')
        self.client = client
        self.params = {'temperature': temperature, 'top_p': top_p, 'max_tokens': max_tokens,
                       'seed': seed, **(extra_body or {})}
        self.name = name or f'openai:{client.model}'
        self.last_response: dict | None = None

    def act(self, inp: PolicyInput) -> str:
        """Send the whole conversation and return the reply text."""
        messages = PromptBuilder.to_openai_messages(inp.messages)
        answer = self.client.chat(messages, **self.params)
        self.last_response = answer
        try:
            content = answer['choices'][0]['message']['content']
        except (KeyError, IndexError, TypeError) as exc:
            raise PolicyError(f'unexpected chat-completions answer: {str(answer)[:300]}') from exc
        return content or ''


def _openai_keywords() -> set[str]:
    from ego_reasoner_ros.core.policy import keyword_names

    names = keyword_names(OpenAIPolicy) | {'timeout', 'max_retries', 'backoff', 'api_key_env'}
    return names - {'client'}


def make_openai_policy(arg: str | None, **kwargs: Any) -> OpenAIPolicy:
    """Factory for ``openai:BASE_URL#MODEL`` (``#MODEL`` optional: the server's first model).

    Keyword arguments go to :class:`OpenAIChatClient` (``timeout``, ``max_retries``,
    ``backoff``, ``api_key_env``) and :class:`OpenAIPolicy` (sampling parameters).
    """
    if not arg:
        raise ValueError('the openai policy needs a server: "openai:BASE_URL#MODEL"')
    base_url, _, model = arg.partition('#')
    client_keys = ('timeout', 'max_retries', 'backoff', 'api_key_env')
    client_kwargs = {k: kwargs.pop(k) for k in client_keys if k in kwargs}
    client = OpenAIChatClient(base_url, model or None, **client_kwargs)
    return OpenAIPolicy(client, **kwargs)


#: The keyword arguments ``openai:`` takes (``--policy-arg``).
OPENAI_POLICY_KEYWORDS = frozenset(_openai_keywords())
