# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data engine: o1-style expert trajectories in the embedded simulator, at scale (resumable).

For every generated task (:mod:`taskgen`) an expert of the registry (``training/experts``; the
default is :class:`~ego_reasoner_ros.training.experts.engine.DataEnginePolicy`) acts through
the shared episode loop (:func:`ego_reasoner_ros.core.loop.run_episode`) in the embedded
simulator, which renders the frame after each action and the three views after ``observe``.
Thoughts may be passed through a rewriter (:mod:`thought_rewriter`). Each trajectory is run and
judged by :mod:`judging`; the output formats are built by :mod:`dataset_formats`.

Output folder::

    DIR/tasks.json                 the deterministic task list (with the settings)
    DIR/episodes/<id>/             one EpisodeRecord per kept trajectory (atomic writes)
    DIR/rejected/<id>.json         why a task produced no trajectory
    DIR/sharegpt/{train,val}.json  LLaMA-Factory sharegpt rows (+ dataset_info.json)
    DIR/hf/{train,val}/            datasets.Dataset.save_to_disk (images embedded)
    DIR/README.md, DIR/stats.json, DIR/steps_histogram.png

Interrupted runs resume: the task list is read back, finished episodes are skipped,
half-written folders are removed, and the formats are rebuilt from the episode records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
import json
import logging
import math
import multiprocessing as mp
import os
from pathlib import Path
import shutil
import tempfile
import time
from typing import Any

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.fileio import atomic_write_text
from ego_reasoner_ros.core.progress import Progress
from ego_reasoner_ros.core.prompts import PromptConfig
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.registry import make_sim
from ego_reasoner_ros.training import experts, thoughts
from ego_reasoner_ros.training.dataset_formats import EPISODES_DIR, TASKS_FILE, build_formats
from ego_reasoner_ros.training.experts.engine import search_rank_for
from ego_reasoner_ros.training.judging import Verdict, run_task, sim_config, task_from_record
from ego_reasoner_ros.training.taskgen import TaskGenConfig, generate_tasks, select_scene_dirs
from ego_reasoner_ros.training.thought_rewriter import make_rewriter, shortener

logger = logging.getLogger(__name__)

REJECTED_DIR = 'rejected'
#: The experts the data engine can run (the registry in ``training/experts``).
EXPERTS = experts.expert_names()


