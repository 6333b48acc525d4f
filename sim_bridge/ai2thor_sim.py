# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The :class:`SimBackend` contract over a real AI2-THOR controller (ai2thor==5.0.0).

``ai2thor`` is imported lazily; tests inject a fake controller factory. The translation
follows docs er-protocol.md section 2: navigate -> agent_positions or GetInteractablePoses +
Teleport, pickup -> PickupObject, put -> PutObject(placeStationary), open/close ->
OpenObject/CloseObject, toggle -> ToggleObjectOn/Off from the stale reset snapshot, observe ->
RotateLeft x4 (three frames), move forward -> MoveAhead 0.5 with a sidestep when blocked.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.sim_bridge import geometry as geo
from ego_reasoner_ros.sim_bridge.base import SimBackend, SimulatorUnavailableError, read_action
from ego_reasoner_ros.sim_bridge.registry import SimConfig
from ego_reasoner_ros.sim_bridge.scene import Scene
from ego_reasoner_ros.sim_bridge.world import TaskSpec, flatten_agent_positions

logger = logging.getLogger(__name__)

INSTALL_HINT = "ai2thor==5.0.0 (in its own venv: it pulls the non-headless opencv-python)"
CORNER_YAWS = ((2, 225.0), (3, 315.0), (6, 135.0), (7, 45.0))


def _default_factory(**kwargs: Any) -> Any:
    controller_mod = require("ai2thor.controller", INSTALL_HINT, "the ai2thor simulator")
    return controller_mod.Controller(**kwargs)


