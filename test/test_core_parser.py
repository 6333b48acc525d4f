# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Tests of the model-output parser (ego_reasoner_ros.core.parser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_paths import ER_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, Action, Verb
from ego_reasoner_ros.core.object_matcher import ObjectMatcher
from ego_reasoner_ros.core.parser import (
    InvalidOutput,
    InvalidReason,
    ParsedAction,
    ParserMode,
    extract_thought,
    format_decision,
    parse_action,
)

STRICT, LENIENT = ParserMode.STRICT, ParserMode.LENIENT
KITCHEN = [
    "Apple", "Bowl", "Bread", "ButterKnife", "Cabinet", "CoffeeMachine", "CounterTop", "Cup",
    "Drawer", "Egg", "Faucet", "Floor", "Fork", "Fridge", "GarbageCan", "Knife", "Lettuce",
    "LightSwitch", "Microwave", "Mug", "Pan", "PepperShaker", "Plate", "Pot", "Potato",
    "SaltShaker", "Sink", "SinkBasin", "Spatula", "Spoon", "StoveBurner", "StoveKnob",
    "Toaster", "Tomato", "Window",
]


def dm(body: str) -> str:
    return f"<DecisionMaking>{body}</DecisionMaking>"


def parsed(text: str, mode=STRICT, types=KITCHEN) -> ParsedAction:
    result = parse_action(text, types, mode)
    assert isinstance(result, ParsedAction), result
    return result


def invalid(text: str, mode=STRICT, types=KITCHEN) -> InvalidOutput:
    result = parse_action(text, types, mode)
    assert isinstance(result, InvalidOutput), result
    assert result.message.strip()
    return result


def _data_root() -> Path | None:
    root = ER_DATA
    return root if (root / "scenes").is_dir() else None


def _scene_type_lists() -> list[list[str]]:
    root = _data_root()
    if root is None:
        pytest.skip("Embodied-Reasoner data not found (set EGO_REASONER_DATA)")
    lists = []
    for path in sorted((root / "scenes").glob("*/*/metadata.json")):
        meta = json.loads(path.read_text())
        lists.append(list(dict.fromkeys(o["objectType"] for o in meta[0]["objects"])))
    if not lists:
        pytest.skip("no scene metadata under the data folder")
    return lists


# ------------------------------------------------------------------ strict: the reference


def test_strict_canonical_decision_is_exact():
    thought = "<Thinking>The apple is on the counter.</Thinking>"
    result = parsed(thought + dm("navigate to CounterTop"))
    assert result.action == Action(Verb.NAVIGATE_TO, "CounterTop")
    assert result.decision_text == "navigate to CounterTop"
    assert result.matched_by == "exact"


def test_strict_is_case_sensitive_but_lenient_is_not():
    text = dm("Navigate to CounterTop")
    bad = invalid(text, STRICT)
    assert bad.reason is InvalidReason.UNKNOWN_VERB and bad.verb is None
    assert bad.decision_text == "Navigate to CounterTop"
    assert parsed(text, LENIENT).action == Action(Verb.NAVIGATE_TO, "CounterTop")
    assert invalid("<decisionmaking>end</decisionmaking>", STRICT).reason is (
        InvalidReason.NO_DECISION_TAG
    )
    assert parsed("<decisionmaking>end</decisionmaking>", LENIENT).action == Action(Verb.END)


def test_strict_takes_the_first_block_and_lenient_the_last():
    text = dm("navigate to Fridge") + " then " + dm("open Fridge")
    assert parsed(text, STRICT).action == Action(Verb.NAVIGATE_TO, "Fridge")
    assert parsed(text, LENIENT).action == Action(Verb.OPEN, "Fridge")


def test_lenient_skips_empty_trailing_blocks():
    text = dm("pickup Apple") + dm("  ")
    assert parsed(text, LENIENT).action == Action(Verb.PICKUP, "Apple")
    assert invalid(dm("") + dm(" "), LENIENT).reason is InvalidReason.EMPTY_DECISION


