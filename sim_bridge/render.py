# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Fast egocentric renderer of axis-aligned boxes (numpy + OpenCV only).

Every object is drawn as its axis-aligned bounding box in a fixed colour per type. Each
visible face is rasterised as a convex polygon (OpenCV) and its per-pixel depth comes
analytically from the face plane: for a plane, the inverse of the camera depth is affine
in the pixel coordinates, so one broadcast add gives the exact ``1/z`` of every pixel of
the face's bounding rectangle. A per-pixel z-buffer of ``1/z`` then resolves occlusion
exactly, including boxes that interpenetrate (an apple inside a fridge box). Faces that
cross the near plane are clipped in camera space before projection.

Conventions (AI2-THOR's, left-handed, y up):

- ``CameraPose.position`` is the camera centre in world metres.
- ``yaw_deg`` is ``rotation.y``: 0 faces +z, 90 faces +x.
- ``pitch_deg`` is ``cameraHorizon``: positive looks down.
- ``fov_deg`` is the VERTICAL field of view, like AI2-THOR's ``fieldOfView``; the horizontal
  one follows from the aspect ratio.
- ``depth`` is planar depth along the optical axis (metres), like AI2-THOR's depth frames;
  pixels that hit no box hold 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ego_reasoner_ros.sim_bridge.colors import type_color

__all__ = [
    'BoxRenderer',
    'BoxSet',
    'CameraPose',
    'RenderResult',
    'boxes_from_objects',
    'compose_observe',
    'write_png',
]

# Brightness per face direction: index = 2 * axis + (1 if the face is the max side else 0).
_SHADE = np.array([0.70, 0.84, 0.55, 1.00, 0.78, 0.92], dtype=np.float64)
_HOLLOW_SHADE = 0.72  # inner faces of open containers are darker
_GUARD = 8192.0  # polygons reaching past this many pixels are clipped in 2D first
_SUBPIX_SHIFT = 4  # fillConvexPoly fixed-point bits


@dataclass(frozen=True)
class CameraPose:
    """Camera pose in AI2-THOR coordinates (y up; yaw 0 faces +z; positive pitch looks down)."""

    position: tuple[float, float, float]
    yaw_deg: float
    pitch_deg: float = 0.0

    def __post_init__(self) -> None:
        pos = tuple(float(v) for v in self.position)
        if len(pos) != 3 or not all(math.isfinite(v) for v in pos):
            raise ValueError(f'position must be 3 finite numbers, got {self.position!r}')
        if not math.isfinite(float(self.yaw_deg)) or not math.isfinite(float(self.pitch_deg)):
            raise ValueError('yaw_deg and pitch_deg must be finite')
        if abs(float(self.pitch_deg)) >= 90.0:
            raise ValueError(f'pitch_deg must be in (-90, 90), got {self.pitch_deg}')
        object.__setattr__(self, 'position', pos)

    def basis(self) -> np.ndarray:
        """Rows ``right, up, forward`` in world coordinates, shape (3, 3)."""
        yaw = math.radians(float(self.yaw_deg))
        pitch = math.radians(float(self.pitch_deg))
        sy, cy = math.sin(yaw), math.cos(yaw)
        sp, cp = math.sin(pitch), math.cos(pitch)
        right = (cy, 0.0, -sy)
        up = (sy * sp, cp, cy * sp)
        forward = (sy * cp, -sp, cy * cp)
        return np.array([right, up, forward], dtype=np.float64)


@dataclass
class RenderResult:
    """One rendered frame."""

    rgb: np.ndarray
    depth: np.ndarray | None = None
    instance_mask: np.ndarray | None = None


def _clip_near(poly: np.ndarray, near: float) -> np.ndarray:
    """Clip a convex camera-space polygon (V, 3) to ``z >= near`` (Sutherland-Hodgman)."""
    out: list[np.ndarray] = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out, dtype=np.float64).reshape(-1, 3)


