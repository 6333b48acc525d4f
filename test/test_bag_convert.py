# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""bag2data: episodes rebuilt from bags, crash recovery, bad bags, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip('mcap')
pytest.importorskip('rosbags')

from bag_synth import DEFAULT_PLAN, Clock, add_topics, frame_pixels, string_cdr, write_episode  # noqa: E402, I001
from ego_reasoner_ros.core.episode import EpisodeRecord  # noqa: E402
from ego_reasoner_ros.runtime import bagio  # noqa: E402
from ego_reasoner_ros.training import bag2data  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _bag(path: Path, episodes: list[dict], **cfg) -> list[dict]:
    clock = Clock()
    expected = []
    with bagio.McapBagWriter(path, bagio.BagWriterConfig(**cfg)) as bag:
        add_topics(bag)
        for i, kw in enumerate(episodes):
            expected.append(write_episode(bag, kw.pop('task_id', f'task-{i}'), clock,
                                          frame_base=100 * i, **kw))
    return expected


def _no_hf(**kw) -> bag2data.ConvertOptions:
    return bag2data.ConvertOptions(write_hf=False, **kw)


@pytest.mark.parametrize('with_stamps', [True, False])
def test_round_trip_rebuilds_steps_images_and_texts(tmp_path: Path, with_stamps: bool) -> None:
    exp = _bag(tmp_path / 'bag', [{'with_stamps': with_stamps}])[0]
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'out', _no_hf())
    assert fig['n_episodes'] == 1 and fig['n_failed_bags'] == 0 and fig['n_bags'] == 1
    rec = EpisodeRecord.load(tmp_path / 'out' / 'episodes' / 'task-0')
    assert rec.instruction == 'Please put the Apple on the CounterTop.'
    assert rec.task_type == 'single_pickup' and rec.scene == 'FloorPlan1'
    assert rec.terminated_by == 'end'
    assert [s.raw_output for s in rec.model_steps] == exp['thoughts']
    assert len(rec.model_steps) == len(DEFAULT_PLAN)
    assert rec.step_count == 1 + exp['n_executed']
    kinds = [(str(s.action) if s.action else None, s.executed, s.success) for s in rec.steps]
    assert kinds == [('navigate to CounterTop', True, True),
                     ('pickup No Suitable Object', True, False),
                     (None, False, False),
                     ('pickup Apple', True, False),
                     ('pickup Apple', True, True),
                     ('end', False, True)]
    # the right frames: initial view, then one per successful step, pixel-exact
    got = [rec.initial_images[0]] + [s.images[0] for s in rec.steps if s.images]
    assert len(got) == len(exp['frames'])
    for arr, frame_no in zip(got, exp['frames']):
        assert np.array_equal(arr, frame_pixels(frame_no))
    assert rec.metadata['success'] is True and rec.metadata['success_source'] == 'verdict'
    assert rec.metadata['step_success'] == [True, False, False, True]

    from ego_reasoner_ros.training.train_data import read_sharegpt
    rows = read_sharegpt(tmp_path / 'out' / 'sharegpt')
    assert len(rows) == 1
    row = rows[0]
    n_image_blocks = sum(1 for m in row['messages'] if isinstance(m['content'], list)
                         for b in m['content'] if b.get('type') == 'image')
    assert n_image_blocks == len(row['images']) == len(rec.message_image_names())
    assistant = [m for m in row['messages'] if m['role'] == 'assistant']
    assert len(assistant) == len(DEFAULT_PLAN)
    labels = [json.loads(x) for x in (tmp_path / 'out' / 'labels.jsonl').read_text().split('\n')
              if x]
    assert labels[0]['success'] is True and labels[0]['step_success'] == [True, False, False,
                                                                          True]


def test_task_carried_by_the_accepted_status(tmp_path: Path) -> None:
    """An initial task (never on /task) keeps its type and scene through the status."""
    exp = _bag(tmp_path / 'bag', [{'task_on_status': True}])[0]
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'out', _no_hf())
    assert fig['n_episodes'] == 1
    rec = EpisodeRecord.load(tmp_path / 'out' / 'episodes' / 'task-0')
    assert rec.instruction == 'Please put the Apple on the CounterTop.'
    assert rec.task_type == 'single_pickup' and rec.scene == 'FloorPlan1'
    assert [s.raw_output for s in rec.model_steps] == exp['thoughts']


