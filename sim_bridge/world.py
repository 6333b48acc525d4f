# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Exact symbolic world state of the embedded simulator, with the reference's action semantics.

The rules follow docs er-protocol.md section 2 (instance resolution, the navigable-type gate, the
size/distance rule, legal interactions, observe, move forward). Deviations, all documented in
the methods: occlusion is not modelled (visibility = frustum + distance + not inside a closed
container), ``put`` uses a size-fit rule instead of PutObject physics, interactions fall back to
another in-reach instance of the Type when the reference's instance is out of reach, a StoveBurner
may be toggled directly, and the navigate redirect only applies while the related object is
still in that receptacle.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, Verb
from ego_reasoner_ros.sim_bridge import geometry as geo
from ego_reasoner_ros.sim_bridge import navigation as nav
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.scene import Scene, SceneObject

logger = logging.getLogger(__name__)

#: Receptacles that hold their contents inside rather than on top.
INSIDE_TYPES = frozenset(
    {
        "SinkBasin", "BathtubBasin", "Sink", "Bathtub", "Pan", "Pot", "Bowl", "Mug", "Cup",
        "Box", "GarbageCan", "LaundryHamper", "Microwave", "Fridge", "Toaster", "Drawer",
        "Cabinet", "Safe", "Kettle", "CoffeeMachine",
    }
)
#: Food that cooks in a pan or pot on a lit burner, besides objects flagged ``cookable``.
FOOD_TYPES = frozenset(
    {
        "Apple", "AppleSliced", "Bread", "BreadSliced", "Egg", "EggCracked", "Lettuce",
        "LettuceSliced", "Potato", "PotatoSliced", "Tomato", "TomatoSliced",
    }
)
COOKWARE_TYPES = frozenset({"Pan", "Pot"})
WASH_BASINS = frozenset({"SinkBasin", "BathtubBasin", "Sink", "Bathtub"})

#: Derived-state rule sets: Embodied-Reasoner's (continuous) and ALFRED's (event-based).
RULE_SETS = ("er", "alfred")
PITCH_MIN, PITCH_MAX = -30.0, 60.0


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


@dataclass
class ActionResult:
    """Outcome of one world action: success, feedback, the error and the frames to render."""

    success: bool
    feedback: str
    error: str = ""
    poses: list[AgentPose] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


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


