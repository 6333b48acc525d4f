# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Episode loop: termination paths, step counting and the conversation the policy sees."""

from __future__ import annotations

import itertools
import time

import pytest

from core_loop_fakes import TYPES, FakeEnv, canon, decide
from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.loop import (
    NO_SUITABLE_OBJECT,
    NO_SUITABLE_OBJECT_FEEDBACK,
    EpisodeError,
    LoopConfig,
    StepEnvironment,
    StepTimeoutError,
    max_steps_for,
    run_episode,
)
from ego_reasoner_ros.core.parser import InvalidReason, ParserMode
from ego_reasoner_ros.core.policy import Policy, PolicyInput, PolicyWrapper, ScriptedPolicy
from ego_reasoner_ros.core.prompts import FEEDBACK_TOKEN, PromptBuilder, PromptConfig

INSTR = 'Could you put the Apple in the Fridge?'
BAD = 'I am not sure what to do.'


def run(outputs, env=None, task_type='pickup_and_put', **kwargs):
    policy = ScriptedPolicy(outputs)
    env = env or FakeEnv()
    record = run_episode(policy, env, INSTR, task_type, **kwargs)
    return record, policy, env


def test_fake_env_satisfies_protocol():
    assert isinstance(FakeEnv(), StepEnvironment)


def test_model_end_terminates_with_credit():
    outputs = [decide('navigate to Apple'), decide('pickup Apple'),
               decide('navigate to Fridge'), decide('open Fridge'), decide('put Fridge'),
               decide('end', 'The apple is in the fridge.')]
    record, policy, env = run(outputs)
    assert record.terminated_by == 'end'
    assert [str(a) for a in env.executed] == ['navigate to Apple', 'pickup Apple',
                                              'navigate to Fridge', 'open Fridge', 'put Fridge']
    assert len(record.steps) == 6
    end = record.steps[-1]
    assert end.is_end and end.success and end.from_model
    assert end.thought == '<Thinking>The apple is in the fridge.</Thinking>'
    assert record.step_count == 6  # init + 5 actions
    assert len(policy.seen) == 6
    assert record.metadata['policy_calls'] == 6
    assert [s.index for s in record.steps] == list(range(6))


@pytest.mark.parametrize('task_type,budget', [
    ('single_search', 22), ('single_search_from_closerep', 22),
    ('single_pickup', 24), ('single_pickup_from_closerep', 24), ('single_toggle', 24),
    ('pickup_and_put', 30), ('pickup_and_put_in_closerep', 30),
    ('pickup_from_closerep_and_put', 30), ('pickup_from_closerep_and_put_in_closerep', 30),
    ('ordered_pickup_two_object_and_put', 36),
    ('long-range tasks with dependency relationships', 36), ('something_new', 36),
])
def test_max_steps_table(task_type, budget):
    assert max_steps_for(task_type) == budget


@pytest.mark.parametrize('task_type', ['single_search', 'single_toggle', 'pickup_and_put'])
def test_max_steps_executes_budget_minus_one(task_type):
    # Alternate targets so that the repeat cut-off never triggers.
    cycle = itertools.cycle([decide('navigate to Apple'), decide('navigate to Fridge')])
    outputs = list(itertools.islice(cycle, 60))
    record, policy, env = run(outputs, task_type=task_type)
    budget = max_steps_for(task_type)
    assert record.terminated_by == 'max_steps'
    assert len(env.executed) == budget - 1
    assert record.step_count == budget
    assert len(policy.seen) == budget - 1  # no call once the budget is spent
    end = record.steps[-1]
    assert end.is_end and end.success and not end.from_model and end.raw_output == ''


def test_max_steps_override_and_failed_steps_count():
    outputs = [decide('open Microwave'), decide('navigate to Fridge'),
               decide('open Microwave'), decide('navigate to Apple')]
    record, _, env = run(outputs, config=LoopConfig(max_steps=4))
    assert record.terminated_by == 'max_steps'
    assert [s.success for s in record.steps[:3]] == [False, True, False]
    assert len(env.executed) == 3 and record.step_count == 4


def test_invalid_outputs_cost_no_step_and_streak_resets():
    outputs = [BAD, decide('navigate to Apple'), BAD, BAD, decide('pickup Apple'), BAD,
               decide('end')]
    record, policy, env = run(outputs, config=LoopConfig(max_steps=4))
    assert record.terminated_by == 'end'
    assert record.step_count == 3
    assert record.num_invalid == 4
    assert [s.executed for s in record.steps] == [False, True, False, False, True, False, False]
    invalid = record.steps[0].invalid
    assert invalid.reason == InvalidReason.NO_DECISION_TAG
    assert [inp.step for inp in policy.seen] == [1, 1, 2, 2, 2, 3, 3]


