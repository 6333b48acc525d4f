# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Evaluation outputs: ``summary.json``, ``results.jsonl``, ``report.md`` and two plots.

The summary is computed from the per-task results alone, so shard outputs merge exactly
(:func:`merge_runs`). Crashed tasks are failures that stay in every denominator; the report
says so, because the reference drops them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import json
import logging
import math
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.domain import LONG_RANGE
from ego_reasoner_ros.core.errors import DataError, require
from ego_reasoner_ros.core.fileio import atomic_write_text
from ego_reasoner_ros.training.metrics import GROUP_ORDER, TASK_TYPES, aggregate

logger = logging.getLogger(__name__)

SUMMARY_JSON = 'summary.json'
RESULTS_JSONL = 'results.jsonl'
REPORT_MD = 'report.md'
GROUP_PLOT = 'success_by_group.png'
TYPE_PLOT = 'success_by_type.png'
EMBEDDED_LABEL = 'embedded simulator: not comparable one-to-one with AI2-THOR'
AI2THOR_LABEL = 'AI2-THOR simulator'
CRASH_NOTE = ('Crashed tasks (unknown scene, missing scene file, malformed case, simulator or '
              'policy exception) count as failures and stay in every denominator; the '
              'reference evaluator drops them instead.')
#: Run settings copied from the config into the summary.
CONFIG_KEYS = ('policy', 'sim', 'parser', 'agent_positions', 'seed', 'tasks', 'scenes',
               'render', 'workers', 'limit', 'shard')


def sim_label(sim: str | None) -> str:
    """The comparability label of a simulator backend."""
    return AI2THOR_LABEL if sim == 'ai2thor' else EMBEDDED_LABEL


def build_summary(results: Sequence[Mapping[str, Any]], config: Mapping[str, Any],
                  wall_seconds: float | None = None) -> dict[str, Any]:
    """The ``summary.json`` content for per-task ``results`` and the run ``config``."""
    agg = aggregate(results)
    errors = [{'identity': r.get('identity'), 'scene': r.get('scene'),
               'tasktype': r.get('tasktype'), 'error': r.get('error')}
              for r in results if r.get('error')]
    summary: dict[str, Any] = {
        'label': sim_label(config.get('sim')),
        'n_tasks': agg['n_tasks'],
        'successes': agg['successes'],
        'success_rate': agg['success_rate'],
        'search_efficiency': agg['search_efficiency'],
        'task_completeness': agg['task_completeness'],
        'strict_successes': agg['strict_successes'],
        'strict_success_rate': agg['strict_success_rate'],
        'groups': {g: agg['groups'][g]['success_rate'] for g in GROUP_ORDER},
        'strict_groups': {g: agg['groups'][g]['strict_success_rate'] for g in GROUP_ORDER},
        'group_counts': {g: {'n': agg['groups'][g]['n'],
                             'successes': agg['groups'][g]['successes'],
                             'strict_successes': agg['groups'][g]['strict_successes']}
                         for g in GROUP_ORDER},
        'per_type': {t: {'n': b['n'], 'success_rate': b['success_rate'],
                         'strict_success_rate': b['strict_success_rate'],
                         'search_efficiency': b['search_efficiency'],
                         'task_completeness': b['task_completeness']}
                     for t, b in agg['per_type'].items()},
        'n_errors': agg['n_errors'],
        'errors': errors,
        'failed_identities': sorted((r.get('identity') for r in results
                                     if not r.get('success')), key=str),
        'strict_failed_identities': sorted((r.get('identity') for r in results
                                            if not r.get('strict_success')), key=str),
        'crash_policy': CRASH_NOTE,
        'wall_seconds': wall_seconds,
    }
    for key in CONFIG_KEYS:
        if key in config:
            summary[key] = config[key]
    return summary


def _pct(value: float | None) -> str:
    return '-' if value is None else f'{100 * value:.2f}'


