# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The contract shared by every simulator backend (gymnasium-style reset/step)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ego_reasoner_ros.core.actions import Action, as_action
from ego_reasoner_ros.core.errors import EgoReasonerError

class SimulatorUnavailableError(EgoReasonerError, RuntimeError):
    """The simulator cannot be started on this machine (for example no Unity build)."""


def read_action(action: Action | str) -> Action | None:
    """The core :class:`Action` a backend's ``step`` was given; None when it is malformed.

    Strings are canonical actions (:func:`~ego_reasoner_ros.core.actions.as_action`).
    """
    try:
        return as_action(action)
    except (TypeError, ValueError):
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
