# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The one expert registry: what datagen, its CLI, the dataset card and the policy specs read."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

from ego_reasoner_ros.training import dataset_formats, datagen, experts


def test_datagen_reads_the_registry():
    assert datagen.EXPERTS == experts.expert_names() == tuple(experts.EXPERTS)
    assert dataset_formats.EXPERT_SEARCH == {n: e.does for n, e in experts.EXPERTS.items()}
    assert experts.get_expert('engine').search is None
    assert {e.search for e in experts.EXPERTS.values()} - {None} == {'view', 'probe', 'look'}


def test_every_expert_names_a_registered_policy_twin():
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers the scripted specs)
    from ego_reasoner_ros.core.policy import registered_policies

    assert {e.policy for e in experts.EXPERTS.values()} <= set(registered_policies())


def test_datagen_help_lists_the_registry(capsys):
    from ego_reasoner_ros.cli.main import main

    with pytest.raises(SystemExit):
        main(['datagen', '--help'])
    out = capsys.readouterr().out
    assert all(name in out for name in experts.EXPERTS)
    assert 'probe-segment' not in out and 'probe-numbered' not in out


@pytest.mark.parametrize('option', sorted(experts.REMOVED))
def test_every_removed_option_names_its_training_log_entry(option):
    with pytest.raises(experts.RemovedOptionError, match=r'docs/training-log\.md, "Session \d+"'):
        experts.check_removed(option)
    experts.check_removed('look=none')  # what remains is not touched
    session = re.search(r'"(Session \d+)"', experts.REMOVED[option]).group(1)
    log = (Path(__file__).resolve().parents[1] / 'docs' / 'training-log.md').read_text()
    assert f'## {session}:' in log
