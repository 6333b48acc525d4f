# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The reference ER metric (er-protocol.md section 3) on hand-built trajectories."""

from __future__ import annotations

import pytest

from ego_reasoner_ros.core.errors import DataError
from ego_reasoner_ros.training.metrics import (
    GROUP_ORDER,
    TASK_GROUPS,
    aggregate,
    group_of,
    key_actions,
    score_trajectory,
    total_reward,
)


def e(action, obj=None, success=1, legal=()):
    return {'action': action, 'object': obj, 'success': success, 'legal_objects': list(legal)}


INIT = e('init')
PICKUP_KEYS = ['navigate to CounterTop', 'pickup Apple', 'end']
PUT_KEYS = ['navigate to CounterTop', 'pickup Apple', 'navigate to Fridge', 'open Fridge',
            'put Fridge', 'end']


def score(entries, keys, tasktype='single_pickup', taskname='Grab an Apple from the room.'):
    return score_trajectory(entries, keys, tasktype=tasktype, taskname=taskname)


def test_key_actions_strip_objectless_entries_and_total_skips_navigation():
    actions = [{'action': 'navigate to', 'objectType': 'CounterTop'},
               {'action': 'pickup', 'objectType': 'Apple'},
               {'action': 'observe', 'objectType': ''},
               {'action': 'end', 'objectType': ''}]
    keys = key_actions(actions)
    assert keys == ['navigate to CounterTop', 'pickup Apple', 'observe', 'end']
    assert total_reward(keys) == 2


def test_key_actions_reject_malformed_entries():
    with pytest.raises(DataError, match='key action 1'):
        key_actions([{'action': 'end'}, {'objectType': 'Apple'}])


def test_perfect_run_scores_success_and_efficiency_one():
    traj = [INIT, e('navigate to', 'CounterTop'), e('pickup', 'Apple'), e('end')]
    s = score(traj, PICKUP_KEYS)
    assert (s.reward, s.total, s.success, s.completeness) == (2, 2, 1, 1.0)
    assert s.efficiency == pytest.approx(1.0)


def test_order_of_key_actions_is_not_checked():
    # Put before the open, and the pickup last: the reference still counts all of them.
    traj = [INIT, e('put', 'Fridge'), e('pickup', 'Apple'), e('open', 'Fridge'), e('end')]
    s = score(traj, PUT_KEYS, tasktype='pickup_and_put_in_closerep')
    assert s.success == 1 and s.reward == 4


def test_put_in_counts_as_put():
    traj = [INIT, e('pickup', 'Apple'), e('open', 'Fridge'), e('put in', 'Fridge'), e('end')]
    assert score(traj, PUT_KEYS, tasktype='pickup_and_put_in_closerep').success == 1


def test_failed_entries_and_navigation_never_score_but_count_in_length():
    traj = [INIT, e('pickup', 'Apple', success=0), e('navigate to', 'CounterTop'),
            e('error'), e('pickup', 'Apple'), e('end')]
    s = score(traj, PICKUP_KEYS)
    assert s.success == 1
    assert s.trajectory_length == 6
    assert s.efficiency == pytest.approx(4 / 6)


def test_multiset_removal_counts_each_key_action_once():
    keys = ['pickup Lettuce', 'put SinkBasin', 'pickup Lettuce', 'put Pan', 'end']
    traj = [INIT, e('pickup', 'Lettuce'), e('pickup', 'Lettuce'), e('pickup', 'Lettuce'),
            e('put', 'Pan'), e('end')]
    s = score(traj, keys, tasktype='long-range tasks with dependency relationships')
    # Two of the three pickups match, the third finds no copy left; SinkBasin is missing.
    assert s.reward == 4 and s.total == 5 and s.success == 0
    assert s.completeness == pytest.approx(0.8)
    assert s.efficiency == 0.0


def test_untyped_key_put_can_never_be_matched():
    keys = ['pickup Potato', 'navigate to Sink', 'put', 'end']
    traj = [INIT, e('pickup', 'Potato'), e('put', 'Plate'), e('end')]
    s = score(traj, keys, tasktype='long-range tasks with dependency relationships')
    assert s.total == 3 and s.reward == 2 and s.success == 0


def test_automatic_end_with_success_one_scores():
    # The loop appends {end, success 1} after max steps or 3 invalid outputs.
    traj = [INIT, e('pickup', 'Apple'), e('error'), e('error'), e('error'), e('end')]
    assert score(traj, PICKUP_KEYS).success == 1


