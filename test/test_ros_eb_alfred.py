# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED through the ROS graph: the task message, the skills' gate, the remote loop.

The schema and skill-mapping checks need nothing; the remote loop needs the EB-ALFRED data
and the ER scenes; the graph test (sim bridge, executor and reasoner as processes over
loopback DDS) runs the oracle on a public episode.
"""

from __future__ import annotations

import json
from pathlib import Path
import threading

import pytest

from data_paths import EB_DATA, SHARED_ER
from ego_reasoner_ros.nodes import protocol
from ego_reasoner_ros.training.eb_alfred.skills import check_episode_ref, skill_gate

HAVE_EB = (EB_DATA / 'eb_alfred' / 'splits' / 'splits.json').is_file()
SCENES = SHARED_ER / 'scenes'
needs_data = pytest.mark.skipif(
    not (HAVE_EB and SCENES.is_dir()),
    reason=f'EB-ALFRED data ({EB_DATA}) or the ER scenes ({SCENES}) not found')
EPISODE = {'subset': 'base', 'index': 3}  # a pick_and_place_simple in a bathroom


def _task(**extra) -> dict:
    return {'task_id': 't1', 'benchmark': 'eb-alfred', 'episode': dict(EPISODE), **extra}


# ---------------------------------------------------------------- messages
def test_an_eb_task_names_the_benchmark_and_the_episode():
    task = protocol.validate('task', _task(language_only=True))
    assert task['episode'] == EPISODE and task['language_only'] is True
    # an ER task is unchanged: instruction required, benchmark er by default
    assert protocol.validate('task', {'task_id': 'a', 'instruction': 'find the apple'})
    assert protocol.validate('task', {'task_id': 'a', 'instruction': 'x', 'benchmark': 'er'})


@pytest.mark.parametrize(('payload', 'words'), [
    ({'task_id': 't', 'benchmark': 'eb-alfred'}, 'needs an episode'),
    (_task(benchmark='alfred'), "benchmark must be one of ['er', 'eb-alfred']"),
    (_task(episode={'subset': 'basic', 'index': 3}), 'episode.subset must be one of'),
    (_task(episode={'subset': 'base', 'index': -1}), 'episode.index must be an integer >= 0'),
    (_task(episode={'subset': 'base', 'index': True}), 'episode.index must be an integer'),
    (_task(episode={'subset': 'base'}), "missing ['index']"),
    (_task(episode={'subset': 'base', 'index': 1, 'scene': 'x'}), "unknown ['scene']"),
    (_task(episode=[1, 2]), "field 'episode' must be dict"),
    (_task(instruction='put the towel away'), "['instruction'] do not apply"),
    (_task(scene='FloorPlan1', seed=3), "['scene', 'seed'] do not apply"),
    ({'task_id': 't', 'instruction': 'x', 'episode': EPISODE}, 'episode needs "benchmark"'),
    ({'task_id': 't', 'instruction': 'x', 'language_only': True}, 'language_only applies'),
    ({'task_id': 't'}, "missing field 'instruction'"),
])
def test_bad_eb_tasks_are_rejected_with_the_reason(payload, words):
    with pytest.raises(protocol.SchemaError) as err:
        protocol.validate('task', payload)
    assert words in str(err.value)


def test_eb_actions_carry_the_episode_on_init_and_a_skill_after():
    base = {'action_id': 'a/1', 'task_id': 'a', 'step': 1, 'benchmark': 'eb-alfred'}
    assert protocol.validate('action', dict(base, verb='init', episode=EPISODE))
    ok = dict(base, verb='navigate to', target='Cabinet', skill='find a Cabinet_2')
    assert protocol.validate('action', ok)['skill'] == 'find a Cabinet_2'
    assert protocol.validate('sim_action', {k: v for k, v in ok.items()
                                            if k not in ('task_id', 'step')})
    for bad, words in ((dict(base, verb='init'), 'init needs an episode'),
                       (dict(base, verb='pickup', target='Apple'), 'needs a skill'),
                       (dict(ok, episode=EPISODE), 'only an init carries an episode'),
                       (dict(ok, benchmark='er'), 'skill needs "benchmark"')):
        with pytest.raises(protocol.SchemaError, match=words):
            protocol.validate('action', bad)
    with pytest.raises(ValueError, match='exactly the keys'):
        check_episode_ref({'subset': 'base', 'index': 1, 'extra': 0})


def test_skills_map_onto_the_core_actions_of_the_safety_gate():
    assert skill_gate('find a Cabinet_2') == ('navigate to', 'Cabinet')
    assert skill_gate('find a Sink') == ('navigate to', 'Sink')
    assert skill_gate('pick up the Butter Knife') == ('pickup', 'ButterKnife')
    assert skill_gate('put down the object in hand') == ('put', None)
    assert skill_gate('drop the object in hand') == ('put', None)
    assert skill_gate('open the Drawer_3') == ('open', 'Drawer')
    assert skill_gate('close the Fridge') == ('close', 'Fridge')
    assert skill_gate('turn on the DeskLamp') == ('toggle', 'DeskLamp')
    assert skill_gate('turn off the Faucet') == ('toggle', 'Faucet')
    assert skill_gate('slice the Apple') == ('slice', 'Apple')
    for bad in ('teleport to the Moon', 'find a ', ' find a Apple', 'pick up\nthe Apple', ''):
        with pytest.raises(ValueError):
            skill_gate(bad)
    from ego_reasoner_ros.nodes.safety import SafetyConfig, SafetyGate
    gate = SafetyGate(SafetyConfig(allowed_verbs=['navigate to', 'put'],
                                   allowed_objects=['Cabinet']))
    assert gate.check_parts(*skill_gate('find a Cabinet_2')).ok
    assert gate.check_parts(*skill_gate('put down the object in hand')).ok
    assert "verb 'slice' is not allowed" in gate.check_parts(*skill_gate('slice the Apple')).reason
    assert "'Drawer' is not allowed" in gate.check_parts('navigate to', 'Drawer').reason


# ---------------------------------------------------------------- remote loop, no ROS
class _Link:
    """A transport straight into an :class:`EBSession` (what the graph carries)."""

    def __init__(self, session, reject: str = '') -> None:
        self.session, self.reject, self.sent = session, reject, []

    def __call__(self, fields: dict):
        from ego_reasoner_ros.training.eb_alfred.remote import RemoteReply
        self.sent.append(dict(fields))
        if fields.get('skill') == self.reject:
            return RemoteReply(False, 'verb is not allowed', 'rejected')
        s = self.session
        r = s.start(fields['episode']) if fields['verb'] == 'init' else s.step(fields['skill'])
        return RemoteReply(r.success, r.feedback, 'succeeded' if r.success else 'failed',
                           [r.frame] if r.frame is not None else [], r.eb)


@pytest.fixture(scope='module')
def session():
    if not (HAVE_EB and SCENES.is_dir()):
        pytest.skip(f'EB-ALFRED data ({EB_DATA}) or the ER scenes ({SCENES}) not found')
    from ego_reasoner_ros.training.eb_alfred.remote import EBSession
    return EBSession(str(EB_DATA), str(SCENES))


@needs_data
def test_the_remote_loop_matches_the_local_one_for_the_oracle(session):
    from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
    from ego_reasoner_ros.training.eb_alfred.loop import EBLoopConfig, run_eb_episode
    from ego_reasoner_ros.training.eb_alfred.planner import PromptSettings
    from ego_reasoner_ros.training.eb_alfred.policies import OraclePolicy
    from ego_reasoner_ros.training.eb_alfred.remote import find_episode, run_remote_episode

    ep = find_episode(session.root, 'base', 3)
    link = _Link(session)
    remote = run_remote_episode(OraclePolicy(), session.spec, ep, link, language_only=True)
    local = run_eb_episode(OraclePolicy(), EBAlfredEnv(session.spec, str(SCENES)), ep,
                           EBLoopConfig(prompt=PromptSettings(language_only=True)))
    assert remote['success'] and remote['progress'] == 1.0
    keep = ('success', 'progress', 'conditions', 'num_steps', 'planner_steps',
            'num_invalid_actions', 'output_errors', 'ended_by', 'steps', 'n_actions')
    assert {k: remote[k] for k in keep} == {k: local[k] for k in keep}
    assert link.sent[0] == {'step': 0, 'verb': 'init', 'episode': EPISODE}
    assert [f['step'] for f in link.sent] == list(range(len(link.sent)))
    assert session.env.resolution == 500 and session.env.world._alfred_vis == 1.5


@needs_data
def test_a_failed_or_rejected_skill_makes_the_planner_replan_with_ebs_feedback(session):
    from ego_reasoner_ros.core.policy import ScriptedPolicy
    from ego_reasoner_ros.training.eb_alfred.planner import plan_json
    from ego_reasoner_ros.training.eb_alfred.remote import find_episode, run_remote_episode

    ep = find_episode(session.root, 'base', 3)
    acts = session.spec.global_actions
    ids = {a: i for i, a in enumerate(acts)}
    plans = [plan_json([ids['find a Fridge'], ids['find a HandTowel']], acts),
             plan_json([ids['slice the Apple']], acts), 'not json',
             plan_json([], acts)]
    prompts: list[str] = []

    class Recording(ScriptedPolicy):
        def act(self, inp):
            prompts.append(inp.messages[-1]['content'][-1]['text'])
            return super().act(inp)

    link = _Link(session, reject='slice the Apple')
    row = run_remote_episode(Recording(plans), session.spec, ep, link, language_only=True)
    missing = session.spec.message('nav_obj.missing', target_obj='Fridge')
    assert [s['feedback'] for s in row['steps']] == [
        session.spec.feedback_invalid.format(message=missing),  # the plan stops here
        'Last action is invalid. verb is not allowed', 'invalid output']
    assert row['planner_steps'] == 4 and row['ended_by'] == 'empty_plan'
    assert row['num_steps'] == 2 and row['num_invalid_actions'] == 3
    assert row['output_errors'] == 1 and not row['success']
    assert missing in prompts[1] and 'find a HandTowel' not in [f.get('skill') for f in
                                                                 link.sent]


# ---------------------------------------------------------------- the graph
@pytest.fixture(scope='module')
def graph(ros_env, tmp_path_factory):
    """Sim bridge, executor and reasoner (oracle) as processes, plus a probe node."""
    if not (HAVE_EB and SCENES.is_dir()):
        pytest.skip(f'EB-ALFRED data ({EB_DATA}) or the ER scenes ({SCENES}) not found')
    from ego_reasoner_ros.nodes.launcher import ProcessGroup
    from ros_graph_helpers import LockedBuffer, Probe, start_nodes

    tmp = tmp_path_factory.mktemp('eb_graph')
    out = LockedBuffer()
    group = ProcessGroup(out)
    env = dict(ros_env, EGO_REASONER_EB_DATA=str(EB_DATA))
    start_nodes(group, env, {
        'sim_bridge': {'scenes_dir': str(SCENES), 'eb_data': str(EB_DATA),
                       'publish_rate_hz': 0.0},
        'action_executor': {},
        'reasoner': {'policy': 'oracle', 'eb_data': str(EB_DATA), 'runs_dir': str(tmp / 'runs'),
                     'action_timeout_s': 120.0},
    })
    probe = Probe('eb_graph_probe')
    frames: dict[int, tuple[int, int]] = {}
    lock = threading.Lock()

    def on_image(msg) -> None:
        from ego_reasoner_ros.nodes.conversions import stamp_to_ns
        with lock:
            frames[stamp_to_ns(msg.header.stamp)] = (msg.width, msg.height)

    from sensor_msgs.msg import Image

    from ego_reasoner_ros.nodes.qos import IMAGE_QOS
    probe.image_sub = probe.node.create_subscription(Image, 'camera/image_raw', on_image,
                                                     IMAGE_QOS)
    probe.frames = frames
    try:
        yield group, probe, out
    finally:
        probe.close()
        codes = group.stop()
        print(out.text()[-4000:])
        assert all(c is not None for c in codes.values()), 'a node process survived'


@pytest.mark.ros
@pytest.mark.slow
@needs_data
def test_the_oracle_succeeds_on_a_public_episode_through_the_graph(graph):
    from ros_graph_helpers import wait_until
    group, probe, out = graph
    # frames sent before the probe's camera subscription matched would be lost
    wait_until(lambda: probe.image_sub.get_publisher_count() > 0, 60, 'the camera publisher')
    probe.send_task(_task(task_id='eb-oracle'))
    final = probe.final_status('eb-oracle', timeout=240)
    assert final['state'] == 'succeeded', (final, out.text()[-3000:])
    assert final['success'] is True

    actions = probe.get('reasoner/action', task_id='eb-oracle')
    assert actions[0]['verb'] == 'init' and actions[0]['episode'] == EPISODE
    assert all(a['benchmark'] == 'eb-alfred' for a in actions)
    skills = [a['skill'] for a in actions[1:]]
    assert skills[-1] == 'put down the object in hand' and skills[0].startswith('find a ')
    assert all((a['verb'], a.get('target')) == skill_gate(a['skill']) for a in actions[1:])
    results = wait_until(lambda: (r := probe.get('executor/result', task_id='eb-oracle'))
                         and len(r) >= len(actions) and r, 30, 'every result')
    by_id = {r['action_id']: r for r in results}
    init = by_id[actions[0]['action_id']]
    assert init['eb']['episode_id'] == 'base/3' and skills[0] in init['eb']['actions']
    for a in actions[1:]:
        r = by_id[a['action_id']]
        assert r['status'] == 'succeeded' and r['feedback'] == 'Last action executed successfully.'
    last = by_id[actions[-1]['action_id']]['eb']
    assert last['task_success'] is True and last['conditions'][0] == last['conditions'][1]
    # EB mode frames: 500x500, one per action
    stamps = [s for a in actions for s in by_id[a['action_id']]['frame_stamps']]
    assert len(stamps) == len(actions)
    sizes = wait_until(lambda: all(s in probe.frames for s in stamps)
                       and {probe.frames[s] for s in stamps}, 30, 'the frames')
    assert sizes == {(500, 500)}

    run_dir = Path(final['run_dir'])
    record = json.loads((run_dir / 'eb_episode.json').read_text())
    assert record['success'] is True and record['episode_id'] == 'base/3'
    assert record['num_steps'] == len(skills) and record['ended_by'] == 'success'
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['benchmark'] == 'eb-alfred' and summary['actions'] == skills
    assert all(p.poll() is None for p in group.procs.values())


@pytest.mark.ros
@pytest.mark.slow
@needs_data
def test_bad_eb_tasks_and_skills_get_clear_rejections_and_eb_feedback(graph):
    from ros_graph_helpers import wait_until
    group, probe, out = graph
    probe.send_task(_task(task_id='eb-range', episode={'subset': 'base', 'index': 9999}))
    probe.send_task(_task(task_id='eb-subset', episode={'subset': 'basic', 'index': 0}))
    probe.send_task({'task_id': 'er-task', 'instruction': 'find the apple'})
    for tid, words in (('eb-range', 'episode base/9999 does not exist'),
                       ('eb-subset', 'episode.subset must be one of'),
                       ('er-task', "policy 'oracle' plans eb-alfred episodes only")):
        final = probe.final_status(tid, timeout=60)
        assert final['state'] == 'rejected' and words in final['message'], final

    # skills sent by hand: the sim bridge answers with EB's own feedback strings
    def send(aid: str, **fields) -> dict:
        probe.send_action(json.dumps({'action_id': aid, 'task_id': 'hand', 'step': 1,
                                      'benchmark': 'eb-alfred', **fields}))
        return wait_until(lambda: next(iter(probe.get('executor/result', action_id=aid)),
                                       None), 120, f'the result of {aid}')
    assert send('h0', verb='init', episode=EPISODE)['success'] is True
    fridge = send('h1', verb='navigate to', target='Fridge', skill='find a Fridge')
    assert fridge['status'] == 'failed'
    assert fridge['feedback'].startswith('Last action is invalid. Cannot find Fridge')
    put = send('h2', verb='put', skill='put down the object in hand')
    assert put['status'] == 'failed' and put['feedback'].startswith('Last action is invalid.')
    for aid, fields, words in (
            ('h3', {'verb': 'pickup', 'target': 'Apple', 'skill': 'find a Apple'},
             'do not match skill'),
            ('h4', {'verb': 'navigate to', 'target': 'Moon', 'skill': 'teleport to the Moon'},
             'is not an EB-ALFRED skill'),
            ('h5', {'verb': 'navigate to', 'target': 'Cabinet', 'skill': 'find a Cabinet_99'},
             'is not in the action list')):
        r = send(aid, **fields)
        assert r['success'] is False and words in r['feedback'], r
    assert all(p.poll() is None for p in group.procs.values()), out.text()[-3000:]


# ---------------------------------------------------------------- data where / info
@pytest.mark.skipif(not HAVE_EB, reason=f'EB-ALFRED data not found at {EB_DATA}')
def test_data_where_and_info_name_the_eb_alfred_folder(capsys, tmp_path):
    from ego_reasoner_ros.cli.main import main
    from ego_reasoner_ros.training.eb_alfred.data import load_split

    assert main(['data', 'where', 'eb-alfred', '--data', str(EB_DATA)]) == 0
    assert capsys.readouterr().out.strip() == str(EB_DATA.resolve())
    assert main(['data', 'info', 'eb-alfred', '--data', str(EB_DATA)]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    split = load_split(EB_DATA)
    assert info['n_episodes'] == len(split) and sum(info['subsets'].values()) == len(split)
    assert info['n_global_actions'] == 162 and info['max_steps'] == 30
    assert main(['data', 'where', 'eb-alfred', '--data', str(tmp_path)]) == 2
    assert 'not an EB-ALFRED data folder' in capsys.readouterr().err
