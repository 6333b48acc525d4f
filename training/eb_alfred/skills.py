# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED's message rules, light enough for the message schemas of the nodes.

- :func:`check_episode_ref`: the ``episode`` field of a task or init,
  ``{"subset": "base", "index": 3}``.
- :func:`skill_gate`: the core ``(verb, object type)`` an EB skill is checked as by the
  action executor's safety gate.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from ego_reasoner_ros.training.eb_alfred.data import SUBSETS

BENCHMARK = 'eb-alfred'
#: The EB-only policies (they plan EB-ALFRED episodes and nothing else).
EB_POLICIES = ('oracle', 'heuristic')
EPISODE_KEYS = ('subset', 'index')

#: EB's skill kinds by the leading words ``llm_skill_interact`` dispatches on, with the core
#: verb the safety gate checks each as (``slice`` has no core verb; the gate knows it by name).
_GATE = (('find ', 'navigate to'), ('pick up ', 'pickup'), ('put down ', 'put'),
         ('open ', 'open'), ('close ', 'close'), ('turn on ', 'toggle'),
         ('turn off ', 'toggle'), ('slice ', 'slice'), ('drop', 'put'))
_ARTICLES = ('a ', 'an ', 'the ')
_INSTANCE = re.compile(r'_\d+$')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def check_episode_ref(ref: Any) -> tuple[str, int]:
    """``(subset, index)`` of an ``episode`` field; ValueError names what is wrong."""
    if not isinstance(ref, Mapping):
        raise ValueError('episode must be an object {"subset": ..., "index": ...}, got '
                         f'{type(ref).__name__}')
    unknown = sorted(set(ref) - set(EPISODE_KEYS))
    missing = [k for k in EPISODE_KEYS if k not in ref]
    if unknown or missing:
        raise ValueError(f'episode needs exactly the keys {list(EPISODE_KEYS)}'
                         + (f'; unknown {unknown}' if unknown else '')
                         + (f'; missing {missing}' if missing else ''))
    subset, index = ref['subset'], ref['index']
    if subset not in SUBSETS:
        raise ValueError(f'episode.subset must be one of {list(SUBSETS)}, got {subset!r}')
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f'episode.index must be an integer >= 0, got {index!r}')
    return str(subset), int(index)


def skill_gate(skill: str) -> tuple[str, str | None]:
    """The ``(verb, object type)`` the executor's safety gate checks an EB skill as.

    ``find a Cabinet_2`` -> ``('navigate to', 'Cabinet')``; ``put down the object in hand``
    and ``drop the object in hand`` -> ``('put', None)`` (the receptacle is the one the last
    ``find`` reached, which passed the gate itself).

    Raises:
        ValueError: the text is not of an EB skill's form.
    """
    if not isinstance(skill, str) or not skill or skill != skill.strip() or \
            _CONTROL.search(skill):
        raise ValueError(f'{skill!r} is not an EB-ALFRED skill')
    for prefix, verb in _GATE:
        if not skill.startswith(prefix):
            continue
        if verb == 'put':
            return verb, None
        rest = skill[len(prefix):]
        for article in _ARTICLES:
            if rest.startswith(article):
                rest = rest[len(article):]
                break
        if not rest.strip():
            raise ValueError(f'EB skill {skill!r} names no object')
        # 'Butter Knife' -> ButterKnife, 'Cabinet_2' -> Cabinet (case kept: DeskLamp)
        name = ''.join(w[:1].upper() + w[1:] for w in rest.split())
        return verb, _INSTANCE.sub('', name)
    raise ValueError(f'{skill!r} is not an EB-ALFRED skill (find, pick up, put down, drop, '
                     'open, close, turn on, turn off, slice)')
