# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Loading and validating Embodied-Reasoner task files (the ``test_809.json`` format).

A malformed case never stops the others: :func:`load_tasks` returns the valid :class:`Task`
records together with one :class:`InvalidTask` per bad entry, whose message names the case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.metrics import TASK_TYPES, key_actions, total_reward

_REQUIRED_STR = ('scene', 'tasktype', 'taskname')


def describe_case(entry: Any, index: int) -> str:
    """A short label for a task entry: ``case #index (identity N, scene, tasktype)``."""
    if not isinstance(entry, Mapping):
        return f'case #{index}'
    parts = [f'identity {entry["identity"]}'] if 'identity' in entry else []
    parts += [str(entry[k]) for k in ('scene', 'tasktype') if isinstance(entry.get(k), str)]
    return f'case #{index}' + (f' ({", ".join(parts)})' if parts else '')


@dataclass(frozen=True)
class Task:
    """One test case.

    ``instruction`` (the ``taskquery``) is all a policy may see. ``key_actions``,
    ``target_objects`` and ``related_objects`` are for the metric and the simulator only.
    """

    identity: int | str
    scene: str
    tasktype: str
    taskname: str
    taskquery: str
    key_actions: tuple[str, ...]
    target_objects: tuple[str, ...] = ()
    related_objects: tuple[str, ...] = ()
    navigable_objects: tuple[str, ...] = ()
    instruction_idx: int | str | None = None
    metadata_actions: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    index: int = 0

    def __post_init__(self) -> None:
        for name in _REQUIRED_STR + ('taskquery',):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise DataError(f'{self.label}: field {name!r} must be a non-empty string')
        if self.tasktype not in TASK_TYPES:
            raise DataError(f'{self.label}: unknown task type {self.tasktype!r}')
        if total_reward(self.key_actions) <= 0:
            raise DataError(f'{self.label}: the key actions hold no scored action')

    @property
    def label(self) -> str:
        """``identity N (scene, tasktype)`` for messages."""
        return f'identity {self.identity} ({self.scene}, {self.tasktype})'

    @property
    def instruction(self) -> str:
        """The instruction shown to the policy (the reference shows ``taskquery``)."""
        return self.taskquery

    def sim_task(self) -> dict[str, Any]:
        """The ``options["task"]`` given to the simulator (never to the policy)."""
        return {
            'navigable_objects': list(self.navigable_objects),
            'target_objects': list(self.target_objects),
            'related_objects': list(self.related_objects),
            'identity': self.identity,
        }

    @classmethod
    def from_dict(cls, entry: Any, index: int = 0) -> Task:
        """Validate one entry of a task file; raise :class:`DataError` naming the case."""
        label = describe_case(entry, index)
        if not isinstance(entry, Mapping):
            raise DataError(f'{label}: a task must be a JSON object, got {type(entry).__name__}')
        missing = [k for k in _REQUIRED_STR + ('identity', 'task_metadata') if k not in entry]
        if missing:
            raise DataError(f'{label}: missing field(s) {", ".join(missing)}')
        identity = entry['identity']
        if isinstance(identity, bool) or not isinstance(identity, (int, str)):
            raise DataError(f'{label}: "identity" must be an integer or a string')
        meta = entry['task_metadata']
        if not isinstance(meta, Mapping) or not isinstance(meta.get('actions'), list):
            raise DataError(f'{label}: "task_metadata.actions" must be a list')
        try:
            keys = key_actions(meta['actions'])
        except DataError as exc:
            raise DataError(f'{label}: {exc}') from None
        lists = {}
        for name in ('target_objects', 'related_objects', 'navigable_objects'):
            value = entry.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f'{label}: {name!r} must be a list of strings')
            lists[name] = tuple(value)
        query = entry.get('taskquery', entry.get('taskname'))
        try:
            return cls(
                identity=identity, scene=entry['scene'], tasktype=entry['tasktype'],
                taskname=entry['taskname'], taskquery=query, key_actions=tuple(keys),
                instruction_idx=entry.get('instruction_idx'),
                metadata_actions=tuple(meta['actions']), index=index, **lists)
        except DataError as exc:
            raise DataError(f'{label}: {str(exc).split(": ", 1)[-1]}') from None


@dataclass(frozen=True)
class InvalidTask:
    """A task-file entry that failed validation; evaluated as a failure with ``error``."""

    index: int
    identity: int | str | None
    scene: str | None
    tasktype: str | None
    error: str


@dataclass(frozen=True)
class TaskFile:
    """The outcome of :func:`load_tasks`."""

    path: Path
    tasks: tuple[Task, ...]
    invalid: tuple[InvalidTask, ...]

    def __len__(self) -> int:
        return len(self.tasks) + len(self.invalid)


def parse_tasks(entries: Sequence[Any], path: Path | str = '<memory>') -> TaskFile:
    """Validate every entry, keeping the bad ones as :class:`InvalidTask`."""
    tasks: list[Task] = []
    invalid: list[InvalidTask] = []
    for i, entry in enumerate(entries):
        try:
            tasks.append(Task.from_dict(entry, i))
        except DataError as exc:
            get = entry.get if isinstance(entry, Mapping) else (lambda _k: None)
            identity = get('identity')
            invalid.append(InvalidTask(
                index=i,
                identity=identity if isinstance(identity, (int, str)) else None,
                scene=get('scene') if isinstance(get('scene'), str) else None,
                tasktype=get('tasktype') if isinstance(get('tasktype'), str) else None,
                error=str(exc)))
    seen: dict[Any, int] = {}
    for task in tasks:
        if task.identity in seen:
            raise DataError(f'{path}: identity {task.identity!r} is used by cases '
                            f'#{seen[task.identity]} and #{task.index}')
        seen[task.identity] = task.index
    return TaskFile(Path(path), tuple(tasks), tuple(invalid))


def _read_json(path: Path, what: str) -> Any:
    """The JSON content of ``path``; :class:`DataError` naming ``what`` if it cannot be read."""
    try:
        with path.open(encoding='utf-8') as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f'{what} not found: {path}') from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read {what} {path}: {exc}') from None


def load_tasks(path: Path | str) -> TaskFile:
    """Read a task file (a JSON list of cases); raise :class:`DataError` if it is unusable."""
    path = Path(path)
    data = _read_json(path, 'task file')
    if not isinstance(data, list):
        raise DataError(f'{path}: a task file must hold a JSON list of cases')
    return parse_tasks(data, path)


def load_agent_positions(path: Path | str | None) -> dict[str, Any]:
    """Read ``agent_positions.json`` (keyed by case identity); ``{}`` when ``path`` is None."""
    if path is None:
        return {}
    path = Path(path)
    data = _read_json(path, 'agent positions file')
    if not isinstance(data, dict):
        raise DataError(f'{path}: agent positions must be a JSON object keyed by identity')
    return data


def shard(tasks: Sequence[Any], index: int, count: int) -> list[Any]:
    """The ``index``-th of ``count`` deterministic slices, by identity (stable hash)."""
    if count < 1 or not 0 <= index < count:
        raise DataError(f'bad shard {index}/{count}: need 0 <= I < N')
    import zlib

    def key(item: Any) -> int:
        identity = getattr(item, 'identity', None)
        if identity is None:
            identity = getattr(item, 'index', 0)
        return zlib.crc32(str(identity).encode('utf-8'))

    return [t for t in tasks if key(t) % count == index]
