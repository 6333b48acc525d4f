# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""One exit-code convention for every command: 0 done, 1 the run failed, 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

from ego_reasoner_ros.cli.main import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main

REPO = Path(__file__).resolve().parents[1]


def test_the_convention_is_the_one_the_readme_states() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT) == (0, 1, 2)
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    section = readme[readme.index('### Exit codes'):]
    assert re.search(r'\*\*0\*\* done; \*\*1\*\* the run failed', section)
    assert '**2** bad input, nothing' in section


def test_usage_errors_and_no_command(capsys) -> None:
    assert main([]) == EXIT_OK  # help
    with pytest.raises(SystemExit) as exc:
        main(['no-such-command'])
    assert exc.value.code == EXIT_BAD_INPUT
    with pytest.raises(SystemExit) as exc:
        main(['eval', '--policy', 'expert'])  # required options missing
    assert exc.value.code == EXIT_BAD_INPUT


@pytest.mark.parametrize('argv, message', [
    (['harvest', '--policy', 'exprt', '--data', '{tmp}', '--out', '{tmp}/h'],
     "Did you mean 'expert'"),
    (['harvest', '--policy', 'probe', '--data', '{tmp}/none', '--out', '{tmp}/h'],
     'no tasks.json'),
    (['compare', 'a={tmp}', 'b={tmp}'], 'no summary.json'),
    (['eval-merge', '{tmp}', '--out', '{tmp}/m'], 'results.jsonl'),
    (['datagen', '--check', '{tmp}/none'], ''),
    (['datagen', '--scenes', '{tmp}', '--out', '{tmp}/d', '--n', '2'], ''),
])
def test_bad_input_exits_2_for_every_command(tmp_path, capsys, argv, message) -> None:
    (tmp_path / 'tasks.json').write_text('{"config": {}, "tasks": []}')
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err, err
    assert not (tmp_path / 'h').exists()  # a refused harvest writes nothing


def test_a_failed_check_exits_1(tmp_path, capsys) -> None:
    """``datagen --check`` on a dataset whose trajectory no longer replays: the check failed."""
    from ego_reasoner_ros.training import datagen

    out = tmp_path / 'data'
    datagen.run_datagen(datagen.DatagenConfig(out_dir=out, procedural=1, n=2, image_size=56,
                                              expert='probe', seed=1, progress=False))
    assert main(['datagen', '--check', str(out), '--no-progress']) == EXIT_OK
    episode = next((out / 'episodes').iterdir()) / 'episode.json'
    record = json.loads(episode.read_text())
    steps = [s for s in record['steps'] if s.get('action')]
    steps[0]['action'] = {'verb': 'pickup', 'target': 'Television'}
    episode.write_text(json.dumps(record))
    assert main(['datagen', '--check', str(out), '--no-progress']) == EXIT_FAILED