class World:
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

    def is_clean(self, object_id: str) -> bool:
        """Washed during the episode (in a basin while its faucet ran)."""
        return bool(self._clean[self._idx(object_id)])

    def is_cooked(self, object_id: str) -> bool:
        """Cooked (at reset, or food in a pan/pot on a lit burner, or in a running microwave)."""
        return bool(self._cooked[self._idx(object_id)])

    def is_heated(self, object_id: str) -> bool:
        """Heated in a running microwave or on a lit burner during the episode."""
        return bool(self._heated[self._idx(object_id)])

    def is_cooled(self, object_id: str) -> bool:
        """Inside a closed fridge at some point during the episode."""
        return bool(self._cooled[self._idx(object_id)])

    def is_hidden(self, object_id: str) -> bool:
        """Inside a closed openable receptacle (at any depth)."""
        return bool(self._hidden[self._idx(object_id)])

    def is_visible(self, object_id: str) -> bool:
        """Visible in the current front view (frustum, distance, not hidden; no occlusion)."""
        return bool(self._vis[self._idx(object_id)])

    def in_reach(self, object_id: str) -> bool:
        """Interactable now: visible and navigable by size/distance or in the current container."""
        return self._reachable(self._idx(object_id))

    def box(self, object_id: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Live axis-aligned box (min, max)."""
        i = self._idx(object_id)
        return tuple(self._box_min[i]), tuple(self._box_max[i])

    @property
    def navigable_types(self) -> list[str]:
        """Types that ``navigate to`` accepts now (seeded, then everything seen navigable)."""
        return list(self._navigable)

    @property
    def legal_types(self) -> list[str]:
        """Types that interactions accept now."""
        return list(self._legal)

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

    def _reachable(self, i: int) -> bool:
        if not self._vis[i]:
            return False
        if self._nav[i] or i == self._held:
            return True
        c = self._current_container
        return c >= 0 and (i in self._listed[c] or self._parent[i] == c)

    def _update_hidden(self) -> None:
        n = len(self.ids)
        hidden = np.zeros(n, dtype=bool)
        for i in range(n):
            p = self._parent[i]
            while p >= 0:
                if self._openable[p] and not self._open[p]:
                    hidden[i] = True
                    break
                p = self._parent[p]
        if self._held >= 0:
            hidden[self._held] = False
        self._hidden = hidden

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

    def _place_held_in_view(self) -> None:
        if self._held < 0:
            return
        cam = self.pose.camera_position()
        fx, fz = geo.forward_vector(self.pose.yaw)
        target = np.array([cam[0] + 0.5 * fx, cam[1] - 0.3, cam[2] + 0.5 * fz])
        centre = (self._box_min[self._held] + self._box_max[self._held]) * 0.5
        self._translate(self._held, target - centre)

    def _view(self, pose: AgentPose) -> tuple[np.ndarray, np.ndarray]:
        if self._points is None:
            self._points = geo.box_corners(self._box_min, self._box_max)
        cam = pose.camera_position()
        vis = geo.in_frustum(
            self._points, cam, pose.yaw, pose.horizon, self.fov, self.aspect,
            self.visibility_distance,
        )
        vis &= ~self._hidden
        if self._held >= 0:
            vis[self._held] = True
        nav = vis & ~self._is_floor
        nav &= geo.navigable_by_size(self._box_min, self._box_max, (pose.x, pose.z))
        return vis, nav

    def _refresh(self, poses: Sequence[AgentPose], front: AgentPose | None = None) -> None:
        """Accumulate navigable Types over ``poses`` and recompute legality for ``front``."""
        front = front or poses[-1]
        for p in poses:
            if p is front:
                continue
            _, nav = self._view(p)
            for t in self._types_arr[nav]:
                self._navigable.setdefault(t, None)
        vis, nav = self._view(front)
        self._vis, self._nav = vis, nav
        legal = set(self._types_arr[nav])
        c = self._current_container
        if c >= 0:
            for k in self._listed[c].union(self._contents[c]):
                if vis[k]:
                    legal.add(self.types[k])
        for t in self._types_arr[nav]:
            self._navigable.setdefault(t, None)
        self._legal = sorted(legal, key=lambda t: self._type_order.get(t, 1 << 30))

    def _update_derived(self) -> None:
        if self.rules != "er":
            return
        on = [self._is_on(i) for i in range(len(self.ids))]
        for i, t in enumerate(self.types):
            if t in WASH_BASINS and self._faucet_on(i, on):
                for k in self._descendants(i):
                    self._clean[k] = True
            elif t == "StoveBurner" and on[i]:
                for k in self._contents[i]:
                    if self._is_food(k):
                        self._cooked[k] = self._heated[k] = True
                    if self.types[k] in COOKWARE_TYPES:
                        self._heated[k] = True
                        for f in self._descendants(k):
                            if self._is_food(f):
                                self._cooked[f] = True
                            self._heated[f] = True
            elif t == "Microwave" and on[i]:
                for k in self._descendants(i):
                    self._heated[k] = True
                    if self._is_food(k):
                        self._cooked[k] = True
            elif t == "Fridge" and not self._open[i]:
                for k in self._descendants(i):
                    self._cooled[k] = True

    def _is_food(self, k: int) -> bool:
        return self.scene.objects[k].cookable or self.types[k] in FOOD_TYPES

    def _faucet_on(self, basin: int, on: list[bool]) -> bool:
        faucets = [i for i, t in enumerate(self.types) if t in ("Faucet", "ShowerHead")]
        if not faucets:
            return False
        c = (self._box_min[basin] + self._box_max[basin]) * 0.5
        cf = (self._box_min[faucets] + self._box_max[faucets]) * 0.5
        nearest = faucets[int(np.argmin(np.linalg.norm(cf - c, axis=1)))]
        return on[nearest]

    # ---------------------------------------------------------------- actions
    def apply(self, verb: Verb | str, target: str | None = None) -> ActionResult:
        """Run one action (a core verb); a failed action leaves the state unchanged."""
        handler = _HANDLERS.get(verb)
        if handler is None:
            return ActionResult(False, f"'{verb}' is not an action I can perform.", "bad verb")
        if verb in OBJECTLESS_VERBS:
            return handler(self)
        if not target:
            return ActionResult(False, f"'{verb}' needs an object.", "missing object")
        if target not in self._type_order:
            return ActionResult(
                False, f"There is no {target} in this room.", f"no object of type {target}"
            )
        return handler(self, target)

    def init(self) -> ActionResult:
        """Teleport to the reachable point nearest a floor corner, facing inward."""
        lo, hi = self.scene.bounds_min, self.scene.bounds_max
        corners = [(hi[0], hi[2], 225.0), (hi[0], lo[2], 315.0), (lo[0], hi[2], 135.0),
                   (lo[0], lo[2], 45.0)]
        best = None
        for cx, cz, yaw in corners:
            d = np.hypot(self._cells[:, 0] - cx, self._cells[:, 1] - cz)
            k = int(np.argmin(d))
            if best is None or d[k] < best[0]:
                best = (float(d[k]), k, yaw)
        assert best is not None
        x, z = self._cells[best[1]]
        self.pose = AgentPose(float(x), self._agent_y, float(z), best[2], 0.0, True)
        self._place_held_in_view()
        self._refresh([self.pose])
        return ActionResult(True, "Initialised.", poses=[self.pose])

    def navigate(self, object_type: str) -> ActionResult:
        """``navigate to T``: the navigable gate, instance resolution, redirect, pose."""
        if object_type not in self._navigable:
            return ActionResult(
                False,
                f"I cannot navigate to {object_type}: I have not seen one from here yet.",
                f"{object_type} is not navigable",
            )
        second = self._held >= 0 and str(self.task.identity) in ("84", "85")
        inst = self._reference_instance(object_type, second=second)
        target = inst
        snap = self._stale[self.ids[inst]]
        if snap.receptacle and not snap.openable:
            for rid in self.task.related_objects:
                r = self._index.get(rid)
                if r is not None and rid in snap.receptacle_object_ids and r not in self._moved:
                    target = r
                    break
        pose = self._poses.get(self.ids[target]) or self._compute_pose(target)
        if pose is None:
            return ActionResult(False, f"I cannot find a way to reach the {object_type}.",
                                "no interactable pose")
        self.pose = pose
        if self.scene.objects[inst].receptacle:
            self._current_container = inst
        self._place_held_in_view()
        self._refresh([self.pose])
        return ActionResult(True, f"Arrived at the {object_type}.", poses=[self.pose])

    def _compute_pose(self, i: int) -> AgentPose | None:
        cells = self._cells
        if len(cells) == 0:
            return None
        bmin, bmax = self._box_min[i], self._box_max[i]
        d = geo.rect_distance(cells[:, 0], cells[:, 1], bmin, bmax)
        centre = (bmin + bmax) * 0.5
        mid = (self._floor_lo + self._floor_hi) * 0.5
        diag = float(np.hypot(*(self._floor_hi - self._floor_lo)[[0, 2]])) or 1.0
        to_mid = np.hypot(cells[:, 0] - mid[0], cells[:, 1] - mid[2]) / diag
        score = np.abs(d - 0.6) + 0.15 * to_mid
        for lo_d, hi_d in ((0.5, 1.0), (0.25, 1.5)):
            ok = (d >= lo_d) & (d <= hi_d)
            if ok.any():
                k = int(np.flatnonzero(ok)[np.argmin(score[ok])])
                break
        else:
            k = int(np.argmin(d))
        x, z = float(cells[k, 0]), float(cells[k, 1])
        yaw = geo.yaw_towards(centre[0] - x, centre[2] - z)
        standing = not (self._agent_y > bmax[1] + 0.44)
        probe = AgentPose(x, self._agent_y, z, yaw, 0.0, standing)
        pitch = geo.pitch_towards(probe.camera_position(), tuple(centre))
        pitch = float(min(max(pitch, PITCH_MIN), PITCH_MAX))
        return AgentPose(x, self._agent_y, z, yaw, pitch, standing)

    def _interaction_instance(self, object_type: str, want) -> int:  # noqa: ANN001
        ref = self._reference_instance(object_type)
        if ref >= 0 and self._reachable(ref) and want(ref):
            return ref
        cands = [i for i, t in enumerate(self.types) if t == object_type and self._reachable(i)]
        if not cands:
            return ref
        c = self._current_container
        px, pz = self.pose.x, self.pose.z

        def key(i: int) -> tuple:
            ctr = (self._box_min[i] + self._box_max[i]) * 0.5
            return (not want(i), not (c >= 0 and self._parent[i] == c),
                    math.hypot(ctr[0] - px, ctr[2] - pz))

        return min(cands, key=key)

    def _gate(self, object_type: str) -> ActionResult | None:
        if object_type not in self._legal:
            return ActionResult(
                False,
                f"The {object_type} is not within reach; I need to get closer to it first.",
                f"{object_type} is not interactable from here",
            )
        return None

    def _done(self, msg: str) -> ActionResult:
        self._update_hidden()
        self._update_derived()
        self._place_held_in_view()
        self._refresh([self.pose])
        return ActionResult(True, msg, poses=[self.pose])

    def pickup(self, object_type: str) -> ActionResult:
        """``pickup T``: T legal, hand empty, the instance pickupable and not enclosed."""
        fail = self._gate(object_type)
        if fail:
            return fail
        if self._held >= 0:
            return ActionResult(
                False, f"My hand is already holding the {self.types[self._held]}.",
                "hand is full",
            )
        i = self._interaction_instance(
            object_type, lambda k: bool(self._pickupable[k]) and not self._hidden[k]
        )
        if not self._pickupable[i]:
            return ActionResult(False, f"The {object_type} cannot be picked up.",
                                f"{self.ids[i]} is not pickupable")
        if self._hidden[i]:
            box = self.ids[self._parent[i]] if self._parent[i] >= 0 else "container"
            return ActionResult(
                False, f"The {object_type} is inside a closed container; open it first.",
                f"{self.ids[i]} is inside closed {box}",
            )
        if not self._reachable(i):
            return ActionResult(False, f"I cannot reach that {object_type} from here.",
                                f"{self.ids[i]} is not interactable")
        self._detach(i)
        for lst in self._listed:
            lst.discard(i)
        self._moved.add(i)
        self._held = i
        return self._done(f"Picked up the {object_type}.")

    def put(self, object_type: str) -> ActionResult:
        """``put T``: something held, T a receptacle in reach, open if openable, and a fit."""
        fail = self._gate(object_type)
        if fail:
            return fail
        if self._held < 0:
            return ActionResult(False, "I am not holding anything to put down.",
                                "nothing is held")
        h = self._held
        banned = {h, *self._descendants(h)}
        objs = self.scene.objects

        def ok(k: int) -> bool:
            return (k not in banned and objs[k].receptacle and not self._hidden[k]
                    and (not self._openable[k] or bool(self._open[k])) and self._fits(h, k))

        r = self._interaction_instance(object_type, ok)
        held_t = self.types[h]
        if r in banned or not objs[r].receptacle:
            return ActionResult(False, f"I cannot put the {held_t} on or in the {object_type}.",
                                f"{self.ids[r]} is not a valid receptacle")
        if self._openable[r] and not self._open[r]:
            return ActionResult(False, f"The {object_type} is closed; I need to open it first.",
                                f"{self.ids[r]} is closed")
        if self._hidden[r] or not self._reachable(r):
            return ActionResult(False, f"I cannot reach that {object_type} from here.",
                                f"{self.ids[r]} is not interactable")
        if not self._fits(h, r) or (
            self.put_table is not None and object_type not in self.put_table.get(held_t, ())
            and not (object_type == "SinkBasin" and "Sink" in self.put_table.get(held_t, ()))
        ):
            return ActionResult(False, f"The {held_t} does not fit on or in the {object_type}.",
                                f"{held_t} cannot be placed in {self.ids[r]}")
        self._place(h, r)
        self._held = -1
        return self._done(f"Put the {held_t} in/on the {object_type}.")

    def _fits(self, h: int, r: int) -> bool:
        hs = self._box_max[h] - self._box_min[h]
        rs = self._box_max[r] - self._box_min[r]
        return float(min(hs[0], hs[2])) <= 2.0 * float(max(rs[0], rs[2])) + 0.05

    def _place(self, h: int, r: int) -> None:
        inside = self._openable[r] or self.types[r] in INSIDE_TYPES
        rmin, rmax = self._box_min[r], self._box_max[r]
        size = self._box_max[h] - self._box_min[h]
        n = len(self._contents[r])
        # Spread successive items a little across the receptacle's footprint.
        span = np.maximum((rmax - rmin) * 0.5 - size * 0.5, 0.0)
        off = np.array([((n % 3) - 1) * 0.5, 0.0, (((n // 3) % 3) - 1) * 0.5]) * span
        bottom = rmin[1] + 0.01 if inside else rmax[1]
        target_min = np.array(
            [(rmin[0] + rmax[0]) / 2 - size[0] / 2, bottom, (rmin[2] + rmax[2]) / 2 - size[2] / 2]
        ) + off
        self._translate(h, target_min - self._box_min[h])
        self._parent[h] = r
        self._contents[r].append(h)
        self._listed[r].add(h)

    def _openable_instance(self, object_type: str, want_open: bool) -> ActionResult | int:
        fail = self._gate(object_type)
        if fail:
            return fail
        i = self._interaction_instance(
            object_type, lambda k: bool(self._openable[k]) and bool(self._open[k]) != want_open
        )
        if not self._openable[i]:
            return ActionResult(False, f"The {object_type} cannot be opened or closed.",
                                f"{self.ids[i]} is not openable")
        if not self._reachable(i):
            return ActionResult(False, f"I cannot reach that {object_type} from here.",
                                f"{self.ids[i]} is not interactable")
        if bool(self._open[i]) == want_open:
            state = "open" if want_open else "closed"
            return ActionResult(False, f"The {object_type} is already {state}.",
                                f"{self.ids[i]} is already {state}")
        return i

    def open(self, object_type: str) -> ActionResult:
        """``open T``."""
        i = self._openable_instance(object_type, True)
        if isinstance(i, ActionResult):
            return i
        self._open[i] = True
        return self._done(f"Opened the {object_type}.")

    def close(self, object_type: str) -> ActionResult:
        """``close T``."""
        i = self._openable_instance(object_type, False)
        if isinstance(i, ActionResult):
            return i
        self._open[i] = False
        return self._done(f"Closed the {object_type}.")

    def _can_toggle(self, k: int) -> bool:
        return self.scene.objects[k].toggleable or self.types[k] == "StoveBurner"

    def toggle(self, object_type: str) -> ActionResult:
        """``toggle T``: Off if the reset snapshot says the object is on, else On.

        As in the reference, so toggling the same object twice fails.
        """
        fail = self._gate(object_type)
        if fail:
            return fail

        def want(k: int) -> bool:
            return self._can_toggle(k) and self._is_on(k) == self._stale[self.ids[k]].is_toggled

        i = self._interaction_instance(object_type, want)
        if not self._can_toggle(i):
            return ActionResult(False, f"The {object_type} has no switch to toggle.",
                                f"{self.ids[i]} is not toggleable")
        if not self._reachable(i):
            return ActionResult(False, f"I cannot reach that {object_type} from here.",
                                f"{self.ids[i]} is not interactable")
        turn_on = not self._stale[self.ids[i]].is_toggled
        if self._is_on(i) == turn_on:
            state = "on" if turn_on else "off"
            return ActionResult(False, f"The {object_type} is already {state}.",
                                f"{self.ids[i]} is already {state}")
        if turn_on:
            self._toggled[i] = True
        else:
            self._toggled[i] = False
            for k in self._knobs.get(i, ()):
                self._toggled[k] = False
        return self._done(f"Turned the {object_type} {'on' if turn_on else 'off'}.")

    def observe(self) -> ActionResult:
        """Look left, back and right (three frames), then face the original heading again."""
        p = self.pose
        views = [p.with_yaw(p.yaw - 90), p.with_yaw(p.yaw - 180), p.with_yaw(p.yaw - 270)]
        self._refresh([*views, p], front=p)
        return ActionResult(True, "Looked around.", poses=views,
                            labels=["left view", "back view", "right view"])

    def _segment_free(self, x0: float, z0: float, x1: float, z1: float) -> bool:
        t = np.linspace(0.0, 1.0, 6)[1:]
        return bool(self._free_mask(x0 + (x1 - x0) * t, z0 + (z1 - z0) * t).all())

    def move_forward(self) -> ActionResult:
        """Move ahead, or sidestep when blocked.

        The sidestep goes toward the nearer visible related object (default right), then
        the other side, then backwards. Always reports success, like the reference (which
        reads success from its last rotation).
        """
        p = self.pose
        step = self.move_distance
        right_first = True
        rel = [self._index[r] for r in self.task.related_objects if r in self._index]
        rel = [r for r in rel if self._vis[r]]
        if rel:
            ctr = (self._box_min[rel] + self._box_max[rel]) * 0.5
            k = int(np.argmin(np.hypot(ctr[:, 0] - p.x, ctr[:, 2] - p.z)))
            rx, rz = geo.forward_vector(p.yaw + 90)
            right_first = (ctr[k, 0] - p.x) * rx + (ctr[k, 2] - p.z) * rz >= 0
        offsets = [0.0, 90.0 if right_first else -90.0, -90.0 if right_first else 90.0, 180.0]
        msg = "Moved forward."
        for n, off in enumerate(offsets):
            dx, dz = geo.forward_vector(p.yaw + off)
            nx, nz = p.x + step * dx, p.z + step * dz
            if self._segment_free(p.x, p.z, nx, nz):
                self.pose = AgentPose(nx, p.y, nz, p.yaw, p.horizon, p.standing)
                if n:
                    msg = "The way ahead is blocked, so I stepped aside."
                break
        else:
            msg = "The way is blocked in every direction; I stayed in place."
        self._place_held_in_view()
        self._refresh([self.pose])
        return ActionResult(True, msg, poses=[self.pose])

    def end(self) -> ActionResult:
        """``end`` is never executed by the reference; it only stops the episode."""
        return ActionResult(True, "Episode ended.")


#: One handler per core verb (``put in`` places like ``put``).
_HANDLERS = {
    Verb.INIT: World.init,
    Verb.NAVIGATE_TO: World.navigate,
    Verb.PICKUP: World.pickup,
    Verb.PUT: World.put,
    Verb.PUT_IN: World.put,
    Verb.TOGGLE: World.toggle,
    Verb.OPEN: World.open,
    Verb.CLOSE: World.close,
    Verb.OBSERVE: World.observe,
    Verb.MOVE_FORWARD: World.move_forward,
    Verb.END: World.end,
}
assert set(_HANDLERS) == set(Verb), "every core verb needs a World handler"


def load_put_table(entries: Iterable[Mapping[str, Sequence[str]]] | Mapping) -> dict[str, list]:
    """``pick_up_and_put.json`` (a list of one-key dicts) as Type -> receptacle Types."""
    out: dict[str, list[str]] = {}
    items = entries.items() if isinstance(entries, Mapping) else (
        kv for e in entries for kv in e.items()
    )
    for k, v in items:
        out[k.strip()] = [s.strip() for s in v]
    return out
