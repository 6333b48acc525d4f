# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner serve``: an OpenAI-compatible chat-completions server over the hf backend.

    ego-reasoner serve --model runs/sft/final [--host 127.0.0.1] [--port 8000]

Then ``--policy openai:http://127.0.0.1:8000/v1#MODEL`` talks to it exactly as to
``vllm serve``. Binds to 127.0.0.1 unless told otherwise. Every limit below is answered with a
4xx that names it (see :mod:`ego_reasoner_ros.training.serve`). Exit codes: 0 stopped by
Ctrl-C, 2 bad arguments (a missing or empty model folder, a port outside 0..65535, a port in
use), 1 the model failed to load.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger(__name__)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a port number: {text!r}') from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f'a port must be in 0..65535, got {port}')
    return port


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'not a number: {text!r}') from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value
    return parse


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on ``subparsers``."""
    serve = subparsers.add_parser(
        'serve', help='OpenAI-compatible /v1/chat/completions over a local VLM',
        description='Serve a Qwen2-VL-family model (path or hub id) with an OpenAI-compatible '
                    'API: POST /v1/chat/completions (image_url data URLs), GET /v1/models.')
    serve.add_argument('--model', required=True, help='model directory or hub id')
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--port', type=_port, default=8000, help='0..65535 (0: a free one)')
    serve.add_argument('--served-model-name', default=None,
                       help='id reported by /v1/models (default: --model)')
    serve.add_argument('--max-pixels', type=int, default=None,
                       help='per-image pixel budget (e.g. 351232)')
    serve.add_argument('--max-new-tokens', type=int, default=None,
                       help="default budget of a request without max_tokens (default: the "
                            "checkpoint's generation_config.json, else 1024)")
    serve.add_argument('--device', default='cpu', help='cpu, cuda, cuda:0 or auto')
    serve.add_argument('--dtype', default='auto')
    serve.add_argument('--threads', type=int, default=None, help='torch threads')
    serve.add_argument('--no-prefix-reuse', action='store_true',
                       help='recompute the whole prompt on every request')
    lim = serve.add_argument_group('limits (each refused with a 4xx that says why)')
    lim.add_argument('--max-prompt-tokens', type=_positive(int), default=None,
                     help="refuse longer prompts (default: the model's context; prompt + "
                          'max_tokens must always fit it)')
    lim.add_argument('--max-request-mb', type=_positive(float), default=64.0,
                     help='largest request body (413)')
    lim.add_argument('--read-timeout', type=_positive(float), default=30.0,
                     help='seconds a request may take to arrive (408)')
    lim.add_argument('--max-queue', type=int, default=8,
                     help='requests that may wait while one runs (more: 429)')
    lim.add_argument('--max-image-mb', type=_positive(float), default=20.0,
                     help='largest encoded image (400)')
    lim.add_argument('--max-image-pixels', type=_positive(int), default=4096 * 4096,
                     help='largest decoded image, width x height (400)')
    lim.add_argument('--max-cache-mb', type=float, default=2048.0,
                     help='drop the KV cache kept between requests above this size '
                          '(0: keep none)')
    lim.add_argument('--allow-remote-images', action='store_true',
                     help='fetch http(s):// image URLs (refused by default)')
    lim.add_argument('--allowed-local-media-path', default=None, metavar='DIR',
                     help='serve file:// URLs and paths below DIR (refused by default)')
    serve.set_defaults(func=_run)
    return serve


def _run(args: argparse.Namespace) -> int:
    import sys

    from ego_reasoner_ros.training.backends.generation import GenerationSettings
    from ego_reasoner_ros.training.model_path import ModelPathError, check_model_path
    from ego_reasoner_ros.training.serve import ServeLimits, make_server

    def bad(message: str) -> int:
        print(f'error: {message}', file=sys.stderr)
        return 2

    try:
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
        limits = ServeLimits(
            max_prompt_tokens=args.max_prompt_tokens,
            max_request_bytes=int(args.max_request_mb * 1024 * 1024),
            read_timeout_s=args.read_timeout, max_queue=args.max_queue,
            max_image_bytes=int(args.max_image_mb * 1024 * 1024),
            max_image_pixels=args.max_image_pixels,
            max_cache_mb=args.max_cache_mb, allow_remote_images=args.allow_remote_images,
            local_image_dir=args.allowed_local_media_path)
        check_model_path(args.model)
    except (ModelPathError, ValueError) as exc:
        return bad(str(exc))
    try:
        server = make_server(
            args.model, host=args.host, port=args.port, model_name=args.served_model_name,
            settings=settings, reuse_prefix=not args.no_prefix_reuse, limits=limits,
            max_pixels=args.max_pixels, device=args.device, dtype=args.dtype,
            torch_threads=args.threads)
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)) or exc.errno is None:
            return bad(f'cannot load the model {args.model!r}: {exc}')
        return bad(f'cannot listen on {args.host}:{args.port}: {exc.strerror or exc}')
    except (ValueError, ImportError) as exc:
        print(f'error: cannot load the model {args.model!r}: {exc}', file=sys.stderr)
        return 1
    print(f'serving {server.model_name} at {server.base_url}', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info('interrupted')
    finally:
        server.httpd.server_close()
    return 0
