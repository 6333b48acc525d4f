# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Turn raw model output into an :class:`~ego_reasoner_ros.core.actions.Action`.

:func:`parse_action` never raises for any ``text``; it returns a :class:`ParsedAction` or an
:class:`InvalidOutput` that says why the output was rejected.

Strict mode (the default) reproduces the Embodied-Reasoner evaluator (``macth_action_item``):

1. ``raw`` is the first non-greedy match of ``<DecisionMaking>(.*?)</DecisionMaking>``,
   case-sensitive and without DOTALL, so a decision that spans lines does not match.
2. Verb: ``"put in"`` anywhere in ``raw`` gives ``put in``; otherwise the first verb that ``raw``
   starts with, in the menu order init, navigate to, pickup, put, put in, toggle, open, close,
   observe, move forward, end (so ``"Navigate to X"`` is invalid and ``"endX"`` is ``end``).
3. Object: none for init, observe, move forward and end. Otherwise the last ``" "``-separated
   token of ``raw`` (stripped) if it is exactly one of the scene's types; else the
   :class:`ObjectMatcher` on the whole stripped ``raw``; if that finds nothing the result is
   ``InvalidOutput(UNKNOWN_OBJECT, verb=...)``, which the episode loop executes as a failed step
   like the reference's ``"No Suitable Object"``. The reference quirk is kept: the last token wins
   over the verb's grammar (``"pickup the Apple from the CounterTop"`` picks up ``CounterTop``).
   A decision that starts with an objectless verb but contains ``"put in"`` gets no object in
   the reference; here it is ``UNKNOWN_OBJECT`` with verb ``put in``.

