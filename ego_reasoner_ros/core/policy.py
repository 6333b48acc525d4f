# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The policy interface shared by model backends, baselines and the ROS reasoner node.

A :class:`Policy` turns the conversation so far into raw model text that contains
``<DecisionMaking>...</DecisionMaking>``; parsing and execution are the episode loop's job.
Policies are built from short specs such as ``"expert"``, ``"hf:/models/er-2b"`` or
``"openai:http://localhost:8000/v1#er-2b"``. The core only keeps the registry; the upper
floors register their factories at import time with :func:`register_policy`, so the core
never imports them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
import difflib
import inspect
import json
import logging
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.actions import Action
from ego_reasoner_ros.core.errors import EgoReasonerError
from ego_reasoner_ros.core.prompts import PromptConfig

logger = logging.getLogger(__name__)

PolicyFactory = Callable[..., 'Policy']


class PolicyError(EgoReasonerError, RuntimeError):
    """A policy could not produce an answer."""


class UnknownPolicyError(EgoReasonerError, ValueError):
    """A policy spec names no registered prefix."""


@dataclass
class PolicyInput:
    """What a policy sees before each decision.

    Attributes:
        messages: the full conversation so far (system, first turn, then alternating
            assistant replies and user turns), in the block format of
            :mod:`ego_reasoner_ros.core.prompts`.
        images: the current view(s): the frames of the last successful action, or the
            initial frames.
        instruction: the task instruction shown to the model.
        step: the number of steps executed so far (``init`` included).
        feedback: the feedback of the last executed action, if any.
        last_action: the last executed action, if any.
        last_success: whether it succeeded.
    """

    messages: list[dict]
    images: list
    instruction: str
    step: int
    feedback: str | None = None
    last_action: Action | None = None
    last_success: bool | None = None


class Policy(ABC):
    """Base class of every policy.

    Subclasses set ``name`` and implement :meth:`act`. Policies that need the exact world
    state (the scripted expert) set ``needs_world = True`` and receive it in :meth:`reset`.
    A policy never receives task metadata (key actions, target or related objects).
    A policy trained on one prompt wording sets ``prompt_config``; the episode loop then
    builds its conversation with it (None: the default :class:`PromptConfig`).
    """

    name: str = 'policy'
    needs_world: bool = False
    prompt_config: PromptConfig | None = None

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Start a new episode; the default does nothing."""
        del instruction, seed, world

    @abstractmethod
    def act(self, inp: PolicyInput) -> str:
        """Return the raw model text for the next decision."""

    def close(self) -> None:
        """Release resources (servers, GPU memory); the default does nothing."""
        return None

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PolicyWrapper(Policy):
    """A policy that hands every call to ``inner``; subclasses change what they need.

    ``name``, ``needs_world`` and ``prompt_config`` read through to the wrapped policy, and so
    does any other attribute the wrapper does not define (``needs_images``, ``last_result``),
    so a wrapper never drops a field the episode loop or the evaluator looks up.
    :meth:`reset`, :meth:`act` and :meth:`close` are forwarded unchanged.
    """

    def __init__(self, inner: Policy) -> None:
        if not isinstance(inner, Policy):
            raise TypeError(f'PolicyWrapper wraps a Policy, got {type(inner).__name__}')
        self.inner = inner

    @property
    def name(self) -> str:  # type: ignore[override]
        """The wrapped policy's name."""
        return self.inner.name

    @property
    def needs_world(self) -> bool:  # type: ignore[override]
        """Whether the wrapped policy needs the world state."""
        return self.inner.needs_world

    @property
    def prompt_config(self) -> PromptConfig | None:  # type: ignore[override]
        """The prompt wording the wrapped policy was trained on."""
        return self.inner.prompt_config

    def __getattr__(self, attr: str) -> Any:
        if attr == 'inner':  # not set yet (during unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Reset the wrapped policy."""
        self.inner.reset(instruction, seed=seed, world=world)

    def act(self, inp: PolicyInput) -> str:
        """Ask the wrapped policy."""
        return self.inner.act(inp)

    def close(self) -> None:
        """Close the wrapped policy."""
        self.inner.close()


