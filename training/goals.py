# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Strict success: whether the task's goal state holds in the final world.

The reference metric (:mod:`metrics`) only counts key actions. The strict metric checks the
final world state instead, with goal predicates derived from the task record alone (task type,
key actions, the searched object's id); the policy never sees any of it.

Every condition is Type-level: "an Apple is in a Fridge" holds when some instance of Apple has
some instance of Fridge as its direct parent. All conditions on the same object type must hold
for one instance (the Lettuce that is clean must be the one that is cooked and on the Plate).

| task type | goal predicate |
|---|---|
| single_search(_from_closerep) | ``found(O)``: an O is visible or in reach at the end |
| single_pickup | ``held(O)`` |
| single_pickup_from_closerep | ``held(O)`` and ``closed_source(O)`` |
| single_toggle | ``toggled(T)``: some T's on/off state differs from its initial state |
| transport types, ordered | ``inside(O, R)`` per pickup/put chain; ``closed_source(O)`` where the
  key actions close the container O was taken from |
| long-range | the final effects of the key actions, replayed symbolically: ``inside`` for
  the last typed ``put`` of each object, ``held`` for an object still held, ``clean(O)`` (O in
  SinkBasin when Faucet is toggled), ``cooked(O)`` (O in a Pan/Pot on a StoveBurner, or on the
  StoveBurner, when StoveBurner is toggled), ``heated(O)`` (O in Microwave when it is toggled),
  ``closed_source`` as above; an untyped ``put`` leaves that placement unchecked |

``closed_source(O)``: the container that held the moved O at the start is closed at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import re
from typing import Any, Protocol

from ego_reasoner_ros.core.domain import PICKUP_TYPES, SEARCH_TYPES, TOGGLE_TYPES
from ego_reasoner_ros.core.errors import DataError


#: Receptacle types whose contents get washed when the Faucet is toggled.
WASH_RECEPTACLES = frozenset({'SinkBasin', 'Sink'})
#: Cookware whose contents get cooked when the StoveBurner under it is toggled.
COOKWARE = frozenset({'Pan', 'Pot'})

#: Condition kinds and their one-line meaning (for reports).
CONDITION_KINDS: dict[str, str] = {
    'found': 'an instance is visible or in reach at the end',
    'held': 'an instance is held at the end',
    'inside': 'an instance has an instance of the receptacle type as its direct parent',
    'toggled': "an instance's on/off state differs from its initial state",
    'closed_source': 'the container the moved instance started in is closed at the end',
    'clean': 'the instance is clean',
    'cooked': 'the instance is cooked',
    'heated': 'the instance is heated',
}


class WorldView(Protocol):
    """The world queries the strict metric reads (``ego_reasoner_ros.sim_bridge.world.World``)."""

    def objects_of_type(self, object_type: str) -> Sequence[Any]: ...

    def parent(self, object_id: str) -> str | None: ...

    def is_open(self, object_id: str) -> bool: ...

    def is_toggled(self, object_id: str) -> bool: ...


def type_of(object_id: str) -> str:
    """The Type of an AI2-THOR object id.

    ``"Apple|+1.0|+0.9|-0.2"`` -> ``"Apple"``; ids with a suffix name the Type there:
    ``"Sink|-1.9|+1.1|-0.9|SinkBasin"`` -> ``"SinkBasin"``, ``"...|AppleSliced_0"`` ->
    ``"AppleSliced"``.
    """
    parts = str(object_id).split('|')
    if len(parts) > 4:
        m = re.match(r'[A-Za-z]+', parts[-1])
        if m:
            return m.group(0)
    return parts[0]


def _world_type(world: Any, object_id: str) -> str:
    """The world's own Type of an id when it can tell, else :func:`type_of`."""
    fn = getattr(world, 'type_of', None)
    if callable(fn):
        try:
            return str(fn(object_id))
        except (KeyError, ValueError):
            pass
    return type_of(object_id)


@dataclass(frozen=True)
class Condition:
    """One atom of a goal."""

    kind: str
    obj: str
    receptacle: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CONDITION_KINDS:
            raise ValueError(f'unknown goal condition kind {self.kind!r}')
        if not self.obj:
            raise ValueError('a goal condition needs an object type')
        if self.kind == 'inside' and not self.receptacle:
            raise ValueError('an inside condition needs a receptacle type')

    def __str__(self) -> str:
        if self.kind == 'inside':
            return f'inside({self.obj}, {self.receptacle})'
        return f'{self.kind}({self.obj})'


@dataclass(frozen=True)
class Goal:
    """The goal state of one task: a conjunction of conditions."""

    tasktype: str
    conditions: tuple[Condition, ...]
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ' and '.join(str(c) for c in self.conditions) or '(no condition)'


@dataclass(frozen=True)
class GoalResult:
    """The outcome of :func:`check_goal`."""

    success: bool
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitialState:
    """What the strict metric needs from the world at reset."""

    parents: Mapping[str, str | None] = field(default_factory=dict)
    toggled: Mapping[str, bool] = field(default_factory=dict)


# ------------------------------------------------------------------ deriving goals
def _replay(keys: Sequence[str]) -> tuple[list[Condition], list[str]]:
    """Symbolically replay key actions; return the final-effect conditions and notes."""
    held: str | None = None
    location: dict[str, str | None] = {}   # object type -> receptacle type (None: unknown)
    states: dict[str, set[str]] = {}        # object type -> {'clean', 'cooked', 'heated'}
    open_now: list[str] = []                # container types opened and not yet closed
    source: dict[str, str] = {}             # object type -> container type it was taken from
    closed_sources: dict[str, str] = {}
    notes: list[str] = []
    order: list[str] = []                   # object types in first-pickup order

    def contents(rec: str) -> list[str]:
        return [o for o, r in location.items() if r == rec and o != held]

    for key in keys:
        verb, _, obj = key.partition(' ')
        if key.startswith('navigate to') or verb in ('observe', 'end', 'init'):
            continue
        if verb == 'pickup' and obj:
            held = obj
            location[obj] = None
            if obj not in order:
                # The first pickup takes the object from where it started.
                order.append(obj)
                if open_now:
                    source[obj] = open_now[-1]
        elif verb == 'put':
            if held is None:
                continue
            if obj:
                location[held] = obj
            else:
                location.pop(held, None)
                notes.append(f'untyped "put" of {held}: its placement is not checked')
            held = None
        elif verb == 'open' and obj:
            open_now.append(obj)
        elif verb == 'close' and obj:
            while obj in open_now:
                open_now.remove(obj)
            for moved, src in source.items():
                if src == obj:
                    closed_sources[moved] = obj
        elif verb == 'toggle' and obj:
            if obj == 'Faucet':
                targets = [o for r in WASH_RECEPTACLES for o in contents(r)]
                state = 'clean'
            elif obj == 'StoveBurner':
                pans = [p for p in contents('StoveBurner') if p in COOKWARE]
                targets = [o for p in pans for o in contents(p)] + [
                    o for o in contents('StoveBurner') if o not in COOKWARE]
                state = 'cooked'
            elif obj == 'Microwave':
                targets, state = contents('Microwave'), 'heated'
            else:
                continue
            for target in targets:
                states.setdefault(target, set()).add(state)
    conditions: list[Condition] = []
    for obj in order + [o for o in location if o not in order]:
        rec = location.get(obj)
        if obj == held:
            conditions.append(Condition('held', obj))
        elif rec:
            conditions.append(Condition('inside', obj, rec))
        for state in ('clean', 'cooked', 'heated'):
            if state in states.get(obj, set()):
                conditions.append(Condition(state, obj))
        if obj in closed_sources:
            conditions.append(Condition('closed_source', obj, closed_sources[obj]))
    return conditions, notes


def goal_for(tasktype: str, keys: Sequence[str], related_objects: Sequence[str] = ()) -> Goal:
    """Derive the goal of a task from its type, key actions and related object ids."""
    if tasktype in SEARCH_TYPES:
        if not related_objects:
            raise DataError('a search task needs related_objects to name the searched object')
        return Goal(tasktype, (Condition('found', type_of(related_objects[0])),))
    if tasktype in TOGGLE_TYPES:
        toggles = [k.partition(' ')[2] for k in keys if k.startswith('toggle ')]
        if not toggles:
            raise DataError('a toggle task needs a "toggle X" key action')
        return Goal(tasktype, (Condition('toggled', toggles[-1]),))
    conditions, notes = _replay(keys)
    if not conditions:
        raise DataError(f'no goal condition can be derived from the key actions of a '
                        f'{tasktype} task')
    if tasktype in PICKUP_TYPES and not any(c.kind == 'held' for c in conditions):
        raise DataError('a pickup task must end holding the object')
    return Goal(tasktype, tuple(conditions), tuple(notes))


def goal_for_task(task: Any) -> Goal:
    """:func:`goal_for` over a :class:`~ego_reasoner_ros.training.tasks.Task`."""
    return goal_for(task.tasktype, task.key_actions, task.related_objects)


# ------------------------------------------------------------------ checking goals
def _call(world: Any, name: str, *args: Any, default: Any = None) -> Any:
    attr = getattr(world, name, None)
    if attr is None:
        return default
    return attr(*args) if callable(attr) else attr


def _object_id(item: Any) -> str:
    if isinstance(item, str):
        return item
    for attr in ('object_id', 'id', 'objectId'):
        value = getattr(item, attr, None)
        if isinstance(value, str):
            return value
    if isinstance(item, Mapping) and 'objectId' in item:
        return str(item['objectId'])
    raise TypeError(f'cannot read an object id from {item!r}')


def _ids_of_type(world: Any, object_type: str) -> list[str]:
    return [_object_id(o) for o in (_call(world, 'objects_of_type', object_type) or [])]


def _all_ids(world: Any) -> list[str]:
    objects = _call(world, 'objects', default=[]) or []
    if isinstance(objects, Mapping):
        return [str(k) for k in objects]
    return [_object_id(o) for o in objects]


def _held_ids(world: Any) -> set[str]:
    held = _call(world, 'held')
    if held is None:
        return set()
    if isinstance(held, (list, tuple, set, frozenset)):
        return {_object_id(h) for h in held}
    return {_object_id(held)}


def _parent(world: Any, object_id: str) -> str | None:
    parent = _call(world, 'parent', object_id)
    return None if parent is None else _object_id(parent)


def capture_initial(world: Any) -> InitialState:
    """Record what :func:`check_goal` compares against (call right after reset)."""
    parents: dict[str, str | None] = {}
    toggled: dict[str, bool] = {}
    for oid in _all_ids(world):
        parents[oid] = _parent(world, oid)
        toggled[oid] = bool(_call(world, 'is_toggled', oid, default=False))
    return InitialState(parents=parents, toggled=toggled)


def _instance_ok(world: Any, initial: InitialState, oid: str, cond: Condition,
                 held: set[str]) -> bool:
    kind = cond.kind
    if kind == 'found':
        return bool(_call(world, 'is_visible', oid, default=False)
                    or _call(world, 'in_reach', oid, default=False))
    if kind == 'held':
        return oid in held
    if kind == 'inside':
        parent = _parent(world, oid)
        return (oid not in held and parent is not None
                and _world_type(world, parent) == cond.receptacle)
    if kind == 'toggled':
        now = bool(_call(world, 'is_toggled', oid, default=False))
        return now != bool(initial.toggled.get(oid, False))
    if kind == 'closed_source':
        start = initial.parents.get(oid)
        if start is None:
            return False
        # The container of the named type among the initial ancestors (Egg in a Bowl in the
        # Fridge started "in" the Fridge); the direct parent when none has that type.
        container, node = start, start
        for _ in range(8):
            if node is None:
                break
            if _world_type(world, node) == cond.receptacle:
                container = node
                break
            node = initial.parents.get(node)
        return not bool(_call(world, 'is_open', container, default=False))
    checks: dict[str, Callable[..., Any]] = {
        'clean': lambda: _call(world, 'is_clean', oid, default=False),
        'cooked': lambda: _call(world, 'is_cooked', oid, default=False),
        'heated': lambda: _call(world, 'is_heated', oid, default=False),
    }
    return bool(checks[kind]())


def check_goal(goal: Goal, world: Any, initial: InitialState | None = None) -> GoalResult:
    """Check ``goal`` against the final ``world``.

    Conditions are grouped by object type; each group must hold for one instance.
    """
    initial = initial or InitialState()
    held = _held_ids(world)
    by_obj: dict[str, list[Condition]] = {}
    for cond in goal.conditions:
        by_obj.setdefault(cond.obj, []).append(cond)
    failed: list[str] = []
    for obj, conds in by_obj.items():
        ids = _ids_of_type(world, obj)
        if any(all(_instance_ok(world, initial, oid, c, held) for c in conds) for oid in ids):
            continue
        # Name the individual conditions no instance satisfies, or the combination.
        single = [str(c) for c in conds
                  if not any(_instance_ok(world, initial, oid, c, held) for oid in ids)]
        failed.extend(single or [' and '.join(str(c) for c in conds) + ' (no single instance)'])
    return GoalResult(success=not failed, failed=tuple(failed))


def describe_goals(goals: Iterable[Goal]) -> list[str]:
    """Human-readable lines, one per goal."""
    return [f'{g.tasktype}: {g}' for g in goals]
