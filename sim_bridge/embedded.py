# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The embedded AI2-THOR-compatible simulator: exact symbolic world plus optional box rendering.

Legality never depends on rendering: :class:`~ego_reasoner_ros.sim_bridge.world.World`
computes visibility geometrically. Frames come from ``sim_bridge.render.BoxRenderer`` when
``config.render`` is on (imported lazily; when it is missing, rendering is switched off).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.base import SimBackend, read_action
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.procedural import SCENE_SPEC_PREFIX, scene_from_spec
from ego_reasoner_ros.sim_bridge.registry import SimConfig
from ego_reasoner_ros.sim_bridge.scene import Scene, load_scene, resolve_scene
from ego_reasoner_ros.sim_bridge.world import TaskSpec, World
from ego_reasoner_ros.sim_bridge.world_actions import ActionResult
from ego_reasoner_ros.sim_bridge.world_rules import INSIDE_TYPES

logger = logging.getLogger(__name__)

_SCENE_CACHE: dict[tuple[str, float], Scene] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 32


def cached_scene(path: str | Path) -> Scene:
    """Load a scene folder or metadata file once per process (keyed by path and mtime)."""
    p = Path(path)
    meta = p / "metadata.json" if p.is_dir() else p
    try:
        key = (str(meta.resolve()), meta.stat().st_mtime)
    except OSError as exc:
        raise DataError(f"missing scene metadata: {meta}") from exc
    return _cached(key, lambda: load_scene(meta))


def _spec_scene(spec: str) -> Scene:
    """A generated ``procedural:`` scene, built once per process."""
    return _cached((spec, 0.0), lambda: scene_from_spec(spec))


def _cached(key: tuple[str, float], build: Any) -> Scene:
    """The scene cached under ``key``, built (outside the lock) when it is not there yet."""
    with _CACHE_LOCK:
        hit = _SCENE_CACHE.get(key)
    if hit is not None:
        return hit
    scene = build()
    with _CACHE_LOCK:
        if len(_SCENE_CACHE) >= _CACHE_MAX:
            _SCENE_CACHE.pop(next(iter(_SCENE_CACHE)))
        _SCENE_CACHE[key] = scene
    return scene


def _needs_data(scene: Any) -> str:
    """Why a scene name cannot load without the public data, and the two ways out."""
    try:
        from ego_reasoner_ros.core import data_store

        data_store.resolve_data_dir()
        why = "the data set has no scenes folder; " + data_store.FETCH_HINT
    except DataError as exc:
        why = str(exc)
    return (f"scene {scene!r} is not a path and needs the Embodied-Reasoner scenes: {why}. "
            f"Without the data, use a generated scene such as {SCENE_SPEC_PREFIX}kitchen:0")


def _default_scenes_dir() -> Path | None:
    try:
        from ego_reasoner_ros.core import data_store

        return data_store.scenes_dir(data_store.resolve_data_dir(), required=False)
    except Exception:  # noqa: BLE001 - any failure means "no default"
        return None


