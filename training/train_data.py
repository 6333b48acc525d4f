# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Training data: sharegpt folders or saved ``datasets`` -> TRL conversational rows.

Accepted inputs (what the data engine and the bag converter write):

- a folder with ``data.json`` or ``sharegpt.json`` (or a path to such a JSON file): a list
  of rows ``{"messages": [{"role", "content": "text with <image> placeholders"}],
  "images": ["relative/path.png", ...]}``; image paths are relative to the JSON file.
  LLaMA-Factory's ``{"from": "human"|"gpt", "value"}`` turns under ``conversations`` are
  accepted too. Extra row fields (``scene``, ``task``, ``key_actions``, ``tasktype``,
  ``taskname``) are kept for the online reward.
- a directory written by ``datasets.Dataset.save_to_disk`` with the same columns (or
  ``messages`` already in block form).

:func:`load_sft_dataset` gives rows ``{"messages": [{"role", "content": [{"type": "image"},
{"type": "text", "text"}]}], "images": [PIL...]}`` (images decoded lazily), the format
TRL's ``SFTTrainer`` takes for vision-language models. :func:`load_grpo_dataset` cuts every
trajectory into one prompt per assistant turn with the expert's next action.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
import json
import logging
import os
from pathlib import Path
import random
import re
from typing import Any

from ego_reasoner_ros.core.errors import DataError, require
from ego_reasoner_ros.core.prompts import IMAGE_PLACEHOLDER, PromptConfig, load_prompt_config

logger = logging.getLogger(__name__)

JSON_NAMES = ('data.json', 'sharegpt.json', 'train.json')
_ROLE_ALIASES = {'human': 'user', 'user': 'user', 'gpt': 'assistant', 'assistant': 'assistant',
                 'system': 'system', 'observation': 'user'}
_DECISION_RE = re.compile(r'<DecisionMaking>(.*?)</DecisionMaking>', re.S)
META_KEYS = ('scene', 'task', 'key_actions', 'tasktype', 'taskname', 'identity')


def find_json(source: str | os.PathLike) -> Path:
    """The sharegpt JSON file of ``source`` (a file or a folder holding one)."""
    path = Path(source)
    if path.is_file():
        return path
    for name in JSON_NAMES:
        if (path / name).is_file():
            return path / name
    raise DataError(f'{path}: no {" / ".join(JSON_NAMES)} found (and not a saved dataset)')


def prompt_config_of(source: str | os.PathLike) -> PromptConfig | None:
    """The prompt wording a dataset was made with (its ``prompt_config.json``), if recorded.

    Looked for beside the sharegpt file or saved dataset, then one folder up (the data
    engine's output folder).
    """
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, folder.parent):
        found = load_prompt_config(candidate)
        if found is not None:
            return found
    return None


def _is_saved_dataset(path: Path) -> bool:
    # save_to_disk writes state.json beside dataset_info.json; a sharegpt folder carries a
    # LLaMA-Factory dataset_info.json too, so that file alone decides nothing
    if not path.is_dir() or any((path / name).is_file() for name in JSON_NAMES):
        return False
    return (path / 'state.json').is_file() or (path / 'dataset_dict.json').is_file()


def _turns(row: dict[str, Any], where: str) -> list[dict[str, Any]]:
    raw = row.get('messages', row.get('conversations'))
    if not isinstance(raw, list) or not raw:
        raise DataError(f'{where}: "messages" must be a non-empty list')
    turns = []
    for i, msg in enumerate(raw):
        if not isinstance(msg, dict):
            raise DataError(f'{where}: message {i} is not an object')
        role = _ROLE_ALIASES.get(msg.get('role', msg.get('from')))
        content = msg.get('content', msg.get('value'))
        if role is None:
            raise DataError(f'{where}: message {i} has an unknown role')
        turns.append({'role': role, 'content': content})
    return turns


