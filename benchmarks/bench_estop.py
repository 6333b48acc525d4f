# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""E-stop benchmark: from ``estop: true`` to a cancelled NavigateToPose goal.

    python benchmarks/bench_estop.py --trials 20

Runs the executor's robot backend (``config/robot_executor.yaml``) against the stand-in
robot of the tests (``test/robot_standins.py``; ``nav2_msgs`` built once from
``test/nav2_standin`` into ``<venv>/ros_overlay``), all on localhost DDS. Each trial starts a
10 s navigation goal, publishes ``estop: true`` at a random moment 0.1-0.4 s into it, then
releases. Figures per trial, from the e-stop publish (wall clock, one machine):

- ``cancel_ms``: the navigation server receives the cancel request;
- ``stopped_ms``: the server's goal has ended CANCELED (it polls for cancels every 5 ms);
- ``result_ms``: the executor's ``cancelled`` result has arrived.

Target: ``cancel_ms`` median and max <= 100 ms. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import random
import statistics
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0


def _wait(pred, timeout: float, what: str, poll: float = 0.001):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f'timed out after {timeout} s waiting for {what}')


def _stats(values: list[float]) -> dict[str, float]:
    return {'median': round(statistics.median(values), 2), 'max': round(max(values), 2),
            'min': round(min(values), 2)}


def _trial(graph, trial: int, delay_s: float) -> tuple[float, float, float]:
    """One goal, e-stopped ``delay_s`` into it, then released: (cancel, stopped, result) ms."""
    n_goals = len(graph.events('goal'))
    aid = graph.send('navigate to', ('Microwave', 'Fridge', 'Cabinet')[trial % 3])
    goal = _wait(lambda: graph.events('goal')[n_goals:], 10, 'the goal', poll=0.01)[0]
    time.sleep(delay_s)
    t_stop = graph.estop(True)
    res = _wait(lambda: graph.probe.get('executor/result', action_id=aid), 10, 'the result')[0]
    t_res = time.time_ns()
    if res['status'] != 'cancelled':
        raise RuntimeError(f'trial {trial}: expected a cancelled result, got {res}')
    req = _wait(lambda: [e for e in graph.events('cancel_request')
                         if e['goal'] == goal['goal']], 5, 'the cancel', poll=0.01)[0]
    end = _wait(lambda: [e for e in graph.events('goal_end') if e['goal'] == goal['goal']],
                5, 'the goal end', poll=0.01)[0]
    if end['status'] != 'canceled':
        raise RuntimeError(f'trial {trial}: the goal ended {end["status"]}')
    released = graph.out.text().count('e-stop released')
    graph.estop(False)
    _wait(lambda: graph.out.text().count('e-stop released') > released, 10, 'the release',
          poll=0.01)
    return ((req['t_ns'] - t_stop) / 1e6, (end['t_ns'] - t_stop) / 1e6,
            (t_res - t_stop) / 1e6)


def main() -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--trials', type=int, default=20)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    if args.trials < 1:
        ap.error('--trials must be >= 1')
    from ego_reasoner_ros.nodes.dds import confine_this_process
    env = confine_this_process('test')
    sys.path.insert(0, str(REPO / 'test'))
    from nav2_overlay import OverlayUnavailableError, build_overlay
    from robot_graph import RobotGraph

    try:
        t0 = time.monotonic()
        prefix = build_overlay()
        print(f'nav2_msgs stand-in ready in {time.monotonic() - t0:.1f} s: {prefix}')
    except OverlayUnavailableError as exc:
        print(f'cannot run: {exc}', file=sys.stderr)
        print(json.dumps({'bench': 'estop', 'error': str(exc)}))
        return 2
    rng = random.Random(args.seed)
    cancel, stopped, result = [], [], []
    with tempfile.TemporaryDirectory(prefix='bench_estop_') as tmp:
        graph = RobotGraph(env, prefix, Path(tmp), nav_duration=10.0, camera_hz=10.0)
        try:
            for trial in range(args.trials):
                figures = _trial(graph, trial, rng.uniform(0.1, 0.4))
                for values, value in zip((cancel, stopped, result), figures, strict=True):
                    values.append(value)
                print(f'trial {trial + 1}/{args.trials}: cancel {cancel[-1]:.1f} ms, '
                      f'stopped {stopped[-1]:.1f} ms, result {result[-1]:.1f} ms')
        finally:
            graph.close()
    figures = {'bench': 'estop', 'trials': args.trials, 'cancel_ms': _stats(cancel),
               'stopped_ms': _stats(stopped), 'result_ms': _stats(result),
               'target_ms': TARGET_MS,
               'meets_target': max(cancel) <= TARGET_MS}
    print(json.dumps(figures))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
