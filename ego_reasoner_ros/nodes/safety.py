# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Safety gate of the action executor: allowlists, a rate limiter and human approval.

ROS-free. Model text is never executed: an action reaches a backend only as a
``(verb, target)`` pair from the fixed vocabulary that passed every check here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import threading
import time

from ego_reasoner_ros.core.actions import Action, Verb

Clock = Callable[[], float]

#: verbs that move or change the world (approval may be required for them on a robot)
MANIPULATION_VERBS = frozenset({'pickup', 'put', 'put in', 'toggle', 'open', 'close'})
#: verbs the gate knows beyond the core vocabulary: EB-ALFRED's slice skill has no core verb
EXTRA_VERBS = frozenset({'slice'})


@dataclass
class SafetyConfig:
    """Executor safety settings.

    Attributes:
        allowed_verbs: verbs that may run; empty means every verb of the vocabulary.
        allowed_objects: object types that may be targeted; empty means any object in scene.
        max_actions: at most this many actions per ``window_s`` (0 disables the limit).
        window_s: the rate-limit window in seconds.
        approval_verbs: verbs that wait for a human approval before they run.
        approval_timeout_s: how long to wait for approval before rejecting.
    """

    allowed_verbs: list[str] = field(default_factory=list)
    allowed_objects: list[str] = field(default_factory=list)
    max_actions: int = 0
    window_s: float = 60.0
    approval_verbs: list[str] = field(default_factory=list)
    approval_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        known = {v.value for v in Verb} | EXTRA_VERBS
        for name, verbs in (('allowed_verbs', self.allowed_verbs),
                            ('approval_verbs', self.approval_verbs)):
            bad = sorted(set(verbs) - known)
            if bad:
                raise ValueError(f'{name} has unknown verbs {bad}; known: {sorted(known)}')
        if self.max_actions < 0:
            raise ValueError(f'max_actions must be >= 0, got {self.max_actions}')
        if self.window_s <= 0:
            raise ValueError(f'window_s must be > 0, got {self.window_s}')
        if self.approval_timeout_s <= 0:
            raise ValueError(f'approval_timeout_s must be > 0, got {self.approval_timeout_s}')


@dataclass(frozen=True)
class Decision:
    """Outcome of a safety check."""

    ok: bool
    reason: str = ''


class RateLimiter:
    """Sliding-window limiter: at most ``max_events`` per ``window_s`` (0 = unlimited)."""

    def __init__(self, max_events: int, window_s: float, clock: Clock = time.monotonic) -> None:
        if max_events < 0 or window_s <= 0:
            raise ValueError('max_events must be >= 0 and window_s > 0')
        self.max_events, self.window_s, self._clock = max_events, window_s, clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Record an event and return True, or return False when the window is full."""
        if self.max_events == 0:
            return True
        with self._lock:
            now = self._clock()
            while self._events and now - self._events[0] >= self.window_s:
                self._events.popleft()
            if len(self._events) >= self.max_events:
                return False
            self._events.append(now)
            return True


class SafetyGate:
    """Allowlist and rate checks applied to every action before it runs."""

    def __init__(self, config: SafetyConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._verbs = set(config.allowed_verbs)
        self._objects = {o.lower() for o in config.allowed_objects}
        self._limiter = RateLimiter(config.max_actions, config.window_s, clock)

    def check(self, action: Action, scene_objects: Iterable[str] | None = None) -> Decision:
        """Check one action.

        Args:
            action: the parsed action (verb from the fixed vocabulary).
            scene_objects: object types present in the scene; when given, the target must
                be one of them (case-insensitive).
        """
        return self.check_parts(action.verb.value, action.target, scene_objects)

    def check_parts(self, verb: str, target: str | None,
                    scene_objects: Iterable[str] | None = None) -> Decision:
        """:meth:`check` of a ``(verb, target)`` pair (an EB-ALFRED skill's gate action)."""
        if self._verbs and verb not in self._verbs:
            return Decision(False, f'verb {verb!r} is not allowed')
        if target is not None:
            low = target.lower()
            if self._objects and low not in self._objects:
                return Decision(False, f'object {target!r} is not allowed')
            if scene_objects is not None:
                present = {o.lower() for o in scene_objects}
                if present and low not in present:
                    return Decision(False, f'object {target!r} is not in the scene')
        if verb not in ('end', 'init') and not self._limiter.try_acquire():
            return Decision(False, f'rate limit: more than {self.config.max_actions} actions '
                                   f'in {self.config.window_s:g} s')
        return Decision(True)

    def needs_approval(self, action: Action) -> bool:
        """Whether a human must approve this action first."""
        return self.needs_approval_verb(action.verb.value)

    def needs_approval_verb(self, verb: str) -> bool:
        """Whether a human must approve actions of ``verb`` first."""
        return verb in set(self.config.approval_verbs)


class ApprovalGate:
    """Waits for a human's yes/no on an action id; thread-safe.

    ``request(action_id)`` registers a pending approval, ``answer(action_id, approved)`` is
    called from the approval topic callback, ``wait(action_id, timeout)`` blocks the worker.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[str, bool | None] = {}
        self._cancelled = False

    def request(self, action_id: str) -> None:
        """Register a pending approval for ``action_id``."""
        with self._cond:
            self._pending[action_id] = None
            self._cancelled = False

    def answer(self, action_id: str, approved: bool) -> bool:
        """Record an answer; returns False when nothing is pending for ``action_id``."""
        with self._cond:
            if action_id not in self._pending:
                return False
            self._pending[action_id] = bool(approved)
            self._cond.notify_all()
            return True

    def cancel_all(self) -> None:
        """Reject every pending approval (e-stop)."""
        with self._cond:
            self._cancelled = True
            for key in self._pending:
                self._pending[key] = False
            self._cond.notify_all()

    def wait(self, action_id: str, timeout: float) -> bool:
        """Block until answered, cancelled or ``timeout``; True only for an approval."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending.get(action_id) is None and not self._cancelled:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return bool(self._pending.pop(action_id, False))
