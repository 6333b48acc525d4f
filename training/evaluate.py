# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The evaluation harness: run a policy on ER test cases, score them, write the reports.

Each case runs in a fresh episode of a reused simulator; the policy sees only the instruction
(and the world, for policies with ``needs_world``). Per-case seeds come from ``(seed,
identity)``, so the results do not depend on ``workers`` or sharding. A case that crashes
(unknown scene, missing scene file, malformed case, simulator or policy exception) is a
failure with its error recorded; the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
import hashlib
import json
import logging
import multiprocessing as mp
import os
from pathlib import Path
import sys
import time
from typing import Any

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.fileio import atomic_write_text
from ego_reasoner_ros.core.policy import Policy, PolicyInput, PolicyWrapper, make_policy
from ego_reasoner_ros.core.progress import Progress
from ego_reasoner_ros.training import report as rpt
from ego_reasoner_ros.training.episode_runner import ER_PROTOCOL, run_scored_episode
from ego_reasoner_ros.training.tasks import (
    InvalidTask,
    Task,
    load_agent_positions,
    load_tasks,
    shard,
)

logger = logging.getLogger(__name__)

RESUME_MODES = ('auto', 'require', 'never')
#: The settings file of a run folder: a resumed run must have the same ones.
RUN_JSON = 'run.json'


