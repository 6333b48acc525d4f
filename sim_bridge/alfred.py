# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ALFRED semantics in the embedded simulator: reconstructed initial states and THOR-2.1 calls.

:class:`AlfredWorld` is the one embedded :class:`~ego_reasoner_ros.sim_bridge.world.World`
run with ``rules="alfred"``: the ER derived-state rule (an object in a basin under a running
faucet is clean) is off, and cleaning, heating and cooling happen at events as ALFRED's
``ThorEnv`` records them:

* ``ToggleObjectOn`` on a Faucet cleans what the SinkBasin nearest the faucet holds;
* ``ToggleObjectOn`` on a Microwave heats what the microwave holds;
* ``CloseObject`` on a Fridge cools what the fridge holds.

The initial state comes from an ALFRED episode's ``scene`` block over the Embodied-Reasoner
scene geometry (:func:`build_alfred_scene`): every pickupable ER object is removed and each
``object_poses`` entry is placed by type (box size and pivot offset from an ER object of that
type, else a default box) into the receptacle whose box holds the pose; ``object_toggles``
set the toggle state of every object of a type; openable receptacles start closed; the
agent starts at ``init_action``. Sliceable objects carry hidden slice objects that appear
when the object is sliced (the whole object stays listed with ``isSliced`` but is never
visible or usable again).

The primitives mirror AI2-THOR 2.1.0's: ``pickup``, ``put`` (``forceAction=True``: type
restrictions and fit are ignored, a closed receptacle still refuses), ``drop``, ``open``,
``close``, ``toggle_on``, ``toggle_off``, ``slice`` and ``teleport``; each returns
``(success, error message)`` and changes nothing on failure. Visibility: not inside a closed
receptacle, some sample point of the box in the camera frustum, and the box footprint within
``visibility_distance`` (1.5 m) of the agent's vertical axis. Occlusion is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import math
from typing import Any

import numpy as np

from ego_reasoner_ros.sim_bridge import geometry as geo
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.scene import Scene, SceneObject
from ego_reasoner_ros.sim_bridge.world import World
from ego_reasoner_ros.sim_bridge.world_rules import INSIDE_TYPES

#: Sliceable types and how many slices each becomes (THOR spawns several pieces).
SLICE_COUNTS = {'Apple': 4, 'Bread': 6, 'Lettuce': 4, 'Potato': 4, 'Tomato': 4, 'Egg': 1}
#: Types that can be switched on and off (THOR 2.1 toggleable types ALFRED uses).
TOGGLE_TYPES = frozenset({'Microwave', 'DeskLamp', 'FloorLamp', 'Faucet', 'StoveKnob',
                          'Television', 'Laptop', 'CellPhone', 'Toaster', 'CoffeeMachine',
                          'LightSwitch', 'Candle', 'ShowerHead'})
#: Height of the agent's reference point (EB teleports to y = 0.9).
AGENT_Y = 0.9
#: ALFRED's camera height above the agent's reference point (gen/constants.py).
CAMERA_HEIGHT_OFFSET = 0.75
DEFAULT_SIZE = (0.2, 0.2, 0.2)
#: Openable types that start closed (ALFRED's expert opens them); other openables (Box,
#: Toilet lid, ShowerDoor...) start open, as ALFRED's plans put into them without opening.
CLOSED_AT_START = frozenset({'Fridge', 'Microwave', 'Cabinet', 'Drawer', 'Safe', 'Laptop'})


def thor_object_id(object_type: str, pos: Sequence[float]) -> str:
    """AI2-THOR's objectId for a type at a position: ``Type|+00.06|+00.76|-06.26``."""
    return f'{object_type}|' + '|'.join(f'{float(v):+06.2f}' for v in pos)


