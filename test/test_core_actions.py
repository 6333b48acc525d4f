# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Tests of the action vocabulary (ego_reasoner_ros.core.actions)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_reasoner_ros.core.actions import OBJECTLESS_VERBS, VERB_MENU_ORDER, Action, Verb

OBJECT_VERBS = [v for v in Verb if v not in OBJECTLESS_VERBS]
TYPES = ["CounterTop", "Apple", "ButterKnife", "TVStand", "CD", "SinkBasin", "Fridge"]
# CamelCase identifiers, like AI2-THOR object types.
camel_types = st.from_regex(r"[A-Z][A-Za-z0-9]{0,15}", fullmatch=True)


def test_verb_values_and_menu_order_match_the_reference():
    assert [v.value for v in VERB_MENU_ORDER] == [
        "init", "navigate to", "pickup", "put", "put in", "toggle", "open", "close",
        "observe", "move forward", "end",
    ]
    assert {v.value for v in OBJECTLESS_VERBS} == {"init", "observe", "move forward", "end"}
    assert isinstance(Verb.PUT_IN, str)
    assert str(Verb.NAVIGATE_TO) == "navigate to"
    assert Verb("move forward") is Verb.MOVE_FORWARD
    assert Verb.PICKUP.needs_object and not Verb.END.needs_object


def test_str_of_actions():
    assert str(Action(Verb.NAVIGATE_TO, "CounterTop")) == "navigate to CounterTop"
    assert str(Action(Verb.PUT_IN, "Fridge")) == "put in Fridge"
    assert str(Action(Verb.OBSERVE)) == "observe"
    assert str(Action(Verb.MOVE_FORWARD)) == "move forward"


def test_verb_given_as_string_is_coerced():
    action = Action("pickup", "Apple")
    assert action.verb is Verb.PICKUP
    assert action == Action(Verb.PICKUP, "Apple")
    assert hash(action) == hash(Action(Verb.PICKUP, "Apple"))


@pytest.mark.parametrize("verb", OBJECT_VERBS)
def test_object_verbs_need_a_target(verb):
    with pytest.raises(ValueError, match="needs an object"):
        Action(verb)
    for bad in ["", "   "]:
        with pytest.raises(ValueError, match="non-empty"):
            Action(verb, bad)
    for bad in ["Counter\nTop", "Apple\r", "A\x00pple"]:
        with pytest.raises(ValueError):
            Action(verb, bad)
    for bad in [" Apple", "Apple "]:
        with pytest.raises(ValueError, match="whitespace"):
            Action(verb, bad)
    with pytest.raises(TypeError):
        Action(verb, 3)


@pytest.mark.parametrize("verb", sorted(OBJECTLESS_VERBS))
def test_objectless_verbs_take_no_target(verb):
    assert Action(verb).target is None
    with pytest.raises(ValueError, match="takes no object"):
        Action(verb, "Apple")


def test_bad_verbs_are_rejected():
    with pytest.raises(ValueError, match="unknown verb"):
        Action("Navigate to", "CounterTop")
    with pytest.raises(ValueError, match="unknown verb"):
        Action("error")
    with pytest.raises(TypeError):
        Action(None, "Apple")


def test_put_with_a_target_that_reads_as_put_in_is_rejected():
    with pytest.raises(ValueError, match="PUT_IN"):
        Action(Verb.PUT, "in Fridge")
    with pytest.raises(ValueError, match="PUT_IN"):
        Action(Verb.PUT, "in")
    assert Action(Verb.PUT, "Inbox").target == "Inbox"


def test_actions_are_frozen():
    action = Action(Verb.OPEN, "Fridge")
    with pytest.raises(dataclasses.FrozenInstanceError):
        action.target = "Cabinet"


def test_metric_key_maps_put_in_to_put():
    assert Action(Verb.PUT_IN, "Fridge").metric_key == "put Fridge"
    assert Action(Verb.PUT, "Fridge").metric_key == "put Fridge"
    assert Action(Verb.NAVIGATE_TO, "Sink").metric_key == "navigate to Sink"
    assert Action(Verb.END).metric_key == "end"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("navigate to CounterTop", Action(Verb.NAVIGATE_TO, "CounterTop")),
        ("put in Fridge", Action(Verb.PUT_IN, "Fridge")),
        ("put Fridge", Action(Verb.PUT, "Fridge")),
        ("put Inbox", Action(Verb.PUT, "Inbox")),
        ("pickup Apple", Action(Verb.PICKUP, "Apple")),
        ("init", Action(Verb.INIT)),
        ("move forward", Action(Verb.MOVE_FORWARD)),
        ("end", Action(Verb.END)),
    ],
)
def test_parse_canonical_reads_the_canonical_form(text, expected):
    assert Action.parse_canonical(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Navigate to CounterTop",  # case-sensitive
        " navigate to CounterTop",  # no trimming
        "navigate to CounterTop ",
        "navigate to",  # object missing
        "navigate to ",
        "pickup",
        "end Apple",  # objectless verb with an object
        "observe the room",
        "go to CounterTop",  # synonyms are the lenient parser's job
        "navigate to Counter\nTop",
        "",
        "<DecisionMaking>end</DecisionMaking>",
    ],
)
def test_parse_canonical_rejects_everything_else(text):
    with pytest.raises(ValueError, match="canonical"):
        Action.parse_canonical(text)


def test_parse_canonical_rejects_non_strings():
    with pytest.raises(TypeError):
        Action.parse_canonical(b"end")


def test_dict_round_trip_through_json():
    for action in [Action(Verb.PUT_IN, "Fridge"), Action(Verb.OBSERVE)]:
        data = json.loads(json.dumps(action.to_dict()))
        assert Action.from_dict(data) == action
    assert Action(Verb.OPEN, "Drawer").to_dict() == {"verb": "open", "target": "Drawer"}
    assert Action.from_dict({"verb": "end"}) == Action(Verb.END)


def test_from_dict_rejects_bad_input():
    with pytest.raises(ValueError, match="no 'verb'"):
        Action.from_dict({"target": "Apple"})
    with pytest.raises(ValueError, match="unexpected"):
        Action.from_dict({"verb": "end", "object": "Apple"})
    with pytest.raises(TypeError):
        Action.from_dict(["end"])
    with pytest.raises(ValueError):
        Action.from_dict({"verb": "fly", "target": "Apple"})


@pytest.mark.parametrize("verb", list(Verb))
def test_str_and_parse_canonical_round_trip_for_every_verb(verb):
    targets = [None] if verb in OBJECTLESS_VERBS else TYPES
    for target in targets:
        action = Action(verb, target)
        assert Action.parse_canonical(str(action)) == action
        assert Action.from_dict(action.to_dict()) == action


@settings(database=None)
@given(verb=st.sampled_from(OBJECT_VERBS), target=camel_types)
def test_round_trip_property(verb, target):
    action = Action(verb, target)
    assert Action.parse_canonical(str(action)) == action


@settings(database=None)
@given(text=st.text(max_size=40))
def test_parse_canonical_only_raises_value_error(text):
    try:
        action = Action.parse_canonical(text)
    except ValueError as exc:
        assert "canonical" in str(exc)
    else:
        assert str(action) == text
