# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The sweep expert: a fixed, view-driven search whose trajectories replay to success."""

from __future__ import annotations

from pathlib import Path
import random
import re

import pytest

from ego_reasoner_ros.core.actions import Verb
from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import make_sim
from ego_reasoner_ros.training import dataset_formats, datagen, judging, metrics
from ego_reasoner_ros.training.check_dataset import replay_episode
from ego_reasoner_ros.training.sweep import SWEEP_ORDER, sweep_places
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks


def _sim(size: int, render: bool = True):
    """A data-engine simulator (the engine's settings)."""
    return make_sim(judging.sim_config(size, render=render))


TAG_RE = re.compile(r'^(?:<(Observation|Planning|Thinking|Reflection|Verification)>[^<]+'
                    r'</\1>)+<DecisionMaking>[^<\n]+</DecisionMaking>$')


def test_sweep_places_order() -> None:
    compat = ReceptacleCompat.builtin()
    places = sweep_places('Apple', compat)
    assert places[0] == 'Apple'
    allowed = {'SinkBasin' if r == 'Sink' else r for r in compat.receptacles_for('Apple')}
    assert set(places[1:]) <= allowed
    assert not {'Pot', 'Pan', 'Bowl', 'Plate'} & set(places)
    ranked = [p for p in places[1:] if p in SWEEP_ORDER]
    assert ranked == sorted(ranked, key=SWEEP_ORDER.index)
    assert places[1] == 'CounterTop'


@pytest.fixture(scope='module')
def world_tasks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = tmp_path_factory.mktemp('sweep_scenes')
    generate_scenes(root, 8, 33, ReceptacleCompat.builtin())
    ts = generate_tasks([root], TaskGenConfig(seed=5, tasks_per_scene=25))
    rng = random.Random(0)
    by_type: dict[str, list[dict]] = {}
    for t in ts.tasks:
        by_type.setdefault(t['tasktype'], []).append(t)
    return [t for items in by_type.values() for t in rng.sample(items, min(4, len(items)))]


def test_sweep_trajectories_succeed_and_search_only_present_places(world_tasks) -> None:
    sim, replay_sim = _sim(64), _sim(64, render=False)
    compat = ReceptacleCompat.builtin()
    kept = 0
    searched = 0
    for rec in world_tasks:
        task = judging.task_from_record(rec)
        record, verdict = judging.run_task(task, sim, seed=0, scene=rec['scene_path'],
                                           compat=compat, expert='sweep')
        if not verdict.kept:
            continue
        kept += 1
        score = metrics.score_trajectory(record.trajectory_entries(), task.key_actions,
                                         tasktype=task.tasktype, taskname=task.taskname)
        assert score.success == 1
        steps = record.model_steps
        assert steps[0].raw_output.startswith('<Planning>Plan: ')
        for step in steps:
            assert TAG_RE.match(step.raw_output), step.raw_output
        failed = [s for s in record.steps if s.executed and not s.success]
        # the only failures are navigations to places not reachable yet, each reflected on
        assert all(s.action.verb == Verb.NAVIGATE_TO for s in failed)
        assert len(failed) == record.metadata['expert']['failed_navigations']
        for k, s in enumerate(record.steps):
            if s in failed and k + 1 < len(record.steps) and record.steps[k + 1].from_model:
                assert '<Reflection>' in record.steps[k + 1].raw_output
        # navigation targets of the first search follow the fixed order, within the room
        scene_types = set(sim.world.scene_types()) if hasattr(sim, 'world') else None
        navs = [s.action.target for s in record.steps
                if s.action is not None and s.action.verb == Verb.NAVIGATE_TO]
        if task.tasktype in ('single_pickup', 'single_search') and navs:
            target = task.related_objects[0].split('|', 1)[0]
            order = sweep_places(target, compat)
            if all(n in order for n in navs):
                searched += 1
                assert [order.index(n) for n in navs] == sorted(order.index(n) for n in navs)
            if scene_types is not None:
                assert set(navs) <= scene_types
        assert replay_episode(record, rec, replay_sim) == []
    assert kept >= 0.9 * len(world_tasks)
    assert searched > 0


