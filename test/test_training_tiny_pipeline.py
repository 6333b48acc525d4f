# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Options added for the tiny-model pipeline: brief thoughts, blanked images, policy args."""

from __future__ import annotations

import json
from pathlib import Path
import random

import numpy as np
import pytest

from ego_reasoner_ros.cli.eval_cmd import parse_policy_args
from ego_reasoner_ros.cli.main import main
from ego_reasoner_ros.core.parser import extract_thought
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.training import thoughts
from ego_reasoner_ros.training.datagen import DatagenConfig, run_datagen
from ego_reasoner_ros.training.evaluate import BlankImagesPolicy
from data_paths import ER_DATA


def test_shorten_styles() -> None:
    text = ('<Observation>I see a sofa and a lamp.</Observation><Planning>Go to the desk '
            'next. Then look inside the drawer.</Planning><DecisionMaking>navigate to Desk'
            '</DecisionMaking>')
    assert thoughts.shorten(text, 'full') == text
    assert thoughts.shorten(text, 'none') == ''
    assert thoughts.shorten(text) == '<Planning>Go to the desk next.</Planning>'
    long = '<Reflection>' + ' '.join(f'w{i}' for i in range(30)) + '</Reflection>'
    short = thoughts.shorten(long, max_words=5)
    assert short == '<Reflection>w0 w1 w2 w3 w4.</Reflection>'
    only_obs = '<Observation>I see a bed. And a lamp.</Observation>'
    assert thoughts.shorten(only_obs) == '<Observation>I see a bed.</Observation>'
    with pytest.raises(ValueError, match='thought style'):
        thoughts.shorten(text, 'verbose')


def test_shorten_on_composed_thoughts_keeps_one_block() -> None:
    ctx = thoughts.ThoughtContext(task='find the apple', goal='find the apple',
                                  visible=['sofa', 'lamp'], target='apple', place='fridge',
                                  candidates=['fridge', 'counter top'],
                                  next_step='go to the fridge', missed_at='table')
    rng = random.Random(0)
    for kind in (thoughts.StepKind.FIRST, thoughts.StepKind.SEARCH, thoughts.StepKind.MISS,
                 thoughts.StepKind.FINAL):
        full, _ = thoughts.compose(kind, ctx, rng)
        brief = thoughts.shorten(full)
        assert brief.count('</') == 1 and len(brief.split()) <= 13
        assert len(brief) < len(full) or full.count('</') == 1


def test_datagen_brief_thoughts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='thought_style'):
        DatagenConfig(out_dir=tmp_path / 'x', procedural=1, thought_style='long')
    out = tmp_path / 'ds'
    cfg = DatagenConfig(out_dir=out, procedural=3, n=6, image_size=64, workers=1,
                        formats=('sharegpt',), progress=False, thought_style='brief')
    summary = run_datagen(cfg)
    assert summary['n_trajectories'] == 6
    rows = json.loads((out / 'sharegpt' / 'train.json').read_text())
    rows += json.loads((out / 'sharegpt' / 'val.json').read_text())
    replies = [m['content'] for r in rows for m in r['messages'] if m['role'] == 'assistant']
    assert replies
    for reply in replies:
        thought = extract_thought(reply)
        assert '<DecisionMaking>' in reply
        assert thought.count('</') <= 1 and len(thought.split()) <= 13, reply
    tasks = json.loads((out / 'tasks.json').read_text())
    assert tasks['config']['thought_style'] == 'brief'


def test_parse_policy_args() -> None:
    assert parse_policy_args(['max_new_tokens=64', 'name=x', 'reuse_prefix=false']) == {
        'max_new_tokens': 64, 'name': 'x', 'reuse_prefix': False}
    with pytest.raises(ValueError, match='KEY=VALUE'):
        parse_policy_args(['max_new_tokens'])


class _Spy(Policy):
    name = 'spy'

    def __init__(self) -> None:
        self.seen: list[PolicyInput] = []
        self.closed = False

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        self.instruction = instruction

    def act(self, inp: PolicyInput) -> str:
        self.seen.append(inp)
        return '<DecisionMaking>end</DecisionMaking>'

    def close(self) -> None:
        self.closed = True


def test_blank_images_policy_hides_pixels_keeps_layout() -> None:
    spy = _Spy()
    policy = BlankImagesPolicy(spy)
    frame = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    messages = [{'role': 'system', 'content': [{'type': 'text', 'text': 'sys'}]},
                {'role': 'user', 'content': [{'type': 'image', 'image': frame},
                                             {'type': 'text', 'text': 'go'}]}]
    policy.reset('find the apple')
    out = policy.act(PolicyInput(messages=messages, images=[frame], instruction='x', step=1))
    assert out.endswith('</DecisionMaking>') and spy.instruction == 'find the apple'
    seen = spy.seen[0]
    blocks = seen.messages[1]['content']
    assert [b['type'] for b in blocks] == ['image', 'text'] and blocks[1]['text'] == 'go'
    assert blocks[0]['image'].shape == frame.shape
    assert np.all(blocks[0]['image'] == BlankImagesPolicy.GREY)
    assert np.all(seen.images[0] == BlankImagesPolicy.GREY)
    assert messages[1]['content'][0]['image'] is frame  # the caller's messages are untouched
    assert policy.name == 'spy+blank-images'
    policy.close()
    assert spy.closed


