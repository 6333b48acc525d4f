# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""World semantics: gates, failures that change nothing, derived states, scene loading errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.sim_bridge.base import read_action
from ego_reasoner_ros.sim_bridge.embedded import EmbeddedSim
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.scene import Scene, find_scene, load_scene
from ego_reasoner_ros.sim_bridge.world import World


def _obj(otype, centre, size, oid=None, **flags):
    oid = oid or f"{otype}|{centre[0]:+.2f}|{centre[1]:+.2f}|{centre[2]:+.2f}"
    d = {
        "objectId": oid,
        "objectType": otype,
        "position": dict(zip("xyz", centre)),
        "rotation": {"x": 0, "y": 0, "z": 0},
        "axisAlignedBoundingBox": {
            "center": dict(zip("xyz", centre)),
            "size": dict(zip("xyz", size)),
        },
        "receptacleObjectIds": [],
        "parentReceptacles": [],
    }
    d.update(flags)
    return d


def kitchen() -> Scene:
    """A 4 x 4 m room: counter with sink, stove, microwave and fridge within a metre."""
    objs = [
        _obj("Floor", (0, -0.05, 0), (4, 0.1, 4), receptacle=True),
        _obj("CounterTop", (0, 0.9, 1.2), (2.0, 0.05, 0.6), receptacle=True),
        _obj("SinkBasin", (-0.6, 0.85, 1.2), (0.4, 0.15, 0.4), oid="Sink|x|SinkBasin",
             receptacle=True),
        _obj("Faucet", (-0.6, 1.0, 1.45), (0.15, 0.3, 0.15), toggleable=True),
        _obj("StoveBurner", (0.3, 0.93, 1.2), (0.2, 0.03, 0.2), receptacle=True),
        _obj("StoveKnob", (0.3, 0.9, 0.88), (0.06, 0.06, 0.06), toggleable=True,
             controlledObjects=["StoveBurner|+0.30|+0.93|+1.20"]),
        _obj("Pan", (-0.1, 0.95, 1.1), (0.25, 0.05, 0.4), receptacle=True, pickupable=True),
        _obj("Potato", (0.1, 0.97, 1.1), (0.09, 0.07, 0.09), pickupable=True, cookable=True),
        _obj("Apple", (0.0, 0.97, 1.3), (0.1, 0.1, 0.1), pickupable=True),
        _obj("Microwave", (0.8, 1.05, 1.25), (0.5, 0.3, 0.4), receptacle=True, openable=True,
             toggleable=True),
        _obj("Fridge", (-1.4, 0.9, 1.0), (0.7, 1.8, 0.7), receptacle=True, openable=True),
        _obj("Egg", (-1.4, 0.8, 1.0), (0.06, 0.06, 0.07), pickupable=True, cookable=True),
    ]
    objs[0]["receptacleObjectIds"] = [objs[1]["objectId"], objs[10]["objectId"]]
    objs[1]["receptacleObjectIds"] = [o["objectId"] for o in objs[6:9]]
    objs[10]["receptacleObjectIds"] = [objs[11]["objectId"]]
    meta = {
        "objects": objs,
        "agent": {"position": {"x": 0.0, "y": 0.9, "z": 0.0}, "rotation": {"y": 0.0},
                  "cameraHorizon": 0.0, "isStanding": True},
        "sceneBounds": {"cornerPoints": [[2, 2.5, 2], [-2, -0.1, -2]]},
    }
    return Scene.from_metadata([meta], "FloorPlanTest")


def world(**task) -> World:
    sc = kitchen()
    task.setdefault("navigable_objects", [t for t in sc.object_types() if t != "Egg"])
    return World(sc, task)


def ok(w: World, verb: str, target: str | None = None):
    res = w.apply(verb, target)
    assert res.success, (verb, target, res.feedback)
    return res


def fails(w: World, verb: str, target: str | None = None) -> str:
    before = w.snapshot()
    key = w.state_key()
    res = w.apply(verb, target)
    assert not res.success, (verb, target)
    assert res.feedback and res.error
    assert w.state_key() == key and w.snapshot() == before
    return res.feedback


def test_scene_types_first_appearance_includes_hidden():
    w = world()
    types = w.scene_types()
    assert types[0] == "Floor" and types[-1] == "Egg"
    assert w.is_hidden(w.objects_of_type("Egg")[0])
    assert w.parent(w.objects_of_type("Egg")[0]) == w.objects_of_type("Fridge")[0]
    assert w.parent("Sink|x|SinkBasin") is None


