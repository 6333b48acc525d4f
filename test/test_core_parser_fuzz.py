# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Fuzz tests of the model-output parser: garbage in, a well-formed verdict out, never a raise."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, Action, Verb
from ego_reasoner_ros.core.parser import (
    _lenient_blocks,
    _strict_block,
    InvalidOutput,
    InvalidReason,
    ParsedAction,
    ParserMode,
    extract_thought,
    format_decision,
    parse_action,
)

SCENES = [
    [
        "Apple", "Bowl", "ButterKnife", "Cabinet", "CounterTop", "Drawer", "Faucet", "Fridge",
        "GarbageCan", "Knife", "LightSwitch", "Microwave", "Mug", "Pan", "Pot", "Potato",
        "Sink", "SinkBasin", "StoveBurner", "StoveKnob", "Toaster", "Tomato",
    ],
    ["Bed", "Book", "CD", "CellPhone", "Desk", "DeskLamp", "Desktop", "Pen", "Pencil", "Pillow"],
    ["Toilet", "ToiletPaper", "ToiletPaperHanger", "Towel", "TowelHolder", "Mirror", "Plunger"],
    ["Sofa", "TVStand", "Television", "RemoteControl", "Boots", "Blinds", "Curtains", "Box"],
    ["Ünïcode", "Object7", "X", "Caf\u00e9Table", "\u6905\u5b50"],
    [],
]
FRAGMENTS = [
    "<DecisionMaking>", "</DecisionMaking>", "<decisionmaking>", "</decisionMaking>",
    "<Decision Making>", "</ DecisionMaking >", "<", ">", "</", "DecisionMaking", "\n", " ",
    "  ", "\t", "**", "`", "'", '"', ".", ",", "!", "-", "_", "<|im_end|>", "<b>", "</b>",
    "the", "a", "an", "in", "on", "into", "I will", "Action:", "1.", "\u3000", "\r\n",
    "navigate", "to", "go to", "pick up", "put", "put in", "place", "turn on", "switch off",
    "look around", "move ahead", "done", "error", "Navigate to", "PICKUP", "counter top",
    "countertops", "butter knife", "knives", "fridg", "refrigerator", "0.5m", "\x00", "\ud800",
] + [v.value for v in Verb] + sorted({t for scene in SCENES for t in scene})
REAL_OUTPUTS = [
    "<Observation>I see a kitchen with a fridge.</Observation><Planning>First check the "
    "counter.</Planning><DecisionMaking>navigate to CounterTop</DecisionMaking>",
    "<Thinking>The apple is not here.</Thinking>\n<DecisionMaking>observe</DecisionMaking>",
    "<Reflection>I was wrong.</Reflection><DecisionMaking>open Fridge</DecisionMaking>",
    "<DecisionMaking>put in Microwave</DecisionMaking>",
    "<DecisionMaking>pickup ButterKnife</DecisionMaking>",
    "<Verification>Done.</Verification><DecisionMaking>end</DecisionMaking>",
    "<DecisionMaking>toggle LightSwitch</DecisionMaking>",
    "<DecisionMaking>move forward</DecisionMaking>",
]
NEAR_MISSES = [
    "<DecisionMaking>navigate to the Counter Top.</DecisionMaking>",
    "<DecisionMaking>Navigate to CounterTop</DecisionMaking>",
    "<DecisionMaking> navigate to CounterTop </DecisionMaking>",
    "<DecisionMaking>navigate to CounterTop",
    "<DecisionMaking>\nnavigate to CounterTop\n</DecisionMaking>",
    "<DecisionMaking>navigate to counter-tops!</DecisionMaking>",
    "<DecisionMaking>pick up the butter knife.</DecisionMaking>",
    "<DecisionMaking>put the Apple into the Fridge</DecisionMaking>",
    "<DecisionMaking>\"end\"</DecisionMaking>",
    "<decisionmaking>**open** the `Fridge`</decisionmaking>",
    "<DecisionMaking></DecisionMaking><DecisionMaking>end</DecisionMaking>",
    "<DecisionMaking><DecisionMaking>end</DecisionMaking></DecisionMaking>",
    "DecisionMaking>navigate to CounterTop</DecisionMaking>",
    "<DecisionMaking>navigate to CounterTop<DecisionMaking>",
    "<DecisionMaking>observe and put in Fridge</DecisionMaking>",
    "<DecisionMaking>navigate to</DecisionMaking>",
    "<DecisionMaking>open</DecisionMaking>",
    "<DecisionMaking>pickup Television</DecisionMaking>",
]


def _random_bytes(rng: random.Random) -> str:
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
    return data.decode(rng.choice(["utf-8", "latin-1", "utf-16-le"]), errors="replace")


def _random_unicode(rng: random.Random) -> str:
    size = rng.randrange(0, 80)
    return "".join(chr(rng.randrange(0x110000)) for _ in range(size))


