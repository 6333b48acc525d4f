# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Fidelity of the embedded simulator against the public Embodied-Reasoner data."""

from __future__ import annotations


import pytest

from ego_reasoner_ros.sim_bridge.bench import (
    load_public,
    replay_case,
    type_id_mismatches,
    untyped_key_actions,
)
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.scene import find_scene, iter_scene_dirs, load_scene
from data_paths import ER_DATA

DATA = ER_DATA
pytestmark = pytest.mark.skipif(
    not (DATA / "scenes").is_dir() or not (DATA / "test_public.json").exists(),
    reason="Embodied-Reasoner public data not available",
)


@pytest.fixture(scope="module")
def public():
    return load_public(DATA)


def test_all_public_scenes_load():
    dirs = list(iter_scene_dirs(DATA / "scenes"))
    assert len(dirs) == 116
    for d in dirs:
        scene = load_scene(d)
        assert scene.name == d.name
        assert scene.room_type == d.parent.name
        types = scene.object_types()
        assert "Floor" in types and len(types) == len(set(types))
        for o in scene.objects:
            assert all(a <= b for a, b in zip(o.box_min, o.box_max))


def test_find_scene_in_any_room_folder():
    assert find_scene(DATA / "scenes", "FloorPlan303").parent.name == "bedrooms"
    assert find_scene(DATA / "scenes", "FloorPlan1").parent.name == "kitchens"


def test_data_defect_helpers_find_the_known_cases(public):
    cases, _ = public
    untyped = untyped_key_actions(cases)
    assert len(untyped) == 10
    for ident in untyped:
        case = next(c for c in cases if c["identity"] == ident)
        assert case["tasktype"].startswith("long-range")
        for k in untyped[ident]:
            assert case["task_metadata"]["actions"][k]["action"] == "put"
    mism = type_id_mismatches(cases)
    assert all(
        next(c for c in cases if c["identity"] == i)["tasktype"].startswith("long-range")
        for i in mism
    )


def test_every_public_case_replays(public):
    cases, positions = public
    sim = make_sim(SimConfig(render=False, scenes_dir=DATA / "scenes"))
    untyped = untyped_key_actions(cases)
    mism = type_id_mismatches(cases)
    full = 0
    outside_seed = 0
    for case in cases:
        navs = [a["objectType"] for a in case["task_metadata"]["actions"]
                if a["action"] == "navigate to"]
        outside_seed += any(t not in case["navigable_objects"] for t in navs)
        res = replay_case(sim, case, positions, DATA / "scenes")
        defects = untyped.get(case["identity"], []) + mism.get(case["identity"], [])
        if not defects:
            assert res.ok, (case["identity"], res.steps[-1])
            full += 1
        else:
            # Everything before the first defective key action must succeed.
            assert res.failed_at is None or res.failed_at >= min(defects), (
                case["identity"], res.steps[-1])
            full += res.ok
    assert outside_seed == 19
    assert full >= len(cases) - len(set(untyped) | set(mism))
