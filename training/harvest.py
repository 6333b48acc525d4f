# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""On-policy harvest: run a policy on a dataset's tasks and keep the episodes it fails.

Expert trajectories only ever show the states an expert reaches. A learned policy fails in
states of its own (a wrong room read from the frame, a chain of places the room lacks), and
imitation data cannot show what to do there. GRPO with the episode-return reward
(:mod:`~ego_reasoner_ros.training.rollout_reward`) can, if its prompts are those states.

:func:`run_harvest` runs ``policy`` on tasks of a data-engine folder through the same
episode loop, prompt wording, simulator seed and scoring as the rollout reward, and writes
the episodes it fails (or all of them) as a dataset folder of the data engine's layout::

    OUT/episodes/<identity>/   episode records with their frames
    OUT/sharegpt/train.json    one row per episode (GRPO reads its turns as prompts)
    OUT/tasks.json             the harvested tasks with the source's config (rollout reward)
    OUT/results.jsonl          one line per task run (resumable: done tasks are skipped)
    OUT/summary.json           success rate, per type, how episodes ended

Replaying a kept episode's replies reproduces its states exactly, so
``ego-reasoner train grpo ... data=OUT/sharegpt turns=last:K
rollout_reward={tasks: OUT/tasks.json}`` trains on the last K decisions before each failure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
import json
import logging
from pathlib import Path
import random
import shutil
import time
from typing import Any

from ego_reasoner_ros.core.progress import Progress
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.loop import EpisodeError
from ego_reasoner_ros.core.prompts import PROMPT_CONFIG_FILE

logger = logging.getLogger(__name__)

KEEP = ('failed', 'all')
RESULTS_FILE = 'results.jsonl'


@dataclass
class HarvestConfig:
    """Settings of :func:`run_harvest`.

    Attributes:
        policy: policy spec (``hf:PATH``, ``probe``...; :func:`make_policy`).
        data: a data-engine folder (its ``tasks.json`` and ``prompt_config.json``).
        out_dir: where the harvest is written (resumed when it exists).
        n: tasks to run.
        split: which of the source's splits to draw tasks from.
        task_types: keep only these ER task types (None: all).
        keep: ``failed`` (episodes without ER success) or ``all``.
        seed: shuffles the task order (the simulator seed is the source's).
        policy_kwargs: keyword arguments of the policy factory (``torch_threads``...).
        progress: show a progress bar.
    """

    policy: str
    data: str
    out_dir: str
    n: int = 200
    split: str = 'train'
    task_types: list[str] | None = None
    keep: str = 'failed'
    seed: int = 0
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.policy:
            raise ValueError('harvest needs a policy spec')
        if self.n < 1:
            raise ValueError('n must be >= 1')
        if self.keep not in KEEP:
            raise ValueError(f'keep must be one of {KEEP}, got {self.keep!r}')
        if self.split not in ('train', 'val'):
            raise ValueError(f"split must be 'train' or 'val', got {self.split!r}")
        if not (Path(self.data) / 'tasks.json').is_file():
            raise DataError(f'{self.data}: no tasks.json (a data-engine folder is needed)')


def select_tasks(plan: dict[str, Any], cfg: HarvestConfig) -> list[dict[str, Any]]:
    """The source tasks to run: the split and types asked for, shuffled by ``cfg.seed``."""
    wanted = set(cfg.task_types or [])
    pool = [t for t in plan.get('tasks', []) if t.get('split', 'train') == cfg.split
            and (not wanted or t.get('tasktype') in wanted)]
    random.Random(cfg.seed).shuffle(pool)
    return pool[:cfg.n]


def _done(out: Path) -> dict[str, dict[str, Any]]:
    path = out / RESULTS_FILE
    if not path.is_file():
        return {}
    done = {}
    for line in path.read_text(encoding='utf-8').splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run: that task runs again
        done[str(row['identity'])] = row
    return done


#: Settings a resumed harvest must share with the one it continues (``n`` may grow).
_SAME_ON_RESUME = ('policy', 'data', 'split', 'task_types', 'keep', 'seed', 'policy_kwargs')


def _check_resume(out: Path, settings: dict[str, Any]) -> None:
    """Refuse to mix a new harvest into a folder that holds one with other settings."""
    path = out / 'tasks.json'
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text(encoding='utf-8'))['config']['harvest']
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f'{out}: holds a tasks.json that no harvest wrote; '
                        'use a new folder') from None
    changed = [k for k in _SAME_ON_RESUME if before.get(k) != settings.get(k)]
    if changed:
        raise DataError(f'{out}: holds a harvest with other settings ({", ".join(changed)}); '
                        'use a new folder')


