# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""An OpenAI-compatible chat-completions server over the ``hf`` backend.

``ego-reasoner serve --model PATH`` answers ``POST /v1/chat/completions`` (text and
``image_url`` blocks with ``data:`` URLs) and ``GET /v1/models``, so the ``openai`` backend
talks to it exactly as to ``vllm serve``. It binds to 127.0.0.1 by default. Requests are
served one at a time by one :class:`~ego_reasoner_ros.training.backends.hf.HFEngine`, which
reuses the KV cache of the previous request's conversation when the next one extends it (one
episode at a time is the fast path; interleaved episodes still get correct answers).
Streaming is not supported (``"stream": true`` is answered with HTTP 400).

Limits (:class:`ServeLimits`), each answered with a 4xx that says which limit and how to
raise it: the prompt must fit the model's context with its ``max_tokens`` (and
``max_prompt_tokens`` when set) -> 400; an image's encoded bytes and decoded pixel count
(a decompression bomb is refused from its header, before any pixel is decoded) -> 400; the
request body size -> 413; a body that does not arrive within ``read_timeout_s`` (a client
that sends less than its ``Content-Length``) -> 408 and the connection is closed; more than
``max_queue`` requests waiting -> 429. Remote (``http(s)://``) image URLs and local paths /
``file://`` URLs are refused unless enabled (``allow_remote_images``, ``local_image_dir``).
The KV cache kept between requests is dropped when it holds more than ``max_cache_mb``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import io
import json
import logging
from pathlib import Path
import threading
import time
from typing import Any
import uuid
import warnings

from ego_reasoner_ros.training.backends.generation import (
    GenerationSettings,
    PromptTooLongError,
    resolve_model_defaults,
)
from ego_reasoner_ros.training.backends.hf import HFEngine

logger = logging.getLogger(__name__)

_MIB = 1024 * 1024


@dataclass
class ServeLimits:
    """What one request may ask of the server (see the module docstring for the answers).

    Attributes:
        max_prompt_tokens: refuse longer prompts (None: only the model's context bounds them).
        max_request_bytes: the largest request body.
        read_timeout_s: the whole request (headers, then body) must arrive within this.
        max_queue: requests allowed to wait while one runs; more get 429.
        max_image_bytes: the largest encoded image.
        max_image_pixels: the largest decoded image (width x height).
        max_images: images per request.
        max_cache_mb: drop the KV cache kept between requests when it is larger
            (0 keeps none; None: unbounded).
        allow_remote_images: fetch ``http(s)://`` image URLs.
        local_image_dir: serve ``file://`` URLs and plain paths below this folder only
            (None: refuse them).
        remote_timeout_s: timeout of one remote image fetch.
    """

    max_prompt_tokens: int | None = None
    max_request_bytes: int = 64 * _MIB
    read_timeout_s: float = 30.0
    max_queue: int = 8
    max_image_bytes: int = 20 * _MIB
    max_image_pixels: int = 4096 * 4096
    max_images: int = 64
    max_cache_mb: float | None = 2048.0
    allow_remote_images: bool = False
    local_image_dir: str | None = None
    remote_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 1:
            raise ValueError(f'max_prompt_tokens must be >= 1, got {self.max_prompt_tokens}')
        for name in ('max_request_bytes', 'max_image_bytes', 'max_image_pixels',
                     'max_images'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got {getattr(self, name)}')
        if self.max_queue < 0:
            raise ValueError(f'max_queue must be >= 0, got {self.max_queue}')
        if not self.read_timeout_s > 0 or not self.remote_timeout_s > 0:
            raise ValueError('read_timeout_s and remote_timeout_s must be > 0')
        if self.max_cache_mb is not None and self.max_cache_mb < 0:
            raise ValueError(f'max_cache_mb must be >= 0, got {self.max_cache_mb}')
        if self.local_image_dir is not None and not Path(self.local_image_dir).is_dir():
            raise ValueError(f'local_image_dir {self.local_image_dir!r} is not a folder')


class RequestError(ValueError):
    """A request the server refuses; ``status`` is the HTTP code, ``code`` a short name."""

    status = 400
    kind = 'invalid_request_error'

    def __init__(self, message: str, *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.code = code


class BadRequestError(RequestError):
    """A request the server rejects with HTTP 400."""


def _number(body: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else ' or '.join(k.__name__ for k in kind)
        raise BadRequestError(f'"{key}" must be {"an" if names[0] in "aeiou" else "a"} '
                              f'{names}, got {json.dumps(value)[:40]}', code='invalid_value')
    return value


def _settings_from_request(body: dict, base: GenerationSettings) -> GenerationSettings:
    """Map OpenAI / vLLM request fields to generation settings (bad values: 400)."""
    changes: dict[str, Any] = {}
    key = 'max_completion_tokens' if body.get('max_completion_tokens') is not None \
        else 'max_tokens'
    max_tokens = _number(body, key, int)
    if max_tokens is not None:
        if max_tokens < 1:
            raise BadRequestError(f'"{key}" must be >= 1, got {max_tokens}',
                                  code='invalid_value')
        changes['max_new_tokens'] = max_tokens
    for key, name, kind in (('temperature', 'temperature', (int, float)),
                            ('top_p', 'top_p', (int, float)), ('top_k', 'top_k', int),
                            ('repetition_penalty', 'repetition_penalty', (int, float)),
                            ('seed', 'seed', int)):
        value = _number(body, key, kind)
        if value is not None:
            changes[name] = value
    if changes.get('top_k', 0) < 0:  # vLLM's "-1 = off"
        changes['top_k'] = 0
    try:
        return base.updated(**changes)
    except (TypeError, ValueError) as exc:
        raise BadRequestError(str(exc), code='invalid_value') from exc


def _open_image(data: bytes, index: int, limits: ServeLimits) -> Any:
    """Open ``data`` as an image, refusing too many pixels before decoding any; RGB PIL."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter('error', Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadRequestError(f'image {index}: {exc}', code='image_too_large') from exc
        except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
            raise BadRequestError(f'image {index} is not a readable image: {exc}',
                                  code='invalid_image') from exc
        w, h = img.size
        if w * h > limits.max_image_pixels:
            raise BadRequestError(f'image {index} is {w}x{h} = {w * h} pixels; at most '
                                  f'{limits.max_image_pixels} are accepted (serve '
                                  '--max-image-pixels)', code='image_too_large')
        try:
            return img.convert('RGB')
        except (OSError, ValueError, Image.DecompressionBombWarning) as exc:
            raise BadRequestError(f'image {index} could not be decoded: {exc}',
                                  code='invalid_image') from exc


def _image_bytes(url: str, index: int, limits: ServeLimits) -> bytes:
    """The encoded bytes an image URL names, within the limits and the allowed sources."""
    cap = limits.max_image_bytes
    too_big = BadRequestError(f'image {index} is larger than {cap} bytes (serve '
                              '--max-image-mb)', code='image_too_large')
    if url.startswith('data:'):
        head, sep, payload = url.partition(',')
        if not sep or not head.endswith(';base64'):
            raise BadRequestError(f'image {index}: expected a base64 data URL '
                                  '(data:<mime>;base64,<payload>)', code='invalid_image')
        if len(payload) * 3 // 4 > cap + 3:
            raise too_big
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise BadRequestError(f'image {index}: bad base64: {exc}',
                                  code='invalid_image') from exc
    elif url.startswith(('http://', 'https://')):
        if not limits.allow_remote_images:
            raise BadRequestError(f'image {index}: remote image URLs are refused; send data: '
                                  'URLs (or start serve with --allow-remote-images)',
                                  code='image_url_refused')
        import urllib.request
        try:
            with urllib.request.urlopen(url, timeout=limits.remote_timeout_s) as resp:
                data = resp.read(cap + 1)
        except (OSError, ValueError) as exc:
            raise BadRequestError(f'image {index}: could not fetch {url[:200]}: {exc}',
                                  code='invalid_image') from exc
    else:
        path = url[len('file://'):] if url.startswith('file://') else url
        if limits.local_image_dir is None:
            raise BadRequestError(f'image {index}: file:// URLs and local paths are refused; '
                                  'send data: URLs (or start serve with '
                                  '--allowed-local-media-path DIR)', code='image_url_refused')
        root = Path(limits.local_image_dir).resolve()
        target = Path(path).expanduser().resolve()
        if not target.is_relative_to(root):
            raise BadRequestError(f'image {index}: {path[:200]} is outside the allowed '
                                  f'folder {root}', code='image_url_refused')
        try:
            with open(target, 'rb') as fh:
                data = fh.read(cap + 1)
        except OSError as exc:
            raise BadRequestError(f'image {index}: cannot read {path[:200]}: {exc}',
                                  code='invalid_image') from exc
    if len(data) > cap:
        raise too_big
    return data


class ChatServer:
    """Owns the engine and the HTTP server.

    Args:
        engine: the generation engine.
        model_name: the id reported by ``/v1/models`` and echoed in answers.
        host, port: bind address (port 0 picks a free port; see :attr:`port`).
        limits: what a request may ask (:class:`ServeLimits`; default limits when None).
    """

    def __init__(self, engine: HFEngine, model_name: str, *, host: str = '127.0.0.1',
                 port: int = 8000, limits: ServeLimits | None = None) -> None:
        self.engine = engine
        self.model_name = model_name
        self.limits = limits or ServeLimits()
        self.created = int(time.time())
        engine.max_prompt_tokens = self.limits.max_prompt_tokens
        engine.max_cache_bytes = (None if self.limits.max_cache_mb is None
                                  else int(self.limits.max_cache_mb * _MIB))
        # the running request plus max_queue waiting ones; more are refused with 429
        self._slots = threading.BoundedSemaphore(self.limits.max_queue + 1)
        handler = type('Handler', (_Handler,), {'server_ref': self,
                                                'timeout': self.limits.read_timeout_s})
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
        card: dict[str, Any] = {'id': self.model_name, 'object': 'model',
                                'created': self.created, 'owned_by': 'ego_reasoner_ros'}
        context = self.engine.context_tokens
        if context is not None:
            card['max_model_len'] = context
        return {'object': 'list', 'data': [card]}

    def _load_images(self, messages: list) -> None:
        """Replace every image block by a checked RGB PIL image (the limits, the sources)."""
        index = 0
        for msg in messages:
            content = msg.get('content')
            if not isinstance(content, list):
                continue
            for pos, block in enumerate(content):
                if not isinstance(block, dict) or block.get('type') not in ('image_url', 'image'):
                    continue
                source = block.get('image_url') if block['type'] == 'image_url' \
                    else block.get('image')
                url = source.get('url') if isinstance(source, dict) else source
                if not isinstance(url, str):
                    raise BadRequestError(f'image {index}: expected a URL string',
                                          code='invalid_image')
                index += 1
                if index > self.limits.max_images:
                    raise BadRequestError(f'more than {self.limits.max_images} images in one '
                                          'request', code='too_many_images')
                data = _image_bytes(url, index - 1, self.limits)
                content[pos] = {'type': 'image', 'image': _open_image(data, index - 1,
                                                                      self.limits)}

    def chat(self, body: dict) -> dict:
        """Answer one chat-completions request body (refusals raise :class:`RequestError`)."""
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
            if content is not None and not isinstance(content, (str, list)):
                raise BadRequestError('a message\'s "content" must be a string or a list')
            if isinstance(content, list) and not all(isinstance(b, dict) for b in content):
                raise BadRequestError('every content block must be an object')
        settings = resolve_model_defaults(
            _settings_from_request(body, self.engine.settings), self.engine.model)
        context = self.engine.context_tokens
        if context is not None and settings.max_new_tokens >= context:
            raise BadRequestError(f'max_tokens ({settings.max_new_tokens}) must be below the '
                                  f"model's context of {context} tokens",
                                  code='context_length_exceeded')
        if not self._slots.acquire(blocking=False):
            raise RequestError(f'the server is busy: {self.limits.max_queue} requests are '
                               'already waiting (serve --max-queue); retry later',
                               status=429, code='queue_full')
        try:
            self._load_images(messages)
            try:
                result = self.engine.generate(messages, settings)
            except PromptTooLongError as exc:
                raise BadRequestError(str(exc), code='context_length_exceeded') from exc
            except (ValueError, TypeError, OSError) as exc:
                raise BadRequestError(f'could not process the messages: {exc}') from exc
        finally:
            self._slots.release()
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
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        self._send(status, {'error': {'message': message, 'type': kind,
                                      'code': code or status}})

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split('?', 1)[0].rstrip('/')
        if path in ('/v1/models', '/models'):
            self._send(200, self.server_ref.models())
        elif path in ('/health', '/v1/health'):
            self._send(200, {'status': 'ok'})
        else:
            self._error(404, f'no route {self.path}', 'not_found')

    def _read_body(self, length: int) -> bytes:
        """Read exactly ``length`` bytes within ``read_timeout_s`` (else RequestError 408)."""
        limit = self.server_ref.limits.read_timeout_s
        deadline = time.monotonic() + limit
        chunks: list[bytes] = []
        got = 0
        while got < length:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.connection.settimeout(left)
            try:
                chunk = self.rfile.read1(min(1 << 16, length - got))
            except TimeoutError:
                break
            if not chunk:
                self.close_connection = True
                raise RequestError(f'the request body ended after {got} of {length} bytes',
                                   code='incomplete_body')
            chunks.append(chunk)
            got += len(chunk)
        if got < length:
            self.close_connection = True
            raise RequestError(f'the request body did not arrive within {limit:g} s ({got} of '
                               f'{length} bytes; serve --read-timeout)', status=408,
                               code='request_timeout')
        self.connection.settimeout(limit)
        return b''.join(chunks)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split('?', 1)[0].rstrip('/')
        if path not in ('/v1/chat/completions', '/chat/completions'):
            self.close_connection = True  # its body is left unread
            self._error(404, f'no route {self.path}', 'not_found')
            return
        cap = self.server_ref.limits.max_request_bytes
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            length = -1
        if length <= 0:
            self.close_connection = True
            self._error(411, 'a request body with a valid Content-Length is required',
                        'invalid_request_error', 'length_required')
            return
        if length > cap:
            self.close_connection = True
            self._error(413, f'the request body of {length} bytes exceeds {cap} bytes '
                        '(serve --max-request-mb)', 'invalid_request_error',
                        'request_too_large')
            return
        try:
            raw = self._read_body(length)
            body = json.loads(raw.decode('utf-8'))
            answer = self.server_ref.chat(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._error(400, f'invalid JSON: {exc}', 'invalid_request_error')
            return
        except RequestError as exc:
            if exc.status >= 500 or exc.status in (408, 429):
                logger.warning('refused a request: %s', exc)
            self._error(exc.status, str(exc), exc.kind, exc.code)
            return
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            logger.exception('chat completion failed')
            self._error(500, f'{type(exc).__name__}: {exc}', 'server_error')
            return
        self._send(200, answer)


def make_server(model: str, *, host: str = '127.0.0.1', port: int = 8000,
                model_name: str | None = None, settings: GenerationSettings | None = None,
                reuse_prefix: bool = True, limits: ServeLimits | None = None,
                **load_kwargs: Any) -> ChatServer:
    """Load ``model`` (path or hub id) and build a :class:`ChatServer` (not started)."""
    engine = HFEngine.from_pretrained(model, settings=settings, reuse_prefix=reuse_prefix,
                                      **load_kwargs)
    return ChatServer(engine, model_name or model, host=host, port=port, limits=limits)
