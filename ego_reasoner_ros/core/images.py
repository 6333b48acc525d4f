# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Image helpers shared by prompts, episode records and simulators.

Images travel through the core as ``HxWx3 uint8`` numpy arrays (RGB). Prompts also accept
PIL images and file paths, so the helpers here convert between the three forms, encode PNG
bytes and ``data:`` URLs, and build the ``observe`` composite (left | back | right).
PIL is imported lazily.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import require

#: What an image may be wherever the core accepts one.
ImageLike = Any  # np.ndarray | PIL.Image.Image | str | os.PathLike

DATA_URL_PREFIX = 'data:image/png;base64,'
OBSERVE_LABELS = ('left view', 'back view', 'right view')


def _pil_image():
    return require('PIL.Image', install='pillow', purpose='image conversion')


def is_pil(image: object) -> bool:
    """Return True for a PIL image without importing PIL when it is not loaded yet."""
    cls = type(image)
    return any(base.__module__.startswith('PIL.') and base.__name__ == 'Image'
               for base in cls.__mro__)


def to_numpy(image: ImageLike) -> np.ndarray:
    """Return ``image`` as a contiguous ``HxWx3 uint8`` RGB array.

    Accepts arrays (``HxW`` grey, ``HxWx3`` RGB, ``HxWx4`` RGBA: alpha dropped), PIL images,
    file paths and PNG ``data:`` URLs.

    Raises:
        TypeError: for an unsupported type.
        ValueError: for an array of unsupported shape or dtype.
    """
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            if np.issubdtype(arr.dtype, np.floating) and arr.size and float(arr.max()) <= 1.0:
                arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
            elif np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
                arr = np.clip(arr, 0, 255).astype(np.uint8)
            else:
                raise ValueError(f'unsupported image dtype {arr.dtype}')
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ValueError(f'expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}')
        return np.ascontiguousarray(arr[:, :, :3])
    if is_pil(image):
        return np.asarray(image.convert('RGB'), dtype=np.uint8).copy()
    if isinstance(image, str) and image.startswith('data:'):
        return decode_png(decode_data_url(image))
    if isinstance(image, (str, os.PathLike)):
        return load_png(image)
    raise TypeError(f'expected an ndarray, PIL image or path, got {type(image).__name__}')


def to_pil(image: ImageLike):
    """Return ``image`` as an RGB ``PIL.Image.Image``."""
    if is_pil(image):
        return image if image.mode == 'RGB' else image.convert('RGB')
    return _pil_image().fromarray(to_numpy(image), mode='RGB')


def encode_png(image: ImageLike, *, compress_level: int = 1) -> bytes:
    """Encode ``image`` as PNG bytes (lossless; fast compression by default)."""
    if isinstance(image, (str, os.PathLike)) and not str(image).startswith('data:') \
            and str(image).lower().endswith('.png'):
        return Path(image).read_bytes()
    buf = io.BytesIO()
    to_pil(image).save(buf, format='PNG', compress_level=compress_level)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG (or any PIL-readable) bytes to an ``HxWx3 uint8`` array."""
    with _pil_image().open(io.BytesIO(data)) as img:
        return to_numpy(img)


def save_png(image: ImageLike, path: str | os.PathLike) -> Path:
    """Write ``image`` to ``path`` as PNG and return the path."""
    path = Path(path)
    path.write_bytes(encode_png(image))
    return path


def load_png(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into an ``HxWx3 uint8`` array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image file not found: {path}')
    return decode_png(path.read_bytes())


def data_url(image: ImageLike) -> str:
    """Return ``image`` as a ``data:image/png;base64,...`` URL (returned as is if it is one)."""
    if isinstance(image, str) and image.startswith('data:'):
        return image
    return DATA_URL_PREFIX + base64.b64encode(encode_png(image)).decode('ascii')


def decode_data_url(url: str) -> bytes:
    """Return the bytes of a base64 ``data:`` URL."""
    head, sep, payload = url.partition(',')
    if not sep or not head.startswith('data:') or not head.endswith(';base64'):
        raise ValueError('expected a base64 data URL (data:<mime>;base64,<payload>)')
    return base64.b64decode(payload)


def blank_like(image: ImageLike, value: int = 0) -> np.ndarray:
    """Return a uniform image of the same size (for blanked-image ablations)."""
    arr = to_numpy(image)
    return np.full_like(arr, np.uint8(value))


def observe_composite(left: ImageLike, back: ImageLike, right: ImageLike, *,
                      border: int = 5, labels: tuple[str, str, str] | None = OBSERVE_LABELS,
                      ) -> np.ndarray:
    """Join the three ``observe`` views into one panorama ``[left | back | right]``.

    The back view gets a black ``border``-pixel strip on each side, so three 800x450 frames
    give a 2410x450 image, the shape the reference evaluator sends. Each panel is labelled in
    its top-left corner unless ``labels`` is None.

    Raises:
        ValueError: if the three views differ in height.
    """
    views = [to_numpy(v) for v in (left, back, right)]
    heights = {v.shape[0] for v in views}
    if len(heights) != 1:
        raise ValueError(f'observe views must share one height, got {sorted(heights)}')
    if border < 0:
        raise ValueError(f'border must be >= 0, got {border}')
    height = views[0].shape[0]
    strip = np.zeros((height, border, 3), dtype=np.uint8)
    panels = [views[0], np.concatenate([strip, views[1], strip], axis=1), views[2]]
    if labels is not None:
        if len(labels) != 3:
            raise ValueError('labels must name the three views')
        panels = [_label(panel, text, x=border if i == 1 else 0)
                  for i, (panel, text) in enumerate(zip(panels, labels))]
    return np.ascontiguousarray(np.concatenate(panels, axis=1))


def _label(panel: np.ndarray, text: str, *, x: int) -> np.ndarray:
    """Draw ``text`` in white on a dark box at the panel's top-left corner."""
    if not text:
        return panel
    image_mod = _pil_image()
    draw_mod = require('PIL.ImageDraw', install='pillow', purpose='observe labels')
    font_mod = require('PIL.ImageFont', install='pillow', purpose='observe labels')
    img = image_mod.fromarray(panel, mode='RGB')
    size = max(10, panel.shape[0] // 15)
    try:
        font = font_mod.load_default(size=size)
    except (TypeError, OSError, ImportError):  # bitmap-only PIL builds
        font = font_mod.load_default()
    draw = draw_mod.Draw(img)
    left, top, right, bottom = draw.textbbox((x + 4, 4), text, font=font)
    draw.rectangle((left - 3, top - 3, right + 3, bottom + 3), fill=(0, 0, 0))
    draw.text((x + 4, 4), text, fill=(255, 255, 255), font=font)
    return np.asarray(img, dtype=np.uint8).copy()
