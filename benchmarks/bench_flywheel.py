# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data flywheel, measured: ROS-graph bags -> bag2data -> SFT -> validation success.

    python benchmarks/bench_flywheel.py --executor-max-actions 100000   # default size
    python benchmarks/bench_flywheel.py --episodes 20 --warmup-steps 5 --plan-steps 5 \
        --sft-steps 5 --val-tasks 6 --executor-max-actions 100000        # smoke

Stages, all through the shipped commands:

1. tasks: the data engine's task generator (:func:`training.taskgen.generate_tasks`) over the
   public scenes (``$EGO_REASONER_DATA``; procedural scenes when it is absent or with
   ``--procedural N``). Training tasks come from the generator's *train* scenes, validation
   tasks from its held-out *val* scenes (split by a hash of the scene name), reference test
   FloorPlans are skipped.
2. record: one ``ego-reasoner launch sim --record --keep-running`` graph (simulator bridge,
   action executor, reasoner with the ``expert`` policy, recorder); an in-process rclpy node
   publishes the training tasks on ``task`` one by one and waits for each final status,
   pacing them under the executor's safety rate limit (``config/executor.yaml``). The camera
   is 448x448 like the evaluator's (``--camera``). DDS stays on localhost (the shipped Fast
   DDS profile, a private ``ROS_DOMAIN_ID``).
3. convert: ``ego-reasoner bag2data BAG --out DIR --successful-only``.
4. SFT: ``ego-reasoner train sft`` of the tiny preset from random weights (the shipped
   model card's sizes) on the bag-derived dataset, in the model card's stages (``--recipe
   staged``: text warm-up, first turns, trajectories; ``plain``: trajectories only);
   ``OUT/sft_warm/tiny-init`` is the untrained model (same tokenizer), ``OUT/sft/final``
   the trained one.
5. evaluate both on the same validation tasks, greedy, seed 0, one worker, one thread:
   ER success, completeness, strict success, and an exact McNemar test on per-task success.

Everything goes to ``runs/flywheel/<timestamp>/`` (``flywheel.json`` holds the figures); the
last line printed is that JSON.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
from pathlib import Path
import re
import signal
import subprocess
import sys
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'embodied-reasoner'
#: the tiny configuration of the shipped model card (models/ego-reasoner-tiny/README.md)
TINY = ('{hidden: 128, layers: 4, heads: 4, kv_heads: 2, vision_depth: 2, vision_width: 64, '
        'vision_heads: 2, image_size: 112, vocab_size: 4096}')
FINAL_STATES = ('succeeded', 'failed', 'aborted', 'error', 'rejected')
SIM_TASK_KEYS = ('navigable_objects', 'target_objects', 'related_objects', 'identity')


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / 'ego-reasoner'
    return [str(exe)] if exe.is_file() else [sys.executable, '-m', 'ego_reasoner_ros.cli.main']


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[str, float]:
    """Run a command to completion with its output in ``log``; returns (output, seconds)."""
    print('$ ' + ' '.join(cmd), flush=True)
    t0 = time.monotonic()
    with log.open('w') as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                              check=False)
    seconds = time.monotonic() - t0
    text = log.read_text(errors='replace')
    if proc.returncode not in (0, 3):  # bag2data: 3 = some bags failed, the others written
        sys.stderr.write(text[-4000:])
        raise SystemExit(f'error: {" ".join(cmd[:3])} exited with {proc.returncode} (log: {log})')
    return text, seconds


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith('{') and line.endswith('}'):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


