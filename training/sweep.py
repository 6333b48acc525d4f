# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A sweep expert: trajectories that a small model can imitate from what it sees.

The data engine's default expert
(:class:`~ego_reasoner_ros.training.experts.engine.DataEnginePolicy`) walks to the right
place first, second or third, like the reference's variants: it knows where the object is, so
a model that imitates it has to guess what the expert knew. The sweep expert searches the way
a policy without that knowledge can:

* It tries the object itself first, then the places where such an object is usually kept,
  in one fixed order per object Type (:func:`sweep_places`): common-sense placement from
  the receptacle table, ranked by how often AI2-THOR scenes put small objects there.
* It skips places the room does not have (what kind of room it is shows in the first
  views). A place it cannot reach yet fails (one step, no image) and it moves on.
* At a reachable place it decides from the view (the world's visibility, which the image
  shows): act when the object is there, open a closed container to look inside and close it
  again when the object is not in it, otherwise move on.
* Everything else follows the task's key actions, as the default expert does.

Its thoughts are short, state the plan with the exact object Types of the commands, and say
what the view showed (``style='terse'``), so the text a model must produce is mostly a copy
of the instruction's Types plus what it sees.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
import logging
import random
from typing import Any
import zlib

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.loop import max_steps_for
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training.experts.engine import closed_openable, find_phases, keys_of
from ego_reasoner_ros.training.tasks import Task

logger = logging.getLogger(__name__)

#: Search places, most likely first: how often a pickupable object sits on or in each
#: receptacle Type over the 116 public AI2-THOR FloorPlans (CounterTop 491, Desk 169, ...).
SWEEP_ORDER: tuple[str, ...] = (
    'CounterTop', 'Desk', 'Shelf', 'DiningTable', 'SideTable', 'Dresser', 'SinkBasin',
    'CoffeeTable', 'Bed', 'Cabinet', 'Toilet', 'Sofa', 'Fridge', 'HandTowelHolder',
    'TowelHolder', 'StoveBurner', 'BathtubBasin', 'Drawer', 'TVStand', 'ArmChair',
    'GarbageCan', 'Microwave', 'Ottoman', 'Box', 'Safe', 'ShelvingUnit', 'Cart',
    'ToiletPaperHanger', 'Chair', 'Stool',
)
#: Receptacles that are themselves small movable objects: never search places.
_SMALL_RECEPTACLES = frozenset({'Pot', 'Pan', 'Bowl', 'Mug', 'Plate', 'Cup'})
#: Search places that can be opened (every instance in the public FloorPlans is openable).
OPENABLE_PLACES = frozenset({'Cabinet', 'Drawer', 'Fridge', 'Microwave', 'Box', 'Safe',
                             'Toilet'})
#: Receptacle Types found in at least 10% of the public FloorPlans of each room kind, so
#: the places worth trying first once the first view has shown what kind of room it is.
KIND_PLACES: dict[str, frozenset[str]] = {
    'kitchen': frozenset({
        'CounterTop', 'Shelf', 'DiningTable', 'SinkBasin', 'Cabinet', 'Fridge', 'StoveBurner',
        'Drawer', 'GarbageCan', 'Microwave', 'ShelvingUnit', 'Chair', 'Stool'}),
    'living room': frozenset({
        'Shelf', 'DiningTable', 'SideTable', 'Dresser', 'CoffeeTable', 'Cabinet', 'Sofa',
        'Drawer', 'TVStand', 'ArmChair', 'GarbageCan', 'Ottoman', 'Box', 'ShelvingUnit',
        'Chair'}),
    'bedroom': frozenset({
        'Desk', 'Shelf', 'SideTable', 'Dresser', 'Bed', 'Cabinet', 'Drawer', 'ArmChair',
        'GarbageCan', 'Box', 'Safe', 'ShelvingUnit', 'Chair'}),
    'bathroom': frozenset({
        'CounterTop', 'Shelf', 'SideTable', 'SinkBasin', 'Cabinet', 'Toilet',
        'HandTowelHolder', 'TowelHolder', 'BathtubBasin', 'Drawer', 'GarbageCan',
        'ToiletPaperHanger'}),
}
SEARCH_MODES = ('view', 'probe', 'look')
#: ``look`` search: an object counts as in view when it covers at least this share of the
#: frame's pixels (10 pixels of a 112 x 112 frame), occlusion included.
LOOK_MIN_FRACTION = 10 / (112 * 112)
_NAV, _END = Verb.NAVIGATE_TO, Verb.END
_PUT_VERBS = (Verb('put'), Verb('put in'))