class EmbeddedSim(SimBackend):
    """:class:`SimBackend` over :class:`World`.

    ``reset(options={"scene": "FloorPlan1" | Scene | path, "scenes_dir": ..., "task": case,
    "agent_positions": dict | path})``. The task mapping may be a whole test case (only
    navigable_objects, target_objects, related_objects and identity are read).
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        if self.config.type != "embedded":
            raise ValueError(f"EmbeddedSim needs config.type 'embedded', got {self.config.type}")
        self.world: World | None = None
        self._renderer: Any = None
        self._render_mod: Any = None
        self._colors: dict[str, tuple[int, int, int]] = {}
        self._want_frames = self.config.render or self.config.depth or self.config.instance_mask
        if self._want_frames:
            try:
                from ego_reasoner_ros.sim_bridge import render as render_mod

                self._render_mod = render_mod
                self._renderer = render_mod.BoxRenderer()
            except ImportError as exc:
                logger.warning("sim_bridge.render unavailable (%s); rendering is off", exc)
                self._want_frames = False

    # ----------------------------------------------------------------- contract
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Load the scene and task, run ``init`` and return its frame."""
        options = dict(options or {})
        if "scene" not in options:
            raise ValueError("reset needs options['scene'] (a name, a Scene or a path)")
        scene = self._load_scene(
            options["scene"], options.get("scenes_dir") or self.config.scenes_dir
        )
        positions = options.get("agent_positions")
        if isinstance(positions, (str, Path)):
            try:
                positions = json.loads(Path(positions).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"cannot read agent positions {positions}: {exc}") from exc
        cfg = self.config
        self.world = World(
            scene,
            TaskSpec.from_mapping(options.get("task")),
            positions,
            width=cfg.width,
            height=cfg.height,
            fov=cfg.fov,
            visibility_distance=cfg.visibility_distance,
            move_distance=cfg.move_distance,
            put_table=cfg.put_table,
            rules=cfg.rules,
        )
        res = self.world.init()
        obs = self._observe(res, "init")
        return obs, self._info(res, "init")

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Run one action; malformed input fails with feedback and changes nothing."""
        world = self._require_world()
        parsed = read_action(action)
        if parsed is None:
            res = ActionResult(False, f"I do not understand the action {str(action)!r}.",
                               "invalid action")
            return {"images": []}, 0.0, False, False, self._info(res, str(action))
        verb, target, name = parsed.sim_verb().value, parsed.target, parsed.metric_key
        res = world.apply(verb, target)
        obs = self._observe(res, verb) if res.success else {"images": []}
        return obs, 0.0, verb == "end", False, self._info(res, name)

    def scene_types(self) -> list[str]:
        """Distinct Types at reset (first-appearance order, hidden ones included)."""
        return self._require_world().scene_types()

    def close(self) -> None:
        """Drop the world (nothing else to release)."""
        self.world = None

    # ---------------------------------------------------------------- helpers
    def _require_world(self) -> World:
        if self.world is None:
            raise RuntimeError("call reset() before step()")
        return self.world

    @staticmethod
    def _load_scene(scene: Any, scenes_dir: Any) -> Scene:
        if isinstance(scene, Scene):
            return scene
        p = Path(str(scene))
        if p.exists():
            return cached_scene(p)
        if str(scene).startswith(SCENE_SPEC_PREFIX):
            return _spec_scene(str(scene))
        root = scenes_dir or _default_scenes_dir()
        if root is None:
            raise DataError(_needs_data(scene))
        from ego_reasoner_ros.sim_bridge.scene import find_scene

        try:
            return cached_scene(find_scene(root, str(scene)))
        except DataError:
            return resolve_scene(str(scene), root)

    def _info(self, res: ActionResult, action: str) -> dict[str, Any]:
        w = self._require_world()
        return {
            "success": bool(res.success),
            "feedback": res.feedback,
            "error": res.error,
            "action": action,
            "legal_objects": w.legal_types,
            "navigable_objects": w.navigable_types,
            "held": w.held_type,
            "held_id": w.held,
            "current_container": w.current_container,
            "agent": w.pose.to_dict(),
        }

    def _observe(self, res: ActionResult, verb: str) -> dict[str, Any]:
        obs: dict[str, Any] = {"images": []}
        if not self._want_frames or not res.poses:
            return obs
        frames = [self.render_pose(p) for p in res.poses]
        cfg = self.config
        if cfg.render:
            imgs = [f.rgb for f in frames]
            if verb == "observe" and cfg.observe_composite and len(imgs) == 3:
                imgs = [self._render_mod.compose_observe(*imgs)]
            obs["images"] = imgs
        if cfg.depth:
            obs["depth"] = [f.depth for f in frames]
        if cfg.instance_mask:
            obs["instance_mask"] = [f.instance_mask for f in frames]
            obs["instance_ids"] = list(self._require_world().ids)
        return obs

    def render_pose(self, pose: AgentPose) -> Any:
        """Render the world from an agent pose (RGB, plus depth/mask when configured)."""
        w = self._require_world()
        if self._renderer is None:
            raise RuntimeError("rendering is not available")
        cfg = self.config
        return render_world(
            w, self._renderer, pose, cfg.width, cfg.height, cfg.fov, color=self._color,
            want_depth=cfg.depth, want_mask=cfg.instance_mask,
        )

    def type_pixels(self, pose: AgentPose | None = None) -> dict[str, int]:
        """Pixels each object Type covers in the frame from ``pose`` (default: the agent's).

        What the camera image actually shows, occlusion included, at the configured size:
        the ground truth for "is X in view" that the world's visibility (frustum and
        distance only) does not give.
        """
        w = self._require_world()
        if self._renderer is None:
            raise RuntimeError("rendering is not available")
        cfg = self.config
        return type_pixels(w, self._renderer, pose or w.pose, cfg.width, cfg.height, cfg.fov)

    def _color(self, object_type: str) -> tuple[int, int, int]:
        c = self._colors.get(object_type)
        if c is None:
            from ego_reasoner_ros.sim_bridge.colors import type_color

            c = self._colors[object_type] = tuple(type_color(object_type))  # type: ignore
        return c


def render_world(
    world: World,
    renderer: Any,
    pose: AgentPose,
    width: int,
    height: int,
    fov: float,
    *,
    color: Any = None,
    want_depth: bool = False,
    want_mask: bool = False,
) -> Any:
    """Render ``world`` from ``pose`` with a :class:`~.render.BoxRenderer`.

    ``color`` maps an object Type to RGB (default: the built-in palette). Objects inside
    closed containers are not drawn; open containers and basins are drawn hollow.
    """
    from ego_reasoner_ros.sim_bridge import render as render_mod
    from ego_reasoner_ros.sim_bridge.colors import type_color

    color = color or type_color
    bmin, bmax, types, idx = world.render_arrays()
    colors = np.array([color(t) for t in types], dtype=np.uint8).reshape(-1, 3)
    hollow = np.array(
        [
            (world.scene.objects[i].openable and world.is_open(world.ids[i]))
            or (types[k] in INSIDE_TYPES and not world.scene.objects[i].openable)
            for k, i in enumerate(idx)
        ],
        dtype=bool,
    ).reshape(-1)
    hollow |= enclosing_boxes(bmin, bmax)
    cam = render_mod.CameraPose(
        position=pose.camera_position(),
        yaw_deg=pose.yaw,
        pitch_deg=max(min(pose.horizon, 89.0), -89.0),
    )
    return renderer.render(
        bmin, bmax, colors, idx.astype(np.int32), cam, width, height, fov,
        want_depth=want_depth, want_mask=want_mask, hollow=hollow,
    )


def enclosing_boxes(bmin: np.ndarray, bmax: np.ndarray) -> np.ndarray:
    """(N,) bool: boxes that hold the centre of a box less than half their volume.

    Scene boxes are axis-aligned bounds, so a bed's box swallows its pillows and a TV
    stand's box the remote on its shelf; drawn solid, they would hide what a camera sees.
    Such boxes are drawn hollow (their inner faces), which keeps their contents in view.
    """
    bmin = np.asarray(bmin, dtype=np.float64).reshape(-1, 3)
    bmax = np.asarray(bmax, dtype=np.float64).reshape(-1, 3)
    centre = (bmin + bmax) / 2.0
    inside = ((centre[None] > bmin[:, None]) & (centre[None] < bmax[:, None])).all(-1)
    volume = np.prod(bmax - bmin, axis=1)
    inside &= volume[None, :] < 0.5 * volume[:, None]
    return inside.any(axis=1)


def type_pixels(
    world: World, renderer: Any, pose: AgentPose, width: int, height: int, fov: float
) -> dict[str, int]:
    """Pixels per object Type in the ``width`` x ``height`` frame from ``pose``."""
    mask = render_world(world, renderer, pose, width, height, fov, want_mask=True).instance_mask
    ids, counts = np.unique(mask[mask >= 0], return_counts=True)
    out: dict[str, int] = {}
    for i, n in zip(ids.tolist(), counts.tolist()):
        t = world.types[i]
        out[t] = out.get(t, 0) + int(n)
    return out
