# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The contract shared by every simulator backend (gymnasium-style reset/step)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ego_reasoner_ros.core.errors import EgoReasonerError

#: Canonical verbs, in the reference parser's order.
VERBS = (
    "init", "navigate to", "pickup", "put", "put in", "toggle", "open", "close", "observe",
    "move forward", "end",
)
OBJECTLESS = frozenset({"init", "observe", "move forward", "end"})


class SimulatorUnavailableError(EgoReasonerError, RuntimeError):
    """The simulator cannot be started on this machine (for example no Unity build)."""


def coerce_action(action: Any) -> tuple[str, str | None] | None:
    """(verb, target) from an ``Action``-like object or a canonical string; None if malformed.

    Strings are matched case-sensitively like the reference (``"navigate to Apple"``,
    ``"put in Fridge"`` -> ``("put", "Fridge")``); the object is the remaining text.
    """
    verb = getattr(action, "verb", None)
    if verb is not None:
        v = str(getattr(verb, "value", verb))
        t = getattr(action, "target", None)
        v = "put" if v == "put in" else v
        if v not in VERBS:
            return None
        if v in OBJECTLESS:
            return v, None
        return (v, str(t)) if t else None
    if not isinstance(action, str):
        return None
    s = " ".join(action.strip().split())
    for v in sorted(VERBS, key=len, reverse=True):
        if s == v or s.startswith(v + " "):
            rest = s[len(v):].strip()
            if v in OBJECTLESS:
                return (v, None) if not rest else None
            if not rest:
                return None
            return ("put" if v == "put in" else v), rest
    return None


class SimBackend(ABC):
    """One episode-at-a-time simulator.

    ``reset(options={"scene": ..., "task": {...}, "agent_positions": {...}})`` returns
    ``(obs, info)``; ``step(action)`` returns ``(obs, reward, terminated, truncated, info)``
    with ``obs = {"images": [HxWx3 uint8, ...]}`` (plus ``depth``/``instance_mask`` when
    enabled) and ``info`` holding ``success``, ``feedback``, ``legal_objects``,
    ``navigable_objects``, ``held``, ``error`` and ``action``. The reward is always 0.0.
    """

    @abstractmethod
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Load a scene and task and run ``init``."""

    @abstractmethod
    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Execute one action (an ``Action`` or a canonical string)."""

    @abstractmethod
    def scene_types(self) -> list[str]:
        """Distinct Types at reset in first-appearance order (hidden ones included)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources."""

    def __enter__(self) -> SimBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