def run_harvest(cfg: HarvestConfig) -> dict[str, Any]:
    """Run the harvest (see the module docstring); returns the summary figures."""
    from ego_reasoner_ros.core.policy import make_policy
    from ego_reasoner_ros.core.fileio import atomic_write_text
    from ego_reasoner_ros.training import dataset_formats
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers hf, probe...)
    from ego_reasoner_ros.training.rollout_reward import RolloutReward, RolloutRewardConfig
    from ego_reasoner_ros.training.tasks import Task

    from ego_reasoner_ros.core.policy import check_policy

    started = time.monotonic()
    check_policy(cfg.policy, cfg.policy_kwargs)  # bad input fails before anything is written
    src = Path(cfg.data)
    if not (src / 'tasks.json').is_file():
        raise DataError(f'{src}: no tasks.json (give a data-engine output folder)')
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = json.loads((src / 'tasks.json').read_text(encoding='utf-8'))
    chosen = select_tasks(plan, cfg)
    if not chosen:
        raise DataError(f'{src}: no {cfg.split} task of the types asked for')
    # the harvest's own task file, for the rollout reward (scene paths, seed, image size)
    meta = dict(plan.get('config', {}))
    meta['harvest'] = {k: v for k, v in asdict(cfg).items() if k != 'progress'}
    _check_resume(out, meta['harvest'])
    atomic_write_text(out / 'tasks.json', json.dumps({'config': meta, 'tasks': chosen},
                                                     indent=1))
    if (src / PROMPT_CONFIG_FILE).is_file():
        shutil.copyfile(src / PROMPT_CONFIG_FILE, out / PROMPT_CONFIG_FILE)
    reward = RolloutReward(RolloutRewardConfig(tasks=str(out / 'tasks.json')))
    done = _done(out)
    todo = [t for t in chosen if str(t['identity']) not in done]
    policy = make_policy(cfg.policy, **cfg.policy_kwargs) if todo else None
    bar = Progress(len(chosen), 'harvest', done=len(chosen) - len(todo),
                   successes=sum(int(r.get('success') or 0) for r in done.values()),
                   enabled=cfg.progress and bool(todo))
    try:
        with (out / RESULTS_FILE).open('a', encoding='utf-8') as log:
            for entry in todo:
                task = Task.from_dict(entry)
                t0 = time.monotonic()
                row: dict[str, Any] = {'identity': str(task.identity),
                                       'tasktype': task.tasktype}
                try:
                    # the episode's own step cap bounds it; the budget only has to exceed it
                    record, er = reward.run(task, [], policy, max_new_steps=1000,
                                            reset_model=True)
                except EpisodeError as exc:
                    logger.warning('harvest of %s failed: %s', task.identity, exc)
                    row.update(error=str(exc), success=0, kept=False)
                else:
                    kept = cfg.keep == 'all' or not er.success
                    row.update(success=er.success, completeness=er.completeness,
                               terminated_by=record.terminated_by,
                               model_calls=record.metadata.get('model_calls', 0), kept=kept)
                    if kept:
                        record.metadata.update({
                            'split': 'train', 'task_identity': str(task.identity),
                            'taskname': task.taskname, 'key_actions': list(task.key_actions),
                            'er_success': er.success, 'harvested_with': cfg.policy})
                        record.save(out / dataset_formats.EPISODES_DIR / str(task.identity),
                                    overwrite=True)
                row['seconds'] = round(time.monotonic() - t0, 3)
                log.write(json.dumps(row) + '\n')
                log.flush()
                done[row['identity']] = row
                bar.update(1, success=row.get('success'))
    finally:
        if bar is not None:
            bar.close()
    rows = [done[str(t['identity'])] for t in chosen if str(t['identity']) in done]
    kept = sum(1 for r in rows if r.get('kept'))
    if kept:
        dataset_formats.build_formats(out, formats=('sharegpt',), plan={'tasks': chosen})
    per_type: dict[str, list[int]] = {}
    for r in rows:
        per_type.setdefault(r['tasktype'], []).append(int(r.get('success', 0)))
    summary = {
        'policy': cfg.policy, 'n_tasks': len(rows), 'n_kept': kept,
        'success_rate': round(sum(r.get('success', 0) for r in rows) / max(len(rows), 1), 4),
        'per_type': {k: {'n': len(v), 'success_rate': round(sum(v) / len(v), 4)}
                     for k, v in sorted(per_type.items())},
        'terminated_by': dict(Counter(r.get('terminated_by', 'error') for r in rows
                                      if not r.get('success'))),
        'n_errors': sum(1 for r in rows if 'error' in r),
        'seconds_per_task': round(sum(r['seconds'] for r in rows) / max(len(rows), 1), 3),
        'wall_seconds': round(time.monotonic() - started, 2),
        'out_dir': str(out),
    }
    atomic_write_text(out / 'summary.json', json.dumps(summary, indent=1))
    return summary
