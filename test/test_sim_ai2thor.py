# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""AI2-THOR backend translation, on recorded-style event dictionaries with a fake controller."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ego_reasoner_ros.sim_bridge.ai2thor_sim import AI2ThorSim
from ego_reasoner_ros.sim_bridge.base import SimulatorUnavailableError
from ego_reasoner_ros.sim_bridge.registry import SimConfig


def _o(otype, oid, c, s, **kw):
    d = {"objectType": otype, "objectId": oid, "visible": True, "receptacle": False,
         "openable": False, "isToggled": False, "receptacleObjectIds": None,
         "axisAlignedBoundingBox": {"center": dict(zip("xyz", c)), "size": dict(zip("xyz", s))}}
    d.update(kw)
    return d


OBJECTS = [
    _o("Floor", "Floor|0", (0, 0, 0), (5, 0.1, 5), receptacle=True),
    _o("CounterTop", "CounterTop|1", (0, 0.9, 1.0), (2, 0.05, 0.6), receptacle=True,
       receptacleObjectIds=["Apple|1"]),
    _o("Apple", "Apple|1", (0.2, 0.95, 1.0), (0.1, 0.1, 0.1), pickupable=True),
    _o("Faucet", "Faucet|1", (-0.5, 1.0, 1.2), (0.15, 0.3, 0.15), toggleable=True),
    _o("Fridge", "Fridge|1", (2, 0.9, 0), (0.7, 1.8, 0.7), receptacle=True, openable=True,
       visible=False),
]


class FakeEvent:
    def __init__(self, metadata):
        self.metadata = metadata
        self.frame = np.zeros((4, 6, 3), np.uint8)
        self.depth_frame = np.ones((4, 6), np.float32)
        self.instance_masks = {"Apple|1": np.eye(4, 6, dtype=bool)}


