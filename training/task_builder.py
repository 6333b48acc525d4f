# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Task records of one scene: the scene index and the builder of the 11 task types.

:class:`SceneIndex` reads the simulator's live containment (which objects are exposed, which
inside closed containers, which receptacles can hold what); :class:`TaskBuilder` turns
key-action chains over it into records in the ``test_809.json`` format, with the instruction
worded by :mod:`~ego_reasoner_ros.training.phrasings`. The qualifying rules are listed in
:mod:`~ego_reasoner_ros.training.taskgen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import hashlib
import math
import random
from typing import TYPE_CHECKING, Any

from ego_reasoner_ros.core.domain import LONG_RANGE, TYPE_ABBREV
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.scene import Scene
from ego_reasoner_ros.sim_bridge.world import World
from ego_reasoner_ros.training import phrasings as ph

if TYPE_CHECKING:
    from ego_reasoner_ros.training.taskgen import TaskGenConfig

#: Types never used as toggle targets; food, washable items and lamps of the long-range tasks.
TOGGLE_EXCLUDED = frozenset({'Candle', 'LightSwitch', 'StoveBurner', 'StoveKnob'})
FOOD = ('Lettuce', 'Potato', 'Tomato', 'Egg', 'Apple')
WASHABLE = FOOD + ('Mug', 'Cup', 'Bowl', 'Plate', 'Pan', 'Pot', 'Spatula', 'Ladle', 'Fork',
                   'Spoon', 'Knife', 'ButterKnife', 'DishSponge')
LAMPS = ('DeskLamp', 'FloorLamp', 'Television', 'Laptop')


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


class TaskBuilder:
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
