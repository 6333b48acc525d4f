# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The deterministic text -> scene type matcher of the action parser (:mod:`parser`).

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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ego_reasoner_ros.core.domain import camel_words

__all__ = ["DEFAULT_MATCH_THRESHOLD", "ObjectMatcher", "cached_matcher"]

#: Default acceptance threshold of :class:`ObjectMatcher`'s fuzzy stage.
DEFAULT_MATCH_THRESHOLD = 0.6

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
def cached_matcher(types: tuple[str, ...]) -> ObjectMatcher:
    """A shared matcher for one tuple of scene types (built once, kept for reuse)."""
    return ObjectMatcher(types)
