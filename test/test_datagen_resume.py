# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Data engine: SIGKILL part way, run again, get a valid dataset with no duplicates."""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from ego_reasoner_ros.training.check_dataset import check_dataset

N = 60


def _cmd(out: Path) -> list[str]:
    return [sys.executable, '-m', 'ego_reasoner_ros.cli.main', 'datagen', '--procedural', '8',
            '--out', str(out), '--n', str(N), '--image-size', '64', '--workers', '2',
            '--seed', '7', '--formats', 'sharegpt,card', '--no-progress']


def test_sigkill_then_resume_gives_valid_dataset(tmp_path: Path) -> None:
    out = tmp_path / 'ds'
    env = dict(os.environ)
    proc = subprocess.Popen(_cmd(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    deadline = time.monotonic() + 90
    episodes = out / 'episodes'
    while time.monotonic() < deadline and proc.poll() is None:
        if episodes.is_dir() and len(list(episodes.glob('*/episode.json'))) >= 8:
            break
        time.sleep(0.05)
    killed = proc.poll() is None
    assert killed, 'the run finished before it could be interrupted'
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole run, workers included
    proc.wait(timeout=30)
    before = {p.parent.name for p in episodes.glob('*/episode.json')}
    assert before, 'nothing was written before the kill'

    done = subprocess.run(_cmd(out), capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary['n_trajectories'] == N
    if killed:
        assert summary['n_resumed'] >= len(before) - summary.get('n_removed_partials', 0) - 2
    after = {p.parent.name for p in episodes.glob('*/episode.json')}
    assert len(after) == N
    report = check_dataset(out)
    assert report['ok'], report['problems']
    rows = json.loads((out / 'sharegpt' / 'train.json').read_text()) + json.loads(
        (out / 'sharegpt' / 'val.json').read_text())
    ids = [r['identity'] for r in rows]
    assert len(ids) == len(set(ids)) == N
    assert not [p for p in episodes.iterdir() if p.name.startswith('.')]
