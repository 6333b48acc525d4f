# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Names of the Embodied-Reasoner domain, declared once: task types, their families, Types.

Task types and the paper's groups (er-protocol.md): the metric's table, the step budgets of
the episode loop, the strict goals and the task generator all read them from here.
"""

from __future__ import annotations

import re

from ego_reasoner_ros.core.errors import DataError

__all__ = [
    'GROUP_OF', 'GROUP_ORDER', 'LONG_RANGE', 'PICKUP_TYPES', 'SEARCH_TYPES', 'SINGLE_OBJECT_TYPES',
    'TASK_GROUPS', 'TASK_TYPES', 'TOGGLE_TYPES', 'TRANSPORT_TYPES', 'TYPE_ABBREV',
    'camel_words', 'group_of',
]

LONG_RANGE = 'long-range tasks with dependency relationships'
#: Task types of each group of the paper's table, in the table's order.
TASK_GROUPS: dict[str, tuple[str, ...]] = {
    'Search': ('single_search', 'single_search_from_closerep'),
    'Manipulate': ('single_pickup', 'single_pickup_from_closerep', 'single_toggle'),
    'Transport': (
        'pickup_and_put',
        'pickup_and_put_in_closerep',
        'pickup_from_closerep_and_put',
        'pickup_from_closerep_and_put_in_closerep',
    ),
    'Composite': ('ordered_pickup_two_object_and_put', LONG_RANGE),
}
GROUP_ORDER: tuple[str, ...] = tuple(TASK_GROUPS)
#: The 11 task types of the test set, in the table's order.
TASK_TYPES: tuple[str, ...] = tuple(t for types in TASK_GROUPS.values() for t in types)
#: The group of each task type.
GROUP_OF: dict[str, str] = {t: g for g, types in TASK_GROUPS.items() for t in types}

#: Families of task types by what the agent must do.
SEARCH_TYPES = frozenset(TASK_GROUPS['Search'])
PICKUP_TYPES = frozenset({'single_pickup', 'single_pickup_from_closerep'})
TOGGLE_TYPES = frozenset({'single_toggle'})
TRANSPORT_TYPES = frozenset(TASK_GROUPS['Transport'])
#: One target object: the search, pickup and toggle types.
SINGLE_OBJECT_TYPES = SEARCH_TYPES | PICKUP_TYPES | TOGGLE_TYPES
#: Short names in generated task identities (``FloorPlan5-pp-3``).
TYPE_ABBREV: dict[str, str] = {
    'single_search': 'ss', 'single_search_from_closerep': 'ssc', 'single_pickup': 'sp',
    'single_pickup_from_closerep': 'spc', 'single_toggle': 'st', 'pickup_and_put': 'pp',
    'pickup_and_put_in_closerep': 'ppc', 'pickup_from_closerep_and_put': 'pcp',
    'pickup_from_closerep_and_put_in_closerep': 'pcpc',
    'ordered_pickup_two_object_and_put': 'ord', LONG_RANGE: 'lr',
}


def group_of(tasktype: str) -> str:
    """Return the table group of ``tasktype``; raise :class:`DataError` for an unknown type."""
    try:
        return GROUP_OF[tasktype]
    except KeyError:
        raise DataError(
            f'unknown task type {tasktype!r}; expected one of {", ".join(TASK_TYPES)}'
        ) from None


_CAMEL_RE = re.compile(r'[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+')


def camel_words(name: str) -> list[str]:
    """The words of a CamelCase name, case kept (the one splitter of the package).

    ``"AlarmClock"`` -> ``["Alarm", "Clock"]``, ``"TVStand"`` -> ``["TV", "Stand"]``,
    ``"Cup2"`` -> ``["Cup", "2"]``; characters other than ASCII letters and digits are dropped.
    """
    return _CAMEL_RE.findall(name)
