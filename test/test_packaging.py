# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The package installs non-editably and imports from outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns('.venv', '.git', 'runs', 'build', '*.egg-info', '__pycache__',
                                '.pytest_cache', '.ruff_cache', 'data_cache')


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp('src') / 'ego_reasoner_ros'
    shutil.copytree(ROOT, src, ignore=IGNORE)
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                    '-q', '-w', str(out), str(src)], check=True)
    (whl,) = out.glob('ego_reasoner_ros-*.whl')
    return whl


def test_wheel_holds_every_floor_and_the_ament_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for module in ('ego_reasoner_ros/core/parser.py', 'ego_reasoner_ros/sim_bridge/__init__.py',
                   'ego_reasoner_ros/training/__init__.py', 'ego_reasoner_ros/cli/main.py',
                   'ego_reasoner_ros/data/upstream-manifest.json'):
        assert module in names, module
    assert not any(n.startswith(('training/', 'sim_bridge/')) for n in names), \
        'no generic top-level package may be installed'
    data = [n for n in names if '.data/data/share/' in n]
    assert any(n.endswith('share/ament_index/resource_index/packages/ego_reasoner_ros')
               for n in data)
    assert any(n.endswith('share/ego_reasoner_ros/package.xml') for n in data)
    launch = [n for n in data if '/share/ego_reasoner_ros/launch/' in n]
    config = [n for n in data if '/share/ego_reasoner_ros/config/' in n]
    assert sorted(Path(n).name for n in launch) == sorted(
        p.name for p in (ROOT / 'launch').glob('*.launch.py'))
    assert sorted(Path(n).name for n in config) == sorted(
        p.name for p in (ROOT / 'config').iterdir() if p.suffix in ('.yaml', '.xml'))


def test_installed_copy_imports_from_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target',
                    str(target), str(wheel)], check=True)
    code = (
        'import sys; sys.modules["rclpy"] = None\n'  # the ROS-free floors must not need rclpy
        'import ego_reasoner_ros.core.parser, ego_reasoner_ros.core.loop\n'
        'import ego_reasoner_ros.sim_bridge, ego_reasoner_ros.training\n'
        'import ego_reasoner_ros.cli.main as m\n'
        'assert m.__file__.startswith(sys.argv[1]), m.__file__\n'
        'print("ok")\n'
    )
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONPATH'] = str(target)
    result = subprocess.run([sys.executable, '-c', code, str(target)], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'ok'


def test_cli_help_lists_subcommands():
    result = subprocess.run([sys.executable, '-m', 'ego_reasoner_ros.cli.main', '--help'],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert 'data' in result.stdout
