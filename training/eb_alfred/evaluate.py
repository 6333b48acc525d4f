# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner eval --benchmark eb-alfred``: run a policy on EB-ALFRED-replay episodes.

Every episode the split files list runs in a fresh reconstructed initial state; results
stream to ``results.jsonl`` (one EB per-episode record per line; a rerun into the same
folder with the same settings resumes after the episodes already there), then
``summary.json`` (fractions in [0, 1], per subset and per task type) and ``report.md`` in
EB's leaderboard layout are written. Oracle runs classify each failure: (a) the ER geometry
lacks an object or floor space the episode needs, (b) EB's skills cannot express the plan,
(c) a simulator defect (anything else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
import json
import logging
import math
import multiprocessing as mp
import os
from pathlib import Path
import time
from typing import Any

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.policy import Policy, make_policy
from ego_reasoner_ros.training.eb_alfred.data import (
    COLUMNS,
    SUBSETS,
    Episode,
    load_episodes,
    resolve_eb_data,
)
from ego_reasoner_ros.training.eb_alfred.env import EBAlfredEnv
from ego_reasoner_ros.training.eb_alfred.loop import EBLoopConfig, run_eb_episode
from ego_reasoner_ros.training.eb_alfred.planner import PromptSettings
from ego_reasoner_ros.training.eb_alfred.policies import HeuristicPolicy, OraclePolicy
from ego_reasoner_ros.training.eb_alfred.spec import load_spec

logger = logging.getLogger(__name__)

LABEL = ('EB-ALFRED-replay (embedded simulator; reconstructed initial states): not comparable '
         'one-to-one with EmbodiedBench')
RESULTS = 'results.jsonl'
#: Policies that read no image (no frames are rendered for them).
SCRIPTED = ('oracle', 'oracle-negative', 'heuristic')
RUN_JSON = 'run.json'


@dataclass
class EBEvalConfig:
    """Settings of one EB-ALFRED-replay run.

    Attributes:
        policy: ``oracle``, ``oracle-negative`` (the oracle without its last put or toggle),
            ``heuristic``, or any core policy spec (``openai:URL#MODEL``, ``hf:PATH``...).
        eb_data: an EB data folder (None: resolved, see ``data.resolve_eb_data``).
        scenes: an ER scenes folder.
        out: output folder (None: nothing written).
        subset: one subset only.
        language_only: no frames (EB's language-only mode); vision mode renders 500x500.
        parser: ``strict`` (EB's) or ``lenient``.
        workers: processes; shard: (i, n) runs every n-th episode from i.
        n_shots: in-context examples (EB: 10).
        resume: continue a run found in ``out``.
    """

    policy: str
    scenes: str
    eb_data: str | None = None
    out: str | None = None
    subset: str | None = None
    language_only: bool = False
    parser: str = 'strict'
    workers: int = 1
    shard: tuple[int, int] | None = None
    n_shots: int = 10
    resume: bool = True
    limit: int | None = None
    plots: bool = True
    policy_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f'workers must be >= 1, got {self.workers}')
        if self.parser not in ('strict', 'lenient'):
            raise ValueError(f'parser must be strict or lenient, got {self.parser!r}')
        if self.subset is not None and self.subset not in SUBSETS:
            raise ValueError(f'unknown subset {self.subset!r}; expected one of {SUBSETS}')
        if self.shard is not None and not 0 <= self.shard[0] < self.shard[1]:
            raise ValueError(f'bad shard {self.shard}')
        if not Path(self.scenes).is_dir():
            raise DataError(f'--scenes {self.scenes} is not a directory')


def make_eb_policy(spec: str, **kwargs: Any) -> Policy:
    """The EB policies by name, else any registered core policy."""
    if spec == 'oracle':
        return OraclePolicy(**kwargs)
    if spec == 'heuristic':
        return HeuristicPolicy()
    return make_policy(spec, **kwargs)


