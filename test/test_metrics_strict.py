# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Strict goal predicates on hand-built final states, incl. where the ER metric disagrees."""

from __future__ import annotations

import pytest

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.goals import (
    Condition,
    capture_initial,
    check_goal,
    goal_for,
)
from ego_reasoner_ros.training.metrics import score_trajectory


class FakeWorld:
    """A tiny world: ids, parents, open/toggled flags, states, held object, visibility."""

    def __init__(self, parents, *, open_=(), toggled=(), held=None, visible=(), states=None):
        self.parents = dict(parents)
        self.open = set(open_)
        self.toggled = set(toggled)
        self.held = held
        self.visible = set(visible)
        self.states = {k: set(v) for k, v in (states or {}).items()}

    @property
    def objects(self):
        return list(self.parents)

    def objects_of_type(self, t):
        return [o for o in self.parents if o.split('|')[0] == t]

    def parent(self, oid):
        return self.parents.get(oid)

    def is_open(self, oid):
        return oid in self.open

    def is_toggled(self, oid):
        return oid in self.toggled

    def is_visible(self, oid):
        return oid in self.visible

    def in_reach(self, oid):
        return False

    def is_clean(self, oid):
        return 'clean' in self.states.get(oid, ())

    def is_cooked(self, oid):
        return 'cooked' in self.states.get(oid, ())

    def is_heated(self, oid):
        return 'heated' in self.states.get(oid, ())


def e(action, obj=None, success=1, legal=()):
    return {'action': action, 'object': obj, 'success': success, 'legal_objects': list(legal)}


KITCHEN = {'CounterTop|1': None, 'Fridge|1': None, 'Cabinet|1': None, 'Cabinet|2': None,
           'Apple|1': 'CounterTop|1', 'Cup|1': 'Cabinet|1', 'Plate|1': 'CounterTop|1'}


def test_pickup_then_dropped_elsewhere_passes_er_but_fails_strict():
    keys = ['navigate to CounterTop', 'pickup Apple', 'end']
    traj = [e('init'), e('navigate to', 'CounterTop'), e('pickup', 'Apple'),
            e('put', 'CounterTop'), e('end')]
    er = score_trajectory(traj, keys, tasktype='single_pickup', taskname='Take an Apple.')
    assert er.success == 1
    goal = goal_for('single_pickup', keys)
    final = FakeWorld(KITCHEN)  # the Apple went back on the CounterTop: not held
    result = check_goal(goal, final, capture_initial(FakeWorld(KITCHEN)))
    assert not result.success and result.failed == ('held(Apple)',)
    assert check_goal(goal, FakeWorld(KITCHEN, held='Apple|1')).success


def test_put_into_the_wrong_type_fails_strict():
    keys = ['navigate to CounterTop', 'pickup Apple', 'navigate to Fridge', 'open Fridge',
            'put Fridge', 'end']
    goal = goal_for('pickup_and_put_in_closerep', keys)
    assert [str(c) for c in goal.conditions] == ['inside(Apple, Fridge)']
    wrong = FakeWorld({**KITCHEN, 'Apple|1': 'Cabinet|2'}, open_={'Fridge|1', 'Cabinet|2'})
    assert not check_goal(goal, wrong).success
    right = FakeWorld({**KITCHEN, 'Apple|1': 'Fridge|1'}, open_={'Fridge|1'})
    assert check_goal(goal, right).success


def test_inside_is_type_level_any_instance_of_the_receptacle():
    keys = ['pickup Cup', 'put Cabinet', 'end']
    goal = goal_for('pickup_and_put', keys)
    other = FakeWorld({**KITCHEN, 'Cup|1': 'Cabinet|2'})
    assert check_goal(goal, other).success


def test_search_ended_without_seeing_the_object():
    keys = ['navigate to Cabinet', 'open Cabinet', 'end']
    goal = goal_for('single_search_from_closerep', keys, ['Cup|1'])
    assert goal.conditions == (Condition('found', 'Cup'),)
    # ER: the open counts and the end counts; the trajectory succeeds on key actions.
    traj = [e('init'), e('navigate to', 'Cabinet'), e('open', 'Cabinet'), e('end')]
    er = score_trajectory(traj, keys, tasktype='single_search_from_closerep',
                          taskname='Find the Cup.')
    assert er.success == 1
    assert not check_goal(goal, FakeWorld(KITCHEN, open_={'Cabinet|2'})).success
    assert check_goal(goal, FakeWorld(KITCHEN, visible={'Cup|1'})).success


