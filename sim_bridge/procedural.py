# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Procedural AI2-THOR-style rooms: kitchens, living rooms, bedrooms and bathrooms.

``generate_scene(seed, room_type)`` returns an AI2-THOR ``event.metadata`` dict with the
same keys as the public ``metadata.json`` files (which hold it as a one-element list):
``objects[]`` with AI2-THOR ids (``Type|+xx.xx|+yy.yy|+zz.zz``, basins as
``Sink|...|SinkBasin``), boxes, containment both ways, the state flags, ``sceneBounds``,
``agent`` and ``sceneName`` (``Procedural_kitchen_0007``).

Layout: a wall-less floor box; furniture against the walls (counter runs with cabinets,
drawers, sink and stove; fridge; sofa; bed; dresser; toilet; bathtub ...) and free-standing
(tables with chairs, coffee table); then small objects on or in compatible receptacles
(the receptacle table of :mod:`receptacles`), some inside closed containers. Each attempt
is checked with :func:`validate_scene` and redrawn from the same random stream until it
passes, so a seed always gives the same scene for the same receptacle table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.navigation import GRID_STEP as GRID, NavGrid
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.scene import Scene

logger = logging.getLogger(__name__)

__all__ = [
    'CAMERA_OFFSET',
    'ROOM_FOLDERS',
    'ROOM_TYPES',
    'SCENE_SPEC_PREFIX',
    'generate_scene',
    'generate_scenes',
    'navigation_grid',
    'parse_scene_spec',
    'scene_from_spec',
    'validate_scene',
    'write_scene',
]

ROOM_TYPES = ('kitchen', 'living_room', 'bedroom', 'bathroom')
ROOM_FOLDERS = {'kitchen': 'kitchens', 'living_room': 'living_rooms', 'bedroom': 'bedrooms',
                'bathroom': 'bathrooms'}
AGENT_Y = 0.9009991
CAMERA_OFFSET = 0.675  # AI2-THOR cameraPosition.y - agent.position.y when standing
REACH = 1.0
#: A generated start keeps this much more than the agent radius from every obstacle.
START_CLEARANCE = 0.2
_MAX_ATTEMPTS = 40

# --------------------------------------------------------------------------- type tables
# flags: p pickupable, r receptacle, o openable, t toggleable, c cookable, s sliceable,
# b breakable, d dirtyable, f canFillWithLiquid, h isHeatSource, k isColdSource, m moveable
_FLAGS: dict[str, str] = {
    'Floor': 'r', 'CounterTop': 'r', 'Cabinet': 'ro', 'Drawer': 'ro', 'Fridge': 'rok',
    'Sink': '', 'SinkBasin': 'r', 'Faucet': 't', 'StoveBurner': 'rh', 'StoveKnob': 't',
    'Microwave': 'roth', 'CoffeeMachine': 'rtbhm', 'Toaster': 'rthm', 'DiningTable': 'r',
    'Chair': 'rm', 'Stool': 'rm', 'GarbageCan': 'rm', 'Shelf': 'r', 'ShelvingUnit': 'm',
    'Window': 'b', 'LightSwitch': 't', 'Painting': '', 'Mirror': 'bd', 'Sofa': 'rm',
    'ArmChair': 'rm', 'CoffeeTable': 'rm', 'SideTable': 'rm', 'TVStand': 'rm',
    'Television': 'tbm', 'FloorLamp': 'tm', 'DeskLamp': 'tm', 'HousePlant': 'fm',
    'Bed': 'rdm', 'Dresser': 'rm', 'Desk': 'rm', 'Toilet': 'ro', 'Bathtub': 'r',
    'BathtubBasin': 'r', 'TowelHolder': 'r', 'HandTowelHolder': 'r', 'ToiletPaperHanger': 'r',
    'Apple': 'ps', 'Tomato': 'ps', 'Potato': 'pcs', 'Lettuce': 'ps', 'Egg': 'psb',
    'Bread': 'ps', 'Bowl': 'prbdf', 'Cup': 'prbdf', 'Plate': 'prbd', 'Mug': 'prbdf',
    'Pot': 'prdf', 'Pan': 'prd', 'Kettle': 'pof', 'Knife': 'p', 'ButterKnife': 'p',
    'Fork': 'p', 'Spoon': 'p', 'Spatula': 'p', 'Ladle': 'p', 'SaltShaker': 'p',
    'PepperShaker': 'p', 'DishSponge': 'p', 'SoapBottle': 'p', 'Bottle': 'pbf',
    'WineBottle': 'pbf', 'Book': 'po', 'CellPhone': 'ptb', 'CreditCard': 'p', 'KeyChain': 'p',
    'RemoteControl': 'p', 'Laptop': 'potb', 'Newspaper': 'p', 'Pillow': 'p', 'Statue': 'pb',
    'Vase': 'pb', 'Watch': 'p', 'AlarmClock': 'p', 'Pen': 'p', 'Pencil': 'p', 'CD': 'p',
    'TissueBox': 'p', 'Candle': 'pt', 'BaseballBat': 'p', 'BasketBall': 'p',
    'TennisRacket': 'p', 'TeddyBear': 'p', 'Cloth': 'pd', 'SoapBar': 'p', 'SprayBottle': 'p',
    'ToiletPaper': 'p', 'Towel': 'p', 'HandTowel': 'p', 'Plunger': 'p',
}
_FLAG_KEYS = {'p': 'pickupable', 'r': 'receptacle', 'o': 'openable', 't': 'toggleable',
              'c': 'cookable', 's': 'sliceable', 'b': 'breakable', 'd': 'dirtyable',
              'f': 'canFillWithLiquid', 'h': 'isHeatSource', 'k': 'isColdSource',
              'm': 'moveable'}