class _Runner:
    """One process's environment and policy (built once, reused per episode)."""

    def __init__(self, config: EBEvalConfig, root: str) -> None:
        self.config = config
        self.spec = load_spec(root)
        scripted = config.policy in SCRIPTED
        self.env = EBAlfredEnv(self.spec, config.scenes,
                               render=not config.language_only and not scripted)
        self.negative = config.policy == 'oracle-negative'
        self.policy = make_eb_policy('oracle' if self.negative else config.policy,
                                     **config.policy_kwargs)
        self.loop = EBLoopConfig(parser=config.parser, prompt=PromptSettings(
            n_shots=config.n_shots, language_only=config.language_only))

    def run(self, ep: Episode) -> dict[str, Any]:
        try:
            if self.negative:  # where did the full oracle finish? drop the last put before
                full = run_eb_episode(OraclePolicy(), self.env, ep, self.loop)
                pol = OraclePolicy(drop_last=True, horizon=full['num_steps'])
                row = run_eb_episode(pol, self.env, ep, self.loop)
            else:
                row = run_eb_episode(self.policy, self.env, ep, self.loop)
                if self.config.policy == 'oracle' and not row['success']:
                    row['failure'] = classify_failure(self.env, row)
        except DataError as exc:  # a missing scene: a failed episode with its error
            row = {'episode_id': ep.episode_id, 'subset': ep.subset, 'index': ep.index,
                   'task_type': ep.task_type, 'success': False, 'progress': 0.0,
                   'num_steps': 0, 'planner_steps': 0, 'num_invalid_actions': 0,
                   'output_errors': 0, 'error': str(exc)}
        return row


def classify_failure(env: EBAlfredEnv, row: Mapping[str, Any]) -> dict[str, str]:
    """(a) ER geometry lacks an object / floor space, (b) EB cannot express, (c) defect."""
    spec = env.spec
    missing_prefix = spec.messages['nav_obj.missing'].split('{')[0]
    w = env.world
    for s in row.get('steps', []):
        if s['success']:
            continue
        fb = s['feedback']
        if missing_prefix and missing_prefix in fb:
            name = fb.split(missing_prefix, 1)[1].split('.')[0].strip()
            types = {m['objectType'].casefold() for m in env.meta()}
            if name.casefold() not in types:
                return {'class': 'a', 'reason': f'the ER scene has no {name}'}
        break
    if row.get('policy_notes'):
        return {'class': 'b', 'reason': '; '.join(row['policy_notes'])}
    if w is not None:
        first = next((s for s in row.get('steps', []) if not s['success']), None)
        if first is not None and first.get('action', '').startswith('pick up the '):
            t = first['action'][len('pick up the '):]
            cells = w.reachable_positions
            far = []
            for m in env.meta():
                if m['objectId'].split('|')[0].casefold() == t.casefold():
                    lo, hi = w.box(m['objectId'])
                    dx = [max(lo[0] - x, x - hi[0], 0.0) for x in cells[:, 0]]
                    dz = [max(lo[2] - z, z - hi[2], 0.0) for z in cells[:, 1]]
                    far.append(min(math.hypot(a, b) for a, b in zip(dx, dz)))
            if far and min(far) > w._alfred_vis:
                return {'class': 'a', 'reason': f'no reachable floor within '
                        f'{w._alfred_vis} m of any {t} (ER boxes; nearest {min(far):.2f} m)'}
    return {'class': 'c', 'reason': 'unexplained: simulator defect'}


_RUNNER: _Runner | None = None


def _init(config: EBEvalConfig, root: str) -> None:
    global _RUNNER
    _RUNNER = _Runner(config, root)


def _work(ep: Episode) -> dict[str, Any]:
    assert _RUNNER is not None
    return _RUNNER.run(ep)


def _settings(config: EBEvalConfig, root: Path) -> dict[str, Any]:
    d = asdict(config)
    for key in ('out', 'workers', 'resume', 'plots'):
        d.pop(key)
    d['eb_data'] = str(root)
    return d