@dataclass
class EvalConfig:
    """Settings of one evaluation run.

    Attributes:
        policy: policy spec for :func:`make_policy` (``expert``, ``random``, ``hf:PATH``...).
        tasks: the task file (``test_809.json`` format).
        scenes: the scenes folder (``<room>/<FloorPlanN>/metadata.json``).
        out: output folder.
        agent_positions: ``agent_positions.json``; None means the file beside the task file
            when it exists; ``""`` disables it.
        workers: worker processes (1 runs in this process).
        limit: evaluate only the first ``limit`` cases (after sharding).
        parser: ``strict`` (faithful) or ``lenient``.
        seed: base seed; each case gets a seed derived from ``(seed, identity)``.
        shard: ``(index, count)`` to run one deterministic slice.
        sim: ``embedded`` or ``ai2thor``.
        render: frames on/off; None follows the policy (``needs_images``, True when unset).
        plots: write the PNG plots.
        progress: show a progress bar on a terminal.
        progress_log: log progress lines (cases done, success so far, rate, ETA) when
            there is no terminal.
        policy_kwargs: extra keyword arguments for the policy factory.
        blank_images: replace every image the policy sees by a uniform grey frame of the
            same size (the prompt and token layout are unchanged; the vision ablation).
        threads_per_worker: torch threads in each worker, set once the policy has imported
            torch; None gives each of several workers an equal share of the CPUs (one worker
            keeps torch's default) and a ``torch_threads`` policy argument wins.
        resume: ``"auto"`` continues a run found in ``out`` (same settings) and starts one
            otherwise; ``"require"`` insists on one to continue; ``"never"`` refuses a folder
            that already holds results.
    """

    policy: str
    tasks: str | Path
    scenes: str | Path
    out: str | Path
    agent_positions: str | Path | None = None
    workers: int = 1
    limit: int | None = None
    parser: str = 'strict'
    seed: int = 0
    shard: tuple[int, int] | None = None
    sim: str = 'embedded'
    render: bool | None = None
    plots: bool = True
    progress: bool = True
    progress_log: bool = True
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    blank_images: bool = False
    threads_per_worker: int | None = None
    resume: str = 'auto'

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f'workers must be >= 1, got {self.workers}')
        if self.threads_per_worker is not None and self.threads_per_worker < 1:
            raise ValueError(f'threads_per_worker must be >= 1, got {self.threads_per_worker}')
        if self.resume not in RESUME_MODES:
            raise ValueError(f'resume must be one of {", ".join(RESUME_MODES)}, '
                             f'got {self.resume!r}')
        if self.limit is not None and self.limit < 0:
            raise ValueError(f'limit must be >= 0, got {self.limit}')
        if self.parser not in ('strict', 'lenient'):
            raise ValueError(f"parser must be 'strict' or 'lenient', got {self.parser!r}")
        if self.sim not in ('embedded', 'ai2thor'):
            raise ValueError(f"sim must be 'embedded' or 'ai2thor', got {self.sim!r}")
        if self.shard is not None:
            i, n = self.shard
            if n < 1 or not 0 <= i < n:
                raise ValueError(f'bad shard {i}/{n}: need 0 <= I < N')

    def torch_threads(self) -> int | None:
        """The thread cap of one worker (None: leave torch's default)."""
        if 'torch_threads' in self.policy_kwargs:
            return None  # the policy sets its own when it loads
        if self.threads_per_worker is not None:
            return self.threads_per_worker
        if self.workers > 1:
            return max(1, (os.cpu_count() or 1) // self.workers)
        return None

    def resolved_agent_positions(self) -> Path | None:
        """The agent positions file actually used."""
        if self.agent_positions == '':
            return None
        if self.agent_positions is not None:
            return Path(self.agent_positions)
        beside = Path(self.tasks).with_name('agent_positions.json')
        return beside if beside.exists() else None


def task_seed(seed: int, identity: Any) -> int:
    """A 31-bit seed from the base seed and the case identity (stable across processes)."""
    digest = hashlib.sha256(f'{seed}:{identity}'.encode()).digest()
    return int.from_bytes(digest[:4], 'little') & 0x7FFFFFFF


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``."""
    try:
        i, n = (int(x) for x in text.split('/'))
    except ValueError:
        raise ValueError(f'--shard must look like I/N (e.g. 0/4), got {text!r}') from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f'bad shard {text!r}: need 0 <= I < N')
    return i, n


# ------------------------------------------------------------------ one case
class BlankImagesPolicy(PolicyWrapper):
    """Wraps a policy so that every image it sees is a uniform grey frame of the same size.

    The conversation keeps its structure (same number and size of images, same text), so a
    model's score with this wrapper measures how much it relies on what the images show.
    """

    GREY = 128

    @property
    def name(self) -> str:  # type: ignore[override]
        """The wrapped policy's name, marked."""
        return f'{self.inner.name}+blank-images'

    @property
    def needs_images(self) -> bool:
        """Frames are still rendered: their sizes shape the prompt."""
        return True

    @classmethod
    def blank(cls, image: Any) -> Any:
        """A grey ``uint8`` frame with the shape of ``image`` (array, PIL image or path)."""
        import numpy as np

        from ego_reasoner_ros.core import images as imgs

        arr = np.asarray(imgs.to_pil(image).convert('RGB'))
        return np.full(arr.shape, cls.GREY, dtype=np.uint8)

    def _blank_messages(self, messages: list[dict]) -> list[dict]:
        out = []
        for msg in messages:
            content = msg.get('content')
            if isinstance(content, list):
                content = [{'type': 'image', 'image': self.blank(b['image'])}
                           if b.get('type') == 'image' else b for b in content]
            out.append({**msg, 'content': content})
        return out

    def act(self, inp: PolicyInput) -> str:
        """Ask the wrapped policy with every image blanked."""
        return self.inner.act(replace(inp, messages=self._blank_messages(inp.messages),
                                      images=[self.blank(im) for im in inp.images]))


class _Worker:
    """Per-process state: one simulator and one policy, reused across cases."""

    def __init__(self, config: EvalConfig, positions: dict[str, Any]) -> None:
        self.config = config
        self.positions = positions
        self.policy: Policy | None = None
        self.sim: Any = None
        self.render: bool | None = None
        self.protocol = ER_PROTOCOL.with_parser(config.parser)

    def _setup(self) -> None:
        self._setup_policy()
        self._setup_sim()

    def _setup_policy(self) -> None:
        if self.policy is None:
            self.policy = make_policy(self.config.policy, **self.config.policy_kwargs)
            if self.config.blank_images:
                self.policy = BlankImagesPolicy(self.policy)
            threads = self.config.torch_threads()
            if threads is not None and 'torch' in sys.modules:  # the backend imported it
                sys.modules['torch'].set_num_threads(threads)

    def _setup_sim(self) -> None:
        if self.sim is None:
            from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim

            render = self.config.render
            if render is None:
                render = bool(getattr(self.policy, 'needs_images', True))
            self.render = render
            self.sim = make_sim(SimConfig(type=self.config.sim, render=render,
                                          scenes_dir=str(self.config.scenes)))

    def run(self, task: Task) -> dict[str, Any]:
        started = time.monotonic()
        row: dict[str, Any] = {
            'case_index': task.index,
            'identity': task.identity, 'tasktype': task.tasktype, 'scene': task.scene,
            'instruction': task.instruction, 'success': 0, 'strict_success': 0,
            'completeness': 0.0, 'efficiency': 0.0, 'reward': 0, 'total': 0,
            'terminated_by': None, 'n_steps': 0, 'steps': [], 'strict_failed': [],
            'error': None,
        }
        try:
            self._setup()
            seed = task_seed(self.config.seed, task.identity)
            run = run_scored_episode(self.policy, task, self.sim, protocol=self.protocol,
                                     scenes_dir=self.config.scenes,
                                     agent_positions=self.positions, seed=seed,
                                     episode_id=str(task.identity))
            entries = run.record.trajectory_entries()
            row.update(error=run.error, terminated_by=run.record.terminated_by,
                       n_steps=run.record.step_count,
                       steps=[{k: v for k, v in e.items() if k != 'images'} for e in entries])
            if run.error is None:
                er = run.score
                row.update(success=er.success, completeness=er.completeness,
                           efficiency=er.efficiency, reward=er.reward, total=er.total)
                if run.strict is not None:
                    row['strict_success'] = int(run.strict.success)
                    row['strict_failed'] = list(run.strict.failed)
                else:
                    row['strict_failed'] = ['no world state from this simulator']
        except Exception as exc:  # any crash is a failure of this case only
            row['error'] = f'{type(exc).__name__}: {exc}'
            logger.warning('identity %s (%s, %s) crashed: %s', task.identity, task.scene,
                           task.tasktype, row['error'])
        row['render'] = self.render
        row['wall_seconds'] = round(time.monotonic() - started, 4)
        return row


def invalid_row(bad: InvalidTask) -> dict[str, Any]:
    """The result row of a task-file entry that failed validation."""
    return {'case_index': bad.index,
            'identity': bad.identity if bad.identity is not None else f'#{bad.index}',
            'tasktype': bad.tasktype, 'scene': bad.scene, 'instruction': None, 'success': 0,
            'strict_success': 0, 'completeness': 0.0, 'efficiency': 0.0, 'reward': 0,
            'total': 0, 'terminated_by': None, 'n_steps': 0, 'steps': [],
            'strict_failed': [], 'error': f'DataError: {bad.error}', 'render': None,
            'wall_seconds': 0.0}


_WORKER: _Worker | None = None


def _init_worker(config: EvalConfig, positions: dict[str, Any]) -> None:
    global _WORKER
    threads = config.torch_threads()
    if threads is not None:  # keep workers from oversubscribing the CPU
        for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            os.environ[var] = str(threads)  # read when torch is first imported
        if 'torch' in sys.modules:
            sys.modules['torch'].set_num_threads(threads)
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers the policies)

    _WORKER = _Worker(config, positions)


