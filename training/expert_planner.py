# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The expert's planner: candidate action sequences tried on copies of the world.

Each operation (:class:`~ego_reasoner_ros.training.instruction_parser.Op`) is planned by
trying short candidate sequences on a clone of the world and keeping the first one whose effect
is right (the object is held, the receptacle holds it, the appliance changed state...).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import replace
import random
from typing import Any

from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training.instruction_parser import Op


@functools.lru_cache(maxsize=1)
def _placement_table() -> ReceptacleCompat:
    """Which receptacle Types usually hold which objects (common-sense placement)."""
    return ReceptacleCompat.default()


def clone_world(world: Any) -> Any:
    """Deep copy of a ``World`` that shares its immutable scene description."""
    memo: dict[int, Any] = {id(world.scene): world.scene}
    stale = getattr(world, '_stale', None)
    if stale is not None:
        memo[id(stale)] = stale
    return copy.deepcopy(world, memo)


Step = tuple[str, str | None]


def simulate(world: Any, seq: Sequence[Step]) -> Any | None:
    w = clone_world(world)
    for verb, target in seq:
        if not w.apply(verb, target).success:
            return None
    return w


class Planner:
    """Plans operations on copies of the world."""

    def __init__(self, world: Any) -> None:
        self.meta = {o.object_id: o for o in world.objects}
        self.initially_open = {oid for oid, o in self.meta.items() if o.is_open}
        self.initial_parent = {oid: world.parent(oid) for oid in self.meta}

    def _openable(self, oid: str) -> bool:
        return bool(self.meta[oid].openable)

    def _nav_options(self, w: Any, chain: Sequence[str], extra: Sequence[str] = ()) -> list:
        """None (stay), the Types along ``chain``, ``extra``, then the nearest other Types."""
        options: list[str | None] = [None]
        for t in [w.type_of(c) for c in chain] + list(extra):
            if t not in options:
                options.append(t)
        return options

    def _nearby_types(self, w: Any, oid: str, limit: int = 6) -> list[str]:
        (x0, _, z0), (x1, _, z1) = w.box(oid)
        cx, cz = (x0 + x1) / 2, (z0 + z1) / 2
        scored = []
        for t in w.navigable_types:
            inst = w.instance_for(t)
            if inst is None:
                continue
            (a0, _, b0), (a1, _, b1) = w.box(inst)
            scored.append((((a0 + a1) / 2 - cx) ** 2 + ((b0 + b1) / 2 - cz) ** 2, t))
        return [t for _, t in sorted(scored)[:limit]]

    def _search(self, w: Any, candidates: list[list[Step]], ok) -> tuple[list[Step], Any] | None:  # noqa: ANN001
        prefixes: list[list[Step]] = [[], [('observe', None)],
                                      [('move forward', None), ('observe', None)]]
        # Exploration: go to a known place and look around, which reveals new navigable
        # Types (bounded, only tried when nothing closer works).
        explore = [t for t in w.navigable_types if t != 'Floor'][:8]
        prefixes += [[('navigate to', t), ('observe', None)] for t in explore]
        for prefix in prefixes:
            base = simulate(w, prefix) if prefix else w
            if base is None:
                continue
            for seq in candidates:
                w2 = simulate(base, seq)
                if w2 is not None and ok(w2):
                    return prefix + seq, w2
        return None

    def _instances(self, w: Any, obj: str, want) -> list[str]:  # noqa: ANN001
        ids = [i for i in w.objects_of_type(obj) if want(i)]
        ref = w.instance_for(obj)
        if ref in ids:
            ids.remove(ref)
            ids.insert(0, ref)
        return ids

    def _closed_chain(self, w: Any, oid: str, include_self: bool) -> list[str]:
        chain = ([oid] if include_self else []) + w.ancestors(oid)
        closed = [c for c in chain if self._openable(c) and not w.is_open(c)]
        return list(reversed(closed))  # outermost first

    def _reach_candidates(self, w: Any, oid: str, final: list[Step], *,
                          include_self: bool = False) -> list[list[Step]]:
        obj_type = w.type_of(oid)
        opens = [('open', w.type_of(c)) for c in self._closed_chain(w, oid, include_self)]
        chain = w.ancestors(oid)
        options = self._nav_options(w, chain, [obj_type])
        options += [t for t in self._nearby_types(w, oid) if t not in options]
        out = []
        for nav in options:
            seq = ([('navigate to', nav)] if nav else []) + opens + final
            out.append(seq)
        return out

    # ------------------------------------------------------------ operations
    def plan(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        """Plan ``op``; when its Type cannot be planned, its alternatives in order."""
        handler = getattr(self, f'_plan_{op.kind}')
        types = list(dict.fromkeys((op.obj, *op.alts)))
        if op.kind == 'put' and w.held is not None and len(types) > 1 and not op.exact:
            # An ambiguous name ("bathtub") means the place the object is not already in.
            # Then the one the placement table lists for the object (SoapBottle: Bathtub).
            start = self.initial_parent.get(w.held)
            was = w.type_of(start) if start is not None else None
            listed = _placement_table().receptacles_for(w.held_type)
            types.sort(key=lambda t: (t == was, bool(listed) and t not in listed))
        for obj in types:
            if not w.objects_of_type(obj):
                continue
            found = handler(w, op if obj == op.obj else replace(op, obj=obj, alts=()))
            if found is not None:
                return found
        return None

    def _plan_find(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        for oid in ids:
            found = self._search(
                w, self._reach_candidates(w, oid, []),
                lambda w2, oid=oid: op.obj in w2.legal_types and w2.is_visible(oid))
            if found:
                return found
        return None

    def _plan_pickup(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        if w.held_type == op.obj:
            return [], w
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].pickupable))
        # The intended instance first (the simulator may resolve the Type to another one in
        # reach), then any instance of the Type.
        tries = [(oid, lambda w2, oid=oid: w2.held == oid) for oid in ids]
        tries += [(oid, lambda w2: w2.held_type == op.obj) for oid in ids]
        for oid, ok in tries:
            before = w.ancestors(oid)
            found = self._search(w, self._reach_candidates(w, oid, [('pickup', op.obj)]), ok)
            if not found:
                continue
            seq, w2 = found
            # Close what was opened during the episode to take it out (as the key actions do).
            return self._close_opened(seq, w2, before)
        return None

    def _close_opened(self, seq: list[Step], w: Any,
                      containers: Any) -> tuple[list[Step], Any]:
        """Append a close for each of ``containers`` opened during the episode."""
        for c in containers:
            if self._openable(c) and w.is_open(c) and c not in self.initially_open:
                w2 = simulate(w, [('close', w.type_of(c))])
                if w2 is not None:
                    seq, w = seq + [('close', w.type_of(c))], w2
        return seq, w

    def _plan_put(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        held = w.held
        if held is None:
            return None
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].receptacle) and i != held)

        def ok_type(w2: Any) -> bool:
            parent = w2.parent(held)
            return w2.held is None and parent is not None and w2.type_of(parent) == op.obj

        # The intended receptacle instance first, then any instance of the Type.
        tries = [(rid, lambda w2, rid=rid: w2.held is None and w2.parent(held) == rid)
                 for rid in ids]
        tries += [(rid, ok_type) for rid in ids]
        for rid, ok in tries:
            found = self._search(
                w, self._reach_candidates(w, rid, [('put', op.obj)], include_self=True), ok)
            if found is None:
                continue
            seq, w2 = found
            if op.check == 'close_after':
                parent = w2.parent(held)
                seq, w2 = self._close_opened(seq, w2, [parent, *w2.ancestors(parent)])
            return seq, w2
        return None

    def _toggle_ok(self, w: Any, w2: Any, op: Op) -> bool:
        ids = w2.objects_of_type(op.obj)
        if not any(w2.is_toggled(i) != w.is_toggled(i) for i in ids):
            return False
        if op.check == 'cook':
            pans = [p for t in ('Pan', 'Pot') for p in w2.objects_of_type(t)]
            food = [f for p in pans for f in w2.contents(p)]
            return not food or any(w2.is_cooked(f) for f in food)
        if op.check == 'wash':
            basins = [b for t in ('SinkBasin', 'Sink') for b in w2.objects_of_type(t)]
            items = [f for b in basins for f in w2.contents(b)]
            return not items or any(w2.is_clean(f) for f in items)
        if op.check == 'heat':
            items = [f for m in w2.objects_of_type('Microwave') for f in w2.contents(m)]
            return not items or any(w2.is_heated(f) for f in items)
        return True

    def _plan_toggle(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        # A second toggle reaches the next instance (the first one is already switched), for
        # when the effect needs another faucet or burner than the reference's instance.
        for final in ([('toggle', op.obj)], [('toggle', op.obj)] * 2):
            for tid in ids:
                found = self._search(w, self._reach_candidates(w, tid, final),
                                     lambda w2: self._toggle_ok(w, w2, op))
                if found:
                    return found
        # Accept any state change when the effect check cannot be met.
        for tid in ids:
            found = self._search(w, self._reach_candidates(w, tid, [('toggle', op.obj)]),
                                 lambda w2: self._toggle_ok(w, w2, Op('toggle', op.obj)))
            if found:
                return found
        return None

    def _plan_open(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, True)

    def _plan_close(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, False)

    def _open_close(self, w: Any, op: Op, want_open: bool) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: self._openable(i)
                              and bool(w.is_open(i)) != want_open)
        verb = 'open' if want_open else 'close'
        for oid in ids:
            found = self._search(w, self._reach_candidates(w, oid, [(verb, op.obj)]),
                                 lambda w2, oid=oid: bool(w2.is_open(oid)) == want_open)
            if found:
                return found
        return None

    # ------------------------------------------------------------ decoys
    def decoy_visits(self, w: Any, op: Op, count: int, rng: random.Random) -> list[Step]:
        """Visit ``count`` plausible wrong receptacles first (human-like search)."""
        if count <= 0 or op.kind not in ('find', 'pickup'):
            return []
        targets = w.objects_of_type(op.obj)
        true_types = {w.type_of(a) for t in targets for a in w.ancestors(t)}
        pool = sorted({w.type_of(i) for i in (w.instance_for(t) for t in w.navigable_types)
                       if i is not None and self.meta[i].receptacle
                       and w.type_of(i) not in true_types and w.type_of(i) != 'Floor'
                       and not any(w.type_of(c) == op.obj for c in w.contents(i))})
        rng.shuffle(pool)
        seq: list[Step] = []
        visited = 0
        for t in pool:
            if visited >= count:
                break
            inst = w.instance_for(t)
            steps: list[Step] = [('navigate to', t)]
            if self._openable(inst) and not w.is_open(inst):
                steps += [('open', t), ('close', t)]
            w2 = simulate(w, steps)
            if w2 is None:
                continue
            seq += steps
            w = w2
            visited += 1
        return seq
