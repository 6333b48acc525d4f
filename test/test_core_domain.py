# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Domain names declared once in core: task types, their families, the CamelCase splitter."""

from __future__ import annotations

import pytest

from ego_reasoner_ros.core import domain
from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.core.loop import max_steps_for


@pytest.mark.parametrize('name, words', [
    ('AlarmClock', ['Alarm', 'Clock']), ('TVStand', ['TV', 'Stand']), ('CD', ['CD']),
    ('Cup2', ['Cup', '2']), ('SinkBasin', ['Sink', 'Basin']), ('apple', ['apple']),
    ('ShelvingUnit', ['Shelving', 'Unit']),
])
def test_camel_words(name, words):
    assert domain.camel_words(name) == words


def test_task_types_and_families():
    assert len(domain.TASK_TYPES) == 11 == len(set(domain.TASK_TYPES))
    assert set(domain.TYPE_ABBREV) == set(domain.TASK_TYPES)
    assert domain.group_of(domain.LONG_RANGE) == 'Composite'
    assert domain.SINGLE_OBJECT_TYPES <= set(domain.TASK_TYPES)
    with pytest.raises(DataError, match='unknown task type'):
        domain.group_of('fly')
    budgets = {t: max_steps_for(t) for t in domain.TASK_TYPES}
    assert {budgets[t] for t in domain.SEARCH_TYPES} == {22}
    assert {budgets[t] for t in domain.PICKUP_TYPES | domain.TOGGLE_TYPES} == {24}
    assert {budgets[t] for t in domain.TRANSPORT_TYPES} == {30}
    assert budgets[domain.LONG_RANGE] == 36


def test_every_floor_reads_the_core_tables():
    from ego_reasoner_ros.training import goals, metrics, phrasings, taskgen

    assert metrics.TASK_TYPES is domain.TASK_TYPES and taskgen.TASK_TYPES is domain.TASK_TYPES
    assert goals.SEARCH_TYPES is domain.SEARCH_TYPES
    assert phrasings.split_type('TVStand') == 'tv stand'
