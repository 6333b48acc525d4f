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

The parts: ``procedural_types.py`` (the tables), ``procedural_layout.py`` (``Room``, the
layout builder), ``procedural_furnish.py`` (what each room type holds) and
``procedural_metadata.py`` (the metadata writer); this module keeps the check, the public API
and the ``procedural:`` scene specs.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.navigation import NavGrid
from ego_reasoner_ros.sim_bridge.procedural_furnish import (
    ROOM_BUILDERS, RetryError, decorate_walls, populate)
from ego_reasoner_ros.sim_bridge.procedural_layout import Room
from ego_reasoner_ros.sim_bridge.procedural_metadata import to_metadata
from ego_reasoner_ros.sim_bridge.procedural_types import DECOR, HOLDERS, PARTS
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.scene import Scene

logger = logging.getLogger(__name__)

__all__ = [
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
REACH = 1.0
#: A generated start keeps this much more than the agent radius from every obstacle.
START_CLEARANCE = 0.2
_MAX_ATTEMPTS = 40


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

    furn = [o for o in objs if o['objectType'] not in PARTS | {'Floor'} | DECOR
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
        hanging = parent['objectType'] in HOLDERS and bool(np.all(np.minimum(hi, phi)
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
        if o['objectType'] in DECOR or o['objectType'] == 'Floor':
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
        room = Room(rng, room_type, compat)
        try:
            ROOM_BUILDERS[room_type](room)
        except RetryError as why:
            last = [f'layout: {why}']
            continue
        decorate_walls(room)
        populate(room)
        draft = to_metadata(room, seed, (0.0, 0.0), 0.0)
        start = _choose_start(draft, rng)
        if start is None:
            last = ['no free start cell']
            continue
        meta = to_metadata(room, seed, (start[0], start[1]), start[2])
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
