# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The EB-ALFRED protocol loop, beside the ER loop of ``core.loop`` (a different protocol).

Each planner call returns a JSON plan; its actions run until the first failure or the end of
the episode, then the planner is asked again with the action history. The episode ends on
success, after ``max_steps`` (30) environment steps, after ``max_invalid`` (10) invalid
actions, or on an empty plan. A reply that does not parse (or whose first id is bad) counts
as one invalid action and one output error, and the planner is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import time
from typing import Any

from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.training.eb_alfred.data import Episode
from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
from ego_reasoner_ros.training.eb_alfred.planner import (
    EMPTY_PLAN,
    INVALID_PLAN,
    EBPromptBuilder,
    PromptSettings,
    parse_plan,
)

logger = logging.getLogger(__name__)


@dataclass
class EBLoopConfig:
    """Parser mode (``strict`` as EB, or ``lenient``) and the prompt settings."""

    parser: str = 'strict'
    prompt: PromptSettings | None = None
    max_planner_calls: int = 60

    def __post_init__(self) -> None:
        if self.parser not in ('strict', 'lenient'):
            raise ValueError(f'parser must be strict or lenient, got {self.parser!r}')
        if self.max_planner_calls < 1:
            raise ValueError('max_planner_calls must be >= 1')


def run_eb_episode(policy: Policy, env: EBAlfredEnv, episode: Episode,
                   config: EBLoopConfig | None = None) -> dict[str, Any]:
    """Run one episode; return EB's per-episode record."""
    cfg = config or EBLoopConfig()
    settings = cfg.prompt or PromptSettings(language_only=not env.render)
    t0 = time.perf_counter()
    obs = env.reset(episode)
    policy.reset(episode.instruction)
    eb_reset = getattr(policy, 'eb_reset', None)
    if callable(eb_reset):
        eb_reset(actions=env.actions, instances=dict(env.name_to_id),
                 high_pddl=episode.traj['plan']['high_pddl'])
    builder = EBPromptBuilder(env.spec, env.actions,
                              long_horizon=episode.subset == 'long_horizon', settings=settings)
    history: list[tuple[int, str]] = []
    steps: list[dict[str, Any]] = []
    planner_steps = output_errors = 0
    info: dict[str, Any] = {'task_success': 0.0, 'task_progress': env.goal()[0] / env.goal()[1]}
    done = False
    ended = 'max_steps'
    while not done:
        if planner_steps >= cfg.max_planner_calls:
            ended = 'planner_calls'
            break
        prompt = builder.build(episode.instruction, history)
        content: list[dict] = []
        if not settings.language_only and obs.get('head_rgb') is not None:
            content.append({'type': 'image', 'image': obs['head_rgb']})
        content.append({'type': 'text', 'text': prompt})
        inp = PolicyInput(messages=[{'role': 'user', 'content': content}],
                          images=[obs['head_rgb']] if obs.get('head_rgb') is not None else [],
                          instruction=episode.instruction, step=env.steps,
                          feedback=history[-1][1] if history else None)
        reply = policy.act(inp)
        planner_steps += 1
        plan, fmt_error = parse_plan(reply, len(env.actions), mode=cfg.parser,
                                     actions=env.actions)
        output_errors += int(fmt_error)
        if plan == EMPTY_PLAN:
            ended = 'empty_plan'
            break
        if plan == INVALID_PLAN:
            env.invalid += 1
            steps.append({'planner_step': planner_steps, 'action_id': None,
                          'feedback': 'invalid output', 'success': False})
            if env.invalid >= env.spec.max_invalid:
                ended = 'max_invalid'
                break
            continue
        assert isinstance(plan, list)
        for aid in plan[:max(env.spec.max_steps - env.steps, 0)]:
            obs, _r, done, info = env.step(aid)
            history.append((aid, info['env_feedback']))
            steps.append({'planner_step': planner_steps, 'action_id': aid,
                          'action': info['action_description'],
                          'feedback': info['env_feedback'],
                          'success': bool(info['last_action_success'])})
            if done or not info['last_action_success']:
                break
        if done:
            ended = ('success' if info['task_success'] else
                     'max_invalid' if env.invalid >= env.spec.max_invalid else 'max_steps')
        elif env.steps >= env.spec.max_steps:
            ended = 'max_steps'
            break
    s, ts = env.goal()
    return {
        'episode_id': episode.episode_id, 'subset': episode.subset, 'index': episode.index,
        'task': episode.task, 'repeat_idx': episode.repeat_idx,
        'task_type': episode.task_type, 'instruction': episode.instruction,
        'success': bool(s == ts), 'progress': s / ts, 'conditions': [s, ts],
        'num_steps': env.steps, 'planner_steps': planner_steps,
        'num_invalid_actions': env.invalid, 'output_errors': output_errors,
        'ended_by': ended, 'steps': steps, 'n_actions': len(env.actions),
        'policy_notes': list(getattr(policy, 'problems', []) or []),
        'scene_notes': {k: v for k, v in (env.world.notes if env.world else {}).items()},
        'seconds': time.perf_counter() - t0,
    }
