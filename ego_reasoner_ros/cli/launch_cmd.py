# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
r"""``ego-reasoner launch sim|robot``: the launch files' nodes as processes, without ``ros2``.

Examples::

    # demo: embedded simulator, expert policy, one task to the end, replay in runs/<time>/
    ego-reasoner launch sim --scene FloorPlan1 \\
        --instruction "Could you help me look for the CreditCard in the room?"
    ego-reasoner launch sim --case 0            # a case of the public test set
    ego-reasoner launch robot --semantic-map config/semantic_map_example.yaml --policy hf:PATH

``sim`` keeps DDS on localhost (the shipped Fast DDS profile, a per-run ROS_DOMAIN_ID);
``robot`` uses the system's DDS settings. With ``--keep-running`` every task run saves its
episode in its own folder under the run folder. Exit codes: 0 the task succeeded, 1 the task
failed or a node died (named on a ``[launch]`` line), 2 bad input (an unknown scene, a bad
``--domain-id``), 124 ``--timeout`` reached, 130 stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
from pathlib import Path
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``launch`` sub-command."""
    p = subparsers.add_parser('launch', help='start the ROS 2 node graph (sim demo or robot)',
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('kind', choices=['sim', 'robot'], help='which launch file to run')
    p.add_argument('--policy', default=None, help='policy spec (default: from reasoner.yaml)')
    p.add_argument('--scene', default=None,
                   help='scene name (needs the data), folder, or procedural:[ROOM:]SEED (sim)')
    p.add_argument('--data', default=None,
                   help='Embodied-Reasoner data folder (default: $EGO_REASONER_DATA)')
    p.add_argument('--case', type=int, default=None,
                   help='run case N of the public test set (instruction, scene, task)')
    p.add_argument('--instruction', default=None, help='the task to run (sim demo)')
    p.add_argument('--task-type', default='', help='ER task type (sets the step budget)')
    p.add_argument('--runs-dir', default='runs', help='where runs/<timestamp>/ is created')
    p.add_argument('--semantic-map', default=None, help='semantic map YAML (robot)')
    p.add_argument('--config-dir', default=None, help='parameter files (default: shipped)')
    p.add_argument('--keep-running', action='store_true',
                   help='do not stop after the first task (wait for tasks on the task topic)')
    p.add_argument('--timeout', type=float, default=None, help='stop after this many seconds')
    p.add_argument('--domain-id', type=int, default=None,
                   help='ROS_DOMAIN_ID (sim; 0..232, default: a free one in 1..100)')
    p.add_argument('--record', action='store_true',
                   help='also record the graph to an MCAP bag in the run folder (recorder node)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the generated scene and task when neither --scene, --case '
                        'nor --instruction is given (sim)')
    p.add_argument('--task-kind', default='pickup_from_closerep_and_put',
                   help='task type of the generated demo task (sim)')
    p.set_defaults(func=run)
    return p


def _case_task(data_dir: Path, index: int) -> dict[str, Any]:
    from ego_reasoner_ros.core import data_store
    path = data_store.test_set_path(data_dir)
    cases = json.loads(Path(path).read_text())
    if not 0 <= index < len(cases):
        raise SystemExit(f'error: --case must be in 0..{len(cases) - 1}')
    case = cases[index]
    return {'task_id': f'case-{index}', 'instruction': case['taskquery'],
            'task_type': case.get('tasktype', ''), 'scene': case['scene'],
            'sim_task': {k: case[k] for k in ('navigable_objects', 'target_objects',
                                              'related_objects', 'identity') if k in case}}


def _generated_task(run_dir: Path, seed: int, task_kind: str) -> tuple[Path, dict[str, Any]]:
    """Write a procedural kitchen into ``run_dir/scenes`` and pick one of its tasks."""
    from ego_reasoner_ros.sim_bridge.procedural import write_scene
    from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
    from ego_reasoner_ros.sim_bridge.scene import load_scene
    from ego_reasoner_ros.training.taskgen import TaskGenConfig, scene_tasks

    scenes_dir = run_dir / 'scenes'
    compat = ReceptacleCompat.builtin()  # the same scene for a seed on every machine
    folder = write_scene(scenes_dir, seed, 'kitchen', compat=compat)
    scene = load_scene(folder)
    tasks = scene_tasks(scene, compat, TaskGenConfig(seed=seed, tasks_per_scene=40))
    if not tasks:
        raise SystemExit(f'error: the generated scene {scene.name} has no task')
    preferred = [t for t in tasks if t['tasktype'] == task_kind]
    case = (preferred or tasks)[0]
    task = {'task_id': f'demo-{scene.name}', 'instruction': case['taskquery'],
            'task_type': case['tasktype'], 'scene': case['scene'],
            'sim_task': {k: case[k] for k in ('navigable_objects', 'target_objects',
                                              'related_objects', 'identity') if k in case}}
    return scenes_dir, task


def run(args: argparse.Namespace) -> int:
    """Run the launch; returns the process exit code."""
    from ego_reasoner_ros.nodes import dds, launcher

    config_dir = Path(args.config_dir) if args.config_dir else dds.config_dir()
    params: dict[str, dict[str, Any]] = {'reasoner': {}, 'sim_bridge': {},
                                         'action_executor': {}}
    if args.policy:
        params['reasoner']['policy'] = args.policy
    domain = None
    claimed = False
    if args.kind == 'sim':
        if args.domain_id is not None:
            try:
                domain = dds.check_domain_id(args.domain_id)
            except dds.DDSConfigError as exc:
                print(f'error: --domain-id: {exc}', file=sys.stderr)
                return 2
        else:
            domain, claimed = dds.choose_domain_id(), True
        env = dds.localhost_env(domain, mode='demo')
        try:
            return _run_graph(args, launcher, config_dir, params, env, domain)
        finally:
            if claimed:  # always, whatever ended the run
                dds.release_domain_id(domain)
    else:
        env = dict(os.environ, PYTHONUNBUFFERED='1', EGO_REASONER_DDS_MODE='robot')
        if not args.semantic_map:
            print('error: launch robot needs --semantic-map', file=sys.stderr)
            return 2
        params['action_executor']['semantic_map'] = str(Path(args.semantic_map).resolve())
    return _run_graph(args, launcher, config_dir, params, env, domain)


def _run_graph(args: argparse.Namespace, launcher: Any, config_dir: Path,
               params: dict[str, dict[str, Any]], env: dict[str, str],
               domain: int | None) -> int:
    """Prepare the run folder and the task, launch, report; returns the exit code."""
    run_dir = Path(args.runs_dir) / _dt.datetime.now().strftime('%Y%m%d_%H%M%S')
    run_dir.mkdir(parents=True, exist_ok=True)
    generated = (args.kind == 'sim' and args.case is None and not args.instruction
                 and not args.scene)
    data_dir = None
    task: dict[str, Any] | None = None
    if generated:
        scenes_dir, task = _generated_task(run_dir, args.seed, args.task_kind)
        params['sim_bridge']['scenes_dir'] = str(scenes_dir.resolve())
        params['sim_bridge']['publish_world_state'] = True
        print(f'generated scene {task["scene"]} (seed {args.seed}): {task["instruction"]}',
              flush=True)
    elif args.kind == 'sim':
        from ego_reasoner_ros.core import data_store
        try:
            data_dir = data_store.resolve_data_dir(args.data)
        except data_store.DataNotFoundError as exc:
            from ego_reasoner_ros.sim_bridge.procedural import SCENE_SPEC_PREFIX
            no_data_needed = args.scene and (Path(args.scene).exists()
                                             or args.scene.startswith(SCENE_SPEC_PREFIX))
            if args.case is not None or not no_data_needed:
                print(f'error: {exc}', file=sys.stderr)
                return 2
        if data_dir is not None:
            params['sim_bridge']['scenes_dir'] = str(data_store.scenes_dir(data_dir))
            pos = data_store.agent_positions_path(data_dir, required=False)
            if Path(pos).is_file():
                params['sim_bridge']['agent_positions'] = str(pos)
            env['EGO_REASONER_DATA'] = str(data_dir)
        params['sim_bridge']['publish_world_state'] = True

    if args.case is not None:
        assert data_dir is not None
        task = _case_task(data_dir, args.case)
    elif args.instruction:
        task = {'task_id': 'demo', 'instruction': args.instruction}
        if args.task_type:
            task['task_type'] = args.task_type
        if args.scene:
            task['scene'] = args.scene
    if args.scene:
        params['sim_bridge']['scene'] = args.scene
    elif task is not None and task.get('scene'):
        params['sim_bridge']['scene'] = task['scene']

    if args.keep_running:  # every task run gets its own folder under the run folder
        params['reasoner']['runs_dir'] = str(run_dir.resolve())
        params['reasoner']['run_dir'] = ''
    else:
        params['reasoner']['run_dir'] = str(run_dir.resolve())
    if args.record:
        params['recorder'] = {'out_dir': str(run_dir.resolve()), 'bag_name': 'bag'}
        params['reasoner']['wait_for_recorder_s'] = 15.0
    until = None
    if task is not None:
        task_file = run_dir / 'task.json'
        task_file.write_text(json.dumps(task, indent=2))
        params['reasoner']['initial_task_file'] = str(task_file.resolve())
        if not args.keep_running:
            params['reasoner']['exit_after_task'] = True
            until = 'reasoner'
    print(f'launch {args.kind}: run folder {run_dir.resolve()}'
          + (f', ROS_DOMAIN_ID={domain}' if domain is not None else ''), flush=True)
    code = launcher.launch(args.kind, config_dir=config_dir, env=env, params=params,
                           until_exit_of=until, timeout_s=args.timeout, record=args.record)
    if args.record and (run_dir / 'bag').is_dir():
        print(f'bag: {(run_dir / "bag").resolve()}', flush=True)
    replay = run_dir / 'replay.html'
    if replay.is_file():
        print(f'episode replay: {replay.resolve()}', flush=True)
    episodes = sorted(p.parent for p in run_dir.glob('*/replay.html'))
    if episodes:
        print(f'{len(episodes)} episode folder(s) under the run folder', flush=True)
    print(f'run folder: {run_dir.resolve()}', flush=True)
    if code != 0:
        print(f'launch {args.kind}: the run failed (exit code {code})', file=sys.stderr,
              flush=True)
    return code