def test_datagen_config_rejects_unknown_expert(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='expert'):
        datagen.DatagenConfig(out_dir=tmp_path, procedural=1, expert='oracle')


def test_mistaken_pickups_fail_and_the_search_goes_on(world_tasks) -> None:
    sim, replay_sim = _sim(64), _sim(64, render=False)
    compat = ReceptacleCompat.builtin()
    mistakes = 0
    for rec in world_tasks:
        task = judging.task_from_record(rec)
        record, verdict = judging.run_task(task, sim, seed=0, scene=rec['scene_path'],
                                           compat=compat, expert='sweep', failure_prob=1.0)
        if not verdict.kept:
            continue
        n = record.metadata['expert']['mistaken_pickups']
        failed = [k for k, s in enumerate(record.steps) if s.executed and not s.success]
        wrong = [k for k in failed if record.steps[k].action.verb == Verb.PICKUP]
        assert len(wrong) == n
        for k in wrong:
            # the pickup came right after reaching a place, and the next reply reflects on it
            assert record.steps[k - 1].action.verb == Verb.NAVIGATE_TO
            assert record.steps[k - 1].success
            nxt = record.steps[k + 1]
            assert '<Reflection>' in nxt.raw_output
            assert nxt.action.verb == Verb.NAVIGATE_TO
            assert nxt.action.target != record.steps[k - 1].action.target
        mistakes += n
        score = metrics.score_trajectory(record.trajectory_entries(), task.key_actions,
                                         tasktype=task.tasktype, taskname=task.taskname)
        assert score.success == 1
        assert replay_episode(record, rec, replay_sim) == []
    assert mistakes > 0
    with pytest.raises(ValueError, match='failure_prob'):
        from ego_reasoner_ros.training.sweep import SweepExpertPolicy
        SweepExpertPolicy(judging.task_from_record(world_tasks[0]), failure_prob=2.0)


def _instruction_episodes(spec: str, world_tasks: list[dict]):
    """Run the policy ``spec`` on each task from its instruction alone.

    Yields ``(policy, task, record, success)`` right after each episode, while the policy
    still holds that episode's plan.
    """
    from ego_reasoner_ros.core.loop import LoopConfig, run_episode
    from ego_reasoner_ros.core.policy import make_policy
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers 'sweep', 'probe')
    from ego_reasoner_ros.training.sim_env import SimStepEnvironment

    sim = _sim(64, render=False)
    policy = make_policy(spec)
    for rec in world_tasks:
        task = judging.task_from_record(rec)
        env = SimStepEnvironment(sim, scene=rec['scene_path'], task=task.sim_task(), seed=0)
        record = run_episode(policy, env, task.instruction, task.tasktype, config=LoopConfig(),
                             seed=0, episode_id=str(task.identity), scene=task.scene)
        score = metrics.score_trajectory(record.trajectory_entries(), task.key_actions,
                                         tasktype=task.tasktype, taskname=task.taskname)
        yield policy, task, record, score.success


def test_instruction_sweep_plans_from_the_instruction_and_succeeds(world_tasks) -> None:
    """``sweep`` (the graph's policy) reads no task record, yet solves the generated tasks."""
    successes = 0
    for policy, _task, record, success in _instruction_episodes('sweep', world_tasks):
        successes += success
        steps = record.model_steps
        assert steps[0].raw_output.startswith('<Planning>Plan: ')
        for step in steps:
            assert TAG_RE.match(step.raw_output), step.raw_output
        # the plan it wrote names the Types its key actions act on
        planned = {a.target for a in policy.keys if a.verb in (Verb.PICKUP, Verb.TOGGLE)}
        assert all(t in steps[0].raw_output for t in planned)
    assert successes >= 0.9 * len(world_tasks)


