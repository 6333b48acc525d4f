# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ndarray <-> sensor_msgs/Image and CameraInfo (message classes only, no DDS)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ego_reasoner_ros.nodes.conversions import (
    ConversionError,
    camera_info,
    image_to_msg,
    msg_to_image,
    ns_to_stamp,
    stamp_to_ns,
)


def test_rgb_depth_round_trip_and_stamps():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    msg = image_to_msg(rgb, stamp_ns=1_700_000_000_123_456_789, frame_id='cam')
    assert (msg.encoding, msg.step, msg.header.frame_id) == ('rgb8', 192, 'cam')
    assert stamp_to_ns(msg.header.stamp) == 1_700_000_000_123_456_789
    assert np.array_equal(msg_to_image(msg), rgb)
    depth = rng.random((48, 64)).astype(np.float32)
    assert np.array_equal(msg_to_image(image_to_msg(depth), want=None), depth)
    assert stamp_to_ns(ns_to_stamp(5)) == 5


def test_bgr_and_padded_rows_are_read_as_rgb():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = image_to_msg(np.ascontiguousarray(rgb[:, :, ::-1]), encoding='bgr8')
    assert np.array_equal(msg_to_image(msg), rgb)
    padded = image_to_msg(rgb)
    rows = np.frombuffer(bytes(padded.data), np.uint8).reshape(2, 9)
    padded.data = np.concatenate([rows, np.zeros((2, 3), np.uint8)], axis=1).tobytes()
    padded.step = 12
    assert np.array_equal(msg_to_image(padded), rgb)


def test_bad_images_raise():
    with pytest.raises(ConversionError):
        image_to_msg(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ConversionError):
        image_to_msg(np.zeros((4, 4), np.uint8), encoding='rgb8')
    msg = image_to_msg(np.zeros((4, 4, 3), np.uint8))
    msg.height = 8
    with pytest.raises(ConversionError, match='too small'):
        msg_to_image(msg)


def test_camera_info_from_fov():
    info = camera_info(640, 480, 90.0, fov_axis='horizontal')
    assert info.k[0] == pytest.approx(320.0) and info.k[4] == pytest.approx(320.0)
    assert (info.k[2], info.k[5]) == (319.5, 239.5)
    v = camera_info(640, 480, 60.0, fov_axis='vertical')
    assert v.k[4] == pytest.approx(240.0 / math.tan(math.radians(30)))
    with pytest.raises(ValueError):
        camera_info(640, 480, 180.0)