class FakeController:
    """Records calls and answers with AI2-THOR-shaped metadata."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls: list[tuple[str, dict]] = []
        self.agent = {"position": {"x": 0.0, "y": 0.9, "z": 0.0}, "rotation": {"y": 0.0},
                      "cameraHorizon": 0.0, "isStanding": True}
        self.fail_next: str | None = None
        self.last_event = self._event("Initialize", True)

    def _event(self, action, ok, ret=None, err=""):
        return FakeEvent({
            "objects": copy.deepcopy(OBJECTS), "agent": copy.deepcopy(self.agent),
            "lastAction": action, "lastActionSuccess": ok, "errorMessage": err,
            "actionReturn": ret, "inventoryObjects": [],
            "sceneBounds": {"cornerPoints": [[2, 2, 2]] * 2 + [[2, 0, 2], [2, 0, -2]]
                            + [[-2, 2, 2]] * 2 + [[-2, 0, 2], [-2, 0, -2]]},
        })

    def reset(self, scene):
        self.calls.append(("reset", {"scene": scene}))
        return self._event("Reset", True)

    def step(self, action, **kw):
        self.calls.append((action, kw))
        if self.fail_next == action:
            self.fail_next = None
            return self._event(action, False, err=f"{action} refused by physics")
        ret = None
        if action == "GetReachablePositions":
            ret = [{"x": 0.0, "y": 0.9, "z": 0.0}, {"x": 1.5, "y": 0.9, "z": 1.5}]
        elif action == "GetInteractablePoses":
            ret = [{"x": 0.0, "y": 0.9, "z": 0.25, "standing": True},
                   {"x": 3.0, "y": 0.9, "z": 3.0, "standing": True}]
        elif action == "Teleport":
            self.agent["position"] = kw["position"]
            self.agent["rotation"] = {"y": kw["rotation"]["y"]}
            self.agent["cameraHorizon"] = kw["horizon"]
        elif action == "RotateLeft":
            self.agent["rotation"] = {"y": (self.agent["rotation"]["y"] - 90) % 360}
        return self._event(action, True, ret)

    def stop(self):
        self.calls.append(("stop", {}))


def make():
    made = []

    def factory(**kw):
        made.append(FakeController(**kw))
        return made[-1]

    cfg = SimConfig(type="ai2thor", instance_mask=True, depth=True, width=6, height=4)
    return AI2ThorSim(cfg, controller_factory=factory), made


def test_reset_init_and_navigate_translation():
    sim, made = make()
    obs, info = sim.reset(options={"scene": "FloorPlan1", "task": {
        "navigable_objects": ["CounterTop"], "related_objects": ["Apple|1"]}})
    ctl = made[0]
    assert ctl.kwargs["scene"] == "FloorPlan1" and ctl.kwargs["fieldOfView"] == 90.0
    assert ctl.kwargs["visibilityDistance"] == 20.0
    tele = [kw for a, kw in ctl.calls if a == "Teleport"][0]
    assert tele["position"] == {"x": 1.5, "y": 0.9, "z": 1.5}  # nearest the (2, 2) corner
    assert tele["rotation"]["y"] == 225.0
    assert obs["images"][0].shape == (4, 6, 3)
    assert obs["instance_mask"][0].dtype == np.int32 and obs["instance_mask"][0].max() == 2
    assert sim.scene_types() == ["Floor", "CounterTop", "Apple", "Faucet", "Fridge"]
    _, _, _, _, info = sim.step("navigate to CounterTop")
    assert info["success"]
    # The redirect: the CounterTop holds a related object, so poses are asked for the Apple.
    assert ("GetInteractablePoses", {"objectId": "Apple|1"}) in ctl.calls
    assert ctl.calls[-1][1]["position"] == {"x": 0.0, "y": 0.9, "z": 0.25}
    assert info["current_container"] == "CounterTop|1"
    _, _, _, _, info = sim.step("navigate to Fridge")  # never seen navigable
    assert not info["success"] and info["error"]


def test_interactions_and_errors():
    sim, made = make()
    sim.reset(options={"scene": "FloorPlan1", "agent_positions": {"7": {
        "CounterTop|1": {"agent_teleport_position": {"x": 0.1, "y": 0.9, "z": 0.3},
                         "agent_rotation": {"y": 0.0}, "agent_cameraHorizon": 30,
                         "agent_isstanding": True}}},
        "task": {"navigable_objects": ["CounterTop"], "identity": 7}})
    ctl = made[0]
    sim.step("navigate to CounterTop")
    assert ctl.calls[-1] == ("Teleport", {"position": {"x": 0.1, "y": 0.9, "z": 0.3},
                                          "rotation": {"x": 0, "y": 0.0, "z": 0},
                                          "horizon": 30.0, "standing": True})
    _, _, _, _, info = sim.step("pickup Apple")
    assert info["success"]
    assert ctl.calls[-1] == ("PickupObject", {"objectId": "Apple|1", "forceAction": False})
    ctl.fail_next = "PutObject"
    obs, _, _, _, info = sim.step("put CounterTop")
    assert not info["success"] and info["error"] == "PutObject refused by physics"
    assert obs["images"] == []
    assert ctl.calls[-1][1] == {"objectId": "CounterTop|1", "forceAction": False,
                                "placeStationary": True}
    sim.step("toggle Faucet")
    assert ctl.calls[-1][0] == "ToggleObjectOn"
    obs, _, _, _, info = sim.step("observe")
    assert len(obs["images"]) == 3
    assert [a for a, _ in ctl.calls[-4:]] == ["RotateLeft"] * 4
    sim.step("move forward")
    assert ctl.calls[-1] == ("MoveAhead", {"moveMagnitude": 0.5})
    _, _, _, _, info = sim.step("pickup Dragon")
    assert not info["success"]
    _, _, term, _, _ = sim.step("end")
    assert term
    sim.close()
    assert ctl.calls[-1][0] == "stop"


def test_missing_build_is_a_clear_error():
    def factory(**kw):
        raise ValueError("Invalid commit_id: no build exists for arch=Linux platform=X")

    sim = AI2ThorSim(SimConfig(type="ai2thor"), controller_factory=factory)
    with pytest.raises(SimulatorUnavailableError, match="local_executable_path"):
        sim.reset(options={"scene": "FloorPlan1"})