def id_coords(object_id: str) -> tuple[float, float, float] | None:
    """The position encoded in an objectId (None when it has none)."""
    parts = object_id.split('|')
    try:
        return float(parts[1]), float(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        return None


def _type_of_name(name: str) -> str:
    return name.split('_')[0]


def _holder(c: np.ndarray, bottom: float, cands: list[SceneObject]) -> SceneObject | None:
    """The receptacle whose box holds a point: smallest enclosing, else the top support below.

    A door-closed container (Drawer, Cabinet, Fridge...) encloses only a centre strictly
    inside its box (3 cm below its top): a pose resting on a dresser's top sits on the
    dresser, not in its top drawer. Supports of equal height prefer furniture over drawers.
    """
    enclosing, supports = [], []
    for r in cands:
        lo, hi = np.array(r.box_min), np.array(r.box_max)
        shut = r.openable and r.object_type in CLOSED_AT_START
        tol = 0.0 if shut else 0.05
        if not (lo[0] - tol <= c[0] <= hi[0] + tol and lo[2] - tol <= c[2] <= hi[2] + tol):
            continue
        inside_y = lo[1] - tol <= c[1] <= (hi[1] - 0.03 if shut else hi[1] + tol)
        if inside_y and (r.openable or r.object_type in INSIDE_TYPES or r.pickupable):
            enclosing.append(r)
        elif bottom - 0.6 <= hi[1] <= bottom + 0.15:
            supports.append((r, shut))
        elif inside_y:
            enclosing.append(r)
    if enclosing:
        return min(enclosing, key=lambda r: float(np.prod(np.maximum(np.subtract(
            r.box_max, r.box_min), 1e-3))))
    if supports:
        return max(supports, key=lambda rs: (round(rs[0].box_max[1], 2), not rs[1]))[0]
    return None


def build_alfred_scene(base: Scene, scene_block: Mapping[str, Any]) -> tuple[Scene, dict]:
    """The ER scene with ALFRED's initial state; also returns notes (unplaced poses etc.).

    Placed objects get THOR-style ids from their pose; a duplicate id gets a ``_k`` suffix.
    The object order (which fixes EB's ``Cabinet_2`` names) is: kept ER objects in ER
    metadata order, then placed objects in ``object_poses`` order, then slice objects.
    """
    by_type: dict[str, SceneObject] = {}
    for o in base.objects:
        by_type.setdefault(o.object_type, o)
    poses = list(scene_block.get('object_poses') or [])
    posed_types = {_type_of_name(str(p.get('objectName', ''))) for p in poses}
    kept = [o for o in base.objects if not o.pickupable and o.object_type not in posed_types]
    placed: list[SceneObject] = []
    seen: set[str] = {o.object_id for o in kept}
    for p in poses:
        name = str(p['objectName'])
        otype = _type_of_name(name)
        pos = np.array([float(p['position'][k]) for k in 'xyz'])
        proto = by_type.get(otype)
        if proto is not None:
            size = np.subtract(proto.box_max, proto.box_min)
            off = np.subtract(proto.center, proto.position)
            rot_y = float((p.get('rotation') or {}).get('y', 0.0))
            if abs(((rot_y - proto.rotation[1]) % 180.0) - 90.0) < 45.0:
                size = size[[2, 1, 0]]
                off = off[[2, 1, 0]]
        else:
            size, off = np.array(DEFAULT_SIZE), np.array([0.0, DEFAULT_SIZE[1] / 2, 0.0])
        ctr = pos + off
        oid = thor_object_id(otype, pos)
        k = 1
        while oid in seen:
            k += 1
            oid = f'{thor_object_id(otype, pos)}_{k}'
        seen.add(oid)
        rot = p.get('rotation') or {}
        flags = {f.name: getattr(proto, f.name) for f in dataclasses.fields(SceneObject)
                 if proto is not None and f.name in ('receptacle', 'openable', 'toggleable',
                                                     'cookable', 'dirtyable', 'moveable')}
        placed.append(SceneObject(
            object_id=oid, object_type=otype, name=name, position=tuple(pos),
            rotation=(float(rot.get('x', 0)), float(rot.get('y', 0)), float(rot.get('z', 0))),
            box_min=tuple(ctr - size / 2), box_max=tuple(ctr + size / 2), pickupable=True,
            **flags))
    # Containment: each placed object goes into the receptacle whose box holds it.
    recs = [o for o in kept + placed if o.receptacle]
    parents: dict[str, str] = {}
    unplaced = []
    for o in placed:
        c = np.array(o.center)
        h = _holder(c, o.box_min[1], [r for r in recs if r.object_id != o.object_id])
        if h is None:
            unplaced.append(o.object_id)
        else:
            parents[o.object_id] = h.object_id
    # Break cycles between placed receptacles (keep the larger one as the holder).
    for cid in list(parents):
        seen_c, p = {cid}, parents.get(cid)
        while p is not None:
            if p in seen_c:
                parents.pop(cid, None)
                break
            seen_c.add(p)
            p = parents.get(p)
    kept_ids = {o.object_id for o in kept}
    contents: dict[str, list[str]] = {}
    for cid, pid in parents.items():
        contents.setdefault(pid, []).append(cid)
    toggles = {str(t.get('objectType')): bool(t.get('isOn'))
               for t in scene_block.get('object_toggles') or []}
    objects = []
    for o in kept:
        on = toggles.get(o.object_type, o.is_toggled)
        objects.append(dataclasses.replace(
            o, is_open=o.openable and o.object_type not in CLOSED_AT_START, is_toggled=on,
            receptacle_object_ids=tuple([c for c in o.receptacle_object_ids if c in kept_ids]
                                        + contents.get(o.object_id, [])),
            parent_receptacles=tuple(p for p in o.parent_receptacles if p in kept_ids)))
    for o in placed:
        objects.append(dataclasses.replace(
            o, is_toggled=toggles.get(o.object_type, False),
            is_open=o.openable and o.object_type not in CLOSED_AT_START,
            receptacle_object_ids=tuple(contents.get(o.object_id, [])),
            parent_receptacles=(parents[o.object_id],) if o.object_id in parents else ()))
    for o in placed:
        n = SLICE_COUNTS.get(o.object_type, 0)
        lo, hi = np.array(o.box_min), np.array(o.box_max)
        for k in range(n):
            a = lo.copy()
            b = hi.copy()
            w = (hi[0] - lo[0]) / n
            a[0], b[0] = lo[0] + k * w, lo[0] + (k + 1) * w
            objects.append(SceneObject(
                object_id=f'{o.object_id}|{o.object_type}Sliced_{k}',
                object_type=f'{o.object_type}Sliced', name=f'{o.name}_Slice_{k + 1}',
                position=tuple((a + b) / 2), rotation=o.rotation, box_min=tuple(a),
                box_max=tuple(b), pickupable=True, cookable=o.cookable))
    init = dict(scene_block.get('init_action') or {})
    start = {
        'position': {'x': float(init.get('x', 0.0)), 'y': AGENT_Y, 'z': float(init.get('z', 0.0))},
        'rotation': {'x': 0.0, 'y': float(init.get('rotation', 0.0)), 'z': 0.0},
        'cameraHorizon': float(init.get('horizon', 0.0)), 'isStanding': True,
    } if init else base.agent_start
    scene = Scene(name=base.name, objects=objects, bounds_min=base.bounds_min,
                  bounds_max=base.bounds_max, metadata=base.metadata, room_type=base.room_type,
                  agent_start=start, origin_pose=base.origin_pose, path=base.path)
    notes = {'unplaced': unplaced, 'n_placed': len(placed), 'n_kept': len(kept),
             'missing_types': sorted({o.object_type for o in placed} - set(by_type)),
             'dirty_and_empty': bool(scene_block.get('dirty_and_empty'))}
    return scene, notes


class AlfredWorld(World):
    """The embedded World under ALFRED's rules, with THOR-2.1-like primitives.

    Args:
        base: the ER scene (never mutated).
        scene_block: an ALFRED episode's ``scene`` block.
        visibility_distance: metres from the agent's vertical axis (EB: 1.5).
        width, height, fov: the camera (EB renders 500x500; THOR's default vertical FOV 90).
    """

    def __init__(self, base: Scene, scene_block: Mapping[str, Any], *,
                 visibility_distance: float = 1.5, width: int = 500, height: int = 500,
                 fov: float = 90.0) -> None:
        scene, self.notes = build_alfred_scene(base, scene_block)
        self._absent = np.array(['Sliced_' in o.object_id for o in scene.objects], dtype=bool)
        #: Sliced whole objects: still listed (``isSliced``), but never visible again.
        self._gone = np.zeros(len(scene.objects), dtype=bool)
        self._alfred_vis = visibility_distance
        super().__init__(scene, None, None, width=width, height=height, fov=fov,
                         visibility_distance=1e6, rules='alfred')
        self._sliceable = np.array([SLICE_COUNTS.get(t, 0) > 0 and 'Sliced' not in t
                                    for t in self.types], dtype=bool)
        self._sliced = np.zeros(len(self.ids), dtype=bool)
        self._toggleable = np.array([o.toggleable or o.object_type in TOGGLE_TYPES
                                     for o in scene.objects], dtype=bool)
        self.cleaned: set[str] = set()
        self.heated: set[str] = set()
        self.cooled: set[str] = set()
        self.dirty_and_empty = bool(self.notes['dirty_and_empty'])
        init = dict(scene_block.get('init_action') or {})
        if init:
            self.teleport(float(init.get('x', 0.0)), float(init.get('z', 0.0)),
                          float(init.get('rotation', 0.0)), float(init.get('horizon', 0.0)))
        self._refresh([self.pose])

    # ------------------------------------------------------------ world hooks
    @staticmethod
    def _component(free: np.ndarray, xs: np.ndarray, zs: np.ndarray, sx: Any,
                   sz: Any) -> np.ndarray:
        """Every free cell, not only the start's component.

        EB only teleports, and the ER boxes (axis-aligned around rotated furniture) can cut
        a room into pieces that THOR's reachable set joins.
        """
        del xs, zs, sx, sz
        return free

    def _update_hidden(self) -> None:
        super()._update_hidden()
        absent = getattr(self, '_absent', None)
        if absent is not None:
            self._hidden |= absent | self._gone

    def _view(self, pose: AgentPose) -> tuple[np.ndarray, np.ndarray]:
        vis, nav = super()._view(pose)
        d = np.maximum(np.maximum(self._box_min[:, [0, 2]] - (pose.x, pose.z),
                                  (pose.x, pose.z) - self._box_max[:, [0, 2]]), 0.0)
        near = np.hypot(d[:, 0], d[:, 1]) <= self._alfred_vis
        vis = vis & near
        if self._held >= 0:
            vis[self._held] = True
        return vis, nav & vis

    # ---------------------------------------------------------------- queries
    def present(self, i: int) -> bool:
        """Whether object ``i`` is in the metadata (not a slice before slicing, not sliced)."""
        return not self._absent[i]

    def metadata_objects(self) -> list[dict[str, Any]]:
        """THOR-style ``metadata['objects']`` of the present objects (live state)."""
        out = []
        cam_x, cam_z = self.pose.x, self.pose.z
        for i, oid in enumerate(self.ids):
            if self._absent[i]:
                continue
            ctr = (self._box_min[i] + self._box_max[i]) * 0.5
            anc = []
            p = self._parent[i]
            while p >= 0:
                anc.append(self.ids[p])
                p = self._parent[p]
            o = self.scene.objects[i]
            out.append({
                'objectId': oid, 'objectType': self.types[i], 'name': o.name,
                'position': {'x': float(ctr[0]), 'y': float(ctr[1]), 'z': float(ctr[2])},
                'rotation': {'x': o.rotation[0], 'y': o.rotation[1], 'z': o.rotation[2]},
                'distance': float(math.sqrt((ctr[0] - cam_x) ** 2 + (ctr[1] - self.pose.y) ** 2
                                            + (ctr[2] - cam_z) ** 2)),
                'visible': bool(self._vis[i]), 'pickupable': bool(self._pickupable[i]),
                'receptacle': bool(o.receptacle), 'openable': bool(self._openable[i]),
                'isOpen': bool(self._open[i]), 'toggleable': bool(self._toggleable[i]),
                'isToggled': bool(self._toggled[i]), 'sliceable': bool(self._sliceable[i]),
                'isSliced': bool(self._sliced[i]), 'isPickedUp': i == self._held,
                'parentReceptacles': anc or None,
                'receptacleObjectIds': self._listing(i) if o.receptacle else None,
            })
        return out

    def _listing(self, i: int) -> list[str]:
        """THOR's ``receptacleObjectIds`` of object ``i``.

        Direct contents, plus what lies in a movable receptacle (plate, bowl, pot) among them;
        not what a fixed container standing on it (a microwave on a counter) holds.
        """
        out, stack = [], list(self._contents[i])
        while stack:
            k = stack.pop(0)
            if self._absent[k]:
                continue
            out.append(self.ids[k])
            if self._pickupable[k]:
                stack.extend(self._contents[k])
        return out

    @property
    def inventory(self) -> list[dict[str, str]]:
        """THOR's ``inventoryObjects``."""
        if self._held < 0:
            return []
        return [{'objectId': self.ids[self._held], 'objectType': self.types[self._held]}]

    def contents_ids(self, object_id: str) -> list[str]:
        """What a receptacle holds (at any depth), present objects only."""
        return [self.ids[k] for k in self._descendants(self._idx(object_id))
                if not self._absent[k]]

    def is_sliced(self, object_id: str) -> bool:
        """Whether an object was sliced."""
        return bool(self._sliced[self._idx(object_id)])

    # ------------------------------------------------------------- primitives
    def _after(self) -> None:
        self._update_hidden()
        self._place_held_in_view()
        self._refresh([self.pose])

    def _usable(self, oid: str) -> int:
        i = self._index.get(oid, -1)
        if i < 0 or self._absent[i] or self._gone[i]:
            return -1
        return i

    def teleport(self, x: float, z: float, rotation: float, horizon: float) -> bool:
        """``TeleportFull`` to a floor point; fails off the reachable grid."""
        d = np.hypot(self._cells[:, 0] - x, self._cells[:, 1] - z)
        if len(d) == 0 or float(d.min()) > 0.2:
            return False
        self.pose = AgentPose(float(x), AGENT_Y, float(z), float(rotation) % 360.0,
                              float(min(max(horizon, -30.0), 60.0)), True)
        self._after()
        return True

    def nearest_cells(self, x: float, z: float, k: int) -> np.ndarray:
        """The ``k`` reachable points nearest (x, z), nearest first: (k, 2)."""
        d = np.hypot(self._cells[:, 0] - x, self._cells[:, 1] - z)
        order = np.argsort(d, kind='stable')[:k]
        return self._cells[order]

    def pickup(self, object_id: str) -> tuple[bool, str]:  # type: ignore[override]
        """``PickupObject(forceAction=False)``."""
        i = self._usable(object_id)
        if i < 0:
            return False, f'no object {object_id}'
        if self._held >= 0:
            return False, 'Agent is already holding an object'
        if not self._pickupable[i]:
            return False, f'{object_id} is not pickupable'
        if not self._vis[i]:
            return False, f'{object_id} is not visible'
        self._detach(i)
        for lst in self._listed:
            lst.discard(i)
        self._moved.add(i)
        self._held = i
        self._after()
        return True, ''

    def put(self, receptacle_id: str) -> tuple[bool, str]:  # type: ignore[override]
        """``PutObject(held, receptacleObjectId=R, forceAction=True)``."""
        r = self._usable(receptacle_id)
        if self._held < 0:
            return False, 'nothing is held'
        if r < 0 or not self.scene.objects[r].receptacle:
            return False, f'{receptacle_id} is not a receptacle'
        h = self._held
        if r == h or r in self._descendants(h):
            return False, 'cannot put an object into itself'
        if self._openable[r] and not self._open[r]:
            return False, f'{receptacle_id} is closed'
        if self._hidden[r] or not self._vis[r]:
            return False, f'{receptacle_id} is not visible'
        self._place(h, r)
        self._held = -1
        self._after()
        return True, ''

    def drop(self) -> tuple[bool, str]:
        """``DropHandObject``: the held object falls onto the floor in front of the agent."""
        if self._held < 0:
            return False, 'nothing is held'
        h = self._held
        floor = np.flatnonzero(self._is_floor)
        fx, fz = geo.forward_vector(self.pose.yaw)
        size = self._box_max[h] - self._box_min[h]
        top = float(self._box_max[floor[0], 1]) if len(floor) else 0.0
        target = np.array([self.pose.x + 0.3 * fx - size[0] / 2, top,
                           self.pose.z + 0.3 * fz - size[2] / 2])
        self._translate(h, target - self._box_min[h])
        self._held = -1
        if len(floor):
            self._parent[h] = int(floor[0])
            self._contents[int(floor[0])].append(h)
        self._after()
        return True, ''

    def _interactable(self, object_id: str, flag: np.ndarray, what: str) -> tuple[int, str]:
        i = self._usable(object_id)
        if i < 0:
            return -1, f'no object {object_id}'
        if not flag[i]:
            return -1, f'{object_id} is not {what}'
        if not self._vis[i]:
            return -1, f'{object_id} is not visible'
        return i, ''

    def open(self, object_id: str) -> tuple[bool, str]:  # type: ignore[override]
        """``OpenObject``."""
        i, err = self._interactable(object_id, self._openable, 'openable')
        if i < 0:
            return False, err
        if self._open[i]:
            return False, f'{object_id} is already open'
        self._open[i] = True
        self._after()
        return True, ''

    def close(self, object_id: str) -> tuple[bool, str]:  # type: ignore[override]
        """``CloseObject``; closing a Fridge cools what it holds (ALFRED's rule)."""
        i, err = self._interactable(object_id, self._openable, 'openable')
        if i < 0:
            return False, err
        if not self._open[i]:
            return False, f'{object_id} is already closed'
        self._open[i] = False
        if self.types[i] == 'Fridge':
            self.cooled |= set(self.contents_ids(object_id))
        self._after()
        return True, ''

    def toggle_on(self, object_id: str) -> tuple[bool, str]:
        """``ToggleObjectOn``; ALFRED's rules: a Faucet cleans, a Microwave heats.

        A Faucet cleans what its nearest SinkBasin holds; a Microwave heats what it holds.
        """
        i, err = self._interactable(object_id, self._toggleable, 'toggleable')
        if i < 0:
            return False, err
        if self._toggled[i]:
            return False, f'{object_id} is already on'
        self._toggled[i] = True
        t = self.types[i]
        if t == 'Faucet':
            basins = [k for k, tt in enumerate(self.types) if tt == 'SinkBasin']
            if basins:
                c = (self._box_min[i] + self._box_max[i]) * 0.5
                cb = (self._box_min[basins] + self._box_max[basins]) * 0.5
                b = basins[int(np.argmin(np.linalg.norm(cb - c, axis=1)))]
                self.cleaned |= set(self.contents_ids(self.ids[b]))
        elif t == 'Microwave':
            self.heated |= set(self.contents_ids(object_id))
        self._after()
        return True, ''

    def toggle_off(self, object_id: str) -> tuple[bool, str]:
        """``ToggleObjectOff``."""
        i, err = self._interactable(object_id, self._toggleable, 'toggleable')
        if i < 0:
            return False, err
        if not self._toggled[i]:
            return False, f'{object_id} is already off'
        self._toggled[i] = False
        self._after()
        return True, ''

    def slice(self, object_id: str) -> tuple[bool, str]:
        """``SliceObject``: the slices take the object's place; it stays listed, sliced."""
        i, err = self._interactable(object_id, self._sliceable, 'sliceable')
        if i < 0:
            return False, err
        if self._sliced[i]:
            return False, f'{object_id} is already sliced'
        if i == self._held:
            return False, 'cannot slice a held object'
        p = self._parent[i]
        self._detach(i)
        for lst in self._listed:
            lst.discard(i)
        self._sliced[i] = True
        self._gone[i] = True
        prefix = object_id + '|'
        for k, oid in enumerate(self.ids):
            if oid.startswith(prefix) and 'Sliced_' in oid:
                self._absent[k] = False
                if p >= 0:
                    self._parent[k] = p
                    self._contents[p].append(k)
                    self._listed[p].add(k)
        self._points = None
        self._after()
        return True, ''
