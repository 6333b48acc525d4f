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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import hashlib
import logging
import math
from pathlib import Path
import random
import re
from typing import Any

from ego_reasoner_ros.core.domain import LONG_RANGE, TASK_TYPES, TYPE_ABBREV
from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.scene import Scene, iter_scene_dirs, load_scene
from ego_reasoner_ros.sim_bridge.world import World
from ego_reasoner_ros.training import phrasings as ph

logger = logging.getLogger(__name__)

#: FloorPlans used by the reference test set; skipped unless explicitly allowed.
TEST_SCENES = frozenset(
    f'FloorPlan{n}' for n in (1, 2, 3, 4, 7, 22, 27, 201, 202, 203, 301, 302, 303, 401, 403, 404))
TOGGLE_EXCLUDED = frozenset({'Candle', 'LightSwitch', 'StoveBurner', 'StoveKnob'})
FOOD = ('Lettuce', 'Potato', 'Tomato', 'Egg', 'Apple')
WASHABLE = FOOD + ('Mug', 'Cup', 'Bowl', 'Plate', 'Pan', 'Pot', 'Spatula', 'Ladle', 'Fork',
                   'Spoon', 'Knife', 'ButterKnife', 'DishSponge')
LAMPS = ('DeskLamp', 'FloorLamp', 'Television', 'Laptop')
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


def stable_int(*parts: Any) -> int:
    """A run-independent 48-bit integer from ``parts`` (Python's ``hash`` is salted)."""
    return int(hashlib.sha1('|'.join(map(str, parts)).encode()).hexdigest()[:12], 16)


# ---------------------------------------------------------------------- scene index
@dataclass(frozen=True)
class _O:
    id: str
    type: str
    pickupable: bool
    openable: bool
    is_open: bool
    receptacle: bool
    toggleable: bool
    is_toggled: bool
    parent: str | None
    grandparent: str | None


class SceneIndex:
    """Live containment of a scene at reset, as the simulator sees it."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        world = World(scene)
        self.objects: dict[str, _O] = {}
        for o in scene.objects:
            anc = world.ancestors(o.object_id)
            self.objects[o.object_id] = _O(
                o.object_id, o.object_type, o.pickupable, o.openable, o.is_open, o.receptacle,
                o.toggleable, o.is_toggled, anc[0] if anc else None,
                anc[1] if len(anc) > 1 else None)
        self.type_count: dict[str, int] = {}
        for o in scene.objects:
            self.type_count[o.object_type] = self.type_count.get(o.object_type, 0) + 1
        self.world = world

    def of_type(self, object_type: str) -> list[_O]:
        return [o for o in self.objects.values() if o.type == object_type]

    def type_of(self, oid: str | None) -> str | None:
        return None if oid is None else self.objects[oid].type

    def closed_openable(self, oid: str | None) -> bool:
        if oid is None:
            return False
        o = self.objects[oid]
        return o.openable and not o.is_open

    def on_floor(self, oid: str | None) -> bool:
        """No parent, or the Floor."""
        return oid is None or self.objects[oid].type == 'Floor'

    def exposed(self, o: _O) -> bool:
        return (o.parent is not None and self.type_of(o.parent) != 'Floor'
                and not self.closed_openable(o.parent) and self.on_floor(o.grandparent))

    def in_closed(self, o: _O) -> bool:
        return (o.parent is not None and self.closed_openable(o.parent)
                and self.on_floor(o.grandparent))

    def fits(self, held: str, rid: str) -> bool:
        """The simulator's ``put`` size rule (:meth:`World._fits`)."""
        hs = self.scene.object(held).size
        rs = self.scene.object(rid).size
        return min(hs[0], hs[2]) <= 2.0 * max(rs[0], rs[2]) + 0.05

    def can_hold(self, held: str, rid: str) -> bool:
        """Whether ``put`` can place ``held`` in/on ``rid`` (open or not openable aside)."""
        r = self.objects[rid]
        return r.receptacle and r.type != 'Floor' and rid != held and self.fits(held, rid)

    def nav_target(self, rid: str) -> str:
        """Where to navigate to reach a receptacle: its parent when it stands on one."""
        r = self.objects[rid]
        if r.parent is not None and self.type_of(r.parent) != 'Floor':
            return r.parent
        return rid


