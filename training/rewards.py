# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""GRPO reward functions, sharing the core parser and the ER key-action bookkeeping.

Every function follows TRL's reward signature ``f(completions, **columns) -> list[float]``
(``completions[i]`` is a string or ``[{"role": "assistant", "content": text}]``) and is pure:
the score depends only on the completion and the dataset row. Columns used (written by
:func:`ego_reasoner_ros.training.train_data.grpo_rows`): ``expert_action``,
``history_actions`` and ``object_types`` (JSON lists), and for :class:`EnvReward` the
trajectory meta ``scene``, ``task`` and ``key_actions``.

>>> done = [[{'role': 'assistant', 'content': 'ok <DecisionMaking>pickup Apple</DecisionMaking>'}]]
>>> format_reward(done, object_types=['["Apple"]'])
[1.0]
>>> format_reward(['I would pick it up'], object_types=['["Apple"]'])
[0.0]
>>> imitation_reward(done, expert_action=['pickup Apple'], object_types=['["Apple"]'])
[1.0]
>>> imitation_reward(done, expert_action=['navigate to Apple'], object_types=['["Apple"]'])
[0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import json
import logging
from typing import Any

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.parser import ParsedAction, ParserMode, parse_action
from ego_reasoner_ros.training.experts import check_removed

logger = logging.getLogger(__name__)


def completion_text(completion: Any) -> str:
    """The text of one TRL completion (plain or conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        last = completion[-1]
        content = last.get('content') if isinstance(last, dict) else last
        if isinstance(content, list):
            return ''.join(b.get('text') or '' for b in content if isinstance(b, dict))
        return content if isinstance(content, str) else ''
    if isinstance(completion, dict):
        return str(completion.get('content') or '')
    return ''


def _json_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    return list(value) if isinstance(value, (list, tuple)) else []


def _column(kwargs: dict[str, Any], name: str, n: int) -> list[Any]:
    values = kwargs.get(name)
    if values is None:
        return [None] * n
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        return [values] * n
    if len(values) != n:
        raise ValueError(f'column {name!r} has {len(values)} values for {n} completions')
    return list(values)


def parse_completion(text: str, object_types: Sequence[str],
                     mode: ParserMode | str = ParserMode.STRICT) -> Action | None:
    """The action of a completion, or None when it has no valid decision."""
    parsed = parse_action(text, list(object_types), mode)
    return parsed.action if isinstance(parsed, ParsedAction) else None


def _types_for(object_types: Any, expert: str | None = None) -> list[str]:
    types = [t for t in _json_list(object_types) if isinstance(t, str)]
    if expert and ' ' in expert:
        last = expert.rsplit(' ', 1)[-1]
        if last not in types:
            types.append(last)
    return types


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the completion has a ``<DecisionMaking>`` tag that parses to an action.

    Parsed strictly against ``object_types`` (the row's known types); objectless commands
    (``observe``, ``move forward``, ``end``) need no type.

    >>> format_reward(['<DecisionMaking>observe</DecisionMaking>'])
    [1.0]
    >>> format_reward(['<DecisionMaking>fly away</DecisionMaking>'])
    [0.0]
    """
    n = len(completions)
    types = _column(kwargs, 'object_types', n)
    experts = _column(kwargs, 'expert_action', n)
    out = []
    for completion, row_types, expert in zip(completions, types, experts):
        action = parse_completion(completion_text(completion), _types_for(row_types, expert))
        out.append(1.0 if action is not None else 0.0)
    return out


def imitation_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the parsed action equals the expert's next action of the row.

    ``put X`` and ``put in X`` count as the same action (the metric's key).

    >>> imitation_reward(['<DecisionMaking>put in Fridge</DecisionMaking>'],
    ...                  expert_action=['put Fridge'])
    [1.0]
    """
    n = len(completions)
    experts = _column(kwargs, 'expert_action', n)
    types = _column(kwargs, 'object_types', n)
    out = []
    for completion, expert, row_types in zip(completions, experts, types):
        if not expert:
            out.append(0.0)
            continue
        action = parse_completion(completion_text(completion), _types_for(row_types, expert))
        try:
            target = Action.parse_canonical(expert)
        except ValueError:
            logger.debug('expert action %r is not canonical', expert)
            out.append(0.0)
            continue
        out.append(1.0 if action is not None and action.metric_key == target.metric_key
                   else 0.0)
    return out


@dataclass
class EnvRewardConfig:
    """Scores of the one-step online reward.

    Attributes:
        scenes_dir: where scene names are looked up (None: ``EGO_REASONER_DATA/scenes``).
        invalid: no parsable decision.
        failed: the simulator rejects the action.
        repeated: extra penalty when the action repeats the previous decision.
        key_progress: the action completes a key action not yet done.
        success: ``end`` once every other key action is done.
        premature_end: ``end`` before that.
        neutral: any other successful action.
    """

    scenes_dir: str | None = None
    invalid: float = -1.0
    failed: float = -0.5
    repeated: float = -0.25
    key_progress: float = 1.0
    success: float = 2.0
    premature_end: float = -1.0
    neutral: float = 0.0

    def __post_init__(self) -> None:
        if self.key_progress < 0 or self.success < 0:
            raise ValueError('key_progress and success must be >= 0')


def default_scenes_dir() -> str | None:
    """``EGO_REASONER_DATA/scenes`` (or the fetched data's), None when there is none."""
    from ego_reasoner_ros.core import data_store

    try:
        return str(data_store.scenes_dir(data_store.resolve_data_dir()))
    except (OSError, ValueError) as exc:
        logger.debug('no default scenes folder: %s', exc)
        return None


class EnvReward:
    """One-step online reward in the embedded simulator.

    For each completion: reset :class:`~ego_reasoner_ros.sim_bridge.embedded.EmbeddedSim`
    to the row's scene and task (``scene``, ``task`` columns), replay the row's
    ``history_actions`` (the expert decisions before this turn; the simulator is
    deterministic, so this restores the exact state), execute the proposed action and score
    it: ``invalid`` for no parsable decision, ``failed`` when the simulator rejects it,
    ``key_progress`` when it completes a key action (``key_actions`` column or the task's
    ``task_metadata.actions``) not completed by the history, ``success`` for ``end`` once
    every other key action is done (navigation included), ``premature_end`` for an earlier
    ``end``, ``neutral`` otherwise;
    ``repeated`` is added when the action equals the previous decision. Rows without a
    scene score ``neutral`` for any valid action (``invalid`` otherwise). Multi-step
    rollouts are left to the evaluator.
    """

    __name__ = 'env_reward'

    def __init__(self, config: EnvRewardConfig | None = None) -> None:
        self.config = config or EnvRewardConfig()
        self._states: dict[tuple, Any] = {}

    def _scenes_dir(self) -> str | None:
        return self.config.scenes_dir or default_scenes_dir()

    def _sim(self, scene: str, task: dict[str, Any], history: list[str]):
        from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

        sim = make_sim(SimConfig(render=False, scenes_dir=self._scenes_dir()))
        sim.reset(options={'scene': scene, 'task': task})
        for past in history:
            sim.step(past)
        return sim

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        """Score ``completions`` (TRL reward signature)."""
        from ego_reasoner_ros.training.metrics import key_actions

        cfg = self.config
        n = len(completions)
        cols = {name: _column(kwargs, name, n) for name in (
            'scene', 'task', 'key_actions', 'history_actions', 'object_types',
            'expert_action')}
        out = []
        for i, completion in enumerate(completions):
            history = [h for h in _json_list(cols['history_actions'][i]) if isinstance(h, str)]
            scene = cols['scene'][i]
            task = cols['task'][i]
            task = json.loads(task) if isinstance(task, str) else (task or {})
            types = _types_for(cols['object_types'][i], cols['expert_action'][i])
            sim = None
            if scene:
                sim = self._sim(scene, task, history)
                types = list(dict.fromkeys(list(sim.scene_types()) + types))
            action = parse_completion(completion_text(completion), types)
            if action is None:
                out.append(cfg.invalid)
                continue
            penalty = cfg.repeated if history and history[-1] == str(action) else 0.0
            if sim is None:
                out.append(cfg.neutral + penalty)
                continue
            keys = _json_list(cols['key_actions'][i])
            if not keys and isinstance(task.get('task_metadata'), dict):
                keys = key_actions(task['task_metadata'].get('actions', []))
            remaining = list(keys)
            for past in history:
                try:
                    key = Action.parse_canonical(past).metric_key
                except ValueError:
                    continue
                if key in remaining:
                    remaining.remove(key)
            _obs, _r, _term, _trunc, info = sim.step(str(action))
            sim.close()
            if not info.get('success'):
                out.append(cfg.failed + penalty)
            elif str(action) == 'end':
                done = bool(keys) and not [k for k in remaining if k != 'end']
                out.append((cfg.success if done else cfg.premature_end) + penalty)
            elif action.metric_key in remaining:
                out.append(cfg.key_progress + penalty)
            else:
                out.append(cfg.neutral + penalty)
        return out


def env_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """:class:`EnvReward` with the default configuration (TRL reward signature)."""
    return EnvReward()(completions, **kwargs)


#: Names usable in training configs.
REWARD_FUNCTIONS = {'format': format_reward, 'imitation': imitation_reward,
                    'env': env_reward}


def get_reward(name: str, **options: Any):
    """A reward function by name: ``format``, ``imitation``, ``env``, ``rollout``.

    ``rollout`` (:class:`~ego_reasoner_ros.training.rollout_reward.RolloutReward`) needs
    options (at least ``tasks``) and a model bound before it is called. A removed reward
    (``planning``) raises :class:`~ego_reasoner_ros.training.experts.RemovedOptionError`.
    """
    check_removed(f'reward {name}')
    if name == 'env' and options:
        return EnvReward(EnvRewardConfig(**options))
    if name == 'rollout':
        from ego_reasoner_ros.training.rollout_reward import RolloutReward, RolloutRewardConfig

        return RolloutReward(RolloutRewardConfig(**options))
    try:
        return REWARD_FUNCTIONS[name]
    except KeyError:
        choices = sorted([*REWARD_FUNCTIONS, 'rollout'])
        raise ValueError(f'unknown reward {name!r}; choose from {choices}') from None
