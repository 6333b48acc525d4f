# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data engine's output formats, rebuilt from the complete episode records.

``sharegpt/{train,val}.json`` (LLaMA-Factory rows + ``dataset_info.json``), ``hf/{train,val}``
(``datasets.Dataset.save_to_disk``, images embedded), ``stats.json``, the dataset card
``README.md`` and ``steps_histogram.png``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
import json
import logging
import math
import os
from pathlib import Path
import shutil
from typing import Any

from ego_reasoner_ros.core.episode import EpisodeRecord
from ego_reasoner_ros.core.errors import DataError, require
from ego_reasoner_ros.core.fileio import atomic_write_text
from ego_reasoner_ros.core.prompts import IMAGE_PLACEHOLDER, PROMPT_CONFIG_FILE
from ego_reasoner_ros.training import experts, thoughts
from ego_reasoner_ros.training import phrasings as ph

logger = logging.getLogger(__name__)

TASKS_FILE = 'tasks.json'
EPISODES_DIR = 'episodes'


def _tokens(text: str) -> int:
    return len(text.split())


def load_episodes(out_dir: Path) -> list[EpisodeRecord]:
    """Every complete episode record of a dataset folder, in id order."""
    root = Path(out_dir) / EPISODES_DIR
    return [EpisodeRecord.load(p.parent, lazy_images=True)
            for p in sorted(root.glob('*/episode.json'))]


def reflects_after_failure(record: EpisodeRecord) -> bool:
    """Whether a reply right after a failed command holds a ``<Reflection>``."""
    failed = False
    for step in record.steps:
        if step.from_model and failed and '<Reflection>' in (step.raw_output or ''):
            return True
        if step.executed:
            failed = not step.success
    return False


def episode_stats(record: EpisodeRecord) -> dict[str, Any]:
    """Per-trajectory figures for the card."""
    model = record.model_steps
    expert = record.metadata.get('expert', {})
    n_images = len(record.initial_images) + sum(len(s.images) for s in record.steps)
    return {
        'id': record.episode_id, 'tasktype': record.task_type, 'scene': record.scene,
        'split': record.metadata.get('split', 'train'),
        'steps': record.step_count - 1, 'images': n_images,
        'thought_tokens': sum(_tokens(s.thought) for s in model),
        'search_rank': expert.get('search_rank', 0), 'misses': expert.get('misses', 0),
        # the engine counts reflections after visiting a wrong place; every expert's
        # reflections after a failed command are read from the trajectory
        'reflection_after_miss': bool(expert.get('reflections_after_miss', 0))
        or reflects_after_failure(record),
        'templates': expert.get('templates', []),
        'tags': sorted({t for s in model for t in thoughts_tags(s.raw_output)}),
    }


def thoughts_tags(text: str) -> list[str]:
    """The thought tags present in a reply."""
    return [t for t in ('Observation', 'Planning', 'Thinking', 'Reflection', 'Verification')
            if f'<{t}>' in text]


