# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""AI2-THOR scene metadata in the Embodied-Reasoner layout.

A scene folder is ``<scenes_dir>/<room>/<FloorPlanN>/`` holding ``metadata.json`` (a one-element
list with an AI2-THOR ``event.metadata``) and, usually, ``originPos.json`` (the data engine's
start pose). :class:`Scene` keeps the objects with their boxes and states and the raw reset
metadata, which the reference uses as a stale snapshot.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import DataError

logger = logging.getLogger(__name__)

ROOM_FOLDERS = ("kitchens", "living_rooms", "bedrooms", "bathrooms")
_ROOM_BY_HUNDRED = {0: "kitchens", 2: "living_rooms", 3: "bedrooms", 4: "bathrooms"}
_FLOORPLAN_RE = re.compile(r"^FloorPlan(\d+)(?:_physics)?$")

Vec3 = tuple[float, float, float]


def room_type_of(scene_name: str) -> str | None:
    """Room folder of an iTHOR FloorPlan name (``FloorPlan201`` -> ``living_rooms``)."""
    m = _FLOORPLAN_RE.match(scene_name)
    if not m:
        return None
    return _ROOM_BY_HUNDRED.get(int(m.group(1)) // 100)


def _vec(d: Any, what: str) -> Vec3:
    try:
        return (float(d["x"]), float(d["y"]), float(d["z"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"bad vector for {what}: {d!r}") from exc


@dataclass
class SceneObject:
    """One object of the scene at reset (immutable description; live state lives in World)."""

    object_id: str
    object_type: str
    name: str
    position: Vec3
    rotation: Vec3
    box_min: Vec3
    box_max: Vec3
    pickupable: bool = False
    receptacle: bool = False
    openable: bool = False
    is_open: bool = False
    toggleable: bool = False
    is_toggled: bool = False
    cookable: bool = False
    is_cooked: bool = False
    dirtyable: bool = False
    is_dirty: bool = False
    moveable: bool = False
    receptacle_object_ids: tuple[str, ...] = ()
    parent_receptacles: tuple[str, ...] = ()
    controlled_objects: tuple[str, ...] = ()

    @property
    def center(self) -> Vec3:
        """Centre of the axis-aligned box."""
        return tuple((a + b) * 0.5 for a, b in zip(self.box_min, self.box_max))  # type: ignore

    @property
    def size(self) -> Vec3:
        """Extent of the axis-aligned box."""
        return tuple(b - a for a, b in zip(self.box_min, self.box_max))  # type: ignore

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SceneObject:
        """Build from one entry of AI2-THOR ``metadata["objects"]``."""
        try:
            oid = str(d["objectId"])
            otype = str(d["objectType"])
        except (KeyError, TypeError) as exc:
            raise DataError(f"object without objectId/objectType: {str(d)[:120]}") from exc
        aabb = d.get("axisAlignedBoundingBox") or {}
        pos = _vec(d.get("position", {"x": 0, "y": 0, "z": 0}), oid)
        if aabb.get("center") and aabb.get("size"):
            c = _vec(aabb["center"], oid)
            s = _vec(aabb["size"], oid)
            bmin = tuple(c[i] - abs(s[i]) / 2 for i in range(3))
            bmax = tuple(c[i] + abs(s[i]) / 2 for i in range(3))
        elif aabb.get("cornerPoints"):
            pts = aabb["cornerPoints"]
            bmin = tuple(min(float(p[i]) for p in pts) for i in range(3))
            bmax = tuple(max(float(p[i]) for p in pts) for i in range(3))
        else:
            bmin = tuple(v - 0.05 for v in pos)
            bmax = tuple(v + 0.05 for v in pos)
        return cls(
            object_id=oid,
            object_type=otype,
            name=str(d.get("name", oid)),
            position=pos,
            rotation=_vec(d.get("rotation", {"x": 0, "y": 0, "z": 0}), oid),
            box_min=bmin,  # type: ignore[arg-type]
            box_max=bmax,  # type: ignore[arg-type]
            pickupable=bool(d.get("pickupable", False)),
            receptacle=bool(d.get("receptacle", False)),
            openable=bool(d.get("openable", False)),
            is_open=bool(d.get("isOpen", False)),
            toggleable=bool(d.get("toggleable", False)),
            is_toggled=bool(d.get("isToggled", False)),
            cookable=bool(d.get("cookable", False)),
            is_cooked=bool(d.get("isCooked", False)),
            dirtyable=bool(d.get("dirtyable", False)),
            is_dirty=bool(d.get("isDirty", False)),
            moveable=bool(d.get("moveable", False)),
            receptacle_object_ids=tuple(d.get("receptacleObjectIds") or ()),
            parent_receptacles=tuple(d.get("parentReceptacles") or ()),
            controlled_objects=tuple(d.get("controlledObjects") or ()),
        )


@dataclass
class Scene:
    """A loaded scene: objects, bounds, start poses and the raw reset metadata."""

    name: str
    objects: list[SceneObject]
    bounds_min: Vec3
    bounds_max: Vec3
    metadata: dict[str, Any] = field(repr=False)
    room_type: str | None = None
    agent_start: dict[str, Any] | None = None
    origin_pose: dict[str, Any] | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        self._by_id = {o.object_id: o for o in self.objects}
        if len(self._by_id) != len(self.objects):
            logger.warning("scene %s has duplicate objectIds; the last one wins", self.name)

    @classmethod
    def from_metadata(
        cls,
        metadata: dict[str, Any] | list,
        name: str | None = None,
        *,
        room_type: str | None = None,
        origin_pose: dict[str, Any] | None = None,
        path: Path | None = None,
    ) -> Scene:
        """Build from an AI2-THOR event metadata dict (or the one-element list around it)."""
        where = f" in {path}" if path else ""
        if isinstance(metadata, list):
            if not metadata or not isinstance(metadata[0], dict):
                raise DataError(f"scene metadata list is empty or malformed{where}")
            metadata = metadata[0]
        if not isinstance(metadata, dict) or not isinstance(metadata.get("objects"), list):
            raise DataError(f"scene metadata has no 'objects' list{where}")
        objects = [SceneObject.from_dict(o) for o in metadata["objects"]]
        if not objects:
            raise DataError(f"scene metadata has no objects{where}")
        name = name or str(metadata.get("sceneName") or "scene")
        bmin, bmax = _scene_bounds(metadata, objects)
        agent = metadata.get("agent") if isinstance(metadata.get("agent"), dict) else None
        return cls(
            name=name,
            objects=objects,
            bounds_min=bmin,
            bounds_max=bmax,
            metadata=metadata,
            room_type=room_type or room_type_of(name),
            agent_start=agent,
            origin_pose=origin_pose,
            path=path,
        )

    def object(self, object_id: str) -> SceneObject:
        """The object with ``object_id``; KeyError if absent."""
        return self._by_id[object_id]

    def get(self, object_id: str) -> SceneObject | None:
        """The object with ``object_id`` or None."""
        return self._by_id.get(object_id)

    def object_types(self) -> list[str]:
        """Distinct Types in first-appearance order (hidden objects included)."""
        return list(dict.fromkeys(o.object_type for o in self.objects))

    def objects_of_type(self, object_type: str) -> list[SceneObject]:
        """Objects of one Type in metadata order."""
        return [o for o in self.objects if o.object_type == object_type]

    def snapshot_objects(self) -> list[dict[str, Any]]:
        """Deep copy of the raw reset object dicts (the reference's stale snapshot)."""
        return copy.deepcopy(self.metadata["objects"])

    def __iter__(self) -> Iterator[SceneObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)


def _scene_bounds(metadata: dict, objects: list[SceneObject]) -> tuple[Vec3, Vec3]:
    sb = metadata.get("sceneBounds") or {}
    pts = sb.get("cornerPoints")
    if pts:
        try:
            return (
                tuple(min(float(p[i]) for p in pts) for i in range(3)),  # type: ignore
                tuple(max(float(p[i]) for p in pts) for i in range(3)),  # type: ignore
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise DataError("malformed sceneBounds.cornerPoints") from exc
    lo = tuple(min(o.box_min[i] for o in objects) for i in range(3))
    hi = tuple(max(o.box_max[i] for o in objects) for i in range(3))
    return lo, hi  # type: ignore[return-value]


def _read_json(path: Path) -> Any:
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise DataError(f"missing file: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"corrupt JSON in {path}: {exc}") from exc


def load_scene(path_or_dir: str | Path) -> Scene:
    """Load a scene from its folder or from its ``metadata.json``.

    Raises:
        DataError: the metadata is missing or corrupt (the message names the file).
    """
    p = Path(path_or_dir)
    meta_path = p / "metadata.json" if p.is_dir() else p
    folder = meta_path.parent
    if not meta_path.exists():
        raise DataError(f"missing scene metadata: {meta_path}")
    raw = _read_json(meta_path)
    origin = None
    origin_path = folder / "originPos.json"
    if origin_path.exists():
        try:
            origin = _read_json(origin_path)
        except DataError as exc:
            logger.warning("ignoring %s", exc)
    room = folder.parent.name if folder.parent.name in ROOM_FOLDERS else None
    try:
        return Scene.from_metadata(
            raw, folder.name, room_type=room, origin_pose=origin, path=meta_path
        )
    except DataError as exc:
        if str(meta_path) in str(exc):
            raise
        raise DataError(f"{exc} (file: {meta_path})") from exc


def iter_scene_dirs(scenes_dir: str | Path) -> Iterator[Path]:
    """Every ``<room>/<FloorPlanN>`` folder holding a metadata.json, sorted."""
    root = Path(scenes_dir)
    if not root.is_dir():
        raise DataError(f"scenes directory not found: {root}")
    for meta in sorted(root.glob("*/*/metadata.json")):
        yield meta.parent
    for meta in sorted(root.glob("*/metadata.json")):
        yield meta.parent


def find_scene(scenes_dir: str | Path, name: str) -> Path:
    """Folder of the scene called ``name`` inside any room folder of ``scenes_dir``.

    Raises:
        DataError: no such scene.
    """
    root = Path(scenes_dir)
    room = room_type_of(name)
    if room and (root / room / name / "metadata.json").exists():
        return root / room / name
    for d in iter_scene_dirs(root):
        if d.name == name:
            return d
    raise DataError(f"scene {name!r} not found under {root}")


def resolve_scene(scene: str | Path | Scene, scenes_dir: str | Path | None = None) -> Scene:
    """A Scene from a Scene, a folder/file path, or a name looked up in ``scenes_dir``."""
    if isinstance(scene, Scene):
        return scene
    p = Path(scene)
    if p.exists():
        return load_scene(p)
    if scenes_dir is None:
        raise DataError(f"scene {scene!r} is not a path and no scenes_dir was given")
    return load_scene(find_scene(scenes_dir, str(scene)))