# ---------------------------------------------------------------------- task records
def _act(verb: str, o: _O | None, related: Sequence[str] = ()) -> dict[str, Any]:
    return {
        'action': verb, 'objectId': '' if o is None else o.id,
        'objectType': '' if o is None else o.type,
        'baseaction': verb if verb in ('pickup', 'put') else '', 'reward': 1,
        'relatedObject': list(related) if related else ([] if o is None else [o.id]),
    }


class _Builder:
    """Turns key-action chains into task records for one scene."""

    def __init__(self, index: SceneIndex, compat: ReceptacleCompat, cfg: TaskGenConfig,
                 meta_path: str) -> None:
        self.ix = index
        self.compat = compat
        self.cfg = cfg
        self.meta_path = meta_path

    # -- chains (lists of (verb, object, related ids))
    def fetch(self, o: _O, closed: bool) -> list[dict[str, Any]]:
        """Navigate to the object's parent, (open it,) pick the object up, (close it)."""
        p = self.ix.objects[o.parent]  # type: ignore[index]
        out = [_act('navigate to', p, [p.id, o.id])]
        if closed:
            out.append(_act('open', p))
        out.append(_act('pickup', o))
        if closed:
            out.append(_act('close', p))
        return out

    def deliver(self, r: _O, open_first: bool) -> list[dict[str, Any]]:
        nav = self.ix.objects[self.ix.nav_target(r.id)]
        out = [_act('navigate to', nav, [nav.id, r.id])]
        if open_first:
            out.append(_act('open', r))
        out.append(_act('put', r))
        return out

    def record(self, tasktype: str, actions: list[dict[str, Any]], related: Sequence[str],
               slots: dict[str, str], extra_nav: Sequence[str] = (),
               clauses: list | None = None) -> dict[str, Any] | None:
        """A test_809-style record.

        None when two key actions need two instances of one Type (the reference would
        resolve both to the first).
        """
        by_type: dict[str, str] = {}
        for a in actions:
            if a['action'] == 'end' or not a['objectId']:
                continue
            if by_type.setdefault(a['objectType'], a['objectId']) != a['objectId']:
                return None
        actions = actions + [_act('end', None, list(related))]
        key = [f"{a['action']} {a['objectId']}" for a in actions]
        identity = (f"{self.ix.scene.name}-{TYPE_ABBREV[tasktype]}-"
                    f"{hashlib.sha1('|'.join(key).encode()).hexdigest()[:10]}")
        rng = random.Random(stable_int(self.cfg.seed, identity, 'wording'))
        if tasktype == LONG_RANGE:
            assert clauses is not None
            query = ph.render_long_instruction(clauses, rng, p_type=self.cfg.p_type_name)
            name, idx = ph.canonical_long_taskname(clauses), 0
        else:
            query, idx = ph.render_instruction(tasktype, slots, rng,
                                               p_type=self.cfg.p_type_name)
            name = ph.canonical_taskname(tasktype, slots)
        targets = []
        for a in actions:
            if a['objectId'] and self.ix.type_count.get(a['objectType'], 0) > 1 \
                    and a['objectId'] not in targets:
                targets.append(a['objectId'])
        nav_types = list(dict.fromkeys(
            [a['objectType'] for a in actions if a['action'] == 'navigate to']
            + list(extra_nav)))
        return {
            'scene': self.ix.scene.name,
            'tasktype': tasktype,
            'instruction_idx': idx,
            'taskname': name,
            'taskquery': query,
            'task_metadata': {
                'taskname': name, 'tasktype': tasktype, 'metadatapath': self.meta_path,
                'actions': actions, 'totalreward': len(actions),
            },
            'identity': identity,
            'target_objects': targets,
            'related_objects': list(dict.fromkeys(related)),
            'navigable_objects': nav_types,
        }

    # -- candidate pools
    def exposed_objects(self) -> list[_O]:
        return [o for o in self.ix.objects.values() if o.pickupable and self.ix.exposed(o)]

    def closed_objects(self, *, no_toilet: bool = False) -> list[_O]:
        return [o for o in self.ix.objects.values() if o.pickupable and self.ix.in_closed(o)
                and not (no_toilet and self.ix.type_of(o.parent) == 'Toilet')]

    def receptacles_for(self, o: _O, *, closed: bool) -> list[_O]:
        out = []
        for rtype in self.compat.receptacles_for(o.type):
            rtype = 'SinkBasin' if rtype == 'Sink' else rtype
            for r in self.ix.of_type(rtype):
                if r.id == o.parent or r.type == self.ix.type_of(o.parent) or r.id == o.id:
                    continue
                if r.parent is not None and self.ix.objects[r.parent].openable:
                    continue
                if closed != (r.openable and not r.is_open):
                    continue
                if not closed and r.openable:
                    continue
                if not self.ix.can_hold(o.id, r.id):
                    continue
                out.append(r)
        return out

    def _search_signature(self, o: _O) -> tuple[str | None, bool] | None:
        """How a search finds ``o``: (parent Type, inside a closed container); None if neither."""
        if self.ix.exposed(o):
            return self.ix.type_of(o.parent), False
        if self.ix.in_closed(o) and self.ix.type_of(o.parent) != 'Toilet':
            return self.ix.type_of(o.parent), True
        return None

    def well_defined_search(self, o: _O) -> bool:
        """Every instance of the Type is found by the same key actions (Type-level)."""
        sig = self._search_signature(o)
        return sig is not None and all(self._search_signature(x) == sig
                                       for x in self.ix.of_type(o.type))

    # -- task types
    def search(self, closed: bool) -> list[dict[str, Any]]:
        out = []
        pool = self.closed_objects(no_toilet=True) if closed else self.exposed_objects()
        for o in pool:
            if not self.well_defined_search(o):
                continue
            p = self.ix.objects[o.parent]  # type: ignore[index]
            acts = [_act('navigate to', p, [p.id, o.id])]
            if closed:
                acts.append(_act('open', p))
            tt = 'single_search_from_closerep' if closed else 'single_search'
            out.append(self.record(tt, acts, [o.id], {'obj': o.type}))
        return out

    def pickup(self, closed: bool) -> list[dict[str, Any]]:
        out = []
        for o in (self.closed_objects() if closed else self.exposed_objects()):
            tt = 'single_pickup_from_closerep' if closed else 'single_pickup'
            out.append(self.record(tt, self.fetch(o, closed), [o.id], {'obj': o.type}))
        return out

    def toggle(self) -> list[dict[str, Any]]:
        out = []
        for o in self.ix.objects.values():
            if not o.toggleable or o.type in TOGGLE_EXCLUDED or o.parent is None:
                continue
            if self.ix.closed_openable(o.parent) or not self.ix.on_floor(o.grandparent):
                continue
            acts = [_act('navigate to', o), _act('toggle', o)]
            state = 'off' if o.is_toggled else 'on'
            out.append(self.record('single_toggle', acts, [o.id], {'app': o.type,
                                                                   'state': state}))
        return out

    def transport(self, src_closed: bool, dst_closed: bool, rng: random.Random,
                  per_object: int = 3) -> list[dict[str, Any]]:
        names = {(False, False): 'pickup_and_put', (False, True): 'pickup_and_put_in_closerep',
                 (True, False): 'pickup_from_closerep_and_put',
                 (True, True): 'pickup_from_closerep_and_put_in_closerep'}
        tt = names[(src_closed, dst_closed)]
        out = []
        for o in (self.closed_objects() if src_closed else self.exposed_objects()):
            recs = self.receptacles_for(o, closed=dst_closed)
            rng.shuffle(recs)
            for r in recs[:per_object]:
                acts = self.fetch(o, src_closed) + self.deliver(r, dst_closed)
                out.append(self.record(tt, acts, [o.id, r.id], {'obj': o.type, 'rec': r.type}))
        return out

    def ordered(self, rng: random.Random, limit: int) -> list[dict[str, Any]]:
        singles = []
        for closed in (False, True):
            for o in (self.closed_objects() if closed else self.exposed_objects()):
                for dst_closed in (False, True):
                    for r in self.receptacles_for(o, closed=dst_closed):
                        singles.append((o, closed, r, dst_closed))
        out: list[dict[str, Any]] = []
        if len(singles) < 2:
            return out
        for _ in range(limit * 4):
            if len(out) >= limit:
                break
            (o1, c1, r1, d1), (o2, c2, r2, d2) = rng.sample(singles, 2)
            types = [o1.type, o2.type, r1.type, r2.type]
            if len(set(types)) < 4 or {o1.type, o2.type} & {
                    self.ix.type_of(o1.parent), self.ix.type_of(o2.parent)}:
                continue
            acts = (self.fetch(o1, c1) + self.deliver(r1, d1) + self.fetch(o2, c2)
                    + self.deliver(r2, d2))
            rec = self.record('ordered_pickup_two_object_and_put', acts,
                              [o1.id, r1.id, o2.id, r2.id],
                              {'obj': o1.type, 'rec': r1.type, 'obj2': o2.type,
                               'rec2': r2.type})
            if rec is not None:
                out.append(rec)
        return out

    def _reachable_items(self, types: Sequence[str]) -> list[tuple[_O, bool]]:
        out = []
        for t in types:
            for o in self.ix.of_type(t):
                if o.pickupable and self.ix.exposed(o):
                    out.append((o, False))
                elif o.pickupable and self.ix.in_closed(o):
                    out.append((o, True))
        return out

    def long_range(self, rng: random.Random, limit: int) -> list[dict[str, Any]]:
        """Long-range chains.

        Cook (pan to burner, wash food, food into pan, fire), wash-and-place, heat in the
        microwave (optionally washed first), place-then-switch-on.
        """
        ix = self.ix
        sinks = [s for s in ix.of_type('SinkBasin')]
        faucets = [f for f in ix.of_type('Faucet') if not f.is_toggled]
        burners = [b for b in ix.of_type('StoveBurner') if not b.is_toggled
                   and (b.parent is None or not ix.objects[b.parent].openable)]
        micro = [m for m in ix.of_type('Microwave') if m.openable and not m.is_open
                 and not m.is_toggled]
        lamps = [lp for lp in ix.objects.values() if lp.type in LAMPS and lp.toggleable
                 and not lp.is_toggled and lp.parent is not None
                 and not ix.closed_openable(lp.parent)]
        recipes: list[str] = []
        if sinks and faucets:
            recipes.append('wash_place')
            if burners:
                recipes.append('cook')
        if micro:
            recipes.append('heat')
        if lamps:
            recipes.append('place_switch')
        out: list[dict[str, Any]] = []
        if not recipes:
            return out
        for _ in range(limit * 4):
            if len(out) >= limit:
                break
            recipe = rng.choice(recipes)
            rec = getattr(self, f'_lr_{recipe}')(rng, sinks, faucets, burners, micro, lamps)
            if rec is not None:
                out.append(rec)
        return out

    def _wash(self, o: _O, sink: _O, faucet: _O) -> list[dict[str, Any]]:
        return [_act('navigate to', sink), _act('put', sink), _act('toggle', faucet),
                _act('pickup', o)]

    @staticmethod
    def _nearest(objs: Sequence[_O], to: _O, scene: Scene) -> _O:
        c = scene.object(to.id).center

        def d(o: _O) -> float:
            oc = scene.object(o.id).center
            return math.dist(c, oc)

        return min(objs, key=d)

    def _lr_cook(self, rng, sinks, faucets, burners, micro, lamps):  # noqa: ANN001, ANN202
        pans = self._reachable_items(('Pan', 'Pot'))
        foods = [f for f in self._reachable_items(FOOD)]
        if not pans or not foods:
            return None
        (pan, pc), (food, fc) = rng.choice(pans), rng.choice(foods)
        sink = rng.choice(sinks)
        faucet = self._nearest(faucets, sink, self.ix.scene)
        burner = rng.choice(burners)
        acts = (self.fetch(pan, pc) + [_act('navigate to', burner), _act('put', burner)]
                + self.fetch(food, fc) + self._wash(food, sink, faucet)
                + [_act('navigate to', burner), _act('put', pan), _act('toggle', burner)])
        clauses = [('place', {'obj': pan.type, 'rec': 'StoveBurner'}),
                   ('wash', {'obj': food.type}),
                   ('place_in', {'obj': food.type, 'rec': pan.type}), ('cook', {})]
        return self.record(LONG_RANGE, acts, [pan.id, food.id, burner.id, sink.id], {},
                           extra_nav=['Faucet'], clauses=clauses)

    def _lr_wash_place(self, rng, sinks, faucets, burners, micro, lamps):  # noqa: ANN001, ANN202
        items = self._reachable_items(WASHABLE)
        if not items:
            return None
        o, oc = rng.choice(items)
        recs = [r for r in self.receptacles_for(o, closed=False) if r.type != 'SinkBasin']
        if not recs:
            return None
        r = rng.choice(recs)
        sink = rng.choice(sinks)
        faucet = self._nearest(faucets, sink, self.ix.scene)
        acts = self.fetch(o, oc) + self._wash(o, sink, faucet) + self.deliver(r, False)
        clauses = [('wash', {'obj': o.type}), ('place', {'obj': o.type, 'rec': r.type})]
        return self.record(LONG_RANGE, acts, [o.id, sink.id, r.id], {}, extra_nav=['Faucet'],
                           clauses=clauses)

    def _lr_heat(self, rng, sinks, faucets, burners, micro, lamps):  # noqa: ANN001, ANN202
        foods = self._reachable_items(FOOD + ('Mug', 'Cup', 'Bread'))
        if not foods:
            return None
        (food, fc), m = rng.choice(foods), rng.choice(micro)
        if self.ix.type_of(food.parent) == 'Microwave':
            return None
        acts = self.fetch(food, fc)
        clauses: list = []
        if sinks and faucets and food.type in WASHABLE and rng.random() < 0.5:
            sink = rng.choice(sinks)
            acts += self._wash(food, sink, self._nearest(faucets, sink, self.ix.scene))
            clauses.append(('wash', {'obj': food.type}))
        acts += [_act('navigate to', m), _act('open', m), _act('put', m), _act('close', m),
                 _act('toggle', m)]
        clauses += [('place_in', {'obj': food.type, 'rec': 'Microwave'}), ('heat', {})]
        return self.record(LONG_RANGE, acts, [food.id, m.id], {}, extra_nav=['Faucet'],
                           clauses=clauses)

    def _lr_place_switch(self, rng, sinks, faucets, burners, micro, lamps):  # noqa: ANN001, ANN202
        items = self.exposed_objects()
        if not items:
            return None
        o = rng.choice(items)
        recs = self.receptacles_for(o, closed=False)
        if not recs:
            return None
        r, lamp = rng.choice(recs), rng.choice(lamps)
        if lamp.id in (o.id, r.id):
            return None
        acts = self.fetch(o, False) + self.deliver(r, False) + [
            _act('navigate to', lamp), _act('toggle', lamp)]
        clauses = [('place', {'obj': o.type, 'rec': r.type}), ('toggle_on', {'app': lamp.type})]
        return self.record(LONG_RANGE, acts, [o.id, r.id, lamp.id], {}, clauses=clauses)