def test_three_invalid_in_a_row_then_fourth_reply_discarded():
    outputs = [decide('navigate to Apple'), BAD, BAD, BAD, decide('pickup Apple'),
               decide('end')]
    record, policy, env = run(outputs)
    assert record.terminated_by == 'invalid'
    assert len(policy.seen) == 5  # the 4th reply after the streak was fetched...
    assert [str(a) for a in env.executed] == ['navigate to Apple']  # ...and not executed
    assert record.metadata['discarded_output'] == decide('pickup Apple')
    assert len(record.steps) == 5  # nav, 3 invalid, automatic end
    end = record.steps[-1]
    assert end.is_end and end.success and not end.from_model
    assert record.step_count == 2


def test_repeat_cutoff_before_fourth_identical_proposal():
    outputs = [decide('navigate to Apple')] * 4 + [decide('end')]
    record, policy, env = run(outputs)
    assert record.terminated_by == 'repeat'
    assert len(env.executed) == 3
    end = record.steps[-1]
    assert end.is_end and not end.success and not end.from_model
    assert end.info['cut_action'] == 'navigate to Apple'
    assert len(policy.seen) == 4


def test_repeat_counts_failed_proposals_and_is_broken_by_other_actions():
    failing = [decide('open Microwave')] * 4
    record, _, env = run(failing)
    assert record.terminated_by == 'repeat' and len(env.executed) == 3
    assert all(not s.success for s in record.steps[:3])

    mixed = [decide('navigate to Apple')] * 3 + [decide('navigate to Fridge')] + \
        [decide('navigate to Apple')] * 3 + [BAD] + [decide('navigate to Apple')] * 3 + \
        [decide('end')]
    record, _, env = run(mixed, task_type='ordered_pickup_two_object_and_put')
    assert record.terminated_by == 'end'
    assert len(env.executed) == 10


def test_unknown_object_strict_is_a_failed_step():
    outputs = [decide('pickup Zebra'), decide('end')]
    record, policy, env = run(outputs)
    step = record.steps[0]
    assert step.executed and not step.success
    assert step.action == Action(Verb.PICKUP, NO_SUITABLE_OBJECT)
    assert step.feedback == NO_SUITABLE_OBJECT_FEEDBACK
    assert step.invalid.reason == InvalidReason.UNKNOWN_OBJECT
    assert env.executed == []  # never sent to the environment
    assert record.step_count == 2
    follow = policy.seen[1].messages[-1]
    assert follow['role'] == 'user'
    assert all(b['type'] == 'text' for b in follow['content'])
    assert follow['content'][0]['text'].startswith(FEEDBACK_TOKEN)
    assert policy.seen[1].last_success is False


def test_unknown_object_lenient_is_invalid():
    outputs = [decide('pickup Zebra'), decide('end')]
    record, _, env = run(outputs, config=LoopConfig(parser_mode=ParserMode.LENIENT))
    step = record.steps[0]
    assert not step.executed and step.action is None
    assert step.invalid.reason == InvalidReason.UNKNOWN_OBJECT
    assert record.step_count == 1


def test_parser_mode_keyword_overrides_config():
    outputs = [decide('pickup Zebra'), decide('end')]
    record, _, _ = run(outputs, config=LoopConfig(max_steps=5), parser_mode='lenient')
    assert not record.steps[0].executed
    assert record.metadata['parser_mode'] == 'lenient' and record.metadata['max_steps'] == 5


def test_lenient_mode_from_string_and_config_validation():
    assert LoopConfig(parser_mode='lenient').parser_mode is ParserMode.LENIENT
    with pytest.raises(ValueError, match='parser_mode'):
        LoopConfig(parser_mode='loose')
    with pytest.raises(ValueError):
        LoopConfig(max_repeats=1)
    with pytest.raises(ValueError):
        LoopConfig(max_invalid_in_a_row=0)
    with pytest.raises(ValueError):
        LoopConfig(step_timeout_s=0)


def test_policy_exception_gives_episode_error_with_partial_record():
    outputs = [decide('navigate to Apple')]  # the script runs out on the 2nd call
    with pytest.raises(EpisodeError) as info:
        run(outputs)
    record = info.value.record
    assert record.terminated_by == 'error'
    assert 'ran out' in record.metadata['error']
    assert record.metadata['error_stage'] == 'policy.act'
    assert len(record.steps) == 1 and record.steps[0].executed


def test_env_exception_gives_episode_error():
    outputs = [decide('navigate to Apple'), decide('pickup Apple'), decide('end')]
    with pytest.raises(EpisodeError, match='simulator crashed') as info:
        run(outputs, env=FakeEnv(raise_on='pickup Apple'))
    assert info.value.record.metadata['error_stage'] == 'env.execute'
    assert isinstance(info.value.__cause__, RuntimeError)


def test_step_timeout():
    class Slow(Policy):
        name = 'slow'

        def act(self, inp: PolicyInput) -> str:
            time.sleep(0.5)
            return decide('end')

    with pytest.raises(EpisodeError) as info:
        run_episode(Slow(), FakeEnv(), INSTR, 'single_pickup',
                    config=LoopConfig(step_timeout_s=0.05))
    assert isinstance(info.value.__cause__, StepTimeoutError)


