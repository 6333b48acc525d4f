# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The launch files and ``ego-reasoner launch`` start the same nodes with the same parameters."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest
import yaml

from ego_reasoner_ros.nodes.launcher import LAUNCH_TABLE, RECORDER, node_command
from ros_graph_helpers import DATA, REPO

LAUNCH = REPO / 'launch'


def _launch_nodes(path: Path, *, conditional: bool = False
                  ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(executable, name, yaml files) of the launch_ros Node(...) calls in a launch file.

    ``conditional`` selects the nodes with a ``condition`` (the optional recorder) instead of
    the always-started ones.
    """
    tree = ast.parse(path.read_text())
    nodes = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, 'id', None) == 'Node'):
            continue
        kw = {k.arg: k.value for k in call.keywords}
        if ('condition' in kw) != conditional:
            continue
        assert ast.literal_eval(kw['package']) == 'ego_reasoner_ros'
        assert ast.literal_eval(kw['output']) == 'screen'
        assert kw['emulate_tty'].value is True
        files = tuple(c.value for c in ast.walk(kw['parameters'])
                      if isinstance(c, ast.Constant) and str(c.value).endswith('.yaml'))
        nodes.append((ast.literal_eval(kw['executable']), ast.literal_eval(kw['name']), files))
    return nodes


@pytest.mark.parametrize('kind', ['sim', 'robot'])
def test_launch_file_matches_the_launcher_table(kind):
    nodes = _launch_nodes(LAUNCH / f'{kind}.launch.py')
    table = [(s.executable, s.name, s.param_files) for s in LAUNCH_TABLE[kind]]
    assert nodes == table
    optional = _launch_nodes(LAUNCH / f'{kind}.launch.py', conditional=True)
    assert optional == [(RECORDER.executable, RECORDER.name, RECORDER.param_files)]
    nodes = nodes + optional
    for _exe, name, files in nodes:
        for f in files:
            params = yaml.safe_load((REPO / 'config' / f).read_text())
            assert list(params) == [name], f'{f} configures node {name}'
            assert 'ros__parameters' in params[name]


@pytest.mark.parametrize('kind', ['sim', 'robot'])
def test_launch_arguments_are_described(kind):
    tree = ast.parse((LAUNCH / f'{kind}.launch.py').read_text())
    declared = [c for c in ast.walk(tree) if isinstance(c, ast.Call)
                and getattr(c.func, 'id', None) == 'DeclareLaunchArgument']
    assert declared
    for c in declared:
        desc = {k.arg: k.value for k in c.keywords}['description']
        assert ast.literal_eval(desc).strip()


def test_sim_launch_confines_dds_and_robot_launch_does_not():
    sim = (LAUNCH / 'sim.launch.py').read_text()
    robot = (LAUNCH / 'robot.launch.py').read_text()
    assert 'fastdds_localhost.xml' in sim and 'FASTDDS_DEFAULT_PROFILES_FILE' in sim
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in robot


def test_node_command_uses_the_parameter_files_and_quotes_overrides(tmp_path):
    spec = LAUNCH_TABLE['sim'][1]
    cmd = node_command(spec, tmp_path, {'policy': 'expert', 'exit_after_task': True,
                                        'seed': 3, 'run_dir': '/a:b'}, python='py')
    assert cmd[:3] == ['py', '-m', 'ego_reasoner_ros.nodes.reasoner_node']
    assert cmd[cmd.index('--params-file') + 1] == str(tmp_path / 'reasoner.yaml')
    assert '__node:=reasoner' in cmd
    assert "policy:='expert'" in cmd and 'exit_after_task:=true' in cmd and 'seed:=3' in cmd
    assert "run_dir:='/a:b'" in cmd


def test_launch_cmd_parser_registers_launch():
    from ego_reasoner_ros.cli import launch_cmd
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='cmd')
    launch_cmd.add_parser(sub)
    args = parser.parse_args(['launch', 'sim', '--case', '3', '--timeout', '5'])
    assert args.kind == 'sim' and args.case == 3 and args.func is launch_cmd.run


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.skipif(not (DATA / 'test_public.json').is_file(), reason='no public data')
def test_launch_sim_demo_runs_one_task_and_leaves_a_replay(tmp_path, ros_env, capsys,
                                                           monkeypatch):
    from ego_reasoner_ros.cli import launch_cmd
    monkeypatch.setenv('EGO_REASONER_DATA', str(DATA))
    parser = argparse.ArgumentParser()
    launch_cmd.add_parser(parser.add_subparsers(dest='cmd'))
    args = parser.parse_args(['launch', 'sim', '--case', '0', '--runs-dir', str(tmp_path),
                              '--timeout', '120',
                              '--domain-id', ros_env['ROS_DOMAIN_ID']])
    code = launch_cmd.run(args)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert '[reasoner]' in out and 'thought:' in out and 'action: navigate to' in out
    run_dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(run_dirs) == 1
    run_dir = run_dirs[0]
    assert f'run folder: {run_dir.resolve()}' in out
    assert (run_dir / 'replay.html').is_file() and (run_dir / 'replay.gif').is_file()
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['terminated_by'] == 'end'
    assert json.loads((run_dir / 'task.json').read_text())['scene'] == 'FloorPlan1'
