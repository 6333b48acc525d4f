# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The data-engine experts, registered once.

Datagen, its CLI choices and the dataset cards read this table, and each entry names the
``--policy`` spec that runs the same expert from the instruction.

It also keeps the record of the options removed after they lost on validation (the rule in
docs/ARCHITECTURE.md): asking for one fails with :class:`RemovedOptionError` (exit 2 on the
command line) naming the training-log entry that recorded its loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from ego_reasoner_ros.core.errors import DataError

__all__ = ['EXPERTS', 'REMOVED', 'ExpertSpec', 'RemovedOptionError', 'check_removed',
           'expert_names', 'get_expert']


@dataclass(frozen=True)
class ExpertSpec:
    """One data-engine expert.

    Attributes:
        name: the ``datagen --expert`` name.
        does: what it does, in the dataset card's words ("the X expert <does>").
        search: the ``SweepExpertPolicy`` search mode, or None for the engine expert
            (``DataEnginePolicy`` in ``training/experts/engine.py``).
        policy: the ``--policy`` spec of the instruction-following twin that ``eval`` runs.
        help: its ``datagen --help`` text.
        policy_arg: ``(keyword, type, usage)`` that the twin's ``SPEC:ARG`` sets, or None when
            the spec takes no argument (sweep-based twins; ``policies.py`` registers them).
    """

    name: str
    does: str
    search: str | None
    policy: str
    help: str
    policy_arg: tuple[str, type, str] | None = None


EXPERTS: dict[str, ExpertSpec] = {e.name: e for e in (
    ExpertSpec(
        'engine', 'searches like a person (the correct place visited first, second or third)',
        None, 'expert',
        'the reference-style expert that walks to the right place first, second or third '
        '(default)'),
    ExpertSpec(
        'sweep', 'searches the usual places of each object Type in a fixed order, deciding at '
                 'each from what is in view',
        'view', 'sweep',
        'a fixed, view-driven search with terse Type-level thoughts, which a small model can '
        'imitate (training/sweep.py)',
        ('failure_prob', float, 'sweep:P needs a probability P')),
    ExpertSpec(
        'probe', "walks the usual places of each object Type (those usual for the room's kind "
                 "first) and decides from the commands' outcomes only",
        'probe', 'probe',
        "the sweep deciding from the commands' outcomes only (tries the action at each place, "
        'opens containers), so every decision follows from what the model is shown'),
    ExpertSpec(
        'probe-look', 'walks the usual places of each object Type and acts on an object only '
                      'when the camera frame shows it ("I see X" / "No X in view")',
        'look', 'look',
        "the probe's places, but it acts on an object only when the camera frame shows it, "
        'so a model that imitates it must read its images',
        ('view_size', int, 'look:N needs an integer frame size N')),
)}

_LOG = 'docs/training-log.md'
#: Options removed after they lost on validation: how the user writes it -> where the loss
#: is recorded. Their code and tests are in git history.
REMOVED: dict[str, str] = {
    '--expert probe-segment': f'{_LOG}, "Session 6" (segment thoughts: 68.75% on validation, '
                              'ordered tasks still 0/8)',
    '--expert probe-numbered': f'{_LOG}, "Session 7", item 5 (numbered plan items: 60.00% on '
                               'validation against the 71.25% control)',
    'reward planning': f'{_LOG}, "Session 7", item 3 (first-turn planning reward: at best '
                       '67.50% against the 71.25% control)',
    'look=add': f'{_LOG}, "Session 8", item 5 (look rows mixed in: 62.50% on validation, the '
                'same with blanked images)',
    'look=only': f'{_LOG}, "Session 8", item 5 (look rows alone: 7.50% on validation after '
                 '600 steps)',
}


class RemovedOptionError(DataError):
    """An option that lost on validation and left the product (bad input: exit 2)."""


def check_removed(option: str) -> None:
    """Raise :class:`RemovedOptionError` when ``option`` (e.g. ``"look=add"``) was removed."""
    where = REMOVED.get(option)
    if where is not None:
        raise RemovedOptionError(
            f'{option} was removed: it lost on validation ({where}); its record stays there '
            'and in git history')


def expert_names() -> tuple[str, ...]:
    """The ``datagen --expert`` names, in registry order."""
    return tuple(EXPERTS)


def get_expert(name: str) -> ExpertSpec:
    """The expert called ``name``; a removed or unknown name raises ``ValueError``."""
    check_removed(f'--expert {name}')
    try:
        return EXPERTS[name]
    except KeyError:
        raise ValueError(f'expert must be one of {expert_names()}, got {name!r}') from None