def sweep_places(target: str, compat: ReceptacleCompat) -> list[str]:
    """Where to look for ``target``, in order: the object itself, then its usual places."""
    allowed = {('SinkBasin' if r == 'Sink' else 'BathtubBasin' if r == 'Bathtub' else r)
               for r in compat.receptacles_for(target)} - _SMALL_RECEPTACLES
    ordered = [r for r in SWEEP_ORDER if r in allowed] + sorted(allowed - set(SWEEP_ORDER))
    return [target] + ordered


def room_kind(scene_types: Any) -> str:
    """The kind of room (a key of :data:`KIND_PLACES`) that these object Types make up."""
    types = set(scene_types)
    if 'Toilet' in types:
        return 'bathroom'
    if 'Bed' in types:
        return 'bedroom'
    if types & {'Fridge', 'StoveBurner', 'Microwave'}:
        return 'kitchen'
    return 'living room'


def probe_places(target: str, kind: str, compat: ReceptacleCompat) -> list[str]:
    """The probe search's places, in order.

    The object itself, then its usual places found in a room of this kind, then its other
    usual places (a room may have what its kind rarely has).
    """
    places = sweep_places(target, compat)
    usual = KIND_PLACES.get(kind, frozenset())
    return [places[0]] + [c for c in places[1:] if c in usual] + [
        c for c in places[1:] if c not in usual]


class _GiveUpError(Exception):
    """A key action failed: the trajectory cannot succeed."""