# ------------------------------------------------------------------------------- 1. tasks
def plan_tasks(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """Training and validation tasks from the data engine's generator (split by scene)."""
    from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
    from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks

    data = args.data if args.data and (args.data / 'scenes').is_dir() else None
    if data is not None and not args.procedural:
        scenes = data / 'scenes'
        compat = ReceptacleCompat.default()
        source = f'public scenes ({data})'
    else:
        from ego_reasoner_ros.sim_bridge.procedural import generate_scenes
        n = args.procedural or 40
        scenes = run_dir / 'scenes'
        compat = ReceptacleCompat.builtin()
        generate_scenes(scenes, n, args.seed * 100_003, compat)
        data = None
        source = f'{n} procedural scenes'
    # enough tasks per scene for both sets; the generator interleaves across scenes
    probe = generate_tasks([scenes], TaskGenConfig(seed=args.seed, tasks_per_scene=1,
                                                   validate=False), compat=compat)
    n_val_scenes = max(1, len(probe.val_scenes))
    n_train_scenes = max(1, len(probe.scenes) - n_val_scenes)
    per_scene = max(math.ceil(args.val_tasks / n_val_scenes),
                    math.ceil(args.episodes / n_train_scenes)) + 1
    ts = generate_tasks([scenes], TaskGenConfig(seed=args.seed, tasks_per_scene=per_scene),
                        compat=compat)
    train = [t for t in ts.tasks if t['split'] == 'train'][:args.episodes]
    val = [t for t in ts.tasks if t['split'] == 'val'][:args.val_tasks]
    if not train or not val:
        raise SystemExit(f'error: got {len(train)} training and {len(val)} validation tasks')
    (run_dir / 'train_tasks.json').write_text(json.dumps(train, indent=1))
    (run_dir / 'val_tasks.json').write_text(json.dumps(val, indent=1))
    positions = data / 'agent_positions.json' if data is not None else None
    return {'scenes': scenes, 'data': data, 'train': train, 'val': val, 'source': source,
            'val_scenes': ts.val_scenes, 'n_scenes': len(ts.scenes),
            'agent_positions': positions if positions and positions.is_file() else None}


# ------------------------------------------------------------------------------ 2. record
def _task_msg(t: dict[str, Any], procedural: bool) -> dict[str, Any]:
    return {'task_id': f'fw-{t["identity"]}', 'instruction': t['taskquery'],
            'task_type': t['tasktype'],
            'scene': t['scene_path'] if procedural else t['scene'],
            'sim_task': {k: t[k] for k in SIM_TASK_KEYS if k in t}}


def executor_rate_limit(config_dir: Path) -> tuple[int, float]:
    """The action executor's safety rate limit (``max_actions`` per ``rate_window_s``)."""
    import yaml

    from ego_reasoner_ros.nodes.params import ExecutorParams
    params = yaml.safe_load((config_dir / 'executor.yaml').read_text())
    p = params['action_executor']['ros__parameters']
    limits = ExecutorParams.from_mapping({k: p[k] for k in ('max_actions', 'rate_window_s')
                                          if k in p})  # a key left out: the node's default
    return limits.max_actions, limits.rate_window_s


class TaskFeeder:
    """An rclpy node that sends tasks on ``task`` and waits for their final status.

    The executor's safety gate rejects actions beyond ``max_actions`` per window (a scripted
    expert in the simulator is that fast), so before each task the feeder waits until the
    executed actions of the last window leave room for a whole episode (``headroom``).
    """

    def __init__(self, config_dir: Path, headroom: int = 40) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import String

        from ego_reasoner_ros.nodes.qos import JSON_QOS
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node('flywheel_feeder', context=self.ctx)
        self.String = String
        self.statuses: list[dict[str, Any]] = []
        self.action_times: list[float] = []
        self.max_actions, self.window_s = executor_rate_limit(config_dir)
        self.headroom = headroom
        self.paced_s = 0.0
        self.pub = self.node.create_publisher(String, 'task', JSON_QOS)
        self.sub = self.node.create_subscription(String, 'reasoner/status', self._on_status,
                                                 JSON_QOS)
        self.sub_result = self.node.create_subscription(String, 'executor/result',
                                                        self._on_result, JSON_QOS)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)

    def _on_result(self, msg: Any) -> None:
        try:
            res = json.loads(msg.data)
        except json.JSONDecodeError:
            return
        if not str(res.get('action_id', '')).endswith('/0'):  # step 0 = init, not limited
            self.action_times.append(time.monotonic())

    def _room(self) -> bool:
        if self.max_actions <= 0:
            return True
        since = time.monotonic() - self.window_s
        recent = sum(1 for t in self.action_times if t > since)
        return recent + min(self.headroom, self.max_actions // 2) <= self.max_actions

    def _on_status(self, msg: Any) -> None:
        try:
            self.statuses.append(json.loads(msg.data))
        except json.JSONDecodeError:
            pass

    def spin_until(self, pred: Any, timeout: float, alive: Any = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            if alive is not None and not alive():
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return bool(pred())

    def ready(self, timeout: float, alive: Any) -> bool:
        """Reasoner and recorder subscribed to ``task``; status and results matched."""
        return self.spin_until(lambda: self.pub.get_subscription_count() >= 2
                               and self.sub.get_publisher_count() >= 1
                               and self.sub_result.get_publisher_count() >= 1, timeout, alive)

    def run_task(self, payload: dict[str, Any], timeout: float, alive: Any
                 ) -> dict[str, Any] | None:
        tid = payload['task_id']

        def final() -> dict[str, Any] | None:
            return next((s for s in self.statuses if s.get('task_id') == tid
                         and s.get('state') in FINAL_STATES), None)
        t0 = time.monotonic()
        self.spin_until(self._room, self.window_s + 5.0, alive)
        self.paced_s += time.monotonic() - t0
        self.pub.publish(self.String(data=json.dumps(payload)))
        self.spin_until(lambda: final() is not None, timeout, alive)
        return final()

    def close(self) -> None:
        import rclpy
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


def _stop(proc: subprocess.Popen, grace: float = 60.0) -> int:
    """SIGINT the launcher (it stops its nodes, the recorder closes the bag), then harder."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            if sig == signal.SIGINT:
                proc.send_signal(sig)
            else:
                os.killpg(proc.pid, sig)  # the launcher's own session: only its nodes
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def graph_config(run_dir: Path, camera: str, max_actions: int | None) -> Path:
    """A copy of the shipped parameter files with the simulated camera at ``camera`` (WxH).

    The evaluator's simulator renders 448x448 frames; recording the graph's 640x480 default
    would train the model on another aspect ratio than it is evaluated on. ``max_actions``
    replaces the executor's safety rate limit (actions per window) when given.
    """
    import shutil

    import yaml
    from ego_reasoner_ros.nodes import dds
    dest = run_dir / 'config'
    shutil.copytree(dds.config_dir(), dest)
    if camera != 'shipped':
        width, height = (int(v) for v in camera.lower().split('x'))
        path = dest / 'sim_bridge.yaml'
        params = yaml.safe_load(path.read_text())
        params['sim_bridge']['ros__parameters'].update(width=width, height=height)
        path.write_text(yaml.safe_dump(params, sort_keys=False))
    if max_actions is not None:
        path = dest / 'executor.yaml'
        params = yaml.safe_load(path.read_text())
        params['action_executor']['ros__parameters']['max_actions'] = max_actions
        path.write_text(yaml.safe_dump(params, sort_keys=False))
    return dest


def record(args: argparse.Namespace, run_dir: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """Run the training tasks through one recording sim graph; returns figures and the bag."""
    from ego_reasoner_ros.nodes import dds

    procedural = plan['data'] is None
    domain = dds.choose_domain_id()
    env = dds.confine_this_process('demo', domain)  # this process joins the graph's domain
    if plan['data'] is not None:
        env['EGO_REASONER_DATA'] = str(plan['data'])
    first = plan['train'][0]
    graph_dir = run_dir / 'graph'
    config_dir = graph_config(run_dir, args.camera, args.executor_max_actions)
    cmd = _cli() + ['launch', 'sim', '--policy', args.policy, '--keep-running', '--record',
                    '--runs-dir', str(graph_dir), '--domain-id', str(domain),
                    '--config-dir', str(config_dir),
                    '--scene', first['scene_path'] if procedural else first['scene']]
    if plan['data'] is not None:
        cmd += ['--data', str(plan['data'])]
    print('$ ' + ' '.join(cmd), flush=True)
    log = run_dir / 'graph.log'
    t0 = time.monotonic()
    fh = log.open('w')
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                            start_new_session=True)
    feeder = None
    outcomes: list[dict[str, Any]] = []
    try:
        feeder = TaskFeeder(config_dir)
        alive = lambda: proc.poll() is None  # noqa: E731
        if not feeder.ready(90.0, alive):
            raise SystemExit(f'error: the graph did not come up (log: {log})')
        t_ready = time.monotonic()
        for i, t in enumerate(plan['train']):
            payload = _task_msg(t, procedural)
            t1 = time.monotonic()
            st = feeder.run_task(payload, args.task_timeout, alive)
            if not alive():
                raise SystemExit(f'error: the graph exited during task {i} (log: {log})')
            state = st['state'] if st else 'timeout'
            outcomes.append({'task_id': payload['task_id'], 'tasktype': t['tasktype'],
                             'scene': t['scene'], 'state': state,
                             'success': bool(st and st.get('success', state == 'succeeded')),
                             'steps': st.get('step') if st else None,
                             'seconds': round(time.monotonic() - t1, 2)})
            print(f'  episode {i + 1}/{len(plan["train"])}: {t["tasktype"]} in {t["scene"]}: '
                  f'{state} ({outcomes[-1]["seconds"]} s)', flush=True)
        episodes_s = time.monotonic() - t_ready
        paced_s = feeder.paced_s
    finally:
        if feeder is not None:
            feeder.close()
        code = _stop(proc)
        fh.close()
        dds.release_domain_id(domain)
    seconds = time.monotonic() - t0
    bags = sorted(graph_dir.glob('*/bag'))
    if not bags:
        raise SystemExit(f'error: the graph left no bag (exit {code}; log: {log})')
    files = sorted(p for b in bags for p in b.rglob('*') if p.is_file())
    (run_dir / 'episodes_recorded.json').write_text(json.dumps(outcomes, indent=1))
    closed = [_last_json(line.split('bag closed:', 1)[1]) for line in
              log.read_text(errors='replace').splitlines() if 'bag closed:' in line]
    return {'bags': [str(b) for b in bags], 'launch_exit_code': code,
            'n_sent': len(outcomes), 'n_succeeded': sum(o['success'] for o in outcomes),
            'states': {s: sum(o['state'] == s for o in outcomes)
                       for s in sorted({o['state'] for o in outcomes})},
            'bag_bytes': sum(p.stat().st_size for p in files),
            'bag_files': [f'{p.relative_to(run_dir)} ({p.stat().st_size} B)' for p in files
                          if p.suffix == '.mcap'],
            'recorder': closed[-1] if closed else None,
            'episodes_seconds': round(episodes_s, 1),
            'paced_seconds': round(paced_s, 1), 'seconds': round(seconds, 1)}


# ----------------------------------------------------------------------------------- 4. SFT
def _sft(args: argparse.Namespace, run_dir: Path, data: Path, name: str, model: str,
         options: list[str]) -> tuple[dict[str, Any], float]:
    out = run_dir / name
    text, seconds = _run(_cli() + [
        'train', 'sft', '--config', str(REPO / 'training' / 'configs' / 'tiny_sft.yaml'),
        f'model={model}', f'data={data}', f'output_dir={out}', f'tiny={TINY}',
        'save_total_limit=1', f'torch_threads={args.torch_threads}', *options],
        run_dir / f'{name}.log')
    fig = _last_json(text)
    return {'stage': name, 'options': options, 'global_step': fig.get('global_step'),
            'first_loss': fig.get('first_loss'), 'last_loss': fig.get('last_loss'),
            'curves': [str(Path(c).relative_to(run_dir)) for c in fig.get('curves', [])],
            'seconds': round(seconds, 1)}, seconds


def train_staged(args: argparse.Namespace, run_dir: Path, data: Path
                 ) -> tuple[dict[str, Any], dict[str, float]]:
    """SFT of the tiny preset from random weights on the bag-derived dataset.

    ``--recipe staged`` is the shipped model card's recipe: a text-only warm-up (the task
    line -> the first reply; a small model from scratch learns to copy the task's objects
    into its plan only on such short rows), the first turns with image and menu, then the
    trajectories with their first turns. ``--recipe plain`` is the trajectory stage alone.
    """
    stages: list[tuple[str, list[str]]] = []
    if args.recipe == 'staged':
        stages += [
            ('sft_warm', ['first_turns=text', 'per_device_train_batch_size=32',
                          'gradient_accumulation_steps=1', f'max_steps={args.warmup_steps}',
                          'learning_rate=1e-3', 'lr_scheduler_type=constant_with_warmup',
                          'warmup_ratio=0.02', 'logging_steps=25',
                          f'save_steps={args.warmup_steps}']),
            ('sft_plan', ['first_turns=only', 'per_device_train_batch_size=8',
                          'gradient_accumulation_steps=1', f'max_steps={args.plan_steps}',
                          'learning_rate=1e-3', 'lr_scheduler_type=constant', 'warmup_ratio=0',
                          'logging_steps=25', f'save_steps={args.plan_steps}'])]
    stages.append(('sft', ['first_turns=add' if args.recipe == 'staged' else 'first_turns=none',
                           f'max_steps={args.sft_steps}', f'learning_rate={args.learning_rate}',
                           'lr_scheduler_type=cosine', 'warmup_ratio=0.02', 'logging_steps=10',
                           f'save_steps={args.sft_steps}']))
    model = 'tiny'
    out: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    for name, options in stages:
        fig, sec = _sft(args, run_dir, data, name, model, options)
        print(f'{name}: loss {fig["first_loss"]} -> {fig["last_loss"]} in {fig["seconds"]} s',
              flush=True)
        out.append(fig)
        seconds[name] = fig['seconds']
        model = str(run_dir / name / 'final')
    first = stages[0][0]
    return {'stages': out, 'init': f'{first}/tiny-init', 'final': f'{stages[-1][0]}/final'}, \
        seconds


# ----------------------------------------------------------------------------- 5. evaluate
def evaluate(args: argparse.Namespace, run_dir: Path, plan: dict[str, Any], model: Path,
             name: str) -> dict[str, Any]:
    out = run_dir / 'eval' / name
    cmd = _cli() + ['eval', '--policy', f'hf:{model}', '--tasks', str(run_dir / 'val_tasks.json'),
                    '--scenes', str(plan['scenes']), '--out', str(out), '--workers', '1',
                    '--seed', '0', '--parser', 'strict', '--no-plots', '--no-progress',
                    '--agent-positions', str(plan['agent_positions'] or ''),
                    '--policy-arg', f'max_new_tokens={args.max_new_tokens}',
                    '--policy-arg', 'torch_threads=1']
    _, seconds = _run(cmd, run_dir / f'eval_{name}.log')
    from ego_reasoner_ros.training.report import successes_of
    summary = json.loads((out / 'summary.json').read_text())
    per_task = successes_of(out)
    return {'model': str(model), 'n': summary['n_tasks'], 'successes': summary['successes'],
            'success_rate': summary['success_rate'],
            'task_completeness': summary['task_completeness'],
            'search_efficiency': summary['search_efficiency'],
            'strict_success_rate': summary['strict_success_rate'],
            'seconds': round(seconds, 1), 'per_task': per_task}


def _table(before: dict[str, Any], after: dict[str, Any], test: dict[str, Any]) -> str:
    rows = ['| model | n | ER success | completeness | search eff. | strict |',
            '|---|---|---|---|---|---|']
    for label, r in (('untrained (tiny-init)', before), ('after SFT on bag data', after)):
        rows.append(f'| {label} | {r["n"]} | {100 * r["success_rate"]:.2f}% '
                    f'({r["successes"]}) | {100 * r["task_completeness"]:.2f}% | '
                    f'{100 * r["search_efficiency"]:.2f}% | '
                    f'{100 * r["strict_success_rate"]:.2f}% |')
    rows.append(f'exact McNemar on per-task success: {test["before_only"]} before-only / '
                f'{test["after_only"]} after-only discordant tasks, p = {test["p_value"]}')
    return '\n'.join(rows)


def main() -> int:
    env_data = os.environ.get('EGO_REASONER_DATA')
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--episodes', type=int, default=1500,
                    help='training tasks run through the ROS graph (default 1500)')
    ap.add_argument('--recipe', choices=('staged', 'plain'), default='staged',
                    help='staged: text warm-up, first turns, trajectories (the model card\'s '
                         'recipe); plain: trajectories only')
    ap.add_argument('--warmup-steps', type=int, default=500,
                    help='staged: text warm-up steps of 32 task lines (default 500)')
    ap.add_argument('--plan-steps', type=int, default=250,
                    help='staged: first-turn steps of 8 rows (default 250)')
    ap.add_argument('--sft-steps', type=int, default=1000,
                    help='trajectory SFT steps of 4 episodes each (default 1000)')
    ap.add_argument('--torch-threads', type=int, default=2, help='threads of each SFT stage')
    ap.add_argument('--val-tasks', type=int, default=60,
                    help='validation tasks from the held-out scenes (default 60)')
    ap.add_argument('--data', type=Path,
                    default=Path(env_data) if env_data else (
                        DEFAULT_DATA if DEFAULT_DATA.is_dir() else None),
                    help='Embodied-Reasoner data folder (default: $EGO_REASONER_DATA)')
    ap.add_argument('--procedural', type=int, default=0,
                    help='use N procedural scenes instead of the public ones (40 when no data)')
    ap.add_argument('--policy', default='sweep:0.1',
                    help='policy of the recorded graph (default sweep:0.1: the sweep expert '
                         'planned from the instruction, a mistaken pickup now and then)')
    ap.add_argument('--seed', type=int, default=0, help='task generation seed')
    ap.add_argument('--learning-rate', type=float, default=5e-4,
                    help='peak learning rate of the trajectory stage (default 5e-4)')
    ap.add_argument('--max-new-tokens', type=int, default=128)
    ap.add_argument('--camera', default='448x448',
                    help='WxH of the simulated camera of the recorded graph (default 448x448, '
                         'as the evaluator renders; "shipped" keeps config/sim_bridge.yaml)')
    ap.add_argument('--executor-max-actions', type=int, default=None,
                    help='replace the executor\'s safety rate limit (config/executor.yaml: 120 '
                         'actions per 60 s) in this run\'s simulated graph; the feeder paces '
                         'tasks under whichever limit applies')
    ap.add_argument('--task-timeout', type=float, default=180.0,
                    help='seconds to wait for one recorded episode')
    ap.add_argument('--out-root', type=Path, default=REPO / 'runs' / 'flywheel')
    args = ap.parse_args()
    for name in ('episodes', 'sft_steps', 'val_tasks', 'warmup_steps', 'plan_steps',
                 'torch_threads'):
        if getattr(args, name) < 1:
            ap.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.camera != 'shipped' and not re.fullmatch(r'[1-9]\d*x[1-9]\d*', args.camera.lower()):
        ap.error('--camera must be WxH (e.g. 448x448) or "shipped"')

    run_dir = (args.out_root / _dt.datetime.now().strftime('%Y%m%d_%H%M%S')).resolve()
    run_dir.mkdir(parents=True, exist_ok=False)
    print(f'flywheel run folder: {run_dir}', flush=True)
    wall: dict[str, float] = {}
    t_all = time.monotonic()

    t0 = time.monotonic()
    plan = plan_tasks(args, run_dir)
    wall['tasks'] = round(time.monotonic() - t0, 1)
    print(f'tasks: {len(plan["train"])} training, {len(plan["val"])} validation '
          f'(val scenes {", ".join(plan["val_scenes"])}) from {plan["source"]}', flush=True)

    rec = record(args, run_dir, plan)
    wall['record'] = rec['seconds']
    print(f'recorded {rec["n_sent"]} episodes ({rec["n_succeeded"]} succeeded) in '
          f'{rec["seconds"]} s; bag {rec["bag_bytes"] / 1e6:.1f} MB', flush=True)

    data_dir = run_dir / 'data'
    text, seconds = _run(_cli() + ['bag2data', *rec['bags'], '--out', str(data_dir),
                                   '--successful-only'], run_dir / 'bag2data.log')
    wall['bag2data'] = round(seconds, 1)
    figures = _last_json(text)
    print('bag2data: ' + json.dumps(figures), flush=True)
    if not figures.get('n_train'):
        raise SystemExit('error: bag2data produced no training episode')

    sft, stage_seconds = train_staged(args, run_dir, data_dir / 'sharegpt')
    wall.update(stage_seconds)
    print('sft: ' + json.dumps(sft), flush=True)

    before = evaluate(args, run_dir, plan, run_dir / sft['init'], 'untrained')
    wall['eval_untrained'] = before['seconds']
    after = evaluate(args, run_dir, plan, run_dir / sft['final'], 'sft')
    wall['eval_sft'] = after['seconds']
    from ego_reasoner_ros.training.report import mcnemar_exact
    test = mcnemar_exact(before['per_task'], after['per_task'])
    wall['total'] = round(time.monotonic() - t_all, 1)

    table = _table(before, after, test)
    print(table, flush=True)
    (run_dir / 'flywheel.md').write_text(table + '\n')
    result = {
        'bench': 'flywheel', 'run_dir': str(run_dir), 'scenes': plan['source'],
        'n_scenes': plan['n_scenes'], 'val_scenes': plan['val_scenes'],
        'graph_policy': args.policy, 'camera': args.camera,
        'executor_max_actions': args.executor_max_actions or 'shipped',
        'episodes_requested': args.episodes,
        'record': {k: v for k, v in rec.items() if k != 'seconds'},
        'bag2data': figures,
        'sft': {'recipe': args.recipe, 'tiny': TINY, **sft},
        'eval': {'n_val_tasks': len(plan['val']), 'seed': 0, 'greedy': True,
                 'max_new_tokens': args.max_new_tokens,
                 'before': {k: v for k, v in before.items() if k != 'per_task'},
                 'after': {k: v for k, v in after.items() if k != 'per_task'}},
        'mcnemar': test, 'wall_seconds': wall,
        'load_average': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
    }
    (run_dir / 'flywheel.json').write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
