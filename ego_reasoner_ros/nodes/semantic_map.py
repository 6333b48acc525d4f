# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A semantic map for the real-robot backend: which objects exist, where to stand, what holds what.

ROS-free. The YAML shape (see ``config/semantic_map_example.yaml``)::

    frame_id: map
    objects:
      - id: Mug_1             # unique instance id (sent to manipulation services)
        type: Mug             # AI2-THOR style object type (what the model names)
        pose: {x: 1.0, y: 2.0, yaw: 1.57}   # where the robot stands to reach it
        container: CounterTop_1             # optional: the instance it lies in/on
        pickupable: true
        receptacle: false
        openable: false
        toggleable: false
        is_open: false
        is_on: false

Names resolve to instances by exact id, then by type (case-insensitive); among several
instances of a type the one at the robot's current place wins, then the first in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Any

import yaml

from ego_reasoner_ros.core.errors import DataError


@dataclass
class Pose2D:
    """A planar pose in the map frame (metres, radians)."""

    x: float
    y: float
    yaw: float = 0.0

    def quaternion(self) -> tuple[float, float, float, float]:
        """``(x, y, z, w)`` of the yaw rotation."""
        return 0.0, 0.0, math.sin(self.yaw / 2.0), math.cos(self.yaw / 2.0)


@dataclass
class MapObject:
    """One object instance of the map."""

    id: str
    type: str
    pose: Pose2D | None = None
    container: str | None = None
    pickupable: bool = False
    receptacle: bool = False
    openable: bool = False
    toggleable: bool = False
    is_open: bool = False
    is_on: bool = False


@dataclass
class SemanticMap:
    """Objects, their poses and states, plus what the robot holds and where it stands."""

    objects: list[MapObject]
    frame_id: str = 'map'
    held: str | None = None
    at: str | None = None
    _by_id: dict[str, MapObject] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {}
        for obj in self.objects:
            if obj.id in self._by_id:
                raise DataError(f'semantic map: duplicate object id {obj.id!r}')
            self._by_id[obj.id] = obj
        for obj in self.objects:
            if obj.container is not None and obj.container not in self._by_id:
                raise DataError(f'semantic map: {obj.id!r} lies in unknown container '
                                f'{obj.container!r}')

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SemanticMap:
        """Build from the YAML structure (raises :class:`DataError` when malformed)."""
        if not isinstance(data, dict) or not isinstance(data.get('objects'), list):
            raise DataError('semantic map must be a mapping with an "objects" list')
        objects = []
        for i, raw in enumerate(data['objects']):
            if not isinstance(raw, dict) or not raw.get('id') or not raw.get('type'):
                raise DataError(f'semantic map object #{i} needs "id" and "type"')
            pose = raw.get('pose')
            if pose is not None:
                try:
                    pose = Pose2D(float(pose['x']), float(pose['y']), float(pose.get('yaw', 0)))
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataError(f'semantic map object {raw["id"]!r}: bad pose {pose!r}'
                                    ) from exc
            flags = {k: bool(raw.get(k, False)) for k in
                     ('pickupable', 'receptacle', 'openable', 'toggleable', 'is_open', 'is_on')}
            objects.append(MapObject(id=str(raw['id']), type=str(raw['type']), pose=pose,
                                     container=raw.get('container'), **flags))
        return cls(objects=objects, frame_id=str(data.get('frame_id', 'map')))

    @classmethod
    def load(cls, path: str | Path) -> SemanticMap:
        """Read a YAML semantic map."""
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f'cannot read semantic map {p}: {exc}') from exc
        return cls.from_dict(data)

    # ------------------------------------------------------------------ queries
    def types(self) -> list[str]:
        """Object types in first-appearance order (the scene's legal object names)."""
        seen: dict[str, None] = {}
        for obj in self.objects:
            seen.setdefault(obj.type, None)
        return list(seen)

    def get(self, object_id: str) -> MapObject:
        """The instance with this id (raises :class:`KeyError`)."""
        return self._by_id[object_id]

    def resolve(self, name: str) -> MapObject:
        """Choose the instance a model's object name refers to.

        Raises:
            KeyError: when no instance has that id or type.
        """
        if name in self._by_id:
            return self._by_id[name]
        matches = [o for o in self.objects if o.type.lower() == name.lower()]
        if not matches:
            raise KeyError(f'no object {name!r} in the semantic map')
        if self.at is not None:
            here = [o for o in matches if o.id == self.at or o.container == self.at]
            if here:
                return here[0]
        return matches[0]

    def container_of(self, obj: MapObject) -> MapObject | None:
        """The instance ``obj`` lies in/on, if any."""
        return self._by_id.get(obj.container) if obj.container else None

    def nav_pose(self, obj: MapObject) -> Pose2D:
        """Where to stand for ``obj``: its own pose or its container's (raises KeyError)."""
        cur: MapObject | None = obj
        while cur is not None:
            if cur.pose is not None:
                return cur.pose
            cur = self.container_of(cur)
        raise KeyError(f'object {obj.id!r} has no pose to navigate to')

    def legality(self, verb: str, name: str | None) -> tuple[bool, str]:
        """Whether ``verb name`` is legal now; ``(ok, reason)``."""
        if verb in ('init', 'observe', 'move forward', 'end'):
            return True, ''
        if name is None:
            return False, f'{verb} needs an object'
        try:
            obj = self.resolve(name)
        except KeyError as exc:
            return False, str(exc.args[0])
        if verb == 'navigate to':
            try:
                self.nav_pose(obj)
            except KeyError as exc:
                return False, str(exc.args[0])
            return True, ''
        if verb == 'pickup':
            if self.held is not None:
                return False, f'already holding {self.held}'
            if not obj.pickupable:
                return False, f'{obj.type} cannot be picked up'
        elif verb in ('put', 'put in'):
            if self.held is None:
                return False, 'holding nothing to put'
            if not obj.receptacle:
                return False, f'{obj.type} is not a receptacle'
            if obj.openable and not obj.is_open:
                return False, f'{obj.type} is closed'
        elif verb in ('open', 'close'):
            if not obj.openable:
                return False, f'{obj.type} cannot be opened'
            if obj.is_open == (verb == 'open'):
                return False, f'{obj.type} is already {"open" if obj.is_open else "closed"}'
        elif verb == 'toggle':
            if not obj.toggleable:
                return False, f'{obj.type} cannot be toggled'
        if verb != 'navigate to' and self.at is not None and obj.id != self.at \
                and obj.container != self.at and self.nav_target_id(obj) != self.at:
            return False, f'{obj.type} is not at the current place; navigate to it first'
        return True, ''

    def nav_target_id(self, obj: MapObject) -> str:
        """Id of the instance whose pose is used to reach ``obj``."""
        cur: MapObject | None = obj
        while cur is not None:
            if cur.pose is not None:
                return cur.id
            cur = self.container_of(cur)
        return obj.id

    # ------------------------------------------------------------------ updates
    def apply(self, verb: str, name: str | None) -> None:
        """Update the map after a successful action."""
        if verb == 'init' or name is None:
            return
        obj = self.resolve(name)
        if verb == 'navigate to':
            self.at = self.nav_target_id(obj)
        elif verb == 'pickup':
            self.held, obj.container = obj.id, None
        elif verb in ('put', 'put in') and self.held is not None:
            self.get(self.held).container = obj.id
            self.held = None
        elif verb in ('open', 'close'):
            obj.is_open = verb == 'open'
        elif verb == 'toggle':
            obj.is_on = not obj.is_on
