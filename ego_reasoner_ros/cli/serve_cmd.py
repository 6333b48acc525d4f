# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner serve``: an OpenAI-compatible chat-completions server over the hf backend.

    ego-reasoner serve --model runs/sft/final [--host 127.0.0.1] [--port 8000]

Then ``--policy openai:http://127.0.0.1:8000/v1#MODEL`` talks to it exactly as to
``vllm serve``. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on ``subparsers``."""
    serve = subparsers.add_parser(
        'serve', help='OpenAI-compatible /v1/chat/completions over a local VLM',
        description='Serve a Qwen2-VL-family model (path or hub id) with an OpenAI-compatible '
                    'API: POST /v1/chat/completions (image_url data URLs), GET /v1/models.')
    serve.add_argument('--model', required=True, help='model directory or hub id')
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--port', type=int, default=8000)
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
    serve.set_defaults(func=_run)
    return serve


def _run(args: argparse.Namespace) -> int:
    from ego_reasoner_ros.training.backends.hf import GenerationSettings
    from ego_reasoner_ros.training.serve import make_server

    server = make_server(
        args.model, host=args.host, port=args.port, model_name=args.served_model_name,
        settings=GenerationSettings(max_new_tokens=args.max_new_tokens),
        reuse_prefix=not args.no_prefix_reuse, max_pixels=args.max_pixels,
        device=args.device, dtype=args.dtype, torch_threads=args.threads)
    print(f'serving {server.model_name} at {server.base_url}', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info('interrupted')
    finally:
        server.httpd.server_close()
    return 0
