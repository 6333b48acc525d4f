# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The floors of docs/ARCHITECTURE.md, enforced: imports go down only, rclpy only in the nodes.

Every module's imports are read with ``ast`` (imports inside functions included). Source files
are named by their import path through ``setup.py``'s ``package_dir`` mapping, so
``training/sft.py`` is ``ego_reasoner_ros.training.sft``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = 'ego_reasoner_ros'

# What each floor may import from the package (itself included). Same order as the table in
# docs/ARCHITECTURE.md: core -> {sim_bridge, runtime} -> training -> {nodes, cli}.
ALLOWED: dict[str, frozenset[str]] = {
    'core': frozenset({'core'}),
    'sim_bridge': frozenset({'core', 'sim_bridge'}),
    'runtime': frozenset({'core', 'runtime'}),
    'training': frozenset({'core', 'sim_bridge', 'runtime', 'training'}),
    'nodes': frozenset({'core', 'sim_bridge', 'runtime', 'training', 'nodes', 'cli'}),
    'cli': frozenset({'core', 'sim_bridge', 'runtime', 'training', 'nodes', 'cli'}),
}
# ROS client libraries and message packages: only the nodes talk to ROS.
ROS_MODULES = frozenset({
    'rclpy', 'std_msgs', 'sensor_msgs', 'geometry_msgs', 'nav_msgs', 'nav2_msgs',
    'action_msgs', 'builtin_interfaces', 'cv_bridge', 'launch', 'launch_ros',
    'ament_index_python', 'rosidl_runtime_py', 'rosbag2_py', 'tf2_ros'})
ROS_FLOORS = frozenset({'nodes'})


def package_dirs(setup_py: Path) -> dict[str, str]:
    """The literal ``package_dir`` mapping passed to ``setup()`` in ``setup_py``."""
    for node in ast.walk(ast.parse(setup_py.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setup':
            for kw in node.keywords:
                if kw.arg == 'package_dir':
                    return ast.literal_eval(kw.value)
    raise AssertionError(f'{setup_py}: no package_dir in setup()')


def source_modules(root: Path) -> dict[str, Path]:
    """Every product module under ``root`` by its import path."""
    roots = {PKG: root / PKG}
    roots.update({name: root / folder for name, folder in package_dirs(root / 'setup.py').items()})
    out: dict[str, Path] = {}
    for name, folder in roots.items():
        for path in sorted(folder.rglob('*.py')):
            parts = list(path.relative_to(folder).with_suffix('').parts)
            if '__pycache__' in parts:
                continue
            if parts[-1] == '__init__':
                parts = parts[:-1]
            out['.'.join([name, *parts])] = path
    return out


def imported(module: str, path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) for every import in ``path``, nested ones included.

    ``from a import b`` yields ``a.b`` so that ``from ego_reasoner_ros import training`` names
    the floor it reaches.
    """
    is_pkg = path.name == '__init__.py'
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.')
                drop = node.level - 1 if is_pkg else node.level
                base = base[:len(base) - drop]
                stem = '.'.join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ''
            out.extend((f'{stem}.{alias.name}', node.lineno) for alias in node.names)
    return out


def floor_of(module: str) -> str | None:
    """The floor a module of the package sits on; None outside the package."""
    parts = module.split('.')
    if parts[0] != PKG:
        return None
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else ''


def violations(root: Path) -> list[str]:
    """Every upward import, top-level import of a mapped folder and ROS import off the nodes."""
    modules = source_modules(root)
    mapped = set(package_dirs(root / 'setup.py').values())
    found: list[str] = []
    for module, path in modules.items():
        here = floor_of(module)
        where = f'{path.relative_to(root)}'
        for target, line in imported(module, path):
            top = target.split('.')[0]
            if top in mapped:
                found.append(f'{where}:{line}: imports {target!r}; use {PKG}.{top}')
            if top in ROS_MODULES and here not in ROS_FLOORS:
                found.append(f'{where}:{line}: {here or PKG} imports {top} (ROS only in nodes)')
            there = floor_of(target)
            if there is None or there == '' or here is None:
                continue
            if here == '':
                found.append(f'{where}:{line}: {PKG}/__init__.py stays empty, imports {target}')
            elif there not in ALLOWED[here]:
                found.append(f'{where}:{line}: {here} imports {target} ({there} is not below it)')
    return found


def test_every_source_module_is_found() -> None:
    modules = source_modules(ROOT)
    for name in ('ego_reasoner_ros.core.loop', 'ego_reasoner_ros.sim_bridge.world',
                 'ego_reasoner_ros.training.evaluate', 'ego_reasoner_ros.nodes.reasoner_node',
                 'ego_reasoner_ros.cli.main', 'ego_reasoner_ros.training.backends'):
        assert name in modules, name
    assert not any(name.startswith(('sim_bridge', 'training')) for name in modules)


def test_floors_import_down_only() -> None:
    found = violations(ROOT)
    assert not found, 'layering violations (docs/ARCHITECTURE.md):\n' + '\n'.join(found)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / 'setup.py').write_text(
        "setup(name='x', package_dir={'ego_reasoner_ros.sim_bridge': 'sim_bridge',"
        " 'ego_reasoner_ros.training': 'training'})\n")
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


@pytest.mark.parametrize('rel, text, expect', [
    # a lazy upward import inside a function
    ('ego_reasoner_ros/core/a.py',
     'def f():\n    from ego_reasoner_ros.training import sft\n', 'core imports'),
    # a relative import resolved through package_dir
    ('sim_bridge/w.py', 'from ..training.sft import x\n', 'sim_bridge imports'),
    ('training/pkg/__init__.py', 'from ...nodes import common\n', 'training imports'),
    ('sim_bridge/w.py', 'from ego_reasoner_ros import runtime\n', 'sim_bridge imports'),
    ('ego_reasoner_ros/runtime/bag.py', 'import ego_reasoner_ros.sim_bridge.world\n',
     'runtime imports'),
    ('training/t.py', 'def f():\n    import rclpy\n', 'imports rclpy'),
    ('ego_reasoner_ros/cli/c.py', 'from std_msgs.msg import String\n', 'imports std_msgs'),
    ('training/t.py', 'from sim_bridge.world import World\n', "use ego_reasoner_ros.sim_bridge"),
])
def test_violations_are_caught(tmp_path: Path, rel: str, text: str, expect: str) -> None:
    root = _tree(tmp_path, {rel: text})
    found = violations(root)
    assert len(found) == 1 and expect in found[0], found


def test_downward_imports_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        'ego_reasoner_ros/core/a.py': 'import json\nfrom . import b\n',
        'sim_bridge/w.py': 'from ego_reasoner_ros.core.actions import Verb\nfrom .geo import g\n',
        'training/pkg/__init__.py': ('from ..sft import x\n'
                                     'from ego_reasoner_ros.runtime import bagio\n'),
        'ego_reasoner_ros/nodes/n.py': 'import rclpy\nfrom ego_reasoner_ros.training import sft\n',
        'ego_reasoner_ros/cli/c.py': 'def f():\n    from ego_reasoner_ros.nodes import launcher\n',
    })
    assert violations(root) == []
