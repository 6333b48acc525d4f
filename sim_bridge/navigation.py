# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The floor navigation grid of the simulator and of the procedural scene validator.

One agent radius and one obstacle rule, so the validator and the simulator agree on what is
reachable.

An object blocks the floor when it is not pickupable, not a wall decoration or thin covering
(:data:`NON_BLOCKING_TYPES`), overlaps the band 0.05-0.3 m above the floor top, and does not
stand on furniture (which blocks already). A grid point is free when it lies inside the floor
more than :data:`AGENT_RADIUS` from its edge and outside every blocking footprint grown by
:data:`AGENT_RADIUS` (axis-aligned). The agent moves on the 4-connected component of free
points that holds its start (the largest one without a start).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
import math
from typing import Any

import numpy as np

__all__ = [
    'AGENT_RADIUS', 'BAND_HIGH', 'BAND_LOW', 'GRID_STEP', 'NON_BLOCKING_TYPES', 'NavGrid',
    'blocking_objects', 'component', 'free_mask', 'grid_axes',
]

GRID_STEP = 0.25
AGENT_RADIUS = 0.15
#: An obstacle overlaps [floor top + BAND_LOW, floor top + BAND_HIGH].
BAND_LOW, BAND_HIGH = 0.05, 0.3
#: Types that never block the floor grid (wall decorations, thin coverings).
NON_BLOCKING_TYPES = frozenset(
    {
        'Floor', 'Window', 'LightSwitch', 'Painting', 'Mirror', 'Curtains', 'Blinds', 'Poster',
        'ShowerCurtain', 'Towel', 'HandTowel', 'TowelHolder', 'HandTowelHolder',
        'ToiletPaperHanger', 'ShowerHead', 'ScrubBrush', 'Plunger', 'Television',
    }
)


def blocking_objects(types: Sequence[str], pickupable: Sequence[bool], box_min: np.ndarray,
                     box_max: np.ndarray, parent: Sequence[int], is_floor: Sequence[bool],
                     floor_y: float) -> list[int]:
    """Indices of the objects that block the floor (the one obstacle rule)."""
    out = []
    for i, t in enumerate(types):
        if pickupable[i] or t in NON_BLOCKING_TYPES:
            continue
        if box_min[i, 1] > floor_y + BAND_HIGH or box_max[i, 1] < floor_y + BAND_LOW:
            continue
        p = parent[i]
        if p >= 0 and not is_floor[p]:
            continue  # stands on furniture that already blocks
        out.append(i)
    return out