def _fragments(rng: random.Random) -> str:
    return "".join(rng.choice(FRAGMENTS) + rng.choice(["", " ", ""]) for _ in range(
        rng.randrange(1, 25)))


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(chars) + 1)
        if op == 0:
            chars.insert(pos, rng.choice(FRAGMENTS))
        elif op == 1 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 2 and chars:
            chars[min(pos, len(chars) - 1)] = chr(rng.randrange(32, 0x3000))
        elif op == 3 and chars:
            i = min(pos, len(chars) - 1)
            chars[i] = chars[i].swapcase()
        elif op == 4:
            start = rng.randrange(len(chars) + 1)
            chars[pos:pos] = chars[start:start + rng.randrange(1, 30)]
        else:
            chars[pos:pos] = list(rng.choice(REAL_OUTPUTS + NEAR_MISSES))
    return "".join(chars)


def _valid_output(rng: random.Random, types: list[str]) -> str:
    verb = rng.choice(list(Verb))
    if verb not in OBJECTLESS_VERBS and not types:
        verb = Verb.END
    target = None if verb in OBJECTLESS_VERBS else rng.choice(types)
    return rng.choice(["", "<Thinking>hmm</Thinking>\n"]) + format_decision(Action(verb, target))


def _long(rng: random.Random) -> str:
    unit = rng.choice(FRAGMENTS + REAL_OUTPUTS + NEAR_MISSES)
    body = (unit + rng.choice(["", " ", "\n"])) * rng.randrange(50, 1000)
    head = rng.choice(["", "<DecisionMaking>", "<DecisionMaking>navigate to "])
    return head + body + rng.choice(["", "</DecisionMaking>"])


def _corpus(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    makers = [_random_bytes, _random_unicode, _fragments, _fragments, _long]
    out: list[str] = list(NEAR_MISSES) + list(REAL_OUTPUTS)
    while len(out) < count:
        pick = rng.randrange(10)
        if pick < 5:
            out.append(makers[pick](rng))
        elif pick < 8:
            out.append(_mutate(rng, rng.choice(REAL_OUTPUTS + NEAR_MISSES)))
        elif pick == 8:
            out.append(_valid_output(rng, rng.choice(SCENES)))
        else:
            out.append(_mutate(rng, _valid_output(rng, rng.choice(SCENES))))
    return out


def _check(result: object, types: list[str]) -> str:
    if isinstance(result, InvalidOutput):
        assert isinstance(result.reason, InvalidReason)
        assert result.reason is not InvalidReason.PARSER_ERROR, result.message
        assert isinstance(result.message, str) and result.message.strip()
        assert result.decision_text is None or isinstance(result.decision_text, str)
        assert result.verb is None or isinstance(result.verb, Verb)
        return result.reason.value
    assert isinstance(result, ParsedAction), type(result)
    action = result.action
    if action.verb in OBJECTLESS_VERBS:
        assert action.target is None and result.matched_by == "none"
    else:
        assert action.target in types and result.matched_by in ("exact", "last_token", "matcher")
    return "parsed"


def test_fuzz_parser_never_raises_and_returns_valid_verdicts():
    corpus = _corpus(seed=20260107, count=10_500)
    assert len(corpus) >= 10_000
    rng = random.Random(7)
    tally: Counter[str] = Counter()
    for text in corpus:
        types = rng.choice(SCENES)
        for mode in ParserMode:
            tally[_check(parse_action(text, types, mode), types)] += 1
        assert isinstance(extract_thought(text), str)
    # The corpus really exercises every outcome, not just one failure path.
    for outcome in ["parsed", "no_decision_tag", "empty_decision", "unknown_verb",
                    "unknown_object"]:
        assert tally[outcome] > 0, tally


def test_fuzz_parser_is_deterministic():
    for text in _corpus(seed=99, count=300):
        for mode in ParserMode:
            assert parse_action(text, SCENES[0], mode) == parse_action(text, SCENES[0], mode)


@pytest.mark.parametrize("mode", list(ParserMode))
def test_fuzz_very_long_outputs(mode):
    huge = "<DecisionMaking>navigate to " + "counter top butter knife " * 20_000
    for text in [huge, huge + "</DecisionMaking>", "x" * 500_000, "<DecisionMaking>" * 20_000]:
        _check(parse_action(text, SCENES[0], mode), SCENES[0])


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("<>/ DecisionMaking\n\t.\"'*-_ntpuoeCTF")) | st.characters(),
        max_size=120,
    ),
    scene=st.sampled_from(range(len(SCENES))),
    mode=st.sampled_from(list(ParserMode)),
)
def test_hypothesis_parser_never_raises(text, scene, mode):
    _check(parse_action(text, SCENES[scene], mode), SCENES[scene])
    _check(parse_action(f"<DecisionMaking>{text}</DecisionMaking>", SCENES[scene], mode),
           SCENES[scene])


def test_linear_tag_scanners_agree_with_the_regexes():
    strict = re.compile(r"<DecisionMaking>(.*?)</DecisionMaking>")
    tag = r"decision[\s_-]*making"
    lenient = re.compile(rf"<\s*{tag}\s*>(.*?)<\s*/\s*{tag}\s*>", re.I | re.S)
    rng = random.Random(3)
    for _ in range(3000):
        text = _fragments(rng) if rng.random() < 0.7 else _mutate(rng, rng.choice(NEAR_MISSES))
        found = strict.search(text)
        assert _strict_block(text) == (None if found is None else found.group(1)), text
        assert _lenient_blocks(text) == [m.group(1) for m in lenient.finditer(text)], text