def test_strict_decision_must_be_on_one_line():
    multi = "<DecisionMaking>\nnavigate to Sink\n</DecisionMaking>"
    assert invalid(multi, STRICT).reason is InvalidReason.NO_DECISION_TAG
    assert parsed(multi, LENIENT).action == Action(Verb.NAVIGATE_TO, "Sink")
    # The non-DOTALL search skips the multi-line block and finds a later single-line one.
    assert parsed(multi + dm("open Fridge"), STRICT).action == Action(Verb.OPEN, "Fridge")


def test_put_in_anywhere_wins_in_strict():
    result = parsed(dm("pickup Apple and put in Fridge"))
    assert result.action == Action(Verb.PUT_IN, "Fridge")
    assert result.matched_by == "last_token"
    # The last token is the object even when the sentence means something else.
    assert parsed(dm("navigate to the Fridge to put in the Apple")).action == Action(
        Verb.PUT_IN, "Apple"
    )
    # Lenient needs the verb at the start.
    assert parsed(dm("pickup Apple and put in Fridge"), LENIENT).action == Action(
        Verb.PICKUP, "Apple"
    )


def test_put_versus_put_in():
    assert parsed(dm("put Fridge")).action == Action(Verb.PUT, "Fridge")
    assert parsed(dm("put in Fridge")).action == Action(Verb.PUT_IN, "Fridge")
    assert parsed(dm("put in Fridge")).action.metric_key == "put Fridge"
    assert parsed(dm("put in Fridge"), LENIENT).action == Action(Verb.PUT_IN, "Fridge")
    assert parsed(dm("put into the Fridge"), LENIENT).action == Action(Verb.PUT, "Fridge")


def test_last_token_must_be_an_exact_type():
    result = parsed(dm("navigate to the CounterTop"))
    assert (result.action.target, result.matched_by) == ("CounterTop", "last_token")
    # Reference quirk: the last token wins over the grammar.
    assert parsed(dm("pickup the Apple from the CounterTop")).action == Action(
        Verb.PICKUP, "CounterTop"
    )
    assert parsed(dm("pickup the Apple from the CounterTop"), LENIENT).action == Action(
        Verb.PICKUP, "Apple"
    )
    # Unicode whitespace is stripped from the last token, like Python's str.strip.
    assert parsed(dm("navigate to CounterTop\u3000")).matched_by == "last_token"


def test_trailing_punctuation_and_lower_case_go_to_the_matcher_in_strict():
    for body in ["navigate to CounterTop.", "navigate to countertop", "navigate to\tCounterTop"]:
        result = parsed(dm(body))
        assert (result.action.target, result.matched_by) == ("CounterTop", "matcher"), body
    assert parsed(dm("navigate to the Counter Top.")).action.target == "CounterTop"


def test_missing_or_unknown_object_is_a_failed_step():
    for body in ["pickup", "navigate to", "open the thing"]:
        bad = invalid(dm(body))
        assert bad.reason is InvalidReason.UNKNOWN_OBJECT
        assert bad.verb is not None and bad.executed_as_failure
    bad = invalid(dm("pickup Television"))
    assert bad.verb is Verb.PICKUP and bad.decision_text == "pickup Television"
    assert invalid(dm("open"), LENIENT).reason is InvalidReason.UNKNOWN_OBJECT


def test_init_is_accepted_and_prefixes_decide_the_verb():
    assert parsed(dm("init")).action == Action(Verb.INIT)
    assert parsed(dm("initialize the robot")).action == Action(Verb.INIT)
    assert parsed(dm("endless")).action == Action(Verb.END)  # startswith, like the reference
    assert parsed(dm("observe the room")).action == Action(Verb.OBSERVE)
    assert parsed(dm("move forward 0.5 m")).matched_by == "none"