def render_report(summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]] = ()) -> str:
    """``report.md``: the paper-style table, strict metric, per-type rates, errors."""
    groups = summary.get('groups', {})
    strict_groups = summary.get('strict_groups', {})
    policy = summary.get('policy', '?')
    lines = [
        f'# Evaluation: {policy}',
        '',
        f'**{summary.get("label", EMBEDDED_LABEL)}.**',
        '',
        f'{summary.get("n_tasks", 0)} tasks from `{summary.get("tasks", "?")}`, '
        f'parser `{summary.get("parser", "?")}`, seed {summary.get("seed", "?")}, '
        f'agent positions `{summary.get("agent_positions")}`, '
        f'wall time {summary.get("wall_seconds") or 0:.1f} s.',
        '',
        '| Metric | Success Rate | Search Efficiency | Task Completeness | '
        + ' | '.join(GROUP_ORDER) + ' |',
        '|---|' + '---:|' * (3 + len(GROUP_ORDER)),
        f'| ER metric (%) | {_pct(summary.get("success_rate"))} | '
        f'{_pct(summary.get("search_efficiency"))} | '
        f'{_pct(summary.get("task_completeness"))} | '
        + ' | '.join(_pct(groups.get(g)) for g in GROUP_ORDER) + ' |',
        f'| strict goal state (%) | {_pct(summary.get("strict_success_rate"))} | - | - | '
        + ' | '.join(_pct(strict_groups.get(g)) for g in GROUP_ORDER) + ' |',
        '',
        'Group sizes: ' + ', '.join(
            f'{g} {c["successes"]}/{c["n"]}'
            for g, c in summary.get('group_counts', {}).items()) + '.',
        '',
        '## Per task type',
        '',
        '| task type | n | SR (%) | strict SR (%) | efficiency (%) | completeness (%) |',
        '|---|---:|---:|---:|---:|---:|',
    ]
    per_type = summary.get('per_type', {})
    for t in [t for t in TASK_TYPES if t in per_type] + sorted(set(per_type) - set(TASK_TYPES)):
        b = per_type[t]
        lines.append(f'| {t} | {b["n"]} | {_pct(b["success_rate"])} | '
                     f'{_pct(b["strict_success_rate"])} | {_pct(b["search_efficiency"])} | '
                     f'{_pct(b["task_completeness"])} |')
    lines += ['', '## Errors', '', CRASH_NOTE, '']
    errors = summary.get('errors', [])
    if errors:
        lines += [f'- identity {x.get("identity")} ({x.get("scene")}, {x.get("tasktype")}): '
                  f'{x.get("error")}' for x in errors]
    else:
        lines.append('No task crashed.')
    failed = [r for r in results if not r.get('error')
              and (not r.get('success') or not r.get('strict_success'))]
    if failed:
        lines += ['', '## Failed tasks', '',
                  '| identity | scene | task type | ER | strict | ended by | unmet goal |',
                  '|---|---|---|---:|---:|---|---|']
        for r in failed:
            lines.append(f'| {r.get("identity")} | {r.get("scene")} | {r.get("tasktype")} | '
                         f'{int(bool(r.get("success")))} | {int(bool(r.get("strict_success")))} '
                         f'| {r.get("terminated_by")} | '
                         f'{"; ".join(r.get("strict_failed") or []) or "-"} |')
    return '\n'.join(lines) + '\n'