DATA = ER_DATA


@pytest.mark.skipif(not (DATA / 'test_public.json').exists(), reason='ER data not available')
def test_eval_cli_blank_images_and_policy_args(tmp_path: Path, capsys) -> None:
    cases = json.loads((DATA / 'test_public.json').read_text())[:3]
    tasks = tmp_path / 'tasks.json'
    tasks.write_text(json.dumps(cases))
    base = ['eval', '--tasks', str(tasks), '--scenes', str(DATA / 'scenes'), '--no-plots',
            '--no-progress', '--blank-images']
    # a keyword the policy does not take is refused before any case runs
    rc = main([*base, '--policy', 'heuristic', '--out', str(tmp_path / 'bad'),
               '--policy-arg', 'nonexistent_option=1'])
    assert rc == 2 and "'nonexistent_option'" in capsys.readouterr().err
    assert not (tmp_path / 'bad').exists()
    # one it takes reaches the factory: a random policy that always ends at once
    rc = main([*base, '--policy', 'random', '--out', str(tmp_path / 'o'),
               '--policy-arg', 'end_probability=1.0'])
    assert rc == 0
    summary = json.loads((tmp_path / 'o' / 'summary.json').read_text())
    assert summary['n_errors'] == 0 and summary['policy'] == 'random+blank-images'
    rows = [json.loads(line) for line in (tmp_path / 'o' / 'results.jsonl').open()]
    assert all(r['terminated_by'] == 'end' and r['n_steps'] == 1 for r in rows), rows
    rc = main(['eval', '--policy', 'heuristic', '--tasks', str(tasks), '--scenes',
               str(DATA / 'scenes'), '--out', str(tmp_path / 'o2'), '--no-plots',
               '--no-progress', '--blank-images'])
    assert rc == 0
    summary = json.loads((tmp_path / 'o2' / 'summary.json').read_text())
    assert summary['n_tasks'] == 3 and summary['n_errors'] == 0
    assert summary['policy'] == 'heuristic+blank-images'


def test_sharegpt_folder_with_llamafactory_dataset_info_loads(tmp_path: Path) -> None:
    from ego_reasoner_ros.training import train_data

    folder = train_data.write_synthetic_sharegpt(tmp_path / 'sg', n_rows=2)
    (folder / 'data.json').rename(folder / 'train.json')
    (folder / 'dataset_info.json').write_text(json.dumps({'er': {'file_name': 'train.json'}}))
    rows = train_data.load_rows(folder)
    assert len(rows) == 2 and rows[0]['images']


def test_datagen_failure_probes_then_recovery(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='failure_prob'):
        DatagenConfig(out_dir=tmp_path / 'x', procedural=1, failure_prob=1.5)
    out = tmp_path / 'ds'
    cfg = DatagenConfig(out_dir=out, procedural=3, n=8, image_size=64, workers=1,
                        formats=('sharegpt',), progress=False, thought_style='brief',
                        failure_prob=0.6)
    assert run_datagen(cfg)['n_trajectories'] == 8
    rows = json.loads((out / 'sharegpt' / 'train.json').read_text())
    rows += json.loads((out / 'sharegpt' / 'val.json').read_text())
    recoveries = 0
    for row in rows:
        msgs = row['messages']
        for i, msg in enumerate(msgs):
            if msg['role'] == 'user' and ' failed: ' in msg['content']:
                probe, reply = msgs[i - 1]['content'], msgs[i + 1]['content']
                assert '<DecisionMaking>navigate to ' in probe
                assert reply.startswith('<Reflection>') and 'there is no' in reply
                assert '<DecisionMaking>' in reply and reply != probe
                recoveries += 1
    assert recoveries >= 2
    records = [json.loads(p.read_text()) for p in (out / 'episodes').glob('*/episode.json')]
    assert sum(r['metadata']['expert']['probes'] for r in records) == recoveries


def test_resume_does_not_swallow_a_following_override():
    import argparse

    from ego_reasoner_ros.training.sft import add_train_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(['--config', 'training/configs/tiny_sft.yaml', '--resume',
                              'max_steps=7'])
    cfg = config_from_args(args)
    assert args.resume is True
    assert cfg.max_steps == 7