def test_objectless_prefix_with_put_in_gets_no_object():
    bad = invalid(dm("observe and put in Fridge"))
    assert bad.reason is InvalidReason.UNKNOWN_OBJECT and bad.verb is Verb.PUT_IN


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
def test_text_without_tags(mode):
    for text in ["navigate to CounterTop", "", "DecisionMaking: end", "<Thinking>x</Thinking>"]:
        bad = invalid(text, mode)
        assert bad.reason is InvalidReason.NO_DECISION_TAG
        assert bad.decision_text is None and not bad.executed_as_failure


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
def test_empty_decision(mode):
    for body in ["", "   "]:
        assert invalid(dm(body), mode).reason is InvalidReason.EMPTY_DECISION


def test_unknown_verbs():
    for body in ["error", "fly to CounterTop", " navigate to CounterTop", "Pickup Apple"]:
        assert invalid(dm(body)).reason is InvalidReason.UNKNOWN_VERB, body
    assert invalid(dm("I think the apple is in the fridge"), LENIENT).reason is (
        InvalidReason.UNKNOWN_VERB
    )


def test_nested_and_duplicated_tags():
    nested = "<DecisionMaking>" + dm("navigate to Sink") + "</DecisionMaking>"
    assert invalid(nested, STRICT).reason is InvalidReason.UNKNOWN_VERB
    assert parsed(nested, LENIENT).action == Action(Verb.NAVIGATE_TO, "Sink")
    assert parsed(dm("open Fridge") + dm("open Fridge")).action == Action(Verb.OPEN, "Fridge")


def test_unclosed_tag_is_read_only_in_lenient():
    text = "I see the fridge.\n<DecisionMaking>open Fridge<|im_end|>\nextra words"
    assert invalid(text, STRICT).reason is InvalidReason.NO_DECISION_TAG
    result = parsed(text, LENIENT)
    assert result.action == Action(Verb.OPEN, "Fridge")


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
def test_non_string_outputs(mode):
    for value in [None, b"<DecisionMaking>end</DecisionMaking>", 3, ["end"]]:
        bad = parse_action(value, KITCHEN, mode)
        assert isinstance(bad, InvalidOutput) and bad.reason is InvalidReason.NOT_TEXT


def test_bad_arguments_raise():
    with pytest.raises(TypeError):
        parse_action(dm("end"), "CounterTop")
    with pytest.raises(TypeError):
        parse_action(dm("end"), ["Apple", 3])
    with pytest.raises(ValueError):
        parse_action(dm("end"), KITCHEN, "sloppy")
    assert parsed(dm("end"), "lenient").action == Action(Verb.END)


def test_invalid_scene_types_are_ignored():
    types = ["", "Counter\nTop", " Apple", "Apple", "Apple"]
    assert parsed(dm("pickup Apple"), types=types).action.target == "Apple"
    assert invalid(dm("navigate to Counter"), types=types).reason is InvalidReason.UNKNOWN_OBJECT


def test_empty_scene_gives_unknown_object():
    assert invalid(dm("navigate to CounterTop"), types=[]).reason is InvalidReason.UNKNOWN_OBJECT
    assert parsed(dm("end"), types=[]).action == Action(Verb.END)


# ------------------------------------------------------------------ lenient


@pytest.mark.parametrize(
    "body, expected",
    [
        ("navigate to the Counter Top.", ("navigate to", "CounterTop")),
        ("Navigate to the countertops", ("navigate to", "CounterTop")),
        ("navigate to counter-top!", ("navigate to", "CounterTop")),
        ("**navigate to** `CounterTop`", ("navigate to", "CounterTop")),
        ('"navigate to CounterTop"', ("navigate to", "CounterTop")),
        ("Action: navigate to the sink basin", ("navigate to", "SinkBasin")),
        ("1. go to the sink", ("navigate to", "Sink")),
        ("Navigate Fridge", ("navigate to", "Fridge")),
        ("I will pick up the butter knife.", ("pickup", "ButterKnife")),
        ("pick the knife", ("pickup", "Knife")),
        ("Pickup an apple", ("pickup", "Apple")),
        ("put the Apple in the Fridge.", ("put", "Fridge")),
        ("place the apple on the counter top", ("put", "CounterTop")),
        ("put on CounterTop", ("put", "CounterTop")),
        ("turn off the light switch", ("toggle", "LightSwitch")),
        ("switch on the faucet", ("toggle", "Faucet")),
        ("Toggle StoveKnob", ("toggle", "StoveKnob")),
        ("open the refrigerator", ("open", "Fridge")),
        ("close drawers", ("close", "Drawer")),
        ("move_forward", ("move forward", None)),
        ("move ahead.", ("move forward", None)),
        ("look around", ("observe", None)),
        ("Done.", ("end", None)),
        ("finish", ("end", None)),
        ("<b>END</b>", ("end", None)),
    ],
)
def test_lenient_variants(body, expected):
    action = parsed(dm(body), LENIENT).action
    assert (action.verb.value, action.target) == expected


