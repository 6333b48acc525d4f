# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Exact symbolic world state of the embedded simulator, with the reference's action semantics.

The rules follow docs er-protocol.md section 2 (instance resolution, the navigable-type gate, the
size/distance rule, legal interactions, observe, move forward). ``World`` holds the state and its
queries; the rest lives along its seams: navigation.py (the grid), world_visibility.py (visibility
and legality), world_rules.py (derived states and the Type sets), world_actions.py (one handler
per verb). Deviations from the reference are documented there.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ego_reasoner_ros.sim_bridge import navigation as nav
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.scene import Scene, SceneObject
from ego_reasoner_ros.sim_bridge.world_actions import WorldActions
from ego_reasoner_ros.sim_bridge.world_rules import INSIDE_TYPES, RULE_SETS, DerivedStateRules
from ego_reasoner_ros.sim_bridge.world_visibility import VisibilityLegality

logger = logging.getLogger(__name__)


@dataclass
class TaskSpec:
    """What the reference's engine reads from a test case."""

    navigable_objects: list[str] = field(default_factory=list)
    target_objects: list[str] = field(default_factory=list)
    related_objects: list[str] = field(default_factory=list)
    identity: int | str | None = None

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> TaskSpec:
        """From a test case or the ``task`` reset option (unknown keys are ignored)."""
        if d is None:
            return cls()
        if isinstance(d, TaskSpec):
            return d
        return cls(
            navigable_objects=list(d.get("navigable_objects") or []),
            target_objects=list(d.get("target_objects") or []),
            related_objects=list(d.get("related_objects") or []),
            identity=d.get("identity"),
        )


def flatten_agent_positions(
    positions: Mapping[str, Any] | None, identity: int | str | None = None
) -> dict[str, AgentPose]:
    """ObjectId -> pose from ``agent_positions.json`` (identity -> {objectId: pose}).

    Like the reference, every case's entries are flattened (the last one in the file wins);
    the entries of case ``identity`` then take precedence. An already flat mapping is accepted.
    """
    out: dict[str, AgentPose] = {}
    if not positions:
        return out

    def add(entry: Mapping[str, Any]) -> None:
        for oid, pose in entry.items():
            if isinstance(pose, Mapping) and "agent_teleport_position" in pose:
                out[oid] = _pose_from_entry(pose)

    add(positions)  # already flat
    for entry in positions.values():
        if isinstance(entry, Mapping) and "agent_teleport_position" not in entry:
            add(entry)
    if identity is not None and isinstance(positions.get(str(identity)), Mapping):
        add(positions[str(identity)])
    return out


def _pose_from_entry(e: Mapping[str, Any]) -> AgentPose:
    p = e["agent_teleport_position"]
    rot = e.get("agent_rotation") or {}
    return AgentPose(
        float(p["x"]), float(p["y"]), float(p["z"]),
        float(rot.get("y", 0.0)) % 360.0,
        float(e.get("agent_cameraHorizon", 0.0)),
        bool(e.get("agent_isstanding", True)),
    )


