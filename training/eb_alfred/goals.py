# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ALFRED's goal conditions as EB-ALFRED computes them (``env/tasks.py``).

Objects match a target by substring of their objectId (``get_objects_with_name_and_prop``:
``"Knife"`` also matches a ButterKnife, ``"Pot"`` a Potato); receptacles need not be closed;
a sliced target (``object_sliced``) adds one condition per required slice. Success is every
condition met; progress is the fraction met.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

TASK_TYPES = (
    'pick_and_place_simple', 'pick_two_obj_and_place', 'look_at_obj_in_light',
    'pick_heat_then_place_in_recep', 'pick_cool_then_place_in_recep',
    'pick_clean_then_place_in_recep', 'pick_and_place_with_movable_recep',
)


def targets_of(traj: Mapping[str, Any]) -> dict[str, str | None]:
    """``get_targets``: object (``+Sliced`` when sliced), parent, toggle, mrecep."""
    p = traj['pddl_params']

    def get(k: str) -> str | None:
        return p[k] if p.get(k) is not None else None

    t = {'object': get('object_target'), 'parent': get('parent_target'),
         'toggle': get('toggle_target'), 'mrecep': get('mrecep_target')}
    if p.get('object_sliced'):
        t['object'] = (t['object'] or '') + 'Sliced'
    return t


def with_name_and_prop(name: str | None, prop: str, objects: Iterable[Mapping]) -> list[Mapping]:
    """ALFRED's ``get_objects_with_name_and_prop``."""
    if name is None:
        return []
    return [o for o in objects if name in o['objectId'] and o[prop]]


def _in(oid: str, r: Mapping) -> bool:
    return r['receptacleObjectIds'] is not None and oid in r['receptacleObjectIds']


def goal_conditions(traj: Mapping[str, Any], objects: Sequence[Mapping],
                    inventory: Sequence[Mapping], *, cleaned: set[str], heated: set[str],
                    cooled: set[str]) -> tuple[int, int]:
    """(conditions met, conditions) for the episode's task type."""
    tt = traj['task_type']
    t = targets_of(traj)
    recs = with_name_and_prop(t['parent'], 'receptacle', objects)
    picks = with_name_and_prop(t['object'], 'pickupable', objects)
    sliced = 'Sliced' in (t['object'] or '')
    n_sliced = len([p for p in picks if 'Sliced' in p['objectId']])
    if tt == 'pick_and_place_simple':
        ts, s = 1, 0
        if sliced:
            ts += 1
            s += n_sliced >= 1
        s += any(_in(p['objectId'], r) for p in picks for r in recs)
        return int(s), ts
    if tt == 'pick_two_obj_and_place':
        ts, s = 2, 0
        if sliced:
            ts += 2
            s += min(n_sliced, 2)
        best = max((sum(1 for p in picks if _in(p['objectId'], r)) for r in recs), default=0)
        return int(s + min(best, 2)), ts
    if tt == 'look_at_obj_in_light':
        ts, s = 2, 0
        if sliced:
            ts += 1
            s += n_sliced >= 1
        lamps = with_name_and_prop(t['toggle'], 'toggleable', objects)
        ids = {p['objectId'] for p in picks}
        s += bool(inventory) and inventory[0]['objectId'] in ids
        s += any(x['isToggled'] and x['visible'] for x in lamps)
        return int(s), ts
    if tt in ('pick_heat_then_place_in_recep', 'pick_cool_then_place_in_recep',
              'pick_clean_then_place_in_recep'):
        done = {'pick_heat_then_place_in_recep': heated, 'pick_cool_then_place_in_recep': cooled,
                'pick_clean_then_place_in_recep': cleaned}[tt]
        ts, s = 3, 0
        if sliced:
            ts += 1
            s += n_sliced >= 1
        in_place = [p['objectId'] for p in picks for r in recs if _in(p['objectId'], r)]
        treated = [p['objectId'] for p in picks if p['objectId'] in done]
        s += len(in_place) > 0
        s += len(treated) > 0
        s += any(o in treated for o in in_place)
        return int(s), ts
    if tt == 'pick_and_place_with_movable_recep':
        ts, s = 3, 0
        if sliced:
            ts += 1
            s += n_sliced >= 1
        movs = with_name_and_prop(t['mrecep'], 'pickupable', objects)
        s += any(_in(p['objectId'], m) for p in picks for m in movs)
        s += any(_in(m['objectId'], r) for m in movs for r in recs)
        s += any(any(_in(p['objectId'], m) for p in picks)
                 and any(r['objectId'] in m['parentReceptacles'] for r in recs)
                 for m in movs if m['parentReceptacles'] is not None
                 and m['receptacleObjectIds'] is not None)
        return int(s), ts
    raise ValueError(f'unknown ALFRED task type {tt!r}')
