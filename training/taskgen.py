# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Task synthesis for the data engine: the 11 Embodied-Reasoner task types over any scene set.

Tasks are written in the ``test_809.json`` format (scene, tasktype, taskname, taskquery,
``task_metadata.actions`` with the key actions, target/related/navigable objects), so that the
evaluator's metric (:mod:`ego_reasoner_ros.training.metrics`) and strict goal check
(:mod:`ego_reasoner_ros.training.goals`) apply to them unchanged.

Which objects qualify follows er-protocol.md section 5, on the simulator's live containment
(:class:`~ego_reasoner_ros.sim_bridge.world.World` picks direct parents geometrically):

* *exposed* object: pickupable, its parent is neither the Floor nor a closed openable
  receptacle, and the parent stands on the Floor (or on nothing);
* *closed-container* object: its parent is a closed openable receptacle standing on the
  Floor (a Toilet does not count for the search type);
* toggle targets: toggleable and exposed, never Candle, LightSwitch, StoveBurner, StoveKnob;
* transport receptacles: drawn from the compatibility table (``pick_up_and_put.json`` or the
  built-in one), present in the scene, with a non-openable parent, non-openable (closed
  openable for the ``in_closerep`` variants), and able to hold the object in the simulator
  (flagged receptacle, never the Floor, the simulator's size fit); ``Sink`` is named
  ``SinkBasin``; navigation goes to the receptacle's parent when it stands on another
  receptacle;
* long-range tasks chain transports with washing at a faucet, cooking on a burner, heating in
  a microwave or switching on a lamp, using the simulator's derived states.

The reference's instance resolution uses the first ``target_objects`` id of a Type, so a task
whose key actions name two different instances of one Type is never generated. A search for a
Type with several instances is generated only when every instance is found the same way (all
exposed, or all inside closed containers, on parents of one Type): otherwise a visible copy
would answer the instruction without the key actions. ``target_objects`` holds the ids of
key-action objects whose Type occurs more than once, as in the reference (er-protocol.md 4).

Every emitted task is winnable: its key actions are replayed in the embedded simulator with
the task's own options (as :func:`ego_reasoner_ros.sim_bridge.bench.replay_case` does) and the
strict goal is checked afterwards; tasks that fail are dropped (``TaskSet.unwinnable``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import hashlib
import logging
import math
from pathlib import Path
import random
import re
from typing import Any

from ego_reasoner_ros.core.domain import LONG_RANGE, TASK_TYPES
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.scene import Scene, iter_scene_dirs, load_scene
from ego_reasoner_ros.training.task_builder import SceneIndex, TaskBuilder, stable_int
from ego_reasoner_ros.training.task_replay import KeyReplayer

logger = logging.getLogger(__name__)

#: FloorPlans used by the reference test set; skipped unless explicitly allowed.
TEST_SCENES = frozenset(
    f'FloorPlan{n}' for n in (1, 2, 3, 4, 7, 22, 27, 201, 202, 203, 301, 302, 303, 401, 403, 404))
_SCENE_NAME_RE = re.compile(r'^FloorPlan\d+')


@dataclass
class TaskGenConfig:
    """Settings of :func:`generate_tasks`.

    Attributes:
        seed: everything (choices, wording, order) derives from it.
        tasks_per_scene: at most this many tasks per scene, spread over the task types.
        types: task types to generate (default: all 11).
        allow_test_scenes: also use the reference test FloorPlans.
        val_fraction: share of scenes held out for validation (chosen by a hash of the name).
        p_type_name: probability that an instruction names an object by its exact Type.
        validate: replay every emitted task's key actions in the embedded simulator and drop
            the ones that fail (or whose strict goal does not hold afterwards).
    """

    seed: int = 0
    tasks_per_scene: int = 40
    types: tuple[str, ...] = TASK_TYPES
    allow_test_scenes: bool = False
    val_fraction: float = 0.1
    p_type_name: float = 0.35
    validate: bool = True

    def __post_init__(self) -> None:
        if self.tasks_per_scene < 1:
            raise ValueError(f'tasks_per_scene must be >= 1, got {self.tasks_per_scene}')
        unknown = [t for t in self.types if t not in TASK_TYPES]
        if unknown or not self.types:
            raise ValueError(f'unknown task types {unknown}; expected some of {TASK_TYPES}')
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f'val_fraction must be in [0, 1), got {self.val_fraction}')
        if not 0.0 <= self.p_type_name <= 1.0:
            raise ValueError(f'p_type_name must be in [0, 1], got {self.p_type_name}')


@dataclass
class TaskSet:
    """The outcome of :func:`generate_tasks`."""

    tasks: list[dict[str, Any]]
    scenes: list[str]
    skipped_scenes: list[str] = field(default_factory=list)
    val_scenes: list[str] = field(default_factory=list)
    duplicates: int = 0
    #: Candidates dropped because their key-action replay failed.
    unwinnable: int = 0


def is_test_scene(name: str) -> bool:
    """Whether a scene name is one of the reference test FloorPlans (``_physics`` too)."""
    m = _SCENE_NAME_RE.match(name)
    return bool(m) and m.group(0) in TEST_SCENES and name in (m.group(0),
                                                             m.group(0) + '_physics')


def select_scene_dirs(scene_dirs: Iterable[Path], *, allow_test_scenes: bool = False
                      ) -> tuple[list[Path], list[str]]:
    """Split scene folders into the usable ones and the names of skipped test scenes."""
    keep, skipped = [], []
    for d in scene_dirs:
        if not allow_test_scenes and is_test_scene(d.name):
            skipped.append(d.name)
        else:
            keep.append(d)
    return keep, sorted(skipped, key=lambda n: (len(n), n))


def split_scenes(names: Sequence[str], val_fraction: float) -> set[str]:
    """Validation scenes: a deterministic hash of the name decides (at least one of >= 2)."""
    if val_fraction <= 0 or len(names) < 2:
        return set()
    scored = sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    n_val = max(1, round(len(names) * val_fraction))
    return set(scored[:n_val])


def scene_tasks(scene: Scene, compat: ReceptacleCompat, cfg: TaskGenConfig,
                meta_path: str = '', *, replayer: KeyReplayer | None = None
                ) -> list[dict[str, Any]]:
    """Up to ``cfg.tasks_per_scene`` tasks of one scene, spread evenly over the task types.

    With ``cfg.validate`` every emitted task has been replayed successfully (``replayer``, or
    a new :class:`KeyReplayer`); candidates that fail are skipped. Deterministic for a given
    scene and seed.
    """
    if cfg.validate and replayer is None:
        replayer = KeyReplayer()
    rng = random.Random(stable_int(cfg.seed, scene.name, 'tasks'))
    b = TaskBuilder(SceneIndex(scene), compat, cfg, meta_path)
    per_type = max(1, math.ceil(cfg.tasks_per_scene / len(cfg.types))) * 2
    pools: dict[str, list[dict[str, Any]]] = {}
    makers = {
        'single_search': lambda: b.search(False),
        'single_search_from_closerep': lambda: b.search(True),
        'single_pickup': lambda: b.pickup(False),
        'single_pickup_from_closerep': lambda: b.pickup(True),
        'single_toggle': b.toggle,
        'pickup_and_put': lambda: b.transport(False, False, rng),
        'pickup_and_put_in_closerep': lambda: b.transport(False, True, rng),
        'pickup_from_closerep_and_put': lambda: b.transport(True, False, rng),
        'pickup_from_closerep_and_put_in_closerep': lambda: b.transport(True, True, rng),
        'ordered_pickup_two_object_and_put': lambda: b.ordered(rng, per_type),
        LONG_RANGE: lambda: b.long_range(rng, per_type),
    }
    for tt in cfg.types:
        seen: set[str] = set()
        pool = []
        for rec in makers[tt]():
            if rec is not None and rec['identity'] not in seen:
                seen.add(rec['identity'])
                pool.append(rec)
        rng.shuffle(pool)
        pools[tt] = pool
    # Round-robin over the types so every type gets its share.
    # The starting type depends on the scene, so that any prefix of the interleaved global
    # list is balanced across types too.
    shift = stable_int(cfg.seed, scene.name, 'shift') % len(cfg.types)
    types = cfg.types[shift:] + cfg.types[:shift]
    out: list[dict[str, Any]] = []
    depth = 0
    while len(out) < cfg.tasks_per_scene and any(len(p) > depth for p in pools.values()):
        for tt in types:
            if depth < len(pools[tt]) and len(out) < cfg.tasks_per_scene:
                rec = pools[tt][depth]
                if replayer is None or replayer(rec, scene):
                    out.append(rec)
        depth += 1
    return out


def generate_tasks(scene_dirs: Iterable[str | Path], cfg: TaskGenConfig | None = None, *,
                   compat: ReceptacleCompat | None = None) -> TaskSet:
    """Tasks over scene folders (``<room>/<scene>`` folders or a scenes root).

    Test FloorPlans are skipped unless ``cfg.allow_test_scenes``; the skipped names are
    returned. Tasks are deduplicated by identity (scene + key actions with object ids), get a
    ``split`` (``train``/``val`` by scene) and are interleaved across scenes, so that any
    prefix of the list covers many scenes.
    """
    cfg = cfg or TaskGenConfig()
    compat = compat or ReceptacleCompat.default()
    dirs: list[Path] = []
    for d in scene_dirs:
        p = Path(d)
        if (p / 'metadata.json').is_file():
            dirs.append(p)
        elif p.is_dir():
            dirs.extend(iter_scene_dirs(p))
        else:
            raise DataError(f'not a scene folder or scenes root: {p}')
    dirs = sorted(set(dirs), key=lambda q: (q.parent.name, q.name))
    keep, skipped = select_scene_dirs(dirs, allow_test_scenes=cfg.allow_test_scenes)
    if skipped:
        logger.info('skipped %d reference test scenes: %s', len(skipped), ', '.join(skipped))
    if not keep:
        raise DataError('no usable scenes (all were reference test scenes; pass '
                        '--allow-test-scenes to use them)')
    names = [d.name for d in keep]
    val = split_scenes(names, cfg.val_fraction)
    per_scene: list[list[dict[str, Any]]] = []
    seen: set[str] = set()
    dups = 0
    replayer = KeyReplayer() if cfg.validate else None
    for d in keep:
        scene = load_scene(d)
        meta = f'{d.parent.name}/{d.name}/metadata.json'
        tasks = []
        for t in scene_tasks(scene, compat, cfg, meta, replayer=replayer):
            if t['identity'] in seen:
                dups += 1
                continue
            seen.add(t['identity'])
            t['split'] = 'val' if d.name in val else 'train'
            t['scene_path'] = str(d)
            tasks.append(t)
        per_scene.append(tasks)
    ordered = [t for depth in range(max((len(p) for p in per_scene), default=0))
               for p in per_scene if depth < len(p) for t in [p[depth]]]
    unwinnable = replayer.failed if replayer is not None else 0
    if unwinnable:
        logger.info('dropped %d of %d replayed candidate tasks whose key actions fail in the '
                    'simulator', unwinnable, replayer.replayed)  # type: ignore[union-attr]
    return TaskSet(tasks=ordered, scenes=names, skipped_scenes=skipped,
                   val_scenes=sorted(val), duplicates=dups, unwinnable=unwinnable)