_ON_BY_DEFAULT = {'LightSwitch', 'DeskLamp', 'FloorLamp'}

# small objects: (long horizontal side, short horizontal side, height) in metres
_SMALL_DIMS: dict[str, tuple[float, float, float]] = {
    'Apple': (0.11, 0.11, 0.11), 'Tomato': (0.12, 0.11, 0.09), 'Potato': (0.11, 0.09, 0.07),
    'Lettuce': (0.22, 0.17, 0.15), 'Egg': (0.07, 0.06, 0.06), 'Bread': (0.29, 0.14, 0.14),
    'Bowl': (0.19, 0.19, 0.08), 'Cup': (0.09, 0.09, 0.14), 'Plate': (0.24, 0.24, 0.02),
    'Mug': (0.13, 0.10, 0.10), 'Pot': (0.36, 0.26, 0.15), 'Pan': (0.41, 0.26, 0.05),
    'Kettle': (0.21, 0.20, 0.19), 'Knife': (0.29, 0.04, 0.02), 'ButterKnife': (0.26, 0.03, 0.01),
    'Fork': (0.25, 0.03, 0.02), 'Spoon': (0.21, 0.04, 0.02), 'Spatula': (0.30, 0.09, 0.02),
    'Ladle': (0.25, 0.10, 0.06), 'SaltShaker': (0.07, 0.07, 0.11),
    'PepperShaker': (0.07, 0.07, 0.11), 'DishSponge': (0.15, 0.09, 0.03),
    'SoapBottle': (0.11, 0.08, 0.22), 'Bottle': (0.11, 0.11, 0.25),
    'WineBottle': (0.09, 0.09, 0.33), 'Book': (0.33, 0.24, 0.04), 'CellPhone': (0.16, 0.08, 0.01),
    'CreditCard': (0.09, 0.06, 0.005), 'KeyChain': (0.12, 0.06, 0.01),
    'RemoteControl': (0.22, 0.07, 0.02), 'Laptop': (0.42, 0.30, 0.03),
    'Newspaper': (0.36, 0.23, 0.03), 'Pillow': (0.50, 0.33, 0.14), 'Statue': (0.20, 0.16, 0.30),
    'Vase': (0.18, 0.18, 0.24), 'Watch': (0.08, 0.05, 0.04), 'AlarmClock': (0.20, 0.13, 0.17),
    'Pen': (0.15, 0.02, 0.02), 'Pencil': (0.17, 0.02, 0.01), 'CD': (0.12, 0.12, 0.01),
    'TissueBox': (0.22, 0.12, 0.12), 'Candle': (0.06, 0.06, 0.13),
    'BaseballBat': (0.90, 0.08, 0.08), 'BasketBall': (0.24, 0.24, 0.24),
    'TennisRacket': (0.65, 0.28, 0.04), 'TeddyBear': (0.36, 0.30, 0.40),
    'Cloth': (0.21, 0.18, 0.02), 'SoapBar': (0.10, 0.06, 0.03), 'SprayBottle': (0.11, 0.06, 0.25),
    'ToiletPaper': (0.11, 0.11, 0.12), 'Towel': (0.45, 0.05, 0.55),
    'HandTowel': (0.20, 0.04, 0.35), 'Plunger': (0.15, 0.15, 0.45),
}

_SMALL_BY_ROOM: dict[str, tuple[str, ...]] = {
    'kitchen': ('Apple', 'Tomato', 'Potato', 'Lettuce', 'Egg', 'Bread', 'Bowl', 'Cup', 'Plate',
                'Mug', 'Pot', 'Pan', 'Kettle', 'Knife', 'ButterKnife', 'Fork', 'Spoon',
                'Spatula', 'Ladle', 'SaltShaker', 'PepperShaker', 'DishSponge', 'SoapBottle',
                'Bottle', 'WineBottle', 'CreditCard', 'Book', 'CellPhone'),
    'living_room': ('RemoteControl', 'KeyChain', 'CreditCard', 'Book', 'Newspaper', 'Laptop',
                    'Pillow', 'Statue', 'Vase', 'Watch', 'TissueBox', 'CellPhone', 'Pen',
                    'Pencil', 'Bowl', 'Candle', 'Plate'),
    'bedroom': ('AlarmClock', 'BaseballBat', 'BasketBall', 'TennisRacket', 'TeddyBear', 'CD',
                'Book', 'CellPhone', 'CreditCard', 'KeyChain', 'Laptop', 'Pillow', 'Pen',
                'Pencil', 'Watch', 'Mug', 'Statue', 'Vase', 'TissueBox'),
    'bathroom': ('SoapBar', 'SoapBottle', 'SprayBottle', 'ToiletPaper', 'Cloth', 'DishSponge',
                 'Candle', 'TissueBox', 'Plunger'),
}