def test_instruction_sweep_spec_errors() -> None:
    from ego_reasoner_ros.core.policy import make_policy
    import ego_reasoner_ros.training.policies  # noqa: F401

    with pytest.raises(ValueError, match='sweep:P'):
        make_policy('sweep:often')
    with pytest.raises(ValueError, match='failure_prob'):
        make_policy('sweep:1.5')
    with pytest.raises(ValueError, match='world'):
        make_policy('sweep').reset('Find the apple.')


# ------------------------------------------------------------------ the probe search
def _decision(text: str) -> str:
    return re.search(r'<DecisionMaking>(.*?)</DecisionMaking>', text).group(1)


def test_room_kind_and_probe_places() -> None:
    from ego_reasoner_ros.training.sweep import KIND_PLACES, probe_places, room_kind

    assert room_kind(['Toilet', 'SinkBasin']) == 'bathroom'
    assert room_kind(['Bed', 'Desk']) == 'bedroom'
    assert room_kind(['Fridge', 'CounterTop']) == 'kitchen'
    assert room_kind(['Sofa', 'CoffeeTable']) == 'living room'
    compat = ReceptacleCompat.builtin()
    for kind, usual in KIND_PLACES.items():
        places = probe_places('Apple', kind, compat)
        assert places[0] == 'Apple'
        assert sorted(places[1:]) == sorted(sweep_places('Apple', compat)[1:])
        # the places usual in a room of this kind come first, in the sweep's order
        n_usual = sum(p in usual for p in places[1:])
        assert all(p in usual for p in places[1:1 + n_usual])
    assert probe_places('Apple', 'kitchen', compat)[1] == 'CounterTop'
    bedroom = probe_places('CellPhone', 'bedroom', compat)
    assert bedroom.index('Desk') < bedroom.index('CounterTop')


def test_probe_search_decides_from_outcomes_only(world_tasks) -> None:
    """Every failure is a probe the expert counted; after one, the next command moves on."""
    sim, replay_sim = _sim(64), _sim(64, render=False)
    compat = ReceptacleCompat.builtin()
    kept = probes = 0
    for rec in world_tasks:
        task = judging.task_from_record(rec)
        record, verdict = judging.run_task(task, sim, seed=0, scene=rec['scene_path'],
                                           compat=compat, expert='probe')
        if not verdict.kept:
            continue
        kept += 1
        score = metrics.score_trajectory(record.trajectory_entries(), task.key_actions,
                                         tasktype=task.tasktype, taskname=task.taskname)
        assert score.success == 1
        steps = record.model_steps
        assert re.match(r'<Planning>Room: (kitchen|living room|bedroom|bathroom)\. Plan: ',
                        steps[0].raw_output), steps[0].raw_output
        for step in steps:
            assert TAG_RE.match(step.raw_output), step.raw_output
        stats = record.metadata['expert']
        failed = [k for k, s in enumerate(record.steps) if s.executed and not s.success]
        assert len(failed) == stats['failed_navigations'] + stats['failed_probes']
        # the dataset card's reflection share reads the failures' reflections
        assert dataset_formats.reflects_after_failure(record) == bool(failed)
        probes += len(failed)
        for k in failed:
            # a failed command is never simply repeated
            nxt = record.steps[k + 1] if k + 1 < len(record.steps) else None
            if nxt is not None and nxt.from_model:
                assert _decision(nxt.raw_output) != _decision(record.steps[k].raw_output)
        assert replay_episode(record, rec, replay_sim) == []
    assert kept >= 0.85 * len(world_tasks)
    assert probes > 0


def test_probe_policy_spec_solves_tasks_from_the_instruction(world_tasks) -> None:
    from ego_reasoner_ros.core.policy import make_policy

    successes = sum(success for *_, success in _instruction_episodes('probe', world_tasks))
    assert successes >= 0.85 * len(world_tasks)
    with pytest.raises(ValueError, match='probe takes no argument'):
        make_policy('probe:1')
    with pytest.raises(ValueError, match='search must be one of'):
        from ego_reasoner_ros.training.sweep import SweepExpertPolicy
        SweepExpertPolicy(judging.task_from_record(world_tasks[0]), search='peek')