class AI2ThorSim(SimBackend):
    """AI2-THOR backend.

    Args:
        config: ``SimConfig(type="ai2thor", ...)``; ``local_executable_path`` selects a Unity
            build, ``ai2thor_kwargs`` are passed to ``Controller``.
        controller_factory: ``(**kwargs) -> controller`` (defaults to
            ``ai2thor.controller.Controller``); tests pass a fake.
    """

    def __init__(
        self, config: SimConfig | None = None,
        controller_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.config = config or SimConfig(type="ai2thor")
        self._factory = controller_factory or _default_factory
        self.controller: Any = None
        self.event: Any = None
        self._snapshot: dict[str, dict] = {}
        self._types: list[str] = []
        self.task = TaskSpec()
        self._poses: dict[str, geo.AgentPose] = {}
        self._navigable: dict[str, None] = {}
        self._legal: list[str] = []
        self._container: str | None = None

    # ----------------------------------------------------------------- contract
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset the controller to the scene, seed the gates and run ``init``."""
        options = dict(options or {})
        scene = options.get("scene")
        if scene is None:
            raise ValueError("reset needs options['scene']")
        name = scene.name if isinstance(scene, Scene) else str(scene)
        if self.controller is None:
            self.controller = self._make_controller(name)
            self.event = self.controller.last_event
        else:
            self.event = self.controller.reset(scene=name)
        self.task = TaskSpec.from_mapping(options.get("task"))
        self._poses = flatten_agent_positions(options.get("agent_positions"), self.task.identity)
        objs = self.event.metadata["objects"]
        self._snapshot = {o["objectId"]: copy.deepcopy(o) for o in objs}
        self._types = list(dict.fromkeys(o["objectType"] for o in objs))
        self._navigable = dict.fromkeys(self.task.navigable_objects)
        self._container = None
        frames, ok, fb = self._init()
        return self._obs(frames, ok, "init"), self._info(ok, fb, "init")

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Translate one action into controller calls."""
        parsed = read_action(action)
        if parsed is None:
            return {"images": []}, 0.0, False, False, self._info(
                False, f"I do not understand the action {str(action)!r}.", str(action),
                "invalid action")
        verb, target, name = parsed.sim_verb().value, parsed.target, parsed.metric_key
        if verb == "end":
            return {"images": []}, 0.0, True, False, self._info(True, "Episode ended.", name)
        if target is not None and target not in self._types:
            return {"images": []}, 0.0, False, False, self._info(
                False, f"There is no {target} in this room.", name, f"no object {target}")
        handler = {
            "init": lambda _t: self._init(),
            "navigate to": self._navigate,
            "observe": lambda _t: self._observe(),
            "move forward": lambda _t: self._move_forward(),
        }.get(verb)
        if handler is None:
            frames, ok, fb = self._interact(verb, target or "")
        else:
            frames, ok, fb = handler(target)
        err = "" if ok else str(self.event.metadata.get("errorMessage") or fb)
        return (self._obs(frames, ok, verb), 0.0, False, False,
                self._info(ok, fb, name, err))

    def scene_types(self) -> list[str]:
        """Distinct Types at reset (first-appearance order, hidden ones included)."""
        return list(self._types)

    def close(self) -> None:
        """Stop the Unity process."""
        if self.controller is not None:
            try:
                self.controller.stop()
            finally:
                self.controller = None

    # ---------------------------------------------------------------- internals
    def _make_controller(self, scene: str) -> Any:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "scene": scene,
            "width": cfg.width,
            "height": cfg.height,
            "fieldOfView": cfg.fov,
            "visibilityDistance": cfg.visibility_distance,
            "gridSize": 0.1,
            "snapToGrid": False,
            "renderDepthImage": cfg.depth,
            "renderInstanceSegmentation": cfg.instance_mask,
            "platform": "CloudRendering",
        }
        if cfg.local_executable_path:
            kwargs["local_executable_path"] = cfg.local_executable_path
        kwargs.update(cfg.ai2thor_kwargs)
        try:
            return self._factory(**kwargs)
        except ValueError as exc:
            if "no build exists" in str(exc).lower():
                raise SimulatorUnavailableError(
                    "AI2-THOR has no Unity build for this platform/commit "
                    f"({exc}). Download or build one and pass its path as "
                    "SimConfig(local_executable_path=...), or use the embedded simulator "
                    "(SimConfig(type='embedded'))."
                ) from exc
            raise

    def _do(self, action: str, **kw: Any) -> bool:
        self.event = self.controller.step(action=action, **kw)
        return bool(self.event.metadata.get("lastActionSuccess", False))

    def _agent(self) -> geo.AgentPose:
        a = self.event.metadata["agent"]
        p = a["position"]
        return geo.AgentPose(p["x"], p["y"], p["z"], a["rotation"]["y"],
                             a.get("cameraHorizon", 0.0), a.get("isStanding", True))

    def _navigable_now(self) -> tuple[list[dict], np.ndarray]:
        objs = self.event.metadata["objects"]
        if not objs:
            return objs, np.zeros(0, bool)
        bmin, bmax = [], []
        for o in objs:
            aabb = o["axisAlignedBoundingBox"]
            c, s = aabb["center"], aabb["size"]
            bmin.append([c["x"] - s["x"] / 2, c["y"] - s["y"] / 2, c["z"] - s["z"] / 2])
            bmax.append([c["x"] + s["x"] / 2, c["y"] + s["y"] / 2, c["z"] + s["z"] / 2])
        ag = self._agent()
        nav = geo.navigable_by_size(np.array(bmin), np.array(bmax), (ag.x, ag.z))
        nav &= np.array([bool(o.get("visible")) and o["objectType"] != "Floor" for o in objs])
        return objs, nav

    def _accumulate(self, front: bool) -> None:
        objs, nav = self._navigable_now()
        for o, n in zip(objs, nav):
            if n:
                self._navigable.setdefault(o["objectType"], None)
        if front:
            legal = {o["objectType"] for o, n in zip(objs, nav) if n}
            cont = self._live(self._container) if self._container else None
            inside = set((cont or {}).get("receptacleObjectIds") or ())
            legal |= {o["objectType"] for o in objs if o["objectId"] in inside and o["visible"]}
            order = {t: i for i, t in enumerate(self._types)}
            self._legal = sorted(legal, key=lambda t: order.get(t, 1 << 30))

    def _live(self, object_id: str | None) -> dict | None:
        for o in self.event.metadata["objects"]:
            if o["objectId"] == object_id:
                return o
        return None

    def _instance(self, object_type: str, *, second: bool = False) -> str | None:
        hits = [t for t in self.task.target_objects
                if self._snapshot.get(t, {}).get("objectType") == object_type]
        if hits:
            return hits[1] if second and len(hits) > 1 else hits[0]
        for oid, o in self._snapshot.items():
            if o["objectType"] == object_type:
                return oid
        return None

    def _frame(self) -> dict[str, Any]:
        ev = self.event
        out = {"rgb": getattr(ev, "frame", None)}
        if self.config.depth:
            out["depth"] = getattr(ev, "depth_frame", None)
        if self.config.instance_mask:
            masks = getattr(ev, "instance_masks", None) or {}
            ids = list(self._snapshot)
            frame = out["rgb"]
            shape = frame.shape[:2] if frame is not None else (self.config.height,
                                                                self.config.width)
            m = np.full(shape, -1, np.int32)
            for k, oid in enumerate(ids):
                if oid in masks:
                    m[np.asarray(masks[oid], bool)] = k
            out["instance_mask"] = m
        return out

    def _init(self) -> tuple[list[dict], bool, str]:
        self._do("GetReachablePositions")
        pts = self.event.metadata.get("actionReturn") or []
        corners = self.event.metadata["sceneBounds"]["cornerPoints"]
        best = None
        for k, yaw in CORNER_YAWS:
            cx, cz = corners[k][0], corners[k][2]
            for p in pts:
                d = math.hypot(p["x"] - cx, p["z"] - cz)
                if best is None or d < best[0]:
                    best = (d, p, yaw)
        if best is not None:
            self._do("Teleport", position=best[1], rotation={"x": 0, "y": best[2], "z": 0},
                     horizon=0, standing=True)
        self._accumulate(front=True)
        return [self._frame()], True, "Initialised."

    def _navigate(self, object_type: str) -> tuple[list[dict], bool, str]:
        if object_type not in self._navigable:
            return [], False, f"I cannot navigate to {object_type}: I have not seen one yet."
        held = bool(self.event.metadata.get("inventoryObjects"))
        inst = self._instance(object_type, second=held and str(self.task.identity) in ("84", "85"))
        if inst is None:
            return [], False, f"There is no {object_type} in this room."
        target = inst
        snap = self._snapshot[inst]
        if snap.get("receptacle") and not snap.get("openable"):
            for rid in self.task.related_objects:
                if rid in (snap.get("receptacleObjectIds") or ()):
                    target = rid
                    break
        pose = self._poses.get(target)
        if pose is not None:
            ok = self._do("Teleport", position={"x": pose.x, "y": pose.y, "z": pose.z},
                          rotation={"x": 0, "y": pose.yaw, "z": 0}, horizon=pose.horizon,
                          standing=pose.standing)
        else:
            ok = self._teleport_near(target)
        if not ok:
            return [], False, f"I cannot find a way to reach the {object_type}."
        if snap.get("receptacle"):
            self._container = inst
        self._accumulate(front=True)
        return [self._frame()], True, f"Arrived at the {object_type}."

    def _teleport_near(self, object_id: str) -> bool:
        self._do("GetInteractablePoses", objectId=object_id)
        poses = self.event.metadata.get("actionReturn") or []
        obj = self._live(object_id) or self._snapshot[object_id]
        c = obj["axisAlignedBoundingBox"]["center"]
        near = [p for p in poses if math.hypot(p["x"] - c["x"], p["z"] - c["z"]) <= 1.5]
        if not near:
            return False
        p = min(near, key=lambda q: math.hypot(q["x"] - c["x"], q["z"] - c["z"]))
        yaw = round(geo.yaw_towards(c["x"] - p["x"], c["z"] - p["z"]) / 45.0) * 45.0 % 360
        standing = bool(p.get("standing", True))
        cam = (p["x"], p["y"] + (geo.CAMERA_OFFSET_STANDING if standing
                                 else geo.CAMERA_OFFSET_CROUCHING), p["z"])
        horizon = min(max(geo.pitch_towards(cam, (c["x"], c["y"], c["z"])), -30.0), 60.0)
        return self._do("Teleport", position={"x": p["x"], "y": p["y"], "z": p["z"]},
                        rotation={"x": 0, "y": yaw, "z": 0}, horizon=horizon,
                        standing=standing)

    def _interact(self, verb: str, object_type: str) -> tuple[list[dict], bool, str]:
        if object_type not in self._legal:
            return [], False, f"The {object_type} is not within reach; I need to get closer."
        oid = self._instance(object_type)
        if verb == "pickup":
            ok = self._do("PickupObject", objectId=oid, forceAction=False)
        elif verb == "put":
            ok = self._do("PutObject", objectId=oid, forceAction=False, placeStationary=True)
        elif verb == "open":
            ok = self._do("OpenObject", objectId=oid, openness=1.0, forceAction=False)
        elif verb == "close":
            ok = self._do("CloseObject", objectId=oid, forceAction=False)
        else:  # toggle: direction from the stale reset snapshot, as the reference does
            if self._snapshot[oid].get("isToggled"):
                ok = self._do("ToggleObjectOff", objectId=oid, forceAction=False)
            else:
                ok = self._do("ToggleObjectOn", objectId=oid, forceAction=False)
        if not ok:
            msg = self.event.metadata.get("errorMessage") or "the simulator refused"
            return [], False, f"I could not {verb} the {object_type}: {msg}"
        self._accumulate(front=True)
        return [self._frame()], True, f"Did {verb} on the {object_type}."

    def _observe(self) -> tuple[list[dict], bool, str]:
        frames = []
        for _ in range(3):
            self._do("RotateLeft", degrees=90)
            self._accumulate(front=False)
            frames.append(self._frame())
        self._do("RotateLeft", degrees=90)
        self._accumulate(front=True)
        return frames, True, "Looked around."

    def _move_forward(self) -> tuple[list[dict], bool, str]:
        if self._do("MoveAhead", moveMagnitude=self.config.move_distance):
            msg = "Moved forward."
        else:
            self._do("RotateRight", degrees=90)
            self._do("MoveAhead", moveMagnitude=self.config.move_distance)
            self._do("RotateLeft", degrees=90)
            msg = "The way ahead is blocked, so I stepped aside."
        self._accumulate(front=True)
        return [self._frame()], True, msg

    def _obs(self, frames: list[dict], ok: bool, verb: str) -> dict[str, Any]:
        obs: dict[str, Any] = {"images": []}
        if not ok or not frames:
            return obs
        if self.config.render:
            imgs = [np.asarray(f["rgb"], np.uint8) for f in frames if f.get("rgb") is not None]
            if verb == "observe" and self.config.observe_composite and len(imgs) == 3:
                from ego_reasoner_ros.sim_bridge.render import compose_observe

                imgs = [compose_observe(*imgs)]
            obs["images"] = imgs
        if self.config.depth:
            obs["depth"] = [f.get("depth") for f in frames]
        if self.config.instance_mask:
            obs["instance_mask"] = [f.get("instance_mask") for f in frames]
            obs["instance_ids"] = list(self._snapshot)
        return obs

    def _info(self, ok: bool, feedback: str, action: str, error: str = "") -> dict[str, Any]:
        held = None
        if self.event is not None:
            inv = self.event.metadata.get("inventoryObjects") or []
            held = inv[0].get("objectType") if inv else None
        return {
            "success": bool(ok),
            "feedback": feedback,
            "error": "" if ok else (error or feedback),
            "action": action,
            "legal_objects": list(self._legal),
            "navigable_objects": list(self._navigable),
            "held": held,
            "current_container": self._container,
        }


def translate_positions(positions: Mapping[str, Any] | None) -> dict[str, geo.AgentPose]:
    """Flattened objectId -> pose map (exposed for callers that pre-compute it)."""
    return flatten_agent_positions(positions)