def _clip_2d(poly: np.ndarray, lo: float, hi_x: float, hi_y: float) -> np.ndarray:
    """Clip a convex 2-D polygon (V, 2) to the rectangle ``[lo, hi_x] x [lo, hi_y]``."""
    for axis, bound, keep_above in ((0, lo, True), (0, hi_x, False),
                                    (1, lo, True), (1, hi_y, False)):
        if len(poly) == 0:
            break
        out: list[np.ndarray] = []
        n = len(poly)
        for i in range(n):
            a, b = poly[i], poly[(i + 1) % n]
            a_in = a[axis] >= bound if keep_above else a[axis] <= bound
            b_in = b[axis] >= bound if keep_above else b[axis] <= bound
            if a_in:
                out.append(a)
            if a_in != b_in:
                t = (bound - a[axis]) / (b[axis] - a[axis])
                out.append(a + t * (b - a))
        poly = np.array(out, dtype=np.float64).reshape(-1, 2)
    return poly


class BoxRenderer:
    """Z-buffered rasteriser of axis-aligned boxes.

    Args:
        near: near-plane distance in metres; geometry closer than this is clipped.
        edges: darken one-pixel outlines where the visible face changes, so boxes read as 3D.
        edge_factor: brightness multiplier of outline pixels.
        floor_color: RGB of the background below the horizon.
        sky_color: RGB of the background above the horizon.
    """

    def __init__(self, near: float = 0.05, edges: bool = True, edge_factor: float = 0.6,
                 floor_color: Sequence[int] = (118, 108, 96),
                 sky_color: Sequence[int] = (200, 214, 230)) -> None:
        if not near > 0.0:
            raise ValueError(f'near must be > 0, got {near}')
        if not 0.0 <= edge_factor <= 1.0:
            raise ValueError(f'edge_factor must be in [0, 1], got {edge_factor}')
        self.near = float(near)
        self.edges = bool(edges)
        self.edge_factor = float(edge_factor)
        self.floor_color = np.array(floor_color, dtype=np.float64)
        self.sky_color = np.array(sky_color, dtype=np.float64)
        self._grid_key: tuple[int, int, float] | None = None
        self._xn = self._yn = np.zeros(0, np.float32)
        self._focal = 1.0
        self._bg_key: tuple[int, int, float, float] | None = None
        self._bg = np.zeros((0, 3), np.uint8)
        self._row_index = np.zeros((0, 0), np.int32)
        self._buffers: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ helpers
    def _scratch(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """A reusable work buffer (fresh large allocations cost page faults every frame)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            self._buffers[name] = buf
        return buf

    def _grid(self, width: int, height: int, fov_deg: float) -> None:
        key = (width, height, fov_deg)
        if key == self._grid_key:
            return
        focal = (height / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
        self._focal = focal
        self._xn = ((np.arange(width) + 0.5 - width / 2.0) / focal).astype(np.float32)
        self._yn = (-(np.arange(height) + 0.5 - height / 2.0) / focal).astype(np.float32)
        self._row_index = np.repeat(np.arange(height, dtype=np.int32)[:, None], width, 1)
        self._grid_key = key

    def _background(self, width: int, height: int, fov_deg: float, pitch: float) -> np.ndarray:
        """Per-row (H, 3) background colours: floor below the horizon, sky above."""
        key = (width, height, fov_deg, pitch)
        if key == self._bg_key:
            return self._bg
        p = math.radians(pitch)
        # world-y component of each row's ray (no roll, so it does not depend on the column)
        ray_y = self._yn.astype(np.float64) * math.cos(p) - math.sin(p)
        ray_len = np.sqrt(1.0 + self._yn.astype(np.float64) ** 2)
        elev = ray_y / ray_len  # sine of the elevation angle
        t = np.clip(np.abs(elev) * 1.6, 0.0, 1.0)[:, None]
        floor = self.floor_color * (1.0 - 0.35 * t) + 20.0 * (1.0 - t)
        sky = self.sky_color * (1.0 - 0.25 * t) + np.array([25.0, 20.0, 10.0]) * (1.0 - t)
        rows = np.where((elev < 0.0)[:, None], floor, sky)
        self._bg = np.clip(rows, 0, 255).astype(np.uint8)
        self._bg_key = key
        return self._bg

    # ------------------------------------------------------------------ main entry
    def render(self, boxes_min: np.ndarray, boxes_max: np.ndarray, colors: np.ndarray,
               ids: np.ndarray, pose: CameraPose, width: int, height: int,
               fov_deg: float = 90.0, want_depth: bool = False, want_mask: bool = False,
               hollow: np.ndarray | None = None) -> RenderResult:
        """Render boxes seen from ``pose``.

        Args:
            boxes_min: (N, 3) minimum corners, world metres.
            boxes_max: (N, 3) maximum corners.
            colors: (N, 3) uint8 base colours.
            ids: (N,) int32 instance ids written to the instance mask.
            pose: camera pose.
            width: image width in pixels.
            height: image height in pixels.
            fov_deg: VERTICAL field of view in degrees (AI2-THOR ``fieldOfView``).
            want_depth: also return planar depth (metres, 0.0 where nothing is hit).
            want_mask: also return the instance mask (-1 where nothing is hit).
            hollow: optional (N,) bool; a hollow box (an open container) draws its inner
                faces instead of its outer ones, so what sits inside it stays visible.
                A solid box that contains the camera draws nothing.
        """
        width, height = int(width), int(height)
        if width <= 0 or height <= 0:
            raise ValueError(f'image size must be positive, got {width}x{height}')
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f'fov_deg must be in (0, 180), got {fov_deg}')
        bmin = np.asarray(boxes_min, dtype=np.float64).reshape(-1, 3)
        bmax = np.asarray(boxes_max, dtype=np.float64).reshape(-1, 3)
        n = len(bmin)
        cols = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
        idv = np.asarray(ids).reshape(-1).astype(np.int32)
        hol = (np.zeros(n, bool) if hollow is None
               else np.asarray(hollow, dtype=bool).reshape(-1))
        if not (len(bmax) == len(cols) == len(idv) == len(hol) == n):
            raise ValueError('boxes_min, boxes_max, colors, ids (and hollow) need the same N')
        if n and np.any(bmax < bmin):
            raise ValueError('boxes_max must be >= boxes_min on every axis')

        self._grid(width, height, float(fov_deg))
        bg_rows = self._background(width, height, float(fov_deg), float(pose.pitch_deg))
        zbuf = self._scratch('zbuf', (height, width), np.float32)
        zbuf.fill(0.0)  # inverse depth; 0 = nothing
        # colour-table index per pixel: background pixels of row i hold i, face k holds H + k
        fbuf = self._scratch('fbuf', (height, width), np.int32)
        np.copyto(fbuf, self._row_index)

        faces = self._visible_faces(bmin, bmax, hol, pose, width, height, float(fov_deg))
        if faces is None:
            face_colors = np.zeros((0, 3), np.uint8)
            face_ids = np.zeros(0, np.int32)
        else:
            box_idx, axis, side, cam_corners, planes = faces
            shade = _SHADE[2 * axis + side] * np.where(hol[box_idx], _HOLLOW_SHADE, 1.0)
            face_colors = np.clip(cols[box_idx] * shade[:, None], 0, 255).astype(np.uint8)
            face_ids = idv[box_idx]
            self._rasterise(cam_corners, planes, zbuf, fbuf, width, height)

        mask = None
        if want_mask:
            lut = np.concatenate([np.full(height, -1, np.int32), face_ids.astype(np.int32)])
            mask = lut.take(fbuf, mode='wrap')
        rgb = self._compose_rgb(fbuf, face_colors, bg_rows)
        depth = None
        if want_depth:
            depth = np.zeros((height, width), np.float32)
            hit = zbuf > 0.0
            np.divide(1.0, zbuf, out=depth, where=hit)
        return RenderResult(rgb=rgb, depth=depth, instance_mask=mask)

    def _visible_faces(self, bmin: np.ndarray, bmax: np.ndarray, hol: np.ndarray,
                       pose: CameraPose, width: int, height: int, fov_deg: float
                       ) -> tuple[np.ndarray, ...] | None:
        """Cull boxes against the frustum and list the faces to draw, in camera space."""
        if len(bmin) == 0:
            return None
        rot = pose.basis()
        cam = np.array(pose.position, dtype=np.float64)
        ty = math.tan(math.radians(fov_deg) / 2.0) * 1.02
        tx = ty * width / height
        # the 8 corners of every box, camera space: (N, 8, 3)
        sel = np.array([[(c >> k) & 1 for k in range(3)] for c in range(8)], dtype=bool)
        corners = np.where(sel[None], bmax[:, None, :], bmin[:, None, :])
        cc = (corners - cam) @ rot.T
        x, y, z = cc[..., 0], cc[..., 1], cc[..., 2]
        out = ((z < self.near).all(1) | (x > tx * z).all(1) | (-x > tx * z).all(1)
               | (y > ty * z).all(1) | (-y > ty * z).all(1))
        keep = np.flatnonzero(~out)
        if len(keep) == 0:
            return None
        kmin, kmax, khol = bmin[keep], bmax[keep], hol[keep][:, None]
        below, above = cam < kmin, cam > kmax
        # solid: the outer face on the camera's side; hollow: inner faces the camera sees
        lo_vis = np.where(khol, cam > kmin, below)
        hi_vis = np.where(khol, cam < kmax, above)
        bi_lo, ax_lo = np.nonzero(lo_vis)
        bi_hi, ax_hi = np.nonzero(hi_vis)
        bi = np.concatenate([bi_lo, bi_hi])
        ax = np.concatenate([ax_lo, ax_hi])
        side = np.concatenate([np.zeros(len(bi_lo), np.int64), np.ones(len(bi_hi), np.int64)])
        if len(bi) == 0:
            return None
        fmin, fmax = kmin[bi], kmax[bi]
        plane_val = np.where(side == 1, fmax[np.arange(len(bi)), ax], fmin[np.arange(len(bi)), ax])
        # the two in-plane axes of each face and its 4 corners in order around the rectangle
        ax_b = (ax + 1) % 3
        ax_c = (ax + 2) % 3
        rows = np.arange(len(bi))
        b0, b1 = fmin[rows, ax_b], fmax[rows, ax_b]
        c0, c1 = fmin[rows, ax_c], fmax[rows, ax_c]
        quad = np.empty((len(bi), 4, 3), np.float64)
        quad[rows, :, ax] = plane_val[:, None]
        quad[rows[:, None], np.arange(4)[None], ax_b[:, None]] = np.stack([b0, b1, b1, b0], 1)
        quad[rows[:, None], np.arange(4)[None], ax_c[:, None]] = np.stack([c0, c0, c1, c1], 1)
        cam_quad = (quad - cam) @ rot.T
        # inverse-depth plane coefficients: 1/z = (n0*xn + n1*yn + n2) / d
        normal_cam = rot[:, ax].T  # (F, 3): world axis in camera coordinates
        dist = plane_val - cam[ax]
        ok = np.abs(dist) > 1e-9
        planes = np.zeros((len(bi), 3), np.float64)
        planes[ok] = normal_cam[ok] / dist[ok, None]
        order = np.flatnonzero(ok)
        return keep[bi][order], ax[order], side[order], cam_quad[order], planes[order]

    def _rasterise(self, cam_quads: np.ndarray, planes: np.ndarray, zbuf: np.ndarray,
                   fbuf: np.ndarray, width: int, height: int) -> None:
        """Scan-convert every face polygon with a per-pixel inverse-depth test."""
        focal = self._focal
        cx, cy = width / 2.0, height / 2.0
        near = self.near
        xn, yn = self._xn, self._yn
        z = cam_quads[..., 2]
        all_in = (z >= near).all(1)
        safe_z = np.where(all_in[:, None], z, 1.0)
        uv_all = np.stack([cx + focal * cam_quads[..., 0] / safe_z,
                           cy - focal * cam_quads[..., 1] / safe_z], -1)
        scale = float(1 << _SUBPIX_SHIFT)
        # bounding rectangles of the unclipped faces, all at once
        lo = np.floor(uv_all.min(1)).clip(-1e9, 1e9).astype(np.int64)
        hi = np.ceil(uv_all.max(1)).clip(-1e9, 1e9).astype(np.int64) + 1
        rects = np.stack([lo[:, 0].clip(0, width), hi[:, 0].clip(0, width),
                          lo[:, 1].clip(0, height), hi[:, 1].clip(0, height)], 1)
        far_out = ((uv_all < -_GUARD).any((1, 2)) | (uv_all[..., 0] > width + _GUARD).any(1)
                   | (uv_all[..., 1] > height + _GUARD).any(1))
        plane_rows = planes.astype(np.float32).tolist()
        for k, (x0, x1, y0, y1) in enumerate(rects.tolist()):
            if all_in[k]:
                if x0 >= x1 or y0 >= y1:
                    continue
                uv = uv_all[k]
                if far_out[k]:
                    uv = _clip_2d(uv, -16.0, width + 16.0, height + 16.0)
            else:
                poly = _clip_near(cam_quads[k], near)
                if len(poly) < 3:
                    continue
                uv = np.stack([cx + focal * poly[:, 0] / poly[:, 2],
                               cy - focal * poly[:, 1] / poly[:, 2]], -1)
                uv = _clip_2d(uv, -16.0, width + 16.0, height + 16.0)
                if len(uv) < 3:
                    continue
                x0 = max(0, int(math.floor(uv[:, 0].min())))
                x1 = min(width, int(math.ceil(uv[:, 0].max())) + 1)
                y0 = max(0, int(math.floor(uv[:, 1].min())))
                y1 = min(height, int(math.ceil(uv[:, 1].max())) + 1)
                if x0 >= x1 or y0 >= y1:
                    continue
            pts = np.rint((uv - (x0 + 0.5, y0 + 0.5)) * scale).astype(np.int32)
            cover = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillConvexPoly(cover, pts, 1, cv2.LINE_8, _SUBPIX_SHIFT)
            p0, p1, p2 = plane_rows[k]
            inv = (p1 * yn[y0:y1])[:, None] + (p0 * xn[x0:x1] + p2)
            zsub = zbuf[y0:y1, x0:x1]
            upd = inv > zsub
            upd &= cover.view(bool)
            np.copyto(zsub, inv, where=upd)
            np.copyto(fbuf[y0:y1, x0:x1], height + k, where=upd)

    def _compose_rgb(self, fbuf: np.ndarray, face_colors: np.ndarray,
                     bg_rows: np.ndarray) -> np.ndarray:
        """Look colours up in one packed table (background rows, faces, darkened copies)."""
        height, width = fbuf.shape
        table = np.concatenate([bg_rows, face_colors], 0)
        size = len(table)
        if self.edges and len(face_colors):
            key = self._scratch('key', fbuf.shape, np.int32)
            np.maximum(fbuf, height - 1, out=key)  # every background pixel alike
            edge = self._scratch('edge', fbuf.shape, np.bool_)
            edge[:, 0] = False
            np.not_equal(key[:, 1:], key[:, :-1], out=edge[:, 1:])
            down = self._scratch('down', (height - 1, width), np.bool_)
            np.not_equal(key[1:], key[:-1], out=down)
            edge[:-1] |= down
            np.add(fbuf, size, out=fbuf, where=edge)
            table = np.concatenate([table, (table * self.edge_factor).astype(np.uint8)], 0)
        packed = np.zeros((len(table), 4), np.uint8)
        packed[:, :3] = table
        rgba = self._scratch('rgba', fbuf.shape, np.uint32)
        np.take(packed.view(np.uint32).reshape(-1), fbuf, out=rgba, mode='wrap')
        return cv2.cvtColor(rgba.view(np.uint8).reshape(height, width, 4), cv2.COLOR_RGBA2RGB)


# ---------------------------------------------------------------------- scene helpers
@dataclass
class BoxSet:
    """Renderer input built from object dicts; ``ids[i]`` indexes ``object_ids``."""

    mins: np.ndarray
    maxs: np.ndarray
    colors: np.ndarray
    ids: np.ndarray
    object_ids: list[str]
    hollow: np.ndarray


def boxes_from_objects(objects: Iterable[Mapping[str, Any]], exclude_types: Iterable[str] = (),
                       hollow_types: Iterable[str] = ()) -> BoxSet:
    """Boxes of AI2-THOR object dicts (``axisAlignedBoundingBox`` center/size).

    Objects whose type is in ``hollow_types``, or that are open (``isOpen``), are marked
    hollow so their contents show. The instance id of object ``i`` is ``i``.
    """
    skip = set(exclude_types)
    hollow_set = set(hollow_types)
    mins, maxs, cols, oids, hol = [], [], [], [], []
    for obj in objects:
        otype = obj.get('objectType', '')
        if otype in skip:
            continue
        box = obj.get('axisAlignedBoundingBox') or {}
        center, size = box.get('center'), box.get('size')
        if not center or not size:
            continue
        c = np.array([center['x'], center['y'], center['z']], dtype=np.float64)
        s = np.abs(np.array([size['x'], size['y'], size['z']], dtype=np.float64))
        mins.append(c - s / 2.0)
        maxs.append(c + s / 2.0)
        cols.append(type_color(otype))
        oids.append(str(obj.get('objectId', otype)))
        hol.append(otype in hollow_set or bool(obj.get('isOpen')))
    count = len(oids)
    return BoxSet(np.array(mins, np.float64).reshape(count, 3),
                  np.array(maxs, np.float64).reshape(count, 3),
                  np.array(cols, np.uint8).reshape(count, 3),
                  np.arange(count, dtype=np.int32), oids, np.array(hol, bool).reshape(count))


# ---------------------------------------------------------------------- image helpers
_LABELS = ('left view', 'back view', 'right view')


def _label(img: np.ndarray, text: str) -> None:
    scale = 3.0 * img.shape[0] / 450.0  # the reference uses scale 3 on 450-px-high frames
    thick = max(1, round(2 * scale))
    (_tw, th), _base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = (max(2, round(10 * scale / 3)), min(img.shape[0] - 2, th + round(10 * scale / 3)))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2,
                cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)


def compose_observe(left: np.ndarray, back: np.ndarray, right: np.ndarray,
                    border: int = 5) -> np.ndarray:
    """The ``observe`` composite: [left | border back border | right], each panel labelled.

    Matches the reference layout (three 800x450 frames give a 2410x450 image); the
    label font scale is 3 at 450 px height and scales with the panel height.
    """
    panels = [np.asarray(p) for p in (left, back, right)]
    for p in panels:
        if p.ndim != 3 or p.shape[2] != 3 or p.dtype != np.uint8:
            raise ValueError(f'panels must be HxWx3 uint8 arrays, got {p.shape} {p.dtype}')
    height = panels[0].shape[0]
    if any(p.shape[0] != height for p in panels):
        raise ValueError('panels must share the same height')
    if border < 0:
        raise ValueError(f'border must be >= 0, got {border}')
    labelled = []
    for img, text in zip(panels, _LABELS):
        img = img.copy()
        _label(img, text)
        labelled.append(img)
    bar = np.zeros((height, border, 3), np.uint8)
    return np.concatenate([labelled[0], bar, labelled[1], bar, labelled[2]], axis=1)


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write an HxWx3 uint8 RGB (or HxW grey) image as PNG, creating parent folders."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f'expected HxWx3 or HxW uint8, got {arr.shape} {arr.dtype}')
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    bgr = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(out), bgr):
        raise OSError(f'could not write PNG to {out}')
    return out