class KeyActionsPolicy(Policy):
    """Proposes a task's key actions in order, then ``end``.

    ``observe`` comes first where the navigable-type gate needs it, as
    :func:`~ego_reasoner_ros.sim_bridge.bench.replay_case` does; at the first failed action it
    answers ``end`` and keeps the reason in :attr:`failure`.
    """

    name = 'key-actions'
    needs_world = True
    prompt_config = None

    def __init__(self, actions: Sequence[Mapping[str, Any]]) -> None:
        from ego_reasoner_ros.sim_bridge.bench import OBJECTLESS_KEY_VERBS

        self._objectless = OBJECTLESS_KEY_VERBS
        self.actions = [a for a in actions if a['action'] != 'end']
        self.failure = ''
        self.world: Any = None
        self._next = 0
        self._observed = False

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        del instruction, seed
        self.world, self._next, self._observed, self.failure = world, 0, False, ''

    def act(self, inp: PolicyInput) -> str:
        from ego_reasoner_ros.core.actions import Verb, as_action
        from ego_reasoner_ros.core.parser import format_decision

        end = format_decision(Action(Verb.END))
        if inp.last_action is not None and inp.last_success is False:
            self.failure = f'{inp.last_action}: {inp.feedback}'
            return end
        if self._next >= len(self.actions):
            return end
        a = self.actions[self._next]
        verb, target = a['action'], a.get('objectType') or ''
        if verb not in self._objectless and not target:
            self.failure = f'untyped key action {verb!r}'
            return end
        if (verb == 'navigate to' and not self._observed
                and target not in self.world.navigable_types):
            self._observed = True
            return format_decision(Action(Verb.OBSERVE))
        self._next, self._observed = self._next + 1, False
        try:
            return format_decision(as_action(f'{verb} {target}'.strip()))
        except ValueError as exc:
            self.failure = f'{verb} {target}: {exc}'
            return end


