# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``make demo``: the shipped learned model runs the graph to a successful end, with no data.

The command is read from the Makefile, so the test runs what a newcomer runs.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import shlex
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / 'models' / 'ego-reasoner-tiny'
pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.training]


def _demo_command() -> list[str]:
    text = (REPO / 'Makefile').read_text(encoding='utf-8')
    policy = re.search(r'^POLICY \?= (\S+)$', text, re.M).group(1)
    line = re.search(r'^demo: venv\n\t(.+)$', text, re.M).group(1)
    line = line.replace('$(POLICY)', policy).replace('$(VENV)/bin/ego-reasoner', 'ego-reasoner')
    words = shlex.split(line)
    assert words[:3] == ['ego-reasoner', 'launch', 'sim'], line
    return words[1:]


@pytest.mark.skipif(not (MODEL / 'model.safetensors').is_file(), reason='no shipped model')
def test_make_demo_runs_the_learned_model_to_a_successful_end(tmp_path, ros_env) -> None:
    pytest.importorskip('transformers')
    args = _demo_command()
    assert '--policy' in args and args[args.index('--policy') + 1].startswith('hf:')
    empty = tmp_path / 'no-data'
    empty.mkdir()
    env = dict(ros_env, EGO_REASONER_DATA=str(empty), XDG_CACHE_HOME=str(empty))
    code = ('import sys; from ego_reasoner_ros.cli.main import main; '
            'sys.exit(main(sys.argv[1:]))')
    done = subprocess.run(
        [sys.executable, '-c', code, *args, '--runs-dir', str(tmp_path / 'runs'),
         '--timeout', '240', '--domain-id', ros_env['ROS_DOMAIN_ID']],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    summaries = sorted((tmp_path / 'runs').rglob('summary.json'))
    assert len(summaries) == 1, summaries
    run_dir = summaries[0].parent
    summary = json.loads(summaries[0].read_text())
    assert summary['terminated_by'] == 'end', summary
    assert re.search(r'\]: task \S+: succeeded', out), out[-3000:]
    # thoughts and actions are printed as they come, in one numbering: every action line
    # carries the number of the thought that chose it
    events = re.findall(r'\[step (\d+)\] (thought|action): (.*)', out)
    thoughts = [(int(n), text) for n, kind, text in events if kind == 'thought']
    assert len(thoughts) >= 3
    last_thought = None
    for number, kind, _text in events:
        if kind == 'thought':
            last_thought = int(number)
        elif last_thought is not None:  # the init action comes before any thought
            assert int(number) == last_thought, events
    # the replay page shows the model's own thoughts
    page = (run_dir / 'replay.html').read_text(encoding='utf-8')
    import html
    assert all(html.escape(text.strip()) in page for _n, text in thoughts[:3])
    assert (run_dir / 'bag').is_dir()
