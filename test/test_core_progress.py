# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Progress of long jobs: log lines when there is no terminal, with rate and ETA."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from ego_reasoner_ros.core.progress import LOGGER_NAME, Progress, format_duration


def test_lines_give_done_success_rate_and_eta(caplog, monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr('ego_reasoner_ros.core.progress.time.monotonic', lambda: clock[0])
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    progress = Progress(10, 'eval', tty=False, every_s=30.0, done=2, successes=1)
    assert 'resuming, 2 of 10 tasks already done' in caplog.text
    clock[0] = 110.0
    progress.update(1, success=True)  # 10 s after the start: no line yet (every 30 s)
    assert 'eval: 3/10' not in caplog.text
    clock[0] = 140.0
    progress.update(1, success=False)
    # 2 tasks in this run in 40 s: 0.05 task/s, 6 left: 2 minutes
    assert 'eval: 4/10 (40.0%), success 50.0%, 0.05 task/s, ETA 2m00s' in caplog.text
    clock[0] = 150.0
    progress.update(6)
    assert 'eval: 10/10 (100.0%)' in caplog.text and 'took 50s' in caplog.text
    progress.close()
    assert format_duration(3725) == '1h02m' and format_duration(9) == '9s'
    with pytest.raises(ValueError):
        Progress(-1, 'x')


def test_disabled_progress_says_nothing(caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with Progress(3, 'eval', tty=False, enabled=False, every_s=0) as progress:
        progress.update(3)
    assert caplog.text == ''


def test_datagen_without_a_terminal_logs_progress_lines(tmp_path) -> None:
    code = 'import sys; from ego_reasoner_ros.cli.main import main; sys.exit(main(sys.argv[1:]))'
    done = subprocess.run(
        [sys.executable, '-c', code, 'datagen', '--procedural', '1', '--n', '3',
         '--image-size', '56', '--out', str(tmp_path / 'data'), '--formats', 'sharegpt'],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'datagen: 3/3 (100.0%)' in done.stderr, done.stderr[-2000:]