def _bar_plot(labels: list[str], values: list[list[float]], series: list[str], title: str,
              path: Path, rotate: bool = False) -> None:
    matplotlib = require('matplotlib', purpose='evaluation plots')
    matplotlib.use('Agg', force=True)
    plt = require('matplotlib.pyplot', 'matplotlib', 'evaluation plots')
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(labels) + 2), 4.5))
    try:
        for k, (name, vals) in enumerate(zip(series, values)):
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
            ax.bar(xs, [100 * v for v in vals], width=width, label=name)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=35 if rotate else 0,
                           ha='right' if rotate else 'center', fontsize=8 if rotate else 10)
        ax.set_ylim(0, 105)
        ax.set_ylabel('success rate (%)')
        ax.set_title(title, fontsize=10)
        ax.legend(loc='lower right', fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def write_plots(summary: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """``success_by_group.png`` and ``success_by_type.png`` (matplotlib, Agg backend)."""
    label = f'{summary.get("policy", "?")} - {summary.get("label", EMBEDDED_LABEL)}'
    groups = list(GROUP_ORDER)
    group_path, type_path = out_dir / GROUP_PLOT, out_dir / TYPE_PLOT
    _bar_plot(groups, [[summary['groups'][g] for g in groups],
                       [summary['strict_groups'][g] for g in groups]],
              ['ER metric', 'strict'], label, group_path)
    per_type = summary.get('per_type', {})
    types = [t for t in TASK_TYPES if t in per_type]
    short = [t.replace(LONG_RANGE, 'long-range')
             for t in types]
    _bar_plot(short, [[per_type[t]['success_rate'] for t in types],
                      [per_type[t]['strict_success_rate'] for t in types]],
              ['ER metric', 'strict'], label, type_path, rotate=True)
    return [group_path, type_path]


def write_outputs(out_dir: Path | str, summary: Mapping[str, Any],
                  results: Sequence[Mapping[str, Any]], *, plots: bool = True) -> None:
    """Write every output file into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # each file is replaced whole: a kill here leaves the old file or the new one
    atomic_write_text(out / RESULTS_JSONL,
                      ''.join(json.dumps(row, default=str) + '\n' for row in results))
    atomic_write_text(out / SUMMARY_JSON, json.dumps(summary, indent=2, default=str) + '\n')
    atomic_write_text(out / REPORT_MD, render_report(summary, results))
    if plots:
        write_plots(summary, out)
    logger.info('wrote %s, %s, %s to %s', SUMMARY_JSON, RESULTS_JSONL, REPORT_MD, out)


def read_results(run_dir: Path | str) -> list[dict[str, Any]]:
    """The per-task rows of one run folder."""
    path = Path(run_dir) / RESULTS_JSONL
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise DataError(f'no {RESULTS_JSONL} in {run_dir}') from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f'{path}:{n}: {exc}') from None
    return rows


def merge_runs(run_dirs: Iterable[Path | str], out_dir: Path | str, *,
               plots: bool = True) -> dict[str, Any]:
    """Merge shard folders into one summary in ``out_dir``; duplicates are an error."""
    rows: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    seen: dict[Any, str] = {}
    wall = 0.0
    runs = [Path(r) for r in run_dirs]
    for run in runs:
        for row in read_results(run):
            key = row.get('identity')
            if key in seen:
                raise DataError(f'identity {key!r} appears in both {seen[key]} and {run}')
            seen[key] = str(run)
            rows.append(row)
        summary_path = Path(run) / SUMMARY_JSON
        if summary_path.exists():
            config = json.loads(summary_path.read_text(encoding='utf-8'))
            configs.append(config)
            wall += float(config.get('wall_seconds') or 0.0)
    if not configs and not rows:
        raise DataError('nothing to merge')
    config = dict(configs[0]) if configs else {}
    for key in ('policy', 'sim', 'parser', 'seed'):
        values = {json.dumps(c.get(key), default=str) for c in configs}
        if len(values) > 1:
            raise DataError(f'cannot merge runs with different {key!r}: {sorted(values)}')
    config['shard'] = 'merged'
    rows.sort(key=lambda r: (str(type(r.get('identity'))), r.get('identity')))
    summary = build_summary(rows, config, wall_seconds=wall)
    summary['merged_from'] = [str(r) for r in runs]
    write_outputs(out_dir, summary, rows, plots=plots)
    return summary


# ------------------------------------------------------------------- comparing runs
def mcnemar_exact(before: Mapping[Any, bool], after: Mapping[Any, bool]) -> dict[str, Any]:
    """Two-sided exact McNemar (binomial sign) test on paired per-task successes.

    Only tasks present in both mappings are paired; ``before_only`` and ``after_only`` are the
    discordant counts, ``p_value`` the exact two-sided p-value.
    """
    ids = sorted(set(before) & set(after), key=str)
    only_before = sum(1 for i in ids if before[i] and not after[i])
    only_after = sum(1 for i in ids if after[i] and not before[i])
    n = only_before + only_after
    k = min(only_before, only_after)
    p = min(1.0, 2 * sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n) if n else 1.0
    return {'n_paired': len(ids), 'before_only': only_before, 'after_only': only_after,
            'p_value': float(f'{p:.4g}')}


def successes_of(run_dir: Path | str) -> dict[str, bool]:
    """Per-task ER success of one run folder (identity -> success)."""
    return {str(r.get('identity')): bool(r.get('success')) for r in read_results(run_dir)}


def compare_runs(runs: Sequence[tuple[str, Path | str]],
                 pairs: Sequence[tuple[str, str]] = ()) -> tuple[str, dict[str, Any]]:
    """A stage table in the reference's format over several run folders, plus paired tests.

    ``runs`` are (label, run folder) in row order; ``pairs`` name (before, after) labels to
    test. Every run must cover the same tasks (a paired comparison on different sets means
    nothing). Returns the markdown and the figures.
    """
    labels = [label for label, _ in runs]
    if not labels:
        raise DataError('give at least one run (LABEL=DIR)')
    if len(set(labels)) != len(labels):
        raise DataError(f'labels must be unique: {labels}')
    summaries: dict[str, dict[str, Any]] = {}
    per_task: dict[str, dict[str, bool]] = {}
    for label, run in runs:
        path = Path(run) / SUMMARY_JSON
        if not path.is_file():
            raise DataError(f'no {SUMMARY_JSON} in {run}')
        summaries[label] = json.loads(path.read_text(encoding='utf-8'))
        per_task[label] = successes_of(run)
    first = labels[0]
    for label in labels[1:]:
        if set(per_task[label]) != set(per_task[first]):
            raise DataError(f'runs {first!r} and {label!r} cover different tasks '
                            f'({len(per_task[first])} vs {len(per_task[label])})')
    sims = {summaries[lb].get('label', EMBEDDED_LABEL) for lb in labels}
    lines = [f'**{" / ".join(sorted(sims))}.** {len(per_task[first])} tasks.', '',
             '| Model | Success Rate | Search Efficiency | Task Completeness | '
             + ' | '.join(GROUP_ORDER) + ' | strict success | wall s |',
             '|---|' + '---:|' * (5 + len(GROUP_ORDER))]
    for label in labels:
        s = summaries[label]
        groups = s.get('groups', {})
        lines.append(f'| {label} | {_pct(s.get("success_rate"))} | '
                     f'{_pct(s.get("search_efficiency"))} | '
                     f'{_pct(s.get("task_completeness"))} | '
                     + ' | '.join(_pct(groups.get(g)) for g in GROUP_ORDER)
                     + f' | {_pct(s.get("strict_success_rate"))} | '
                     f'{float(s.get("wall_seconds") or 0):.0f} |')
    tests = []
    for before, after in pairs:
        for label in (before, after):
            if label not in per_task:
                raise DataError(f'unknown label {label!r} in a pair; known: {labels}')
        t = mcnemar_exact(per_task[before], per_task[after])
        n = t['n_paired']
        gain = 100 * (t['after_only'] - t['before_only']) / n if n else 0.0
        tests.append({'before': before, 'after': after, 'gain_points': round(gain, 2), **t})
    if tests:
        lines += ['', '| paired test (exact McNemar on per-task success) | gain (points) | '
                  'before only | after only | p |', '|---|---:|---:|---:|---:|']
        lines += [f'| {t["before"]} → {t["after"]} | {t["gain_points"]:+.2f} | '
                  f'{t["before_only"]} | {t["after_only"]} | {t["p_value"]:.3g} |'
                  for t in tests]
    figures = {'runs': {lb: {k: summaries[lb].get(k) for k in (
        'success_rate', 'search_efficiency', 'task_completeness', 'strict_success_rate',
        'groups', 'n_tasks', 'wall_seconds', 'policy')} for lb in labels}, 'paired': tests}
    return '\n'.join(lines) + '\n', figures
