# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Every field of a command's dataclass has an option (or is declared), and vice versa."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

import pytest

from ego_reasoner_ros.cli import datagen_cmd, eval_cmd, harvest_cmd
from ego_reasoner_ros.cli.options import OptionMap, check_option_map, fill


def _command_parser(module) -> argparse.ArgumentParser:
    sub = argparse.ArgumentParser().add_subparsers()
    return module.add_parser(sub)


@pytest.mark.parametrize('module, options', [
    (eval_cmd, eval_cmd.eval_options),
    (datagen_cmd, datagen_cmd.datagen_options),
    (harvest_cmd, harvest_cmd.harvest_options),
])
def test_options_match_the_dataclass(module, options):
    assert check_option_map(_command_parser(module), options()) == []


def test_check_finds_a_field_without_option_and_an_unused_option():
    @dataclass
    class Cfg:
        a: int = 0
        b: int = 0
        c: int = 0

    parser = argparse.ArgumentParser()
    parser.add_argument('--a', type=int, default=0)
    parser.add_argument('--no-c', action='store_true')
    parser.add_argument('--stray', default=None)
    problems = check_option_map(parser, OptionMap(Cfg, derived={'c': ('no_c',)}))
    assert any('Cfg.b' in p for p in problems)
    assert any("'stray'" in p for p in problems)
    assert len(problems) == 2
    assert check_option_map(parser, OptionMap(Cfg, derived={'c': ('no_c',)},
                                              internal=frozenset({'b'}),
                                              extra=frozenset({'stray'}))) == []


def test_fill_builds_the_config_from_parsed_options(tmp_path):
    (tmp_path / 'tasks.json').write_text('{"tasks": []}', encoding='utf-8')
    data = str(tmp_path)
    parser = _command_parser(harvest_cmd)
    args = parser.parse_args(['--policy', 'probe', '--data', data, '--out', 'O', '--n', '3',
                              '--policy-arg', 'torch_threads=1', '--no-progress'])
    cfg = fill(harvest_cmd.harvest_options(), args, out_dir=args.out,
               policy_kwargs={'torch_threads': 1}, progress=False)
    assert (cfg.policy, cfg.data, cfg.out_dir, cfg.n, cfg.progress) == \
        ('probe', data, 'O', 3, False)
    assert {f.name for f in fields(cfg)} >= {'policy', 'data', 'out_dir'}
    with pytest.raises(TypeError, match='derived fields'):
        fill(harvest_cmd.harvest_options(), args, out_dir='O')