def test_lenient_tag_spelling_and_menu_echo():
    text = (
        "Format: <DecisionMaking>navigate to CounterTop</DecisionMaking>.\n"
        "My choice:\n<Decision Making>\n  open the fridge\n</Decision Making>"
    )
    assert parsed(text, LENIENT).action == Action(Verb.OPEN, "Fridge")
    assert parsed(text, STRICT).action == Action(Verb.NAVIGATE_TO, "CounterTop")


# ------------------------------------------------------------------ matcher


def test_matcher_prefers_the_most_specific_type():
    matcher = ObjectMatcher(KITCHEN)
    assert matcher.match("the butter knife") == ("ButterKnife", 1.0)
    assert matcher.match("a knife") == ("Knife", 1.0)
    assert matcher.match("knives") == ("Knife", 1.0)
    assert matcher.match("sink basin")[0] == "SinkBasin"
    assert matcher.match("sink")[0] == "Sink"
    assert matcher.match("ButterKnife")[0] == "ButterKnife"


def test_matcher_position_preference():
    matcher = ObjectMatcher(KITCHEN)
    assert matcher.match("apple on the counter top")[0] == "Apple"
    assert matcher.match("apple on the counter top", prefer="last")[0] == "CounterTop"
    with pytest.raises(ValueError):
        matcher.match("apple", prefer="middle")


def test_matcher_fuzzy_stage_and_threshold():
    matcher = ObjectMatcher(KITCHEN)
    name, score = matcher.match("the fridg")
    assert name == "Fridge" and 0.6 <= score < 1.0
    assert matcher.match("teh countertp")[0] == "CounterTop"
    name, score = matcher.match("a television")
    assert name is None and 0.0 <= score < 0.6
    assert matcher.match("")[0] is None
    strict_matcher = ObjectMatcher(KITCHEN, threshold=1.0)
    assert strict_matcher.match("the fridg")[0] is None
    assert strict_matcher.match("the fridges")[0] == "Fridge"
    result = parse_action(dm("open the fridg"), KITCHEN, STRICT, matcher=strict_matcher)
    assert isinstance(result, InvalidOutput) and result.reason is InvalidReason.UNKNOWN_OBJECT


def test_matcher_ties_follow_scene_order():
    assert ObjectMatcher(["Countertop", "CounterTop"]).match("counter top")[0] == "Countertop"
    assert ObjectMatcher(["CounterTop", "Countertop"]).match("counter top")[0] == "CounterTop"
    # Equal fuzzy scores: the earlier type in the scene wins.
    red_first = ObjectMatcher(["RedTable", "OakTable"], threshold=0.5).match("table")
    oak_first = ObjectMatcher(["OakTable", "RedTable"], threshold=0.5).match("table")
    assert red_first[0] == "RedTable" and oak_first[0] == "OakTable"
    assert red_first[1] == oak_first[1] < 1.0


def test_matcher_arguments():
    assert ObjectMatcher(["Apple", "Apple", "Bowl"]).types == ("Apple", "Bowl")
    assert ObjectMatcher([]).match("apple") == (None, 0.0)
    with pytest.raises(TypeError):
        ObjectMatcher("Apple")
    with pytest.raises(TypeError):
        ObjectMatcher([1])
    with pytest.raises(ValueError):
        ObjectMatcher(["Apple"], threshold=0.0)
    with pytest.raises(ValueError):
        ObjectMatcher(["Apple"], max_tokens=0)