@dataclass
class DatagenConfig:
    """Settings of :func:`run_datagen` (see ``ego-reasoner datagen --help``)."""

    out_dir: Path
    scenes_dir: Path | None = None
    procedural: int = 0
    tasks_per_scene: int | None = None
    n: int | None = None
    image_size: int = 448
    workers: int = 1
    seed: int = 0
    allow_test_scenes: bool = False
    formats: tuple[str, ...] = ('sharegpt', 'hf', 'card')
    progress: bool = True
    rewrite_url: str | None = None
    rewrite_model: str = 'default'
    thought_style: str = 'full'
    restate_task: bool = False
    failure_prob: float = 0.0
    expert: str = 'engine'

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_prob <= 1.0:
            raise ValueError(f'failure_prob must be in [0, 1], got {self.failure_prob}')
        experts.get_expert(self.expert)  # unknown or removed: ValueError
        self.out_dir = Path(self.out_dir)
        if self.thought_style not in thoughts.THOUGHT_STYLES:
            raise ValueError(f'thought_style must be one of {thoughts.THOUGHT_STYLES}, '
                             f'got {self.thought_style!r}')
        if self.scenes_dir is not None:
            self.scenes_dir = Path(self.scenes_dir)
        if self.scenes_dir is None and self.procedural <= 0:
            raise ValueError('give --scenes DIR or --procedural N (or both)')
        if self.procedural < 0:
            raise ValueError(f'procedural must be >= 0, got {self.procedural}')
        if self.n is not None and self.n < 1:
            raise ValueError(f'n must be >= 1, got {self.n}')
        if self.tasks_per_scene is not None and self.tasks_per_scene < 1:
            raise ValueError(f'tasks_per_scene must be >= 1, got {self.tasks_per_scene}')
        if not 32 <= self.image_size <= 2048:
            raise ValueError(f'image_size must be in [32, 2048], got {self.image_size}')
        if self.workers < 1:
            raise ValueError(f'workers must be >= 1, got {self.workers}')
        bad = set(self.formats) - {'sharegpt', 'hf', 'card'}
        if bad:
            raise ValueError(f'unknown formats {sorted(bad)}; use sharegpt, hf, card')

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide the task list (a resumed run must match them)."""
        return {'scenes_dir': str(self.scenes_dir.resolve()) if self.scenes_dir else None,
                'procedural': self.procedural, 'tasks_per_scene': self.tasks_per_scene,
                'n': self.n, 'seed': self.seed, 'allow_test_scenes': self.allow_test_scenes,
                'image_size': self.image_size,
                **({'thought_style': self.thought_style} if self.thought_style != 'full'
                   else {}),
                **({'failure_prob': self.failure_prob} if self.failure_prob else {}),
                **({'expert': self.expert} if self.expert != 'engine' else {}),
                **({'restate_task': True} if self.restate_task else {})}


def _procedural_scenes(cfg: DatagenConfig) -> Path | None:
    """Procedural scenes under ``DIR/procedural_scenes`` (written once, atomically)."""
    if cfg.procedural <= 0:
        return None
    dest = cfg.out_dir / 'procedural_scenes'
    if dest.is_dir():
        return dest
    from ego_reasoner_ros.sim_bridge.procedural import generate_scenes

    tmp = Path(tempfile.mkdtemp(prefix='.procedural.', dir=cfg.out_dir))
    generate_scenes(tmp, cfg.procedural, cfg.seed * 100_003)
    os.replace(tmp, dest)
    return dest


def plan_tasks(cfg: DatagenConfig) -> dict[str, Any]:
    """The task list of a run: read back from ``tasks.json`` or generated and written."""
    path = cfg.out_dir / TASKS_FILE
    if path.is_file():
        data = json.loads(path.read_text(encoding='utf-8'))
        if data.get('config') != cfg.fingerprint():
            raise DataError(f'{path} was made with other settings ({data.get("config")}); '
                            'use a new output folder or the same settings')
        return data
    roots: list[Path] = []
    if cfg.scenes_dir is not None:
        roots.append(cfg.scenes_dir)
    proc = _procedural_scenes(cfg)
    if proc is not None:
        roots.append(proc)
    from ego_reasoner_ros.sim_bridge.scene import iter_scene_dirs

    dirs = [d for r in roots for d in iter_scene_dirs(r)]
    keep, skipped = select_scene_dirs(dirs, allow_test_scenes=cfg.allow_test_scenes)
    if not keep:
        raise DataError('no usable scenes found (test scenes are skipped unless '
                        '--allow-test-scenes)')
    per_scene = cfg.tasks_per_scene or (
        math.ceil(1.35 * cfg.n / len(keep)) + 2 if cfg.n else 40)
    tcfg = TaskGenConfig(seed=cfg.seed, tasks_per_scene=per_scene, allow_test_scenes=True)
    taskset = generate_tasks(keep, tcfg)
    data = {'config': cfg.fingerprint(), 'skipped_scenes': skipped,
            'scenes': taskset.scenes, 'val_scenes': taskset.val_scenes,
            'tasks': taskset.tasks}
    atomic_write_text(path, json.dumps(data))
    return data


_WORKER: dict[str, Any] = {}


def _worker_init(out_dir: str, image_size: int, seed: int, rewrite_url: str | None,
                 rewrite_model: str, thought_style: str = 'full',
                 failure_prob: float = 0.0, expert: str = 'engine',
                 restate_task: bool = False) -> None:
    _WORKER.clear()
    rewriter = make_rewriter(rewrite_url, rewrite_model) if rewrite_url else None
    if thought_style != 'full':
        rewriter = shortener(thought_style, rewriter)
    _WORKER.update(out_dir=Path(out_dir), sim=make_sim(sim_config(image_size)), seed=seed,
                   compat=ReceptacleCompat.default(), rewriter=rewriter,
                   failure_prob=failure_prob, expert=expert,
                   prompt=PromptConfig(restate_task=restate_task))


def episode_id_for(rec: dict[str, Any], seed: int) -> str:
    """The stable episode id of a task record."""
    return f'{rec["identity"]}-v{search_rank_for(str(rec["identity"]), seed)}'


def _work(rec: dict[str, Any]) -> dict[str, Any]:
    out: Path = _WORKER['out_dir']
    eid = episode_id_for(rec, _WORKER['seed'])
    started = time.monotonic()
    try:
        task = task_from_record(rec)
        record, verdict = run_task(task, _WORKER['sim'], seed=_WORKER['seed'],
                                   scene=rec.get('scene_path') or rec['scene'],
                                   compat=_WORKER['compat'], rewriter=_WORKER['rewriter'],
                                   episode_id=eid, failure_prob=_WORKER['failure_prob'],
                                   expert=_WORKER['expert'], prompt=_WORKER['prompt'])
    except Exception as exc:  # noqa: BLE001 - one bad task must not stop the run
        logger.warning('task %s failed: %s', rec.get('identity'), exc)
        verdict = Verdict(False, f'{type(exc).__name__}: {exc}')
        record = None
    if verdict.kept and record is not None:
        record.metadata['split'] = rec.get('split', 'train')
        record.save(out / EPISODES_DIR / eid, overwrite=True)
    else:
        atomic_write_text(out / REJECTED_DIR / f'{eid}.json',
                      json.dumps({'identity': rec.get('identity'), 'tasktype': rec.get('tasktype'),
                                  'reason': verdict.reason}))
    return {'id': eid, 'kept': verdict.kept, 'reason': verdict.reason,
            'seconds': time.monotonic() - started}


def _clean_partials(out: Path) -> int:
    n = 0
    for base in (out / EPISODES_DIR, out / REJECTED_DIR, out):
        if not base.is_dir():
            continue
        for p in base.iterdir():
            if p.name.startswith('.') and (p.name.endswith(('.partial', '.old', '.tmp'))
                                           or p.name.startswith('.procedural.')):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(
                    missing_ok=True)
                n += 1
    return n


def _done_ids(out: Path) -> tuple[set[str], set[str]]:
    kept = {p.parent.name for p in (out / EPISODES_DIR).glob('*/episode.json')}
    rejected = {p.stem for p in (out / REJECTED_DIR).glob('*.json')}
    return kept, rejected


def run_datagen(cfg: DatagenConfig) -> dict[str, Any]:
    """Generate (or resume) a dataset; returns the summary figures."""
    started = time.monotonic()
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    cleaned = _clean_partials(cfg.out_dir)
    plan = plan_tasks(cfg)
    tasks: list[dict[str, Any]] = plan['tasks']
    order = {episode_id_for(t, cfg.seed): k for k, t in enumerate(tasks)}
    kept, rejected = _done_ids(cfg.out_dir)
    target = cfg.n if cfg.n is not None else len(tasks)
    todo = [t for t in tasks if episode_id_for(t, cfg.seed) not in kept | rejected]
    n_resumed = len(kept)
    bar = Progress(min(target, len(tasks)), 'datagen', unit='traj',
                   done=min(len(kept), target), enabled=cfg.progress, counts_success=False)
    init_args = (str(cfg.out_dir), cfg.image_size, cfg.seed, cfg.rewrite_url, cfg.rewrite_model,
                 cfg.thought_style, cfg.failure_prob, cfg.expert, cfg.restate_task)
    pool = None
    if cfg.workers > 1:
        ctx = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else 'spawn')
        pool = ctx.Pool(cfg.workers, initializer=_worker_init, initargs=init_args)
    else:
        _worker_init(*init_args)
    reasons: Counter[str] = Counter()
    try:
        pos = 0
        while pos < len(todo) and len(kept) < target:
            need = target - len(kept)
            size = max(cfg.workers * 4, math.ceil(need * 1.2) + cfg.workers)
            batch = todo[pos:pos + size]
            pos += len(batch)
            results: Iterator[dict[str, Any]] = (
                pool.imap_unordered(_work, batch, chunksize=2) if pool is not None
                else map(_work, batch))
            for res in results:
                if res['kept']:
                    kept.add(res['id'])
                    if len(kept) <= target:
                        bar.update(1)
                else:
                    rejected.add(res['id'])
                    reasons[res['reason'].split(':')[0]] += 1
                bar.note = f'{len(rejected)} rejected'
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        bar.close()
    # Keep the first N trajectories in task order; later extras are removed.
    ordered = sorted(kept, key=lambda i: order.get(i, 1 << 60))
    extra = ordered[target:]
    for eid in extra:
        shutil.rmtree(cfg.out_dir / EPISODES_DIR / eid, ignore_errors=True)
    gen_seconds = time.monotonic() - started
    stats = build_formats(cfg.out_dir, formats=cfg.formats, plan=plan, seed=cfg.seed)
    summary = {
        'n_trajectories': stats['n_trajectories'],
        'n_images': stats['n_images'],
        'n_thought_tokens': stats['n_thought_tokens'],
        'n_tasks_planned': len(tasks),
        'n_rejected': len(rejected),
        'n_resumed': n_resumed,
        'n_removed_partials': cleaned,
        'n_skipped_scenes': len(plan.get('skipped_scenes', [])),
        'skipped_scenes': plan.get('skipped_scenes', []),
        'reflection_share': stats['reflection_share'],
        'rejection_reasons': dict(reasons),
        'generation_seconds': round(gen_seconds, 2),
        'wall_seconds': round(time.monotonic() - started, 2),
        'out_dir': str(cfg.out_dir),
    }
    return summary


def config_to_json(cfg: DatagenConfig) -> dict[str, Any]:
    """JSON-ready settings."""
    d = asdict(cfg)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