def test_success_labels_and_successful_only(tmp_path: Path) -> None:
    _bag(tmp_path / 'bag', [{'verdict': True}, {'verdict': False}, {'verdict': None},
                            {'verdict': None, 'final': False}])
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'all', _no_hf())
    assert fig['n_episodes'] == 4 and fig['n_incomplete'] == 1 and fig['n_train'] == 3
    recs = {p.name: EpisodeRecord.load(p) for p in (tmp_path / 'all' / 'episodes').iterdir()}
    assert recs['task-1'].metadata['success'] is False  # the verdict beats the status
    assert recs['task-2'].metadata['success_source'] == 'status'
    # the model said end, but no status or verdict arrived: kept out of the training files
    assert recs['task-3'].terminated_by == 'end' and recs['task-3'].metadata['success'] is None
    assert recs['task-3'].metadata['complete'] is False
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'ok',
                                _no_hf(successful_only=True))
    rows = json.loads((tmp_path / 'ok' / 'sharegpt' / 'train.json').read_text())
    assert sorted(r['episode_id'] for r in rows) == ['task-0', 'task-2']
    assert fig['n_filtered'] == 1


def test_runs_of_a_repeated_task_id_stay_separate_episodes(tmp_path: Path) -> None:
    """The reasoner gives every run its own run_id: two runs of 'same-id' are two episodes,
    each with its own label (a verdict naming only the task labels the run before it)."""
    _bag(tmp_path / 'bag', [{'task_id': 'same-id', 'run_id': 'r1', 'verdict': True},
                            {'task_id': 'same-id', 'run_id': 'r2', 'verdict': False},
                            {'task_id': 'other', 'run_id': 'r3', 'verdict': True}])
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'out', _no_hf())
    assert fig['n_episodes'] == 3
    recs = [EpisodeRecord.load(p) for p in sorted((tmp_path / 'out' / 'episodes').iterdir())]
    by_run = {r.metadata['run_id']: r for r in recs}
    assert sorted(by_run) == ['r1', 'r2', 'r3']
    assert by_run['r1'].metadata['success'] is True
    assert by_run['r2'].metadata['success'] is False
    # each run holds only its own steps (merged runs would hold both runs' thoughts)
    assert len(by_run['r1'].model_steps) == len(by_run['r2'].model_steps) == len(DEFAULT_PLAN)
    assert len({r.episode_id for r in recs}) == 3


def test_hf_copy_loads_with_the_training_reader(tmp_path: Path) -> None:
    pytest.importorskip('datasets')
    from ego_reasoner_ros.training.train_data import load_rows
    _bag(tmp_path / 'bag', [{}, {}, {}, {}])
    fig = bag2data.convert_bags([tmp_path / 'bag'], tmp_path / 'out',
                                bag2data.ConvertOptions(val_fraction=0.25))
    assert (fig['n_train'], fig['n_val']) == (3, 1)
    rows = load_rows(tmp_path / 'out' / 'hf' / 'train')
    assert len(rows) == 3 and all(len(r['images']) == 3 for r in rows)
    assert json.loads((tmp_path / 'out' / 'sharegpt' / 'val.json').read_text())


def test_sigkilled_writer_leaves_a_recoverable_bag(tmp_path: Path) -> None:
    bag = tmp_path / 'killed'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]))
    proc = subprocess.Popen([sys.executable, str(HERE / 'bag_synth.py'), str(bag)],
                            stdout=subprocess.PIPE, text=True, env=env)
    flushed = 0
    deadline = time.monotonic() + 30
    try:
        while flushed < 4 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            flushed += line.startswith('episode ')
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert flushed >= 4
    assert not (bag / 'metadata.yaml').exists()
    fig = bag2data.convert_bags([bag], tmp_path / 'out', _no_hf())
    assert fig['n_failed_bags'] == 0
    assert fig['n_truncated_files'] == 1  # no footer: reported, not fatal
    recs = [EpisodeRecord.load(p) for p in sorted((tmp_path / 'out' / 'episodes').iterdir())]
    complete = [r for r in recs if r.metadata['complete']]
    assert len(complete) >= flushed  # every episode flushed before the kill is there
    for rec in complete:
        assert len(rec.model_steps) == len(DEFAULT_PLAN)
        assert len(rec.initial_images) == 1
    # the lone .mcap file (what a user may pass directly) gives the same
    fig2 = bag2data.convert_bags(list(bag.glob('*.mcap')), tmp_path / 'out2', _no_hf())
    assert fig2['n_episodes'] == fig['n_episodes']


