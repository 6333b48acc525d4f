# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scored-episode runner: one policy, one task, one simulator, then the scores.

:func:`run_scored_episode` is the only place that runs "an episode in the simulator and
scores it". Evaluation (``evaluate``), data-engine judging (``datagen``), the dataset check
(``check_dataset``), the rollout reward and the harvest (``rollout_reward``, ``harvest``)
and the task generator's winnability check (``taskgen``) are each a few lines around it.

What varies between benchmarks is an :class:`EpisodeProtocol`: the loop's caps and parser
(:class:`~ego_reasoner_ros.core.loop.LoopConfig`), the loop itself, the scorer and the
strict goal. The simulator comes from :func:`~ego_reasoner_ros.sim_bridge.registry.make_sim`
(its :class:`~ego_reasoner_ros.sim_bridge.registry.SimConfig` picks the derived-state rule
set, ``rules``); the world state leaves the episode through the environment
(:attr:`SimStepEnvironment.world`, :attr:`SimStepEnvironment.initial`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.loop import EpisodeError, LoopConfig, run_episode
from ego_reasoner_ros.core.parser import ParserMode
from ego_reasoner_ros.core.policy import Policy
from ego_reasoner_ros.core.prompts import PromptBuilder
from ego_reasoner_ros.training import goals
from ego_reasoner_ros.training.metrics import ERScore, score_trajectory
from ego_reasoner_ros.training.sim_env import SimStepEnvironment


def score_er(entries: Sequence[Mapping[str, Any]], task: Any) -> ERScore:
    """The Embodied-Reasoner metric of a trajectory against the task's key actions."""
    return score_trajectory(entries, task.key_actions, tasktype=task.tasktype,
                            taskname=task.taskname)


#: ``(policy, env, instruction, task_type, **loop keywords) -> EpisodeRecord``.
EpisodeLoop = Callable[..., EpisodeRecord]


@dataclass(frozen=True)
class EpisodeProtocol:
    """How an episode is run and scored.

    Attributes:
        name: the protocol's name (for records and reports).
        loop_config: the loop's caps (step budget, invalid streak, repeats) and parser mode.
        loop: the episode loop (:func:`~ego_reasoner_ros.core.loop.run_episode` for ER).
        score: ``(trajectory entries, task) -> score`` (the ER metric by default).
        goal: ``task -> goal`` for the strict check; None skips it.
        check_goal: ``(goal, world, initial state) -> result`` of the strict check.
    """

    name: str = 'embodied-reasoner'
    loop_config: LoopConfig = field(default_factory=LoopConfig)
    loop: EpisodeLoop = run_episode
    score: Callable[[Sequence[Mapping[str, Any]], Any], Any] = score_er
    goal: Callable[[Any], Any] | None = goals.goal_for_task
    check_goal: Callable[[Any, Any, Any], goals.GoalResult] = goals.check_goal

    def with_parser(self, mode: ParserMode | str) -> EpisodeProtocol:
        """The same protocol with another parser mode."""
        return replace(self, loop_config=replace(self.loop_config,
                                                 parser_mode=ParserMode(mode)))


#: The Embodied-Reasoner protocol (er-protocol.md): strict parsing, the reference's caps.
ER_PROTOCOL = EpisodeProtocol()


@dataclass
class ScoredEpisode:
    """One finished (or failed) episode and its scores.

    Attributes:
        record: the episode record (partial when the loop raised).
        error: the loop's error message, None when the episode ran to its end.
        exception: the :class:`~ego_reasoner_ros.core.loop.EpisodeError` behind ``error``.
        score: the protocol's score (None after an error).
        strict: the strict goal check (None after an error, without a goal, or when the
            simulator exposes no world state).
        initial: the world state captured at reset (None without a world).
        world: the simulator's world at the end (None when it exposes none).
    """

    record: EpisodeRecord
    error: str | None = None
    exception: EpisodeError | None = None
    score: Any = None
    strict: goals.GoalResult | None = None
    initial: goals.InitialState | None = None
    world: Any = None

    def raise_error(self) -> ScoredEpisode:
        """Re-raise the loop's error, if any; else return self."""
        if self.exception is not None:
            raise self.exception
        return self


def run_scored_episode(policy: Policy, task: Any, sim: Any, *,
                       protocol: EpisodeProtocol = ER_PROTOCOL, scene: Any = None,
                       scenes_dir: Any = None, agent_positions: Mapping[str, Any] | None = None,
                       seed: int | None = None, episode_id: str | None = None,
                       builder: PromptBuilder | None = None, strict: bool = True,
                       score: bool = True) -> ScoredEpisode:
    """Run ``policy`` on ``task`` in ``sim`` (from ``make_sim``), then score the episode.

    Args:
        policy: the policy (it gets the world state when it declares ``needs_world``).
        task: a :class:`~ego_reasoner_ros.training.tasks.Task` (instruction, type, keys).
        sim: the simulator backend; reset to the task here.
        protocol: caps, parser, loop, scorer and strict goal.
        scene: the scene given to the simulator (a name, a path or a ``Scene``); default:
            ``task.scene``. The record always names ``task.scene``.
        scenes_dir, agent_positions: passed to the simulator's reset.
        seed: the simulator's and the policy's reset seed.
        episode_id: the record's id (default: random).
        builder: the prompt builder (default: from the policy's ``prompt_config``).
        strict: run the strict goal check (``protocol.goal`` must be set).
        score: compute the protocol's score.

    Raises:
        DataError: when the task's strict goal cannot be derived (before anything runs).
        Any exception of the simulator's reset; an :class:`EpisodeError` of the loop is
        returned in ``error`` (:meth:`ScoredEpisode.raise_error` re-raises it).
    """
    check = strict and protocol.goal is not None
    goal = protocol.goal(task) if check else None
    env = SimStepEnvironment(sim, scene=task.scene if scene is None else scene,
                             scenes_dir=scenes_dir, task=task.sim_task(),
                             agent_positions=agent_positions, seed=seed, track_initial=check)
    try:
        record = protocol.loop(policy, env, task.instruction, task.tasktype,
                               config=protocol.loop_config, builder=builder, seed=seed,
                               episode_id=episode_id, scene=task.scene)
    except EpisodeError as exc:
        return ScoredEpisode(exc.record, str(exc.record.metadata.get('error') or exc), exc,
                             initial=env.initial, world=env.world)
    out = ScoredEpisode(record, initial=env.initial, world=env.world)
    if score:
        out.score = protocol.score(record.trajectory_entries(), task)
    if check and out.world is not None:
        out.strict = protocol.check_goal(goal, out.world, out.initial)
    return out
