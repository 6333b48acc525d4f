# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""numpy <-> ``sensor_msgs/Image``, ``CameraInfo`` from a field of view, JSON <-> String.

``cv_bridge`` is used when it imports and round-trips a test image correctly; the PyPI
``cv-bridge`` (a ROS 1 port) does not, so the numpy path is the usual one here.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from ego_reasoner_ros.nodes import protocol

LOG = logging.getLogger(__name__)

_ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3), 'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4), 'bgra8': (np.dtype(np.uint8), 4),
    'mono8': (np.dtype(np.uint8), 1), 'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1), '32FC1': (np.dtype(np.float32), 1),
}


class ConversionError(ValueError):
    """An image or message has a shape, dtype or encoding that cannot be converted."""


@functools.lru_cache(maxsize=1)
def _cv_bridge() -> Any | None:
    """Return a working ``CvBridge`` or ``None`` (checked once with a round trip)."""
    try:
        from cv_bridge import CvBridge  # type: ignore[import-not-found]
        bridge = CvBridge()
        probe = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
        back = bridge.imgmsg_to_cv2(bridge.cv2_to_imgmsg(probe, 'rgb8'), 'rgb8')
        if not np.array_equal(np.asarray(back), probe):
            raise ValueError('round trip changed the image')
    except Exception as exc:  # noqa: BLE001 - any failure means: use numpy
        LOG.debug('cv_bridge not usable (%s); using numpy conversions', exc)
        return None
    return bridge


def stamp_to_ns(stamp: Time) -> int:
    """``builtin_interfaces/Time`` to integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Integer nanoseconds to ``builtin_interfaces/Time``."""
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def image_to_msg(frame: np.ndarray, *, encoding: str | None = None, stamp_ns: int = 0,
                 frame_id: str = 'camera') -> Image:
    """Build a ``sensor_msgs/Image`` from an array.

    Args:
        frame: HxWx3 uint8 (``rgb8`` by default), HxW float32 (``32FC1``) or HxW uint16/uint8.
        encoding: override the encoding guessed from the dtype and shape.
        stamp_ns: header stamp in nanoseconds.
        frame_id: header frame id.

    Raises:
        ConversionError: unsupported dtype/shape or a mismatch with ``encoding``.
    """
    arr = np.asarray(frame)
    if encoding is None:
        encoding = _guess_encoding(arr)
    if encoding not in _ENCODINGS:
        raise ConversionError(f'unsupported encoding {encoding!r}; use one of {list(_ENCODINGS)}')
    dtype, channels = _ENCODINGS[encoding]
    if arr.dtype != dtype:
        raise ConversionError(f'{encoding} needs dtype {dtype}, got {arr.dtype}')
    if (channels == 1 and arr.ndim != 2) or (channels > 1 and (arr.ndim != 3
                                                               or arr.shape[2] != channels)):
        want = f'HxWx{channels}' if channels > 1 else 'HxW'
        raise ConversionError(f'{encoding} needs shape {want}, got {arr.shape}')
    bridge = _cv_bridge()
    if bridge is not None:
        msg = bridge.cv2_to_imgmsg(np.ascontiguousarray(arr), encoding)
    else:
        msg = Image()
        msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
        msg.encoding = encoding
        msg.is_bigendian = 0
        msg.step = int(arr.shape[1] * channels * dtype.itemsize)
        msg.data = np.ascontiguousarray(arr).tobytes()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    msg.header.frame_id = frame_id
    return msg


def _guess_encoding(arr: np.ndarray) -> str:
    if arr.dtype == np.uint8:
        return {2: 'mono8', 3: {3: 'rgb8', 4: 'rgba8'}.get(arr.shape[-1], '')}.get(arr.ndim, '') \
            or _bad(arr)
    if arr.dtype == np.float32 and arr.ndim == 2:
        return '32FC1'
    if arr.dtype == np.uint16 and arr.ndim == 2:
        return '16UC1'
    return _bad(arr)


def _bad(arr: np.ndarray) -> str:
    raise ConversionError(f'cannot guess an image encoding for dtype {arr.dtype}, '
                          f'shape {arr.shape}')


def msg_to_image(msg: Image, *, want: str | None = 'rgb8') -> np.ndarray:
    """Read a ``sensor_msgs/Image`` into a (copied, writable) array.

    Args:
        msg: the image message.
        want: ``rgb8`` converts ``bgr8``/``rgba8``/``bgra8``/``mono8`` colour images to RGB;
            ``None`` keeps the message's own layout.

    Raises:
        ConversionError: unknown encoding or a data buffer of the wrong size.
    """
    if msg.encoding not in _ENCODINGS:
        raise ConversionError(f'unsupported encoding {msg.encoding!r}')
    dtype, channels = _ENCODINGS[msg.encoding]
    h, w = int(msg.height), int(msg.width)
    row = w * channels * dtype.itemsize
    step = int(msg.step) or row
    buf = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray,
                                                                      memoryview))
                        else msg.data, dtype=np.uint8)
    if step < row or buf.size < step * h:
        raise ConversionError(f'image data of {buf.size} bytes is too small for '
                              f'{h}x{w} {msg.encoding} (step {step})')
    rows = buf[: step * h].reshape(h, step)[:, :row]
    arr = rows.copy().view(dtype)
    if msg.is_bigendian and dtype.itemsize > 1:
        arr = arr.byteswap()
    arr = arr.reshape(h, w, channels) if channels > 1 else arr.reshape(h, w)
    if want == 'rgb8' and dtype == np.uint8:
        if msg.encoding == 'bgr8':
            arr = arr[:, :, ::-1].copy()
        elif msg.encoding in ('rgba8',):
            arr = arr[:, :, :3].copy()
        elif msg.encoding == 'bgra8':
            arr = arr[:, :, 2::-1].copy()
        elif msg.encoding == 'mono8':
            arr = np.repeat(arr[:, :, None], 3, axis=2)
    return arr


def camera_info(width: int, height: int, fov_deg: float, *, fov_axis: str = 'horizontal',
                stamp_ns: int = 0, frame_id: str = 'camera') -> CameraInfo:
    """Pinhole ``CameraInfo`` for an undistorted camera with square pixels.

    Args:
        width, height: image size in pixels.
        fov_deg: field of view in degrees along ``fov_axis`` (AI2-THOR's is vertical).
        fov_axis: ``horizontal`` or ``vertical``.

    Raises:
        ValueError: non-positive size or a field of view outside (0, 180).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'image size must be positive, got {width}x{height}')
    if not 0.0 < fov_deg < 180.0:
        raise ValueError(f'fov_deg must be in (0, 180), got {fov_deg}')
    if fov_axis not in ('horizontal', 'vertical'):
        raise ValueError(f"fov_axis must be 'horizontal' or 'vertical', got {fov_axis!r}")
    half = (width if fov_axis == 'horizontal' else height) / 2.0
    f = half / math.tan(math.radians(fov_deg) / 2.0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    info = CameraInfo()
    info.header.stamp = ns_to_stamp(stamp_ns)
    info.header.frame_id = frame_id
    info.width, info.height = int(width), int(height)
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def json_msg(kind: str, payload: dict[str, Any]) -> String:
    """Validate ``payload`` against schema ``kind`` and wrap it in ``std_msgs/String``."""
    return String(data=protocol.encode(kind, payload))


def read_json(kind: str, msg: String) -> dict[str, Any]:
    """Decode and validate a ``std_msgs/String`` (raises ``protocol.SchemaError``)."""
    return protocol.decode(kind, msg.data)