def evaluate(config: EBEvalConfig) -> dict[str, Any]:
    """Run the episodes, write the outputs, return the summary."""
    root = resolve_eb_data(config.eb_data)
    load_spec(root)  # fail early on a malformed data folder
    episodes = load_episodes(root, config.subset)
    if config.shard is not None:
        i, n = config.shard
        episodes = episodes[i::n]
    if config.limit is not None:
        episodes = episodes[:config.limit]
    out = Path(config.out) if config.out else None
    done: dict[str, dict] = {}
    settings = _settings(config, root)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        run_json = out / RUN_JSON
        if run_json.is_file() and (out / RESULTS).is_file():
            before = json.loads(run_json.read_text(encoding='utf-8'))
            if before != json.loads(json.dumps(settings)):
                raise ValueError(f'{out} holds an EB-ALFRED run with other settings; '
                                 'choose another --out')
            if config.resume:
                for line in (out / RESULTS).read_text(encoding='utf-8').splitlines():
                    if line.strip():
                        row = json.loads(line)
                        done[row['episode_id']] = row
            else:
                raise ValueError(f'{out} already holds a run (resume is off)')
        run_json.write_text(json.dumps(settings, indent=1) + '\n', encoding='utf-8')
    todo = [ep for ep in episodes if ep.episode_id not in done]
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    sink = (out / RESULTS).open('a', encoding='utf-8') if out is not None else None
    try:
        def finished(row: dict[str, Any]) -> None:
            rows.append(row)
            if sink is not None:
                sink.write(json.dumps(row) + '\n')
                sink.flush()

        if config.workers == 1 or len(todo) <= 1:
            runner = _Runner(config, str(root))
            for ep in todo:
                finished(runner.run(ep))
        else:
            ctx = mp.get_context('fork' if os.name == 'posix' else 'spawn')
            with ctx.Pool(config.workers, initializer=_init, initargs=(config, str(root))) as p:
                for row in p.imap_unordered(_work, todo):
                    finished(row)
    finally:
        if sink is not None:
            sink.close()
    order = {ep.episode_id: k for k, ep in enumerate(episodes)}
    allrows = sorted([*done.values(), *rows], key=lambda r: order.get(r['episode_id'], 1 << 30))
    summary = build_summary(allrows, config.policy, settings)
    summary['wall_seconds'] = time.perf_counter() - t0
    if out is not None:
        (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n',
                                          encoding='utf-8')
        (out / 'report.md').write_text(render_report([summary]), encoding='utf-8')
        if config.plots:
            try:
                write_plots(summary, out)
            except Exception as exc:  # noqa: BLE001 - plots are optional (no matplotlib)
                logger.warning('no plots: %s', exc)
    return summary


def write_plots(summary: Mapping[str, Any], out: Path) -> list[Path]:
    """``success_by_subset.png`` and ``success_by_task_type.png`` (success and progress)."""
    from ego_reasoner_ros.training.report import _bar_plot

    title = f"{summary.get('policy')} - {LABEL}"
    paths = []
    for name, table, labels in (
            ('success_by_subset.png', summary['subsets'],
             [COLUMNS[k] for k in summary['subsets']]),
            ('success_by_task_type.png', summary['task_types'], list(summary['task_types']))):
        keys = list(table)
        path = out / name
        _bar_plot(labels, [[table[k]['success_rate'] for k in keys],
                           [table[k]['progress_rate'] for k in keys]],
                  ['success', 'progress'], title, path, rotate=len(keys) > 6)
        paths.append(path)
    return paths


