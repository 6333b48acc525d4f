# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Vectorised geometry for the embedded simulator: camera frusta, the size/distance rule, poses.

Coordinates follow AI2-THOR: metres, y up; yaw 0 faces +z and 90 faces +x; the camera horizon
(pitch) is positive when looking down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Camera height above the agent's reference point (AI2-THOR: agent y 0.90, camera y 1.576).
CAMERA_OFFSET_STANDING = 0.675
#: Camera height offset when crouching (approximation of AI2-THOR's crouched camera).
CAMERA_OFFSET_CROUCHING = 0.075


@dataclass(frozen=True)
class AgentPose:
    """Agent pose: position of the agent's reference point, yaw, camera horizon, standing."""

    x: float
    y: float
    z: float
    yaw: float = 0.0
    horizon: float = 0.0
    standing: bool = True

    def camera_position(self) -> tuple[float, float, float]:
        """World position of the camera."""
        off = CAMERA_OFFSET_STANDING if self.standing else CAMERA_OFFSET_CROUCHING
        return (self.x, self.y + off, self.z)

    def with_yaw(self, yaw: float) -> AgentPose:
        """The same pose turned to ``yaw`` degrees."""
        return AgentPose(self.x, self.y, self.z, yaw % 360.0, self.horizon, self.standing)

    def to_dict(self) -> dict:
        """JSON-able form, in AI2-THOR's field names."""
        return {
            "position": {"x": self.x, "y": self.y, "z": self.z},
            "rotation": {"x": 0.0, "y": self.yaw, "z": 0.0},
            "cameraHorizon": self.horizon,
            "isStanding": self.standing,
        }


def forward_vector(yaw_deg: float) -> tuple[float, float]:
    """Horizontal unit vector (dx, dz) the agent faces at ``yaw_deg``."""
    r = math.radians(yaw_deg)
    return (math.sin(r), math.cos(r))


def yaw_towards(dx: float, dz: float) -> float:
    """Yaw in [0, 360) that faces the horizontal direction (dx, dz)."""
    return math.degrees(math.atan2(dx, dz)) % 360.0


def box_corners(box_min: np.ndarray, box_max: np.ndarray) -> np.ndarray:
    """Centre plus the 8 corners of each box: (N, 9, 3)."""
    centre = (box_min + box_max) * 0.5
    pts = [centre]
    for ix in (0, 1):
        for iy in (0, 1):
            for iz in (0, 1):
                pts.append(
                    np.stack(
                        [
                            box_max[:, 0] if ix else box_min[:, 0],
                            box_max[:, 1] if iy else box_min[:, 1],
                            box_max[:, 2] if iz else box_min[:, 2],
                        ],
                        axis=1,
                    )
                )
    return np.stack(pts, axis=1)


def in_frustum(
    points: np.ndarray,
    cam: tuple[float, float, float],
    yaw_deg: float,
    pitch_deg: float,
    fov_deg: float,
    aspect: float,
    max_distance: float,
) -> np.ndarray:
    """Whether any sample point of each object lies in the view frustum: (N, P, 3) -> (N,) bool.

    ``fov_deg`` is the vertical field of view (AI2-THOR convention); the horizontal one follows
    from ``aspect`` = width / height. Points farther than ``max_distance`` do not count.
    """
    rel = points - np.asarray(cam, dtype=np.float64)
    yaw = math.radians(yaw_deg)
    pitch = math.radians(pitch_deg)
    # Camera basis: forward f, right r, up u (pitch positive looks down).
    fx, fz = math.sin(yaw), math.cos(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    f = np.array([fx * cp, -sp, fz * cp])
    r = np.array([fz, 0.0, -fx])
    u = np.array([fx * sp, cp, fz * sp])
    depth = rel @ f
    x = rel @ r
    y = rel @ u
    tan_v = math.tan(math.radians(fov_deg) * 0.5)
    tan_h = tan_v * aspect
    dist2 = np.einsum("npk,npk->np", rel, rel)
    ok = (
        (depth > 1e-3)
        & (np.abs(x) <= depth * tan_h)
        & (np.abs(y) <= depth * tan_v)
        & (dist2 <= max_distance * max_distance)
    )
    return ok.any(axis=1)


def navigable_by_size(
    box_min: np.ndarray, box_max: np.ndarray, agent_xz: tuple[float, float]
) -> np.ndarray:
    """The reference's size/distance rule (er-protocol.md section 2), for every box: (N,) bool.

    Visibility and the Floor exclusion are applied by the caller.
    """
    size = np.maximum(box_max - box_min, 0.0)
    v = size[:, 0] * size[:, 1] * size[:, 2]
    s = np.maximum.reduce(
        [size[:, 0] * size[:, 1], size[:, 1] * size[:, 2], size[:, 0] * size[:, 2]]
    )
    cx = (box_min[:, 0] + box_max[:, 0]) * 0.5
    cz = (box_min[:, 2] + box_max[:, 2]) * 0.5
    d = np.hypot(cx - agent_xz[0], cz - agent_xz[1])
    by_list = (
        ((s > 0.5) & (d < 10))
        | ((s > 0.15) & (d < 4))
        | ((s > 0.08) & (d < 2.5))
        | ((v > 0.005) & (d < 2))
        | ((v > 0.001) & (d < 1.5))
        | (d < 1)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_ok = np.where(d > 0, v / np.where(d > 0, d, 1.0), np.inf) > 0.02
    big = v >= 0.01
    return np.where(big, ratio_ok | by_list, by_list)


def rect_distance(
    px: np.ndarray, pz: np.ndarray, box_min: np.ndarray, box_max: np.ndarray
) -> np.ndarray:
    """Horizontal distance from points (M,) to one box's footprint (0 inside)."""
    dx = np.maximum(np.maximum(box_min[0] - px, px - box_max[0]), 0.0)
    dz = np.maximum(np.maximum(box_min[2] - pz, pz - box_max[2]), 0.0)
    return np.hypot(dx, dz)


def pitch_towards(cam: tuple[float, float, float], target: tuple[float, float, float]) -> float:
    """Camera horizon (down-positive degrees) that looks from ``cam`` at ``target``."""
    dx, dy, dz = target[0] - cam[0], target[1] - cam[1], target[2] - cam[2]
    return -math.degrees(math.atan2(dy, math.hypot(dx, dz)))