def to_blocks(turns: list[dict[str, Any]], n_images: int, where: str) -> list[dict[str, Any]]:
    """Turn ``<image>`` placeholders in string content into ``{"type": "image"}`` blocks.

    Block content is passed through (image blocks lose their payload: images travel in
    the ``images`` column, in order).
    """
    out = []
    count = 0
    for msg in turns:
        content = msg['content']
        blocks: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts = content.split(IMAGE_PLACEHOLDER)
            for k, part in enumerate(parts):
                if k:
                    blocks.append({'type': 'image', 'text': None})
                    count += 1
                if part:
                    blocks.append({'type': 'text', 'text': part})
        elif isinstance(content, list):
            for block in content:
                if block.get('type') in ('image', 'image_url'):
                    blocks.append({'type': 'image', 'text': None})
                    count += 1
                elif block.get('type') == 'text':
                    blocks.append({'type': 'text', 'text': block.get('text') or ''})
        else:
            raise DataError(f'{where}: message content must be a string or a block list')
        if msg['role'] != 'user' and any(b['type'] == 'image' for b in blocks):
            raise DataError(f'{where}: images are only supported in user turns')
        if not blocks:
            blocks.append({'type': 'text', 'text': ''})
        out.append({'role': msg['role'], 'content': blocks})
    if count != n_images:
        raise DataError(f'{where}: {count} <image> placeholders but {n_images} images')
    return out


def read_sharegpt(source: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows ``{"messages" (block form), "images" (absolute paths), meta...}`` of a JSON file."""
    path = find_json(source)
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read {path}: {exc}') from exc
    if isinstance(data, dict):
        data = data.get('data', data.get('rows'))
    if not isinstance(data, list) or not data:
        raise DataError(f'{path}: expected a non-empty JSON list of rows')
    rows = []
    for i, row in enumerate(data):
        where = f'{path} row {i}'
        if not isinstance(row, dict):
            raise DataError(f'{where}: not an object')
        images = row.get('images') or []
        if not isinstance(images, list):
            raise DataError(f'{where}: "images" must be a list of paths')
        resolved = []
        for name in images:
            img_path = Path(name) if Path(name).is_absolute() else path.parent / name
            if not img_path.is_file():
                raise DataError(f'{where}: image {name} not found (looked in {img_path})')
            resolved.append(str(img_path))
        out = {'messages': to_blocks(_turns(row, where), len(resolved), where),
               'images': resolved}
        out.update({k: row[k] for k in META_KEYS if k in row})
        rows.append(out)
    return rows


def load_rows(source: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a sharegpt folder / file or a saved ``datasets`` directory (images unresolved)."""
    path = Path(source)
    if _is_saved_dataset(path):
        ds_mod = require('datasets', purpose='loading a saved dataset')
        ds = ds_mod.load_from_disk(str(path))
        if hasattr(ds, 'keys') and not hasattr(ds, 'column_names'):
            ds = ds['train'] if 'train' in ds else ds[next(iter(ds.keys()))]
        rows = []
        for i, row in enumerate(ds):
            where = f'{path} row {i}'
            images = row.get('images') or ([row['image']] if row.get('image') else [])
            out = {'messages': to_blocks(_turns(row, where), len(images), where),
                   'images': list(images)}
            out.update({k: row[k] for k in META_KEYS if row.get(k) is not None})
            rows.append(out)
        return rows
    return read_sharegpt(path)


def _dataset(rows: list[dict[str, Any]]):
    """A ``datasets.Dataset`` whose ``images`` column decodes to PIL lazily."""
    ds_mod = require('datasets', purpose='training datasets')
    for row in rows:  # JSON-encode free-form meta so Arrow gets one schema
        for key in ('task',):
            if key in row and not isinstance(row[key], str):
                row[key] = json.dumps(row[key])
    ds = ds_mod.Dataset.from_list(rows)
    if 'images' in ds.column_names and rows and isinstance(
            next((im for r in rows for im in r['images']), ''), str):
        ds = ds.cast_column('images', ds_mod.Sequence(ds_mod.Image()))
    return ds


FIRST_TURNS = ('none', 'add', 'only', 'text')


def first_turn(row: dict[str, Any]) -> dict[str, Any]:
    """The row cut after its first assistant turn, with only the images that part shows.

    A first turn is short (system, task, one view, the plan), so many of them fit in the
    time one long trajectory takes; they teach the instruction-to-plan mapping that every
    later turn copies from.
    """
    messages = []
    for msg in row['messages']:
        messages.append(msg)
        if msg['role'] == 'assistant':
            break
    n_images = sum(1 for m in messages for b in m['content'] if b.get('type') == 'image')
    return {'messages': messages, 'images': row['images'][:n_images]}


def task_line(row: dict[str, Any]) -> str:
    """The ``Task: ...`` line of the row's first user turn (either prompt layout)."""
    for msg in row['messages']:
        if msg['role'] != 'user':
            continue
        lines = [line for b in msg['content'] if b.get('type') == 'text'
                 for line in (b.get('text') or '').splitlines() if line.startswith('Task: ')]
        if lines:
            return lines[-1]
        break
    raise DataError('the first user turn has no "Task: ..." line')


def task_to_plan(row: dict[str, Any]) -> dict[str, Any]:
    """Text only: the task line alone, answered by the first reply (no menu, no image).

    The shortest form of the instruction-to-plan step: a warm-up in which a small model
    from scratch learns to copy the task's objects into its plan within minutes, before it
    meets the same step inside the full prompt.
    """
    reply = next(m for m in first_turn(row)['messages'] if m['role'] == 'assistant')
    return {'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': task_line(row)}]},
                         reply], 'images': []}


