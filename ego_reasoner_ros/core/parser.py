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

How :class:`ObjectMatcher` differs from the reference's match. The reference embeds the whole
decision and every scene type with BAAI/bge-small-en-v1.5 and takes the arg-max of the cosine
similarity when it exceeds 0.2. bge similarities between short English phrases rarely fall under
0.2, so in practice it almost always names some type, even for text that mentions none. The
matcher here is deterministic and downloads nothing: it splits CamelCase, lower-cases, drops
punctuation and singularises simple plurals, then (a) looks for a type mentioned verbatim in that
normalised form, spacing ignored ("counter top", "countertops", "counter-top" all mean
``CounterTop``), preferring the longest mention ("butter knife" -> ``ButterKnife``, "knife" ->
``Knife``); (b) failing that, scores character-trigram Dice similarity and word overlap against
each type and accepts the best score at or above a threshold (0.6 by default). It has no notion
of synonyms beyond a few aliases (refrigerator -> fridge, couch -> sofa, trash -> garbage), so it
answers "no object" where the embedding would guess; both outcomes execute as a failed step.

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
from ego_reasoner_ros.core.domain import camel_words

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "MATCHED_BY",
    "InvalidOutput",
    "InvalidReason",
    "ObjectMatcher",
    "ParsedAction",
    "ParserMode",
    "extract_thought",
    "format_decision",
    "parse_action",
]

logger = logging.getLogger(__name__)

DECISION_OPEN = "<DecisionMaking>"
DECISION_CLOSE = "</DecisionMaking>"

#: Default acceptance threshold of :class:`ObjectMatcher`'s fuzzy stage.
DEFAULT_MATCH_THRESHOLD = 0.6

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


# --------------------------------------------------------------------------- normalisation

_WORD_RE = re.compile(r"[^\W_]+")
_TOKEN_ALIASES = {
    "refrigerator": "fridge",
    "couch": "sofa",
    "trash": "garbage",
    "trashcan": "garbagecan",
    "dustbin": "garbagecan",
}
# Words ignored by the matcher's fuzzy stage (never by the verbatim stage).
_STOPWORDS = frozenset(
    "a an the to in into on onto at of from with and or up down it its this that my your some "
    "navigate go pickup pick put place toggle turn open close observe move forward ahead end "
    "done finish init i will now then next near by inside off over under for look around".split()
)


