# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The procedural generator's layout builder: one attempt's objects and free floor.

:class:`Room` places furniture against the walls (counter runs, wall units, shelves, things on
the walls) or free-standing, and small objects on or in receptacles, keeping the floor rects it
reserved so pieces do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ego_reasoner_ros.sim_bridge.navigation import GRID_STEP as GRID
from ego_reasoner_ros.sim_bridge.procedural_types import (
    CONTAINERS, DECOR, HOLDERS, ROOM_SIZE, SMALL_DIMS)
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat


@dataclass
class _Obj:
    otype: str
    bmin: np.ndarray
    bmax: np.ndarray
    on_floor: bool = False
    parent: int | None = None
    basin_of: int | None = None
    controls: list[int] = field(default_factory=list)
    yaw: float = 0.0
    headroom: float = 0.6


def _rect_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float],
                  tol: float = 0.0) -> bool:
    """Axis-aligned rectangles ``(x0, z0, x1, z1)`` overlap by more than ``tol``."""
    return (min(a[2], b[2]) - max(a[0], b[0]) > tol) and (min(a[3], b[3]) - max(a[1], b[1]) > tol)


def _grow(r: tuple[float, float, float, float], d: float) -> tuple[float, float, float, float]:
    return (r[0] - d, r[1] - d, r[2] + d, r[3] + d)


