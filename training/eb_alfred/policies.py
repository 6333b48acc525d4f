# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED policies: the open-loop oracle from ``plan.high_pddl`` and a heuristic baseline.

Both answer in EB's JSON format and go through the same parser as a model. An EB policy gets
:meth:`EBPolicy.eb_reset` at the start of an episode with what the benchmark's interface
exposes (the action list and the instance names with their objectIds, EB's
``name_to_id_dict``); the oracle also gets the episode's expert plan. Neither reads the world
state or the goal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
import re
from typing import Any

from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.alfred import id_coords
from ego_reasoner_ros.training.eb_alfred.planner import plan_json

#: ALFRED location types EB's find skill names by their parent (``find a Sink``).
_FIND_ALIASES = {'SinkBasin': 'Sink', 'BathtubBasin': 'Bathtub'}
#: Receptacle types ALFRED's expert opens before and closes after a pickup or put (its
#: high-level PickupObject/PutObject subgoals hide those low-level actions); the oracle
#: infers them from the receptacle type named in ``high_pddl``.
CLOSED_RECEPTACLES = frozenset({'Cabinet', 'Drawer', 'Fridge', 'Microwave', 'Safe'})


def _coord_id(coord: Any) -> str | None:
    """An objectId-like string from ALFRED's ``coordinateReceptacleObjectId``.

    ``[Type, [4x, 4x, 4z, 4z, 4y, 4y]]`` (quarter-metre grid units) -> ``Type|x|y|z``.
    """
    try:
        t, v = coord[0], coord[1]
        return f'{t}|{v[0] / 4:+06.2f}|{v[4] / 4:+06.2f}|{v[2] / 4:+06.2f}'
    except (TypeError, IndexError, KeyError):
        return None