def test_world_is_passed_only_to_policies_that_need_it():
    class Expert(ScriptedPolicy):
        needs_world = True

        def reset(self, instruction, *, seed=None, world=None):
            super().reset(instruction)
            self.world, self.seed = world, seed

    env = FakeEnv()
    expert = Expert([decide('end')])
    run_episode(expert, env, INSTR, 'single_pickup', seed=7)
    assert expert.world is env.world and expert.seed == 7

    class NoWorldEnv(FakeEnv):
        world = None

    env = NoWorldEnv()
    env.world = None
    with pytest.raises((ValueError, EpisodeError), match='needs the world'):
        run_episode(Expert([decide('end')]), env, INSTR, 'single_pickup')


def test_policy_input_tracks_state_and_on_step_sees_every_step():
    outputs = [decide('navigate to Apple'), decide('open Microwave'), decide('observe'),
               decide('end')]
    seen_steps = []
    record, policy, env = run(outputs, on_step=lambda s, r: seen_steps.append(s.index))
    assert seen_steps == [0, 1, 2, 3]
    first, second, third, fourth = policy.seen
    assert first.step == 1 and first.last_action is None and first.feedback is None
    assert second.last_action == Action(Verb.NAVIGATE_TO, 'Apple') and second.last_success
    assert third.last_success is False and 'not possible' in third.feedback
    # After a failure the current view is still the navigate frame.
    assert third.images[0] is record.steps[0].images[0]
    assert len(fourth.images) == 3  # observe frames
    assert all(inp.instruction == INSTR for inp in policy.seen)


@pytest.mark.parametrize('outputs', [
    [decide('navigate to Apple'), decide('open Microwave'), BAD, decide('observe'),
     decide('pickup Zebra'), decide('move forward'), decide('end')],
    [decide('navigate to Apple'), BAD, BAD, BAD, decide('end')],
    [decide('observe')] * 4,
])
@pytest.mark.parametrize('config', [PromptConfig(), PromptConfig(menu_style='api',
                                                                 include_feedback_token=False)])
def test_record_rebuilds_exactly_what_the_policy_saw(outputs, config):
    builder = PromptBuilder(config)
    record, policy, _ = run(outputs, builder=builder)
    model_steps = record.model_steps
    assert len(policy.seen) >= len(model_steps)
    for step, inp in zip(model_steps, policy.seen):
        assert canon(record.prompt_messages(builder, step.index)) == canon(inp.messages)
    assert canon(record.last_prompt(builder)) == canon(policy.seen[-1].messages)
    full = record.to_messages(builder)
    assert full[-1]['role'] == 'assistant'
    assert full[-1]['content'][0]['text'] == model_steps[-1].raw_output
    if record.terminated_by == 'end':
        assert canon(full[:-1]) == canon(policy.seen[-1].messages)
    assert record.prompt_config == config


def test_scene_types_come_from_the_environment():
    # 'Mug' is a scene type, 'Banana' is not: strict parsing resolves only the former.
    record, _, env = run([decide('pickup Mug'), decide('pickup Banana'), decide('end')])
    assert 'Mug' in TYPES
    assert str(env.executed[0]) == 'pickup Mug'
    assert record.steps[1].action.target == NO_SUITABLE_OBJECT


def test_timeout_error_raised_by_the_step_is_not_taken_for_the_step_timeout():
    class RaisesTimeout(Policy):
        name = 'raises-timeout'

        def act(self, inp: PolicyInput) -> str:
            raise TimeoutError('the robot did not answer')

    with pytest.raises(EpisodeError) as info:
        run_episode(RaisesTimeout(), FakeEnv(), INSTR, 'single_pickup',
                    config=LoopConfig(step_timeout_s=30))
    cause = info.value.__cause__
    assert isinstance(cause, TimeoutError) and not isinstance(cause, StepTimeoutError)
    assert 'the robot did not answer' in str(cause)


class _Upper(PolicyWrapper):
    """A wrapper that changes only what the policy answers."""

    def act(self, inp: PolicyInput) -> str:
        return self.inner.act(inp).replace('I look around.', 'I LOOK AROUND.')


def test_policy_wrapper_reads_every_field_through_and_forwards_calls():
    inner = ScriptedPolicy([decide('observe'), decide('end')], name='inner-policy')
    inner.prompt_config = PromptConfig(restate_task=True)
    inner.needs_world = True
    inner.needs_images = False
    closed = []
    inner.close = lambda: closed.append(True)
    wrapped = _Upper(inner)
    assert (wrapped.name, wrapped.needs_world) == ('inner-policy', True)
    assert wrapped.prompt_config == PromptConfig(restate_task=True)
    assert wrapped.needs_images is False  # not declared on Policy: read through too
    record = run_episode(wrapped, FakeEnv(), INSTR, 'pickup_and_put')
    # The loop prompts with the wrapped policy's wording and records what the wrapper said.
    assert record.prompt_config == PromptConfig(restate_task=True)
    assert record.model_steps[0].raw_output == decide('observe').replace(
        'I look around.', 'I LOOK AROUND.')
    assert len(inner.seen) == 2  # reset rewound it once, both decisions reached it
    wrapped.close()
    assert closed == [True]
    with pytest.raises(TypeError, match='wraps a Policy'):
        PolicyWrapper('not a policy')