_CONTAINERS = {'Fridge', 'Cabinet', 'Drawer', 'Microwave', 'SinkBasin', 'BathtubBasin',
               'GarbageCan', 'Box', 'Safe', 'LaundryHamper'}
_HOLDERS = {'TowelHolder', 'HandTowelHolder', 'ToiletPaperHanger'}
_PARTS = {'Drawer', 'Shelf', 'SinkBasin', 'BathtubBasin', 'StoveKnob', 'StoveBurner', 'Faucet'}
_DECOR = {'Window', 'Painting', 'Mirror', 'Curtains', 'Poster', 'Blinds'}
_ROOM_SIZE = {'kitchen': (3.6, 5.6), 'living_room': (4.2, 6.6), 'bedroom': (3.6, 5.4),
              'bathroom': (2.6, 3.8)}


# --------------------------------------------------------------------------- builder
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


class _Room:
    """Mutable state of one generation attempt."""

    def __init__(self, rng: np.random.Generator, room_type: str, compat: ReceptacleCompat):
        self.rng = rng
        self.room_type = room_type
        self.compat = compat
        lo, hi = _ROOM_SIZE[room_type]
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
        decor = otype in _DECOR
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
        a, b, h = _SMALL_DIMS[otype]
        if self.rng.random() < 0.5:
            a, b = b, a
        order = [hosts[i] for i in self.rng.permutation(len(hosts))]
        for host in order:
            htype = self.objs[host].otype
            if htype in _HOLDERS:
                spot = self._spot_hanging(host, a, b, h)
            else:
                spot = self._spot_on(host, a, b, h, container=htype in _CONTAINERS)
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


# --------------------------------------------------------------------------- rooms
def _kitchen(room: _Room) -> None:
    rng = room.rng
    n = int(rng.integers(4, 7))
    kinds = ['sink', 'stove'] + [str(k) for k in rng.choice(['cabinet', 'drawers'], n - 2)]
    kinds = [kinds[i] for i in rng.permutation(n)]
    widths = [round(float(rng.uniform(0.6, 0.8)), 2) for _ in kinds]
    if not room.counter_run(kinds, widths):
        raise _RetryError('counter run')
    if rng.random() < 0.5:  # a second, shorter run
        m = int(rng.integers(2, 4))
        room.counter_run([str(k) for k in rng.choice(['cabinet', 'drawers'], m)],
                         [round(float(rng.uniform(0.55, 0.75)), 2) for _ in range(m)])
    if room.wall_unit('Fridge', 0.8, 0.75, 1.85, clearance=1.0) is None:
        raise _RetryError('fridge')
    tops = [i for i, o in enumerate(room.objs) if o.otype == 'CounterTop']
    for otype, dims in (('Microwave', (0.52, 0.38, 0.31)), ('CoffeeMachine', (0.28, 0.36, 0.38)),
                        ('Toaster', (0.30, 0.20, 0.20))):
        for host in [tops[i] for i in rng.permutation(len(tops))]:
            o = room.objs[host]
            flip = int(o.yaw) % 180 == 90  # the wall runs along z
            sx, sz = (dims[1], dims[0]) if flip else (dims[0], dims[1])
            if room.on_top(otype, host, sx, sz, dims[2]) is not None:
                break
    if rng.random() < 0.7:
        _table_with_chairs(room, 'DiningTable', rng.uniform(1.0, 1.5), rng.uniform(0.7, 0.9),
                           0.76, 'Chair' if rng.random() < 0.6 else 'Stool')
    room.wall_unit('GarbageCan', 0.35, 0.35, 0.45, clearance=0.6)
    if rng.random() < 0.4:
        room.shelves(0.8, 0.35, [0.1, 0.5, 0.9])


def _table_with_chairs(room: _Room, otype: str, length: float, width: float, height: float,
                       chair: str = 'Chair') -> int | None:
    rng = room.rng
    along_x = rng.random() < 0.5
    sx, sz = (length, width) if along_x else (width, length)
    rect = room.place_free(sx, sz, clearance=1.15)
    if rect is None:
        return None
    table = room.furniture(otype, rect, 0.0, height)
    n_side = 2 if length > 1.2 else 1
    cw, cd = (0.45, 0.45) if chair == 'Chair' else (0.38, 0.38)
    ch = 0.9 if chair == 'Chair' else 0.7
    for side in (0, 1):
        if rng.random() < 0.3:
            continue
        for k in range(n_side):
            frac = (k + 1) / (n_side + 1)
            if along_x:
                cx = rect[0] + frac * (rect[2] - rect[0])
                cz = rect[1] - 0.1 - cd / 2 if side == 0 else rect[3] + 0.1 + cd / 2
                yaw = 0.0 if side == 0 else 180.0
            else:
                cz = rect[1] + frac * (rect[3] - rect[1])
                cx = rect[0] - 0.1 - cd / 2 if side == 0 else rect[2] + 0.1 + cd / 2
                yaw = 90.0 if side == 0 else 270.0
            crect = (cx - cw / 2, cz - cd / 2, cx + cw / 2, cz + cd / 2)
            room.blocked.append(crect)
            room.furniture(chair, crect, 0.0, ch, yaw)
    return table