def of_task_types(rows: list[dict[str, Any]], task_types: Sequence[str] | None,
                  source: Any = 'dataset') -> list[dict[str, Any]]:
    """The rows of the given ER task types (all rows when ``task_types`` is empty)."""
    if not task_types:
        return rows
    wanted = set(task_types)
    kept = [r for r in rows if r.get('tasktype') in wanted]
    if not kept:
        raise DataError(f'{source}: no trajectory of the task types {sorted(wanted)}')
    return kept


def load_sft_dataset(source: str | os.PathLike, *, limit: int | None = None,
                     first_turns: str = 'none', seed: int = 0,
                     task_types: Sequence[str] | None = None):
    """TRL conversational vision rows for ``SFTTrainer``.

    Args:
        source: sharegpt folder / file or saved dataset.
        limit: use only the first N rows.
        first_turns: ``none`` (whole trajectories), ``add`` (each trajectory plus its first
            turn as a row of its own, shuffled together) or ``only`` (first turns only: a
            short plan stage before the trajectory stage) or ``text`` (only the task line
            and the first reply, no image: a warm-up, see :func:`task_to_plan`).
        seed: shuffle seed for ``add``.
        task_types: keep only trajectories of these ER task types (a curriculum stage).
    """
    if first_turns not in FIRST_TURNS:
        raise ValueError(f'first_turns must be one of {FIRST_TURNS}, got {first_turns!r}')
    rows = of_task_types(load_rows(source), task_types, source)
    if limit:
        rows = rows[:limit]
    for i, row in enumerate(rows):
        if not any(m['role'] == 'assistant' for m in row['messages']):
            raise DataError(f'row {i}: no assistant turn to learn from')
    keep = [{'messages': r['messages'], 'images': r['images']} for r in rows]
    if first_turns == 'only':
        keep = [first_turn(r) for r in keep]
    elif first_turns == 'text':
        keep = [task_to_plan(r) for r in keep]
    elif first_turns == 'add':
        keep = keep + [first_turn(r) for r in keep]
        random.Random(seed).shuffle(keep)
    logger.info('SFT dataset: %d rows (first_turns=%s), %d images', len(keep),
                first_turns, sum(len(r['images']) for r in keep))
    return _dataset(keep)


def decision_of(text: str) -> str | None:
    """The text inside the last ``<DecisionMaking>`` tag, stripped, or None."""
    found = _DECISION_RE.findall(text or '')
    return found[-1].strip() if found else None


def _text_of(msg: dict[str, Any]) -> str:
    return ''.join(b.get('text') or '' for b in msg['content'] if b['type'] == 'text')


def parse_turns(turns: str) -> int:
    """Check a GRPO ``turns`` value; the K of ``last``/``last:K`` (0 for ``all``, ``first``).

    Raises:
        ValueError: for anything else, or K < 1.
    """
    if turns in ('all', 'first'):
        return 0
    if turns == 'last':
        return 1
    head, _, k = turns.partition(':')
    if head == 'last' and k.isdigit() and int(k) >= 1:
        return int(k)
    raise ValueError(f'turns must be all, first, last or last:K (K >= 1), got {turns!r}')