def test_navigate_gate_and_observe_accumulate():
    w = world(navigable_objects=["CounterTop"])
    fails(w, "navigate to", "Egg")  # hidden in the closed fridge, never seen
    fails(w, "navigate to", "Dragon")  # no such object
    ok(w, "init")
    ok(w, "navigate to", "CounterTop")
    assert w.current_container == w.objects_of_type("CounterTop")[0]
    yaw = w.agent_pose.yaw
    res = ok(w, "observe")
    assert len(res.poses) == 3 and w.agent_pose.yaw == yaw
    assert "Fridge" in w.navigable_types


def test_failures_leave_world_unchanged():
    w = world()
    ok(w, "navigate to", "CounterTop")
    fails(w, "put", "CounterTop")  # empty hand
    fails(w, "pickup", "Egg")  # inside the closed fridge: not interactable
    fails(w, "open", "CounterTop")  # not openable
    ok(w, "pickup", "Apple")
    fails(w, "pickup", "Potato")  # hand full
    ok(w, "navigate to", "Fridge")
    fails(w, "put", "Fridge")  # closed container
    ok(w, "open", "Fridge")
    fails(w, "open", "Fridge")  # already open
    ok(w, "put", "Fridge")
    assert w.parent(w.objects_of_type("Apple")[0]) == w.objects_of_type("Fridge")[0]
    ok(w, "pickup", "Egg")
    assert w.held_type == "Egg"


def test_pickup_out_of_reach_fails():
    sc = kitchen()
    w = World(sc, {"navigable_objects": sc.object_types()})
    ok(w, "navigate to", "Fridge")
    w2 = World(sc, {"navigable_objects": sc.object_types()})
    w2.pose = w2.pose.__class__(5.0, 0.9, -5.0, 180.0, 0.0, True)  # far outside, facing away
    w2._refresh([w2.pose])  # noqa: SLF001
    assert "Apple" not in w2.legal_types
    fails(w2, "pickup", "Apple")


def test_toggle_follows_the_stale_reset_state():
    w = world()
    ok(w, "navigate to", "SinkBasin")
    ok(w, "toggle", "Faucet")
    assert w.is_toggled(w.objects_of_type("Faucet")[0])
    assert "already on" in fails(w, "toggle", "Faucet")


def test_wash_in_either_order():
    w = world()
    ok(w, "navigate to", "CounterTop")
    ok(w, "pickup", "Apple")
    ok(w, "navigate to", "SinkBasin")
    ok(w, "put", "SinkBasin")
    apple = w.objects_of_type("Apple")[0]
    assert not w.is_clean(apple)
    ok(w, "toggle", "Faucet")
    assert w.is_clean(apple)
    # Faucet first, then the object.
    ok(w, "navigate to", "CounterTop")
    ok(w, "pickup", "Potato")
    ok(w, "navigate to", "SinkBasin")
    ok(w, "put", "SinkBasin")
    assert w.is_clean(w.objects_of_type("Potato")[0])


def test_cook_in_pan_on_burner_via_knob_and_via_burner():
    for switch in ("StoveKnob", "StoveBurner"):
        w = world()
        ok(w, "navigate to", "CounterTop")
        ok(w, "pickup", "Pan")
        ok(w, "navigate to", "StoveBurner")
        ok(w, "put", "StoveBurner")
        ok(w, "navigate to", "CounterTop")
        ok(w, "pickup", "Potato")
        ok(w, "navigate to", "StoveBurner")
        ok(w, "put", "Pan")
        potato = w.objects_of_type("Potato")[0]
        assert w.parent(potato) == w.objects_of_type("Pan")[0]
        assert not w.is_cooked(potato)
        ok(w, "toggle", switch)
        assert w.is_cooked(potato) and w.is_heated(potato)
        assert w.is_toggled(w.objects_of_type("StoveBurner")[0])


def test_heat_in_microwave_and_cool_in_fridge():
    w = world()
    ok(w, "navigate to", "CounterTop")
    ok(w, "pickup", "Potato")
    ok(w, "navigate to", "Microwave")
    ok(w, "open", "Microwave")
    ok(w, "put", "Microwave")
    ok(w, "close", "Microwave")
    potato = w.objects_of_type("Potato")[0]
    assert not w.is_heated(potato)
    ok(w, "toggle", "Microwave")
    assert w.is_heated(potato)
    w = world()
    ok(w, "navigate to", "CounterTop")
    ok(w, "pickup", "Apple")
    ok(w, "navigate to", "Fridge")
    ok(w, "open", "Fridge")
    ok(w, "put", "Fridge")
    apple = w.objects_of_type("Apple")[0]
    assert not w.is_cooled(apple)
    ok(w, "close", "Fridge")
    assert w.is_cooled(apple) and w.is_hidden(apple)


