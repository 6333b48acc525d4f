# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The nodes' parameters are stated once: the dataclasses, held against config/*.yaml and
the README's parameter table; bad values are refused with the parameter's name (exit 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from ego_reasoner_ros.nodes.params import (NODE_PARAMS, ExecutorParams, NodeParams,
                                           ParamError, RecorderParams, ReasonerParams,
                                           SimBridgeParams)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'config'

#: parameter file -> the node it configures
PARAM_FILES = {'sim_bridge.yaml': 'sim_bridge', 'reasoner.yaml': 'reasoner',
               'executor.yaml': 'action_executor', 'robot_executor.yaml': 'action_executor',
               'recorder.yaml': 'recorder'}
#: nested, dynamically declared parameters (declared by their own code, not a field)
NESTED = {'action_executor': {'manipulation'}}
#: files that override the defaults on purpose; the others restate them exactly
OVERRIDING_FILES = {'robot_executor.yaml'}  # a robot: lower limits, approvals, Nav2 wiring
#: values the launch supplies on top of a file (robot.launch.py's semantic_map:=...)
LAUNCH_SUPPLIED = {'robot_executor.yaml': {'semantic_map': '/path/kitchen.yaml'}}
#: fields the README need not document: {(node, field): reason}. Empty: all are documented.
INTERNAL: dict[tuple[str, str], str] = {}

_PY_TYPE = {str: str, int: int, float: float, bool: bool}


def _fields(cls: type[NodeParams]) -> dict[str, Any]:
    return cls.field_types()


def _yaml_params(fname: str) -> tuple[str, dict[str, Any]]:
    data = yaml.safe_load((CONFIG / fname).read_text())
    assert isinstance(data, dict) and len(data) == 1, f'{fname}: one node per file'
    (node, body), = data.items()
    assert set(body) == {'ros__parameters'}, f'{fname}: {node}: ros__parameters only'
    return node, body['ros__parameters']


def test_every_parameter_file_is_held():
    shipped = {p.name for p in CONFIG.glob('*.yaml')} - {'semantic_map_example.yaml'}
    assert shipped == set(PARAM_FILES)


@pytest.mark.parametrize('fname', sorted(PARAM_FILES))
def test_parameter_file_matches_the_dataclass(fname):
    node, params = _yaml_params(fname)
    assert node == PARAM_FILES[fname]
    cls = NODE_PARAMS[node]
    types = _fields(cls)
    flat = {k: v for k, v in params.items() if k not in NESTED.get(node, set())}
    unknown = set(flat) - set(types)
    assert not unknown, f'{fname}: not parameters of {cls.__name__}: {sorted(unknown)}'
    for key, value in flat.items():
        kind = types[key]
        if kind is tuple:
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), (
                f'{fname}: {key} must be a list of strings, got {value!r}')
        else:  # exact: ROS would refuse an int for a double and vice versa
            assert type(value) is _PY_TYPE[kind], (
                f'{fname}: {key} is {type(value).__name__} {value!r}, '
                f'{cls.__name__}.{key} is {kind.__name__}')
    loaded = cls.from_mapping(flat | LAUNCH_SUPPLIED.get(fname, {}))  # its own checks pass
    if fname not in OVERRIDING_FILES:
        defaults = cls()
        differ = {k: (getattr(loaded, k), getattr(defaults, k)) for k in flat
                  if getattr(loaded, k) != getattr(defaults, k)}
        assert not differ, f'{fname} disagrees with the code defaults: {differ}'


def test_robot_file_overrides_what_a_robot_needs():
    _node, params = _yaml_params('robot_executor.yaml')
    flat = {k: v for k, v in params.items() if k != 'manipulation'}
    with pytest.raises(ParamError, match='semantic_map'):  # the launch must supply it
        ExecutorParams.from_mapping(flat)
    robot = ExecutorParams.from_mapping(flat | LAUNCH_SUPPLIED['robot_executor.yaml'])
    assert robot.backend == 'robot' and robot.approval_verbs and robot.allowed_verbs
    assert 0 < robot.max_actions < ExecutorParams().max_actions
    assert set(params['manipulation']) == {v.replace(' ', '_') for v in robot.manipulation_verbs}