class EBPolicy(Policy):
    """A policy for the EB-ALFRED protocol (see the module docstring)."""

    def eb_reset(self, *, actions: Sequence[str], instances: Mapping[str, str],
                 high_pddl: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Start an episode with the benchmark's action list and instance names."""
        del actions, instances, high_pddl


def _lower_index(actions: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, a in enumerate(actions):
        out.setdefault(a.lower(), i)
    return out


class OraclePlan:
    """EB skill names for an ALFRED expert plan, with instances chosen once at reset."""

    def __init__(self, actions: Sequence[str], instances: Mapping[str, str]) -> None:
        self.actions = list(actions)
        self.lower = _lower_index(actions)
        self.by_type: dict[str, list[tuple[str, tuple[float, float, float] | None]]] = {}
        for name, oid in instances.items():
            self.by_type.setdefault(oid.split('|')[0] if '|' in oid else name.split('_')[0],
                                    []).append((name, id_coords(oid)))
        self.problems: list[str] = []

    def action(self, text: str) -> str | None:
        i = self.lower.get(text.lower())
        return None if i is None else self.actions[i]

    def instance(self, object_id: str) -> str:
        """The instance name of a 2.1 objectId: the nearest same-type instance, else the type."""
        parts = object_id.split('|')
        otype = parts[-1].split('_')[0] if len(parts) == 5 and 'Basin' in parts[-1] else parts[0]
        cands = self.by_type.get(otype, [])
        c = id_coords(object_id)
        if cands and c is not None:
            def dist(item: tuple[str, Any]) -> float:
                return math.dist(c, item[1]) if item[1] is not None else 1e9
            return min(cands, key=dist)[0]
        return otype

    def find(self, object_id: str) -> str | None:
        name = self.instance(object_id)
        act = self.action(f'find a {name}')
        if act is None:
            base = name.split('_')[0]
            alias = _FIND_ALIASES.get(base)
            if alias:
                act = self.action(f'find a {alias}')
        if act is None:
            self.problems.append(f'no find skill for {name}')
        return act

    def named(self, verb: str, name: str) -> str | None:
        act = self.action(f'{verb} {name}')
        if act is None:
            self.problems.append(f'no skill "{verb} {name}"')
        return act

    def build(self, high_pddl: Sequence[Mapping[str, Any]]) -> list[str]:
        """The translated plan (skills that EB cannot express are left out and noted).

        Open/close around a pickup, put or slice follow ALFRED's expert, whose high-level
        subgoals hide them: a door-closed receptacle (``CLOSED_RECEPTACLES``) holding the
        object (``coordinateReceptacleObjectId`` of a pickup, or where the plan itself put
        it) or receiving it is opened first, unless the plan left it open.
        """
        out: list[str | None] = []
        hp = list(high_pddl)
        where: dict[str, str] = {}  # objectId -> receptacle it is in, from the plan alone
        for h in hp:
            pa = h.get('planner_action') or {}
            rid = _coord_id(pa.get('coordinateReceptacleObjectId'))
            if pa.get('action') == 'PickupObject' and rid:
                obj = str(pa.get('objectId', ''))
                where.setdefault(obj, rid)
                where.setdefault('|'.join(obj.split('|')[:4]), rid)
        opened: set[str] = set()
        held = ''

        def shut(rid: str | None) -> str | None:
            if rid and rid.split('|')[0] in CLOSED_RECEPTACLES:
                return self.instance(rid)
            return None

        def open_(name: str | None) -> None:
            if name and name not in opened:
                out.append(self.named('open the', name))
                opened.add(name)

        def close_(name: str | None) -> None:
            if name and name in opened:
                out.append(self.named('close the', name))
                opened.discard(name)

        for k, step in enumerate(hp):
            pa = step.get('planner_action') or {}
            act = pa.get('action')
            if act == 'GotoLocation':
                nxt = next((h.get('planner_action') or {} for h in hp[k + 1:]
                            if (h.get('planner_action') or {}).get('action') != 'GotoLocation'),
                           {})
                target = nxt.get('receptacleObjectId') if nxt.get('action') == 'PutObject' \
                    else nxt.get('objectId')
                if not target:
                    continue
                if nxt.get('action') == 'PickupObject' and target.count('|') == 4 \
                        and 'Sliced' in target:
                    target = '|'.join(target.split('|')[:4])  # go to the sliced parent
                out.append(self.find(target))
            elif act == 'PickupObject':
                obj = str(pa['objectId'])
                prev = (hp[k - 1].get('planner_action') or {}).get('action') if k else None
                if prev != 'GotoLocation':  # EB's find aims the camera; look at the object
                    out.append(self.find('|'.join(obj.split('|')[:4])))
                box = shut(_coord_id(pa.get('coordinateReceptacleObjectId')) or where.get(obj))
                open_(box)
                out.append(self.named('pick up the', obj.split('|')[0]))
                held = obj
                close_(box)
                where.pop(obj, None)
            elif act == 'PutObject':
                rid = pa.get('receptacleObjectId') or ''
                prev = (hp[k - 1].get('planner_action') or {}).get('action') if k else None
                if prev != 'GotoLocation' and rid:
                    out.append(self.find(rid))  # EB's put needs a find just before it
                target = shut(rid)
                outer = shut(where.get(rid))  # a movable receptacle inside a closed one
                open_(outer)
                open_(target)
                out.append(self.action('put down the object in hand'))
                if held:
                    where[held] = rid
                close_(target)
            elif act in ('OpenObject', 'CloseObject'):
                name = self.instance(pa['objectId'])
                (open_ if act == 'OpenObject' else close_)(name)
            elif act == 'ToggleObject':
                out.append(self.named('turn on the', pa['objectId'].split('|')[0]))
            elif act == 'SliceObject':
                obj = str(pa['objectId'])
                box = shut(where.get(obj))
                open_(box)
                out.append(self.named('slice the', obj.split('|')[0]))
                close_(box)
            elif act == 'CleanObject':
                obj = pa.get('cleanObjectId', '').split('|')[0]
                out += [self.action('put down the object in hand'),
                        self.named('turn on the', 'Faucet'), self.named('turn off the', 'Faucet'),
                        self.named('pick up the', obj)]
            elif act in ('HeatObject', 'CoolObject'):
                obj = pa.get('objectId', '')
                app = 'Microwave' if act == 'HeatObject' else 'Fridge'
                name = self.instance(obj) if obj.split('|')[0] == app else app
                held_type = held.split('|')[0] if held else _held_type(hp[:k])
                open_(name)
                out += [self.action('put down the object in hand')]
                close_(name)
                if act == 'HeatObject':
                    out += [self.named('turn on the', app), self.named('turn off the', app)]
                open_(name)
                out.append(self.named('pick up the', held_type))
                close_(name)
            elif act in ('End', None) or step.get('discrete_action', {}).get('action') == 'NoOp':
                continue
            else:
                self.problems.append(f'no EB skill for ALFRED action {act}')
        return [a for a in out if a is not None]


def _held_type(before: Sequence[Mapping[str, Any]]) -> str:
    for h in reversed(before):
        pa = h.get('planner_action') or {}
        if pa.get('action') == 'PickupObject':
            return str(pa['objectId']).split('|')[0]
    return ''


class OraclePolicy(EBPolicy):
    """Open-loop oracle: the expert plan translated once at reset, replayed as JSON plans.

    After a failed action the benchmark asks again; the oracle answers with the rest of its
    plan after the actions already executed (it counts them from the history length).
    ``drop_last`` removes the plan's last put or toggle (the negative control); with
    ``horizon`` (the number of actions the full oracle ran before it succeeded), the last
    one among those first ``horizon`` actions, so that the removed action is one the goal
    waited for.
    """

    name = 'oracle'

    def __init__(self, *, drop_last: bool = False, horizon: int | None = None) -> None:
        self.drop_last = drop_last
        self.horizon = horizon
        self.plan: list[int] = []
        self.problems: list[str] = []
        self._actions: list[str] = []

    def eb_reset(self, *, actions: Sequence[str], instances: Mapping[str, str],
                 high_pddl: Sequence[Mapping[str, Any]] | None = None) -> None:
        op = OraclePlan(actions, instances)
        names = op.build(high_pddl or [])
        if self.drop_last:
            last = len(names) if self.horizon is None else min(self.horizon, len(names))
            for i in range(last - 1, -1, -1):
                if names[i].startswith(('put down', 'turn on')):
                    del names[i]
                    break
        self._actions = list(actions)
        index = {a: i for i, a in enumerate(actions)}
        self.plan = [index[n] for n in names]
        self.problems = op.problems
        self._done = 0

    def act(self, inp: PolicyInput) -> str:
        done = int(getattr(inp, 'step', 0))
        return plan_json(self.plan[done:], self._actions)


_WORD = re.compile(r'[a-z]+')


def natural(name: str) -> str:
    """``RemoteControl`` -> ``remote control`` (EB's ``ithor_name_to_natural_word``)."""
    return name if name == 'CD' else re.sub(r'(\w)([A-Z])', r'\1 \2', name).lower()


#: Everyday words for ALFRED types (the instruction says "glass", the skill says Cup).
_SYNONYMS = {
    'glass': 'Cup', 'cabbage': 'Lettuce', 'table': 'DiningTable', 'counter': 'CounterTop',
    'tub': 'Bathtub', 'bin': 'GarbageCan', 'trash': 'GarbageCan', 'refrigerator': 'Fridge',
    'phone': 'CellPhone', 'remote': 'RemoteControl', 'couch': 'Sofa', 'keys': 'KeyChain',
    'nightstand': 'SideTable', 'card': 'CreditCard', 'clock': 'AlarmClock', 'rag': 'Cloth',
    'sponge': 'DishSponge', 'laptop': 'Laptop', 'chair': 'ArmChair', 'stove': 'StoveBurner',
}
_CLOSED = ('Fridge', 'Cabinet', 'Drawer', 'Microwave', 'Safe', 'Box')


class HeuristicPolicy(EBPolicy):
    """A language-only baseline: a keyword plan from the instruction, one repair on feedback.

    The first pickable type the instruction names (or a synonym of it) is the object, the
    last receptacle type named is the target; ``rinse/clean/wash``, ``heat/warm/cook``,
    ``cool/chill/cold`` and ``lamp/light`` add the matching skill sequence; a door-closed
    target is opened and closed around the put. When a pick fails because the object is in
    a receptacle the feedback names, it finds and opens that receptacle and carries on.
    """

    name = 'heuristic'

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.actions: list[str] = []
        self.instruction = ''
        self._repaired = False

    def eb_reset(self, *, actions: Sequence[str], instances: Mapping[str, str],
                 high_pddl: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.actions = list(actions)
        self.plan = []
        self._done = 0
        self._repaired = False

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        self.instruction = instruction

    def _mentions(self, kind: str) -> list[tuple[int, str]]:
        words = _WORD.findall(self.instruction.lower())
        text = ' ' + ' '.join(words) + ' '
        prefix = {'pick': 'pick up the ', 'find': 'find a '}[kind]
        types = {a[len(prefix):] for a in self.actions if a.startswith(prefix) and '_' not in a}
        out = []
        for t in types:
            for w in {natural(t), natural(t).replace(' ', '')}:
                pos = text.find(' ' + w)
                if pos >= 0:
                    out.append((pos, t))
                    break
        for w in words:
            t = _SYNONYMS.get(w.rstrip('s')) or _SYNONYMS.get(w)
            if t in types and all(t != u for _, u in out):
                out.append((text.find(' ' + w), t))
        return sorted(out)

    def _first_plan(self) -> list[str]:
        text = self.instruction.lower()
        picks = self._mentions('pick')
        finds = [t for _, t in self._mentions('find')]
        obj = picks[0][1] if picks else None
        receps = [t for t in finds if t != obj and t not in ('DeskLamp', 'FloorLamp', 'Faucet')]
        names: list[str] = []
        if obj:
            names += [f'find a {obj}', f'pick up the {obj}']
        if any(w in text for w in ('rinse', 'clean', 'wash')):
            names += ['find a Sink', 'put down the object in hand', 'turn on the Faucet',
                      'turn off the Faucet', f'pick up the {obj}']
        if any(w in text for w in ('heat', 'warm', 'cook', 'microwave', 'hot')):
            names += ['find a Microwave', 'open the Microwave', 'put down the object in hand',
                      'close the Microwave', 'turn on the Microwave', 'turn off the Microwave',
                      'open the Microwave', f'pick up the {obj}', 'close the Microwave']
        if any(w in text for w in ('cool', 'chill', 'cold')):
            names += ['find a Fridge', 'open the Fridge', 'put down the object in hand',
                      'close the Fridge', 'open the Fridge', f'pick up the {obj}',
                      'close the Fridge']
        if any(w in text for w in ('lamp', 'light')):
            lamp = 'FloorLamp' if 'floor' in text else 'DeskLamp'
            names += [f'find a {lamp}', f'turn on the {lamp}']
        else:
            busy = {'Microwave', 'Sink'} if len(names) > 2 else set()
            receps = [r for r in receps if r not in busy] or receps
            if receps:
                r = receps[-1]
                names.append(f'find a {r}')
                if r in _CLOSED:
                    names.append(f'open the {r}')
                names.append('put down the object in hand')
                if r in _CLOSED:
                    names.append(f'close the {r}')
        return [n for n in names if n in self.actions]

    def act(self, inp: PolicyInput) -> str:
        index = {a: i for i, a in enumerate(self.actions)}
        if not self.plan:
            self.plan = self._first_plan()
            return plan_json([index[n] for n in self.plan], self.actions)
        done = int(getattr(inp, 'step', 0) or 0)
        fb = getattr(inp, 'feedback', None) or ''
        failed = self.plan[done - 1] if 0 < done <= len(self.plan) else ''
        m = re.search(r'because it is in (\S+?)\. ', fb)
        if self._repaired or not failed.startswith('pick up') or not m:
            return plan_json([], self.actions)
        self._repaired = True
        where = m.group(1)
        fix = [f'find a {where}']
        if where.split('_')[0] in _CLOSED:
            fix.append(f'open the {where}')
        fix.append(failed)
        rest = self.plan[done:]
        self.plan = self.plan[:done] + fix + rest
        return plan_json([index[n] for n in fix + rest if n in index], self.actions)
