# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""One trajectory: run an expert of the registry on a task and judge the result.

A trajectory is kept only when the episode ends by the expert's ``end``, every action
succeeded (apart from the expert's deliberate probes), the evaluator's ER metric scores it a
success and the strict goal check holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.prompts import PromptBuilder, PromptConfig
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig
from ego_reasoner_ros.training import experts
from ego_reasoner_ros.training.episode_runner import ScoredEpisode, run_scored_episode
from ego_reasoner_ros.training.experts.engine import DataEnginePolicy, search_rank_for
from ego_reasoner_ros.training.tasks import Task


@dataclass
class Verdict:
    """Whether a trajectory is kept, and why not."""

    kept: bool
    reason: str = ''
    er_success: int = 0
    strict_success: bool = False
    n_failed_steps: int = 0


def sim_config(image_size: int, render: bool = True) -> SimConfig:
    """The data engine's simulator settings (three views after ``observe``)."""
    return SimConfig(width=image_size, height=image_size, render=render,
                     observe_composite=False)


def task_from_record(rec: dict[str, Any]) -> Task:
    """A :class:`Task` from a generated record (extra fields ignored)."""
    return Task.from_dict(rec)


#: Expert counters (``stats()`` keys) of deliberate failures: the engine's probes, the
#: sweep's unreachable places and mistaken pickups, the probe search's failed tries.
PLANNED_FAILURE_KEYS = ('probes', 'failed_navigations', 'mistaken_pickups', 'failed_probes')


def planned_failures(expert_stats: dict[str, Any]) -> int:
    """How many failed steps an expert made on purpose, from its ``stats()`` counters."""
    return sum(int(expert_stats.get(k, 0)) for k in PLANNED_FAILURE_KEYS)


def judge(run: ScoredEpisode, *, allowed_failures: int = 0) -> Verdict:
    """Apply the acceptance rules to a finished, scored episode.

    ``allowed_failures`` failed steps are accepted (the expert's deliberate probes).
    """
    record, score = run.record, run.score
    failed = max(0, sum(1 for s in record.steps if s.executed and not s.success)
                 - allowed_failures)
    strict = run.strict
    strict_ok = bool(strict is not None and strict.success)
    strict_msg = '; '.join(strict.failed) if strict is not None else 'no world state'
    reason = ''
    if record.terminated_by != 'end':
        reason = f'episode ended by {record.terminated_by}'
    elif failed:
        reason = f'{failed} failed step(s)'
    elif not score.success:
        reason = f'ER metric {score.reward}/{score.total}'
    elif not strict_ok:
        reason = f'strict goal failed: {strict_msg}'
    return Verdict(not reason, reason, score.success, strict_ok, failed)


def run_task(task: Task, sim: Any, *, seed: int, search_rank: int | None = None,
             scene: Any = None, compat: ReceptacleCompat | None = None,
             rewriter: Callable[[str], str] | None = None,
             episode_id: str | None = None,
             failure_prob: float = 0.0,
             expert: str = 'engine',
             prompt: PromptConfig | None = None) -> tuple[EpisodeRecord, Verdict]:
    """Run the expert on one task; return the record (metadata filled) and the verdict.

    ``expert`` names an entry of the registry (``training/experts``): ``'engine'``
    (:class:`DataEnginePolicy`) or one built on
    :class:`~ego_reasoner_ros.training.sweep.SweepExpertPolicy` with the entry's ``search``
    (``'sweep'``, ``'probe'``, ``'probe-look'``).
    """
    rank = search_rank_for(str(task.identity), seed) if search_rank is None else search_rank
    spec = experts.get_expert(expert)
    policy: DataEnginePolicy | Any
    if spec.search is not None:
        from ego_reasoner_ros.training.sweep import SweepExpertPolicy

        rank = 0
        view = getattr(getattr(sim, 'config', None), 'width', 112)
        policy = SweepExpertPolicy(task, compat=compat, failure_prob=failure_prob, seed=seed,
                                   search=spec.search, view_size=int(view))
    else:
        policy = DataEnginePolicy(task, search_rank=rank, seed=seed, compat=compat,
                                  rewriter=rewriter, failure_prob=failure_prob)
    run = run_scored_episode(policy, task, sim, scene=scene, seed=seed,
                             builder=PromptBuilder(prompt or PromptConfig()),
                             episode_id=episode_id or f'{task.identity}-v{rank}').raise_error()
    record = run.record
    verdict = judge(run, allowed_failures=planned_failures(policy.stats()))
    record.metadata.update({
        'task_identity': str(task.identity), 'taskname': task.taskname,
        'key_actions': list(task.key_actions), 'expert': policy.stats(),
        'er_success': verdict.er_success, 'strict_success': verdict.strict_success,
    })
    return record, verdict
