# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED-replay: fidelity both ways on hand-built states, goals, prompt, parser, report,
the data manifest and fetch, and the oracle on public episodes.

EB's messages, action names and prompt come from the upstream files of the EB data, so most
tests need the shared copy (``../shared/data/embodiedbench``) and skip without it.
"""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pytest

from data_paths import EB_DATA, SHARED_ER
from ego_reasoner_ros.core import data_store
from ego_reasoner_ros.sim_bridge.alfred import AlfredWorld
from ego_reasoner_ros.sim_bridge.scene import Scene
from ego_reasoner_ros.sim_bridge.world import World
from ego_reasoner_ros.training.eb_alfred import data as eb_data
from ego_reasoner_ros.training.eb_alfred.data import Episode
from ego_reasoner_ros.training.eb_alfred.evaluate import LABEL, build_summary, render_report
from ego_reasoner_ros.training.eb_alfred.planner import EMPTY_PLAN, INVALID_PLAN, parse_plan

HAVE_EB = (EB_DATA / 'source' / 'envs__eb_alfred__thor_connector.py').is_file()
needs_eb = pytest.mark.skipif(not HAVE_EB, reason=f'EB-ALFRED data not found at {EB_DATA}')
needs_scenes = pytest.mark.skipif(not (SHARED_ER / 'scenes').is_dir(),
                                  reason=f'ER scenes not found at {SHARED_ER}')


def _obj(otype, centre, size, oid=None, **flags):
    oid = oid or f'{otype}|{centre[0]:+06.2f}|{centre[1]:+06.2f}|{centre[2]:+06.2f}'
    d = {'objectId': oid, 'objectType': otype, 'name': f'{otype}_0',
         'position': dict(zip('xyz', centre)), 'rotation': {'x': 0, 'y': 0, 'z': 0},
         'axisAlignedBoundingBox': {'center': dict(zip('xyz', centre)),
                                    'size': dict(zip('xyz', size))},
         'receptacleObjectIds': [], 'parentReceptacles': []}
    d.update(flags)
    return d


def room() -> Scene:
    """A 4 x 4 m kitchen: counter with sink and faucet, fridge, desk lamp, prototypes."""
    objs = [
        _obj('Floor', (0, -0.05, 0), (4, 0.1, 4), receptacle=True),
        _obj('CounterTop', (0, 0.9, 1.4), (2.0, 0.05, 0.6), receptacle=True),
        _obj('Sink', (-0.6, 0.85, 1.4), (0.5, 0.2, 0.5), receptacle=True),
        _obj('SinkBasin', (-0.6, 0.82, 1.4), (0.4, 0.15, 0.4),
             oid='Sink|-00.60|+00.85|+01.40|SinkBasin', receptacle=True),
        _obj('Faucet', (-0.6, 1.0, 1.65), (0.15, 0.3, 0.15), toggleable=True),
        _obj('Fridge', (1.5, 0.9, 1.4), (0.7, 1.8, 0.7), receptacle=True, openable=True),
        _obj('DeskLamp', (0.6, 1.1, 1.5), (0.2, 0.35, 0.2), toggleable=True),
        # prototypes for sizes; every pickupable is re-placed from object_poses
        _obj('Apple', (0.3, 0.97, 1.3), (0.1, 0.1, 0.1), pickupable=True),
        _obj('Mug', (0.0, 0.97, 1.3), (0.1, 0.12, 0.1), pickupable=True, receptacle=True),
        _obj('Knife', (0.1, 0.94, 1.3), (0.3, 0.02, 0.05), pickupable=True),
    ]
    return Scene.from_metadata({'objects': objs, 'sceneName': 'FloorPlanTest'})


def pose(name, x, y, z):
    return {'objectName': name, 'position': {'x': x, 'y': y, 'z': z},
            'rotation': {'x': 0, 'y': 0, 'z': 0}}


def episode(task_type='pick_and_place_simple', *, toggles=(), sliced=False, target='Mug',
            parent='CounterTop') -> Episode:
    scene = {'floor_plan': 'FloorPlanTest', 'dirty_and_empty': False,
             'object_toggles': [{'objectType': t, 'isOn': True} for t in toggles],
             'init_action': {'action': 'TeleportFull', 'x': 0.0, 'y': 0.9, 'z': 0.0,
                             'rotation': 0, 'horizon': 30},
             'object_poses': [pose('Apple_1', 1.5, 0.9, 1.4), pose('Mug_1', 0.0, 0.97, 1.3),
                              pose('Knife_1', 0.3, 0.94, 1.3)]}
    traj = {'task_type': task_type, 'scene': scene, 'plan': {'high_pddl': []},
            'pddl_params': {'object_target': target, 'parent_target': parent,
                            'toggle_target': 'DeskLamp', 'mrecep_target': '',
                            'object_sliced': sliced}}
    return Episode('base', 0, 'test', 0, 'Test the replay.', traj)


@pytest.fixture()
def env():
    from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec

    return EBAlfredEnv(load_spec(EB_DATA), str(EB_DATA))


def run(env, *actions):
    return [env.step(a)[3] for a in actions]


# ------------------------------------------------------------------ interface from the files
@needs_eb
def test_interface_is_read_from_the_upstream_files():
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec

    spec = load_spec(EB_DATA)
    assert len(spec.global_actions) == 162
    assert spec.global_actions[0].startswith('find a ')
    assert 'put down the object in hand' in spec.global_actions
    assert (spec.max_steps, spec.max_invalid) == (30, 10)
    assert len(spec.examples) == 10 and spec.long_horizon_examples


# ---------------------------------------------------------------- fidelity, both directions
@needs_eb
def test_pick_up_from_a_closed_container_fails_then_works_once_open(env):
    env.reset(episode(), scene=room())
    find, pick = run(env, 'find a Apple', 'pick up the Apple')
    assert find['last_action_success'] == 1.0
    assert pick['last_action_success'] == 0.0
    assert pick['env_feedback'].startswith('Last action is invalid. Apple is not visible '
                                           'because it is in Fridge')
    assert pick['env_feedback'].endswith('Go there to pick the object instead.')
    opened, picked = run(env, 'open the Fridge', 'pick up the Apple')
    assert opened['last_action_success'] == picked['last_action_success'] == 1.0
    assert env.world.held.startswith('Apple|')


@needs_eb
def test_put_down_with_an_empty_hand(env):
    env.reset(episode(), scene=room())
    _, put = run(env, 'find a CounterTop', 'put down the object in hand')
    assert put['env_feedback'] == 'Last action is invalid. Robot is not holding any object'
    assert env.invalid == 1


@needs_eb
def test_slice_something_not_sliceable_and_then_a_sliceable_one(env):
    env.reset(episode(), scene=room())
    _, bad = run(env, 'find a Mug', 'slice the Mug')
    assert bad['env_feedback'] == 'Last action is invalid. Slice action failed'
    run(env, 'find a Fridge', 'open the Fridge')
    ok = run(env, 'find a Apple', 'slice the Apple')[-1]
    assert ok['last_action_success'] == 1.0
    assert any('AppleSliced' in m['objectId'] for m in env.meta())


@needs_eb
def test_find_an_object_the_scene_lacks(env):
    env.reset(episode(), scene=room())
    (info,) = run(env, 'find a Cart')
    assert info['env_feedback'].startswith('Last action is invalid. Cannot find Cart. This '
                                           'object may not exist in this scene.')


@needs_eb
def test_open_what_is_already_open(env):
    env.reset(episode(), scene=room())
    _, first, again = run(env, 'find a Fridge', 'open the Fridge', 'open the Fridge')
    assert first['last_action_success'] == 1.0
    assert again['env_feedback'] == ('Last action is invalid. Open action failed. The Fridge '
                                     'is already open')


@needs_eb
def test_turn_on_what_is_already_on(env):
    env.reset(episode(), scene=room())
    _, first, again = run(env, 'find a DeskLamp', 'turn on the DeskLamp', 'turn on the DeskLamp')
    assert first['last_action_success'] == 1.0
    assert again['env_feedback'] == 'Last action is invalid. Turn on action failed'
    off = run(env, 'turn off the DeskLamp')[0]
    assert off['last_action_success'] == 1.0


@needs_eb
def test_put_retries_then_drops_after_three_failures_on_one_receptacle(env):
    env.reset(episode(), scene=room())
    run(env, 'find a Mug', 'pick up the Mug')
    for _ in range(3):
        run(env, 'find a Fridge')
        info = run(env, 'put down the object in hand')[0]  # the fridge is closed
        assert info['last_action_success'] == 0.0
    assert info['env_feedback'].endswith('The robot dropped the object instead.')
    assert env.world.held is None


# ------------------------------------------------------------------------------- goal checks
@needs_eb
def test_er_clean_rule_is_not_alfreds(env):
    """Faucet already running: the ER rule cleans the mug put in the basin, ALFRED does not."""
    ep = episode('pick_clean_then_place_in_recep', toggles=('Faucet',), parent='SinkBasin')
    env.reset(ep, scene=room())
    run(env, 'find a Mug', 'pick up the Mug', 'find a Sink', 'put down the object in hand')
    mug = next(m['objectId'] for m in env.meta() if m['objectType'] == 'Mug')
    assert mug in env.world.contents_ids('Sink|-00.60|+00.85|+01.40|SinkBasin')
    assert env.goal() == (1, 3)  # in place, but never cleaned by an event
    er = World(env.world.scene, rules='er')  # the ER rule on the same state
    er._toggled[er._idx('Faucet|-00.60|+01.00|+01.65')] = True
    basin = er._idx('Sink|-00.60|+00.85|+01.40|SinkBasin')
    er._detach(er._idx(mug))
    er._place(er._idx(mug), basin)
    er._update_derived()
    assert er.is_clean(mug)
    # ALFRED's event: turning the faucet on cleans what the basin holds
    info = run(env, 'turn off the Faucet', 'turn on the Faucet')[-1]
    assert info['task_success'] == 1.0 and env.goal() == (3, 3)


@needs_eb
def test_slice_target_needs_the_slice_not_its_parent(env):
    ep = episode('pick_and_place_simple', sliced=True, target='Apple', parent='Fridge')
    env.reset(ep, scene=room())
    assert env.goal() == (0, 2)  # the whole apple is in the fridge: no slice, none in place
    run(env, 'find a Fridge', 'open the Fridge', 'find a Apple')
    info = run(env, 'slice the Apple')[0]
    assert info['task_success'] == 1.0


def test_alfred_world_rule_set_is_validated():
    with pytest.raises(ValueError):
        World(room(), rules='nope')
    w = AlfredWorld(room(), episode().traj['scene'])
    assert w.rules == 'alfred' and World(room()).rules == 'er'
    assert any(o.object_type == 'Mug' and o.pickupable for o in w.scene.objects)
    assert w.pose.x == 0.0 and w.pose.horizon == 30.0


# ---------------------------------------------------------------------------- parser, prompt
def test_strict_and_lenient_plan_parsing():
    good = json.dumps({'executable_plan': [{'action_id': 1, 'action_name': 'b'},
                                           {'action_id': 0, 'action_name': 'a'}]})
    assert parse_plan(good, 3) == ([1, 0], False)
    assert parse_plan(json.dumps({'executable_plan': []}), 3) == (EMPTY_PLAN, False)
    assert parse_plan('not json', 3) == (INVALID_PLAN, True)
    bad_tail = json.dumps({'executable_plan': [{'action_id': 2}, {'action_id': 9}]})
    assert parse_plan(bad_tail, 3) == ([2], False)
    fenced = "```json\n{'executable_plan': [{'action_id': '2', 'action_name': 'c'}]}\n```"
    assert parse_plan(fenced, 3)[0] == INVALID_PLAN
    assert parse_plan(fenced, 3, mode='lenient', actions=['a', 'b', 'c']) == ([2], False)
    by_name = json.dumps({'executable_plan': [{'action_id': 99, 'action_name': 'b'}]})
    assert parse_plan(by_name, 3, mode='lenient', actions=['a', 'b', 'c']) == ([1], False)


@needs_eb
def test_prompt_is_built_as_eb_builds_it():
    from ego_reasoner_ros.training.eb_alfred.planner import EBPromptBuilder, PromptSettings
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec

    spec = load_spec(EB_DATA)
    b = EBPromptBuilder(spec, spec.global_actions, settings=PromptSettings(language_only=True))
    first = b.build('Put a mug on the counter.')
    assert '\naction id 0: find a Cart, \naction id 1: find a Potato' in first
    assert '## Task Execution Example 0: \n' in first
    assert 'instruction is: Put a mug on the counter.' in first
    assert 'describe current visual state' not in first
    later = b.build('Put a mug on the counter.', [(2, 'Last action executed successfully.')])
    assert '\nStep 0, action id 2, find a Faucet, env feedback: Last action executed ' \
           'successfully.' in later
    vision = EBPromptBuilder(spec, spec.global_actions).build('x')
    assert 'visual' in vision.split('instruction is: x.')[1]


# ------------------------------------------------------------------------------------ report
def test_report_matches_the_leaderboard_layout():
    rows = [{'episode_id': f'{s}/{i}', 'subset': s, 'task_type': 'pick_and_place_simple',
             'success': i % 2 == 0, 'progress': 0.5 + 0.5 * (i % 2 == 0)}
            for s in eb_data.SUBSETS for i in range(4)]
    summary = build_summary(rows, 'oracle')
    assert summary['success_rate'] == 0.5 and summary['progress_rate'] == 0.75
    assert set(summary['subsets']) == set(eb_data.SUBSETS)
    text = render_report([summary, build_summary(rows[:8], 'heuristic')])
    lines = text.splitlines()
    assert lines[0] == f'# {LABEL}'
    head = '| Model | Avg | Base | Common | Complex | Visual | Spatial | Long |'
    assert lines.count(head) == 2
    i = lines.index(head)
    assert lines[i + 2] == '| oracle | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 |'
    assert lines[i + 3].startswith('| heuristic | 50.0 | 50.0 | 50.0 | - |')


# ------------------------------------------------------------------------------ data, fetch
def test_manifest_is_packaged_and_maps_into_the_shared_layout():
    manifest = eb_data.load_manifest()
    locals_ = {e.local for e in data_store.validate_manifest(manifest)}
    assert 'eb_alfred/splits/splits.json' in locals_
    assert 'evaluator/system_prompts.py' in locals_
    assert 'source/envs__eb_alfred__thor_connector.py' in locals_
    assert sum(p.startswith('eb_alfred/json_2.1.0/') for p in locals_) > 200


@needs_eb
def test_manifest_is_derived_from_the_shared_copy():
    upstream = json.loads((EB_DATA / 'upstream-manifest.json').read_text(encoding='utf-8'))
    assert eb_data.derive_manifest(upstream, EB_DATA / 'source') == eb_data.load_manifest()


@needs_eb
def test_fetch_verifies_and_lays_out_eb_files(tmp_path):
    full = eb_data.load_manifest()
    keep = {k: v for k, v in full['files'].items()
            if v['local'].startswith(('source/', 'evaluator/'))}
    upstream = tmp_path / 'upstream'
    for up, meta in keep.items():
        dst = upstream / up
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EB_DATA / meta['local'], dst)
    manifest = dict(full, files=keep)
    dest = data_store.fetch(tmp_path / 'dest', manifest=manifest, from_dir=upstream,
                            progress=False)
    assert (dest / 'source' / 'envs__eb_alfred__utils.py').is_file()
    assert (dest / 'evaluator' / 'alfred_examples.json').is_file()
    assert (dest / 'README.md').read_text(encoding='utf-8').startswith('# EB-ALFRED data')
    victim = upstream / next(iter(keep))
    victim.write_bytes(victim.read_bytes() + b'#')
    with pytest.raises(data_store.ChecksumMismatchError):
        data_store.fetch(tmp_path / 'dest2', manifest=manifest, from_dir=upstream,
                         progress=False)


# ---------------------------------------------------------------- the oracle, public episodes
@needs_eb
@needs_scenes
def test_oracle_solves_public_episodes_and_the_negative_control_fails():
    from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
    from ego_reasoner_ros.training.eb_alfred.loop import run_eb_episode
    from ego_reasoner_ros.training.eb_alfred.policies import OraclePolicy
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec

    env = EBAlfredEnv(load_spec(EB_DATA), str(SHARED_ER / 'scenes'))
    picked = {}
    for ep in eb_data.load_episodes(EB_DATA):
        picked.setdefault(ep.task_type, ep)  # one episode of each ALFRED task type
    assert len(picked) == 7
    for ep in picked.values():
        full = run_eb_episode(OraclePolicy(), env, ep)
        assert full['success'], (ep.episode_id, full['steps'])
        assert full['output_errors'] == 0 and full['planner_steps'] == 1
        neg = run_eb_episode(OraclePolicy(drop_last=True, horizon=full['num_steps']), env, ep)
        assert not neg['success'], ep.episode_id


@needs_eb
@needs_scenes
def test_eval_command_writes_fractions(tmp_path):
    from ego_reasoner_ros.cli.main import main

    out = tmp_path / 'out'
    rc = main(['eval', '--benchmark', 'eb-alfred', '--policy', 'oracle', '--eb-data',
               str(EB_DATA), '--scenes', str(SHARED_ER / 'scenes'), '--out', str(out),
               '--subset', 'spatial', '--limit', '4', '--language-only'])
    assert rc == 0
    s = json.loads((out / 'summary.json').read_text(encoding='utf-8'))
    assert s['n_episodes'] == 4 and 0 <= s['success_rate'] <= 1 and 0 <= s['progress_rate'] <= 1
    assert set(s['subsets']) == {'spatial'} and s['label'] == LABEL
    assert len((out / 'results.jsonl').read_text(encoding='utf-8').splitlines()) == 4
    assert main(['eval', '--benchmark', 'eb-alfred', '--policy', 'oracle', '--eb-data',
                 str(tmp_path), '--scenes', str(SHARED_ER / 'scenes'), '--out',
                 str(tmp_path / 'o2')]) == 2


def test_eb_data_resolution_names_the_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv(eb_data.ENV_VAR, str(tmp_path))
    with pytest.raises(Exception, match='data fetch eb-alfred'):
        eb_data.resolve_eb_data()
    monkeypatch.delenv(eb_data.ENV_VAR)
    assert Path(eb_data.resolve_eb_data(EB_DATA)) == EB_DATA.resolve() if HAVE_EB else True


class _PlanEngine:
    """Stands in for the model behind ``ego-reasoner serve``.

    It answers with a fixed JSON plan and keeps every request's messages; the HTTP server, the
    openai backend, the data-URL images and the EB prompt are the real ones.
    """

    def __init__(self, reply: str) -> None:
        from ego_reasoner_ros.training.backends.generation import GenerationSettings

        self.reply = reply
        self.settings = GenerationSettings(max_new_tokens=64)
        self.model = None
        self.context_tokens = None
        self.max_prompt_tokens = None
        self.max_cache_bytes = None
        self.requests: list[list[dict]] = []

    def generate(self, messages, settings):  # noqa: ANN001
        from ego_reasoner_ros.training.backends.generation import GenerationResult

        self.requests.append(messages)
        return GenerationResult(self.reply, 100, 100, 0, 10, "stop", 0.0, 0.0)


@needs_eb
@needs_scenes
def test_openai_backend_against_serve_with_the_eb_prompt():
    pytest.importorskip('PIL')
    import ego_reasoner_ros.training.backends  # noqa: F401  (registers openai:)
    from ego_reasoner_ros.core.policy import make_policy
    from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
    from ego_reasoner_ros.training.eb_alfred.loop import run_eb_episode
    from ego_reasoner_ros.training.eb_alfred.policies import OraclePolicy
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec
    from ego_reasoner_ros.training.serve import ChatServer

    spec = load_spec(EB_DATA)
    env = EBAlfredEnv(spec, str(SHARED_ER / 'scenes'), render=True, resolution=64)
    ep = eb_data.load_episodes(EB_DATA, 'base')[0]
    env.reset(ep)
    oracle = OraclePolicy()
    oracle.eb_reset(actions=env.actions, instances=env.name_to_id,
                    high_pddl=ep.traj['plan']['high_pddl'])
    engine = _PlanEngine(oracle.act(None))  # type: ignore[arg-type]
    with ChatServer(engine, 'eb-plan', port=0).start() as server:
        assert server.httpd.server_address[0] == '127.0.0.1'
        policy = make_policy(f'openai:{server.base_url}', max_tokens=64, timeout=60)
        row = run_eb_episode(policy, env, ep)
    assert row['success'] and row['planner_steps'] == 1 and row['output_errors'] == 0
    (msg,) = engine.requests[0]
    kinds = [b.get('type') for b in msg['content']]
    assert kinds[-1] == 'text' and len(kinds) == 2  # EB: the frame, then the prompt
    text = msg['content'][-1]['text']
    assert text.startswith(spec.system_prompt.split('{}')[0])
    assert f'instruction is: {ep.instruction.rstrip(".")}.' in text


@needs_eb
@needs_scenes
def test_shards_merge_into_the_whole_run(tmp_path):
    from ego_reasoner_ros.cli.main import main

    common = ['eval', '--benchmark', 'eb-alfred', '--policy', 'oracle', '--eb-data',
              str(EB_DATA), '--scenes', str(SHARED_ER / 'scenes'), '--subset', 'base',
              '--limit', '3', '--no-plots']
    for i in range(2):
        assert main(common + ['--shard', f'{i}/2', '--out', str(tmp_path / f's{i}')]) == 0
    assert main(['eval-merge', str(tmp_path / 's0'), str(tmp_path / 's1'), '--out',
                 str(tmp_path / 'm'), '--no-plots']) == 0
    merged = json.loads((tmp_path / 'm' / 'summary.json').read_text(encoding='utf-8'))
    assert merged['n_episodes'] == 6  # 3 of each shard's half of the base subset
    assert set(merged['subsets']) == {'base'}
