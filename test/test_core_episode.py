# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Episode records: save/load, atomic writes, sharegpt export, trajectory entries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core_loop_fakes import FakeEnv, canon, decide
from ego_reasoner_ros.core import episode as episode_mod
from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.loop import NO_SUITABLE_OBJECT, run_episode
from ego_reasoner_ros.core.policy import ScriptedPolicy
from ego_reasoner_ros.core.prompts import IMAGE_PLACEHOLDER, PromptBuilder, PromptConfig

OUTPUTS = [decide('navigate to Apple'), decide('pickup Apple'), decide('open Microwave'),
           'no decision here', decide('observe'), decide('pickup Zebra'),
           decide('navigate to Fridge'), decide('put Fridge'), decide('end', 'Done.')]


@pytest.fixture
def record():
    return run_episode(ScriptedPolicy(OUTPUTS), FakeEnv(size=(9, 11), seed=3),
                       'Put the Apple in the Fridge.', 'pickup_and_put', scene='FloorPlan1',
                       episode_id='ep-1', builder=PromptBuilder(PromptConfig()))


def _all_images(rec):
    return list(rec.initial_images) + [im for s in rec.steps for im in s.images]


def test_save_load_round_trip_is_pixel_exact(record, tmp_path):
    path = record.save(tmp_path / 'ep-1')
    assert (path / 'episode.json').is_file()
    assert len(list((path / 'images').glob('*.png'))) == len(_all_images(record)) == 8
    loaded = EpisodeRecord.load(path)
    for a, b in zip(_all_images(record), _all_images(loaded), strict=True):
        assert isinstance(b, np.ndarray) and b.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
    assert loaded.episode_id == 'ep-1' and loaded.scene == 'FloorPlan1'
    assert loaded.terminated_by == record.terminated_by == 'end'
    assert loaded.prompt_config == record.prompt_config
    assert loaded.initial_legal_objects == record.initial_legal_objects
    for a, b in zip(record.steps, loaded.steps, strict=True):
        assert (a.index, a.raw_output, a.thought, a.action, a.executed, a.success,
                a.feedback, a.legal_objects, a.from_model) == \
               (b.index, b.raw_output, b.thought, b.action, b.executed, b.success,
                b.feedback, b.legal_objects, b.from_model)
        assert (a.invalid is None) == (b.invalid is None)
        if a.invalid is not None:
            assert (a.invalid.reason, a.invalid.verb) == (b.invalid.reason, b.invalid.verb)
    assert canon(loaded.to_messages()) == canon(record.to_messages())
    assert loaded.trajectory_entries() == record.trajectory_entries()


def test_lazy_load_keeps_paths_and_resaves(record, tmp_path):
    record.save(tmp_path / 'a')
    lazy = EpisodeRecord.load(tmp_path / 'a', lazy_images=True)
    assert all(isinstance(im, str) and im.endswith('.png') for im in _all_images(lazy))
    row = PromptBuilder.to_sharegpt(lazy.to_messages())  # paths taken from the blocks
    assert [p[len(str((tmp_path / 'a').resolve())) + 1:] for p in row['images']] == \
        lazy.message_image_names()
    with pytest.raises(ValueError, match='image_paths'):
        PromptBuilder.to_sharegpt(record.to_messages())  # in-memory pixels have no path
    lazy.save(tmp_path / 'b')
    again = EpisodeRecord.load(tmp_path / 'b')
    for a, b in zip(_all_images(record), _all_images(again), strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_is_atomic_when_writing_fails(record, tmp_path, monkeypatch):
    calls = {'n': 0}
    real = episode_mod.imgs.save_png

    def flaky(image, path):
        calls['n'] += 1
        if calls['n'] == 3:
            raise OSError('disk full')
        return real(image, path)

    monkeypatch.setattr(episode_mod.imgs, 'save_png', flaky)
    with pytest.raises(OSError, match='disk full'):
        record.save(tmp_path / 'ep')
    assert list(tmp_path.iterdir()) == []  # neither the record nor a temporary folder


def test_save_refuses_to_overwrite_unless_asked(record, tmp_path):
    record.save(tmp_path / 'ep')
    with pytest.raises(FileExistsError):
        record.save(tmp_path / 'ep')
    record.metadata['note'] = 'second'
    record.save(tmp_path / 'ep', overwrite=True)
    assert EpisodeRecord.load(tmp_path / 'ep').metadata['note'] == 'second'
    assert [p.name for p in tmp_path.iterdir()] == ['ep']


def test_sharegpt_placeholders_match_images(record, tmp_path):
    row = record.to_sharegpt(image_prefix='episodes/ep-1')
    text = ''.join(m['content'] for m in row['messages'])
    assert text.count(IMAGE_PLACEHOLDER) == len(row['images'])
    assert all(p.startswith('episodes/ep-1/images/') for p in row['images'])
    roles = [m['role'] for m in row['messages']]
    assert roles[0] == 'system' and roles[1] == 'user' and roles[-1] == 'assistant'
    assert sum(r == 'assistant' for r in roles) == len(record.model_steps)
    # Every referenced file exists once the record is saved under that prefix.
    record.save(tmp_path / 'episodes' / 'ep-1')
    assert all((tmp_path / p).is_file() for p in row['images'])
    # init + navigate + pickup + observe (3) + navigate + put; the failed steps add none.
    blocks = PromptBuilder.count_images(record.to_messages())
    assert blocks == len(row['images']) == 1 + 1 + 1 + 3 + 1 + 1
    json.dumps(row)  # JSON-ready


def test_trajectory_entries_follow_the_reference_shape(record):
    entries = record.trajectory_entries()
    assert len(entries) == 1 + len(record.steps)
    assert entries[0]['action'] == 'init' and entries[0]['success'] == 1
    assert [e['action'] for e in entries] == [
        'init', 'navigate to', 'pickup', 'open', 'error', 'observe', 'pickup', 'navigate to',
        'put', 'end']
    assert [e['success'] for e in entries] == [1, 1, 1, 0, 0, 1, 0, 1, 1, 1]
    assert entries[6]['object'] == NO_SUITABLE_OBJECT
    assert entries[3]['errorInfo'] and entries[2]['errorInfo'] == ''
    assert set(entries[1]) == {'response', 'action', 'object', 'legal_locations',
                               'legal_objects', 'success', 'errorInfo', 'images'}
    assert entries[-1]['legal_objects'] == record.steps[-2].legal_objects


def test_load_rejects_missing_or_foreign_folders(tmp_path):
    with pytest.raises(DataError, match='no episode.json'):
        EpisodeRecord.load(tmp_path)
    (tmp_path / 'episode.json').write_text('{"format": "something-else"}')
    with pytest.raises(DataError, match='not an episode record'):
        EpisodeRecord.load(tmp_path)
    (tmp_path / 'episode.json').write_text('{not json')
    with pytest.raises(DataError, match='not valid JSON'):
        EpisodeRecord.load(tmp_path)


def test_load_reports_missing_image(record, tmp_path):
    path = record.save(tmp_path / 'ep')
    (path / 'images' / 'init_0.png').unlink()
    with pytest.raises(DataError, match='missing image'):
        EpisodeRecord.load(path)


def test_terminated_by_is_validated():
    with pytest.raises(ValueError, match='terminated_by'):
        EpisodeRecord(instruction='x', terminated_by='finished')
