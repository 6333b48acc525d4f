# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Check a data-engine dataset: every trajectory replays to success, formats are consistent.

For each ``episodes/<id>`` record the recorded replies are fed again, through the shared
episode loop, to a fresh embedded simulator reset to the task; every step must give the same
action and the same outcome, the replay must score a success under the ER metric and pass the
strict goal check. The sharegpt files must list each episode once, with as many ``<image>``
placeholders as images, all present on disk; no half-written folder may remain.

    python -m ego_reasoner_ros.training.check_dataset DIR
    ego-reasoner datagen --check DIR
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
import logging
from pathlib import Path
import sys
from typing import Any

from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import ScriptedPolicy
from ego_reasoner_ros.sim_bridge.registry import make_sim
from ego_reasoner_ros.training.dataset_formats import EPISODES_DIR, TASKS_FILE, image_placeholders
from ego_reasoner_ros.training.judging import judge, planned_failures, sim_config, task_from_record
from ego_reasoner_ros.training.episode_runner import run_scored_episode

logger = logging.getLogger(__name__)


def replay_episode(record: EpisodeRecord, task_rec: dict[str, Any], sim: Any) -> list[str]:
    """Replay one record; returns the problems found (empty when it is fine)."""
    task = task_from_record(task_rec)
    policy = ScriptedPolicy([s.raw_output for s in record.model_steps], name='replay')
    run = run_scored_episode(policy, task, sim, scene=task_rec.get('scene_path') or task.scene,
                             episode_id=record.episode_id).raise_error()
    again = run.record
    problems = []
    old = [(str(s.action), s.success) for s in record.steps]
    new = [(str(s.action), s.success) for s in again.steps]
    if old != new:
        problems.append(f'replay differs: recorded {old} vs replayed {new}')
    expert = record.metadata.get('expert') or {}
    # deliberate failures of the expert (probes, unreachable sweep places) are part of the data
    verdict = judge(run, allowed_failures=planned_failures(expert))
    if not verdict.kept:
        problems.append(f'replay not a success: {verdict.reason}')
    return problems


def check_dataset(out_dir: str | Path, *, limit: int | None = None,
                  progress: bool = False) -> dict[str, Any]:
    """Check a dataset folder; returns a report with ``ok`` and the problems found.

    Raises:
        DataError: if the folder is not a data-engine dataset.
    """
    root = Path(out_dir)
    tasks_path = root / TASKS_FILE
    if not tasks_path.is_file():
        raise DataError(f'{root} is not a data-engine dataset (no {TASKS_FILE})')
    plan = json.loads(tasks_path.read_text(encoding='utf-8'))
    tasks = {str(t['identity']): t for t in plan['tasks']}
    ep_root = root / EPISODES_DIR
    dirs = sorted(p.parent for p in ep_root.glob('*/episode.json'))
    problems: list[str] = []
    partial = [p.name for p in ep_root.iterdir() if p.name.startswith('.')] \
        if ep_root.is_dir() else []
    if partial:
        problems.append(f'half-written folders left: {partial[:5]}')
    incomplete = [p.name for p in ep_root.iterdir()
                  if p.is_dir() and not p.name.startswith('.')
                  and not (p / 'episode.json').is_file()] if ep_root.is_dir() else []
    if incomplete:
        problems.append(f'episode folders without episode.json: {incomplete[:5]}')
    seen_tasks: dict[str, str] = {}
    sim = make_sim(sim_config(64, render=False))
    replayed = 0
    todo = dirs if limit is None else dirs[:limit]
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc='replaying', unit='traj', dynamic_ncols=True)
        except ImportError:
            bar = None
    for d in dirs:
        try:
            record = EpisodeRecord.load(d, lazy_images=True)
        except DataError as exc:
            problems.append(f'{d.name}: unreadable record: {exc}')
            continue
        tid = str(record.metadata.get('task_identity', ''))
        if tid in seen_tasks:
            problems.append(f'{d.name}: duplicate of {seen_tasks[tid]} (task {tid})')
        seen_tasks[tid] = d.name
        if tid not in tasks:
            problems.append(f'{d.name}: task {tid!r} is not in {TASKS_FILE}')
            continue
        if d in todo:
            problems += [f'{d.name}: {p}' for p in replay_episode(record, tasks[tid], sim)]
            replayed += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    n_rows = 0
    sg = root / 'sharegpt'
    ids: set[str] = set()
    for split in ('train', 'val'):
        path = sg / f'{split}.json'
        if not path.is_file():
            problems.append(f'missing {path}')
            continue
        for row in json.loads(path.read_text(encoding='utf-8')):
            n_rows += 1
            rid = row.get('identity')
            if rid in ids:
                problems.append(f'sharegpt: row {rid} appears twice')
            ids.add(rid)
            if image_placeholders(row) != len(row['images']):
                problems.append(f'sharegpt: row {rid}: placeholders and images differ')
            missing = [p for p in row['images'] if not (path.parent / p).is_file()]
            if missing:
                problems.append(f'sharegpt: row {rid}: missing images {missing[:2]}')
    if ids != {d.name for d in dirs}:
        problems.append(f'sharegpt rows ({len(ids)}) and episode folders ({len(dirs)}) '
                        'differ')
    return {'ok': not problems, 'n_episodes': len(dirs), 'n_replayed': replayed,
            'n_sharegpt_rows': n_rows, 'n_problems': len(problems),
            'problems': problems[:50]}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: check a dataset folder, print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dir', type=Path)
    parser.add_argument('--limit', type=int, default=None)
    args = parser.parse_args(argv)
    try:
        report = check_dataset(args.dir, limit=args.limit)
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