def grpo_rows(rows: Iterable[dict[str, Any]], *, turns: str = 'all',
              max_prompt_images: int | None = None) -> Iterator[dict[str, Any]]:
    """One GRPO prompt per assistant turn of each trajectory.

    Each row: ``prompt`` (the conversation before the turn, block form), ``images`` (those
    in the prompt), ``expert_action`` (the decision of the dataset's reply), ``expert_reply``
    (that reply's whole text),
    ``history_actions`` (the decisions before it, JSON list), ``object_types`` (types named
    in the trajectory's decisions, JSON list) and the trajectory's meta fields.

    Args:
        turns: ``"all"``, ``"first"``, ``"last"`` or ``"last:K"`` (the last K) assistant
            turns of each trajectory.
        max_prompt_images: skip prompts with more images (memory bound).
    """
    tail = parse_turns(turns)
    for row in rows:
        msgs = row['messages']
        decisions = [decision_of(_text_of(m)) for m in msgs if m['role'] == 'assistant']
        types = sorted({d.split(' ')[-1] for d in decisions if d and ' ' in d
                        and d.split(' ')[-1][:1].isupper()})
        positions = [i for i, m in enumerate(msgs) if m['role'] == 'assistant']
        if turns == 'first':
            positions = positions[:1]
        elif tail:
            positions = positions[-tail:]
        for i in positions:
            expert = decision_of(_text_of(msgs[i]))
            if expert is None:
                continue
            prompt = msgs[:i]
            n_img = sum(1 for m in prompt for b in m['content'] if b['type'] == 'image')
            if max_prompt_images is not None and n_img > max_prompt_images:
                continue
            history = [decision_of(_text_of(m)) for m in prompt if m['role'] == 'assistant']
            out = {'prompt': prompt, 'images': row['images'][:n_img],
                   'expert_action': expert, 'expert_reply': _text_of(msgs[i]),
                   'history_actions': json.dumps([h for h in history if h]),
                   'object_types': json.dumps(types)}
            out.update({k: (row[k] if isinstance(row[k], str) else json.dumps(row[k]))
                        for k in META_KEYS if k in row})
            yield out


def load_grpo_dataset(source: str | os.PathLike, *, turns: str = 'all',
                      limit: int | None = None, max_prompt_images: int | None = None,
                      task_types: Sequence[str] | None = None):
    """TRL prompt rows for ``GRPOTrainer`` (see :func:`grpo_rows`).

    ``task_types`` keeps only trajectories of those ER task types (a curriculum).
    """
    source_rows = of_task_types(load_rows(source), task_types, source)
    rows = list(grpo_rows(source_rows, turns=turns, max_prompt_images=max_prompt_images))
    if limit:
        rows = rows[:limit]
    if not rows:
        raise DataError(f'{source}: no assistant turn with a <DecisionMaking> tag')
    logger.info('GRPO dataset: %d prompts', len(rows))
    return _dataset(rows)


def corpus_from_rows(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """All text of the rows (to train the tiny tokenizer on)."""
    for row in rows:
        for msg in row['messages']:
            text = _text_of(msg)
            if text:
                yield text


def write_synthetic_sharegpt(out_dir: str | os.PathLike, n_rows: int = 8, *, turns: int = 2,
                             image_size: tuple[int, int] = (96, 128), seed: int = 0) -> Path:
    """Write a small sharegpt folder (smoke tests, benchmarks; not meaningful data).

    Each row is a short ER-style conversation built with the real prompt builder: a system
    turn, a first turn with one image, then ``turns`` assistant decisions answered by image
    turns, using a fixed pool of actions; the images are random colour blocks.

    Returns:
        the folder, holding ``data.json`` and ``images/``.
    """
    import numpy as np

    from ego_reasoner_ros.core import images as imgs
    from ego_reasoner_ros.core.actions import Action
    from ego_reasoner_ros.core.prompts import PromptBuilder

    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / 'images').mkdir(parents=True, exist_ok=True)
    builder = PromptBuilder()
    plan = ['navigate to CounterTop', 'pickup Apple', 'navigate to Fridge', 'open Fridge',
            'put Fridge', 'close Fridge', 'end']
    rows = []
    for r in range(n_rows):
        names: list[str] = []

        def frame(k: int, r: int = r, names: list[str] = names) -> str:
            h, w = image_size
            arr = np.zeros((h, w, 3), dtype=np.uint8)
            arr[:] = rng.integers(0, 255, 3, dtype=np.uint8)
            y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
            arr[y:y + h // 3, x:x + w // 3] = rng.integers(0, 255, 3, dtype=np.uint8)
            name = f'images/r{r}_{k}.png'
            imgs.save_png(arr, out / name)
            names.append(name)
            return name

        msgs = [builder.system_message(),
                builder.first_turn('put the apple in the fridge', [frame(0)])]
        for t in range(turns):
            action = Action.parse_canonical(plan[(r + t) % len(plan)])
            msgs.append(builder.assistant(
                f'<Thinking>Step {t + 1}: I should {action}.</Thinking>'
                f'<DecisionMaking>{action}</DecisionMaking>'))
            if t + 1 < turns:
                msgs.append(builder.after_success(action, [frame(t + 1)]))
        rows.append(builder.to_sharegpt(msgs, names))
    (out / 'data.json').write_text(json.dumps(rows, indent=1), encoding='utf-8')
    return out
