# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Recorded bags -> episode records and training data (the data flywheel).

    ego-reasoner bag2data runs/bags/* --out data/from_robot [--successful-only]

Input: rosbag2 folders or single ``.mcap`` files written by the recorder node (or
``ros2 bag record``) holding the reasoner graph's topics (names matched by suffix, so a
namespace is fine):

==========================  =================  ==============================================
role / default topic        type               used for
==========================  =================  ==============================================
``task``                    std_msgs/String    instruction, task type, scene per ``task_id``
``reasoner/thought``        std_msgs/String    the model's raw output for each policy call
``reasoner/action``         std_msgs/String    the executed actions (``action_id``)
``executor/result``         std_msgs/String    success, feedback, ``frame_stamps`` per action
``reasoner/status``         std_msgs/String    how the episode ended (``ended by X``, success)
``verdict``                 std_msgs/String    operator label ``{task_id, success, note}``
``camera/image_raw``        sensor_msgs/Image  the frames (rgb8/bgr8/rgba8/bgra8/mono8)
==========================  =================  ==============================================

Reconstruction per ``task_id``: the ``init`` action's result gives the first view; every
thought is re-parsed (strict parser by default) exactly as the episode loop did: an
executable decision is paired with the next ``reasoner/action`` of the task and, by
``action_id``, its result; an unresolvable object becomes the loop's failed
"No Suitable Object" step; anything else is an invalid reply. A step's frames are the ones
its result names in ``frame_stamps`` (header stamps); when a result names none (a robot
executor) a successful step takes the latest frame received after its action and before the
next decision. The episode's ending comes from the final status (``ended by ...``).

Labels: ``success`` per episode from the ``verdict`` topic when there is one (the only
honest label on a robot), else from the reasoner's final status; per-step success from the
results. Both go into ``metadata`` of each record and into ``labels.jsonl``.

Output (the data engine's layout)::

    OUT/episodes/<id>/episode.json + images/   EpisodeRecord.save
    OUT/sharegpt/train.json [val.json]          sharegpt rows, images in sharegpt/images/<id>/
    OUT/hf/train [hf/val]                       datasets.save_to_disk (if datasets is installed)
    OUT/labels.jsonl                            one line per episode: success labels
    OUT/bag2data.json                           the figures

Episodes without an ending (no final status and no verdict: the recording stopped
mid-episode) are saved under ``episodes/`` but left out of the training files. A bag that is
cut short (a recorder killed by SIGKILL) is read up to its last complete chunk, with a
warning; a bag that is not MCAP, holds none of the topics above or carries them with another
message type fails with a :class:`~ego_reasoner_ros.core.errors.DataError` naming the file,
and the other bags are still converted.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import random
import re
import shutil
from typing import Any


from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.episode import EpisodeRecord, StepRecord
from ego_reasoner_ros.core.errors import DataError, MissingDependencyError, require
from ego_reasoner_ros.core.parser import (
    InvalidOutput,
    InvalidReason,
    ParserMode,
    extract_thought,
    parse_action,
)
from ego_reasoner_ros.core.prompts import PROMPT_VERSION, PromptBuilder
from ego_reasoner_ros.runtime import bagio
from ego_reasoner_ros.training.bag_reading import (
    DEFAULT_TOPICS, BagEvents, Frame, load_frames, read_events, split_key, verdict_for)

logger = logging.getLogger(__name__)

NO_SUITABLE_OBJECT = 'No Suitable Object'
NO_SUITABLE_OBJECT_FEEDBACK = f'The object "{NO_SUITABLE_OBJECT}" cannot be found in the room.'
FINAL_STATES = ('succeeded', 'failed', 'aborted', 'error')
_ENDED_BY = re.compile(r'ended by (\w+)')
_END = Verb('end')


# ------------------------------------------------------------------ options and figures
@dataclass
class ConvertOptions:
    """Settings of :func:`convert_bags`.

    Attributes:
        topics: role -> topic name overrides (see :data:`DEFAULT_TOPICS`).
        parser_mode: the parser mode the reasoner ran with.
        successful_only: keep only episodes labelled successful.
        val_fraction: share of the kept episodes written to ``val.json`` / ``hf/val``.
        seed: seed of the train/val split.
        write_hf: also write the ``datasets`` copy (skipped with a warning if missing).
        frame_window_s: a successful step without ``frame_stamps`` takes a frame received
            within this many seconds after its result when no later decision bounds it.
    """

    topics: dict[str, str] = field(default_factory=dict)
    parser_mode: str = 'strict'
    successful_only: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    write_hf: bool = True
    frame_window_s: float = 2.0

    def __post_init__(self) -> None:
        unknown = set(self.topics) - set(DEFAULT_TOPICS)
        if unknown:
            raise ValueError(f'unknown topic roles {sorted(unknown)}; use {list(DEFAULT_TOPICS)}')
        self.parser_mode = ParserMode(self.parser_mode).value
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f'val_fraction must be in [0, 1), got {self.val_fraction}')
        if self.frame_window_s < 0:
            raise ValueError(f'frame_window_s must be >= 0, got {self.frame_window_s}')

    def topic_map(self) -> dict[str, str]:
        """Role -> topic name, defaults merged with the overrides (no leading slash)."""
        return {r: self.topics.get(r, t).strip('/') for r, t in DEFAULT_TOPICS.items()}


@dataclass
class BagResult:
    """What converting one bag gave."""

    bag: str
    episodes: list[EpisodeRecord] = field(default_factory=list)
    files: list[bagio.FileScan] = field(default_factory=list)
    error: str | None = None

    @property
    def truncated_files(self) -> list[str]:
        """Files read only up to a damaged or missing tail."""
        return [str(f.path) for f in self.files if f.error]


# ------------------------------------------------------------------ reconstruction
class _FramePicker:
    """Frames by header stamp, or by receive time for results that name none."""

    def __init__(self, frames: list[Frame]) -> None:
        self.by_stamp = {f.stamp: f for f in frames}
        self.frames = frames
        self.times = [f.t for f in frames]

    def for_result(self, result: dict, *, after: int, before: int) -> list[Frame]:
        stamps = [int(s) for s in result.get('frame_stamps') or [] if isinstance(s, int)]
        if stamps:
            found = [self.by_stamp[s] for s in stamps if s in self.by_stamp]
            if len(found) < len(stamps):
                logger.warning('result %s names %d frame(s) the bag does not hold',
                               result.get('action_id'), len(stamps) - len(found))
            if found:
                return found
        if not result.get('success'):
            return []
        # the latest frame before the next decision; ideally received after the action
        k = bisect_right(self.times, before) - 1
        if k >= 0 and self.frames[k].t < after:
            logger.debug('no frame between action and next decision; using an older one')
        return [self.frames[k]] if k >= 0 else []


def _final_status(statuses: list[tuple[int, dict]]) -> tuple[int, dict] | None:
    for t, st in reversed(statuses):
        if st.get('state') in FINAL_STATES:
            return t, st
    return None


def _terminated_by(final: dict | None) -> str:
    if final is None:
        return 'running'
    if final.get('state') in ('aborted', 'error'):
        return 'error'
    found = _ENDED_BY.search(str(final.get('message', '')))
    if found and found.group(1) in ('end', 'max_steps', 'invalid', 'repeat', 'error'):
        return found.group(1)
    return 'end'


def _feedback(result: dict) -> str:
    text = str(result.get('feedback') or '')
    status = result.get('status', 'succeeded')
    if status not in ('succeeded', 'failed'):
        text = text or str(status)
    return text


def build_episode(tid: str, ev: BagEvents, picker: _FramePicker, options: ConvertOptions,
                  bag: str) -> tuple[EpisodeRecord, dict[int, list[int]]] | None:
    """Rebuild the episode of ``tid`` from the decoded events.

    Returns:
        ``(record, frame_refs)``: the record without images and, per step index (-1 for
        the initial view), the sequence numbers of its frames; None when the bag holds too
        little of the episode (no task/instruction or no ``init`` action and result).
    """
    key, (tid, run_id) = tid, split_key(tid)
    actions = sorted(ev.actions.get(key, []), key=lambda a: (a[1].get('step', 0), a[0]))
    task = ev.tasks.get(key) or ev.tasks.get(tid, {})
    statuses = ev.statuses.get(key, [])
    instruction = task.get('instruction') or next(
        (s.get('message', '') for _t, s in statuses if s.get('state') == 'accepted'), '')
    init = next(((t, a) for t, a in actions if a.get('verb') == 'init'), None)
    if not instruction or init is None:
        logger.warning('%s: task %s skipped: %s', bag, tid,
                       'no task message' if not instruction else 'no init action recorded')
        return None
    thoughts = sorted(ev.thoughts.get(key, []), key=lambda x: x[0])
    final = _final_status(statuses)
    terminated = _terminated_by(final[1] if final else None)
    mode = ParserMode(options.parser_mode)

    record = EpisodeRecord(episode_id=tid.replace('/', '_'), instruction=instruction,
                           task_type=str(task.get('task_type', '')), scene=task.get('scene'))
    init_res = ev.results.get(str(init[1]['action_id']))
    if init_res is None:
        logger.warning('%s: task %s skipped: no result for its init action', bag, tid)
        return None
    first_decision = thoughts[0][0] if thoughts else init_res[0] + int(
        options.frame_window_s * 1e9)
    init_frames = picker.for_result(init_res[1] | {'success': True}, after=init[0],
                                    before=first_decision)
    frame_refs: dict[int, list[int]] = {-1: [f.index for f in init_frames]}
    record.initial_legal_objects = list(init_res[1].get('legal_objects') or [])
    scene_types = list(init_res[1].get('scene_types') or [])
    legal = list(record.initial_legal_objects)

    pending = [(t, a) for t, a in actions if a is not init[1]]
    ended_by_model = False
    incomplete = False
    for i, (t_thought, th) in enumerate(thoughts):
        raw = str(th.get('raw') or th.get('thought') or '')
        last = i == len(thoughts) - 1
        if last and terminated in ('invalid', 'repeat'):
            record.metadata['discarded_output'] = raw  # fetched, never executed
            break
        parsed = parse_action(raw, scene_types, mode)
        thought = extract_thought(raw, mode)
        index = len(record.steps)
        unknown = (isinstance(parsed, InvalidOutput) and mode == ParserMode.STRICT
                   and parsed.reason == InvalidReason.UNKNOWN_OBJECT and parsed.verb is not None)
        if isinstance(parsed, InvalidOutput) and not unknown:
            record.steps.append(StepRecord(
                index=index, raw_output=raw, thought=thought, action=None, invalid=parsed,
                executed=False, success=False, feedback=parsed.message,
                legal_objects=list(legal),
                info={'reason': getattr(parsed.reason, 'value', str(parsed.reason))}))
            continue
        if unknown:
            record.steps.append(StepRecord(
                index=index, raw_output=raw, thought=thought,
                action=Action(parsed.verb, NO_SUITABLE_OBJECT), invalid=parsed, executed=True,
                success=False, feedback=NO_SUITABLE_OBJECT_FEEDBACK, legal_objects=list(legal),
                info={'unknown_object': parsed.message, 'matched_by': 'none'}))
            continue
        action = parsed.action
        if action.verb == _END:
            record.steps.append(StepRecord(
                index=index, raw_output=raw, thought=thought, action=Action(_END),
                invalid=None, executed=False, success=True, feedback='',
                legal_objects=list(legal), info={'reason': 'end',
                                                 'matched_by': parsed.matched_by}))
            ended_by_model = True
            break
        if not pending:
            incomplete = True  # decided, but its action never made it into the bag
            break
        t_action, act = pending.pop(0)
        try:
            sent = Action.from_dict({'verb': act.get('verb'), 'target': act.get('target')})
        except (TypeError, ValueError):
            sent = action
        if (sent.verb, sent.target) != (action.verb, action.target):
            logger.warning('%s: task %s: thought %d decided %s but %s was sent; using the '
                           'sent action', bag, tid, i, action, sent)
        res = ev.results.get(str(act['action_id']))
        if res is None:
            incomplete = True
            break
        t_res, result = res
        next_decision = thoughts[i + 1][0] if i + 1 < len(thoughts) else \
            t_res + int(options.frame_window_s * 1e9)
        frames = picker.for_result(result, after=t_action, before=next_decision)
        success = bool(result.get('success'))
        frame_refs[index] = [f.index for f in frames]
        record.steps.append(StepRecord(
            index=index, raw_output=raw, thought=thought, action=sent, invalid=None,
            executed=True, success=success, feedback=_feedback(result),
            legal_objects=list(result.get('legal_objects') or []),
            wall_seconds=max(0.0, (t_res - t_thought) / 1e9),
            info={'action_id': act['action_id'], 'status': result.get('status', ''),
                  'matched_by': parsed.matched_by}))
        legal = list(result.get('legal_objects') or [])
        if result.get('scene_types'):
            scene_types = list(result['scene_types'])

    if incomplete and terminated not in ('error', 'running'):
        terminated = 'error'
    if not ended_by_model and terminated in ('max_steps', 'invalid', 'repeat'):
        record.steps.append(StepRecord(
            index=len(record.steps), raw_output='', thought='', action=Action(_END),
            invalid=None, executed=False, success=terminated != 'repeat', feedback='',
            legal_objects=list(legal), info={'reason': terminated}, from_model=False))
    if ended_by_model:
        terminated = 'end'
    record.terminated_by = terminated

    verdict = verdict_for(key, ev)
    if verdict is not None:
        success, source = bool(verdict[1]['success']), 'verdict'
    elif final is not None and isinstance(final[1].get('success'), bool):
        success, source = bool(final[1]['success']), 'status'
    else:
        success, source = None, None
    record.metadata.update({
        'source': 'bag', 'source_bag': str(bag), 'parser_mode': mode.value,
        'prompt_version': PROMPT_VERSION, 'policy_calls': len(thoughts),
        'success': success, 'success_source': source,
        'verdict_note': verdict[1].get('note') if verdict else None,
        'step_success': [s.success for s in record.steps if s.executed],
        'final_state': final[1].get('state') if final else None,
        'boot_id': final[1].get('boot_id') if final else None,
        'run_id': run_id or None,
        'complete': final is not None or verdict is not None,
        'step_count': record.step_count,
    })
    return record, frame_refs


def convert_bag(bag: str | os.PathLike, options: ConvertOptions | None = None) -> BagResult:
    """Rebuild every episode recorded in one bag (folder or ``.mcap`` file).

    Raises:
        DataError: the bag is unreadable, holds no episode topics, or carries them with
            another message type; the message names the file.
    """
    options = options or ConvertOptions()
    bag = str(bag)
    topic_map = options.topic_map()
    result = BagResult(bag)
    ev = read_events(bag, topic_map, result.files)
    picker = _FramePicker(ev.frames)
    built: list[tuple[EpisodeRecord, dict[int, list[int]]]] = []
    tids = list(dict.fromkeys(list(ev.tasks) + list(ev.actions)))
    runs_of = {split_key(k)[0] for k in tids if split_key(k)[1]}
    for tid in tids:
        if split_key(tid)[0] in ('none', 'unknown'):
            continue
        if tid in runs_of and tid not in ev.actions:
            continue  # the task message of runs recorded under their run ids
        out = build_episode(tid, ev, picker, options, bag)
        if out is not None:
            built.append(out)
    wanted = {k for _rec, refs in built for ks in refs.values() for k in ks}
    frames = load_frames(bag, topic_map, wanted)
    for record, refs in built:
        record.initial_images = [frames[k] for k in refs.get(-1, []) if k in frames]
        for step in record.steps:
            step.images = [frames[k] for k in refs.get(step.index, []) if k in frames]
        result.episodes.append(record)
    logger.info('%s: %d episode(s), %d frame(s) used of %d', bag, len(result.episodes),
                len(frames), len(ev.frames))
    return result


# ------------------------------------------------------------------ dataset writing
def _unique_ids(records: Iterable[EpisodeRecord]) -> None:
    seen: dict[str, int] = {}
    for rec in records:
        base = re.sub(r'[^A-Za-z0-9_.-]', '_', rec.episode_id) or 'episode'
        n = seen.get(base, 0)
        seen[base] = n + 1
        rec.episode_id = base if n == 0 else f'{base}_{n}'


def _sharegpt_row(record: EpisodeRecord, builder: PromptBuilder, share_dir: Path,
                  episode_dir: Path) -> dict[str, Any]:
    row = record.to_sharegpt(builder)
    images = []
    for name in row['images']:
        dest = Path('images') / record.episode_id / Path(name).name
        (share_dir / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(episode_dir / name, share_dir / dest)
        images.append(dest.as_posix())
    row['images'] = images
    meta = record.metadata
    row.update({'episode_id': record.episode_id, 'instruction': record.instruction,
                'tasktype': record.task_type, 'scene': record.scene or '',
                'terminated_by': record.terminated_by, 'success': meta.get('success'),
                'success_source': meta.get('success_source'),
                'step_success': meta.get('step_success', []),
                'source': meta.get('source_bag', '')})
    return row


def _write_hf(rows: list[dict[str, Any]], share_dir: Path, dest: Path) -> bool:
    try:
        ds_mod = require('datasets', purpose='writing the hf/ copy of the dataset')
    except MissingDependencyError as exc:
        logger.warning('%s; skipped %s', exc, dest)
        return False
    hf_rows = [{'messages': r['messages'],
                'images': [str(share_dir / p) for p in r['images']],
                'episode_id': r['episode_id'], 'success': r['success'],
                'step_success': r['step_success'], 'tasktype': r['tasktype'],
                'scene': r['scene']} for r in rows]
    ds = ds_mod.Dataset.from_list(hf_rows)
    ds = ds.cast_column('images', ds_mod.Sequence(ds_mod.Image()))
    if dest.exists():
        shutil.rmtree(dest)
    ds.save_to_disk(str(dest))
    return True


def write_dataset(records: Sequence[EpisodeRecord], out: str | os.PathLike,
                  options: ConvertOptions | None = None) -> dict[str, Any]:
    """Write episodes, sharegpt JSON, the ``datasets`` copy and labels under ``out``.

    Returns:
        counts: ``n_saved``, ``n_train``, ``n_val``, ``n_incomplete``, ``n_filtered``.
    """
    options = options or ConvertOptions()
    out = Path(out)
    share_dir = out / 'sharegpt'
    out.mkdir(parents=True, exist_ok=True)
    _unique_ids(records)
    builder = PromptBuilder()
    labels, rows = [], []
    n_incomplete = n_filtered = 0
    for rec in records:
        ep_dir = rec.save(out / 'episodes' / rec.episode_id, overwrite=True)
        meta = rec.metadata
        labels.append({'episode_id': rec.episode_id, 'success': meta.get('success'),
                       'success_source': meta.get('success_source'),
                       'step_success': meta.get('step_success', []),
                       'terminated_by': rec.terminated_by, 'steps': rec.step_count,
                       'complete': meta.get('complete'), 'source': meta.get('source_bag')})
        if not meta.get('complete'):
            n_incomplete += 1
            continue
        if options.successful_only and meta.get('success') is not True:
            n_filtered += 1
            continue
        if not rec.model_steps:
            continue
        rows.append(_sharegpt_row(rec, builder, share_dir, ep_dir))
    rng = random.Random(options.seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    n_val = int(round(len(rows) * options.val_fraction)) if len(rows) > 1 else 0
    val_ids = set(order[:n_val])
    splits = {'train': [r for k, r in enumerate(rows) if k not in val_ids],
              'val': [r for k, r in enumerate(rows) if k in val_ids]}
    share_dir.mkdir(parents=True, exist_ok=True)
    for split, split_rows in splits.items():
        if split == 'val' and not split_rows:
            continue
        (share_dir / f'{split}.json').write_text(
            json.dumps(split_rows, indent=1, ensure_ascii=False), encoding='utf-8')
        if options.write_hf and split_rows:
            _write_hf(split_rows, share_dir, out / 'hf' / split)
    with open(out / 'labels.jsonl', 'w', encoding='utf-8') as fh:
        for line in labels:
            fh.write(json.dumps(line, ensure_ascii=False) + '\n')
    return {'n_saved': len(records), 'n_train': len(splits['train']),
            'n_val': len(splits['val']), 'n_incomplete': n_incomplete,
            'n_filtered': n_filtered}


def convert_bags(bags: Sequence[str | os.PathLike], out: str | os.PathLike,
                 options: ConvertOptions | None = None) -> dict[str, Any]:
    """Convert several bags; a failing bag is reported and the others still converted.

    Returns:
        The figures: ``n_bags``, ``n_failed_bags``, ``failed`` (bag -> error),
        ``n_files``, ``n_truncated_files``, ``truncated``, ``n_episodes``, ``n_steps``,
        ``n_images``, ``n_successful``, plus :func:`write_dataset`'s counts.
    """
    options = options or ConvertOptions()
    results: list[BagResult] = []
    for bag in bags:
        try:
            results.append(convert_bag(bag, options))
        except DataError as exc:
            logger.error('%s', exc)
            results.append(BagResult(str(bag), error=str(exc)))
        except OSError as exc:
            msg = f'{bag}: {exc}'
            logger.error('%s', msg)
            results.append(BagResult(str(bag), error=msg))
    records = [rec for r in results for rec in r.episodes]
    counts = write_dataset(records, out, options) if any(r.error is None for r in results) \
        else {}
    figures = {
        'n_bags': len(results),
        'n_failed_bags': sum(1 for r in results if r.error),
        'failed': {r.bag: r.error for r in results if r.error},
        'n_files': sum(len(r.files) for r in results),
        'n_truncated_files': sum(len(r.truncated_files) for r in results),
        'truncated': [f for r in results for f in r.truncated_files],
        'n_episodes': len(records),
        'n_steps': sum(rec.step_count - 1 for rec in records),
        'n_images': sum(len(rec.initial_images) + sum(len(s.images) for s in rec.steps)
                        for rec in records),
        'n_successful': sum(1 for rec in records if rec.metadata.get('success') is True),
        **counts,
        'out': str(out),
    }
    if counts:
        Path(out, 'bag2data.json').write_text(json.dumps(figures, indent=1), encoding='utf-8')
    return figures