def grid_axes(lo: np.ndarray, hi: np.ndarray, *, radius: float = AGENT_RADIUS,
              step: float = GRID_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates (xs, zs) on multiples of ``step`` inside the floor ``lo``-``hi`` (3-D).

    A floor too small for one point gives its centre.
    """
    margin = radius + 0.05
    xs = np.arange(math.ceil((lo[0] + margin) / step) * step, hi[0] - margin + 1e-9, step)
    zs = np.arange(math.ceil((lo[2] + margin) / step) * step, hi[2] - margin + 1e-9, step)
    if len(xs) == 0 or len(zs) == 0:
        xs = np.array([(lo[0] + hi[0]) / 2])
        zs = np.array([(lo[2] + hi[2]) / 2])
    return xs, zs


def free_mask(x: np.ndarray, z: np.ndarray, obst_min: np.ndarray, obst_max: np.ndarray,
              floor_lo: np.ndarray, floor_hi: np.ndarray, *,
              radius: float = AGENT_RADIUS) -> np.ndarray:
    """Whether each point (x, z) is free: off every grown footprint and inside the floor.

    ``obst_min`` / ``obst_max`` are (K, 2) footprints already grown by the radius.
    """
    if len(obst_min) == 0:
        return np.ones(x.shape, dtype=bool)
    inside = (
        (x[:, None] > obst_min[None, :, 0])
        & (x[:, None] < obst_max[None, :, 0])
        & (z[:, None] > obst_min[None, :, 1])
        & (z[:, None] < obst_max[None, :, 1])
    )
    lo, hi = floor_lo, floor_hi
    in_floor = (x > lo[0] + radius) & (x < hi[0] - radius)
    in_floor &= (z > lo[2] + radius) & (z < hi[2] - radius)
    return ~inside.any(axis=1) & in_floor


def component(free: np.ndarray, xs: np.ndarray, zs: np.ndarray, sx: Any, sz: Any
              ) -> np.ndarray:
    """The 4-connected component of ``free[ix, iz]`` nearest (sx, sz), else the largest."""
    nx, nz = free.shape
    label = -np.ones(free.shape, dtype=np.int64)
    sizes: list[int] = []
    for i0, j0 in zip(*np.nonzero(free)):
        if label[i0, j0] >= 0:
            continue
        k = len(sizes)
        label[i0, j0] = k
        q = deque([(i0, j0)])
        size = 0
        while q:
            i, j = q.popleft()
            size += 1
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if 0 <= a < nx and 0 <= b < nz and free[a, b] and label[a, b] < 0:
                    label[a, b] = k
                    q.append((a, b))
        sizes.append(size)
    if not sizes:
        return free
    keep = int(np.argmax(sizes))
    if sx is not None and sz is not None:
        gi, gj = np.nonzero(free)
        d = (xs[gi] - float(sx)) ** 2 + (zs[gj] - float(sz)) ** 2
        near = int(np.argmin(d))
        keep = int(label[gi[near], gj[near]])
    return label == keep


class NavGrid:
    """The free floor points of one scene and the component the agent moves on.

    Args:
        floor_lo, floor_hi: the floor box corners (3-D; x and z are read).
        box_min, box_max: (K, 3) boxes of the blocking objects (see :func:`blocking_objects`).
        start: the agent's start (x, z), or None.
        clearance: extra distance kept from obstacles (placing a start), 0 for the agent.
        connect: the component rule (``World._component`` so a subclass may widen it).
    """

    def __init__(self, floor_lo: np.ndarray, floor_hi: np.ndarray, box_min: np.ndarray,
                 box_max: np.ndarray, start: tuple[Any, Any] | None = None, *,
                 clearance: float = 0.0,
                 connect: Callable[..., np.ndarray] = component) -> None:
        self.floor_lo = np.asarray(floor_lo, dtype=np.float64).copy()
        self.floor_hi = np.asarray(floor_hi, dtype=np.float64).copy()
        self.radius = AGENT_RADIUS + clearance
        self.start = start
        self.box_min = np.asarray(box_min, dtype=np.float64).reshape(-1, 3)
        self.box_max = np.asarray(box_max, dtype=np.float64).reshape(-1, 3)
        self.obst_min = self.box_min[:, [0, 2]] - self.radius
        self.obst_max = self.box_max[:, [0, 2]] + self.radius
        self.xs, self.zs = grid_axes(self.floor_lo, self.floor_hi, radius=self.radius)
        gx, gz = np.meshgrid(self.xs, self.zs, indexing='ij')
        #: free[ix, iz]: the point is off every obstacle and inside the floor.
        self.free = self.free_at(gx.ravel(), gz.ravel()).reshape(gx.shape)
        sx, sz = start if start is not None else (None, None)
        #: reachable[ix, iz]: free and in the agent's component.
        self.reachable = connect(self.free, self.xs, self.zs, sx, sz)
        cells = np.stack([gx[self.reachable], gz[self.reachable]], axis=1)
        if len(cells) == 0:
            cells = np.array([[(self.floor_lo[0] + self.floor_hi[0]) / 2,
                               (self.floor_lo[2] + self.floor_hi[2]) / 2]])
        #: (M, 2) reachable points (x, z).
        self.cells = cells

    def free_at(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Whether each point (x, z) is free (on or off the grid)."""
        return free_mask(x, z, self.obst_min, self.obst_max, self.floor_lo, self.floor_hi,
                         radius=self.radius)

    def with_clearance(self, clearance: float) -> NavGrid:
        """The same scene's grid keeping ``clearance`` more from every obstacle."""
        return NavGrid(self.floor_lo, self.floor_hi, self.box_min, self.box_max, self.start,
                       clearance=clearance)

    def index(self, x: float, z: float) -> tuple[int, int] | None:
        """The grid index (ix, iz) of the point (x, z), or None when it is not a grid point."""
        ix = int(np.argmin(np.abs(self.xs - x)))
        iz = int(np.argmin(np.abs(self.zs - z)))
        if abs(self.xs[ix] - x) > 1e-3 or abs(self.zs[iz] - z) > 1e-3:
            return None
        return ix, iz