class ScriptedPolicy(Policy):
    """Replay a fixed list of model outputs, one per call (tests and ROS graph checks).

    Args:
        outputs: the texts to return, in order.
        when_exhausted: returned once ``outputs`` run out; ``None`` raises :class:`PolicyError`.
        name: the policy name recorded in episodes.

    The inputs it received are kept in ``self.seen``; :meth:`reset` rewinds the script.
    """

    def __init__(self, outputs: Sequence[str], *, when_exhausted: str | None = None,
                 name: str = 'scripted') -> None:
        if isinstance(outputs, str) or not isinstance(outputs, Sequence):
            raise TypeError('outputs must be a sequence of strings')
        bad = [i for i, text in enumerate(outputs) if not isinstance(text, str)]
        if bad:
            raise TypeError(f'outputs must be strings; items {bad} are not')
        self.outputs = list(outputs)
        self.when_exhausted = when_exhausted
        self.name = name
        self.seen: list[PolicyInput] = []
        self._next = 0

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Rewind to the first output and forget the inputs seen."""
        del instruction, seed, world
        self._next = 0
        self.seen = []

    def act(self, inp: PolicyInput) -> str:
        """Return the next scripted output."""
        self.seen.append(inp)
        if self._next < len(self.outputs):
            text = self.outputs[self._next]
            self._next += 1
            return text
        if self.when_exhausted is not None:
            return self.when_exhausted
        raise PolicyError(f'scripted policy {self.name!r} ran out of its '
                          f'{len(self.outputs)} outputs')


# ---------------------------------------------------------------------- registry
_REGISTRY: dict[str, PolicyFactory] = {}
#: ``check(arg, kwargs)`` per prefix: validates a spec without building the policy.
PolicyCheck = Callable[[str | None, dict[str, Any]], None]
_CHECKS: dict[str, PolicyCheck] = {}


class PolicyArgumentError(EgoReasonerError, ValueError):
    """A policy spec's argument or keyword arguments are not what the policy takes."""


def register_policy(name: str, factory: PolicyFactory | None = None, *,
                    check: PolicyCheck | None = None):
    """Register ``factory`` for specs ``"name"`` and ``"name:ARG"``.

    The factory is called as ``factory(arg, **kwargs)`` where ``arg`` is the text after the
    first ``":"`` (``None`` when there is none). Usable directly or as a decorator::

        @register_policy('expert')
        def _make_expert(arg, **kwargs): ...

    ``check(arg, kwargs)``, when given, validates a spec cheaply (without loading a model) and
    raises :class:`PolicyArgumentError` (or ``ValueError``) saying what to fix; commands run it
    through :func:`check_policy` before any case starts.

    Re-registering a name replaces the factory (with a debug log), so re-imports are harmless.

    Raises:
        ValueError: for an empty name or one containing ``":"``.
    """
    if not isinstance(name, str) or not name or ':' in name or name != name.strip():
        raise ValueError(f'policy name must be a non-empty string without ":", got {name!r}')

    def _register(fn: PolicyFactory) -> PolicyFactory:
        if not callable(fn):
            raise TypeError(f'policy factory for {name!r} must be callable')
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            logger.debug('replacing policy factory %r', name)
        _REGISTRY[name] = fn
        if check is not None:
            _CHECKS[name] = check
        else:
            _CHECKS.pop(name, None)
        return fn

    if factory is not None:
        return _register(factory)
    return _register


def unregister_policy(name: str) -> None:
    """Remove a registered prefix (tests); unknown names are ignored."""
    _REGISTRY.pop(name, None)
    _CHECKS.pop(name, None)