def _living_room(room: _Room) -> None:
    rng = room.rng
    if room.wall_unit('Sofa', float(rng.uniform(1.8, 2.4)), 0.9, 0.8) is None:
        raise _RetryError('sofa')
    for _ in range(int(rng.integers(0, 3))):
        room.wall_unit('ArmChair', 0.9, 0.85, 0.8)
    tv = room.wall_unit('TVStand', float(rng.uniform(1.0, 1.5)), 0.45, 0.55)
    if tv is not None:
        room.on_top('Television', tv, 0.95 if int(room.objs[tv].yaw) % 180 == 0 else 0.25,
                    0.25 if int(room.objs[tv].yaw) % 180 == 0 else 0.95, 0.6)
    rect = room.place_free(float(rng.uniform(0.9, 1.2)), float(rng.uniform(0.5, 0.7)),
                           clearance=0.8)
    if rect is not None:
        room.furniture('CoffeeTable', rect, 0.0, 0.45)
    for _ in range(int(rng.integers(1, 3))):
        room.wall_unit_with('SideTable', 0.5, 0.45, 0.6, drawers=1)
    if rng.random() < 0.6:
        room.shelves(0.9, 0.35, [0.1, 0.5, 0.9, 1.3])
    if rng.random() < 0.5:
        _table_with_chairs(room, 'DiningTable', rng.uniform(1.2, 1.6), rng.uniform(0.8, 0.9),
                           0.75)
    room.wall_unit('FloorLamp', 0.4, 0.4, 1.7, clearance=0.5)
    room.wall_unit('GarbageCan', 0.35, 0.35, 0.45, clearance=0.6)
    _decorate_tables(room, ('SideTable', 'CoffeeTable', 'TVStand', 'DiningTable'))


def _decorate_tables(room: _Room, types: tuple[str, ...]) -> None:
    hosts = [i for i, o in enumerate(room.objs) if o.otype in types]
    if hosts and room.rng.random() < 0.7:
        room.on_top('HousePlant', int(room.rng.choice(hosts)), 0.3, 0.3, 0.45, back=False)


def _bedroom(room: _Room) -> None:
    rng = room.rng
    bw, bl = float(rng.uniform(1.4, 1.9)), float(rng.uniform(1.95, 2.15))
    if room.wall_unit('Bed', bw, bl, 0.6, clearance=0.8) is None:
        raise _RetryError('bed')
    room.wall_unit_with('Dresser', float(rng.uniform(0.9, 1.4)), 0.5, 0.9,
                        drawers=int(rng.choice([3, 4, 6])))
    desk = room.wall_unit('Desk', float(rng.uniform(1.1, 1.5)), 0.6, 0.76, clearance=1.0)
    if desk is not None:
        room.on_top('DeskLamp', desk, 0.2, 0.2, 0.4)
    for _ in range(int(rng.integers(1, 3))):
        st = room.wall_unit_with('SideTable', 0.5, 0.42, 0.6, drawers=1)
        if st is not None and rng.random() < 0.5:
            room.on_top('DeskLamp', st, 0.2, 0.2, 0.4)
    if rng.random() < 0.6:
        room.shelves(0.8, 0.3, [0.1, 0.5, 0.9, 1.3])
    room.wall_unit('GarbageCan', 0.3, 0.3, 0.4, clearance=0.6)


def _bathroom(room: _Room) -> None:
    rng = room.rng
    if room.wall_unit('Toilet', 0.45, 0.7, 0.8, clearance=0.7) is None:
        raise _RetryError('toilet')
    tub = room.wall_unit('Bathtub', 0.75, float(rng.uniform(1.5, 1.7)), 0.55, clearance=0.7)
    if tub is not None:
        o = room.objs[tub]
        room.add('BathtubBasin', o.bmin + (0.08, 0.1, 0.08), o.bmax - (0.08, 0.01, 0.08),
                 basin_of=tub)
    units = ['sink'] + (['cabinet'] if rng.random() < 0.6 else [])
    if not room.counter_run(units, [0.7] * len(units), depth=0.55, uppers=False):
        raise _RetryError('vanity')
    for otype, width, y0, y1 in (('TowelHolder', 0.6, 1.0, 1.05),
                                 ('HandTowelHolder', 0.2, 1.25, 1.45),
                                 ('ToiletPaperHanger', 0.2, 0.7, 0.76)):
        room.on_wall(otype, width, y0, y1, thick=0.1)
    if rng.random() < 0.7:
        shelf = room.on_wall('Shelf', 0.6, 1.1, 1.13, thick=0.25)
        if shelf is not None:
            room.objs[shelf].headroom = 0.4
    room.wall_unit('GarbageCan', 0.3, 0.3, 0.4, clearance=0.5)


class _RetryError(Exception):
    """The current attempt cannot be completed; draw another."""


_ROOM_BUILDERS = {'kitchen': _kitchen, 'living_room': _living_room, 'bedroom': _bedroom,
                  'bathroom': _bathroom}


