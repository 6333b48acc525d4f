# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The episode-return reward of GRPO: finish the episode with the policy being trained.

A one-step reward (:class:`~ego_reasoner_ros.training.rewards.EnvReward`) scores only the
action of a completion. In multi-turn episodes the thought matters as much: the plan it
carries ("what is left", "where to look next") is what the model reads back at every later
turn, and a completion with the right action but a garbled plan fails several steps later.

:class:`RolloutReward` scores a completion by what it leads to. For each completion it

1. resets the embedded simulator to the row's task with the data engine's seed, and
   replays the conversation of the prompt (the dataset's assistant replies, through the
   same episode loop, prompt builder and parser as the evaluator);
2. sends the completion as the next reply;
3. lets the current model (greedy, the full history in context) continue the episode for
   at most ``max_new_steps`` decisions, after which it ends;
4. returns ``success * er_success + completeness * er_completeness`` of the whole
   episode under the Embodied-Reasoner metric
   (:func:`~ego_reasoner_ros.training.metrics.score_trajectory`).

It needs the model, so :func:`~ego_reasoner_ros.training.grpo.run_grpo` calls
:meth:`RolloutReward.bind` with the trainer once it exists. Given the weights, the reward
is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import re
import time
from typing import Any

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.loop import EpisodeError
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.core.prompts import load_prompt_config
from ego_reasoner_ros.training.rewards import _column, completion_text, default_scenes_dir

logger = logging.getLogger(__name__)

_VARIANT_RE = re.compile(r'-v\d+$')


@dataclass
class RolloutRewardConfig:
    """Settings of :class:`RolloutReward`.

    Attributes:
        tasks: the task file of the dataset (the data engine's ``tasks.json``, or a list in
            the ``test_809.json`` format); rows are matched by ``identity``.
        scenes_dir: where scene names are looked up (None: the task file's
            ``config.scenes_dir``, then ``EGO_REASONER_DATA/scenes``).
        seed: simulator reset seed (None: the task file's ``config.seed``, else 0); the
            data engine's seed replays its trajectories exactly.
        image_size: rendered frame size (None: the task file's ``config.image_size``, else 448).
        max_new_steps: decisions of the model after the completion before the episode ends.
        max_new_tokens: tokens per continued decision.
        success: weight of the ER success (0 or 1).
        completeness: weight of the ER completeness (0..1).
    """

    tasks: str = ''
    scenes_dir: str | None = None
    seed: int | None = None
    image_size: int | None = None
    max_new_steps: int = 12
    max_new_tokens: int = 128
    success: float = 1.0
    completeness: float = 0.5

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError('rollout_reward.tasks must name the task file of the dataset')
        if self.max_new_steps < 0:
            raise ValueError('max_new_steps must be >= 0')
        if self.max_new_tokens < 1:
            raise ValueError('max_new_tokens must be >= 1')
        if self.success < 0 or self.completeness < 0:
            raise ValueError('success and completeness weights must be >= 0')


class ContinuationPolicy(Policy):
    """Replies from a script first, then from a model, for at most ``max_new_steps`` calls.

    Once the budget is spent it answers ``end``, so every episode is scored at a bounded
    cost.
    """

    name = 'continuation'

    def __init__(self, replies: Sequence[str], model_policy: Policy | None,
                 max_new_steps: int, *, reset_model: bool = False) -> None:
        self.replies = list(replies)
        self.model_policy = model_policy
        self.max_new_steps = max_new_steps
        self.reset_model = reset_model
        # a policy reset with the episode gets the world state if it reads it (an expert)
        self.needs_world = bool(reset_model and model_policy is not None
                                and model_policy.needs_world)
        self.model_calls = 0
        self._next = 0

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        # by default the model policy keeps its cache: the engine reuses only a matching
        # prefix, so completions of one prompt share the prefill of their common history;
        # a policy with episode state (an expert) is reset when it starts from the first turn
        if self.reset_model and self.model_policy is not None:
            self.model_policy.reset(instruction, seed=seed, world=world)
        self._next = 0
        self.model_calls = 0

    def act(self, inp: PolicyInput) -> str:
        if self._next < len(self.replies):
            self._next += 1
            return self.replies[self._next - 1]
        if self.model_policy is None or self.model_calls >= self.max_new_steps:
            return '<DecisionMaking>end</DecisionMaking>'
        self.model_calls += 1
        return self.model_policy.act(inp)


def _assistant_texts(prompt: Any) -> list[str]:
    if not isinstance(prompt, list):
        return []
    out = []
    for msg in prompt:
        if isinstance(msg, dict) and msg.get('role') == 'assistant':
            out.append(completion_text([msg]))
    return out