def build_formats(out_dir: Path | str, *, formats: Sequence[str] = ('sharegpt', 'hf', 'card'),
                  plan: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """(Re)build sharegpt, hf and the dataset card from the complete episode records."""
    out = Path(out_dir)
    if plan is None:
        plan = json.loads((out / TASKS_FILE).read_text(encoding='utf-8'))
    task_by_id = {str(t['identity']): t for t in plan.get('tasks', [])}
    records = load_episodes(out)
    prompts = set()  # each record is rebuilt with the prompt wording it ran with
    rows: dict[str, list[dict[str, Any]]] = {'train': [], 'val': []}
    stats = []
    for rec in records:
        split = rec.metadata.get('split', 'train')
        tid = rec.metadata.get('task_identity', '')
        task = task_by_id.get(tid, {})
        prompts.add(json.dumps(rec.prompt_config.to_dict(), sort_keys=True))
        row = rec.to_sharegpt(image_prefix=f'../{EPISODES_DIR}/{rec.episode_id}')
        row.update({'identity': rec.episode_id, 'scene': rec.scene, 'tasktype': rec.task_type,
                    'taskname': task.get('taskname', rec.metadata.get('taskname', '')),
                    'key_actions': rec.metadata.get('key_actions', [])})
        rows['val' if split == 'val' else 'train'].append(row)
        stats.append(episode_stats(rec))
    if 'sharegpt' in formats:
        sg = out / 'sharegpt'
        for split, items in rows.items():
            atomic_write_text(sg / f'{split}.json', json.dumps(items, indent=0))
        info = {f'ego_er_{split}': {
            'file_name': f'{split}.json', 'formatting': 'sharegpt',
            'columns': {'messages': 'messages', 'images': 'images'},
            'tags': {'role_tag': 'role', 'content_tag': 'content', 'user_tag': 'user',
                     'assistant_tag': 'assistant', 'system_tag': 'system'}}
            for split in rows}
        atomic_write_text(sg / 'dataset_info.json', json.dumps(info, indent=1))
    if 'hf' in formats:
        write_hf(out, rows)
    if len(prompts) > 1:
        raise DataError(f'{out}: episodes were made with different prompt wordings: '
                        f'{sorted(prompts)}')
    if prompts:  # trainers copy it into checkpoints, so models carry their wording
        wording = json.dumps(json.loads(next(iter(prompts))), indent=1) + '\n'
        atomic_write_text(out / PROMPT_CONFIG_FILE, wording)
        if 'sharegpt' in formats:
            atomic_write_text(out / 'sharegpt' / PROMPT_CONFIG_FILE, wording)
    summary = summarise(stats, plan)
    atomic_write_text(out / 'stats.json', json.dumps(summary, indent=1))
    if 'card' in formats:
        write_card(out, summary, stats, plan)
    return summary


def write_hf(out: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """``datasets`` copies (images embedded as PNG bytes), saved with ``save_to_disk``."""
    ds_mod = require('datasets', purpose='the Hugging Face dataset format')
    ds_mod.disable_progress_bars()
    features = ds_mod.Features({
        'id': ds_mod.Value('string'), 'scene': ds_mod.Value('string'),
        'tasktype': ds_mod.Value('string'), 'taskname': ds_mod.Value('string'),
        'key_actions': ds_mod.Sequence(ds_mod.Value('string')),
        'messages': [{'role': ds_mod.Value('string'), 'content': ds_mod.Value('string')}],
        'images': ds_mod.Sequence(ds_mod.Image()),
    })
    sg = out / 'sharegpt'
    for split, items in rows.items():
        def gen(items: list[dict[str, Any]] = items) -> Iterator[dict[str, Any]]:
            for r in items:
                yield {'id': r['identity'], 'scene': r['scene'] or '',
                       'tasktype': r['tasktype'], 'taskname': r['taskname'],
                       'key_actions': r['key_actions'], 'messages': r['messages'],
                       'images': [{'bytes': (sg / p).read_bytes(), 'path': Path(p).name}
                                  for p in r['images']]}

        dest = out / 'hf' / split
        tmp = out / 'hf' / f'.{split}.partial'
        cache = out / 'hf' / '.cache'
        shutil.rmtree(tmp, ignore_errors=True)
        if items:
            ds = ds_mod.Dataset.from_generator(gen, features=features, cache_dir=str(cache))
        else:
            ds = ds_mod.Dataset.from_dict({k: [] for k in features}, features=features)
        ds.save_to_disk(str(tmp))
        del ds
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
        shutil.rmtree(cache, ignore_errors=True)


def summarise(stats: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, Any]:
    """Dataset figures: totals, per type, variants, template and phrasing counts."""
    per_type: dict[str, dict[str, Any]] = {}
    for tt in sorted({s['tasktype'] for s in stats}):
        sel = [s for s in stats if s['tasktype'] == tt]
        per_type[tt] = {
            'count': len(sel),
            'steps_mean': round(sum(s['steps'] for s in sel) / len(sel), 2),
            'steps_max': max(s['steps'] for s in sel),
            'images': sum(s['images'] for s in sel),
            'thought_tokens': sum(s['thought_tokens'] for s in sel),
            'reflection_share': round(sum(s['reflection_after_miss'] for s in sel) / len(sel),
                                      3),
            'distinct_templates': len({t for s in sel for t in s['templates']}),
            'distinct_phrasings': ph.phrasing_counts().get(tt, 0),
        }
    n = len(stats)
    return {
        'n_trajectories': n,
        'n_train': sum(1 for s in stats if s['split'] != 'val'),
        'n_val': sum(1 for s in stats if s['split'] == 'val'),
        'n_images': sum(s['images'] for s in stats),
        'n_thought_tokens': sum(s['thought_tokens'] for s in stats),
        'reflection_share': round(sum(s['reflection_after_miss'] for s in stats) / n, 3)
        if n else 0.0,
        'variants': dict(Counter(f"rank{s['search_rank']}" for s in stats)),
        'per_type': per_type,
        'template_pools': thoughts.template_counts(),
        'n_templates_total': sum(thoughts.template_counts().values()),
        'phrasings_per_type': ph.phrasing_counts(),
        'skipped_scenes': plan.get('skipped_scenes', []),
        'val_scenes': plan.get('val_scenes', []),
        'n_scenes': len(plan.get('scenes', [])),
    }


#: How each expert searches, in the words of the dataset card (from the registry).
EXPERT_SEARCH = {name: e.does for name, e in experts.EXPERTS.items()}


def write_card(out: Path, summary: dict[str, Any], stats: list[dict[str, Any]],
               plan: dict[str, Any]) -> None:
    """``README.md`` (dataset card) and ``steps_histogram.png``."""
    plot = write_histogram(out / 'steps_histogram.png', stats)
    expert = str(plan.get('config', {}).get('expert', 'engine'))
    lines = [
        '# Embodied reasoning trajectories (ego_reasoner_ros data engine)', '',
        f'Expert trajectories generated in the embedded simulator: the `{expert}` expert '
        f'{EXPERT_SEARCH.get(expert, "acts")}, and every assistant turn '
        'holds thoughts in `<Observation>`, `<Planning>`, `<Thinking>`, `<Reflection>` and '
        '`<Verification>` tags written from the true simulator state, then the action in '
        '`<DecisionMaking>`. Every trajectory succeeded under the Embodied-Reasoner metric '
        'and the strict goal check.', '',
        '## Layout', '',
        '- `episodes/<id>/episode.json` + `images/`: per-episode records '
        '(`EpisodeRecord.load`).',
        '- `sharegpt/train.json`, `sharegpt/val.json` (+ `dataset_info.json`): LLaMA-Factory '
        'sharegpt rows; image paths are relative to the JSON file.',
        '- `hf/train`, `hf/val`: `datasets.load_from_disk` (images embedded).',
        '- `tasks.json`: the task list (test_809 format) and the generation settings.', '',
        '## Figures', '',
        f"- trajectories: {summary['n_trajectories']} (train {summary['n_train']}, "
        f"val {summary['n_val']})",
        f"- images: {summary['n_images']}",
        f"- thought tokens (whitespace): {summary['n_thought_tokens']}",
        f"- share with a reflection after a miss or a failed command: "
        f"{summary['reflection_share']:.1%}",
        f"- search variants: {summary['variants']}",
        f"- scenes: {summary['n_scenes']} (validation: {', '.join(summary['val_scenes'])})",
        f"- skipped reference test scenes: {', '.join(summary['skipped_scenes']) or 'none'}",
        f"- thought templates: {summary['n_templates_total']} in "
        f"{len(summary['template_pools'])} pools", '',
        '| task type | count | mean steps | max steps | images | thought tokens | '
        'reflection share | templates used | phrasings |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for tt, s in summary['per_type'].items():
        lines.append(f"| {tt} | {s['count']} | {s['steps_mean']} | {s['steps_max']} | "
                     f"{s['images']} | {s['thought_tokens']} | {s['reflection_share']:.1%} | "
                     f"{s['distinct_templates']} | {s['distinct_phrasings']} |")
    if plot is not None:
        lines += ['', '![steps per trajectory](steps_histogram.png)']
    atomic_write_text(out / 'README.md', '\n'.join(lines) + '\n')


def write_histogram(path: Path, stats: list[dict[str, Any]]) -> Path | None:
    """Steps per trajectory, one histogram per task type (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning('matplotlib is missing; no histogram written')
        return None
    types = sorted({s['tasktype'] for s in stats})
    if not types:
        return None
    cols = 3
    rows = math.ceil(len(types) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, tt in zip(axes.ravel(), types):
        vals = [s['steps'] for s in stats if s['tasktype'] == tt]
        ax.hist(vals, bins=range(min(vals), max(vals) + 2), color='#4a7bb7', edgecolor='white')
        ax.set_title(tt if len(tt) < 34 else tt[:31] + '...', fontsize=8)
        ax.set_xlabel('steps', fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(types):]:
        ax.axis('off')
    fig.tight_layout()
    tmp = path.with_name('.' + path.name + '.tmp.png')
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def image_placeholders(row: dict[str, Any]) -> int:
    """``<image>`` placeholders in a sharegpt row."""
    return sum(str(m.get('content', '')).count(IMAGE_PLACEHOLDER) for m in row['messages'])