def test_matcher_long_text_is_bounded():
    matcher = ObjectMatcher(KITCHEN, max_tokens=8)
    text = "word " * 50 + "apple"
    assert matcher.match(text)[0] is None
    assert matcher.match(text, prefer="last")[0] == "Apple"


# ------------------------------------------------------------------ thought, format, records


def test_extract_thought():
    text = "  <Observation>I see a fridge.</Observation>\n" + dm("open Fridge") + " tail"
    assert extract_thought(text) == "<Observation>I see a fridge.</Observation>"
    assert extract_thought("no tag at all ") == "no tag at all"
    assert extract_thought("think <decisionmaking>end") == "think <decisionmaking>end"
    assert extract_thought("think <decisionmaking>end", LENIENT) == "think"
    assert extract_thought(None) == ""


def test_format_decision():
    assert format_decision(Action(Verb.NAVIGATE_TO, "CounterTop")) == (
        "<DecisionMaking>navigate to CounterTop</DecisionMaking>"
    )
    assert format_decision(Action(Verb.END)) == "<DecisionMaking>end</DecisionMaking>"
    with pytest.raises(TypeError):
        format_decision("end")


def _all_actions(types):
    for verb in Verb:
        for target in [None] if verb in OBJECTLESS_VERBS else types:
            yield Action(verb, target)


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
def test_format_decision_round_trip(mode):
    for action in _all_actions(KITCHEN):
        result = parse_action("Thought.\n" + format_decision(action), KITCHEN, mode)
        assert isinstance(result, ParsedAction) and result.action == action, (action, result)
        assert result.matched_by == ("none" if action.target is None else "exact")


@pytest.mark.parametrize("mode", [STRICT, LENIENT])
def test_format_decision_round_trip_on_every_public_scene(mode):
    for types in _scene_type_lists():
        for action in _all_actions(types):
            result = parse_action(format_decision(action), types, mode)
            assert isinstance(result, ParsedAction) and result.action == action, action


@settings(max_examples=150, deadline=None, database=None)
@given(
    types=st.lists(st.from_regex(r"[A-Z][A-Za-z0-9]{0,12}", fullmatch=True), min_size=1,
                   max_size=12),
    verb=st.sampled_from(list(Verb)),
    index=st.integers(min_value=0, max_value=11),
    mode=st.sampled_from([STRICT, LENIENT]),
)
def test_round_trip_property(types, verb, index, mode):
    target = None if verb in OBJECTLESS_VERBS else types[index % len(types)]
    action = Action(verb, target)
    result = parse_action(format_decision(action), types, mode)
    assert isinstance(result, ParsedAction) and result.action == action


def test_records_validate_and_round_trip():
    ok = ParsedAction(Action(Verb.OPEN, "Fridge"), "open Fridge", "exact")
    assert ParsedAction.from_dict(json.loads(json.dumps(ok.to_dict()))) == ok
    bad = InvalidOutput(InvalidReason.UNKNOWN_OBJECT, "no such object", "open Car", Verb.OPEN)
    assert InvalidOutput.from_dict(json.loads(json.dumps(bad.to_dict()))) == bad
    assert InvalidOutput("no_decision_tag", "missing").reason is InvalidReason.NO_DECISION_TAG
    with pytest.raises(ValueError):
        InvalidOutput(InvalidReason.UNKNOWN_VERB, "  ")
    with pytest.raises(ValueError):
        InvalidOutput("bogus", "message")
    with pytest.raises(ValueError):
        ParsedAction(Action(Verb.OPEN, "Fridge"), "open Fridge", "guess")
    with pytest.raises(ValueError):
        ParsedAction(Action(Verb.END), "end", "exact")
    with pytest.raises(ValueError):
        ParsedAction(Action(Verb.OPEN, "Fridge"), "open Fridge", "none")
