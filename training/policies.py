# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Registers every policy: the scripted ones and the model backends.

Scripted: ``expert``, ``expert:RANK``, ``random``, ``heuristic``, and the twins of the
sweep-based data-engine experts, registered from ``training/experts`` (``sweep``, ``sweep:P``,
``probe``, ``look``, ``look:N``); model backends (registered by importing
``training.backends``): ``hf:``, ``openai:``, ``vllm:``.
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
from ego_reasoner_ros.training.experts import EXPERTS, ExpertSpec


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


def _sweep_twin(spec: ExpertSpec) -> Callable[..., Any]:
    """The ``--policy`` factory of a sweep-based expert of the registry (``training/experts``).

    ``sweep`` / ``sweep:P`` (P = probability of a mistaken pickup at a wrong place), ``probe``
    (deciding from the commands' outcomes), ``look`` / ``look:N`` (the probe's places, acting
    only on what an N-pixel frame shows).
    """

    def make(arg: str | None, **kwargs: Any) -> Any:
        from ego_reasoner_ros.training.sweep import InstructionSweepPolicy

        if spec.policy_arg is None:
            if arg:
                raise ValueError(f'{spec.policy} takes no argument, got {arg!r}')
        else:
            _spec_option(kwargs, spec.policy_arg[0], arg, spec.policy_arg[1], spec.policy_arg[2])
        if spec.search == 'view':  # the default search; a policy argument may still set it
            return InstructionSweepPolicy(**kwargs)
        return InstructionSweepPolicy(search=spec.search, **kwargs)

    make.__doc__ = f'``{spec.policy}``: the instruction twin of ``--expert {spec.name}``.'
    return make


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
for _spec in EXPERTS.values():  # the sweep-based experts' twins, from the one registry
    if _spec.search is not None:
        _type, _usage = _spec.policy_arg[1:] if _spec.policy_arg else (None, '')
        register_policy(_spec.policy, _sweep_twin(_spec), check=_checker(
            _spec.policy, _sweep_class, _type, _usage,
            drop=() if _spec.search == 'view' else ('search',)))
register_policy('random', _random, check=_checker(
    'random', lambda: RandomPolicy, float, 'random:P needs a probability P'))
register_policy('heuristic', _heuristic, check=_checker(
    'heuristic', lambda: HeuristicPolicy, None, ''))
