# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The Embodied-Reasoner metric (er-protocol.md section 3) as pure functions.

The reference scores a trajectory by Type-level key-action bookkeeping: it never checks the
order of the actions, the instances used or the final world state (see :mod:`goals` for the
state check reported beside it). Everything here mirrors the reference's arithmetic exactly,
including its quirks (automatic ``end`` credit, the ``single_search`` substring rule); the one
deliberate difference is in :func:`aggregate`, which keeps crashed tasks as failures where the
reference silently drops them from the denominators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ego_reasoner_ros.core.domain import (  # noqa: F401  (re-exported: metrics.TASK_TYPES ...)
    GROUP_OF, GROUP_ORDER, TASK_GROUPS, TASK_TYPES, group_of)
from ego_reasoner_ros.core.errors import DataError

#: Entry actions the reward scan skips (besides every entry with success 0).
UNSCORED_ACTIONS: frozenset[str] = frozenset(
    {'init', 'observe', 'move forward', 'navigate to', 'error'})
#: Substrings that exclude a key action from the denominator.
_NOT_COUNTED = ('navigate to', 'observe', 'move forward')


def key_actions(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """``K``: ``"<action> <objectType>"`` (stripped) per entry of ``task_metadata.actions``."""
    keys = []
    for i, item in enumerate(actions):
        try:
            verb = item['action']
            obj = item.get('objectType', '') or ''
        except (KeyError, TypeError, AttributeError):
            raise DataError(f'key action {i} is not an object with an "action" field') from None
        if not isinstance(verb, str) or not isinstance(obj, str):
            raise DataError(f'key action {i}: "action" and "objectType" must be strings')
        keys.append(f'{verb} {obj}'.strip())
    return keys


def total_reward(keys: Sequence[str]) -> int:
    """``Tot``: the number of key actions containing none of navigate to/observe/move forward."""
    return sum(1 for k in keys if not any(s in k for s in _NOT_COUNTED))


@dataclass(frozen=True)
class ERScore:
    """The reference metric of one trajectory."""

    reward: int
    total: int
    success: int
    completeness: float
    efficiency: float
    key_actions_success: bool
    trajectory_length: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _entry_fields(entry: Mapping[str, Any]) -> tuple[str, str | None, list[str], bool]:
    try:
        action = entry['action']
    except (KeyError, TypeError):
        raise DataError(f'trajectory entry without "action": {entry!r}') from None
    item = entry.get('object')
    legal = entry.get('legal_objects') or []
    return str(action), (None if item is None else str(item)), list(legal), bool(
        entry.get('success'))


def score_trajectory(entries: Sequence[Mapping[str, Any]], keys: Sequence[str], *,
                     tasktype: str, taskname: str) -> ERScore:
    """Score reference-style trajectory ``entries`` against the key actions ``keys``.

    Each entry is a mapping with ``action`` (verb string, ``"error"`` for invalid output),
    ``object`` (matched Type or None), ``success`` and ``legal_objects``. The trajectory must
    contain every entry the reference records: ``init``, failed and invalid entries and the
    final ``end``.

    Args:
        entries: the trajectory, in order.
        keys: ``K`` from :func:`key_actions`.
        tasktype: the task type (``single_search`` uses the substring rule for ``end``).
        taskname: the task's ``taskname`` (not the ``taskquery`` shown to the model).
    """
    total = total_reward(keys)
    if total <= 0:
        raise DataError('the key actions hold no scored action (Tot = 0)')
    remaining = list(keys)
    key_set = set(keys)
    name = taskname.lower()
    reward = 0
    flag = False
    previous = ''
    for entry in entries:
        action, item, legal, success = _entry_fields(entry)
        if action in UNSCORED_ACTIONS or not success:
            if success:
                previous = action if item is None else f'{action} {item}'
            continue
        if 'end' in action:
            if tasktype == 'single_search':
                if any(obj.lower() in name for obj in legal):
                    reward += 1
                elif previous in key_set:
                    # The reference stops scanning here (it breaks out of its loop).
                    reward += 1
                    flag = True
                    break
            else:
                reward += 1
        elif item is not None:
            verb = 'put' if action.startswith('put') else action
            key = f'{verb} {item}'
            if key in remaining:
                remaining.remove(key)
                reward += 1
        previous = action if item is None else f'{action} {item}'
    success_flag = int(reward / total)
    length = len(entries)
    efficiency = (len(keys) + 1) / length if success_flag and length else 0.0
    return ERScore(reward=reward, total=total, success=success_flag,
                   completeness=reward / total, efficiency=efficiency,
                   key_actions_success=flag, trajectory_length=length)


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def aggregate(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Plain means over task outcomes, overall, per group and per task type.

    Each outcome is a mapping with ``tasktype``, ``success`` (0/1), ``efficiency``,
    ``completeness`` and optionally ``strict_success`` and ``error``. Outcomes with an error
    count as failures (zeros) and stay in every denominator, unlike the reference, which
    drops crashed tasks. An outcome whose task type is unknown counts in the overall figures
    only.
    """
    rows = list(outcomes)

    def block(sel: list[Mapping[str, Any]]) -> dict[str, Any]:
        succ = [int(bool(r.get('success'))) for r in sel]
        strict = [int(bool(r.get('strict_success'))) for r in sel]
        return {
            'n': len(sel),
            'successes': sum(succ),
            'success_rate': _mean(succ),
            'search_efficiency': _mean([float(r.get('efficiency') or 0.0) for r in sel]),
            'task_completeness': _mean([float(r.get('completeness') or 0.0) for r in sel]),
            'strict_successes': sum(strict),
            'strict_success_rate': _mean(strict),
        }

    overall = block(rows)
    groups = {g: block([r for r in rows if GROUP_OF.get(str(r.get('tasktype'))) == g])
              for g in GROUP_ORDER}
    types_seen = [t for t in TASK_TYPES if any(r.get('tasktype') == t for r in rows)]
    extra = sorted({str(r.get('tasktype')) for r in rows} - set(TASK_TYPES))
    per_type = {t: block([r for r in rows if str(r.get('tasktype')) == t])
                for t in types_seen + extra}
    errors = [r for r in rows if r.get('error')]
    return {
        'n_tasks': overall['n'],
        'successes': overall['successes'],
        'success_rate': overall['success_rate'],
        'search_efficiency': overall['search_efficiency'],
        'task_completeness': overall['task_completeness'],
        'strict_successes': overall['strict_successes'],
        'strict_success_rate': overall['strict_success_rate'],
        'groups': groups,
        'per_type': per_type,
        'n_errors': len(errors),
    }
