# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""A ROS-free stand-in for ``ros2 launch``: the nodes of a launch file as OS processes.

``LAUNCH_TABLE`` lists, for ``sim`` and ``robot``, exactly the executables, node names and
parameter files of ``launch/sim.launch.py`` and ``launch/robot.launch.py`` (a test parses the
launch files and compares). Each node runs as ``python -m ego_reasoner_ros.nodes.<exe>
--ros-args -r __node:=<name> --params-file <config>/<file> [-p k:=v ...]``; its output is
printed line by line prefixed with ``[<name>]``; SIGINT/SIGTERM stop every child (SIGINT,
then SIGTERM, then SIGKILL). A node that exits on its own is named at once (``[launch] node
<name> exited with code N``) and the whole graph is stopped; see :func:`launch` for the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import logging
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Any, TextIO

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeSpec:
    """One node of a launch description."""

    executable: str
    name: str
    param_files: tuple[str, ...]

    @property
    def module(self) -> str:
        """The Python module that holds the node's ``main``."""
        return f'ego_reasoner_ros.nodes.{self.executable}'


LAUNCH_TABLE: dict[str, tuple[NodeSpec, ...]] = {
    'sim': (
        NodeSpec('sim_bridge_node', 'sim_bridge', ('sim_bridge.yaml',)),
        NodeSpec('reasoner_node', 'reasoner', ('reasoner.yaml',)),
        NodeSpec('action_executor_node', 'action_executor', ('executor.yaml',)),
    ),
    'robot': (
        NodeSpec('reasoner_node', 'reasoner', ('reasoner.yaml',)),
        NodeSpec('action_executor_node', 'action_executor', ('robot_executor.yaml',)),
    ),
}


# Started in front of the table's nodes when recording is asked for (the launch files'
# ``record:=true`` argument, ``ego-reasoner launch --record``), so the bag sees every message.
RECORDER = NodeSpec('recorder_node', 'recorder', ('recorder.yaml',))


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        # quote so YAML keeps it a string ('123', 'true', paths with ':' ...)
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def node_command(spec: NodeSpec, config_dir: str | Path,
                 params: Mapping[str, Any] | None = None,
                 python: str = sys.executable) -> list[str]:
    """The command line that starts ``spec`` with its parameter files and overrides."""
    cmd = [python, '-m', spec.module, '--ros-args', '-r', f'__node:={spec.name}']
    for fname in spec.param_files:
        cmd += ['--params-file', str(Path(config_dir) / fname)]
    for key, value in (params or {}).items():
        cmd += ['-p', f'{key}:={_param_value(value)}']
    return cmd


class ProcessGroup:
    """Children started together, their output prefixed, stopped together."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.procs: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []
        self._print_lock = threading.Lock()

    def start(self, name: str, cmd: Sequence[str], env: Mapping[str, str],
              cwd: str | Path | None = None) -> subprocess.Popen:
        """Start one child in its own process group; pump its output."""
        proc = subprocess.Popen(list(cmd), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, text=True, bufsize=1)
        self.procs[name] = proc
        t = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        t.start()
        self._threads.append(t)
        return proc

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._print_lock:
                self.out.write(f'[{name}] {line.rstrip()}\n')
                self.out.flush()

    def say(self, line: str) -> None:
        """Print one line of the launcher itself, prefixed ``[launch]``."""
        with self._print_lock:
            self.out.write(f'[launch] {line}\n')
            self.out.flush()

    def wait_any(self, names: Sequence[str] | None = None, timeout: float | None = None,
                 stop: threading.Event | None = None) -> str | None:
        """Wait until one of ``names`` (default: any child) exits; return its name."""
        deadline = None if timeout is None else time.monotonic() + timeout
        watch = list(names or self.procs)
        while True:
            for name in watch:
                if self.procs[name].poll() is not None:
                    return name
            if stop is not None and stop.is_set():
                return None
            if deadline is not None and time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def stop(self, grace_s: float = 5.0) -> dict[str, int]:
        """SIGINT every child, then SIGTERM, then SIGKILL; return their exit codes."""
        for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 3.0),
                            (signal.SIGKILL, 3.0)):
            alive = [p for p in self.procs.values() if p.poll() is None]
            if not alive:
                break
            for proc in alive:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(p.poll() is None for p in alive):
                time.sleep(0.05)
        for t in self._threads:
            t.join(timeout=1.0)
        return {name: p.returncode for name, p in self.procs.items()}


def launch(kind: str, *, config_dir: str | Path, env: Mapping[str, str],
           params: Mapping[str, Mapping[str, Any]] | None = None,
           until_exit_of: str | None = None, timeout_s: float | None = None,
           out: TextIO | None = None,
           on_started: Callable[[ProcessGroup], None] | None = None,
           record: bool = False) -> int:
    """Start the nodes of ``kind``, wait, and stop them all.

    Args:
        kind: ``sim`` or ``robot``.
        config_dir: folder holding the parameter files.
        env: environment of the children (see ``dds.localhost_env``).
        params: per node name, extra ``-p`` overrides.
        until_exit_of: stop everything once this node exits (the demo's reasoner);
            otherwise run until a node exits or a signal arrives.
        timeout_s: stop after this long.
        out: where prefixed output goes (default stdout).
        on_started: called once every child has started.
        record: also start the recorder node (first), with ``params['recorder']``.

    Returns:
        0 when ``until_exit_of`` exits with 0 (its task succeeded); otherwise the run failed:
        the code of ``until_exit_of`` (1: its task failed), 2 when a node exited with 2 (bad
        input, e.g. an unknown scene), 1 when any other node exited first (with any code, a
        signal included), 130 on SIGINT/SIGTERM, 124 on timeout.
    """
    if kind not in LAUNCH_TABLE:
        raise ValueError(f'unknown launch {kind!r}; use one of {sorted(LAUNCH_TABLE)}')
    params = params or {}
    group = ProcessGroup(out)
    stop = threading.Event()
    caught: list[int] = []

    def _handler(signum: int, _frame: Any) -> None:
        caught.append(signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _handler)
    try:
        specs = ((RECORDER,) if record else ()) + tuple(LAUNCH_TABLE[kind])
        for spec in specs:
            group.start(spec.name, node_command(spec, config_dir, params.get(spec.name)), env)
        if on_started is not None:
            on_started(group)
        # every node is watched: one that dies (not only until_exit_of) ends the run
        first = group.wait_any(None, timeout=timeout_s, stop=stop)
        if first is not None:
            code = group.procs[first].returncode
            how = (f'was killed by signal {-code}' if code < 0 else f'exited with code {code}')
            if first == until_exit_of:
                group.say(f'node {first} {how}; stopping the graph')
            else:
                group.say(f'node {first} {how}; the run failed, stopping the graph')
    finally:
        codes = group.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        return 130
    if first is None:
        group.say(f'timed out after {timeout_s:g} s; stopping the graph')
        return 124
    code = codes.get(first)
    if first == until_exit_of:
        return 0 if code == 0 else (code if code in (1, 2) else 1)
    return 2 if code == 2 else 1