class Room:
    """Mutable state of one generation attempt."""

    def __init__(self, rng: np.random.Generator, room_type: str, compat: ReceptacleCompat):
        self.rng = rng
        self.room_type = room_type
        self.compat = compat
        lo, hi = ROOM_SIZE[room_type]
        self.w = round(float(rng.uniform(lo, hi)) / GRID) * GRID
        self.d = round(float(rng.uniform(lo, hi)) / GRID) * GRID
        self.x0, self.x1 = -self.w / 2, self.w / 2
        self.z0, self.z1 = -self.d / 2, self.d / 2
        self.height = 2.6
        self.objs: list[_Obj] = []
        # reserved floor rectangles: (footprint, keep-clear zone)
        self.blocked: list[tuple[float, float, float, float]] = []
        self.clear: list[tuple[float, float, float, float]] = []
        self.small_boxes: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, otype: str, bmin: Any, bmax: Any, **kw: Any) -> int:
        self.objs.append(_Obj(otype, np.asarray(bmin, float), np.asarray(bmax, float), **kw))
        return len(self.objs) - 1

    # -- wall frames: wall 0 z=z0 (faces +z), 1 x=x1 (faces -x), 2 z=z1 (-z), 3 x=x0 (+x)
    def wall_length(self, wall: int) -> float:
        return self.w if wall in (0, 2) else self.d

    def wall_rect(self, wall: int, s0: float, s1: float, t0: float, t1: float
                  ) -> tuple[float, float, float, float]:
        """Floor rect from along-wall range [s0, s1] and depth range [t0, t1] off the wall."""
        if wall == 0:
            return (self.x0 + s0, self.z0 + t0, self.x0 + s1, self.z0 + t1)
        if wall == 2:
            return (self.x1 - s1, self.z1 - t1, self.x1 - s0, self.z1 - t0)
        if wall == 1:
            return (self.x1 - t1, self.z0 + s0, self.x1 - t0, self.z0 + s1)
        return (self.x0 + t0, self.z1 - s1, self.x0 + t1, self.z1 - s0)

    @staticmethod
    def wall_yaw(wall: int) -> float:
        return (0.0, 270.0, 180.0, 90.0)[wall]

    def free(self, rect: tuple[float, float, float, float],
             zone: tuple[float, float, float, float]) -> bool:
        if rect[0] < self.x0 - 1e-6 or rect[2] > self.x1 + 1e-6 or rect[1] < self.z0 - 1e-6 \
                or rect[3] > self.z1 + 1e-6:
            return False
        if any(_rect_overlap(rect, b, 0.0) for b in self.blocked):
            return False
        if any(_rect_overlap(rect, c, 0.0) for c in self.clear):
            return False
        return not any(_rect_overlap(zone, b, 0.0) for b in self.blocked)

    def reserve(self, rect: tuple[float, float, float, float],
                zone: tuple[float, float, float, float]) -> None:
        self.blocked.append(rect)
        self.clear.append(zone)

    def place_on_wall(self, width: float, depth: float, clearance: float = 0.8,
                      walls: tuple[int, ...] = (0, 1, 2, 3), tries: int = 40
                      ) -> tuple[int, float, tuple[float, float, float, float]] | None:
        """Find a free spot along a wall; returns (wall, along-offset, rect)."""
        for _ in range(tries):
            wall = int(self.rng.choice(walls))
            length = self.wall_length(wall)
            if width > length:
                continue
            s0 = round(float(self.rng.uniform(0.0, length - width)) / 0.05) * 0.05
            rect = self.wall_rect(wall, s0, s0 + width, 0.0, depth)
            zone = self.wall_rect(wall, s0 - 0.05, s0 + width + 0.05, depth, depth + clearance)
            if self.free(rect, zone):
                self.reserve(rect, zone)
                return wall, s0, rect
        return None

    def place_free(self, sx: float, sz: float, clearance: float, tries: int = 60
                   ) -> tuple[float, float, float, float] | None:
        margin = clearance + 0.3
        if self.w - 2 * margin < sx or self.d - 2 * margin < sz:
            return None
        for _ in range(tries):
            cx = float(self.rng.uniform(self.x0 + margin + sx / 2, self.x1 - margin - sx / 2))
            cz = float(self.rng.uniform(self.z0 + margin + sz / 2, self.z1 - margin - sz / 2))
            rect = (cx - sx / 2, cz - sz / 2, cx + sx / 2, cz + sz / 2)
            zone = _grow(rect, clearance)
            if self.free(rect, zone) and not any(_rect_overlap(zone, c) for c in self.clear):
                self.reserve(rect, zone)
                return rect
        return None

    # -------------------------------------------------------------- furniture helpers
    def furniture(self, otype: str, rect: tuple[float, float, float, float], y0: float,
                  y1: float, yaw: float = 0.0, on_floor: bool = True, **kw: Any) -> int:
        return self.add(otype, (rect[0], y0, rect[1]), (rect[2], y1, rect[3]),
                        on_floor=on_floor, yaw=yaw, **kw)

    def counter_run(self, units: list[str], unit_w: list[float], depth: float = 0.62,
                    uppers: bool = True, walls: tuple[int, ...] = (0, 1, 2, 3)) -> bool:
        """A counter along a wall: cabinets/drawers below, a top slab, sink and stove units."""
        total = sum(unit_w)
        spot = self.place_on_wall(total, depth, clearance=0.9, walls=walls)
        if spot is None:
            return False
        wall, s0, _rect = spot
        yaw = self.wall_yaw(wall)
        top0, top1 = 0.90, 0.94
        s = s0
        slab_start: float | None = None
        for kind, uw in zip(units, unit_w):
            a, b = s, s + uw
            body = self.wall_rect(wall, a + 0.01, b - 0.01, 0.0, depth - 0.03)
            if kind == 'sink':
                if slab_start is not None:
                    self.furniture('CounterTop', self.wall_rect(wall, slab_start, a, 0.0, depth),
                                   top0, top1, yaw, on_floor=False)
                    slab_start = None
                self.furniture('Cabinet', body, 0.05, 0.58, yaw, on_floor=False)
                sink_rect = self.wall_rect(wall, a, b, 0.0, depth)
                sink = self.furniture('Sink', sink_rect, 0.60, top1, yaw, on_floor=False)
                basin = self.wall_rect(wall, a + 0.07, b - 0.07, 0.14, depth - 0.06)
                self.furniture('SinkBasin', basin, 0.70, top1 - 0.01, yaw, on_floor=False,
                               basin_of=sink)
                mid = (a + b) / 2
                self.furniture('Faucet', self.wall_rect(wall, mid - 0.05, mid + 0.05, 0.02, 0.12),
                               top1, top1 + 0.28, yaw, on_floor=False)
            else:
                if slab_start is None:
                    slab_start = a
                if kind == 'drawers':
                    levels = [(0.05, 0.32), (0.33, 0.60), (0.61, 0.88)]
                    for ly0, ly1 in levels:
                        self.furniture('Drawer', body, ly0, ly1, yaw, on_floor=False)
                else:
                    self.furniture('Cabinet', body, 0.05, 0.88, yaw, on_floor=False)
                if kind == 'stove':
                    burners = []
                    for i, j in ((0, 0), (1, 0), (0, 1), (1, 1)):
                        bs = a + 0.06 + i * (uw - 0.12) / 2
                        bt = 0.08 + j * 0.25
                        r = self.wall_rect(wall, bs + 0.02, bs + (uw - 0.12) / 2 - 0.02,
                                           bt, bt + 0.2)
                        burners.append(self.furniture('StoveBurner', r, top1, top1 + 0.02, yaw,
                                                      on_floor=False, headroom=0.5))
                    for i, burner in enumerate(burners):
                        ks = a + 0.08 + i * (uw - 0.16) / 4
                        r = self.wall_rect(wall, ks, ks + 0.05, depth, depth + 0.04)
                        self.furniture('StoveKnob', r, 0.80, 0.86, yaw, on_floor=False,
                                       controls=[burner])
            if uppers and kind != 'stove' and self.rng.random() < 0.6:
                self.furniture('Cabinet', self.wall_rect(wall, a + 0.01, b - 0.01, 0.0, 0.35),
                               1.50, 2.20, yaw, on_floor=False)
            s = b
        if slab_start is not None:
            self.furniture('CounterTop', self.wall_rect(wall, slab_start, s, 0.0, depth),
                           top0, top1, yaw, on_floor=False)
        return True

    def wall_unit(self, otype: str, width: float, depth: float, height: float,
                  clearance: float = 0.8, **kw: Any) -> int | None:
        spot = self.place_on_wall(width, depth, clearance)
        if spot is None:
            return None
        wall, _s0, rect = spot
        return self.furniture(otype, rect, 0.0, height, self.wall_yaw(wall), **kw)

    def wall_unit_with(self, otype: str, width: float, depth: float, height: float,
                       drawers: int, clearance: float = 0.8) -> int | None:
        """Floor furniture with drawer fronts protruding 2 cm from its face."""
        spot = self.place_on_wall(width, depth + 0.02, clearance)
        if spot is None:
            return None
        wall, s0, _rect = spot
        yaw = self.wall_yaw(wall)
        idx = self.furniture(otype, self.wall_rect(wall, s0, s0 + width, 0.0, depth), 0.0,
                             height, yaw)
        cols = 2 if width > 0.9 and drawers >= 4 else 1
        rows = max(1, drawers // cols)
        dh = (height - 0.12) / rows
        dw = width / cols
        for c in range(cols):
            for r in range(rows):
                rect = self.wall_rect(wall, s0 + c * dw + 0.03, s0 + (c + 1) * dw - 0.03, 0.04,
                                      depth + 0.02)
                self.furniture('Drawer', rect, 0.06 + r * dh + 0.01, 0.06 + (r + 1) * dh - 0.01,
                               yaw, on_floor=False)
        return idx

    def shelves(self, width: float, depth: float, levels: list[float]) -> bool:
        spot = self.place_on_wall(width, depth, clearance=0.8)
        if spot is None:
            return False
        wall, s0, _rect = spot
        yaw = self.wall_yaw(wall)
        self.furniture('ShelvingUnit', self.wall_rect(wall, s0, s0 + width, 0.0, 0.04), 0.0,
                       levels[-1] + 0.05, yaw)
        for i, y in enumerate(levels):
            head = (levels[i + 1] - y - 0.06) if i + 1 < len(levels) else 0.45
            self.furniture('Shelf', self.wall_rect(wall, s0, s0 + width, 0.04, depth), y,
                           y + 0.03, yaw, on_floor=False, headroom=head)
        return True

    def on_wall(self, otype: str, width: float, y0: float, y1: float, thick: float = 0.04
                ) -> int | None:
        """A wall-mounted object; non-decor ones keep the floor in front of them free."""
        decor = otype in DECOR
        for _ in range(40):
            wall = int(self.rng.integers(4))
            length = self.wall_length(wall)
            if length < width + 0.4:
                continue
            s0 = float(self.rng.uniform(0.2, length - width - 0.2))
            rect = self.wall_rect(wall, s0, s0 + width, 0.0, thick)
            zone = self.wall_rect(wall, s0, s0 + width, 0.0, thick + 0.5)
            if decor or not any(_rect_overlap(zone, b) for b in self.blocked):
                return self.furniture(otype, rect, y0, y1, self.wall_yaw(wall), on_floor=False)
        return None

    def on_top(self, otype: str, host: int, sx: float, sz: float, h: float,
               back: bool = True) -> int | None:
        """A fixed (non-pickupable) object standing on ``host``'s top surface."""
        spot = self._spot_on(host, sx, sz, h, container=False, prefer_back=back)
        if spot is None:
            return None
        lo, hi = spot
        idx = self.add(otype, lo, hi, parent=host)
        self.small_boxes.setdefault(host, []).append((lo, hi))
        return idx

    # ---------------------------------------------------------------- small objects
    def _spot_on(self, host: int, sx: float, sz: float, h: float, container: bool,
                 prefer_back: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        o = self.objs[host]
        rng = self.rng
        inset = 0.03
        x0, x1 = o.bmin[0] + inset, o.bmax[0] - inset
        z0, z1 = o.bmin[2] + inset, o.bmax[2] - inset
        if container:
            inner = o.bmax[1] - o.bmin[1] - 0.04
            if h > inner:
                return None
            levels = [o.bmin[1] + 0.02]
            if o.otype == 'Fridge':
                levels = [o.bmin[1] + y for y in (0.05, 0.45, 0.85, 1.25) if y + h < inner]
        else:
            if h > o.headroom:
                return None
            levels = [o.bmax[1]]
        if x1 - x0 < sx or z1 - z0 < sz:
            return None
        placed = self.small_boxes.get(host, [])
        for _ in range(25):
            cx = float(rng.uniform(x0 + sx / 2, x1 - sx / 2))
            cz = float(rng.uniform(z0 + sz / 2, z1 - sz / 2))
            if prefer_back:  # push appliances toward the wall the host stands against
                yaw = int(o.yaw) % 360
                if yaw == 0:
                    cz = z0 + sz / 2
                elif yaw == 180:
                    cz = z1 - sz / 2
                elif yaw == 90:
                    cx = x0 + sx / 2
                else:
                    cx = x1 - sx / 2
            y = float(levels[int(rng.integers(len(levels)))])
            lo = np.array([cx - sx / 2, y, cz - sz / 2])
            hi = np.array([cx + sx / 2, y + h, cz + sz / 2])
            if all(np.any(hi <= plo + 0.005) or np.any(lo >= phi - 0.005) for plo, phi in placed):
                return lo, hi
        return None

    def place_small(self, otype: str, hosts: list[int]) -> int | None:
        a, b, h = SMALL_DIMS[otype]
        if self.rng.random() < 0.5:
            a, b = b, a
        order = [hosts[i] for i in self.rng.permutation(len(hosts))]
        for host in order:
            htype = self.objs[host].otype
            if htype in HOLDERS:
                spot = self._spot_hanging(host, a, b, h)
            else:
                spot = self._spot_on(host, a, b, h, container=htype in CONTAINERS)
            if spot is None:
                continue
            lo, hi = spot
            self.small_boxes.setdefault(host, []).append((lo, hi))
            return self.add(otype, lo, hi, parent=host)
        return None

    def _spot_hanging(self, host: int, a: float, b: float, h: float
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        if self.small_boxes.get(host):
            return None
        o = self.objs[host]
        c = (o.bmin + o.bmax) / 2
        size = o.bmax - o.bmin
        # hang along the holder's long horizontal axis, top level with the holder's top
        if size[0] >= size[2]:
            half = np.array([min(a, size[0]) / 2, 0.0, min(b, 0.05) / 2])
        else:
            half = np.array([min(b, 0.05) / 2, 0.0, min(a, size[2]) / 2])
        lo = np.array([c[0] - half[0], o.bmax[1] - h, c[2] - half[2]])
        hi = np.array([c[0] + half[0], o.bmax[1], c[2] + half[2]])
        return lo, hi
