# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The world's action handlers: one per core verb, and the dispatch that picks it.

A failed action leaves the state unchanged. Deviations from the reference (docs er-protocol.md
section 2): ``put`` uses a size-fit rule instead of PutObject physics, interactions fall back to
another in-reach instance of the Type when the reference's instance is out of reach, a
StoveBurner may be toggled directly, and the navigate redirect only applies while the related
object is still in that receptacle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, Verb
from ego_reasoner_ros.sim_bridge import geometry as geo
from ego_reasoner_ros.sim_bridge.geometry import AgentPose
from ego_reasoner_ros.sim_bridge.world_rules import INSIDE_TYPES

PITCH_MIN, PITCH_MAX = -30.0, 60.0


@dataclass
class ActionResult:
    """Outcome of one world action: success, feedback, the error and the frames to render."""

    success: bool
    feedback: str
    error: str = ""
    poses: list[AgentPose] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)



class WorldActions:
    """Mixed into :class:`~ego_reasoner_ros.sim_bridge.world.World`: the action handlers."""

    def apply(self, verb: Verb | str, target: str | None = None) -> ActionResult:
        """Run one action (a core verb); a failed action leaves the state unchanged."""
        handler = HANDLERS.get(verb)
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

    def _place_held_in_view(self) -> None:
        if self._held < 0:
            return
        cam = self.pose.camera_position()
        fx, fz = geo.forward_vector(self.pose.yaw)
        target = np.array([cam[0] + 0.5 * fx, cam[1] - 0.3, cam[2] + 0.5 * fz])
        centre = (self._box_min[self._held] + self._box_max[self._held]) * 0.5
        self._translate(self._held, target - centre)

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
HANDLERS = {
    Verb.INIT: WorldActions.init,
    Verb.NAVIGATE_TO: WorldActions.navigate,
    Verb.PICKUP: WorldActions.pickup,
    Verb.PUT: WorldActions.put,
    Verb.PUT_IN: WorldActions.put,
    Verb.TOGGLE: WorldActions.toggle,
    Verb.OPEN: WorldActions.open,
    Verb.CLOSE: WorldActions.close,
    Verb.OBSERVE: WorldActions.observe,
    Verb.MOVE_FORWARD: WorldActions.move_forward,
    Verb.END: WorldActions.end,
}
assert set(HANDLERS) == set(Verb), "every core verb needs a handler"