def _unknown_schema_bag(path: Path) -> None:
    with bagio.McapBagWriter(path) as bag:
        bag.add_topic('/reasoner/action', 'custom_msgs/msg/Action',
                      msgdef='string verb\nstring target\n', type_hash='')
        bag.write('/reasoner/action', 1, b'\x00\x01\x00\x00' + b'\x00' * 16)


def test_bad_bags_are_named_and_the_others_converted(tmp_path: Path) -> None:
    _bag(tmp_path / 'good', [{}])
    _bag(tmp_path / 'cut_src', [{}, {}], chunk_size=2_000, compression='none')
    src = next((tmp_path / 'cut_src').glob('*.mcap'))
    cut = tmp_path / 'cut.mcap'
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    junk = tmp_path / 'junk.mcap'
    junk.write_bytes(b'\x89MCAP0\r\n' + os.urandom(4000))
    notmcap = tmp_path / 'notmcap.mcap'
    notmcap.write_bytes(b'hello world' * 10)
    _unknown_schema_bag(tmp_path / 'unknown')
    with bagio.McapBagWriter(tmp_path / 'other_topics') as bag:
        bag.add_topic('/chatter', 'std_msgs/msg/String')
        bag.write('/chatter', 1, string_cdr('hi'))

    bags = [tmp_path / n for n in ('good', 'cut.mcap', 'junk.mcap', 'notmcap.mcap', 'unknown',
                                   'other_topics', 'missing')]
    fig = bag2data.convert_bags(bags, tmp_path / 'out', _no_hf())
    assert fig['n_bags'] == 7
    failed = fig['failed']
    assert set(failed) == {str(tmp_path / n) for n in ('junk.mcap', 'notmcap.mcap', 'unknown',
                                                        'other_topics', 'missing')}
    assert 'junk.mcap' in failed[str(tmp_path / 'junk.mcap')]
    assert 'not an MCAP file' in failed[str(tmp_path / 'notmcap.mcap')]
    assert 'custom_msgs/msg/Action' in failed[str(tmp_path / 'unknown')]
    assert 'unknown schema' in failed[str(tmp_path / 'unknown')]
    assert 'none of the episode topics' in failed[str(tmp_path / 'other_topics')]
    assert fig['truncated'] == [str(cut)]
    assert fig['n_episodes'] >= 2  # the good bag's and the cut bag's first episode
    assert (tmp_path / 'out' / 'episodes' / 'task-0').is_dir()


def test_cli_exit_codes_and_figures(tmp_path: Path) -> None:
    from ego_reasoner_ros.cli.main import main
    _bag(tmp_path / 'good', [{}, {}])
    _unknown_schema_bag(tmp_path / 'unknown')
    out = tmp_path / 'out'
    code = subprocess.run(
        [sys.executable, '-m', 'ego_reasoner_ros.cli.main', 'bag2data', str(tmp_path / 'good'),
         str(tmp_path / 'unknown'), '--out', str(out), '--no-hf'],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert code.returncode == 3, code.stderr
    assert f'error: {tmp_path / "unknown"}' in code.stderr
    figures = json.loads(code.stdout.strip().splitlines()[-1])
    assert figures['n_episodes'] == 2 and figures['n_bags'] == 2
    assert figures['n_failed_bags'] == 1 and figures['n_steps'] == 2 * 4
    assert main(['bag2data', str(tmp_path / 'unknown'), '--out', str(tmp_path / 'o2')]) == 1
    assert main(['bag2data', str(tmp_path / 'good'), '--out', str(tmp_path / 'o3'),
                 '--no-hf', '--successful-only']) == 0
