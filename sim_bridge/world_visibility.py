# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The world's visibility and legality: what the agent sees, may navigate to and may touch.

Visibility is frustum + distance + not inside a closed container (occlusion is not modelled);
an object is navigable when visible and passing the size/distance rule; interactions accept the
Types navigable in the front view plus the visible contents of the current container. Types
seen navigable in any view (``observe`` adds three) stay navigable for the episode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ego_reasoner_ros.sim_bridge import geometry as geo
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.world_actions import ActionResult


class VisibilityLegality:
    """Mixed into :class:`~ego_reasoner_ros.sim_bridge.world.World`: what is seen and legal.

    Subclasses may override ``_view`` and ``_update_hidden`` (AlfredWorld does).
    """

    def is_hidden(self, object_id: str) -> bool:
        """Inside a closed openable receptacle (at any depth)."""
        return bool(self._hidden[self._idx(object_id)])

    def is_visible(self, object_id: str) -> bool:
        """Visible in the current front view (frustum, distance, not hidden; no occlusion)."""
        return bool(self._vis[self._idx(object_id)])

    def in_reach(self, object_id: str) -> bool:
        """Interactable now: visible and navigable by size/distance or in the current container."""
        return self._reachable(self._idx(object_id))

    @property
    def navigable_types(self) -> list[str]:
        """Types that ``navigate to`` accepts now (seeded, then everything seen navigable)."""
        return list(self._navigable)

    @property
    def legal_types(self) -> list[str]:
        """Types that interactions accept now."""
        return list(self._legal)

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

    def _gate(self, object_type: str) -> ActionResult | None:
        if object_type not in self._legal:
            return ActionResult(
                False,
                f"The {object_type} is not within reach; I need to get closer to it first.",
                f"{object_type} is not interactable from here",
            )
        return None