def _run_in_worker(item: tuple[int, Task]) -> tuple[int, dict[str, Any]]:
    assert _WORKER is not None
    index, task = item
    return index, _WORKER.run(task)


# ------------------------------------------------------------------ checks, settings
def check_inputs(config: EvalConfig) -> tuple[Any, dict[str, Any], Path | None]:
    """Validate everything a run needs before any case starts.

    Returns ``(task_file, agent_positions, positions_path)``.

    Raises:
        DataError: a task file that cannot be read or holds no case in the ER format, a
            scenes folder that is missing or holds no scene, an unreadable positions file.
        UnknownPolicyError, PolicyArgumentError: a policy spec or policy argument that is
            not what a registered policy takes (a model path that is not a model).
    """
    import ego_reasoner_ros.training.policies  # noqa: F401  (registers the policies)
    from ego_reasoner_ros.core.policy import check_policy
    from ego_reasoner_ros.sim_bridge.scene import iter_scene_dirs

    check_policy(config.policy, config.policy_kwargs)
    task_file = load_tasks(config.tasks)
    if not task_file.tasks:
        first = task_file.invalid[0].error if task_file.invalid else 'the list is empty'
        raise DataError(f'{config.tasks}: no case in the Embodied-Reasoner task format '
                        f'(test_809.json: a list of objects with identity, scene, tasktype, '
                        f'taskname and key_actions); first problem: {first}')
    scenes = Path(config.scenes)
    if not scenes.is_dir():
        raise DataError(f'scenes folder not found: {scenes}')
    if config.sim == 'embedded' and next(iter(iter_scene_dirs(scenes)), None) is None:
        raise DataError(f'{scenes} holds no scene (<room>/<FloorPlanN>/metadata.json); '
                        'point --scenes at the scenes folder of the data '
                        '(`ego-reasoner data where`) or at generated scenes')
    positions_path = config.resolved_agent_positions()
    return task_file, load_agent_positions(positions_path), positions_path


