# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Linter tests: licence headers, ruff and package.xml, the ament linters' checks via pip tools."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ('ego_reasoner_ros', 'sim_bridge', 'training', 'launch', 'test', 'benchmarks')
HEADER = '# Copyright 2026 The ego_reasoner_ros Authors'


def _python_files() -> list[Path]:
    files = [ROOT / 'setup.py']
    for folder in SOURCE_DIRS:
        files.extend(sorted((ROOT / folder).rglob('*.py')))
    return [f for f in files if f.name != '__init__.py' or f.stat().st_size > 0]


@pytest.mark.linter
def test_every_python_file_has_the_licence_header():
    missing = [str(f.relative_to(ROOT)) for f in _python_files()
               if not f.read_text(encoding='utf-8').startswith(HEADER)]
    assert missing == []


@pytest.mark.linter
def test_ruff_is_clean():
    ruff = shutil.which('ruff') or str(Path(sys.executable).with_name('ruff'))
    result = subprocess.run([ruff, 'check', '--no-cache', '.'], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.linter
def test_package_xml_is_format_3_and_matches_setup_py():
    root = ET.parse(ROOT / 'package.xml').getroot()
    assert root.tag == 'package' and root.get('format') == '3'
    assert root.findtext('name') == 'ego_reasoner_ros'
    assert root.findtext('license') == 'Apache-2.0'
    assert root.find('export/build_type').text == 'ament_python'
    setup_src = (ROOT / 'setup.py').read_text()
    version = re.search(r"^version = '([^']+)'", setup_src, re.M).group(1)
    assert root.findtext('version') == version


@pytest.mark.linter
def test_launch_and_config_xml_parse():
    for xml_file in sorted((ROOT / 'config').glob('*.xml')):
        ET.parse(xml_file)  # raises on malformed XML
    for launch_file in sorted((ROOT / 'launch').glob('*.launch.py')):
        tree = ast.parse(launch_file.read_text())
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert 'generate_launch_description' in names, launch_file