def keyword_names(*targets: Callable[..., Any]) -> set[str]:
    """The keyword parameters that ``targets`` (functions, classes, dataclasses) accept."""
    names: set[str] = set()
    for target in targets:
        fn = target.__init__ if inspect.isclass(target) else target
        for param in inspect.signature(fn).parameters.values():
            if param.name != 'self' and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                       param.KEYWORD_ONLY):
                names.add(param.name)
    return names


def check_keywords(spec: str, kwargs: Mapping[str, Any], accepted: Iterable[str]) -> None:
    """Raise :class:`PolicyArgumentError` naming every keyword of ``kwargs`` not accepted."""
    accepted = set(accepted)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            hints.append(f'{key!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
        raise PolicyArgumentError(
            f'policy {spec!r} does not take the argument(s) {", ".join(hints)}; it takes: '
            f'{", ".join(sorted(accepted)) or "none"}')


def check_policy(spec: str, kwargs: Mapping[str, Any] | None = None) -> None:
    """Validate ``spec`` and its keyword arguments without building the policy.

    Raises:
        UnknownPolicyError: no policy is registered for the prefix (the message lists the
            known ones and the closest match).
        PolicyArgumentError: the registered check rejected the argument or the keywords.
    """
    prefix, arg = split_spec(spec)
    if prefix not in _REGISTRY:
        raise UnknownPolicyError(_unknown_message(spec, prefix))
    check = _CHECKS.get(prefix)
    if check is not None:
        check(arg, dict(kwargs or {}))


def _unknown_message(spec: str, prefix: str) -> str:
    known = registered_policies()
    close = difflib.get_close_matches(prefix, known, n=1)
    hint = f' Did you mean {close[0]!r}?' if close else ''
    return (f'unknown policy spec {spec!r}: no policy is registered as {prefix!r}.{hint} '
            f'Known policies: {", ".join(known) or "(none)"} (model backends take a path or '
            'address: hf:PATH, openai:URL#MODEL, vllm:MODEL).')


def registered_policies() -> list[str]:
    """The registered prefixes, sorted."""
    return sorted(_REGISTRY)


def split_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"prefix:arg"`` at the first colon; ``"expert"`` gives ``("expert", None)``."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownPolicyError('policy spec must be a non-empty string such as "expert" '
                                 'or "hf:PATH"')
    prefix, sep, arg = spec.strip().partition(':')
    return prefix, (arg if sep else None)


def make_policy(spec: str, **kwargs: Any) -> Policy:
    """Build the policy named by ``spec`` (``"expert"``, ``"hf:PATH"``, ``"openai:URL#MODEL"``).

    Raises:
        UnknownPolicyError: if no factory is registered for the prefix; the message lists the
            known prefixes.
        TypeError: if the factory does not return a :class:`Policy`.
    """
    prefix, arg = split_spec(spec)
    factory = _REGISTRY.get(prefix)
    if factory is None:
        raise UnknownPolicyError(_unknown_message(spec, prefix) + (
            ' Backends of the training floor register themselves when '
            'ego_reasoner_ros.training.policies is imported.'))
    policy = factory(arg, **kwargs)
    if not isinstance(policy, Policy):
        raise TypeError(f'factory for {prefix!r} returned {type(policy).__name__}, '
                        'not a Policy')
    logger.debug('made policy %r from spec %r', policy.name, spec)
    return policy


def _make_scripted(arg: str | None, **kwargs: Any) -> ScriptedPolicy:
    """``scripted:FILE`` (a JSON list of strings) or ``scripted`` with ``outputs=[...]``."""
    if arg:
        path = Path(arg)
        try:
            outputs = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f'scripted policy file {path} must hold a JSON list of strings: '
                             f'{exc}') from exc
        if 'outputs' in kwargs:
            raise ValueError('give the outputs either as a file or as outputs=, not both')
        return ScriptedPolicy(outputs, **kwargs)
    if 'outputs' not in kwargs:
        raise ValueError('"scripted" needs outputs=[...] or a spec "scripted:FILE.json"')
    return ScriptedPolicy(**kwargs)


register_policy('scripted', _make_scripted)