def _decor(room: _Room) -> None:
    rng = room.rng
    room.on_wall('Window', float(rng.uniform(0.9, 1.5)), 0.95, 2.1, thick=0.1)
    room.on_wall('LightSwitch', 0.08, 1.25, 1.40, thick=0.03)
    if room.room_type in ('living_room', 'bedroom'):
        room.on_wall('Painting', float(rng.uniform(0.6, 1.1)), 1.3, 2.0, thick=0.05)
    if room.room_type in ('bathroom', 'bedroom'):
        room.on_wall('Mirror', 0.6, 1.2, 1.9, thick=0.04)


def _populate(room: _Room) -> None:
    rng = room.rng
    compat = room.compat
    candidates = [t for t in _SMALL_BY_ROOM[room.room_type] if compat.receptacles_for(t)]
    by_type: dict[str, list[int]] = {}
    for i, o in enumerate(room.objs):
        if _FLAGS.get(o.otype, '').find('r') >= 0 and 'p' not in _FLAGS.get(o.otype, ''):
            by_type.setdefault(o.otype, []).append(i)
    lo, hi = {'bathroom': (6, 11)}.get(room.room_type, (14, 24))
    want = int(rng.integers(lo, hi))
    # the bathroom hangers get their own items first
    for holder, item in (('TowelHolder', 'Towel'), ('HandTowelHolder', 'HandTowel'),
                         ('ToiletPaperHanger', 'ToiletPaper')):
        for host in by_type.get(holder, []):
            if compat.accepts(holder, item) or not compat.receptacles_for(item):
                room.place_small(item, [host])
    closed = [i for t in ('Fridge', 'Cabinet', 'Drawer', 'Microwave') for i in by_type.get(t, [])]
    for k in range(want):
        otype = str(candidates[int(rng.integers(len(candidates)))])
        hosts = [i for rtype, ids in by_type.items() if compat.accepts(rtype, otype)
                 for i in ids if room.objs[i].otype not in _HOLDERS]
        inside = [i for i in hosts if i in closed]
        if k % 4 == 0 and inside:  # about a quarter goes into closed containers
            hosts = inside
        else:
            hosts = [i for i in hosts if i not in closed] or hosts
        if hosts:
            room.place_small(otype, hosts)


# --------------------------------------------------------------------------- metadata
def _fmt(v: float) -> str:
    r = round(float(v), 2)
    if r == 0:
        return '00.00'
    return f"{'+' if r > 0 else '-'}{abs(r):05.2f}"


def _vec(x: float, y: float, z: float) -> dict[str, float]:
    return {'x': float(x), 'y': float(y), 'z': float(z)}


def _corners(lo: np.ndarray, hi: np.ndarray) -> list[list[float]]:
    out = []
    for x in (hi[0], lo[0]):
        for y in (hi[1], lo[1]):
            for z in (hi[2], lo[2]):
                out.append([float(x), float(y), float(z)])
    return out


def _aabb(lo: np.ndarray, hi: np.ndarray) -> dict[str, Any]:
    c, s = (lo + hi) / 2, hi - lo
    return {'cornerPoints': _corners(lo, hi), 'center': _vec(*c), 'size': _vec(*s)}