def test_toggle_is_a_change_from_the_initial_state():
    start = FakeWorld({'Toaster|1': None, 'Toaster|2': None}, toggled={'Toaster|2'})
    initial = capture_initial(start)
    goal = goal_for('single_toggle', ['navigate to CounterTop', 'toggle Toaster', 'end'])
    assert not check_goal(goal, start, initial).success
    switched_off = FakeWorld({'Toaster|1': None, 'Toaster|2': None})
    assert check_goal(goal, switched_off, initial).success


def test_pickup_from_closerep_requires_closing_the_source():
    keys = ['navigate to Cabinet', 'open Cabinet', 'pickup Cup', 'close Cabinet', 'end']
    goal = goal_for('single_pickup_from_closerep', keys)
    assert [str(c) for c in goal.conditions] == ['held(Cup)', 'closed_source(Cup)']
    initial = capture_initial(FakeWorld(KITCHEN))
    left_open = FakeWorld({**KITCHEN, 'Cup|1': None}, held='Cup|1', open_={'Cabinet|1'})
    assert check_goal(goal, left_open, initial).failed == ('closed_source(Cup)',)
    closed = FakeWorld({**KITCHEN, 'Cup|1': None}, held='Cup|1', open_={'Cabinet|2'})
    assert check_goal(goal, closed, initial).success


def test_ordered_needs_both_placements():
    keys = ['pickup Cup', 'put GarbageCan', 'pickup Mug', 'put SinkBasin', 'end']
    goal = goal_for('ordered_pickup_two_object_and_put', keys)
    assert [str(c) for c in goal.conditions] == ['inside(Cup, GarbageCan)',
                                                 'inside(Mug, SinkBasin)']
    world = {'GarbageCan|1': None, 'SinkBasin|1': None, 'Cup|1': 'GarbageCan|1',
             'Mug|1': 'CounterTop|1', 'CounterTop|1': None}
    assert check_goal(goal, FakeWorld(world)).failed == ('inside(Mug, SinkBasin)',)


LONG = ['navigate to CounterTop', 'pickup Pan', 'navigate to StoveBurner', 'put StoveBurner',
        'navigate to Fridge', 'open Fridge', 'pickup Lettuce', 'close Fridge',
        'navigate to SinkBasin', 'put SinkBasin', 'toggle Faucet', 'pickup Lettuce',
        'navigate to StoveBurner', 'put Pan', 'toggle StoveBurner', 'pickup Lettuce',
        'navigate to Cabinet', 'open Cabinet', 'put Plate', 'end']


def test_long_range_goal_replays_the_final_effects():
    goal = goal_for('long-range tasks with dependency relationships', LONG)
    assert [str(c) for c in goal.conditions] == [
        'inside(Pan, StoveBurner)', 'inside(Lettuce, Plate)', 'clean(Lettuce)',
        'cooked(Lettuce)', 'closed_source(Lettuce)']
    parents = {'StoveBurner|1': None, 'Pan|1': 'StoveBurner|1', 'Plate|1': 'Cabinet|1',
               'Cabinet|1': None, 'Fridge|1': None, 'Lettuce|1': 'Plate|1',
               'Lettuce|2': 'Fridge|1'}
    initial = capture_initial(FakeWorld({**parents, 'Lettuce|1': 'Fridge|1',
                                         'Pan|1': 'Cabinet|1'}))
    # One lettuce is clean, the other one is cooked and on the plate: no single instance.
    split = FakeWorld(parents, open_={'Cabinet|1'},
                      states={'Lettuce|1': {'cooked'}, 'Lettuce|2': {'clean'}})
    assert not check_goal(goal, split, initial).success
    done = FakeWorld(parents, open_={'Cabinet|1'},
                     states={'Lettuce|1': {'clean', 'cooked'}})
    assert check_goal(goal, done, initial).success


def test_long_range_untyped_put_is_noted_and_unchecked():
    keys = ['pickup Potato', 'navigate to Microwave', 'open Microwave', 'put Microwave',
            'close Microwave', 'toggle Microwave', 'open Microwave', 'pickup Potato',
            'navigate to Sink', 'put', 'pickup Plate', 'put CounterTop', 'end']
    goal = goal_for('long-range tasks with dependency relationships', keys)
    assert [str(c) for c in goal.conditions] == ['heated(Potato)', 'inside(Plate, CounterTop)']
    assert any('untyped' in n for n in goal.notes)


def test_search_goal_needs_the_related_object():
    with pytest.raises(DataError):
        goal_for('single_search', ['navigate to Desk', 'end'], [])