def test_repeat_cutoff_end_with_success_zero_does_not_score():
    traj = [INIT, e('pickup', 'Apple'), e('observe'), e('observe'), e('observe'),
            e('end', success=0)]
    s = score(traj, PICKUP_KEYS)
    assert s.reward == 1 and s.success == 0 and s.completeness == 0.5


SEARCH_KEYS = ['navigate to CounterTop', 'end']


def test_single_search_end_scores_when_a_legal_type_is_in_the_taskname():
    traj = [INIT, e('navigate to', 'Cabinet'), e('end', legal=['Cabinet', 'Apple'])]
    s = score(traj, SEARCH_KEYS, 'single_search', 'Find the Apple in the room.')
    assert s.success == 1 and not s.key_actions_success


def test_single_search_substring_false_positive_pen_in_pencil():
    traj = [INIT, e('navigate to', 'Desk'), e('end', legal=['Desk', 'Pen'])]
    s = score(traj, SEARCH_KEYS, 'single_search', 'Look for the Pencil in the room.')
    assert s.success == 1  # "pen" is a substring of "pencil": the reference's quirk


def test_single_search_end_scores_via_last_successful_key_action():
    traj = [INIT, e('navigate to', 'CounterTop'), e('pickup', 'Mug', success=0),
            e('end', legal=['CounterTop'])]
    s = score(traj, SEARCH_KEYS, 'single_search', 'Find the Apple in the room.')
    assert s.success == 1 and s.key_actions_success


def test_single_search_end_fails_without_either_rule():
    traj = [INIT, e('navigate to', 'Sofa'), e('end', legal=['Sofa'])]
    s = score(traj, SEARCH_KEYS, 'single_search', 'Find the Apple in the room.')
    assert s.success == 0 and s.reward == 0


def test_substring_rule_is_only_for_single_search():
    keys = ['navigate to Cabinet', 'open Cabinet', 'end']
    traj = [INIT, e('navigate to', 'Cabinet'), e('end', legal=['Cup'])]
    s = score(traj, keys, 'single_search_from_closerep', 'Find the Cup in the room.')
    assert s.reward == 1 and s.success == 0


def test_zero_total_is_a_data_error():
    with pytest.raises(DataError):
        score([INIT, e('end')], ['navigate to Desk'])


def test_groups_cover_every_task_type_once():
    assert GROUP_ORDER == ('Search', 'Manipulate', 'Transport', 'Composite')
    all_types = [t for types in TASK_GROUPS.values() for t in types]
    assert len(all_types) == len(set(all_types)) == 11
    assert group_of('single_toggle') == 'Manipulate'
    with pytest.raises(DataError, match='unknown task type'):
        group_of('single_dance')


def _outcomes(tasktype, successes, n):
    return [{'tasktype': tasktype, 'success': int(i < successes),
             'efficiency': 1.0 if i < successes else 0.0,
             'completeness': 1.0 if i < successes else 0.5} for i in range(n)]


def test_paper_group_counts_reproduce_the_overall_rate():
    rows = (_outcomes('single_search', 101, 155) + _outcomes('single_pickup', 279, 299)
            + _outcomes('pickup_and_put', 218, 250)
            + _outcomes('ordered_pickup_two_object_and_put', 57, 105))
    summary = aggregate(rows)
    assert summary['n_tasks'] == 809
    assert round(100 * summary['success_rate'], 2) == 80.96
    rates = {g: round(100 * summary['groups'][g]['success_rate'], 2) for g in GROUP_ORDER}
    assert rates == {'Search': 65.16, 'Manipulate': 93.31, 'Transport': 87.2,
                     'Composite': 54.29}
    assert summary['task_completeness'] == pytest.approx((655 + 0.5 * 154) / 809)


def test_crashed_tasks_stay_in_the_denominator():
    rows = _outcomes('single_pickup', 3, 3) + [
        {'tasktype': 'single_pickup', 'success': 0, 'efficiency': 0.0, 'completeness': 0.0,
         'error': 'SceneNotFound: FloorPlan999'}]
    summary = aggregate(rows)
    assert summary['n_tasks'] == 4 and summary['n_errors'] == 1
    assert summary['success_rate'] == pytest.approx(0.75)
    assert summary['per_type']['single_pickup']['n'] == 4