def _readme_rows() -> list[tuple[list[str], list[str], str]]:
    text = (ROOT / 'README.md').read_text()
    section = text.split('### Parameters', 1)[1].split('\n#', 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 4 or cells[0] in ('node', '---') or set(cells[0]) <= {'-'}:
            continue
        nodes = [re.sub(r'\s*\(.*\)$', '', n).strip() for n in cells[0].split(',')]
        names = re.findall(r'`([^`]+)`', cells[1])
        assert names, f'README parameter row without a `name`: {line}'
        rows.append((nodes, names, cells[2]))
    assert rows, 'README: no parameter table under ### Parameters'
    return rows


def test_readme_table_documents_exactly_the_fields():
    documented: set[tuple[str, str]] = set()
    for nodes, names, _default in _readme_rows():
        for node in nodes:
            assert node in NODE_PARAMS, f'README names an unknown node {node!r}'
            types = _fields(NODE_PARAMS[node])
            for name in names:
                base = name.split('.', 1)[0]
                if '.' in name:
                    assert base in NESTED.get(node, set()), f'README: {node} {name}: not nested'
                    continue
                assert name in types, f'README documents {node} {name!r}, which does not exist'
                documented.add((node, name))
    every = {(node, f) for node, cls in NODE_PARAMS.items() for f in _fields(cls)}
    missing = every - documented - set(INTERNAL)
    assert not missing, f'fields missing from the README table: {sorted(missing)}'
    assert not set(INTERNAL) & documented, 'a documented field is listed as internal'


def _literal(cell: str) -> Any:
    """The default a one-parameter row states first (None when it is prose)."""
    m = re.match(r'(true|false|-?\d+(?:\.\d+)?|`[^`]*`)(?=\s|$|\(|,)', cell)
    if not m:
        return None
    tok = m.group(1)
    if tok.startswith('`'):
        inner = tok[1:-1]
        return '' if inner == "''" else inner
    if tok in ('true', 'false'):
        return tok == 'true'
    return float(tok) if '.' in tok else int(tok)


def test_readme_defaults_of_single_parameter_rows_are_the_code_defaults():
    checked = 0
    for nodes, names, cell in _readme_rows():
        stated = _literal(cell)
        if len(names) != 1 or stated is None or '.' in names[0]:
            continue
        for node in nodes:
            actual = getattr(NODE_PARAMS[node](), names[0])
            assert actual == stated, f'README: {node} {names[0]} default {stated!r} != {actual!r}'
            checked += 1
    assert checked >= 10


# ------------------------------------------------------------------- validation
@pytest.mark.parametrize('cls, values, name', [
    (SimBridgeParams, {'width': 'wide'}, 'width'),
    (SimBridgeParams, {'width': 0}, 'width'),
    (SimBridgeParams, {'backend': 'unity'}, 'backend'),
    (SimBridgeParams, {'fov_deg': 180.0}, 'fov_deg'),
    (SimBridgeParams, {'depth': 1}, 'depth'),
    (ReasonerParams, {'parser_mode': 'loose'}, 'parser_mode'),
    (ReasonerParams, {'max_steps': -1}, 'max_steps'),
    (ReasonerParams, {'max_steps': True}, 'max_steps'),
    (ReasonerParams, {'action_resend_s': 0.0}, 'action_resend_s'),
    (ExecutorParams, {'backend': 'robot'}, 'semantic_map'),
    (ExecutorParams, {'allowed_verbs': 'pickup'}, 'allowed_verbs'),
    (ExecutorParams, {'max_actions': -5}, 'max_actions'),
    (RecorderParams, {'compression': 'gzip'}, 'compression'),
    (RecorderParams, {'extra_topics': ['odom']}, 'extra_topics'),
    (RecorderParams, {'json_depth': 0}, 'json_depth'),
    (RecorderParams, {'no_such': 1}, 'no_such'),
])
def test_bad_values_name_the_parameter(cls, values, name):
    with pytest.raises(ParamError, match=f"parameter '{name}'") as err:
        cls.from_mapping(values)
    assert err.value.name == name


def test_values_are_normalised():
    p = SimBridgeParams.from_mapping({'fov_deg': 60, 'seed': 3})
    assert p.fov_deg == 60.0 and type(p.fov_deg) is float and p.seed == 3
    e = ExecutorParams.from_mapping({'allowed_verbs': [''], 'approval_verbs': ['pickup', '']})
    assert e.allowed_verbs == () and e.approval_verbs == ('pickup',)
    assert ExecutorParams.ros_defaults()['allowed_verbs'] == ['']  # ROS needs a typed list
    r = RecorderParams.from_mapping({'extra_topics': [' odom : nav_msgs/msg/Odometry ', '']})
    assert r.topics() == {'odom': 'nav_msgs/msg/Odometry'}
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.width = 1  # type: ignore[misc]


def test_node_with_a_bad_parameter_exits_2_naming_it(ros_env):
    pytest.importorskip('rclpy')
    proc = subprocess.run([sys.executable, '-m', 'ego_reasoner_ros.nodes.sim_bridge_node',
                           '--ros-args', '-p', 'width:=wide', '-p', 'reset_on_start:=false'],
                          env=ros_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "parameter 'width'" in proc.stderr and 'Traceback' not in proc.stderr
