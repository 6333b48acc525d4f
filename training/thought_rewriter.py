# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Thought rewriters: an OpenAI-compatible HTTP endpoint and the style shortener.

A rewriter maps a reply's thought text to new text with the same tags in the same order; the
data engine applies it to every thought its expert writes.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import logging

from ego_reasoner_ros.training import thoughts

logger = logging.getLogger(__name__)


def make_rewriter(url: str, model: str = 'default', *, timeout: float = 60.0
                  ) -> Callable[[str], str]:
    """A thought rewriter over an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    The rewritten text is used only when it keeps exactly the same tags in the same order;
    otherwise (or on any error) the template text is kept.
    """
    import urllib.request

    endpoint = url.rstrip('/')
    if not endpoint.endswith('/chat/completions'):
        endpoint += '/v1/chat/completions' if not endpoint.endswith('/v1') else \
            '/chat/completions'
    prompt = ('Rewrite the robot\'s reasoning below in fresh, natural words. Keep every XML '
              'tag, their order and every fact exactly; add nothing. Reply with the rewritten '
              'text only.\n\n')

    def rewrite(text: str) -> str:
        body = json.dumps({'model': model, 'temperature': 0.9,
                           'messages': [{'role': 'user', 'content': prompt + text}]}).encode()
        req = urllib.request.Request(endpoint, data=body,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                data = json.loads(resp.read().decode('utf-8'))
            new = str(data['choices'][0]['message']['content']).strip()
        except Exception as exc:  # noqa: BLE001 - fall back to the template text
            logger.debug('thought rewrite failed: %s', exc)
            return text
        if _tag_sequence(new) != _tag_sequence(text) or '<DecisionMaking>' in new:
            return text
        return new

    return rewrite


def _tag_sequence(text: str) -> list[str]:
    import re

    return re.findall(r'</?(?:Observation|Planning|Thinking|Reflection|Verification)>', text)


def shortener(style: str, then: Callable[[str], str] | None = None) -> Callable[[str], str]:
    """A thought rewriter applying :func:`thoughts.shorten` (then ``then``, if given)."""
    def rewrite(text: str) -> str:
        short = thoughts.shorten(text, style)
        return then(short) if then is not None and short else short
    return rewrite