class SweepExpertPolicy(Policy):
    """Key-action expert with a fixed, observation-driven search (see the module docstring).

    Args:
        task: the task (its key actions drive everything but the search order).
        compat: receptacle compatibility table (the search places).
        failure_prob: ``view`` search only: probability of a mistaken pickup at a wrong place.
        search: ``'view'`` decides at each place from what is in view and skips places the
            room lacks; ``'probe'`` decides from the commands' outcomes only, as a policy
            that cannot read small objects in its images must: it tries the action at each
            place (``pickup``; for a search, ``navigate to`` the object), opens a container
            when that fails, and walks a list of places chosen by the kind of room.
            ``'look'`` walks the probe search's places but decides from the camera image
            what is there: it acts on the object only when the rendered frame shows it
            (:data:`LOOK_MIN_FRACTION` of the pixels, occlusion included), so a policy
            that imitates it has to read its frames.
        view_size: ``look`` search: the side of the square frames the policy sees (pixels).
    """

    name = 'sweep-expert'
    needs_world = True
    needs_images = False

    def __init__(self, task: Task | PlannedTask, *, compat: ReceptacleCompat | None = None,
                 failure_prob: float = 0.0, seed: int = 0, search: str = 'view',
                 view_size: int = 112) -> None:
        if not 0.0 <= failure_prob <= 1.0:
            raise ValueError(f'failure_prob must be in [0, 1], got {failure_prob}')
        if search not in SEARCH_MODES:
            raise ValueError(f'search must be one of {SEARCH_MODES}, got {search!r}')
        if view_size <= 0:
            raise ValueError(f'view_size must be positive, got {view_size}')
        self.search = search
        self.view_size = int(view_size)
        self._renderer: Any = None
        self.task = task
        self.failure_prob = failure_prob
        self.seed = seed
        self.compat = compat or ReceptacleCompat.builtin()
        self.keys: list[Action] = keys_of(task)
        self.max_step = max_steps_for(task.tasktype)
        self.world: Any = None
        self._gen: Generator[tuple[Action, str], bool, None] | None = None

    # ------------------------------------------------------------------ Policy API
    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Plan from the key actions; the world is read at every step for what is in view."""
        if world is None:
            raise ValueError('the sweep expert needs the world state (world=...)')
        self.world = world
        self.phases = find_phases(self.task, self.keys)
        self.n_probes = 0  # failed navigations of the sweep (expected, not errors)
        self.n_visits = 0
        self.n_peeks = 0
        self.n_mistakes = 0
        self.n_failed_probes = 0  # failed pickups, opens and sightings of the probe search
        self.rng = random.Random(f'{self.seed}-{seed}-{self.task.identity}')
        self.step = 0
        self.started = False
        self._gen = self._script()

    def act(self, inp: PolicyInput) -> str:
        """The next action, decided from the last action's outcome."""
        if self._gen is None:
            raise RuntimeError('call reset() before act()')
        self.step = inp.step
        try:
            if not self.started:
                self.started = True
                action, thought = next(self._gen)
            else:
                action, thought = self._gen.send(bool(inp.last_success))
        except (StopIteration, _GiveUpError):
            action, thought = Action(_END), '<Thinking>I cannot complete this task.</Thinking>'
        return thought + format_decision(action)

    def stats(self) -> dict[str, Any]:
        """Counters stored in the episode metadata."""
        return {'expert': 'sweep', 'failed_navigations': self.n_probes,
                'wrong_places': self.n_visits, 'peeks': self.n_peeks,
                'mistaken_pickups': self.n_mistakes, 'failed_probes': self.n_failed_probes}

    # ------------------------------------------------------------------ the script
    def _ops(self) -> list[tuple[int, str]]:
        """(key index, operation) for every pickup, put and toggle key action, in order."""
        return [(k, f'{a.verb.value} {a.target}') for k, a in enumerate(self.keys)
                if a.verb in (Verb.PICKUP, Verb.TOGGLE) + _PUT_VERBS and a.target]

    def _plan(self, start: int = 0) -> str:
        """The task's operations from key ``start`` on, with exact Types.

        ``_plan(0)`` is what the instruction asks for. Every later thought restates what is
        left (``Left: ...``), so the next operation is always a copy from the previous
        reply rather than a count of what the history has done.
        """
        if self.task.tasktype.startswith('single_search'):
            phase = next(iter(self.phases.values()), None)
            return f'find {phase.target}' if phase else 'find the object'
        ops = [op for k, op in self._ops() if k >= start]
        return ', '.join(ops) or ('nothing' if start else 'complete the task')

    def _think(self, i: int, text: str) -> str:
        """A thought that starts with what is left of the plan from key ``i`` on."""
        return f'<Thinking>Left: {self._plan(i)}. {text}</Thinking>'

    def _cost_after(self, i: int) -> int:
        """Steps the keys from ``i`` on still need (the final ``end`` included)."""
        return len(self.keys) - i + 1

    def _script(self) -> Generator[tuple[Action, str], bool, None]:
        if self.search in ('probe', 'look'):
            self.kind = room_kind(self.world.scene_types())
            note = f'<Planning>Room: {self.kind}. Plan: {self._plan()}.</Planning>'
        else:
            note = f'<Planning>Plan: {self._plan()}.</Planning>'
        i = 0
        held: str | None = None
        peek: str | None = None  # the object looked for inside the container about to open
        while i < len(self.keys):
            phase = self.phases.get(i)
            if phase is not None:
                search = self._search if self.search == 'view' else self._probe_search
                i, note = yield from search(phase, i, note)
                nxt = self.keys[i] if i < len(self.keys) else None
                peek = phase.target if nxt is not None and nxt.verb == Verb.OPEN else None
                continue
            a = self.keys[i]
            if peek is not None and a.verb == Verb.OPEN:
                thought = self._think(i, f'Open {a.target} to look inside.')
            else:
                thought = self._think(i, self._key_thought(a, held))
            ok = yield a, note + thought
            note = ''
            if not ok:
                raise _GiveUpError(str(a))
            if peek is not None and a.verb == Verb.OPEN:
                note = f'<Observation>{peek} is inside {a.target}.</Observation>'
                peek = None
            if a.verb == Verb.PICKUP:
                held = a.target
            elif a.verb in _PUT_VERBS:
                held = None
            i += 1
        yield Action(_END), note + f'<Verification>Done: {self._plan()}.</Verification>'

    def _visible(self, object_type: str) -> bool:
        return object_type in self.world.legal_types

    def _in_frame(self, object_type: str) -> bool:
        """Whether the current camera frame shows ``object_type`` (``look`` search)."""
        from ego_reasoner_ros.sim_bridge.embedded import type_pixels
        from ego_reasoner_ros.sim_bridge.render import BoxRenderer
        from ego_reasoner_ros.training.sim_env import resolve_world

        if self._renderer is None:
            self._renderer = BoxRenderer()
        world = resolve_world(self.world)
        n = self.view_size
        fov = float(getattr(world, 'fov', 90.0))  # the camera the world's legality uses
        counts = type_pixels(world, self._renderer, world.pose, n, n, fov)
        return counts.get(object_type, 0) >= LOOK_MIN_FRACTION * n * n

    def _closed(self, place: str) -> bool:
        return closed_openable(self.world, place)

    def _search(self, phase: Any, i: int,
                note: str) -> Generator[tuple[Action, str], bool, tuple[int, str]]:
        """Sweep the places for ``phase.target`` until the key place (or the object) is found.

        Returns the index of the next key action to run and the note for its thought.
        """
        target, place = phase.target, phase.place
        nxt = self.keys[i + 1] if i + 1 < len(self.keys) else None
        closerep = nxt is not None and nxt.verb == Verb.OPEN
        search_only = self.task.tasktype.startswith('single_search')
        # Types the room does not have are left out: the first views show what kind of room
        # this is, and the parser would map an absent Type to no object at all.
        present = set(self.world.scene_types())
        places = [c for c in sweep_places(target, self.compat) if c in present]
        if place not in places:
            places.append(place)
        for c in places:
            direct = c == place
            if not direct:
                # keep enough steps for the key place and the rest of the task
                need = 1 + (2 if self._closed(c) else 0) + 1 + self._cost_after(i + 1)
                if self.step + need >= self.max_step - 1:
                    continue
            ok = yield Action(_NAV, c), (
                note + self._think(i, f'Search for {target}: try {c}.'))
            if not ok:
                if direct:
                    raise _GiveUpError(f'navigate to {place}')
                self.n_probes += 1
                note = f'<Reflection>{c} is not reachable.</Reflection>'
                continue
            if direct:
                return i + 1, self._found_note(target, place, closerep)
            self.n_visits += 1
            if self._visible(target) and not closerep:
                # the object is right here: act on it (key actions match by Type)
                return i + 1, f'<Observation>{target} is here.</Observation>'
            if (self.failure_prob and not search_only and nxt is not None
                    and nxt.verb == Verb.PICKUP
                    and self.rng.random() < self.failure_prob
                    and self.step + 2 + self._cost_after(i) < self.max_step - 1):
                # a misread view: try to pick up what is not there, then search on (the
                # recovery a learned policy needs after a wrong guess from a small image)
                self.n_mistakes += 1
                ok = yield Action(Verb.PICKUP, target), (
                    f'<Observation>{target} is here.</Observation>'
                    + self._think(i, f'Pick up {target}.'))
                if ok:
                    raise _GiveUpError(f'pickup {target} at a wrong place succeeded')
                note = f'<Reflection>{target} is not at {c}.</Reflection>'
                continue
            if c != target and self._closed(c) and not (search_only and not closerep):
                self.n_peeks += 1
                ok = yield Action(Verb.OPEN, c), (
                    f'<Observation>No {target} in view; {c} is closed.</Observation>'
                    + self._think(i, f'Open {c} to look inside.'))
                if ok:
                    if self._visible(target) and not closerep and not search_only:
                        return i + 1, f'<Observation>{target} is inside {c}.</Observation>'
                    yield Action(Verb.CLOSE, c), (
                        f'<Observation>No {target} inside.</Observation>'
                        + self._think(i, f'Close {c}.'))
                note = f'<Observation>{target} was not in {c}.</Observation>'
                continue
            note = f'<Observation>No {target} at {c}.</Observation>'
        raise _GiveUpError(f'{target} not found')

    def _probe_search(self, phase: Any, i: int,
                      note: str) -> Generator[tuple[Action, str], bool, tuple[int, str]]:
        """Walk the places for ``phase.target`` deciding from outcomes only (``search='probe'``).

        A pickup phase ends with the object in hand (its ``pickup`` key is done here); a
        search phase ends in front of the object. Returns the next key index and a note.
        """
        target = phase.target
        find = self.task.tasktype.startswith('single_search')
        todo = probe_places(target, self.kind, self.compat)
        look = self.search == 'look'
        if look and todo and todo[0] == target and not self._in_frame(target):
            # only walk straight to the object when the view shows it
            todo.pop(0)
            note += f'<Observation>No {target} in view.</Observation>'
        opened: str | None = None
        found = False
        while todo:
            c = todo.pop(0)
            then = f'; then {", ".join(todo)}' if todo else ''
            ok = yield Action(_NAV, c), (
                note + self._think(i, f'Search for {target}: try {c}{then}.'))
            if not ok:
                self.n_probes += 1
                note = f'<Reflection>{c} is not reachable.</Reflection>'
                continue
            if find and c == target:
                found = True
                break
            self.n_visits += 1
            if look and c != target and not self._in_frame(target):
                note = f'<Observation>At {c}. No {target} in view.</Observation>'
            else:
                found = yield from self._probe_here(i, target, c, find)
                if found:
                    break
                note = (f'<Reflection>{target} is out of reach.</Reflection>' if c == target
                        else f'<Reflection>No {target} at {c}.</Reflection>')
            if c in OPENABLE_PLACES and c != target:
                self.n_peeks += 1
                ok = yield Action(Verb.OPEN, c), (
                    note + self._think(i, f'Open {c} to look inside.'))
                if not ok:
                    self.n_failed_probes += 1
                    note = f'<Reflection>{c} does not open.</Reflection>'
                    continue
                if look and not self._in_frame(target):
                    closing = f'<Observation>No {target} inside {c}.</Observation>'
                else:
                    found = yield from self._probe_here(i, target, c, find, inside=True)
                    if found:
                        opened = c
                        break
                    closing = f'<Reflection>No {target} in {c}.</Reflection>'
                yield Action(Verb.CLOSE, c), closing + self._think(i, f'Close {c}.')
                note = f'<Observation>{c} is closed again.</Observation>'
        if not found:
            raise _GiveUpError(f'{target} not found')
        # skip the keys this search has done: opening the place, picking the object up
        j = i + 1
        if j < len(self.keys) and self.keys[j].verb == Verb.OPEN and (
                opened == self.keys[j].target or find):
            j += 1
        if not find and j < len(self.keys) and self.keys[j].verb == Verb.PICKUP:
            j += 1
        return j, (f'<Observation>I have {target}.</Observation>' if not find
                   else f'<Observation>{target} is here.</Observation>')

    def _probe_here(self, i: int, target: str, place: str, find: bool, *,
                    inside: bool = False) -> Generator[tuple[Action, str], bool, bool]:
        """Try to take (or, searching, to reach) ``target`` at ``place``; True on success."""
        where = f'inside {place}' if inside else 'here'
        if self.search == 'look':
            seen = f'<Observation>At {place}. I see {target}{" inside" if inside else ""}.'
            action = Action(_NAV, target) if find else Action(Verb.PICKUP, target)
            verb = 'Go to' if find else 'Pick up'
            ok = yield action, seen + '</Observation>' + self._think(i, f'{verb} {target}.')
            if not ok and not find and place != target:
                # in view but out of reach: walk up to it (it has been seen) and try again
                self.n_failed_probes += 1
                ok = yield Action(_NAV, target), (
                    f'<Reflection>{target} is out of reach.</Reflection>'
                    + self._think(i, f'Go to {target}.'))
                if ok:
                    ok = yield action, self._think(i, f'{verb} {target}.')
            if not ok:
                self.n_failed_probes += 1
            return bool(ok)
        if find:
            ok = yield Action(_NAV, target), (
                f'<Observation>At {place}.</Observation>'
                + self._think(i, f'Is {target} {where}? Go to {target}.'))
        else:
            ok = yield Action(Verb.PICKUP, target), (
                f'<Observation>At {place}.</Observation>'
                + self._think(i, f'Is {target} {where}? Pick up {target}.'))
        if not ok:
            self.n_failed_probes += 1
        return bool(ok)

    def _found_note(self, target: str, place: str, closerep: bool) -> str:
        if closerep or self._closed(place) and not self._visible(target):
            return f'<Observation>No {target} in view; {place} is closed.</Observation>'
        return f'<Observation>{target} is here.</Observation>'

    def _key_thought(self, a: Action, held: str | None) -> str:
        """The thought text before a key action (its note comes from the search)."""
        t = a.target
        if a.verb == Verb.PICKUP:
            return f'Pick up {t}.'
        if a.verb in _PUT_VERBS:
            return f'Put {held or "it"} in {t}.'
        if a.verb == _NAV:
            return f'Bring {held} to {t}.' if held else f'Go to {t}.'
        return f'{a.verb.value.capitalize()} {t or ""}.'



