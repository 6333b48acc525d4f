# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scored-episode runner: one function, the protocol and the rule set as parameters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ego_reasoner_ros.core.loop import LoopConfig
from ego_reasoner_ros.core.policy import ScriptedPolicy
from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.training.episode_runner import (
    ER_PROTOCOL,
    EpisodeProtocol,
    run_scored_episode,
)
from ego_reasoner_ros.training.expert import ExpertPolicy
from ego_reasoner_ros.training.goals import check_goal, goal_for_task
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks
from ego_reasoner_ros.training.tasks import Task


@pytest.fixture(scope='module')
def tasks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = tmp_path_factory.mktemp('proc')
    generate_scenes(root, 3, 7, ReceptacleCompat.builtin())
    return generate_tasks([root], TaskGenConfig(seed=1, tasks_per_scene=12)).tasks


def _pick(tasks: list[dict], tasktype: str) -> tuple[Task, Path]:
    rec = next(t for t in tasks if t['tasktype'] == tasktype)
    return Task.from_dict(rec), Path(rec['scene_path'])


def test_expert_episode_is_scored_with_the_world_from_the_environment(tasks):
    task, scene = _pick(tasks, 'pickup_and_put')
    sim = make_sim(SimConfig(render=False))
    run = run_scored_episode(ExpertPolicy(), task, sim, scene=scene, seed=0)
    assert run.error is None and run.record.terminated_by == 'end'
    assert run.score.success == 1 and run.score.completeness == 1.0
    assert run.strict is not None and run.strict.success
    # the initial state came through the environment at reset: the target was elsewhere then
    assert run.initial is not None and run.world is sim.world
    assert check_goal(goal_for_task(task), run.world, run.initial).success
    # without the strict check nothing is captured
    plain = run_scored_episode(ExpertPolicy(), task, sim, scene=scene, seed=0,
                               strict=False)
    assert plain.strict is None and plain.initial is None
    assert [str(s.action) for s in plain.record.steps] == \
        [str(s.action) for s in run.record.steps]


def test_protocol_caps_parser_and_scorer_are_parameters(tasks):
    task, scene = _pick(tasks, 'pickup_and_put')
    sim = make_sim(SimConfig(render=False))
    end = '<DecisionMaking>end</DecisionMaking>'
    keys = [f"<DecisionMaking>{k}</DecisionMaking>" for k in task.key_actions
            if not k.startswith('end')] + [end]
    # a step budget of 2 leaves one action before the loop closes the episode
    capped = replace(ER_PROTOCOL, loop_config=LoopConfig(max_steps=2))
    run = run_scored_episode(ScriptedPolicy(keys), task, sim, scene=scene,
                             protocol=capped)
    assert run.record.step_count == 2 and run.record.terminated_by == 'max_steps'
    assert not run.score.success
    # an upper-case verb is invalid in strict parsing, accepted in lenient parsing
    shout = ['<DecisionMaking>NAVIGATE TO ' + task.key_actions[0].split(' ', 2)[-1]
             + '</DecisionMaking>', end]
    strict = run_scored_episode(ScriptedPolicy(shout), task, sim, scene=scene)
    lenient = run_scored_episode(ScriptedPolicy(shout), task, sim, scene=scene,
                                 protocol=ER_PROTOCOL.with_parser('lenient'))
    n_valid = [sum(1 for s in r.record.steps if s.executed) for r in (strict, lenient)]
    assert n_valid[1] > n_valid[0]
    # the scorer is the protocol's: a count of executed steps instead of the ER metric
    counting = EpisodeProtocol(name='count', score=lambda entries, _task: len(entries),
                               goal=None)
    run = run_scored_episode(ScriptedPolicy(keys), task, sim, scene=scene,
                             protocol=counting)
    assert run.score == len(run.record.trajectory_entries()) and run.strict is None


def test_loop_errors_come_back_with_the_partial_record(tasks):
    task, scene = _pick(tasks, 'single_search')

    class Broken(ScriptedPolicy):
        def act(self, inp):
            raise RuntimeError('boom')

    run = run_scored_episode(Broken([]), task, make_sim(SimConfig(render=False)),
                             scene=scene)
    assert run.error and 'boom' in run.error and run.record.terminated_by == 'error'
    assert run.score is None and run.strict is None
    with pytest.raises(Exception, match='boom'):
        run.raise_error()


def test_the_rule_set_is_a_simulator_setting(tasks):
    task, scene = _pick(tasks, 'single_search')
    with pytest.raises(ValueError, match='rule set'):
        SimConfig(rules='physics')
    for rules in ('er', 'alfred'):
        sim = make_sim(SimConfig(render=False, rules=rules))
        run = run_scored_episode(ExpertPolicy(), task, sim, scene=scene)
        assert sim.world.rules == rules and run.error is None
