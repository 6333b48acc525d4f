# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED across a message link (the ROS graph): the simulator's side and the planner's.

- :class:`EBSession` (simulator side, the sim bridge): rebuilds an episode's initial state
  from its split entry and runs one EB skill at a time in :class:`~.env.EBAlfredEnv`,
  answering with EB's feedback string, the goal conditions met and a 500x500 frame.
- :class:`RemoteEBEnv` (planner side, the reasoner): the environment that
  :func:`~.loop.run_eb_episode` drives, each skill sent through a transport; the episode
  caps (30 actions, 10 invalid actions) are counted here, as :class:`~.env.EBAlfredEnv`
  counts them, because invalid model outputs never reach the simulator.
The message rules (the ``episode`` field, the core action of a skill) are in
:mod:`.skills`. ROS-free: the nodes supply the transport.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.eb_alfred.data import (
    Episode,
    load_episode,
    load_split,
    resolve_eb_data,
)
from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv, episode_over
from ego_reasoner_ros.training.eb_alfred.skills import (
    BENCHMARK,
    EB_POLICIES,
    check_episode_ref,
    skill_gate,
)
from ego_reasoner_ros.training.eb_alfred.spec import EBSpec, fill, load_spec


def find_episode(root: Path | str, subset: str, index: int) -> Episode:
    """The episode of split entry ``(subset, index)``; DataError when the split lacks it."""
    entries = load_split(root, subset)
    if index >= len(entries):
        raise DataError(f'episode {subset}/{index} does not exist: the {subset} split here has '
                        f'{len(entries)} episodes (index 0..{len(entries) - 1})')
    return load_episode(root, *entries[index])


@dataclass
class EBReply:
    """The simulator side's answer to one init or skill."""

    success: bool
    feedback: str
    frame: np.ndarray | None
    scene_types: list[str]
    eb: dict[str, Any]


class EBSession:
    """The simulator side: one EB-ALFRED episode at a time, 500x500 frames (EB's size).

    Args:
        eb_data: an EB data folder (None or '': resolved as by the evaluation).
        scenes_dir: an ER scenes folder (None or '': the resolved ER data's ``scenes``).
        render: render a frame after each step.
    """

    def __init__(self, eb_data: str | None = None, scenes_dir: str | None = None, *,
                 render: bool = True, resolution: int = 500) -> None:
        self.root = resolve_eb_data(eb_data or None)
        self.spec: EBSpec = load_spec(self.root)
        if not scenes_dir:
            from ego_reasoner_ros.core import data_store
            scenes_dir = str(data_store.scenes_dir(data_store.resolve_data_dir()))
        self.env = EBAlfredEnv(self.spec, scenes_dir, render=render, resolution=resolution)
        self.episode: Episode | None = None

    def _reply(self, success: bool, feedback: str, obs: Mapping[str, Any],
               eb: dict[str, Any]) -> EBReply:
        s, ts = self.env.goal()
        eb = dict(eb, conditions=[int(s), int(ts)], task_success=bool(s == ts))
        types = sorted({m['objectType'] for m in self.env.meta()})
        return EBReply(success, feedback, obs.get('head_rgb'), types, eb)

    def start(self, ref: Any) -> EBReply:
        """Rebuild the initial state of the episode ``ref`` names (ValueError, DataError)."""
        subset, index = check_episode_ref(ref)
        episode = find_episode(self.root, subset, index)
        self.episode = None
        obs = self.env.reset(episode)
        self.episode = episode
        return self._reply(True, '', obs, {
            'episode_id': episode.episode_id, 'task_type': episode.task_type,
            'instruction': episode.instruction, 'actions': list(self.env.actions),
            'instances': dict(self.env.name_to_id)})

    def step(self, skill: str) -> EBReply:
        """Run one skill of the episode's action list; its EB feedback string."""
        if self.episode is None:
            raise ValueError('no EB-ALFRED episode is loaded: send init with an episode first')
        if skill not in self.env.actions:
            raise ValueError(f'{skill!r} is not in the action list of episode '
                             f'{self.episode.episode_id}')
        obs, _r, _done, info = self.env.step(skill)
        return self._reply(bool(info['last_action_success']), str(info['env_feedback']), obs,
                           {'action': skill})


@dataclass
class RemoteReply:
    """What the transport returns for one init or skill.

    ``status`` is the executor's (``succeeded``, ``failed``, ``rejected``); ``eb`` the
    simulator's :attr:`EBReply.eb` (empty when the action never reached the simulator).
    """

    success: bool
    feedback: str
    status: str = 'succeeded'
    images: list[np.ndarray] = field(default_factory=list)
    eb: dict[str, Any] = field(default_factory=dict)


#: ``send(fields)``: fields ``step``, ``verb`` and ``episode`` (init) or ``target``/``skill``.
Transport = Callable[[dict[str, Any]], RemoteReply]


