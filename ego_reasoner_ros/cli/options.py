# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Command-line options filled into the configuration dataclasses, one rule for all.

A command declares, beside its parser, an :class:`OptionMap`: the fields of its dataclass
whose value is computed from other options (``derived``: field -> the option dests it
reads), the fields no option sets (``internal``) and the options that are not part of the
dataclass (``extra``). Every other field takes the option of the same ``dest``.
:func:`fill` builds the dataclass that way, and :func:`check_option_map` (run by the tests)
holds a parser and its map against the dataclass, in both directions.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

#: Dests argparse itself adds, never options of a command.
_ARGPARSE_DESTS = frozenset({'help', 'func'})


@dataclass(frozen=True)
class OptionMap:
    """How a command's options fill its dataclass.

    Attributes:
        config: the dataclass.
        derived: field -> the option dests its value is computed from (or renamed from).
        internal: fields no option sets (the dataclass default is used).
        extra: option dests that do not fill the dataclass (another mode of the command).
    """

    config: type
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    internal: frozenset[str] = frozenset()
    extra: frozenset[str] = frozenset()

    def direct(self) -> list[str]:
        """The fields that take the option of the same dest."""
        return [f.name for f in fields(self.config)
                if f.name not in self.derived and f.name not in self.internal]


def fill(options: OptionMap, args: argparse.Namespace, **derived: Any) -> Any:
    """Build ``options.config`` from parsed ``args``; ``derived`` gives the derived fields.

    Raises:
        TypeError: when ``derived`` does not give exactly the fields the map declares
            (a programming error, caught by the tests).
    """
    if set(derived) != set(options.derived):
        raise TypeError(f'{options.config.__name__}: derived fields given '
                        f'{sorted(derived)}, declared {sorted(options.derived)}')
    values = {name: getattr(args, name) for name in options.direct()}
    return options.config(**values, **derived)


def option_dests(parser: argparse.ArgumentParser) -> set[str]:
    """The dests of every option and positional of ``parser`` (not subcommands)."""
    return {a.dest for a in parser._actions  # noqa: SLF001 - argparse has no public list
            if a.dest not in _ARGPARSE_DESTS and not isinstance(a, argparse._SubParsersAction)}


def check_option_map(parser: argparse.ArgumentParser, options: OptionMap) -> list[str]:
    """Problems between a parser and its map: a field without an option, an unused option."""
    dests = option_dests(parser)
    names = {f.name for f in fields(options.config)}
    problems = []
    for name in options.direct():
        if name not in dests:
            problems.append(f'{options.config.__name__}.{name}: no option and not declared '
                            'derived or internal')
    for name in set(options.derived) | set(options.internal):
        if name not in names:
            problems.append(f'{name}: declared but not a field of {options.config.__name__}')
    sources: set[str] = set()
    for name, reads in options.derived.items():
        for dest in reads:
            if dest not in dests:
                problems.append(f'{options.config.__name__}.{name} reads {dest!r}, not an option')
        sources.update(reads)
    used = set(options.direct()) | sources | set(options.extra)
    for dest in sorted(dests - used):
        problems.append(f'option {dest!r} fills no field of {options.config.__name__} and is '
                        'not declared extra')
    return problems


def dests_of(actions: Iterable[argparse.Action]) -> frozenset[str]:
    """The dests of some actions (for ``extra`` sets built from an argument group)."""
    return frozenset(a.dest for a in actions)
