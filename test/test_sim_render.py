# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Tests of the box renderer, colours and image helpers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ego_reasoner_ros.sim_bridge.colors import palette_types, type_color
from ego_reasoner_ros.sim_bridge.render import (
    BoxRenderer, CameraPose, boxes_from_objects, compose_observe, write_png)

W = H = 128


def _render(boxes, pose, **kw):
    mins = np.array([b[0] for b in boxes], float)
    maxs = np.array([b[1] for b in boxes], float)
    cols = np.array([type_color(t) for t in ('Apple', 'Fridge', 'Sofa', 'Bed')][:len(boxes)],
                    np.uint8)
    ids = np.arange(len(boxes), dtype=np.int32) + 10
    return BoxRenderer().render(mins, maxs, cols, ids, pose, kw.pop('w', W), kw.pop('h', H),
                                want_mask=True, want_depth=True, **kw)


ORIGIN = CameraPose((0.0, 1.0, 0.0), 0.0, 0.0)


def test_single_box_at_image_centre():
    res = _render([((-0.2, 0.8, 1.8), (0.2, 1.2, 2.2))], ORIGIN)
    assert res.rgb.shape == (H, W, 3) and res.rgb.dtype == np.uint8
    assert res.instance_mask[H // 2, W // 2] == 10
    assert res.instance_mask[0, 0] == -1
    # near face at z = 1.8: depth of the centre pixel
    assert res.depth[H // 2, W // 2] == pytest.approx(1.8, rel=0.01)
    assert res.depth[0, 0] == 0.0


def test_box_behind_another_is_hidden():
    near = ((-0.5, 0.5, 1.5), (0.5, 1.5, 1.6))
    far = ((-0.2, 0.8, 3.0), (0.2, 1.2, 3.4))
    res = _render([near, far], ORIGIN)
    assert not np.any(res.instance_mask == 11)
    res = _render([far, near], ORIGIN)  # drawing order must not matter
    assert not np.any(res.instance_mask == 10)
    assert res.instance_mask[H // 2, W // 2] == 11


def test_interpenetrating_boxes_show_nearer_surface():
    fridge = ((-0.4, 0.0, 2.0), (0.4, 2.0, 2.8))
    apple = ((0.1, 0.9, 1.7), (0.3, 1.1, 2.2))  # pokes out of the fridge front at z = 2.0
    res = _render([apple, fridge], ORIGIN)
    mask = res.instance_mask
    assert np.any(mask == 10) and np.any(mask == 11)
    # the apple's front (z 1.7) is nearer than the fridge face (z 2.0) where they overlap
    ys, xs = np.nonzero(mask == 10)
    assert np.all(res.depth[ys, xs] < 2.0)
    fy, fx = np.nonzero(mask == 11)
    assert np.allclose(res.depth[fy, fx], 2.0, rtol=0.01)
    # inside a hollow (open) fridge the apple is visible even where it does not poke out
    inner = ((-0.2, 0.9, 2.3), (0.0, 1.1, 2.5))
    solid = _render([inner, fridge], ORIGIN)
    assert not np.any(solid.instance_mask == 10)
    opened = _render([inner, fridge], ORIGIN, hollow=np.array([False, True]))
    assert np.any(opened.instance_mask == 10)


def test_pitch_moves_objects_vertically():
    box = [((-0.1, 0.9, 1.9), (0.1, 1.1, 2.1))]
    level = _render(box, ORIGIN).instance_mask
    down = _render(box, CameraPose((0.0, 1.0, 0.0), 0.0, 20.0)).instance_mask
    up = _render(box, CameraPose((0.0, 1.0, 0.0), 0.0, -20.0)).instance_mask
    rows = [np.nonzero(m == 10)[0].mean() for m in (level, down, up)]
    assert rows[1] < rows[0] < rows[2]  # looking down moves the object up in the image


def test_yaw_convention():
    box = [((1.8, 0.9, -0.2), (2.2, 1.1, 0.2))]  # at +x
    assert not np.any(_render(box, ORIGIN).instance_mask == 10)
    east = _render(box, CameraPose((0.0, 1.0, 0.0), 90.0)).instance_mask
    assert east[H // 2, W // 2] == 10
    # at yaw 0, +x is on the right of the image
    right = [((0.6, 0.9, 1.9), (0.8, 1.1, 2.1))]
    cols = np.nonzero(_render(right, ORIGIN).instance_mask == 10)[1]
    assert cols.min() > W // 2


def test_near_plane_clipping_with_boxes_around_camera():
    boxes = [((-3.0, 0.0, -3.0), (3.0, 0.05, 3.0)),  # floor slab under the camera
             ((-0.5, 0.5, -0.5), (0.5, 2.0, 0.5)),  # a box containing the camera
             ((-1.0, 0.0, -2.0), (1.0, 2.0, 0.02)),  # reaches just past the camera
             ((0.3, 0.0, -1.0), (0.4, 2.0, 3.0))]   # beside the camera, front and back
    for yaw in (0.0, 45.0, 180.0, 300.0):
        for pitch in (-30.0, 0.0, 60.0):
            res = _render(boxes, CameraPose((0.0, 1.0, 0.0), yaw, pitch))
            assert res.rgb.shape == (H, W, 3)
            assert np.all(np.isfinite(res.depth)) and res.depth.min() >= 0.0
            hit = res.depth > 0
            assert np.all(res.depth[hit] >= BoxRenderer().near * 0.99)
    # the box containing the camera draws nothing; the slab beside it is seen
    res = _render(boxes, CameraPose((0.0, 1.0, 0.0), 90.0, 0.0))
    assert not np.any(res.instance_mask == 11)
    assert np.any(res.instance_mask == 13)


def test_depth_of_a_plane_is_planar_depth():
    wall = [((-10.0, -10.0, 3.0), (10.0, 10.0, 3.2))]
    res = _render(wall, ORIGIN, w=160, h=120)
    assert np.all(res.instance_mask == 10)
    np.testing.assert_allclose(res.depth, 3.0, rtol=0.01)
    # pitched camera: planar depth to a floor at y = 0 grows toward the horizon
    floor = [((-20.0, -0.1, -20.0), (20.0, 0.0, 20.0))]
    res = _render(floor, CameraPose((0.0, 1.0, 0.0), 0.0, 45.0))
    assert res.depth[H - 1, W // 2] < res.depth[H // 2, W // 2]
    # centre ray hits the floor at distance sqrt(2) along the optical axis
    assert res.depth[H // 2, W // 2] == pytest.approx(2 ** 0.5, rel=0.02)


def test_vertical_fov_and_aspect():
    # a box spanning +-45 deg vertically at 1 m fills the height at fov 90 (vertical)
    box = [((-0.05, 0.0, 1.0), (0.05, 2.0, 1.5))]
    res = _render(box, ORIGIN, w=200, h=100)
    col = res.instance_mask[:, 100]
    assert np.all(col == 10)
    assert res.instance_mask[50, 0] == -1


def test_bad_inputs_raise():
    r = BoxRenderer()
    with pytest.raises(ValueError):
        r.render(np.zeros((1, 3)), np.ones((2, 3)), np.zeros((1, 3)), np.zeros(1), ORIGIN, 8, 8)
    with pytest.raises(ValueError):
        r.render(np.ones((1, 3)), np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(1), ORIGIN, 8, 8)
    with pytest.raises(ValueError):
        CameraPose((0.0, 0.0), 0.0)
    with pytest.raises(ValueError):
        CameraPose((0.0, 0.0, 0.0), 0.0, 95.0)
    empty = r.render(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), ORIGIN,
                     16, 8, want_mask=True)
    assert empty.rgb.shape == (8, 16, 3) and np.all(empty.instance_mask == -1)


def test_type_colors_are_fixed_and_distinct():
    assert type_color('Apple') == type_color('Apple')
    assert type_color('Apple') != type_color('Tomato')
    palette = [type_color(t) for t in palette_types()]
    assert len(set(palette)) == len(palette)
    odd = type_color('SomeFutureType')
    assert odd == type_color('SomeFutureType') and all(0 <= c <= 255 for c in odd)
    with pytest.raises(ValueError):
        type_color('')


def test_boxes_from_objects_and_png(tmp_path):
    objects = [
        {'objectType': 'Fridge', 'objectId': 'Fridge|1', 'isOpen': True,
         'axisAlignedBoundingBox': {'center': {'x': 0, 'y': 1, 'z': 2},
                                    'size': {'x': 0.8, 'y': 2, 'z': 0.8}}},
        {'objectType': 'Apple', 'objectId': 'Apple|1',
         'axisAlignedBoundingBox': {'center': {'x': 0, 'y': 1, 'z': 2},
                                    'size': {'x': 0.1, 'y': 0.1, 'z': 0.1}}},
    ]
    boxes = boxes_from_objects(objects)
    assert boxes.object_ids == ['Fridge|1', 'Apple|1'] and boxes.hollow.tolist() == [True, False]
    res = BoxRenderer().render(boxes.mins, boxes.maxs, boxes.colors, boxes.ids, ORIGIN, 64, 64,
                               want_mask=True, hollow=boxes.hollow)
    assert res.instance_mask[32, 32] == 1  # the apple inside the open fridge
    path = write_png(tmp_path / 'sub' / 'frame.png', res.rgb)
    back = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, res.rgb)


def test_compose_observe_layout():
    panels = [np.full((450, 800, 3), v, np.uint8) for v in (60, 120, 180)]
    comp = compose_observe(*panels)
    assert comp.shape == (450, 2410, 3)
    assert np.all(comp[:, 800:805] == 0) and np.all(comp[:, 1605:1610] == 0)
    # each panel carries a label (white/black pixels in its top-left corner)
    for x0, base in ((0, 60), (805, 120), (1610, 180)):
        corner = comp[:120, x0:x0 + 400]
        assert np.any(corner != base)
    assert np.all(comp[400:, 100] == 60)  # away from the label the panel is untouched
    with pytest.raises(ValueError):
        compose_observe(panels[0], panels[1][:100], panels[2])


def test_a_box_that_swallows_a_smaller_one_is_drawn_hollow():
    """A bed's bounds hold its pillow: solid, the bed hides it; marked enclosing, it shows."""
    from ego_reasoner_ros.sim_bridge.embedded import enclosing_boxes

    bed = ((-1.0, 0.0, 1.5), (1.0, 1.2, 3.5))
    pillow = ((-0.2, 0.5, 2.8), (0.2, 0.7, 3.2))
    lamp = ((1.5, 0.0, 2.0), (1.8, 1.0, 2.3))  # beside the bed, not inside it
    mins = np.array([bed[0], pillow[0], lamp[0]])
    maxs = np.array([bed[1], pillow[1], lamp[1]])
    assert enclosing_boxes(mins, maxs).tolist() == [True, False, False]
    # two boxes of about the same size overlapping: neither encloses the other
    assert not enclosing_boxes(np.array([bed[0], bed[0]]) + [[0, 0, 0], [0.1, 0, 0]],
                               np.array([bed[1], bed[1]])).any()
    pose = CameraPose((0.0, 1.5, 0.0), 0.0, 30.0)
    solid = _render([bed, pillow, lamp], pose)
    assert not np.any(solid.instance_mask == 11)
    hollow = _render([bed, pillow, lamp], pose, hollow=enclosing_boxes(mins, maxs))
    assert np.count_nonzero(hollow.instance_mask == 11) > 20
    assert np.any(hollow.instance_mask == 10)  # the bed's inner faces are still drawn