class KeyReplayer:
    """Tells whether a task is winnable: its key actions replay in the embedded simulator.

    The task's key actions (:class:`KeyActionsPolicy`) run through the scored-episode runner
    with the task's reset options and caps wide enough for any key sequence; the task counts
    as winnable when every action succeeds and the strict goal holds.
    """

    def __init__(self) -> None:
        from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

        self.sim = make_sim(SimConfig(render=False))
        self.replayed = 0
        self.failed = 0

    def __call__(self, rec: Mapping[str, Any], scene: Scene) -> bool:
        from dataclasses import replace

        from ego_reasoner_ros.core.loop import LoopConfig
        from ego_reasoner_ros.training.episode_runner import ER_PROTOCOL, run_scored_episode
        from ego_reasoner_ros.training.tasks import Task

        self.replayed += 1
        policy = KeyActionsPolicy(rec['task_metadata']['actions'])
        budget = 2 * len(policy.actions) + 2  # init, an observe before each action, end
        protocol = replace(ER_PROTOCOL, loop_config=LoopConfig(max_steps=budget,
                                                               max_repeats=budget + 1))
        try:
            run = run_scored_episode(policy, Task.from_dict(dict(rec)), self.sim, scene=scene,
                                     protocol=protocol, score=False).raise_error()
            failure = policy.failure or '; '.join(run.strict.failed if run.strict else
                                                  ('no world state',))
        except DataError as exc:
            failure = str(exc)
        if failure:
            self.failed += 1
            logger.debug('dropped unwinnable task %s (%s)', rec.get('identity'), failure)
        return not failure


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
    b = _Builder(SceneIndex(scene), compat, cfg, meta_path)
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