def _to_metadata(room: _Room, seed: int, agent_pos: tuple[float, float], agent_yaw: float
                 ) -> dict[str, Any]:
    rng = room.rng
    floor_lo = np.array([room.x0, -0.1, room.z0])
    floor_hi = np.array([room.x1, 0.0, room.z1])
    objs = room.objs
    ids: list[str] = []
    positions: list[np.ndarray] = []
    used: set[str] = set()
    for o in objs:
        pick = 'p' in _FLAGS.get(o.otype, '')
        c = (o.bmin + o.bmax) / 2
        pos = c.copy() if pick else np.array([c[0], o.bmin[1], c[2]])
        if o.basin_of is not None:
            oid = f'{ids[o.basin_of]}|{o.otype}'
        else:
            oid = f'{o.otype}|{_fmt(pos[0])}|{_fmt(pos[1])}|{_fmt(pos[2])}'
            while oid in used:  # two boxes rounding to the same id: nudge the pivot
                pos[0] += 0.01
                oid = f'{o.otype}|{_fmt(pos[0])}|{_fmt(pos[1])}|{_fmt(pos[2])}'
        used.add(oid)
        ids.append(oid)
        positions.append(pos)
    floor_id = f'Floor|{_fmt(0)}|{_fmt(0)}|{_fmt(0)}'
    children: dict[int, list[str]] = {}
    for i, o in enumerate(objs):
        if o.parent is not None:
            children.setdefault(o.parent, []).append(ids[i])
    ax, az = agent_pos
    out: list[dict[str, Any]] = []

    def entry(otype: str, oid: str, lo: np.ndarray, hi: np.ndarray, pos: np.ndarray,
              yaw: float, parents: list[str] | None, contents: list[str] | None,
              controls: list[str] | None) -> dict[str, Any]:
        flags = _FLAGS.get(otype, '')
        f = {key: (ch in flags) for ch, key in _FLAG_KEYS.items()}
        c = (lo + hi) / 2
        rec = f['receptacle']
        pick = f['pickupable']
        return {
            'name': f'{otype}_{int(rng.integers(1 << 32)):08x}',
            'position': _vec(*pos), 'rotation': _vec(0.0, yaw, 0.0),
            'visible': False, 'isInteractable': False,
            'receptacle': rec, 'toggleable': f['toggleable'],
            'isToggled': f['toggleable'] and otype in _ON_BY_DEFAULT,
            'breakable': f['breakable'], 'isBroken': False,
            'canFillWithLiquid': f['canFillWithLiquid'], 'isFilledWithLiquid': False,
            'fillLiquid': None, 'dirtyable': f['dirtyable'], 'isDirty': False,
            'canBeUsedUp': False, 'isUsedUp': False, 'cookable': f['cookable'],
            'isCooked': False, 'temperature': 'RoomTemp', 'isHeatSource': f['isHeatSource'],
            'isColdSource': f['isColdSource'], 'sliceable': f['sliceable'], 'isSliced': False,
            'openable': f['openable'], 'isOpen': False, 'openness': 0.0, 'pickupable': pick,
            'isPickedUp': False, 'moveable': f['moveable'],
            'mass': round(float(np.prod(hi - lo)) * 300.0, 3) if pick or f['moveable'] else 0.0,
            'salientMaterials': None,
            'receptacleObjectIds': (list(contents or []) if rec else None),
            'distance': float(math.hypot(c[0] - ax, c[2] - az)),
            'objectType': otype, 'objectId': oid, 'assetId': f'{otype}_proc',
            'parentReceptacles': parents, 'controlledObjects': controls, 'isMoving': False,
            'axisAlignedBoundingBox': _aabb(lo, hi),
            'objectOrientedBoundingBox': ({'cornerPoints': _corners(lo, hi)} if pick else None),
        }

    floor_children = [ids[i] for i, o in enumerate(objs) if o.on_floor and o.parent is None]
    out.append(entry('Floor', floor_id, floor_lo, floor_hi, np.zeros(3), 0.0, None,
                     floor_children, None))
    for i, o in enumerate(objs):
        if o.parent is not None:
            parents: list[str] | None = [ids[o.parent]]
        elif o.on_floor:
            parents = [floor_id]
        else:
            parents = None
        controls = [ids[j] for j in o.controls] or None
        out.append(entry(o.otype, ids[i], o.bmin, o.bmax, positions[i], o.yaw, parents,
                         children.get(i, []), controls))
    # sort like AI2-THOR: by type name, stable
    out.sort(key=lambda d: d['objectType'])
    hi_y = room.height
    blo = np.array([room.x0, -0.1, room.z0])
    bhi = np.array([room.x1, hi_y, room.z1])
    agent = {'name': 'agent', 'position': _vec(ax, AGENT_Y, az),
             'rotation': _vec(-0.0, agent_yaw, 0.0), 'cameraHorizon': 0.0, 'isStanding': True,
             'inHighFrictionArea': False}
    return {
        'objects': out, 'isSceneAtRest': True, 'agent': agent, 'heldObjectPose': None,
        'arm': None, 'fov': 90.0, 'cameraPosition': _vec(ax, AGENT_Y + CAMERA_OFFSET, az),
        'cameraOrthSize': 0.0, 'thirdPartyCameras': [], 'collided': False,
        'collidedObjects': [], 'inventoryObjects': [],
        'sceneName': f'Procedural_{room.room_type}_{seed:04d}', 'lastAction': 'Initialize',
        'errorMessage': '', 'errorCode': '', 'lastActionSuccess': True, 'screenWidth': 800,
        'screenHeight': 450, 'agentId': 0, 'depthFormat': 'Meters', 'colors': [],
        'flatSurfacesOnGrid': [], 'distances': [], 'normals': [], 'isOpenableGrid': [],
        'segmentedObjectIds': [], 'objectIdsInBox': [], 'actionIntReturn': 0,
        'actionFloatReturn': 0.0, 'actionStringsReturn': [], 'actionFloatsReturn': [],
        'actionVector3sReturn': [], 'visibleRange': [], 'currentTime': 0.0,
        'sceneBounds': {'cornerPoints': _corners(blo, bhi), 'center': _vec(*((blo + bhi) / 2)),
                        'size': _vec(*(bhi - blo))},
        'actionReturn': None,
    }


