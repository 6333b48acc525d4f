# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Training configurations: one override rule, read from the dataclass fields."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pytest

from ego_reasoner_ros.training.settings import GROUP, load_config


@dataclass
class _Cfg:
    steps: int = 1
    group: dict[str, Any] = field(default_factory=dict, metadata=GROUP)
    choice: dict[str, Any] = field(default_factory=dict)


def _write(tmp_path, text: str):
    path = tmp_path / 'c.yaml'
    path.write_text(text, encoding='utf-8')
    return path


def test_groups_merge_other_fields_are_replaced(tmp_path):
    path = _write(tmp_path, 'steps: 3\ngroup: {a: 1, b: {c: 2, d: 3}}\nchoice: {x: 1, y: 2}\n')
    cfg = load_config(path, ['group={b: {c: 5}}', 'group.e=7', 'choice={y: 4}', 'steps=9'],
                      _Cfg)
    assert cfg.group == {'a': 1, 'b': {'c': 5, 'd': 3}, 'e': 7}
    assert cfg.choice == {'y': 4}
    assert cfg.steps == 9
    # no file: the overrides alone, on the dataclass defaults
    assert load_config(None, ['group.a=1'], _Cfg).group == {'a': 1}


def test_unknown_keys_and_bad_overrides_are_errors(tmp_path):
    with pytest.raises(ValueError, match='unknown config keys'):
        load_config(_write(tmp_path, 'stepz: 1\n'), [], _Cfg)
    with pytest.raises(ValueError, match='key=value'):
        load_config(None, ['steps'], _Cfg)
    with pytest.raises(ValueError, match='mapping'):
        load_config(_write(tmp_path, '- 1\n'), [], _Cfg)


def test_the_training_configs_mark_their_option_groups():
    from ego_reasoner_ros.training.grpo import GRPOTrainConfig

    groups = {f.name for f in fields(GRPOTrainConfig) if f.metadata.get('group')}
    assert groups == {'tiny', 'lora', 'trainer', 'env_reward', 'rollout_reward'}