class RemoteEBEnv:
    """The environment of :func:`~.loop.run_eb_episode` when the simulator is elsewhere.

    Same interface as :class:`~.env.EBAlfredEnv` as far as the loop uses it: ``reset``,
    ``step`` (EB's info keys), ``goal``, ``actions``, ``name_to_id``, ``steps``, ``invalid``.
    An action the link rejects before it ran (the safety gate) is a failed action with the
    reason in EB's invalid-action wording.
    """

    world = None  # no local world: the simulator is on the other side of the link

    def __init__(self, spec: EBSpec, send: Transport, *, language_only: bool = False) -> None:
        self.spec = spec
        self.send = send
        self.render = not language_only
        self.actions: list[str] = list(spec.global_actions)
        self.name_to_id: dict[str, str] = {}
        self.steps = 0
        self.invalid = 0
        self.episode: Episode | None = None
        self._conditions = (0, 1)
        self._frame: np.ndarray | None = None

    def _observe(self, reply: RemoteReply) -> dict[str, Any]:
        if reply.images:
            self._frame = reply.images[-1]
        return {'head_rgb': self._frame if self.render else None, 'actions': self.actions}

    def _conditions_of(self, reply: RemoteReply) -> None:
        cond = reply.eb.get('conditions')
        if isinstance(cond, list) and len(cond) == 2:
            self._conditions = (int(cond[0]), max(int(cond[1]), 1))

    def reset(self, episode: Episode) -> dict[str, Any]:
        """Ask the simulator for the episode's initial state (RuntimeError when it cannot)."""
        self.steps = self.invalid = 0
        self._frame = None
        reply = self.send({'step': 0, 'verb': 'init',
                           'episode': {'subset': episode.subset, 'index': episode.index}})
        if not reply.success:
            raise RuntimeError(f'init failed: {reply.feedback}')
        got = reply.eb.get('episode_id')
        if got != episode.episode_id:
            raise RuntimeError(f'the simulator loaded episode {got!r}, not '
                               f'{episode.episode_id!r}')
        self.episode = episode
        self.actions = [str(a) for a in reply.eb['actions']]
        self.name_to_id = {str(k): str(v) for k, v in reply.eb.get('instances', {}).items()}
        self._conditions_of(reply)
        return self._observe(reply)

    def goal(self) -> tuple[int, int]:
        """(conditions met, conditions) as the simulator last reported them."""
        return self._conditions

    def step(self, action: int | str) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
        """EB's ``step`` over the link."""
        if self.episode is None:
            raise RuntimeError('reset the environment first')
        if isinstance(action, bool) or not isinstance(action, (int, str)):
            raise TypeError(f'action must be an id or a skill string, got {action!r}')
        skill = self.actions[action] if isinstance(action, int) else action
        self.steps += 1
        verb, target = skill_gate(skill)
        fields: dict[str, Any] = {'step': self.steps, 'verb': verb, 'skill': skill}
        if target is not None:
            fields['target'] = target
        reply = self.send(fields)
        if not reply.success:
            self.invalid += 1
        self._conditions_of(reply)
        feedback = reply.feedback
        if reply.status not in ('succeeded', 'failed'):  # never reached the simulator
            feedback = fill(self.spec.feedback_invalid, message=feedback or reply.status)
        s, ts = self._conditions
        info = {
            'instruction': self.episode.instruction, 'env_step': self.steps,
            'env_feedback': feedback, 'last_action_success': float(reply.success),
            'task_success': float(s == ts), 'task_progress': s / ts,
            'action_id': action, 'action_description': skill,
        }
        done = episode_over(self.spec, self.steps, self.invalid, s == ts)
        return self._observe(reply), 0.0, done, info


def run_remote_episode(policy: Any, spec: EBSpec, episode: Episode, send: Transport, *,
                       language_only: bool = False, parser: str = 'strict') -> dict[str, Any]:
    """:func:`~.loop.run_eb_episode` over a transport; EB's per-episode record."""
    from ego_reasoner_ros.training.eb_alfred.loop import EBLoopConfig, run_eb_episode
    from ego_reasoner_ros.training.eb_alfred.planner import PromptSettings

    env = RemoteEBEnv(spec, send, language_only=language_only)
    config = EBLoopConfig(parser=parser, prompt=PromptSettings(language_only=language_only))
    return run_eb_episode(policy, env, episode, config)


def make_remote_policy(spec: str, fallback: Any = None) -> Any:
    """The policy of an EB-ALFRED task: a fresh EB policy by name, else ``fallback``."""
    if spec in EB_POLICIES:
        from ego_reasoner_ros.training.eb_alfred.evaluate import make_eb_policy
        return make_eb_policy(spec)
    if fallback is None:
        raise ValueError(f'no policy {spec!r} for EB-ALFRED')
    return fallback


def write_run(record: Mapping[str, Any], run_dir: Path | str) -> Path:
    """``eb_episode.json`` (EB's per-episode record) and ``summary.json`` in ``run_dir``."""
    import json

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'eb_episode.json').write_text(json.dumps(record, indent=1, default=str) + '\n',
                                             encoding='utf-8')
    keep = ('episode_id', 'instruction', 'task_type', 'success', 'progress', 'num_steps',
            'planner_steps', 'num_invalid_actions', 'output_errors', 'ended_by')
    summary = {'benchmark': BENCHMARK, **{k: record.get(k) for k in keep},
               'actions': [s['action'] for s in record.get('steps', []) if s.get('action')]}
    (run_dir / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n',
                                          encoding='utf-8')
    return run_dir.resolve()
