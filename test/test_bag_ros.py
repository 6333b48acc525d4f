# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The recorder node over real DDS (localhost profile): nothing lost, clean or killed."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

pytest.importorskip('rclpy')
pytest.importorskip('mcap')

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / 'benchmarks' / 'bench_record.py'


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.parametrize('stop', ['sigint', 'sigterm', 'sigkill'])
def test_recorder_records_every_published_message(tmp_path: Path, ros_env: dict[str, str],
                                                  stop: str) -> None:
    # the benchmark script: a publisher process and a recorder_node process on localhost DDS
    proc = subprocess.run(
        [sys.executable, str(BENCH), '--seconds', '3', '--width', '64', '--height', '48',
         '--rate', '30', '--step-rate', '5', '--stop', stop, '--out', str(tmp_path)],
        capture_output=True, text=True, env=ros_env, timeout=150, cwd=REPO)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    topics = result['topics']
    assert topics['camera/image_raw']['published'] >= 60
    assert topics['reasoner/action']['published'] >= 10
    for topic, n in topics.items():
        assert n['recorded'] == n['published'], (topic, result)
    assert result['dropped'] == 0
    bag = Path(result['bag'])
    if stop == 'sigkill':
        assert result['recorder_exit'] == -9
        assert not (bag / 'metadata.yaml').exists() and not result['clean_close']
    else:
        assert result['recorder_exit'] == 0, result.get('recorder_log_tail')
        assert result['clean_close'] and (bag / 'metadata.yaml').is_file()