def _sha256(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_settings(config: EvalConfig, positions_path: Path | None) -> dict[str, Any]:
    """What the results of a run depend on; a resumed run must have the same."""
    return {
        'policy': config.policy, 'policy_kwargs': config.policy_kwargs,
        'blank_images': config.blank_images, 'tasks_sha256': _sha256(Path(config.tasks)),
        'scenes': str(Path(config.scenes).resolve()),
        'agent_positions_sha256': _sha256(positions_path), 'seed': config.seed,
        'parser': config.parser, 'sim': config.sim, 'render': config.render,
        'shard': list(config.shard) if config.shard else None, 'limit': config.limit,
    }


def _settings_conflict(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    changed = [k for k in now if k != 'limit' and before.get(k) != now.get(k)]
    old_limit, new_limit = before.get('limit'), now.get('limit')
    if old_limit is not None and new_limit is not None and new_limit < old_limit:
        changed.append('limit (smaller than the run it continues)')
    elif old_limit is None and new_limit is not None:
        changed.append('limit (the run it continues has none)')
    return changed


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The complete rows of a results file, and how many lines were cut short."""
    rows, cut = [], 0
    if not path.is_file():
        return rows, cut
    for line in path.read_text(encoding='utf-8').splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            cut += 1  # a line a kill cut short: the case runs again
            continue
        if isinstance(row, dict) and 'case_index' in row:
            rows.append(row)
        else:
            cut += 1
    return rows, cut


def _prepare_out(config: EvalConfig, settings: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Create or continue the run folder; return the rows already done, by case index."""
    out = Path(config.out)
    run_json = out / RUN_JSON
    results = out / rpt.RESULTS_JSONL
    if run_json.is_file():
        before = json.loads(run_json.read_text(encoding='utf-8')).get('settings', {})
        if config.resume == 'never':
            raise DataError(f'{out} already holds an evaluation; choose another --out')
        changed = _settings_conflict(before, settings)
        if changed:
            raise DataError(f'{out} holds an evaluation with other settings '
                            f'({", ".join(changed)}); choose another --out, or rerun with '
                            f'the settings in {run_json}')
        rows, cut = _read_rows(results)
        if cut:
            logger.warning('%s: %d result line(s) cut short; those cases run again',
                           results, cut)
        done = {int(r['case_index']): r for r in rows}
        atomic_write_text(results, ''.join(json.dumps(r, default=str) + '\n'
                                           for r in done.values()))
        logger.info('resuming %s: %d case(s) already done', out, len(done))
        return done
    if config.resume == 'require':
        raise DataError(f'nothing to resume: {out} holds no evaluation ({RUN_JSON} missing)')
    if results.exists():
        raise DataError(f'{out} holds {rpt.RESULTS_JSONL} but no {RUN_JSON} (a run of an '
                        'older version, or an eval-merge output); choose another --out')
    atomic_write_text(run_json, json.dumps({'settings': settings}, indent=1,
                                           default=str) + '\n')
    return {}


class _ResultsFile:
    """``results.jsonl`` in append mode: every finished case is on disk as it ends."""

    SYNC_EVERY_S = 2.0

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open('a', encoding='utf-8')
        self._synced = time.monotonic()

    def append(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row, default=str) + '\n')
        self._fh.flush()  # a killed process loses nothing the OS already has
        if time.monotonic() - self._synced >= self.SYNC_EVERY_S:
            os.fsync(self._fh.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


# ------------------------------------------------------------------ the run
def evaluate(config: EvalConfig, *,
             on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the evaluation described by ``config``; write the outputs; return the summary.

    Every finished case is appended to ``results.jsonl`` as it ends; running again into
    the same ``out`` with the same settings runs only the cases still missing.

    Raises:
        DataError: bad inputs (see :func:`check_inputs`), or an ``out`` folder that holds a
            run with other settings.
        UnknownPolicyError, PolicyArgumentError: a bad policy spec or policy argument.
    """
    started = time.monotonic()
    task_file, positions, positions_path = check_inputs(config)
    items: list[Task | InvalidTask] = sorted([*task_file.tasks, *task_file.invalid],
                                             key=lambda t: t.index)
    if config.shard is not None:
        items = shard(items, *config.shard)
    if config.limit is not None:
        items = items[:config.limit]
    done = _prepare_out(config, run_settings(config, positions_path))
    wanted = {item.index for item in items}
    if set(done) - wanted:
        raise DataError(f'{config.out} holds results of cases this run does not select')
    rows: dict[int, dict[str, Any]] = dict(done)
    results_file = _ResultsFile(Path(config.out) / rpt.RESULTS_JSONL)
    runnable: list[tuple[int, Task]] = []
    for item in items:
        if item.index in rows:
            continue
        if isinstance(item, InvalidTask):
            rows[item.index] = invalid_row(item)
            results_file.append(rows[item.index])
            logger.warning('skipping malformed case: %s', item.error)
        else:
            runnable.append((item.index, item))

    progress = Progress(len(items), 'eval', done=len(items) - len(runnable),
                        successes=sum(int(r.get('success') or 0) for r in rows.values()),
                        enabled=config.progress_log or config.progress,
                        tty=config.progress and sys.stderr.isatty())

    def finished(row: dict[str, Any]) -> None:
        rows[int(row['case_index'])] = row
        results_file.append(row)
        progress.update(1, success=row.get('success'))
        if on_result:
            on_result(row)

    workers = min(config.workers, max(1, len(runnable)))
    try:
        if runnable and workers <= 1:
            _init_worker(config, positions)
            for item in runnable:
                finished(_run_in_worker(item)[1])
        elif runnable:
            method = 'fork' if (os.name == 'posix' and 'torch' not in sys.modules) else 'spawn'
            ctx = mp.get_context(method)
            with ctx.Pool(workers, initializer=_init_worker,
                          initargs=(config, positions)) as pool:
                for _k, row in pool.imap_unordered(_run_in_worker, runnable, chunksize=1):
                    finished(row)
    finally:
        progress.close()
        results_file.close()

    results = [rows[item.index] for item in items]
    renders = {r.get('render') for r in results if r.get('render') is not None}
    summary_config = {
        'policy': config.policy + ('+blank-images' if config.blank_images else ''),
        'sim': config.sim, 'parser': config.parser,
        'agent_positions': str(positions_path) if positions_path else None,
        'seed': config.seed, 'tasks': str(config.tasks), 'scenes': str(config.scenes),
        'render': renders.pop() if len(renders) == 1 else config.render,
        'workers': config.workers, 'limit': config.limit,
        'shard': f'{config.shard[0]}/{config.shard[1]}' if config.shard else None,
    }
    summary = rpt.build_summary(results, summary_config,
                                wall_seconds=round(time.monotonic() - started, 3))
    rpt.write_outputs(config.out, summary, results, plots=config.plots)
    return summary


def config_dict(config: EvalConfig) -> dict[str, Any]:
    """JSON-able form of a config."""
    d = asdict(config)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def evaluate_tasks(tasks: Sequence[Task], policy: Policy, sim: Any, *,
                   scenes: str | Path | None = None, agent_positions: dict | None = None,
                   parser: str = 'strict', seed: int = 0) -> list[dict[str, Any]]:
    """Evaluate in-memory tasks with a given policy and simulator (tests, notebooks)."""
    config = EvalConfig(policy=getattr(policy, 'name', 'policy'), tasks='<memory>',
                        scenes=scenes or '', out='', parser=parser, seed=seed,
                        progress=False, plots=False)
    worker = _Worker(config, agent_positions or {})
    worker.policy, worker.sim = policy, sim
    return [worker.run(t) for t in tasks]
