# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED's environment over the embedded simulator (``EBAlfEnv`` + ``ThorConnector``).

The skill layer follows the upstream connector rule for rule: instance choice by distance
with its penalties (closed parent +100000, occupied StoveBurner +10000, not visible +1000,
slice -100 once something was sliced), ``find`` teleports to the reachable point nearest the
object (Fridge and Microwave: the first of the 10 nearest that faces the door) and aims the
camera at it, ``put down`` targets the last found receptacle with the 2 x 7 x 2 retry loop
(look/move tweaks between tries) and drops the object after the 3rd failed put on one
receptacle, ``open`` retries 4 times stepping back or aside, ``find``/``open``/``close`` of
a name with several instances go to the first instance (EB's ``name_to_id_dict``), and every
message comes from the upstream files (:mod:`.spec`).

Deviations (documented): the put counter and the "something was sliced" flag are reset per
episode (upstream keeps them for the whole process, so results would depend on episode
order); a teleport never fails on the reachable grid; instance names (``Cabinet_2``) number
the objects in the replay's order (:func:`~ego_reasoner_ros.sim_bridge.alfred.build_alfred_scene`).
"""

from __future__ import annotations

from collections.abc import Mapping
import math
import string
import threading
from typing import Any

import numpy as np

from ego_reasoner_ros.sim_bridge.alfred import CAMERA_HEIGHT_OFFSET, AlfredWorld
from ego_reasoner_ros.sim_bridge.scene import Scene, find_scene, load_scene
from ego_reasoner_ros.training.eb_alfred.data import Episode
from ego_reasoner_ros.training.eb_alfred.goals import goal_conditions
from ego_reasoner_ros.training.eb_alfred.spec import EBSpec

_SCENES: dict[tuple[str, str], Scene] = {}
_LOCK = threading.Lock()


def natural_to_ithor(w: str) -> str:
    """EB's ``natural_word_to_ithor_name``: ids (with digits) and CD pass through."""
    if any(c.isdigit() for c in w) or w == 'CD':
        return w
    return ''.join(string.capwords(x) for x in w.split())


def _angle_diff(x: float, y: float) -> float:
    x, y = math.radians(x), math.radians(y)
    return math.degrees(math.atan2(math.sin(x - y), math.cos(x - y)))


def episode_over(spec: EBSpec, steps: int, invalid: int, success: bool) -> bool:
    """EB's end of an episode after a step: success, the step cap or the invalid cap."""
    return steps >= spec.max_steps or success or invalid >= spec.max_invalid


def load_er_scene(scenes_dir: str, floor_plan: str) -> Scene:
    """An ER scene by FloorPlan name, cached per process (scenes are never mutated)."""
    key = (str(scenes_dir), floor_plan)
    with _LOCK:
        scene = _SCENES.get(key)
    if scene is None:
        scene = load_scene(find_scene(scenes_dir, floor_plan))
        with _LOCK:
            _SCENES[key] = scene
    return scene


class EBAlfredEnv:
    """One EB-ALFRED episode at a time in the embedded simulator.

    Args:
        spec: the parsed upstream interface.
        scenes_dir: an ER scenes folder (``<room>/<FloorPlanN>/metadata.json``).
        render: render a frame per step (vision mode); off for language-only runs.
        resolution: frame size (EB: 500).
    """

    def __init__(self, spec: EBSpec, scenes_dir: str, *, render: bool = False,
                 resolution: int = 500) -> None:
        if resolution < 16:
            raise ValueError(f'resolution must be >= 16, got {resolution}')
        self.spec = spec
        self.scenes_dir = str(scenes_dir)
        self.render = render
        self.resolution = resolution
        self.world: AlfredWorld | None = None
        self.episode: Episode | None = None
        self._renderer = None
        self.actions: list[str] = list(spec.global_actions)
        self.name_to_id: dict[str, str] = {}
        self.id_to_name: dict[str, str] = {}

    # ------------------------------------------------------------------ episode
    def reset(self, episode: Episode, scene: Scene | None = None) -> dict[str, Any]:
        """Rebuild the episode's initial state; return the first observation.

        ``scene`` replaces the ER scene of the episode's floor plan (hand-built tests).
        """
        traj = episode.traj
        base = scene or load_er_scene(self.scenes_dir, traj['scene']['floor_plan'])
        self.world = AlfredWorld(base, traj['scene'], width=self.resolution,
                                 height=self.resolution)
        self.episode = episode
        self.cur_receptacle: str | None = None
        self.sliced = False
        self.put_count: dict[str, int] = {}
        self.steps = 0
        self.invalid = 0
        self._meta: list[dict] | None = None
        self._additional_actions()
        return self.observation()

    def observation(self) -> dict[str, Any]:
        """``head_rgb`` (None in language-only mode) plus the action list."""
        return {'head_rgb': self.frame() if self.render else None, 'actions': self.actions}

    def frame(self) -> np.ndarray:
        """The embedded camera's current view (the embedded simulator's box rendering)."""
        from ego_reasoner_ros.sim_bridge import render as render_mod
        from ego_reasoner_ros.sim_bridge.embedded import render_world

        w = self._require()
        if self._renderer is None:
            self._renderer = render_mod.BoxRenderer()
        res = render_world(w, self._renderer, w.pose, self.resolution, self.resolution, w.fov)
        return res.rgb

    def _require(self) -> AlfredWorld:
        if self.world is None:
            raise RuntimeError('reset the environment first')
        return self.world

    def _additional_actions(self) -> None:
        recep: dict[str, list[str]] = {}
        pick: dict[str, list[str]] = {}
        for o in self.meta():
            if o['receptacle']:
                recep.setdefault(o['objectType'], []).append(o['objectId'])
            elif o['pickupable']:
                pick.setdefault(o['objectType'], []).append(o['objectId'])
        n2i: dict[str, str] = {}
        add_find, add_pick = [], []
        for table, extra in ((recep, add_find), (pick, add_pick)):
            for key, ids in table.items():
                if len(ids) >= 2:
                    for i, oid in enumerate(ids):
                        name = key if i == 0 else f'{key}_{i + 1}'
                        n2i[name] = oid
                        if i:
                            extra.append(name)
        add_find = sorted(set(add_find))
        add_pick = sorted(set(add_pick))
        lists = self.spec.lists
        acts = [self.spec.find_action(o) for o in add_find]
        for o in add_find:
            if o.split('_')[0] in lists['alfred_open_obj']:
                acts += [self.spec.open_action(o), self.spec.close_action(o)]
        for o in add_pick:
            if o.split('_')[0] in lists['alfred_pick_obj']:
                acts.append(self.spec.find_action(o))
        self.actions = list(self.spec.global_actions) + acts
        self.name_to_id = n2i
        self.id_to_name = {v: k for k, v in n2i.items()}

    def meta(self) -> list[dict[str, Any]]:
        """The current ``metadata['objects']`` (cached until the next primitive)."""
        if self._meta is None:
            self._meta = self._require().metadata_objects()
        return self._meta

    def _dirty(self) -> None:
        self._meta = None

    # --------------------------------------------------------------------- step
    def step(self, action: int | str) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
        """EB's ``step``: one skill, the goal check and the feedback."""
        self._require()
        self.steps += 1
        if isinstance(action, bool) or not isinstance(action, (int, str)):
            raise TypeError(f'action must be an id or a skill string, got {action!r}')
        lang = self.actions[action] if isinstance(action, int) else action
        if 'find' in lang or 'open' in lang or 'close' in lang:
            parts = lang.split(' ')
            if parts[-1] in self.name_to_id:
                lang = ' '.join(parts[:-1] + [self.name_to_id[parts[-1]]])
        event = self.skill(lang)
        if not event['success']:
            self.invalid += 1
        s, ts = self.goal()
        success = s == ts
        done = episode_over(self.spec, self.steps, self.invalid, success)
        info = {
            'instruction': self.episode.instruction if self.episode else '',
            'env_step': self.steps,
            'env_feedback': self.feedback(event),
            'last_action_success': float(event['success']),
            'task_success': float(success),
            'task_progress': s / ts,
            'action_id': action,
            'action_description': self.actions[action] if isinstance(action, int) else action,
        }
        return self.observation(), 0.0, done, info

    def goal(self) -> tuple[int, int]:
        """(conditions met, conditions) of the episode's task type."""
        w = self._require()
        return goal_conditions(self.episode.traj, self.meta(), w.inventory,
                               cleaned=w.cleaned, heated=w.heated, cooled=w.cooled)

    def feedback(self, event: Mapping[str, Any]) -> str:
        """EB's ``get_env_feedback``."""
        spec = self.spec
        if event['success']:
            return spec.feedback_ok
        msg = event['message']
        pieces = spec.feedback_pieces
        marker, because, note, go = (pieces[3], pieces[8], pieces[9], pieces[12])
        if marker in msg and '|' in msg:
            recep_id = msg.split(because)[1].split(note)[0]
            pos = self.id_to_name.get(recep_id, recep_id.split('|')[0])
            msg = msg.split(recep_id)[0] + pos + go
        return spec.feedback_invalid.format(message=msg)

    # ------------------------------------------------------------------- skills
    def skill(self, instruction: str) -> dict[str, Any]:
        """``llm_skill_interact``."""
        if not (instruction.startswith('put down ') or instruction.startswith('open ')):
            self.cur_receptacle = None
        if instruction.startswith('find '):
            name = instruction.replace('find a ', '').replace('find an ', '')
            self.cur_receptacle = name
            ret = self.nav_obj(natural_to_ithor(name), self.sliced)
        elif instruction.startswith('pick up '):
            ret = self.pick(natural_to_ithor(instruction.replace('pick up the ', '')))
        elif instruction.startswith('put down '):
            if self.cur_receptacle is None:
                ret = self.drop()
            else:
                recep = self.cur_receptacle
                self.put_count[recep] = self.put_count.get(recep, 0) + 1
                ret = self.put(natural_to_ithor(recep))
                if len(ret) > 16 and self.put_count[recep] >= 3:
                    self.drop()
                    ret += self.spec.message('put.dropped')
        elif instruction.startswith('open '):
            ret = self.open(natural_to_ithor(instruction.replace('open the ', '')))
        elif instruction.startswith('close '):
            ret = self.close(natural_to_ithor(instruction.replace('close the ', '')))
        elif instruction.startswith('turn on '):
            ret = self.toggle(natural_to_ithor(instruction.replace('turn on the ', '')), True)
        elif instruction.startswith('turn off '):
            ret = self.toggle(natural_to_ithor(instruction.replace('turn off the ', '')), False)
        elif instruction.startswith('slice '):
            ret = self.slice(natural_to_ithor(instruction.replace('slice the ', '')))
            self.sliced = True
        elif instruction.startswith('drop'):
            ret = self.drop()
        else:
            ret = f'unsupported instruction: {instruction}'
        return {'action': instruction, 'success': len(ret) <= 0, 'message': ret}

    def _prop(self, oid: str, prop: str) -> Any:
        for o in self.meta():
            if oid in o['objectId']:
                return o[prop]
        return None

    def obj_id_from_name(self, name: str, *, only_pickupable: bool = False,
                         only_toggleable: bool = False, priority_sliced: bool = False,
                         get_inherited: bool = False, parent_receptacle_penalty: bool = True,
                         priority_in_visibility: bool = False,
                         exclude_obj_id: str | None = None) -> tuple[str | None, dict | None]:
        """``get_obj_id_from_name``."""
        meta = self.meta()
        if any(c.isdigit() for c in name):
            for o in meta:
                if name in o['name']:
                    return o['objectId'], o
            return None, None
        best, best_d = None, 1e8
        folded = name.casefold()
        for o in meta:
            if o['objectId'] == exclude_obj_id:
                continue
            if only_pickupable and not o['pickupable']:
                continue
            if only_toggleable and not o['toggleable']:
                continue
            parts = o['objectId'].split('|')
            if parts[0].casefold() != folded or (get_inherited and len(parts) != 5):
                continue
            if o['distance'] >= best_d:
                continue
            pen = 0.0
            if parent_receptacle_penalty and o['parentReceptacles']:
                for p in o['parentReceptacles']:
                    if self._prop(p, 'openable') is True and self._prop(p, 'isOpen') is False:
                        pen += 100000
                        break
            if folded == 'stoveburner' and o['receptacleObjectIds']:
                pen += 10000
            if priority_in_visibility and not o['visible']:
                pen += 1000
            if priority_sliced and '_Slice' in o['name']:
                pen -= 100
            if o['distance'] + pen < best_d:
                best_d = o['distance'] + pen
                best = o
        return (best['objectId'], best) if best is not None else (None, None)

    def nav_obj(self, target: str, prefer_sliced: bool = False) -> str:
        """``find``: teleport next to the object and look at it."""
        w = self._require()
        if '|' in target:
            obj_id = target
            target = target.split('|')[0]
            tmp_id, _ = self.obj_id_from_name(target, priority_in_visibility=True,
                                              priority_sliced=prefer_sliced)
            if tmp_id and 'Sliced' in tmp_id and obj_id in tmp_id:
                obj_id = tmp_id
        else:
            obj_id, _ = self.obj_id_from_name(target, priority_in_visibility=True,
                                              priority_sliced=prefer_sliced)
        obj = next((o for o in self.meta() if o['objectId'] == obj_id), None)
        if obj is None:
            return self.spec.message('nav_obj.missing', target_obj=target)
        loc = obj['position']
        cells = w.nearest_cells(loc['x'], loc['z'], 20)
        chosen = None
        door = target in ('Fridge', 'Microwave')
        for k, (cx, cz) in enumerate(cells):
            rot = self._yaw_to(loc, cx, cz)
            if door and k < 10:
                diff = abs(_angle_diff(rot, obj['rotation']['y']))
                if target == 'Fridge' and not (70 < diff < 110 or 250 < diff < 290):
                    continue
                if target == 'Microwave' and not (160 < diff < 200 or -20 < diff < 20):
                    continue
            chosen = (cx, cz, rot)
            break
        if chosen is None and len(cells):
            cx, cz = cells[0]
            chosen = (cx, cz, self._yaw_to(loc, cx, cz))
        if chosen is None:
            return f'Cannot move to {target}'
        cx, cz, rot = chosen
        cam_h = 0.9 + CAMERA_HEIGHT_OFFSET
        hor = math.degrees(math.atan2(loc['y'] - cam_h, math.hypot(loc['x'] - cx,
                                                                   loc['z'] - cz))) * 0.9
        w.teleport(float(cx), float(cz), rot, -hor)
        self._dirty()
        return ''

    @staticmethod
    def _yaw_to(loc: Mapping[str, float], cx: float, cz: float) -> float:
        a = math.atan2(-(loc['x'] - cx), loc['z'] - cz)
        if a > 0:
            a -= 2 * math.pi
        return -(180 / math.pi) * a

    def pick(self, name: str) -> str:
        """``pick``."""
        w = self._require()
        oid, data = self.obj_id_from_name(name, only_pickupable=True,
                                          priority_in_visibility=True,
                                          priority_sliced=self.sliced)
        if oid is None:
            return self.spec.message('pick.missing', obj_name=name)
        if data['visible'] is False and data['parentReceptacles']:
            ret = self.spec.message('pick.hidden', obj_name=name,
                                    recep_name=data['parentReceptacles'][0])
            ok, _ = w.pickup(oid)
        else:
            ok, _ = w.pickup(oid)
            ret = ''
            if not ok:
                inv = w.inventory
                ret = (self.spec.message('pick.empty_hand') if not inv else
                       self.spec.message('pick.holding', holding_obj_type=inv[0]['objectType']))
        self._dirty()
        return '' if ok else ret

    def _nudge(self, moves: list[str]) -> None:
        """Look/Move tweaks of ``put``/``open`` (moves stay on the reachable grid)."""
        w = self._require()
        for m in moves:
            p = w.pose
            if m == 'LookUp':
                w.teleport(p.x, p.z, p.yaw, max(p.horizon - 30.0, -30.0))
                continue
            if m == 'LookDown':
                w.teleport(p.x, p.z, p.yaw, min(p.horizon + 30.0, 60.0))
                continue
            off = {'MoveAhead': 0.0, 'MoveRight': 90.0, 'MoveBack': 180.0, 'MoveLeft': 270.0}
            if m in off:
                r = math.radians(p.yaw + off[m])
                nx, nz = p.x + 0.25 * math.sin(r), p.z + 0.25 * math.cos(r)
                d = np.hypot(w.reachable_positions[:, 0] - nx, w.reachable_positions[:, 1] - nz)
                if len(d) and float(d.min()) < 0.05:
                    w.teleport(nx, nz, p.yaw, p.horizon)
        self._dirty()

    _PUT_TWEAKS = {1: ['LookUp'] * 2, 2: ['LookDown'] * 4, 3: ['LookUp', 'LookUp', 'MoveBack'],
                   4: ['MoveAhead'] + ['MoveRight'] * 4, 5: ['MoveLeft'] * 8,
                   6: ['MoveRight'] * 4}

    def put(self, receptacle_name: str) -> str:
        """``put``: the 2 x 7 x 2 retry loop over the last found receptacle."""
        w = self._require()
        orig = receptacle_name
        if not w.inventory:
            return self.spec.message('put.empty_hand')
        ret = ''
        last, exclude = None, None
        for k in range(2):
            for j in range(7):
                for i in range(2):
                    if k == 1 and exclude is None:
                        exclude = last
                    if k == 0 and '|' in orig:
                        if i == 1:
                            continue
                        recep_id = orig
                        receptacle_name = orig.split('|')[0]
                    else:
                        basin = 'Sink' in receptacle_name or 'Bathtub' in receptacle_name
                        inherited = (i == 0) if basin else (i == 1)
                        recep_id, _ = self.obj_id_from_name(receptacle_name,
                                                            get_inherited=inherited,
                                                            exclude_obj_id=exclude)
                    if not recep_id:
                        ret = self.spec.message('put.no_receptacle',
                                                receptacle_name=receptacle_name)
                        continue
                    if j in self._PUT_TWEAKS:
                        self._nudge(self._PUT_TWEAKS[j])
                    ok, _ = w.put(recep_id)
                    self._dirty()
                    last = recep_id
                    if ok:
                        return ''
                    ret = self.spec.message('put.failed', receptacle_name=receptacle_name)
        return ret

    def drop(self) -> str:
        """``drop``."""
        w = self._require()
        ok, _ = w.drop()
        self._dirty()
        if ok:
            return ''
        return (self.spec.message('drop.empty_hand') if not w.inventory
                else self.spec.message('drop.failed'))

    def _resolve(self, name: str) -> tuple[str | None, str]:
        if '|' in name:
            return name, name.split('|')[0]
        oid, _ = self.obj_id_from_name(name)
        return oid, name

    def open(self, name: str) -> str:
        """``open``: up to 4 tries, stepping back or aside between them."""
        w = self._require()
        oid, name = self._resolve(name)
        if oid is None:
            return self.spec.message('open.missing', obj_name=name)
        was_open = any(o['objectId'] == oid and o['openable'] and o['isOpen']
                       for o in self.meta())
        ret = ''
        tweaks = {0: ['MoveBack'], 1: ['MoveBack', 'MoveRight'], 2: ['MoveLeft', 'MoveLeft']}
        for i in range(4):
            ok, _ = w.open(oid)
            self._dirty()
            if ok:
                return ''
            ret = (self.spec.message('open.already', obj_name=name) if was_open
                   else self.spec.message('open.failed'))
            if i in tweaks:
                self._nudge(tweaks[i])
        return ret

    def close(self, name: str) -> str:
        """``close``."""
        w = self._require()
        oid, name = self._resolve(name)
        if oid is None:
            return self.spec.message('close.missing', obj_name=name)
        ok, _ = w.close(oid)
        self._dirty()
        if ok:
            return ''
        ret = self.spec.message('close.failed')
        if any(o['objectId'] == oid and o['openable'] and not o['isOpen'] for o in self.meta()):
            ret += self.spec.message('close.already', obj_name=name)
        return ret

    def toggle(self, name: str, on: bool) -> str:
        """``toggleon`` / ``toggleoff``."""
        w = self._require()
        key = 'toggleon' if on else 'toggleoff'
        oid, _ = self.obj_id_from_name(name, only_toggleable=True)
        if oid is None:
            return self.spec.message(f'{key}.missing', obj_name=name)
        ok, _ = w.toggle_on(oid) if on else w.toggle_off(oid)
        self._dirty()
        return '' if ok else self.spec.message(f'{key}.failed')

    def slice(self, name: str) -> str:
        """``slice`` (EB's skill does not ask for a knife in hand)."""
        w = self._require()
        oid, _ = self.obj_id_from_name(name)
        if oid is None:
            return self.spec.message('slice.missing', obj_name=name)
        ok, _ = w.slice(oid)
        self._dirty()
        return '' if ok else self.spec.message('slice.failed')