@pytest.mark.parametrize('expert, entry', [('probe-segment', 'Session 6'),
                                           ('probe-numbered', 'Session 7')])
def test_removed_experts_name_the_training_log_entry(tmp_path: Path, capsys, expert: str,
                                                     entry: str) -> None:
    from ego_reasoner_ros.cli.main import main
    from ego_reasoner_ros.training.experts import RemovedOptionError

    with pytest.raises(RemovedOptionError, match=f'docs/training-log.md, "{entry}"'):
        datagen.DatagenConfig(out_dir=tmp_path, procedural=1, expert=expert)
    with pytest.raises(SystemExit) as exit_:
        main(['datagen', '--out', str(tmp_path / 'd'), '--procedural', '1', '--expert', expert])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f'--expert {expert} was removed' in err and entry in err
    assert not (tmp_path / 'd').exists()


def test_look_search_says_what_the_frame_shows_and_acts_on_it(world_tasks) -> None:
    """``probe-look``: every "I see X" / "No X in view" is true of the frame it was given."""
    from ego_reasoner_ros.core.loop import LoopConfig, run_episode
    from ego_reasoner_ros.core.policy import PolicyWrapper
    from ego_reasoner_ros.training.sim_env import SimStepEnvironment
    from ego_reasoner_ros.training.sweep import LOOK_MIN_FRACTION, SweepExpertPolicy

    sim, replay_sim = _sim(64), _sim(64, render=False)
    threshold = LOOK_MIN_FRACTION * 64 * 64
    compat = ReceptacleCompat.builtin()

    class FrameTap(PolicyWrapper):
        """Pairs every reply with the pixels per Type of the frame the policy was shown."""

        def __init__(self, inner):
            super().__init__(inner)
            self.seen: list[tuple[str, dict[str, int]]] = []

        def act(self, inp):
            pixels = sim.type_pixels()
            reply = self.inner.act(inp)
            self.seen.append((reply, pixels))
            return reply

    kept = seen = unseen = 0
    for rec in world_tasks:
        task = judging.task_from_record(rec)
        tap = FrameTap(SweepExpertPolicy(task, compat=compat, search='look', view_size=64))
        env = SimStepEnvironment(sim, scene=rec['scene_path'], task=task.sim_task(), seed=0)
        record = run_episode(tap, env, task.instruction, task.tasktype, config=LoopConfig(),
                             seed=0, episode_id=str(task.identity), scene=task.scene)
        for reply, pixels in tap.seen:
            for obj in re.findall(r'I see (\w+)', reply):
                seen += 1
                assert pixels.get(obj, 0) >= threshold, (reply, pixels.get(obj))
                assert _decision(reply) in (f'pickup {obj}', f'navigate to {obj}')
            for obj in re.findall(r'No (\w+) (?:in view|inside)', reply):
                unseen += 1
                assert pixels.get(obj, 0) < threshold, (reply, pixels.get(obj))
                assert not _decision(reply).startswith('pickup')
        # the data engine's run of the same expert: kept trajectories replay to success
        data_record, verdict = judging.run_task(task, sim, seed=0, scene=rec['scene_path'],
                                                compat=compat, expert='probe-look')
        assert [_decision(s.raw_output) for s in data_record.model_steps] == \
            [_decision(s.raw_output) for s in record.model_steps]
        if verdict.kept:
            kept += 1
            assert replay_episode(data_record, rec, replay_sim) == []
    assert seen and unseen
    assert kept >= 0.7 * len(world_tasks)


def test_look_policy_spec() -> None:
    from ego_reasoner_ros.core.policy import make_policy
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers 'look')

    policy = make_policy('look:96')
    assert (policy.search, policy.view_size) == ('look', 96)
    with pytest.raises(ValueError, match='look:N needs an integer'):
        make_policy('look:big')
    with pytest.raises(ValueError, match='view_size must be positive'):
        make_policy('look:0')