The object matcher (:class:`~ego_reasoner_ros.core.object_matcher.ObjectMatcher`, and how it
differs from the reference's embedding match) lives in :mod:`object_matcher`.

Lenient mode is for weaker or untrained models (and for reading data written by hand):

- tag names are case-insensitive and may span lines; the *last* non-empty ``DecisionMaking``
  block is used (models sometimes echo the menu's example block before deciding); a final
  opening tag without a closing tag takes the first non-empty line after it;
- markdown, quotes, brackets, inner tags, list markers, labels ("Action:"), a few fillers
  ("I will", "let me"), trailing punctuation and leading articles are dropped;
- verb synonyms: navigate (to), go to; pick up, pick; put into/on/onto, place (in/on) -> ``put``
  ("put in" stays ``put in``); turn/switch on/off -> ``toggle``; look around -> ``observe``;
  move ahead -> ``move forward``; done, finish -> ``end``. The verb must open the decision.
- for ``put``/``put in`` the object is the phrase after the last in/into/on/onto/inside
  ("put the Apple in the Fridge" -> ``put Fridge``), and the last mention wins in the matcher.

Both modes read back :func:`format_decision` output unchanged for every action whose target is a
whitespace-free scene type.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, VERB_MENU_ORDER, Action, Verb
from ego_reasoner_ros.core.object_matcher import ObjectMatcher, cached_matcher

__all__ = [
    "MATCHED_BY",
    "InvalidOutput",
    "InvalidReason",
    "ParsedAction",
    "ParserMode",
    "extract_thought",
    "format_decision",
    "parse_action",
]

logger = logging.getLogger(__name__)

DECISION_OPEN = "<DecisionMaking>"
DECISION_CLOSE = "</DecisionMaking>"

#: Allowed values of :attr:`ParsedAction.matched_by`.
MATCHED_BY = frozenset({"exact", "last_token", "matcher", "none"})


class ParserMode(StrEnum):
    """How tolerant :func:`parse_action` is."""

    STRICT = "strict"
    LENIENT = "lenient"


class InvalidReason(StrEnum):
    """Why an output did not yield an action."""

    NOT_TEXT = "not_text"
    NO_DECISION_TAG = "no_decision_tag"
    EMPTY_DECISION = "empty_decision"
    UNKNOWN_VERB = "unknown_verb"
    UNKNOWN_OBJECT = "unknown_object"
    PARSER_ERROR = "parser_error"


@dataclass(frozen=True)
class ParsedAction:
    """A successfully parsed decision.

    Attributes:
        action: the action to execute.
        decision_text: the text inside the DecisionMaking tags that was used.
        matched_by: how the object was found: ``"exact"`` (the decision is exactly
            ``"<verb> <Type>"``), ``"last_token"`` (its last token is a type), ``"matcher"``
            (:class:`ObjectMatcher`), ``"none"`` (objectless verb).
    """

    action: Action
    decision_text: str
    matched_by: str

    def __post_init__(self) -> None:
        if not isinstance(self.action, Action):
            raise TypeError(f"action must be an Action, got {type(self.action).__name__}")
        if not isinstance(self.decision_text, str):
            raise TypeError("decision_text must be a str")
        if self.matched_by not in MATCHED_BY:
            raise ValueError(f"matched_by must be one of {sorted(MATCHED_BY)}")
        if (self.matched_by == "none") != (self.action.verb in OBJECTLESS_VERBS):
            raise ValueError(
                f"matched_by 'none' is for objectless verbs only, got {self.matched_by!r} "
                f"for {self.action}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "action": self.action.to_dict(),
            "decision_text": self.decision_text,
            "matched_by": self.matched_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParsedAction:
        """Inverse of :meth:`to_dict`."""
        return cls(Action.from_dict(data["action"]), data["decision_text"], data["matched_by"])


@dataclass(frozen=True)
class InvalidOutput:
    """A model output that yields no executable action (or, for UNKNOWN_OBJECT, a failed one).

    Attributes:
        reason: the category.
        message: a human-readable explanation (also useful as model feedback).
        decision_text: the DecisionMaking content, if a tag was found.
        verb: the verb, if one was recognised.
    """

    reason: InvalidReason
    message: str
    decision_text: str | None = None
    verb: Verb | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", InvalidReason(self.reason))
        if self.verb is not None:
            object.__setattr__(self, "verb", Verb(self.verb))
        if not isinstance(self.message, str) or not self.message.strip():
            raise ValueError("InvalidOutput needs a non-empty message")
        if self.decision_text is not None and not isinstance(self.decision_text, str):
            raise TypeError("decision_text must be a str or None")

    @property
    def executed_as_failure(self) -> bool:
        """True when the reference would still execute (and fail) the step.

        That is the case for a recognised verb whose object is not in the scene.
        """
        return self.reason is InvalidReason.UNKNOWN_OBJECT and self.verb is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "reason": self.reason.value,
            "message": self.message,
            "decision_text": self.decision_text,
            "verb": None if self.verb is None else self.verb.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvalidOutput:
        """Inverse of :meth:`to_dict`."""
        return cls(
            InvalidReason(data["reason"]),
            data["message"],
            data.get("decision_text"),
            None if data.get("verb") is None else Verb(data["verb"]),
        )



# --------------------------------------------------------------------------- strict mode

# Prefixes for which the reference sets the item to None before looking at the verb.
_STRICT_NO_ITEM_PREFIXES = ("end", "observe", "move forward", "error")


def _strict_verb(raw: str) -> Verb | None:
    if Verb.PUT_IN.value in raw:
        return Verb.PUT_IN
    for verb in VERB_MENU_ORDER:
        if raw.startswith(verb.value):
            return verb
    return None


def _strict_block(text: str) -> str | None:
    """``re.search(r"<DecisionMaking>(.*?)</DecisionMaking>", text).group(1)`` in linear time.

    The regex itself is quadratic on outputs with many unclosed tags.
    """
    start = text.find(DECISION_OPEN)
    while start >= 0:
        body = start + len(DECISION_OPEN)
        close = text.find(DECISION_CLOSE, body)
        if close < 0:
            return None
        newline = text.find("\n", body, close)
        if newline < 0:
            return text[body:close]
        start = text.find(DECISION_OPEN, newline)
    return None


def _parse_strict(
    text: str, types: tuple[str, ...], matcher: ObjectMatcher
) -> ParsedAction | InvalidOutput:
    raw = _strict_block(text)
    if raw is None:
        return InvalidOutput(
            InvalidReason.NO_DECISION_TAG,
            f"no single-line {DECISION_OPEN}...{DECISION_CLOSE} block in the output",
        )
    if not raw.strip():
        return InvalidOutput(InvalidReason.EMPTY_DECISION, "the decision block is empty", raw)
    verb = _strict_verb(raw)
    if verb is None:
        return InvalidOutput(
            InvalidReason.UNKNOWN_VERB,
            f"decision {raw[:80]!r} does not start with an action from the menu "
            f"({', '.join(v.value for v in VERB_MENU_ORDER)}; case-sensitive)",
            raw,
        )
    if verb in OBJECTLESS_VERBS:
        return ParsedAction(Action(verb), raw, "none")
    if raw.startswith(_STRICT_NO_ITEM_PREFIXES):
        return InvalidOutput(
            InvalidReason.UNKNOWN_OBJECT,
            f"decision {raw[:80]!r} reads as '{verb.value}' but starts with an objectless verb, "
            "so it carries no object",
            raw,
            verb,
        )
    last = raw.split(" ")[-1].strip()
    if last in types:
        how = "exact" if raw == f"{verb.value} {last}" else "last_token"
        return ParsedAction(Action(verb, last), raw, how)
    prefer = "last" if verb in (Verb.PUT, Verb.PUT_IN) else "first"
    name, score = matcher.match(raw.strip(), prefer=prefer)
    if name is None:
        return InvalidOutput(
            InvalidReason.UNKNOWN_OBJECT,
            f"no object type of the scene matches {raw[:80]!r} (best score {score:.2f})",
            raw,
            verb,
        )
    return ParsedAction(Action(verb, name), raw, "matcher")


# --------------------------------------------------------------------------- lenient mode

_TAG_NAME = r"decision[\s_-]*making"
_LENIENT_OPEN = re.compile(rf"<\s*{_TAG_NAME}\s*>", re.I)
_LENIENT_CLOSE = re.compile(rf"<\s*/\s*{_TAG_NAME}\s*>", re.I)
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]{0,40}\|>|</?[A-Za-z][\w\s=\"'-]{0,40}>")
_NOISE_CHARS = re.compile(r"[*`\"“”‘’#~\[\](){}<>|\\]")
_LONE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_LIST_MARKER = re.compile(r"^(?:[-•+]|\d+[.)])\s+")
_LABEL = re.compile(
    r"^(?:(?:final|next|my)\s+)?(?:action|decision|decision\s*making|answer)\s*[:=-]\s*", re.I
)
_FILLER = re.compile(
    r"^(?:i\s+will|i'll|i\s+should|i\s+need\s+to|i\s+want\s+to|let\s+me|let's|now|next|then|"
    r"so|ok|okay)\b[\s,:]*",
    re.I,
)
_ARTICLES = re.compile(r"^(?:(?:the|a|an)\s+)+", re.I)
_PUT_PREPOSITION = re.compile(r"\b(?:in|into|on|onto|inside)\b", re.I)

_LENIENT_VERBS: dict[str, Verb] = {
    "init": Verb.INIT,
    "navigate to": Verb.NAVIGATE_TO,
    "navigate": Verb.NAVIGATE_TO,
    "go to": Verb.NAVIGATE_TO,
    "pickup": Verb.PICKUP,
    "pick up": Verb.PICKUP,
    "pick": Verb.PICKUP,
    "put in": Verb.PUT_IN,
    "put into": Verb.PUT,
    "put on": Verb.PUT,
    "put onto": Verb.PUT,
    "put": Verb.PUT,
    "place in": Verb.PUT,
    "place into": Verb.PUT,
    "place on": Verb.PUT,
    "place onto": Verb.PUT,
    "place": Verb.PUT,
    "toggle": Verb.TOGGLE,
    "turn on": Verb.TOGGLE,
    "turn off": Verb.TOGGLE,
    "switch on": Verb.TOGGLE,
    "switch off": Verb.TOGGLE,
    "open": Verb.OPEN,
    "close": Verb.CLOSE,
    "observe": Verb.OBSERVE,
    "look around": Verb.OBSERVE,
    "move forward": Verb.MOVE_FORWARD,
    "move ahead": Verb.MOVE_FORWARD,
    "end": Verb.END,
    "done": Verb.END,
    "finish": Verb.END,
}
_LENIENT_VERB_RE = re.compile(
    r"^("
    + "|".join(
        re.escape(p).replace(r"\ ", r"\s+")
        for p in sorted(_LENIENT_VERBS, key=len, reverse=True)
    )
    + r")(?![^\W_])",
    re.I,
)


def _clean_lenient(raw: str) -> str:
    s = _SPECIAL_TOKEN.sub(" ", raw)
    s = _NOISE_CHARS.sub(" ", s)
    s = _LONE_APOSTROPHE.sub(" ", s)
    s = " ".join(s.split())
    s = _LIST_MARKER.sub("", s)
    s = s.replace("_", " ").replace("-", " ")
    s = " ".join(s.split())
    for _ in range(4):
        before = s
        s = _LABEL.sub("", s)
        s = _FILLER.sub("", s)
        if s == before:
            break
    return s.rstrip(" .!?,;:").strip()


def _lenient_blocks(text: str) -> list[str]:
    """Contents of ``<tag>(.*?)</tag>`` (DOTALL, any case) left to right, in linear time."""
    closes = [(m.start(), m.end()) for m in _LENIENT_CLOSE.finditer(text)]
    blocks: list[str] = []
    index, pos = 0, 0
    for found in _LENIENT_OPEN.finditer(text):
        if found.start() < pos:
            continue
        index = bisect.bisect_left(closes, (found.end(), -1), lo=index)
        if index == len(closes):
            break
        blocks.append(text[found.end():closes[index][0]])
        pos = closes[index][1]
    return blocks


def _lenient_decision(text: str) -> str | None:
    """The decision text lenient mode reads, or None if there is no tag at all."""
    blocks = _lenient_blocks(text)
    for block in reversed(blocks):
        if _clean_lenient(block):
            return block.strip()
    if blocks:
        return ""
    opens = list(_LENIENT_OPEN.finditer(text))
    if not opens:
        return None
    tail = text[opens[-1].end():]
    for line in tail.splitlines():
        if _clean_lenient(line):
            return line.strip()
    return ""


def _find_type_exactly(phrase: str, types: tuple[str, ...]) -> str | None:
    if phrase in types:
        return phrase
    folded = phrase.casefold()
    for name in types:
        if name.casefold() == folded:
            return name
    return None


def _parse_lenient(
    text: str, types: tuple[str, ...], matcher: ObjectMatcher
) -> ParsedAction | InvalidOutput:
    decision = _lenient_decision(text)
    if decision is None:
        return InvalidOutput(
            InvalidReason.NO_DECISION_TAG,
            f"no {DECISION_OPEN} tag in the output (any case, any line)",
        )
    cleaned = _clean_lenient(decision)
    if not cleaned:
        return InvalidOutput(InvalidReason.EMPTY_DECISION, "the decision block is empty", decision)
    try:
        canonical = Action.parse_canonical(cleaned)
    except ValueError:
        canonical = None
    if canonical is not None and (canonical.target is None or canonical.target in types):
        return ParsedAction(canonical, decision, "none" if canonical.target is None else "exact")
    found = _LENIENT_VERB_RE.match(cleaned)
    if found is None:
        return InvalidOutput(
            InvalidReason.UNKNOWN_VERB,
            f"decision {cleaned[:80]!r} does not start with a known action "
            f"({', '.join(v.value for v in VERB_MENU_ORDER)})",
            decision,
        )
    verb = _LENIENT_VERBS[" ".join(found.group(1).lower().split())]
    if verb in OBJECTLESS_VERBS:
        return ParsedAction(Action(verb), decision, "none")
    phrase = _ARTICLES.sub("", cleaned[found.end():].strip(" ,:")).strip()
    is_put = verb in (Verb.PUT, Verb.PUT_IN)
    if is_put:
        parts = _PUT_PREPOSITION.split(phrase)
        receptacle = _ARTICLES.sub("", parts[-1].strip(" ,:")).strip()
        if len(parts) > 1 and receptacle:
            phrase = receptacle
    if not phrase:
        return InvalidOutput(
            InvalidReason.UNKNOWN_OBJECT,
            f"'{verb.value}' needs an object but the decision names none",
            decision,
            verb,
        )
    name = _find_type_exactly(phrase, types)
    if name is not None:
        return ParsedAction(Action(verb, name), decision, "exact")
    name, score = matcher.match(phrase, prefer="last" if is_put else "first")
    if name is None:
        return InvalidOutput(
            InvalidReason.UNKNOWN_OBJECT,
            f"no object type of the scene matches {phrase[:80]!r} (best score {score:.2f})",
            decision,
            verb,
        )
    return ParsedAction(Action(verb, name), decision, "matcher")


# --------------------------------------------------------------------------- public API


def _valid_types(scene_types: Iterable[str]) -> tuple[str, ...]:
    if isinstance(scene_types, str) or not isinstance(scene_types, Iterable):
        raise TypeError("scene_types must be a sequence of str (not a single str)")
    names = tuple(scene_types)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"scene types must be str, got {type(name).__name__}")
    return _usable_types(names)


@functools.lru_cache(maxsize=64)
def _usable_types(names: tuple[str, ...]) -> tuple[str, ...]:
    """Distinct names, in order, that are valid action targets."""
    unique: dict[str, None] = {}
    for name in names:
        try:
            Action(Verb.NAVIGATE_TO, name)
        except ValueError:
            logger.debug("ignoring scene type %r: not a valid action target", name)
            continue
        unique.setdefault(name, None)
    return tuple(unique)


def parse_action(
    text: str,
    scene_types: Sequence[str],
    mode: ParserMode | str = ParserMode.STRICT,
    *,
    matcher: ObjectMatcher | None = None,
) -> ParsedAction | InvalidOutput:
    """Parse one model output.

    Args:
        text: the raw model output. Anything that is not a str gives ``NOT_TEXT``.
        scene_types: the scene's object types (duplicates allowed; first appearance orders
            them). Types that are not valid action targets (empty, padded, multi-line) are
            ignored.
        mode: :class:`ParserMode` or its value.
        matcher: a custom :class:`ObjectMatcher` (for example another threshold); by default one
            is built (and cached) for ``scene_types``.

    Returns:
        :class:`ParsedAction`, whose target is always one of ``scene_types`` (or None for an
        objectless verb), or :class:`InvalidOutput`. Never raises because of ``text``.

    Raises:
        TypeError: if ``scene_types`` is a bare str or holds a non-str (a caller bug).
        ValueError: for an unknown ``mode``.
    """
    mode = ParserMode(mode)
    types = _valid_types(scene_types)
    if not isinstance(text, str):
        return InvalidOutput(
            InvalidReason.NOT_TEXT, f"model output must be a str, got {type(text).__name__}"
        )
    try:
        use = matcher if matcher is not None else cached_matcher(types)
        if mode is ParserMode.STRICT:
            return _parse_strict(text, types, use)
        return _parse_lenient(text, types, use)
    except Exception as exc:  # the contract is "never raises because of text"
        logger.exception("parser failed on a %d-character output", len(text))
        return InvalidOutput(InvalidReason.PARSER_ERROR, f"internal parser error: {exc!r}")


def extract_thought(text: str, mode: ParserMode | str = ParserMode.STRICT) -> str:
    """The text before the first ``<DecisionMaking>`` tag, stripped (all of it if none).

    Strict mode looks for the exact tag; lenient mode for any case and spacing of it.
    Returns ``""`` for a non-str.
    """
    if not isinstance(text, str):
        return ""
    if ParserMode(mode) is ParserMode.STRICT:
        index = text.find(DECISION_OPEN)
    else:
        found = _LENIENT_OPEN.search(text)
        index = -1 if found is None else found.start()
    return (text if index < 0 else text[:index]).strip()


def format_decision(action: Action) -> str:
    """``<DecisionMaking>navigate to CounterTop</DecisionMaking>`` for an action."""
    if not isinstance(action, Action):
        raise TypeError(f"expected an Action, got {type(action).__name__}")
    return f"{DECISION_OPEN}{action}{DECISION_CLOSE}"
