# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""An OpenAI-compatible chat-completions server over the ``hf`` backend.

``ego-reasoner serve --model PATH`` answers ``POST /v1/chat/completions`` (text and
``image_url`` blocks with ``data:`` URLs, or local file paths / ``file://`` URLs) and
``GET /v1/models``, so the ``openai`` backend talks to it exactly as to ``vllm serve``.
It binds to 127.0.0.1 by default. Requests are served one at a time by one
:class:`~ego_reasoner_ros.training.backends.hf.HFEngine`, which reuses the KV cache of the
previous request's conversation when the next one extends it (one episode at a time is
the fast path; interleaved episodes still get correct answers).
Streaming is not supported (``"stream": true`` is answered with HTTP 400).
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import logging
import threading
import time
from typing import Any
import uuid

from ego_reasoner_ros.training.backends.hf import GenerationSettings, HFEngine

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024 * 1024


class BadRequestError(ValueError):
    """A request the server rejects with HTTP 400."""


def _settings_from_request(body: dict, base: GenerationSettings) -> GenerationSettings:
    """Map OpenAI / vLLM request fields to generation settings."""
    changes: dict[str, Any] = {}
    max_tokens = body.get('max_completion_tokens', body.get('max_tokens'))
    if max_tokens is not None:
        changes['max_new_tokens'] = int(max_tokens)
    for key, name in (('temperature', 'temperature'), ('top_p', 'top_p'), ('top_k', 'top_k'),
                      ('repetition_penalty', 'repetition_penalty'), ('seed', 'seed')):
        if body.get(key) is not None:
            changes[name] = body[key]
    if changes.get('top_k', 0) < 0:  # vLLM's "-1 = off"
        changes['top_k'] = 0
    try:
        return base.updated(**changes)
    except (TypeError, ValueError) as exc:
        raise BadRequestError(str(exc)) from exc


class ChatServer:
    """Owns the engine and the HTTP server.

    Args:
        engine: the generation engine.
        model_name: the id reported by ``/v1/models`` and echoed in answers.
        host, port: bind address (port 0 picks a free port; see :attr:`port`).
    """

    def __init__(self, engine: HFEngine, model_name: str, *, host: str = '127.0.0.1',
                 port: int = 8000) -> None:
        self.engine = engine
        self.model_name = model_name
        self.created = int(time.time())
        handler = type('Handler', (_Handler,), {'server_ref': self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``."""
        host = self.httpd.server_address[0]
        return f'http://{host}:{self.port}/v1'

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (blocking)."""
        logger.info('serving %s at %s', self.model_name, self.base_url)
        self.httpd.serve_forever()

    def start(self) -> ChatServer:
        """Serve in a background thread (tests, notebooks)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name='ego-reasoner-serve')
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ---------------------------------------------------------------- handlers
    def models(self) -> dict:
        """The ``/v1/models`` answer."""
        return {'object': 'list', 'data': [{'id': self.model_name, 'object': 'model',
                                            'created': self.created,
                                            'owned_by': 'ego_reasoner_ros'}]}

    def chat(self, body: dict) -> dict:
        """Answer one chat-completions request body."""
        if not isinstance(body, dict):
            raise BadRequestError('the request body must be a JSON object')
        if body.get('stream'):
            raise BadRequestError('streaming is not supported')
        if body.get('n', 1) != 1:
            raise BadRequestError('only n=1 is supported')
        messages = body.get('messages')
        if not isinstance(messages, list) or not messages:
            raise BadRequestError('"messages" must be a non-empty list')
        for msg in messages:
            if not isinstance(msg, dict) or 'role' not in msg:
                raise BadRequestError('every message needs a "role"')
            content = msg.get('content')
            if isinstance(content, list):
                for block in content:
                    url = (block.get('image_url') or {}).get('url') \
                        if isinstance(block, dict) and block.get('type') == 'image_url' else None
                    if isinstance(url, str) and url.startswith(('http://', 'https://')):
                        raise BadRequestError('remote image URLs are not fetched; send data: URLs')
                    if isinstance(url, str) and url.startswith('file://'):
                        block['image_url']['url'] = url[len('file://'):]
        settings = _settings_from_request(body, self.engine.settings)
        try:
            result = self.engine.generate(messages, settings)
        except (ValueError, TypeError, OSError) as exc:
            raise BadRequestError(f'could not process the messages: {exc}') from exc
        return {
            'id': f'chatcmpl-{uuid.uuid4().hex[:24]}',
            'object': 'chat.completion',
            'created': int(time.time()),
            'model': self.model_name,
            'choices': [{'index': 0, 'finish_reason': result.finish_reason,
                         'message': {'role': 'assistant', 'content': result.text}}],
            'usage': {'prompt_tokens': result.prompt_tokens,
                      'completion_tokens': result.completion_tokens,
                      'total_tokens': result.prompt_tokens + result.completion_tokens,
                      'prompt_tokens_details': {'cached_tokens': result.reused_tokens}},
        }


class _Handler(BaseHTTPRequestHandler):
    server_ref: ChatServer
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt: str, *args: Any) -> None:  # route to logging
        logger.debug('%s - ' + fmt, self.address_string(), *args)

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {'error': {'message': message, 'type': kind, 'code': status}})

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split('?', 1)[0].rstrip('/')
        if path in ('/v1/models', '/models'):
            self._send(200, self.server_ref.models())
        elif path in ('/health', '/v1/health'):
            self._send(200, {'status': 'ok'})
        else:
            self._error(404, f'no route {self.path}', 'not_found')

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split('?', 1)[0].rstrip('/')
        if path not in ('/v1/chat/completions', '/chat/completions'):
            self._error(404, f'no route {self.path}', 'not_found')
            return
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_BODY_BYTES:
            self._error(400, 'missing or oversized request body', 'invalid_request_error')
            return
        try:
            body = json.loads(self.rfile.read(length).decode('utf-8'))
            answer = self.server_ref.chat(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._error(400, f'invalid JSON: {exc}', 'invalid_request_error')
            return
        except BadRequestError as exc:
            self._error(400, str(exc), 'invalid_request_error')
            return
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            logger.exception('chat completion failed')
            self._error(500, f'{type(exc).__name__}: {exc}', 'server_error')
            return
        self._send(200, answer)


def make_server(model: str, *, host: str = '127.0.0.1', port: int = 8000,
                model_name: str | None = None, settings: GenerationSettings | None = None,
                reuse_prefix: bool = True, **load_kwargs: Any) -> ChatServer:
    """Load ``model`` (path or hub id) and build a :class:`ChatServer` (not started)."""
    engine = HFEngine.from_pretrained(model, settings=settings, reuse_prefix=reuse_prefix,
                                      **load_kwargs)
    return ChatServer(engine, model_name or model, host=host, port=port)
