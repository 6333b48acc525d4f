# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The procedural generator's output: a ``Room`` as AI2-THOR ``event.metadata``.

AI2-THOR ids (``Type|+xx.xx|+yy.yy|+zz.zz``, basins as ``Sink|...|SinkBasin``), boxes,
containment both ways, the state flags, ``sceneBounds``, ``agent`` and ``sceneName``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ego_reasoner_ros.sim_bridge.procedural_layout import Room
from ego_reasoner_ros.sim_bridge.procedural_types import (
    AGENT_Y, CAMERA_OFFSET, FLAG_KEYS, FLAGS, ON_BY_DEFAULT)



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


def to_metadata(room: Room, seed: int, agent_pos: tuple[float, float], agent_yaw: float
                 ) -> dict[str, Any]:
    rng = room.rng
    floor_lo = np.array([room.x0, -0.1, room.z0])
    floor_hi = np.array([room.x1, 0.0, room.z1])
    objs = room.objs
    ids: list[str] = []
    positions: list[np.ndarray] = []
    used: set[str] = set()
    for o in objs:
        pick = 'p' in FLAGS.get(o.otype, '')
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
        flags = FLAGS.get(otype, '')
        f = {key: (ch in flags) for ch, key in FLAG_KEYS.items()}
        c = (lo + hi) / 2
        rec = f['receptacle']
        pick = f['pickupable']
        return {
            'name': f'{otype}_{int(rng.integers(1 << 32)):08x}',
            'position': _vec(*pos), 'rotation': _vec(0.0, yaw, 0.0),
            'visible': False, 'isInteractable': False,
            'receptacle': rec, 'toggleable': f['toggleable'],
            'isToggled': f['toggleable'] and otype in ON_BY_DEFAULT,
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
