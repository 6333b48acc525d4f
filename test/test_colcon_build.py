# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``colcon build`` of a copy of the package, then the sim graph from the install space.

The way a ROS 2 user installs the package: colcon (from PyPI, in the project's venv) builds
``ws/src/ego_reasoner_ros`` into ``ws/install``; the graph then runs from the installed
executables with the installed parameter files, as ``sim.launch.py`` declares it (the launch
file is evaluated against stand-ins of ``launch``/``launch_ros``, which have no PyPI wheels),
with the launch file's default arguments and no data set. DDS stays on localhost.

Also here: the default scene those defaults name (``procedural:kitchen:0``) and the message
of a scene name that needs the data.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import runpy
import shutil
import subprocess
import sys
import types
from typing import Any

import pytest
import yaml

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.nodes.launcher import LAUNCH_TABLE, RECORDER, ProcessGroup
from ego_reasoner_ros.sim_bridge.procedural import (
    parse_scene_spec,
    scene_from_spec,
    write_scene,
)
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.scene import load_scene
from ros_graph_helpers import LockedBuffer, Probe

ROOT = Path(__file__).resolve().parents[1]
PKG = 'ego_reasoner_ros'
VENV_BIN = Path(sys.executable).parent
# colcon from PyPI; `make venv` installs them (requirements.txt), versions in constraints.txt
COLCON_DISTS = ('colcon-core', 'colcon-ros', 'colcon-python-setup-py')
IGNORE = shutil.ignore_patterns('.venv', '.git', 'runs', 'build', 'install', 'log',
                                '*.egg-info', '__pycache__', '.pytest_cache', '.ruff_cache',
                                'data_cache')
DEFAULT_SCENE = 'procedural:kitchen:0'


# ------------------------------------------------------------------- default scene
def test_scene_spec_parses_room_and_seed():
    assert parse_scene_spec('procedural:kitchen:0') == ('kitchen', 0)
    assert parse_scene_spec('procedural:7') == (None, 7)
    assert parse_scene_spec('FloorPlan1') is None
    for bad in ('procedural:', 'procedural:garage:1', 'procedural:kitchen:x',
                'procedural:kitchen:1:2'):
        with pytest.raises(DataError, match='procedural:ROOM:SEED'):
            parse_scene_spec(bad)


def test_default_scene_is_the_generated_demo_kitchen(tmp_path):
    """The spec's in-memory scene is the one ``ego-reasoner launch sim`` writes for seed 0."""
    spec = scene_from_spec(DEFAULT_SCENE)
    written = load_scene(write_scene(tmp_path, 0, 'kitchen', ReceptacleCompat.builtin()))
    assert spec.name == written.name == 'Procedural_kitchen_0000'
    assert spec.room_type == written.room_type
    assert spec.metadata == written.metadata
    assert spec.origin_pose == written.origin_pose
    sim = make_sim(SimConfig(render=False))
    _obs, info = sim.reset(options={'scene': DEFAULT_SCENE})
    assert info['success'] and info['navigable_objects']


def test_scene_name_without_data_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv('EGO_REASONER_DATA', str(tmp_path))  # empty: no scenes/ in it
    sim = make_sim(SimConfig(render=False))
    with pytest.raises(DataError, match="ego-reasoner data fetch") as err:
        sim.reset(options={'scene': 'FloorPlan1'})
    assert 'FloorPlan1' in str(err.value) and DEFAULT_SCENE in str(err.value)


def test_launch_file_and_parameter_file_default_to_the_generated_scene():
    from ego_reasoner_ros.nodes.params import SimBridgeParams
    desc = _evaluate_launch(ROOT / 'launch' / 'sim.launch.py')
    assert desc.arguments['scene'] == DEFAULT_SCENE
    params = yaml.safe_load((ROOT / 'config' / 'sim_bridge.yaml').read_text())
    assert params['sim_bridge']['ros__parameters']['scene'] == DEFAULT_SCENE
    assert SimBridgeParams().scene == DEFAULT_SCENE


# ------------------------------------------------------------------- launch stand-ins
class _Sub:
    """A recorded ``launch`` substitution, condition or action: its arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


class LaunchDescription(_Sub):
    pass


class DeclareLaunchArgument(_Sub):
    pass


class SetEnvironmentVariable(_Sub):
    pass


class LaunchConfiguration(_Sub):
    pass


class PathJoinSubstitution(_Sub):
    pass


class FindPackageShare(_Sub):
    pass


class IfCondition(_Sub):
    pass


class Node(_Sub):
    pass


class _Launch:
    """What a launch file declares: arguments (defaults), environment and nodes."""

    def __init__(self, desc: LaunchDescription) -> None:
        (entities,) = desc.args
        self.entities = list(entities)
        self.arguments = {e.args[0]: e.kwargs['default_value'] for e in self.entities
                          if isinstance(e, DeclareLaunchArgument)}

    def resolve(self, value: Any, args: dict[str, str], share: dict[str, str]) -> Any:
        """The value of a substitution, with ``args`` as the launch arguments."""
        if isinstance(value, str):
            return value
        if isinstance(value, LaunchConfiguration):  # a default may be a substitution itself
            return self.resolve(args[value.args[0]], args, share)
        if isinstance(value, PathJoinSubstitution):
            return os.path.join(*(self.resolve(v, args, share) for v in value.args[0]))
        if isinstance(value, FindPackageShare):
            return share[value.args[0]]
        raise TypeError(f'unknown substitution {value!r}')

    def environment(self, args: dict[str, str], share: dict[str, str]) -> dict[str, str]:
        return {e.args[0]: self.resolve(e.args[1], args, share) for e in self.entities
                if isinstance(e, SetEnvironmentVariable)}

    def nodes(self, args: dict[str, str], share: dict[str, str]
              ) -> list[tuple[str, str, list[str], dict[str, Any]]]:
        """(executable, name, parameter files, parameter overrides) of the started nodes."""
        out = []
        for e in self.entities:
            if not isinstance(e, Node):
                continue
            cond = e.kwargs.get('condition')
            if cond is not None and self.resolve(cond.args[0], args, share).lower() != 'true':
                continue
            files, overrides = [], {}
            for p in e.kwargs.get('parameters', []):
                if isinstance(p, dict):
                    overrides.update({k: self.resolve(v, args, share) for k, v in p.items()})
                else:
                    files.append(self.resolve(p, args, share))
            assert e.kwargs['package'] == PKG
            out.append((e.kwargs['executable'], e.kwargs['name'], files, overrides))
        return out


def _evaluate_launch(path: Path) -> _Launch:
    """Run the launch file's ``generate_launch_description`` against the stand-ins."""
    stand_ins = {
        'launch': {'LaunchDescription': LaunchDescription},
        'launch.conditions': {'IfCondition': IfCondition},
        'launch.actions': {'DeclareLaunchArgument': DeclareLaunchArgument,
                           'SetEnvironmentVariable': SetEnvironmentVariable},
        'launch.substitutions': {'LaunchConfiguration': LaunchConfiguration,
                                 'PathJoinSubstitution': PathJoinSubstitution},
        'launch_ros': {},
        'launch_ros.actions': {'Node': Node},
        'launch_ros.substitutions': {'FindPackageShare': FindPackageShare},
    }
    saved = {name: sys.modules.get(name) for name in stand_ins}
    try:
        for name, attrs in stand_ins.items():
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            mod.__path__ = []  # a package, so the dotted imports resolve
            sys.modules[name] = mod
        desc = runpy.run_path(str(path))['generate_launch_description']()
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    return _Launch(desc)


# ------------------------------------------------------------------- colcon build
def _ensure_colcon() -> Path:
    """The venv's ``colcon``; installed from PyPI (pinned versions) when it is missing."""
    colcon = VENV_BIN / 'colcon'
    if not colcon.is_file() or importlib.util.find_spec('colcon_ros') is None:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet',
                        '-c', str(ROOT / 'constraints.txt'), *COLCON_DISTS], check=True)
    assert colcon.is_file(), f'pip installed no colcon into {VENV_BIN}'
    return colcon


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    """A colcon workspace whose only package is a copy of this checkout, built."""
    colcon = _ensure_colcon()
    ws = tmp_path_factory.mktemp('colcon_ws')
    shutil.copytree(ROOT, ws / 'src' / PKG, ignore=IGNORE)
    env = dict(os.environ, PATH=f'{VENV_BIN}{os.pathsep}{os.environ.get("PATH", "")}',
               COLCON_HOME=str(ws / '.colcon'))  # no user colcon settings
    env.pop('PYTHONPATH', None)
    result = subprocess.run([str(colcon), 'build'],
                            cwd=ws, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert f'Finished <<< {PKG}' in result.stdout, result.stdout[-2000:]
    return ws


def _setup_env(ws: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` after sourcing ``install/setup.sh``, as a user's shell would."""
    result = subprocess.run(['bash', '-c', f'. "{ws}/install/setup.sh" && env -0'],
                            env=base, capture_output=True, text=True, check=True)
    return dict(line.split('=', 1) for line in result.stdout.split('\0') if '=' in line)


def test_install_space_holds_executables_share_files_and_ament_marker(workspace):
    prefix = workspace / 'install' / PKG
    lib = prefix / 'lib' / PKG
    specs = [*{s.executable for kind in LAUNCH_TABLE.values() for s in kind},
             RECORDER.executable, 'ego-reasoner']
    for exe in specs:
        assert (lib / exe).is_file() and os.access(lib / exe, os.X_OK), exe
    share = prefix / 'share' / PKG
    assert (share / 'package.xml').read_text() == (ROOT / 'package.xml').read_text()
    assert (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / PKG).is_file()
    for folder, pattern in (('launch', '*.launch.py'), ('config', '*.yaml'),
                            ('config', '*.xml')):
        shipped = sorted(p.name for p in (ROOT / folder).glob(pattern))
        assert shipped and sorted(p.name for p in (share / folder).glob(pattern)) == shipped
    shipped_models = sorted(p.relative_to(ROOT) for p in (ROOT / 'models').rglob('*')
                            if p.is_file())
    assert shipped_models
    assert sorted(p.relative_to(share) for p in (share / 'models').rglob('*')
                  if p.is_file()) == shipped_models
    site = prefix / 'lib' / f'python{sys.version_info[0]}.{sys.version_info[1]}' / \
        'site-packages' / PKG
    for module in ('core/parser.py', 'sim_bridge/procedural.py', 'training/taskgen.py',
                   'nodes/sim_bridge_node.py', 'data/upstream-manifest.json'):
        assert (site / module).is_file(), module
    assert not (site.parent / 'sim_bridge').exists() and not (site.parent / 'training').exists()


def test_sourced_install_imports_the_installed_copy_and_finds_its_share(workspace, ros_env):
    env = _setup_env(workspace, dict(ros_env))
    code = ('import ego_reasoner_ros.sim_bridge.procedural as m, ego_reasoner_ros.nodes.dds as d\n'
            'from ament_index_python.packages import get_package_share_directory as g\n'
            'print(m.__file__); print(d.config_dir()); print(g("ego_reasoner_ros"))\n')
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=workspace,
                         capture_output=True, text=True, check=True).stdout.split()
    install = workspace / 'install' / PKG
    assert Path(out[0]).is_relative_to(install / 'lib'), out
    assert Path(out[1]) == install / 'share' / PKG / 'config'
    assert Path(out[2]) == install / 'share' / PKG


def _no_data_env(tmp: Path) -> dict[str, str]:
    """A data variable and a user cache that hold nothing: a fresh install, nothing fetched."""
    (tmp / 'no-data').mkdir(exist_ok=True)
    (tmp / 'cache').mkdir(exist_ok=True)
    return {'EGO_REASONER_DATA': str(tmp / 'no-data'), 'XDG_CACHE_HOME': str(tmp / 'cache')}


def _commands(ws: Path, env: dict[str, str], tmp: Path, args: dict[str, str],
              kind: str = 'sim') -> tuple[dict[str, str], list[tuple[str, list[str]]]]:
    """The environment and node command lines of ``KIND.launch.py`` run from ``ws/install``.

    Dict parameters go into a parameter file, as ``launch_ros`` passes them.
    """
    share_dir = ws / 'install' / PKG / 'share' / PKG
    desc = _evaluate_launch(share_dir / 'launch' / f'{kind}.launch.py')
    args = {**desc.arguments, **args}
    from ament_index_python.packages import get_package_share_directory
    saved = os.environ.get('AMENT_PREFIX_PATH')
    os.environ['AMENT_PREFIX_PATH'] = env['AMENT_PREFIX_PATH']
    try:
        share = {PKG: get_package_share_directory(PKG)}
    finally:
        if saved is None:
            os.environ.pop('AMENT_PREFIX_PATH', None)
        else:
            os.environ['AMENT_PREFIX_PATH'] = saved
    assert Path(share[PKG]) == share_dir
    env = {**env, **desc.environment(args, share)}
    lib = ws / 'install' / PKG / 'lib' / PKG
    commands = []
    for exe, name, files, overrides in desc.nodes(args, share):
        cmd = [str(lib / exe), '--ros-args', '-r', f'__node:={name}']
        for f in files:
            assert Path(f).is_relative_to(share_dir), f
            cmd += ['--params-file', f]
        if overrides:
            extra = tmp / f'{name}_launch_params.yaml'
            extra.write_text(yaml.safe_dump({name: {'ros__parameters': overrides}}))
            cmd += ['--params-file', str(extra)]
        commands.append((name, cmd))
    return env, commands


@pytest.mark.parametrize('kind', ['sim', 'robot'])
def test_installed_launch_files_start_installed_nodes_with_installed_files(workspace, ros_env,
                                                                          tmp_path, kind):
    env, commands = _commands(workspace, _setup_env(workspace, dict(ros_env)), tmp_path,
                              {'record': 'true'}, kind)
    expected = [RECORDER, *LAUNCH_TABLE[kind]]
    assert sorted(name for name, _ in commands) == sorted(s.name for s in expected)
    install = workspace / 'install' / PKG
    for name, cmd in commands:
        spec = next(s for s in expected if s.name == name)
        assert cmd[0] == str(install / 'lib' / PKG / spec.executable)
        files = [Path(cmd[i + 1]) for i, a in enumerate(cmd) if a == '--params-file']
        assert [f.name for f in files if f.parent.name == 'config'] == list(spec.param_files)
        for f in files:
            assert f.is_file(), f
            (params,) = yaml.safe_load(f.read_text()).values()
            for value in params['ros__parameters'].values():  # installed paths only
                if isinstance(value, str) and value.startswith('/'):
                    assert Path(value).is_relative_to(install) and Path(value).exists(), value
    if kind == 'robot':
        assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in _evaluate_launch(
            install / 'share' / PKG / 'launch' / 'robot.launch.py').environment({}, {})


@pytest.mark.ros
@pytest.mark.slow
def test_installed_graph_with_launch_defaults_runs_a_task_without_data(workspace, ros_env,
                                                                        tmp_path):
    base = dict(ros_env, **_no_data_env(tmp_path))
    env, commands = _commands(workspace, _setup_env(workspace, base), tmp_path, {})
    assert env['EGO_REASONER_DDS_MODE'] in ('demo', 'test')
    assert env['FASTDDS_DEFAULT_PROFILES_FILE'].startswith(str(workspace / 'install'))
    # exactly what the launch file starts by default (no recorder: record:=false)
    assert [name for name, _ in commands] == [s.name for s in LAUNCH_TABLE['sim']]
    # a task of the default scene, from the task generator (the expert policy needs its
    # targets); no scene in it: the sim bridge's default scene is the one that runs
    scene = scene_from_spec(DEFAULT_SCENE)
    from ego_reasoner_ros.training.taskgen import TaskGenConfig, scene_tasks
    cases = scene_tasks(scene, ReceptacleCompat.builtin(), TaskGenConfig(seed=0))
    case = next(c for c in cases if c['tasktype'] == 'pickup_and_put')
    task = {'task_id': 'colcon', 'instruction': case['taskquery'],
            'task_type': case['tasktype'],
            'sim_task': {k: case[k] for k in ('navigable_objects', 'target_objects',
                                              'related_objects', 'identity')}}
    out = LockedBuffer()
    group = ProcessGroup(out)
    probe = None
    try:
        for name, cmd in commands:
            group.start(name, cmd, env, cwd=tmp_path)
        probe = Probe('colcon_probe')
        probe.send_task(task)
        final = probe.final_status('colcon', timeout=90)
        assert final['state'] == 'succeeded', (final, out.text()[-4000:])
        assert final['success'] is True
        actions = probe.get('reasoner/action', task_id='colcon')
        assert actions[0]['verb'] == 'init' and len(actions) > 2
        assert all(p.poll() is None for p in group.procs.values()), out.text()[-4000:]
        assert f'scene={DEFAULT_SCENE}' in out.text()
    finally:
        if probe is not None:
            probe.close()
        codes = group.stop()
        print(out.text()[-4000:])
    assert all(c is not None for c in codes.values()), 'a node process survived'


@pytest.mark.ros
@pytest.mark.slow
def test_installed_sim_bridge_refuses_a_scene_that_needs_data(workspace, ros_env, tmp_path):
    base = dict(ros_env, **_no_data_env(tmp_path))
    env, commands = _commands(workspace, _setup_env(workspace, base), tmp_path,
                              {'scene': 'FloorPlan1'})
    cmd = dict(commands)['sim_bridge']
    result = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    text = result.stdout + result.stderr
    assert result.returncode == 2, text[-3000:]
    assert 'FloorPlan1' in text and 'ego-reasoner data fetch' in text, text[-3000:]
    assert 'Traceback' not in text, text[-3000:]
