# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Key-action replay of the public test cases and the ``bench sim`` figures.

The replay executes each case's ``task_metadata.actions`` in order through the simulator,
inserting ``observe`` only where the navigable-type gate needs the target to be seen first,
and skipping key actions that carry no object Type (found by :func:`untyped_key_actions`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.base import SimBackend

logger = logging.getLogger(__name__)

#: Key-action verbs with no object (the core verbs' names).
OBJECTLESS_KEY_VERBS = frozenset(v.value for v in OBJECTLESS_VERBS)


def key_action_strings(case: Mapping[str, Any]) -> list[str]:
    """The case's key actions as canonical strings (``"navigate to CounterTop"``)."""
    return [
        f"{a['action']} {a.get('objectType') or ''}".strip()
        for a in case["task_metadata"]["actions"]
    ]


def untyped_key_actions(cases: Iterable[Mapping[str, Any]]) -> dict[int | str, list[int]]:
    """Cases whose key actions include an object verb without an object Type.

    Returns identity -> positions of those actions (ten long-range public cases have a
    ``put`` with an empty ``objectType``).
    """
    out: dict[int | str, list[int]] = {}
    for case in cases:
        bad = [
            k
            for k, a in enumerate(case["task_metadata"]["actions"])
            if a["action"] not in OBJECTLESS_KEY_VERBS and not a.get("objectType")
        ]
        if bad:
            out[case.get("identity", "?")] = bad
    return out


def _id_types(object_id: str) -> tuple[str, str]:
    parts = object_id.split("|")
    # Sub-objects such as "Sink|...|SinkBasin" name their Type last.
    return parts[0], parts[-1]


def type_id_mismatches(cases: Iterable[Mapping[str, Any]]) -> dict[int | str, list[int]]:
    """Cases with a key action whose ``objectType`` differs from the Type in its ``objectId``.

    Returns identity -> positions (two public long-range cases say ``pickup Potato`` for an
    Egg id; replaying the Type there cannot succeed).
    """
    out: dict[int | str, list[int]] = {}
    for case in cases:
        bad = [
            k
            for k, a in enumerate(case["task_metadata"]["actions"])
            if a.get("objectType") and a.get("objectId")
            and a["objectType"] not in _id_types(a["objectId"])
        ]
        if bad:
            out[case.get("identity", "?")] = bad
    return out


def reset_options(
    case: Mapping[str, Any], agent_positions: Mapping[str, Any] | None, scenes_dir: Any = None
) -> dict[str, Any]:
    """``reset`` options for a test case."""
    opts: dict[str, Any] = {
        "scene": case["scene"],
        "task": {
            "navigable_objects": list(case.get("navigable_objects") or []),
            "target_objects": list(case.get("target_objects") or []),
            "related_objects": list(case.get("related_objects") or []),
            "identity": case.get("identity"),
        },
        "agent_positions": agent_positions or {},
    }
    if scenes_dir is not None:
        opts["scenes_dir"] = scenes_dir
    return opts


@dataclass
class ReplayResult:
    """Outcome of replaying one case's key actions."""

    identity: Any
    ok: bool
    steps: list[tuple[str, bool, str]] = field(default_factory=list)
    observes: int = 0
    skipped: list[int] = field(default_factory=list)
    failed_at: int | None = None

    @property
    def n_steps(self) -> int:
        """Number of executed steps (init excluded)."""
        return len(self.steps)


def replay_case(
    sim: SimBackend,
    case: Mapping[str, Any],
    agent_positions: Mapping[str, Any] | None = None,
    scenes_dir: Any = None,
    *,
    stop_on_failure: bool = True,
) -> ReplayResult:
    """Reset to the case and execute its key actions in order (see the module docstring)."""
    _, info = sim.reset(options=reset_options(case, agent_positions, scenes_dir))
    navigable = set(info["navigable_objects"])
    res = ReplayResult(case.get("identity"), True)
    for k, a in enumerate(case["task_metadata"]["actions"]):
        verb, target = a["action"], a.get("objectType") or ""
        if verb not in OBJECTLESS_KEY_VERBS and not target:
            res.skipped.append(k)
            continue
        if verb == "end":
            continue
        if verb == "navigate to" and target not in navigable:
            _, _, _, _, info = sim.step("observe")
            res.observes += 1
            res.steps.append(("observe", bool(info["success"]), info["feedback"]))
            navigable = set(info["navigable_objects"])
        action = f"{verb} {target}".strip()
        _, _, _, _, info = sim.step(action)
        navigable = set(info["navigable_objects"])
        res.steps.append((action, bool(info["success"]), info["feedback"]))
        if not info["success"]:
            res.ok = False
            if res.failed_at is None:
                res.failed_at = k
            if stop_on_failure:
                break
    return res


def load_public(data_dir: str | Path) -> tuple[list[dict], dict]:
    """(test cases, agent positions) from an Embodied-Reasoner data folder."""
    root = Path(data_dir)
    cases_path = next(
        (root / n for n in ("test_809.json", "test_public.json") if (root / n).exists()), None
    )
    if cases_path is None:
        raise DataError(f"no test_809.json or test_public.json in {root}")
    try:
        cases = json.loads(cases_path.read_text(encoding="utf-8"))
        ap_path = root / "agent_positions.json"
        positions = json.loads(ap_path.read_text(encoding="utf-8")) if ap_path.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the test data in {root}: {exc}") from exc
    return cases, positions


INVALID_PROBES: tuple[str, ...] = (
    "pickup NoSuchThing",
    "navigate to",
    "fly to Moon",
    "put Fridge",
)


def bench_trace(cases: Sequence[Mapping[str, Any]]) -> list[tuple[int, list[str]]]:
    """(case index, actions) for every case: key actions (untyped ones skipped) + invalid probes.

    ``observe`` is not pre-inserted: :func:`run_trace` inserts it where the gate requires.
    """
    trace = []
    for n, case in enumerate(cases):
        acts = [
            s for s, a in zip(key_action_strings(case), case["task_metadata"]["actions"])
            if not (a["action"] not in OBJECTLESS_KEY_VERBS and not a.get("objectType"))
            and a["action"] != "end"
        ]
        trace.append((n, acts + list(INVALID_PROBES)))
    return trace


def run_trace(
    sim: SimBackend,
    cases: Sequence[Mapping[str, Any]],
    trace: Sequence[tuple[int, list[str]]],
    agent_positions: Mapping[str, Any] | None,
    scenes_dir: Any = None,
) -> tuple[int, int]:
    """Replay a trace; returns (actions executed incl. resets, successes)."""
    n_actions = n_ok = 0
    for idx, actions in trace:
        _, info = sim.reset(options=reset_options(cases[idx], agent_positions, scenes_dir))
        n_actions += 1
        for act in actions:
            if act.startswith("navigate to ") and act[12:] not in info["navigable_objects"]:
                _, _, _, _, info = sim.step("observe")
                n_actions += 1
            _, _, _, _, info = sim.step(act)
            n_actions += 1
            n_ok += bool(info["success"])
    return n_actions, n_ok


def bench_sim(
    data_dir: str | Path,
    *,
    max_cases: int | None = None,
    frames: int = 200,
    width: int = 448,
    height: int = 448,
) -> dict[str, Any]:
    """Measure actions/s (no rendering) and RGB + instance-mask frames/s.

    Returns ``{"actions_per_s", "frames_per_s", "actions", "cases", "frames",
    "replay_ok", "replay_cases"}``; ``frames_per_s`` is None when the renderer is missing.
    """
    from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

    root = Path(data_dir)
    cases, positions = load_public(root)
    if max_cases is not None:
        cases = cases[:max_cases]
    scenes = root / "scenes"
    sim = make_sim(SimConfig(render=False, scenes_dir=scenes))
    # Warm the scene cache so JSON parsing is not timed.
    for sc in dict.fromkeys(c["scene"] for c in cases):
        sim.reset(options={"scene": sc})
    replay_ok = sum(replay_case(sim, c, positions, scenes).ok for c in cases)
    trace = bench_trace(cases)
    t0 = time.perf_counter()
    n_actions, _ = run_trace(sim, cases, trace, positions, scenes)
    dt = time.perf_counter() - t0
    out: dict[str, Any] = {
        "actions_per_s": round(n_actions / dt, 1),
        "actions": n_actions,
        "cases": len(cases),
        "replay_ok": replay_ok,
        "replay_cases": len(cases),
        "frames_per_s": None,
        "frames": 0,
    }
    rsim = make_sim(
        SimConfig(render=True, instance_mask=True, width=width, height=height,
                  scenes_dir=scenes)
    )
    if rsim._renderer is None or frames <= 0:  # noqa: SLF001
        return out
    world_poses = []
    for c in cases[: max(1, min(len(cases), 20))]:
        rsim.reset(options=reset_options(c, positions, scenes))
        world_poses.append(rsim.world.pose)  # type: ignore[union-attr]
    # Render from the last reset world, cycling through poses and headings.
    t0 = time.perf_counter()
    for k in range(frames):
        p = world_poses[k % len(world_poses)].with_yaw(world_poses[0].yaw + 30.0 * k)
        rsim.render_pose(p)
    dt = time.perf_counter() - t0
    out["frames_per_s"] = round(frames / dt, 1)
    out["frames"] = frames
    return out
