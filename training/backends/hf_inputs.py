# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The engine's inputs: chat messages in block form and content keys of their images.

:func:`normalize_messages` accepts the core block format, OpenAI ``image_url`` blocks and plain
strings; :func:`image_key` keys an image by its content so the engine can tell which images of
a new prompt it has seen (and preprocessed) before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import functools
import hashlib
import os
from typing import Any

import numpy as np

from ego_reasoner_ros.core import images as imgs

def content_blocks(messages: Sequence[dict], *, convert: bool) -> tuple[list[dict], list[Any]]:
    """Messages with block content, plus the image sources in order.

    With ``convert`` the image blocks (and the returned images) are RGB PIL images, otherwise
    they keep the caller's objects (arrays, PIL images, paths, data URLs) untouched.
    """
    out: list[dict] = []
    images: list[Any] = []
    for msg in messages:
        role = msg.get('role')
        if role not in ('system', 'user', 'assistant'):
            raise ValueError(f'unsupported message role {role!r}')
        content = msg.get('content')
        if content is None:
            content = ''
        if isinstance(content, str):
            out.append({'role': role, 'content': [{'type': 'text', 'text': content}]})
            continue
        blocks = []
        for block in content:
            kind = block.get('type')
            if kind == 'text':
                blocks.append({'type': 'text', 'text': block.get('text', '')})
            elif kind in ('image', 'image_url'):
                source = block.get('image') if kind == 'image' else block.get('image_url')
                if isinstance(source, dict):
                    source = source.get('url')
                if source is None:
                    raise ValueError('image block without an image')
                if convert:
                    source = imgs.to_pil(source)
                images.append(source)
                blocks.append({'type': 'image', 'image': source})
            else:
                raise ValueError(f'unsupported content block type {kind!r}')
        out.append({'role': role, 'content': blocks})
    return out, images


def normalize_messages(messages: Sequence[dict]) -> tuple[list[dict], list[Any]]:
    """Return messages with block content and PIL image blocks, plus the images in order.

    Accepts the core block format (``image`` blocks holding arrays, PIL images, paths or
    data URLs), OpenAI ``image_url`` blocks and plain string content.
    """
    return content_blocks(messages, convert=True)


@functools.lru_cache(maxsize=1)
def _hasher() -> Callable[[Any], Any]:
    """A 128-bit content hash: xxh3 when ``xxhash`` is installed, else blake2b."""
    try:
        import xxhash
    except ImportError:
        return functools.partial(hashlib.blake2b, digest_size=16)
    return xxhash.xxh3_128


def image_key(image: Any) -> tuple:
    """A hashable key of an image source: equal keys mean equal pixels.

    Arrays and PIL images are keyed by a hash of their content (so a frame changed in place
    gets a new key), data URLs by a hash of the URL, files by path, size and mtime.

    Raises:
        FileNotFoundError: for a path that does not exist.
        TypeError: for an unsupported source type.
    """
    digest = _hasher()
    if isinstance(image, np.ndarray):
        arr = np.ascontiguousarray(image)
        return ('array', arr.shape, arr.dtype.str, digest(arr.data).digest())
    if imgs.is_pil(image):
        return ('pil', image.mode, image.size, digest(image.tobytes()).digest())
    if isinstance(image, str) and image.startswith('data:'):
        return ('url', len(image), digest(image.encode()).digest())
    if isinstance(image, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(image))
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise FileNotFoundError(f'image file not found: {path}') from exc
        return ('file', path, stat.st_size, stat.st_mtime_ns)
    raise TypeError(f'expected an ndarray, PIL image or path, got {type(image).__name__}')