def _singular(word: str) -> str:
    """Strip a simple English plural ending (``knives`` -> ``knife``, ``boxes`` -> ``box``)."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ives"):
        return word[:-3] + "fe"
    if word.endswith("lves"):
        return word[:-3] + "f"
    if word.endswith(("sses", "ches", "shes", "xes", "toes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    """Normalised words of ``text``: CamelCase split, lower-case, singular, aliased."""
    out: list[str] = []
    for piece in _WORD_RE.findall(text):
        parts = camel_words(piece) if piece.isascii() else [piece]
        for part in parts or [piece]:
            word = _singular(part.lower())
            out.append(_TOKEN_ALIASES.get(word, word))
    return out


def _trigrams(compact: str) -> frozenset[str]:
    padded = f" {compact} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


@dataclass(frozen=True)
class _TypeEntry:
    name: str
    order: int
    words: tuple[str, ...]
    compact: str
    grams: frozenset[str]


class ObjectMatcher:
    """Deterministic text -> scene type matcher (stands in for the reference's bge match).

    Args:
        types: the scene's object types; duplicates are dropped, first appearance sets the order
            used to break ties.
        threshold: minimum fuzzy score in [0, 1] to accept a type.
        max_tokens: at most this many words of a text are examined (the first ones, or the last
            ones when ``prefer="last"``); decisions are short, this bounds the cost of garbage.

    Raises:
        TypeError: if ``types`` is a bare str or contains a non-str.
        ValueError: if ``threshold`` is outside (0, 1] or ``max_tokens`` < 1.
    """

    def __init__(
        self,
        types: Iterable[str],
        threshold: float = DEFAULT_MATCH_THRESHOLD,
        max_tokens: int = 128,
    ) -> None:
        if isinstance(types, str):
            raise TypeError("types must be an iterable of str, not a single str")
        if not 0.0 < float(threshold) <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.threshold = float(threshold)
        self.max_tokens = int(max_tokens)
        unique: dict[str, None] = {}
        for t in types:
            if not isinstance(t, str):
                raise TypeError(f"object types must be str, got {type(t).__name__}")
            unique.setdefault(t, None)
        self._types: tuple[str, ...] = tuple(unique)
        self._entries: list[_TypeEntry] = []
        self._by_compact: dict[str, list[_TypeEntry]] = {}
        self._by_gram: dict[str, list[int]] = {}
        self._by_word: dict[str, list[int]] = {}
        for order, name in enumerate(self._types):
            words = tuple(_words(name))
            compact = "".join(words)
            if not compact:
                continue
            entry = _TypeEntry(name, order, words, compact, _trigrams(compact))
            index = len(self._entries)
            self._entries.append(entry)
            self._by_compact.setdefault(compact, []).append(entry)
            for gram in entry.grams:
                self._by_gram.setdefault(gram, []).append(index)
            for word in set(words):
                self._by_word.setdefault(word, []).append(index)
        self._max_words = max((len(e.words) for e in self._entries), default=1)

    @property
    def types(self) -> tuple[str, ...]:
        """The distinct types, in first-appearance order."""
        return self._types

    def match(self, text: str, *, prefer: str = "first") -> tuple[str | None, float]:
        """Best type for ``text`` and its score in [0, 1] (1.0 for a verbatim mention).

        Args:
            text: free text, e.g. a whole decision ``"navigate to the counter top."``.
            prefer: ``"first"`` or ``"last"``: which mention wins among equally specific ones.

        Returns:
            ``(type, score)``, or ``(None, best_score)`` when nothing reaches the threshold.
        """
        if prefer not in ("first", "last"):
            raise ValueError(f"prefer must be 'first' or 'last', got {prefer!r}")
        if not isinstance(text, str) or not self._entries:
            return None, 0.0
        limit = 64 * self.max_tokens  # characters; words past the limit are ignored anyway
        if len(text) > limit:
            text = text[:limit] if prefer == "first" else text[-limit:]
        words = _words(text)
        if len(words) > self.max_tokens:
            words = words[: self.max_tokens] if prefer == "first" else words[-self.max_tokens:]
        sign = 1 if prefer == "first" else -1

        # (a) verbatim mention, spacing ignored. A mention inside a longer one is dropped
        # ("butter knife" is ButterKnife, not Knife); then position decides, then scene order.
        mentions: list[tuple[int, int, _TypeEntry]] = []
        span_max = min(self._max_words + 1, len(words))
        for start in range(len(words)):
            for span in range(1, span_max + 1):
                if start + span > len(words):
                    break
                for entry in self._by_compact.get("".join(words[start:start + span]), ()):
                    mentions.append((start, start + span, entry))
        if mentions:
            outer = [
                m
                for m in mentions
                if not any(
                    o[0] <= m[0] and m[1] <= o[1] and o[1] - o[0] > m[1] - m[0] for o in mentions
                )
            ]
            start, end, entry = min(outer, key=lambda m: (sign * m[0], m[0] - m[1], m[2].order))
            return entry.name, 1.0

        # (b) fuzzy: character-trigram Dice or word overlap, over windows of content words.
        content = [w for w in words if w not in _STOPWORDS]
        best_score = 0.0
        best_name: str | None = None
        best_fuzzy: tuple[float, int, int] | None = None
        for start in range(len(content)):
            for span in range(1, min(self._max_words, 3) + 1):
                if start + span > len(content):
                    break
                window = content[start:start + span]
                grams = _trigrams("".join(window))
                counts: dict[int, int] = {}
                for gram in grams:
                    for index in self._by_gram.get(gram, ()):
                        counts[index] = counts.get(index, 0) + 1
                window_set = set(window)
                shared_words: dict[int, int] = {}
                for word in window_set:
                    for index in self._by_word.get(word, ()):
                        shared_words[index] = shared_words.get(index, 0) + 1
                for index in counts.keys() | shared_words.keys():
                    entry = self._entries[index]
                    dice = 2.0 * counts.get(index, 0) / (len(grams) + len(entry.grams))
                    overlap = shared_words.get(index, 0) / max(len(window_set), len(entry.words))
                    score = max(dice, overlap)
                    best_score = max(best_score, score)
                    key = (-score, sign * start, entry.order)
                    if score >= self.threshold and (best_fuzzy is None or key < best_fuzzy):
                        best_fuzzy, best_name = key, entry.name
        if best_fuzzy is not None:
            return best_name, -best_fuzzy[0]
        return None, best_score


@functools.lru_cache(maxsize=64)
def _cached_matcher(types: tuple[str, ...]) -> ObjectMatcher:
    return ObjectMatcher(types)


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
        use = matcher if matcher is not None else _cached_matcher(types)
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