# ------------------------------------------------------------- from the instruction alone
@dataclass(frozen=True)
class PlannedTask:
    """What :class:`SweepExpertPolicy` reads of a task, planned from an instruction.

    ``metadata_actions`` are the key actions (without ``end``) in the task-file layout;
    ``tasktype`` only sets the step budget and the search-only mode.
    """

    identity: str
    tasktype: str
    metadata_actions: tuple[dict[str, str], ...]
    related_objects: tuple[str, ...] = ()


def _budget_type(kinds: list[str]) -> str:
    """An ER task type whose step budget fits these operations."""
    if kinds and all(k == 'find' for k in kinds):
        return 'single_search'
    acts = [k for k in kinds if k in ('pickup', 'put', 'toggle')]
    if acts == ['pickup']:
        return 'single_pickup'
    if acts == ['toggle']:
        return 'single_toggle'
    if acts == ['pickup', 'put']:
        return 'pickup_and_put'
    return 'ordered_pickup_two_object_and_put'  # 36 steps, as every longer type


def plan_from_instruction(instruction: str, world: Any) -> PlannedTask:
    """Key actions for ``instruction`` from the instruction parser and the world state.

    The default expert's planner (:class:`~ego_reasoner_ros.training.expert.ExpertPolicy`)
    turns the instruction into operations and finds, in the live world, where each object is;
    its action sequence plays the role of a task record's key actions. No task record is read.
    """
    from ego_reasoner_ros.training.expert import ExpertPolicy

    planner = ExpertPolicy(search_rank=0, thoughts=False)
    planner.reset(instruction, world=world)
    steps = planner.planned_steps()
    kinds = [op.kind for op in planner.ops]
    tasktype = _budget_type(kinds)
    related: tuple[str, ...] = ()
    if tasktype == 'single_search':
        related = (f'{planner.ops[0].obj}|',)
    actions = tuple({'action': verb, 'objectType': target or ''} for verb, target in steps)
    return PlannedTask(identity=f'instr-{zlib.crc32(instruction.encode()):08x}',
                       tasktype=tasktype, metadata_actions=actions, related_objects=related)