class World(WorldActions, VisibilityLegality, DerivedStateRules):
    """Exact state of one episode plus the reference's gates and action semantics.

    Args:
        scene: the loaded scene (never mutated).
        task: the case's navigable/target/related objects and identity.
        agent_positions: ``agent_positions.json`` content (or a flat objectId -> pose map).
        width, height, fov: the camera (vertical FOV in degrees); the frustum uses width/height.
        visibility_distance: metres (the reference evaluates with 20).
        move_distance: metres per ``move forward``.
        put_table: optional Type -> allowed receptacle Types; when given, ``put`` also
            requires the pair to be listed (the reference itself relies on physics only).
        rules: derived-state rule set, ``"er"`` (default) or ``"alfred"`` (see RULE_SETS).
    """

    def __init__(
        self,
        scene: Scene,
        task: TaskSpec | Mapping[str, Any] | None = None,
        agent_positions: Mapping[str, Any] | None = None,
        *,
        width: int = 448,
        height: int = 448,
        fov: float = 90.0,
        visibility_distance: float = 20.0,
        move_distance: float = 0.5,
        put_table: Mapping[str, Sequence[str]] | None = None,
        rules: str = "er",
    ) -> None:
        if width <= 0 or height <= 0 or not 1.0 <= fov < 180.0:
            raise ValueError(f"bad camera: {width}x{height}, fov {fov}")
        if rules not in RULE_SETS:
            raise ValueError(f"unknown rule set {rules!r}; expected one of {RULE_SETS}")
        #: "er": derived states follow the ER rule; "alfred": they are set at events by
        #: sim_bridge.alfred.AlfredWorld (ALFRED's ThorEnv), never by _update_derived.
        self.rules = rules
        self.scene = scene
        self.task = TaskSpec.from_mapping(task)  # type: ignore[arg-type]
        self.fov = float(fov)
        self.aspect = width / height
        self.visibility_distance = float(visibility_distance)
        self.move_distance = float(move_distance)
        self.put_table = (
            {k: frozenset(s.strip() for s in v) for k, v in put_table.items()}
            if put_table
            else None
        )
        self._poses = flatten_agent_positions(agent_positions, self.task.identity)
        objs = scene.objects
        self.ids: list[str] = [o.object_id for o in objs]
        self.types: list[str] = [o.object_type for o in objs]
        self._index = {oid: i for i, oid in enumerate(self.ids)}
        self._types_arr = np.array(self.types, dtype=object)
        self._scene_types = scene.object_types()
        self._type_order = {t: i for i, t in enumerate(self._scene_types)}
        n = len(objs)
        self._box_min = np.array([o.box_min for o in objs], dtype=np.float64).reshape(n, 3)
        self._box_max = np.array([o.box_max for o in objs], dtype=np.float64).reshape(n, 3)
        self._init_min = self._box_min.copy()
        self._init_max = self._box_max.copy()
        self._pickupable = np.array([o.pickupable for o in objs], dtype=bool)
        self._openable = np.array([o.openable for o in objs], dtype=bool)
        self._is_floor = np.array([t == "Floor" for t in self.types], dtype=bool)
        self._stale = {o.object_id: o for o in objs}  # reset snapshot (never updated)
        # Live state.
        self._open = np.array([o.is_open for o in objs], dtype=bool)
        self._toggled = np.array([o.is_toggled for o in objs], dtype=bool)
        self._clean = np.zeros(n, dtype=bool)
        self._cooked = np.array([o.is_cooked for o in objs], dtype=bool)
        self._heated = np.zeros(n, dtype=bool)
        self._cooled = np.zeros(n, dtype=bool)
        self._parent: list[int] = [-1] * n
        self._contents: list[list[int]] = [[] for _ in range(n)]
        self._listed: list[set[int]] = [set() for _ in range(n)]  # live receptacleObjectIds
        self._moved: set[int] = set()
        self._init_containment(objs)
        self._held = -1
        self._current_container = -1
        self._knobs: dict[int, list[int]] = {}
        for i, o in enumerate(objs):
            for c in o.controlled_objects:
                if c in self._index:
                    self._knobs.setdefault(self._index[c], []).append(i)
        self._navigable: dict[str, None] = {}
        for t in self.task.navigable_objects:
            self._navigable[t] = None
        self._legal: list[str] = []
        self._hidden = np.zeros(n, dtype=bool)
        self._points: np.ndarray | None = None
        self._vis = np.zeros(n, dtype=bool)
        self._nav = np.zeros(n, dtype=bool)
        self._update_hidden()
        self._build_grid()
        start = scene.agent_start or {}
        pos = start.get("position") or {}
        floor_top = float(self._box_max[self._is_floor, 1].max()) if self._is_floor.any() else (
            scene.bounds_min[1]
        )
        self._agent_y = float(pos.get("y", floor_top + 0.9))
        self.pose = AgentPose(
            float(pos.get("x", self._cells[0, 0] if len(self._cells) else 0.0)),
            self._agent_y,
            float(pos.get("z", self._cells[0, 1] if len(self._cells) else 0.0)),
            float((start.get("rotation") or {}).get("y", 0.0)),
            float(start.get("cameraHorizon", 0.0)),
            bool(start.get("isStanding", True)),
        )
        self._refresh([self.pose])

    # ------------------------------------------------------------------ setup
    def _init_containment(self, objs: Sequence[SceneObject]) -> None:
        """Direct parents from the reset listings.

        AI2-THOR lists an object in every receptacle whose box it touches, and
        ``parentReceptacles`` is not ordered innermost-first, so the direct parent is chosen
        geometrically: the smallest enclosing container (openable or bowl-like) holding the
        object's centre, else the highest support whose top is at the object's base, else the
        smallest listing receptacle.
        """
        vol = np.prod(np.maximum(self._box_max - self._box_min, 1e-6), axis=1)
        candidates: dict[int, set[int]] = {}
        for r, o in enumerate(objs):
            for cid in o.receptacle_object_ids:
                c = self._index.get(cid)
                if c is not None and c != r:
                    candidates.setdefault(c, set()).add(r)
                    self._listed[r].add(c)
        for c, o in enumerate(objs):
            for pid in o.parent_receptacles:
                p = self._index.get(pid)
                if p is not None and p != c:
                    candidates.setdefault(c, set()).add(p)
        for c, cands in candidates.items():
            self._parent[c] = self._pick_parent(c, sorted(cands), vol)
        for c, p in enumerate(self._parent):
            if p >= 0:
                self._contents[p].append(c)
        # Break accidental cycles.
        for c in range(len(objs)):
            seen = {c}
            p = self._parent[c]
            while p >= 0:
                if p in seen:
                    self._detach(c)
                    break
                seen.add(p)
                p = self._parent[p]

    def _pick_parent(self, c: int, cands: list[int], vol: np.ndarray) -> int:
        ctr = (self._box_min[c] + self._box_max[c]) * 0.5
        base = self._box_min[c, 1]

        def holds(r: int) -> bool:
            return bool(np.all(ctr >= self._box_min[r] - 0.02) and
                        np.all(ctr <= self._box_max[r] + 0.02))

        enclosing = [
            r for r in cands
            if (self._openable[r] or self.types[r] in INSIDE_TYPES) and holds(r)
        ]
        if enclosing:
            return min(enclosing, key=lambda r: vol[r])
        supports = [r for r in cands if self._box_max[r, 1] <= base + 0.05]
        if supports:
            return max(supports, key=lambda r: self._box_max[r, 1])
        return min(cands, key=lambda r: vol[r])

    def _build_grid(self) -> None:
        """The navigation grid (sim_bridge.navigation: the validator's grid too)."""
        floor = np.flatnonzero(self._is_floor)
        if len(floor):
            lo, hi = self._box_min[floor[0]], self._box_max[floor[0]]
        else:
            lo, hi = np.array(self.scene.bounds_min), np.array(self.scene.bounds_max)
        floor_y = float(hi[1]) if len(floor) else float(lo[1])
        blocking = nav.blocking_objects(self.types, self._pickupable, self._box_min,
                                        self._box_max, self._parent, self._is_floor, floor_y)
        sp = (self.scene.agent_start or {}).get("position") or {}
        self.nav = nav.NavGrid(lo, hi, self._box_min[blocking], self._box_max[blocking],
                               (sp.get("x"), sp.get("z")), connect=self._component)
        self._floor_lo, self._floor_hi = self.nav.floor_lo, self.nav.floor_hi
        self._cells = self.nav.cells

    def _free_mask(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return self.nav.free_at(x, z)

    @staticmethod
    def _component(
        free: np.ndarray, xs: np.ndarray, zs: np.ndarray, sx: Any, sz: Any
    ) -> np.ndarray:
        return nav.component(free, xs, zs, sx, sz)

    # ---------------------------------------------------------------- queries
    @property
    def objects(self) -> list[SceneObject]:
        """The scene's objects (reset descriptions; use the queries for live state)."""
        return self.scene.objects

    def scene_types(self) -> list[str]:
        """Distinct Types at reset in first-appearance order (hidden ones included)."""
        return list(self._scene_types)

    def objects_of_type(self, object_type: str) -> list[str]:
        """Ids of the objects of one Type, in metadata order."""
        return [oid for oid, t in zip(self.ids, self.types) if t == object_type]

    def type_of(self, object_id: str) -> str:
        """The Type of an object id."""
        return self.types[self._idx(object_id)]

    def instance_for(self, object_type: str) -> str | None:
        """The reference's instance of a Type (first target_objects id, else first at reset)."""
        i = self._reference_instance(object_type)
        return None if i < 0 else self.ids[i]

    def contents(self, object_id: str) -> list[str]:
        """Ids directly inside/on a receptacle."""
        return [self.ids[c] for c in self._contents[self._idx(object_id)]]

    def parent(self, object_id: str) -> str | None:
        """The receptacle directly holding an object (None when held or free-standing)."""
        p = self._parent[self._idx(object_id)]
        return None if p < 0 else self.ids[p]

    def ancestors(self, object_id: str) -> list[str]:
        """Receptacles holding an object, innermost first."""
        out = []
        p = self._parent[self._idx(object_id)]
        while p >= 0:
            out.append(self.ids[p])
            p = self._parent[p]
        return out

    @property
    def held(self) -> str | None:
        """Id of the held object."""
        return None if self._held < 0 else self.ids[self._held]

    @property
    def held_type(self) -> str | None:
        """Type of the held object."""
        return None if self._held < 0 else self.types[self._held]

    @property
    def current_container(self) -> str | None:
        """The receptacle the agent last navigated to."""
        c = self._current_container
        return None if c < 0 else self.ids[c]

    def is_open(self, object_id: str) -> bool:
        """Live open state."""
        return bool(self._open[self._idx(object_id)])

    def is_toggled(self, object_id: str) -> bool:
        """Live on/off state (a StoveBurner is on when it or a knob controlling it is on)."""
        return self._is_on(self._idx(object_id))

    def box(self, object_id: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Live axis-aligned box (min, max)."""
        i = self._idx(object_id)
        return tuple(self._box_min[i]), tuple(self._box_max[i])

    @property
    def agent_pose(self) -> AgentPose:
        """The agent's pose."""
        return self.pose

    @property
    def reachable_positions(self) -> np.ndarray:
        """(M, 2) free floor points (x, z) on the 0.25 m grid."""
        return self._cells.copy()

    def render_arrays(self) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """Boxes to draw now: (min (K,3), max (K,3), types, indices); hidden objects left out."""
        keep = np.flatnonzero(~self._hidden)
        return self._box_min[keep], self._box_max[keep], [self.types[i] for i in keep], keep

    def snapshot(self) -> dict[str, Any]:
        """Deep-copied JSON-able state."""
        objs = []
        for i, oid in enumerate(self.ids):
            objs.append(
                {
                    "objectId": oid,
                    "objectType": self.types[i],
                    "parent": None if self._parent[i] < 0 else self.ids[self._parent[i]],
                    "contents": [self.ids[c] for c in self._contents[i]],
                    "isOpen": bool(self._open[i]),
                    "isToggled": self._is_on(i),
                    "isClean": bool(self._clean[i]),
                    "isCooked": bool(self._cooked[i]),
                    "isHeated": bool(self._heated[i]),
                    "isCooled": bool(self._cooled[i]),
                    "isPickedUp": i == self._held,
                    "hidden": bool(self._hidden[i]),
                    "visible": bool(self._vis[i]),
                    "boxMin": [float(v) for v in self._box_min[i]],
                    "boxMax": [float(v) for v in self._box_max[i]],
                }
            )
        return copy.deepcopy(
            {
                "scene": self.scene.name,
                "agent": self.pose.to_dict(),
                "held": self.held,
                "current_container": self.current_container,
                "navigable_types": self.navigable_types,
                "legal_types": self.legal_types,
                "objects": objs,
            }
        )

    def state_key(self) -> tuple:
        """Hashable summary of the mutable state (used to check that failures change nothing)."""
        return (
            self.pose,
            self._held,
            self._current_container,
            tuple(self._parent),
            tuple(frozenset(x) for x in self._listed),
            self._open.tobytes(),
            self._toggled.tobytes(),
            self._box_min.tobytes(),
            tuple(self._navigable),
            tuple(self._legal),
        )

    # --------------------------------------------------------------- internals
    def _idx(self, object_id: str) -> int:
        try:
            return self._index[object_id]
        except KeyError:
            raise KeyError(f"no object {object_id!r} in scene {self.scene.name}") from None

    def _reference_instance(self, object_type: str, *, second: bool = False) -> int:
        hits = [
            self._index[t]
            for t in self.task.target_objects
            if t in self._index and self.types[self._index[t]] == object_type
        ]
        if hits:
            return hits[1] if second and len(hits) > 1 else hits[0]
        for i, t in enumerate(self.types):
            if t == object_type:
                return i
        return -1

    def _is_on(self, i: int) -> bool:
        if self._toggled[i]:
            return True
        return any(self._toggled[k] for k in self._knobs.get(i, ()))

    def _descendants(self, i: int) -> list[int]:
        out, stack = [], list(self._contents[i])
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(self._contents[c])
        return out

    def _translate(self, i: int, delta: np.ndarray) -> None:
        for k in [i, *self._descendants(i)]:
            self._box_min[k] += delta
            self._box_max[k] += delta
        self._points = None

    def _detach(self, c: int) -> None:
        p = self._parent[c]
        if p >= 0:
            self._contents[p].remove(c)
        self._parent[c] = -1


def load_put_table(entries: Iterable[Mapping[str, Sequence[str]]] | Mapping) -> dict[str, list]:
    """``pick_up_and_put.json`` (a list of one-key dicts) as Type -> receptacle Types."""
    out: dict[str, list[str]] = {}
    items = entries.items() if isinstance(entries, Mapping) else (
        kv for e in entries for kv in e.items()
    )
    for k, v in items:
        out[k.strip()] = [s.strip() for s in v]
    return out
