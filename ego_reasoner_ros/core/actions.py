# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The agent's action vocabulary: verbs, the ``Action`` value type and its canonical text form.

The canonical text of an action is the string the Embodied-Reasoner models emit inside
``<DecisionMaking>...</DecisionMaking>``: ``"navigate to CounterTop"``, ``"pickup Apple"``,
``"observe"``. :meth:`Action.parse_canonical` reads exactly that form and nothing else; free model
output goes through :func:`ego_reasoner_ros.core.parser.parse_action`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "OBJECTLESS_VERBS",
    "VERB_MENU_ORDER",
    "Action",
    "Verb",
    "as_action",
]


class Verb(StrEnum):
    """An action name as written by the model. Declared in the reference's menu order."""

    INIT = "init"
    NAVIGATE_TO = "navigate to"
    PICKUP = "pickup"
    PUT = "put"
    PUT_IN = "put in"
    TOGGLE = "toggle"
    OPEN = "open"
    CLOSE = "close"
    OBSERVE = "observe"
    MOVE_FORWARD = "move forward"
    END = "end"

    @property
    def needs_object(self) -> bool:
        """Whether the verb takes an object type."""
        return self not in OBJECTLESS_VERBS


#: Verbs that take no object.
OBJECTLESS_VERBS: frozenset[Verb] = frozenset(
    {Verb.INIT, Verb.OBSERVE, Verb.MOVE_FORWARD, Verb.END}
)

#: The order in which the reference tries ``raw.startswith(verb)``; "put" comes before "put in".
VERB_MENU_ORDER: tuple[Verb, ...] = tuple(Verb)

# Longest verb first, so that "put in X" reads as PUT_IN and never as PUT with target "in X".
_VERBS_LONGEST_FIRST: tuple[Verb, ...] = tuple(
    sorted(Verb, key=lambda v: len(v.value), reverse=True)
)
_BAD_TARGET_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def _coerce_verb(verb: Any) -> Verb:
    if isinstance(verb, Verb):
        return verb
    if isinstance(verb, str):
        try:
            return Verb(verb)
        except ValueError:
            known = ", ".join(repr(v.value) for v in Verb)
            raise ValueError(f"unknown verb {verb!r}; expected one of {known}") from None
    raise TypeError(f"verb must be a Verb or str, got {type(verb).__name__}")


@dataclass(frozen=True)
class Action:
    """One agent action: a verb and, for object verbs, an object type (AI2-THOR ``objectType``).

    Args:
        verb: a :class:`Verb` (its string value is accepted too).
        target: the object type; required for object verbs, must be ``None`` for
            :data:`OBJECTLESS_VERBS`. It must be non-empty, without leading or trailing
            whitespace and without newlines or other control characters.

    Raises:
        ValueError: for an unknown verb or a missing, superfluous or malformed target.
        TypeError: for a verb or target of the wrong type.
    """

    verb: Verb
    target: str | None = None

    def __post_init__(self) -> None:
        verb = _coerce_verb(self.verb)
        object.__setattr__(self, "verb", verb)
        target = self.target
        if verb in OBJECTLESS_VERBS:
            if target is not None:
                raise ValueError(f"verb {verb.value!r} takes no object, got target {target!r}")
            return
        if target is None:
            raise ValueError(f"verb {verb.value!r} needs an object type")
        if not isinstance(target, str):
            raise TypeError(f"target must be a str, got {type(target).__name__}")
        if not target.strip():
            raise ValueError(f"verb {verb.value!r} needs a non-empty object type")
        if target != target.strip():
            raise ValueError(f"target {target!r} has leading or trailing whitespace")
        if _BAD_TARGET_CHARS.search(target):
            raise ValueError(f"target {target!r} contains a newline or control character")
        if verb is Verb.PUT and (target == "in" or target.startswith("in ")):
            raise ValueError(
                f"'put' with target {target!r} would read back as 'put in'; use Verb.PUT_IN"
            )

    def __str__(self) -> str:
        if self.target is None:
            return self.verb.value
        return f"{self.verb.value} {self.target}"

    @property
    def metric_key(self) -> str:
        """The key-action string used by the ER metric: ``"put in X"`` counts as ``"put X"``."""
        if self.verb is Verb.PUT_IN:
            return f"{Verb.PUT.value} {self.target}"
        return str(self)

    @classmethod
    def parse_canonical(cls, text: str) -> Action:
        """Read the exact canonical form produced by ``str(action)``.

        No case folding, no trimming, no synonyms: ``"navigate to CounterTop"`` and ``"end"``
        parse, ``"Navigate to CounterTop"`` and ``" end"`` do not.

        Raises:
            TypeError: if ``text`` is not a str.
            ValueError: if ``text`` is not a canonical action string.
        """
        if not isinstance(text, str):
            raise TypeError(f"expected a str, got {type(text).__name__}")
        for verb in _VERBS_LONGEST_FIRST:
            if verb in OBJECTLESS_VERBS:
                if text == verb.value:
                    return cls(verb)
                continue
            prefix = verb.value + " "
            if text.startswith(prefix) and len(text) > len(prefix):
                try:
                    return cls(verb, text[len(prefix):])
                except ValueError as exc:
                    raise ValueError(f"not a canonical action string {text!r}: {exc}") from None
        if text in {v.value for v in Verb}:
            raise ValueError(f"not a canonical action string {text!r}: the verb needs an object")
        raise ValueError(
            f"not a canonical action string {text!r}: expected '<verb> <ObjectType>' or an "
            f"objectless verb, verbs: {', '.join(v.value for v in VERB_MENU_ORDER)}"
        )

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form: ``{"verb": "navigate to", "target": "CounterTop"}``."""
        return {"verb": self.verb.value, "target": self.target}

    def sim_verb(self) -> Verb:
        """The verb a simulator runs: ``put in`` is ``put`` (one placement rule)."""
        return Verb.PUT if self.verb is Verb.PUT_IN else self.verb

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        """Inverse of :meth:`to_dict`.

        Raises:
            TypeError: if ``data`` is not a mapping.
            ValueError: if a key is missing or unexpected, or the values are invalid.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a mapping, got {type(data).__name__}")
        extra = set(data) - {"verb", "target"}
        if extra:
            raise ValueError(f"unexpected action keys: {sorted(map(str, extra))}")
        if "verb" not in data:
            raise ValueError("action dict has no 'verb'")
        return cls(data["verb"], data.get("target"))


def as_action(value: Action | str) -> Action:
    """An :class:`Action`, or a canonical action string with its runs of whitespace collapsed.

    What a simulator backend's ``step`` accepts: ``"put in  Fridge "`` reads as
    ``Action(Verb.PUT_IN, "Fridge")``. Case is kept, like the reference.

    Raises:
        TypeError: for anything but an Action or a str.
        ValueError: for a string that is not a canonical action.
    """
    if isinstance(value, Action):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an Action or a str, got {type(value).__name__}")
    return Action.parse_canonical(" ".join(value.split()))