class InstructionSweepPolicy(SweepExpertPolicy):
    """The sweep expert for a task known only by its instruction (policy spec ``sweep``).

    What the ROS graph's reasoner can run: it never receives the task record, so the key
    actions come from :func:`plan_from_instruction` (the instruction parser plus the world
    state, as the ``expert`` policy reads them); the search, the thoughts and the recovery
    behaviour are the sweep expert's. Recorded in bags, its episodes train the same thought
    format as ``ego-reasoner datagen --expert sweep``.
    """

    def __init__(self, *, compat: ReceptacleCompat | None = None, failure_prob: float = 0.0,
                 seed: int = 0, search: str = 'view', view_size: int = 112) -> None:
        super().__init__(PlannedTask('unplanned', 'single_search', ()), compat=compat,
                         failure_prob=failure_prob, seed=seed, search=search,
                         view_size=view_size)

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        if world is None:
            raise ValueError('the sweep expert needs the world state (world=...)')
        from ego_reasoner_ros.training.sim_env import resolve_world

        self.task = plan_from_instruction(instruction, resolve_world(world))
        self.keys = keys_of(self.task)
        self.max_step = max_steps_for(self.task.tasktype)
        logger.debug('sweep plan for %r: %s (%s)', instruction, [str(a) for a in self.keys],
                     self.task.tasktype)
        super().reset(instruction, seed=seed, world=world)