def test_embedded_step_contract_and_bad_input():
    sim = make_sim(SimConfig(render=False))
    assert isinstance(sim, EmbeddedSim)
    with sim:
        obs, info = sim.reset(options={"scene": kitchen(), "task": {
            "navigable_objects": ["CounterTop"]}})
        assert obs["images"] == [] and info["success"]
        assert set(info) >= {"success", "feedback", "legal_objects", "navigable_objects",
                             "held", "error", "action"}
        before = sim.world.state_key()
        for bad in ("dance wildly", "navigate to", "pickup Dragon", "Navigate to CounterTop"):
            obs, reward, term, trunc, info = sim.step(bad)
            assert not info["success"] and info["feedback"] and reward == 0.0
            assert obs["images"] == [] and not term
        assert sim.world.state_key() == before
        _, _, term, _, info = sim.step("navigate to CounterTop")
        assert info["success"] and not term
        _, _, term, _, _ = sim.step("end")
        assert term


def test_read_action_is_the_core_canonical_form():
    put_in = read_action("put in  Fridge ")
    assert put_in == Action(Verb.PUT_IN, "Fridge")
    assert (put_in.sim_verb(), put_in.metric_key) == (Verb.PUT, "put Fridge")
    assert read_action("move forward") == Action(Verb.MOVE_FORWARD)
    assert read_action(Action(Verb.PICKUP, "Apple")) == Action(Verb.PICKUP, "Apple")
    for bad in ("observe now", "pickup", "Pickup Apple", "put in", "", 3, None):
        assert read_action(bad) is None


def test_scene_loading_errors(tmp_path: Path):
    bad = tmp_path / "kitchens" / "FloorPlan9"
    bad.mkdir(parents=True)
    (bad / "metadata.json").write_text("[{not json", encoding="utf-8")
    with pytest.raises(DataError, match="metadata.json"):
        load_scene(bad)
    (bad / "metadata.json").write_text(json.dumps([{"objects": "x"}]), encoding="utf-8")
    with pytest.raises(DataError, match="metadata.json"):
        load_scene(bad)
    with pytest.raises(DataError, match="missing"):
        load_scene(tmp_path / "kitchens" / "FloorPlan8")
    with pytest.raises(DataError, match="FloorPlan77"):
        find_scene(tmp_path, "FloorPlan77")
    assert find_scene(tmp_path, "FloorPlan9") == bad


def test_rendering_integration_does_not_change_legality():
    cfg = dict(width=96, height=96, instance_mask=True, depth=True)
    plain = make_sim(SimConfig(render=False, **cfg))
    drawn = make_sim(SimConfig(render=True, observe_composite=True, **cfg))
    task = {"navigable_objects": ["CounterTop"]}
    plain.reset(options={"scene": kitchen(), "task": task})
    obs, info = drawn.reset(options={"scene": kitchen(), "task": task})
    assert obs["images"][0].shape == (96, 96, 3) and obs["images"][0].dtype == np.uint8
    assert obs["depth"][0].shape == (96, 96)
    for act in ("navigate to CounterTop", "pickup Apple", "observe"):
        _, _, _, _, a = plain.step(act)
        obs, _, _, _, b = drawn.step(act)
        assert a["legal_objects"] == b["legal_objects"] and a["success"] == b["success"]
    assert len(obs["images"]) == 1 and obs["images"][0].shape == (96, 3 * 96 + 10, 3)
    assert len(obs["instance_mask"]) == 3
    _, _, _, _, info = drawn.step("navigate to CounterTop")
    mask = drawn.render_pose(drawn.world.agent_pose).instance_mask
    seen = {drawn.world.ids[i] for i in np.unique(mask) if i >= 0}
    assert drawn.world.objects_of_type("CounterTop")[0] in seen


def test_make_sim_takes_one_shape_a_sim_config() -> None:
    from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

    sim = make_sim(SimConfig(type='embedded', render=False))
    assert type(sim).__name__ == 'EmbeddedSim'
    with pytest.raises(TypeError, match='SimConfig'):
        make_sim({'type': 'embedded'})