class RolloutReward:
    """Episode-return reward (see the module docstring); TRL reward signature."""

    __name__ = 'rollout_reward'

    def __init__(self, config: RolloutRewardConfig) -> None:
        from ego_reasoner_ros.training.tasks import Task

        self.config = config
        path = Path(config.tasks)
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f'rollout reward: cannot read task file {path}: {exc}') from None
        meta = data.get('config', {}) if isinstance(data, dict) else {}
        entries = data.get('tasks', []) if isinstance(data, dict) else data
        if not isinstance(entries, list) or not entries:
            raise DataError(f'rollout reward: {path} holds no tasks')
        self.tasks = {str(e['identity']): Task.from_dict(e, i) for i, e in enumerate(entries)
                      if isinstance(e, dict) and 'identity' in e}
        # where each task's scene is (the data engine records it; procedural scenes live
        # beside the task file)
        self.scene_paths = {str(e['identity']): e['scene_path'] for e in entries
                            if isinstance(e, dict) and e.get('scene_path')}
        self._procedural = path.parent / 'procedural_scenes'
        # the data engine's prompt wording, so the replay rebuilds the prompts exactly
        self.prompt_config = load_prompt_config(path.parent)
        self.seed = config.seed if config.seed is not None else int(meta.get('seed') or 0)
        self.image_size = config.image_size or int(meta.get('image_size') or 448)
        self.scenes_dir = config.scenes_dir or meta.get('scenes_dir') or default_scenes_dir()
        self._sim = None
        self._trainer = None
        self._policy: Policy | None = None
        self.calls = 0
        self.seconds = 0.0
        self.model_decisions = 0  # decisions the bound model made in continuations

    def bind(self, trainer: Any = None, *, policy: Policy | None = None) -> None:
        """Continue episodes with ``trainer``'s model (greedy) or with a given ``policy``."""
        self._trainer = trainer
        self._policy = policy

    def _model_policy(self) -> tuple[Policy | None, Any]:
        if self._policy is not None or self._trainer is None:
            return self._policy, None
        from ego_reasoner_ros.training.backends.generation import GenerationSettings
        from ego_reasoner_ros.training.backends.hf import HFEngine, HFPolicy

        trainer = self._trainer
        model = trainer.accelerator.unwrap_model(trainer.model) \
            if getattr(trainer, 'accelerator', None) is not None else trainer.model
        engine = HFEngine(model, trainer.processing_class,
                          GenerationSettings(do_sample=False,
                                             max_new_tokens=self.config.max_new_tokens))
        return HFPolicy(engine, name='rollout'), model

    def _task(self, identity: Any):
        key = str(identity)
        task = self.tasks.get(key) or self.tasks.get(_VARIANT_RE.sub('', key))
        if task is None:
            raise DataError(f'rollout reward: identity {key!r} is not in {self.config.tasks}')
        return task

    def scene_for(self, task: Any) -> Any:
        """The scene folder of ``task`` (its recorded path, else its name)."""
        recorded = self.scene_paths.get(str(task.identity))
        if recorded and Path(recorded).is_dir():
            return recorded
        if self._procedural.is_dir():
            found = [d for d in self._procedural.rglob(task.scene) if d.is_dir()]
            if found:
                return str(found[0])
        return task.scene

    def _simulator(self):
        if self._sim is None:
            from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

            self._sim = make_sim(SimConfig(width=self.image_size, height=self.image_size,
                                           scenes_dir=self.scenes_dir,
                                           observe_composite=False))
        return self._sim

    def run(self, task: Any, replies: Sequence[str], model_policy: Policy | None,
            *, max_new_steps: int | None = None, reset_model: bool = False) -> tuple[Any, Any]:
        """Run one episode (scripted ``replies``, then the model).

        ``reset_model`` resets ``model_policy`` with the episode (needed by policies with
        episode state, such as the experts, when there are no scripted replies).

        Returns the :class:`~ego_reasoner_ros.core.episode.EpisodeRecord` (frames included)
        and its ER score (:class:`~ego_reasoner_ros.training.metrics.ERScore`).

        Raises:
            EpisodeError: when the episode cannot run (a scene or simulator failure).
        """
        from ego_reasoner_ros.training.episode_runner import run_scored_episode

        budget = self.config.max_new_steps if max_new_steps is None else max_new_steps
        policy = ContinuationPolicy(replies, model_policy, budget, reset_model=reset_model)
        policy.prompt_config = self.prompt_config
        run = run_scored_episode(policy, task, self._simulator(), scene=self.scene_for(task),
                                 scenes_dir=self.scenes_dir, seed=self.seed,
                                 episode_id=str(task.identity), strict=False).raise_error()
        record, er = run.record, run.score
        self.model_decisions += policy.model_calls
        record.metadata['model_calls'] = policy.model_calls
        return record, er

    def episode_score(self, task: Any, replies: Sequence[str],
                      model_policy: Policy | None) -> tuple[float, dict[str, Any]]:
        """Run one episode (scripted ``replies`` then the model); its reward and figures."""
        try:
            record, er = self.run(task, replies, model_policy)
        except EpisodeError as exc:
            logger.warning('rollout of %s failed: %s', task.identity, exc)
            return 0.0, {'error': str(exc)}
        reward = self.config.success * er.success + self.config.completeness * er.completeness
        return reward, {'success': er.success, 'completeness': er.completeness,
                        'model_calls': record.metadata['model_calls'],
                        'terminated_by': record.terminated_by}

    def __call__(self, completions: Sequence[Any], prompts: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float]:
        """Score ``completions`` (TRL reward signature; needs ``prompts`` and ``identity``)."""
        start = time.perf_counter()
        n = len(completions)
        identities = _column(kwargs, 'identity', n)
        prompts = list(prompts) if prompts is not None else [None] * n
        model_policy, model = self._model_policy()
        was_training = bool(getattr(model, 'training', False))
        if model is not None:
            model.eval()
        try:
            out = []
            for completion, prompt, identity in zip(completions, prompts, identities):
                if identity is None:
                    raise DataError('rollout reward: the dataset rows need an identity column')
                replies = _assistant_texts(prompt) + [completion_text(completion)]
                reward, _info = self.episode_score(self._task(identity), replies, model_policy)
                out.append(reward)
        finally:
            if model is not None and was_training:
                model.train()
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return out