# --------------------------------------------------------------------------- validation
def _box(obj: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    bb = obj['axisAlignedBoundingBox']
    c = np.array([bb['center'][k] for k in 'xyz'], float)
    s = np.abs(np.array([bb['size'][k] for k in 'xyz'], float))
    return c - s / 2, c + s / 2


def _floor_rect(meta: dict[str, Any]) -> tuple[float, float, float, float]:
    for o in meta['objects']:
        if o['objectType'] == 'Floor':
            lo, hi = _box(o)
            return (lo[0], lo[2], hi[0], hi[2])
    b = meta['sceneBounds']
    c, s = b['center'], b['size']
    return (c['x'] - s['x'] / 2, c['z'] - s['z'] / 2, c['x'] + s['x'] / 2, c['z'] + s['z'] / 2)


def navigation_grid(meta: dict[str, Any], clearance: float = 0.0) -> NavGrid:
    """The simulator's navigation grid of a scene (:mod:`navigation`, as ``World`` builds it).

    ``clearance`` keeps that much more from every obstacle (choosing a start).
    """
    from ego_reasoner_ros.sim_bridge.world import World

    grid = World(Scene.from_metadata(meta)).nav
    return grid.with_clearance(clearance) if clearance else grid


def validate_scene(meta: dict[str, Any] | list[dict[str, Any]],
                   compat: ReceptacleCompat | None = None) -> list[str]:
    """Problems of a scene (empty when it is sound).

    Checks: furniture boxes that interpenetrate (parts such as drawers, shelves, basins,
    burners and knobs nest in their hosts by design and are skipped); every pickupable
    object lies on or in its parent receptacle (box support/containment) and the parent
    type accepts it; the agent start is on a free cell; every non-decor object has a free
    floor point within 1.0 m that is reachable from the start on a 0.25 m grid.
    """
    if isinstance(meta, list):
        if len(meta) != 1:
            raise DataError('scene metadata list must hold exactly one event metadata dict')
        meta = meta[0]
    compat = compat or ReceptacleCompat.default()
    problems: list[str] = []
    objs = meta['objects']
    by_id = {o['objectId']: o for o in objs}
    boxes = {o['objectId']: _box(o) for o in objs}

    furn = [o for o in objs if o['objectType'] not in _PARTS | {'Floor'} | _DECOR
            and not o.get('pickupable') and not o['objectId'].endswith('Basin')]
    for i, a in enumerate(furn):
        alo, ahi = boxes[a['objectId']]
        for b in furn[i + 1:]:
            blo, bhi = boxes[b['objectId']]
            overlap = np.minimum(ahi, bhi) - np.maximum(alo, blo)
            if np.all(overlap > 0.02):
                problems.append(f"overlap: {a['objectId']} and {b['objectId']}")

    for o in objs:
        parents = o.get('parentReceptacles') or []
        if not o.get('pickupable') and not parents:
            continue
        if not parents:
            problems.append(f"unsupported: {o['objectId']} has no parent receptacle")
            continue
        pid = parents[-1]
        parent = by_id.get(pid)
        if parent is None:
            problems.append(f"dangling parent: {o['objectId']} -> {pid}")
            continue
        if o['objectId'] not in (parent.get('receptacleObjectIds') or []):
            problems.append(f"containment not mirrored: {pid} lacks {o['objectId']}")
        if parent['objectType'] == 'Floor':
            continue
        if o.get('pickupable') and not compat.accepts(parent['objectType'], o['objectType']):
            problems.append(f"incompatible: {o['objectType']} on/in {parent['objectType']}")
        lo, hi = boxes[o['objectId']]
        plo, phi = boxes[pid]
        inside = bool(np.all(lo >= plo - 0.01) and np.all(hi <= phi + 0.01))
        c = (lo + hi) / 2
        on_top = (abs(lo[1] - phi[1]) < 0.02 and plo[0] - 0.01 <= c[0] <= phi[0] + 0.01
                  and plo[2] - 0.01 <= c[2] <= phi[2] + 0.01)
        hanging = parent['objectType'] in _HOLDERS and bool(np.all(np.minimum(hi, phi)
                                                                   >= np.maximum(lo, plo)))
        if not (inside or on_top or hanging):
            problems.append(f"floating: {o['objectId']} not on/in {pid}")

    grid = navigation_grid(meta)
    if not grid.free.any():
        return problems + ['no free floor']
    ag = meta['agent']['position']
    start = grid.index(ag['x'], ag['z'])
    if start is None or not grid.free[start]:
        problems.append('agent start is not a free grid cell')
        pts_x = pts_z = np.zeros(0)
    else:
        px, pz = np.nonzero(grid.reachable)  # the start's component: World's reachable set
        pts_x, pts_z = grid.xs[px], grid.zs[pz]
    for o in objs:
        if o['objectType'] in _DECOR or o['objectType'] == 'Floor':
            continue
        lo, hi = boxes[o['objectId']]
        dx = np.maximum(np.maximum(lo[0] - pts_x, pts_x - hi[0]), 0.0)
        dz = np.maximum(np.maximum(lo[2] - pts_z, pts_z - hi[2]), 0.0)
        if len(pts_x) == 0 or float(np.min(np.hypot(dx, dz))) > REACH:
            problems.append(f"unreachable: {o['objectId']}")
    return problems


# --------------------------------------------------------------------------- public API
def _choose_start(meta: dict[str, Any], rng: np.random.Generator
                  ) -> tuple[float, float, float] | None:
    grid = navigation_grid(meta, START_CLEARANCE)
    cells = np.argwhere(grid.free.T)  # (iz, ix), row-major
    if len(cells) == 0:
        return None
    iz, ix = cells[int(rng.integers(len(cells)))]
    x, z = float(grid.xs[ix]), float(grid.zs[iz])
    fx0, fz0, fx1, fz1 = _floor_rect(meta)
    ang = math.degrees(math.atan2((fx0 + fx1) / 2 - x, (fz0 + fz1) / 2 - z)) % 360
    return x, z, float(round(ang / 90.0) * 90 % 360)


def generate_scene(seed: int, room_type: str | None = None,
                   compat: ReceptacleCompat | None = None) -> dict[str, Any]:
    """Generate one AI2-THOR-style event metadata dict (wrap in a list for ``metadata.json``).

    Args:
        seed: any non-negative int; the same seed (and receptacle table) gives the same scene.
        room_type: ``kitchen``, ``living_room``, ``bedroom``, ``bathroom``, or None to take
            ``ROOM_TYPES[seed % 4]``.
        compat: receptacle table; default :meth:`ReceptacleCompat.default` (the public
            ``pick_up_and_put.json`` when found, else the built-in table).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    seed = int(seed)
    if room_type is None:
        room_type = ROOM_TYPES[seed % len(ROOM_TYPES)]
    if room_type not in ROOM_TYPES:
        raise ValueError(f'room_type must be one of {ROOM_TYPES} or None, got {room_type!r}')
    compat = compat or ReceptacleCompat.default()
    rng = np.random.default_rng([seed, ROOM_TYPES.index(room_type)])
    last: list[str] = []
    for attempt in range(_MAX_ATTEMPTS):
        room = _Room(rng, room_type, compat)
        try:
            _ROOM_BUILDERS[room_type](room)
        except _RetryError as why:
            last = [f'layout: {why}']
            continue
        _decor(room)
        _populate(room)
        draft = _to_metadata(room, seed, (0.0, 0.0), 0.0)
        start = _choose_start(draft, rng)
        if start is None:
            last = ['no free start cell']
            continue
        meta = _to_metadata(room, seed, (start[0], start[1]), start[2])
        last = validate_scene(meta, compat)
        if not last:
            logger.debug('scene %s after %d attempt(s)', meta['sceneName'], attempt + 1)
            return meta
    raise RuntimeError(f'could not generate a valid {room_type} for seed {seed}: {last[:5]}')


def write_scene(out_dir: str | os.PathLike[str], seed: int, room_type: str | None = None,
                compat: ReceptacleCompat | None = None) -> Path:
    """Write ``<out_dir>/<room folder>/<sceneName>/{metadata.json,originPos.json}``.

    Returns the scene folder.
    """
    meta = generate_scene(seed, room_type, compat)
    rtype = meta['sceneName'].split('_', 1)[1].rsplit('_', 1)[0]
    folder = Path(out_dir) / ROOM_FOLDERS[rtype] / meta['sceneName']
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'metadata.json').write_text(json.dumps([meta]), encoding='utf-8')
    (folder / 'originPos.json').write_text(json.dumps(meta['agent'], indent=4),
                                           encoding='utf-8')
    return folder


def generate_scenes(out_dir: str | os.PathLike[str], n: int, seed0: int = 0,
                    compat: ReceptacleCompat | None = None) -> list[Path]:
    """Write ``n`` scenes with seeds ``seed0 .. seed0 + n - 1`` (room type = seed % 4)."""
    if n < 0:
        raise ValueError(f'n must be >= 0, got {n}')
    compat = compat or ReceptacleCompat.default()
    return [write_scene(out_dir, seed0 + i, None, compat) for i in range(n)]


# --------------------------------------------------------------------------- scene specs
SCENE_SPEC_PREFIX = 'procedural:'


def parse_scene_spec(spec: Any) -> tuple[str | None, int] | None:
    """``procedural:ROOM:SEED`` or ``procedural:SEED`` -> ``(room_type, seed)``; else None.

    A bare seed takes the room type the way :func:`generate_scene` does (``seed % 4``).

    Raises:
        DataError: the text starts with the prefix but the rest is not a room and a seed.
    """
    if not isinstance(spec, str) or not spec.startswith(SCENE_SPEC_PREFIX):
        return None
    parts = spec[len(SCENE_SPEC_PREFIX):].split(':')
    room = parts[0] if len(parts) == 2 else None
    if len(parts) not in (1, 2) or not parts[-1].isdigit() or (
            room is not None and room not in ROOM_TYPES):
        raise DataError(f'bad generated-scene spec {spec!r}: use {SCENE_SPEC_PREFIX}SEED or '
                        f'{SCENE_SPEC_PREFIX}ROOM:SEED with ROOM one of {", ".join(ROOM_TYPES)}')
    return room, int(parts[-1])


def scene_from_spec(spec: str) -> Any:
    """The :class:`~ego_reasoner_ros.sim_bridge.scene.Scene` a ``procedural:`` spec names.

    Generated in memory with the built-in receptacle table, so a spec gives the same room on
    every machine, data set or not: the scene :func:`write_scene` writes for that seed and
    room with ``ReceptacleCompat.builtin()`` (what ``ego-reasoner launch sim`` generates).
    """
    from ego_reasoner_ros.sim_bridge.scene import Scene

    parsed = parse_scene_spec(spec)
    if parsed is None:
        raise DataError(f'{spec!r} is not a generated-scene spec ({SCENE_SPEC_PREFIX}...)')
    room, seed = parsed
    # the JSON round trip gives the very dicts a written and re-read metadata.json holds
    meta = json.loads(json.dumps(generate_scene(seed, room, ReceptacleCompat.builtin())))
    rtype = meta['sceneName'].split('_', 1)[1].rsplit('_', 1)[0]
    return Scene.from_metadata(meta, meta['sceneName'], room_type=ROOM_FOLDERS[rtype],
                               origin_pose=meta['agent'])