def _rates(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {
        'n_episodes': n,
        'success_rate': sum(bool(r['success']) for r in rows) / n if n else 0.0,
        'progress_rate': sum(float(r['progress']) for r in rows) / n if n else 0.0,
    }


def build_summary(rows: Sequence[Mapping[str, Any]], policy: str,
                  settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fractions overall, per subset and per task type, EB's averages, oracle failures."""
    s = _rates(rows)
    subsets = {}
    for name in SUBSETS:
        sub = [r for r in rows if r['subset'] == name]
        if sub:
            subsets[name] = _rates(sub)
    types = {}
    for r in rows:
        types.setdefault(r['task_type'], []).append(r)
    n = len(rows) or 1
    s.update({
        'label': LABEL, 'policy': policy,
        'eb_average_success': (sum(v['success_rate'] for v in subsets.values())
                               / len(subsets) if subsets else 0.0),
        'subsets': subsets,
        'task_types': {k: _rates(v) for k, v in sorted(types.items())},
        'mean_steps': sum(r.get('num_steps', 0) for r in rows) / n,
        'mean_planner_steps': sum(r.get('planner_steps', 0) for r in rows) / n,
        'mean_invalid_actions': sum(r.get('num_invalid_actions', 0) for r in rows) / n,
        'output_errors': sum(r.get('output_errors', 0) for r in rows),
        'n_errors': sum(1 for r in rows if r.get('error')),
        'failures': [{'episode_id': r['episode_id'], 'task_type': r['task_type'],
                      **(r.get('failure') or {})} for r in rows if not r['success']],
        'settings': dict(settings or {}),
    })
    return s


def _pct(x: float | None) -> str:
    return '-' if x is None else f'{100 * x:.1f}'


def render_report(summaries: Iterable[Mapping[str, Any]]) -> str:
    """``report.md``: EB's leaderboard layout (success %, then progress %), one row each."""
    summaries = list(summaries)
    head = '| Model | Avg | ' + ' | '.join(COLUMNS[s] for s in SUBSETS) + ' |'
    rule = '|' + '---|' * (len(SUBSETS) + 2)
    lines = [f'# {LABEL}', '', '## Success rate (%)', '', head, rule]

    def row(s: Mapping[str, Any], key: str) -> str:
        subs = s.get('subsets', {})
        vals = [subs.get(name, {}).get(key) for name in SUBSETS]
        got = [v for v in vals if v is not None]
        avg = sum(got) / len(got) if got else None
        return f"| {s.get('policy')} | {_pct(avg)} | " + ' | '.join(_pct(v) for v in vals) + ' |'

    lines += [row(s, 'success_rate') for s in summaries]
    lines += ['', '## Progress rate (%)', '', head, rule]
    lines += [row(s, 'progress_rate') for s in summaries]
    lines += ['', 'Avg is the mean of the six subset rates, as on the EmbodiedBench leaderboard.',
              '', '## Per task type (success %, progress %, episodes)', '']
    for s in summaries:
        lines += [f"### {s.get('policy')}", '', '| Task type | Success | Progress | N |',
                  '|---|---|---|---|']
        for t, v in s.get('task_types', {}).items():
            lines.append(f"| {t} | {_pct(v['success_rate'])} | {_pct(v['progress_rate'])} | "
                         f"{v['n_episodes']} |")
        lines += ['', f"{s.get('n_episodes')} episodes; mean steps {s.get('mean_steps', 0):.1f}, "
                  f"planner steps {s.get('mean_planner_steps', 0):.1f}, invalid actions "
                  f"{s.get('mean_invalid_actions', 0):.1f}; output errors "
                  f"{s.get('output_errors', 0)}.", '']
        fails = s.get('failures') or []
        if fails and any('class' in f for f in fails):
            lines += ['Failures: ' + '; '.join(
                f"{f['episode_id']} ({f.get('class', '?')}: {f.get('reason', '')})"
                for f in fails), '']
    return '\n'.join(lines) + '\n'


def is_eb_run(run_dir: Path | str) -> bool:
    """Whether a folder holds an EB-ALFRED-replay run (its ``run.json`` names EB data)."""
    path = Path(run_dir) / RUN_JSON
    try:
        return 'eb_data' in json.loads(path.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError, TypeError):
        return False


def merge_runs(run_dirs: Sequence[Path | str], out: Path | str, *,
               plots: bool = True) -> dict[str, Any]:
    """Merge the ``results.jsonl`` of sharded runs (one row per episode) into one report."""
    rows: dict[str, dict] = {}
    policy = None
    for d in run_dirs:
        d = Path(d)
        if not (d / RESULTS).is_file():
            raise DataError(f'{d} holds no EB-ALFRED results ({RESULTS})')
        settings = json.loads((d / RUN_JSON).read_text(encoding='utf-8'))
        if policy is not None and settings.get('policy') != policy:
            raise DataError(f'{d} ran policy {settings.get("policy")!r}, not {policy!r}')
        policy = settings.get('policy')
        for line in (d / RESULTS).read_text(encoding='utf-8').splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row['episode_id']] = row
    order = {s: k for k, s in enumerate(SUBSETS)}
    merged = sorted(rows.values(), key=lambda r: (order.get(r['subset'], 99), r['index']))
    summary = build_summary(merged, str(policy), {'merged_from': [str(d) for d in run_dirs]})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS).write_text(''.join(json.dumps(r) + '\n' for r in merged), encoding='utf-8')
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n', encoding='utf-8')
    (out / 'report.md').write_text(render_report([summary]), encoding='utf-8')
    if plots:
        try:
            write_plots(summary, out)
        except Exception as exc:  # noqa: BLE001 - plots are optional
            logger.warning('no plots: %s', exc)
    return summary
