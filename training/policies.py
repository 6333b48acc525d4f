# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Registers every policy: the scripted ones and the model backends.

Scripted: ``expert``, ``expert:RANK``, ``sweep``, ``sweep:P``, ``probe``, ``random``,
``heuristic``; model backends (registered by importing ``training.backends``): ``hf:``,
``openai:``, ``vllm:``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ego_reasoner_ros.core.policy import (
    PolicyArgumentError,
    check_keywords,
    keyword_names,
    register_policy,
)
from ego_reasoner_ros.training import backends  # noqa: F401  (registers hf/openai/vllm)
from ego_reasoner_ros.training.baselines import HeuristicPolicy, RandomPolicy
from ego_reasoner_ros.training.expert import ExpertPolicy


def _spec_option(kwargs: dict[str, Any], name: str, arg: str | None,
                 convert: Callable[[str], Any], usage: str) -> dict[str, Any]:
    """Set ``kwargs[name]`` from a spec's ``:ARG`` (unless given); bad text names ``usage``."""
    if arg:
        try:
            kwargs.setdefault(name, convert(arg))
        except ValueError:
            raise ValueError(f'{usage}, got {arg!r}') from None
    return kwargs


def _expert(arg: str | None, **kwargs: Any) -> ExpertPolicy:
    """``expert`` or ``expert:K`` (visit K plausible wrong receptacles first)."""
    return ExpertPolicy(**_spec_option(kwargs, 'search_rank', arg, int,
                                       'expert:K needs an integer K'))


def _sweep(arg: str | None, **kwargs: Any) -> Any:
    """``sweep`` or ``sweep:P`` (P = probability of a mistaken pickup at a wrong place)."""
    from ego_reasoner_ros.training.sweep import InstructionSweepPolicy

    return InstructionSweepPolicy(**_spec_option(kwargs, 'failure_prob', arg, float,
                                                 'sweep:P needs a probability P'))


def _probe(arg: str | None, **kwargs: Any) -> Any:
    """``probe``: the sweep expert deciding from the commands' outcomes (``search='probe'``)."""
    from ego_reasoner_ros.training.sweep import InstructionSweepPolicy

    if arg:
        raise ValueError(f'probe takes no argument, got {arg!r}')
    return InstructionSweepPolicy(search='probe', **kwargs)


def _look(arg: str | None, **kwargs: Any) -> Any:
    """``look`` or ``look:N``: the probe's places, acting only on what an N-pixel frame shows."""
    from ego_reasoner_ros.training.sweep import InstructionSweepPolicy

    return InstructionSweepPolicy(search='look', **_spec_option(
        kwargs, 'view_size', arg, int, 'look:N needs an integer frame size N'))


def _random(arg: str | None, **kwargs: Any) -> RandomPolicy:
    """``random`` or ``random:P`` (P = probability of ending at each step)."""
    return RandomPolicy(**_spec_option(kwargs, 'end_probability', arg, float,
                                       'random:P needs a probability P'))


def _heuristic(arg: str | None, **kwargs: Any) -> HeuristicPolicy:
    """``heuristic``."""
    del arg
    return HeuristicPolicy(**kwargs)


def _checker(name: str, target: Callable[[], Any], arg_type: Callable[[str], Any] | None,
             usage: str, *, drop: tuple[str, ...] = ()) -> Callable[[str | None, dict], None]:
    """A spec check: ``:ARG`` converts with ``arg_type`` and the keywords are ``target``'s."""

    def check(arg: str | None, kwargs: dict[str, Any]) -> None:
        if arg:
            if arg_type is None:
                raise PolicyArgumentError(f'{name} takes no argument, got {name}:{arg}')
            try:
                arg_type(arg)
            except ValueError:
                raise PolicyArgumentError(f'{usage}, got {arg!r}') from None
        check_keywords(name if not arg else f'{name}:{arg}', kwargs,
                       keyword_names(target()) - set(drop))

    return check


def _sweep_class() -> Any:
    from ego_reasoner_ros.training.sweep import InstructionSweepPolicy

    return InstructionSweepPolicy


register_policy('expert', _expert, check=_checker(
    'expert', lambda: ExpertPolicy, int, 'expert:K needs an integer K', drop=('rng',)))
register_policy('sweep', _sweep, check=_checker(
    'sweep', _sweep_class, float, 'sweep:P needs a probability P'))
register_policy('probe', _probe, check=_checker('probe', _sweep_class, None, '',
                                                drop=('search',)))
register_policy('look', _look, check=_checker(
    'look', _sweep_class, int, 'look:N needs an integer frame size N', drop=('search',)))
register_policy('random', _random, check=_checker(
    'random', lambda: RandomPolicy, float, 'random:P needs a probability P'))
register_policy('heuristic', _heuristic, check=_checker(
    'heuristic', lambda: HeuristicPolicy, None, ''))
