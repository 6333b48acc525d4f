# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The Embodied-Reasoner episode loop, shared by the evaluator, the data engine and the node.

It follows er-protocol.md section 1, "Steps and termination"::

    init (step 1) -> [policy.act -> parse -> execute or reject] ... -> end entry

* ``step_count`` counts ``init`` and every executed action, failed ones included; invalid
  replies cost no step. The loop asks the policy only while ``step_count < max_step``, so at
  most ``max_step - 1`` model actions run.
* After ``max_invalid_in_a_row`` (3) consecutive invalid replies, one more reply is fetched
  and discarded, then the episode ends.
* The same (verb, object) proposed ``max_repeats`` (4) times in a row is cut off before the
  4th runs; the closing end entry then gets no credit (success False).
* Every other exit (the model's ``end``, the step budget, the invalid streak) closes with an
  end entry with success True, as the reference does.
* In strict parsing a reply whose verb is known but whose object is not is executed as a
  failed step on the object ``"No Suitable Object"`` (the environment is not called); in
  lenient parsing it is invalid.
* An invalid reply breaks a run of identical proposals. An empty reply is an invalid reply
  here, whereas the reference drops the whole task; count such episodes yourself if needed
  (``StepRecord.raw_output == ""``).

An exception from the policy or the environment marks the record ``terminated_by="error"``
and is re-raised as :class:`EpisodeError` carrying the partial record.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
import dataclasses
from dataclasses import dataclass, field
import logging
import time
from typing import Any, Protocol, TypeVar, runtime_checkable

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.domain import SEARCH_TYPES, TRANSPORT_TYPES
from ego_reasoner_ros.core.episode import EpisodeRecord, StepRecord
from ego_reasoner_ros.core.errors import EgoReasonerError
from ego_reasoner_ros.core.parser import (
    InvalidOutput,
    InvalidReason,
    ParserMode,
    extract_thought,
    parse_action,
)
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.core.prompts import PROMPT_VERSION, PromptBuilder, PromptConfig

logger = logging.getLogger(__name__)

T = TypeVar('T')

#: The object the reference's matcher returns when nothing fits.
NO_SUITABLE_OBJECT = 'No Suitable Object'
#: Feedback for a step on an object that could not be resolved (strict mode).
NO_SUITABLE_OBJECT_FEEDBACK = f'The object "{NO_SUITABLE_OBJECT}" cannot be found in the room.'

_END = Verb('end')



def max_steps_for(task_type: str) -> int:
    """The reference's step budget (``init`` included) for an ER task type.

    22 for search types, 24 for ``single_pickup*`` and ``single_toggle``, 30 for
    ``pickup_and_put`` and the closerep transport types, 36 for anything else (ordered and
    long-range tasks, unknown types).
    """
    task_type = (task_type or '').strip()
    if task_type in SEARCH_TYPES or task_type.startswith('single_search'):
        return 22
    if task_type.startswith('single_pickup') or task_type == 'single_toggle':
        return 24
    if task_type in TRANSPORT_TYPES:
        return 30
    return 36


@dataclass
class StepOutcome:
    """What the environment reports after ``init`` or an action.

    Attributes:
        success: whether the action succeeded.
        feedback: a human-readable message (the error on failure).
        images: the new frame(s); empty on failure.
        legal_objects: object types that can be interacted with now.
        scene_types: every object type in the scene (the parser's vocabulary).
        info: anything else (navigable_objects, held object, raw simulator info).
    """

    success: bool
    feedback: str = ''
    images: list = field(default_factory=list)
    legal_objects: list[str] = field(default_factory=list)
    scene_types: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


@runtime_checkable
class StepEnvironment(Protocol):
    """What the loop drives: a simulator adapter or the robot behind ROS."""

    def reset(self) -> StepOutcome:
        """Start the episode and return the ``init`` frame (it counts as a step)."""
        ...

    def execute(self, action: Action) -> StepOutcome:
        """Run one action (never ``end``) and report its outcome."""
        ...


@dataclass
class LoopConfig:
    """Episode loop settings (defaults follow the reference evaluator).

    Attributes:
        parser_mode: ``strict`` (faithful) or ``lenient`` parsing of the decision.
        max_invalid_in_a_row: consecutive invalid replies that end the episode.
        max_repeats: the same (verb, object) proposed this many times in a row is cut off
            before it runs.
        max_steps: overrides :func:`max_steps_for` when set.
        step_timeout_s: limit for each policy call and each environment call; exceeding it
            ends the episode with an error (the call itself keeps running in its thread).
    """

    parser_mode: ParserMode = ParserMode.STRICT
    max_invalid_in_a_row: int = 3
    max_repeats: int = 4
    max_steps: int | None = None
    step_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.parser_mode, ParserMode):
            try:
                self.parser_mode = ParserMode(self.parser_mode)
            except ValueError:
                known = ', '.join(repr(m.value) for m in ParserMode)
                raise ValueError(f'parser_mode must be one of {known}, '
                                 f'got {self.parser_mode!r}') from None
        if self.max_invalid_in_a_row < 1:
            raise ValueError(f'max_invalid_in_a_row must be >= 1, got '
                             f'{self.max_invalid_in_a_row}')
        if self.max_repeats < 2:
            raise ValueError(f'max_repeats must be >= 2, got {self.max_repeats}')
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f'max_steps must be >= 1 (init counts as one), got '
                             f'{self.max_steps}')
        if self.step_timeout_s is not None and not self.step_timeout_s > 0:
            raise ValueError(f'step_timeout_s must be > 0, got {self.step_timeout_s}')


class EpisodeError(EgoReasonerError, RuntimeError):
    """The policy or the environment raised during an episode.

    Attributes:
        record: the partial record, ``terminated_by="error"``, with the message in
            ``record.metadata["error"]``.
    """

    def __init__(self, message: str, record: EpisodeRecord) -> None:
        super().__init__(message)
        self.record = record


class StepTimeoutError(EgoReasonerError, TimeoutError):
    """A policy or environment call exceeded ``LoopConfig.step_timeout_s``."""


OnStep = Callable[[StepRecord, EpisodeRecord], None]


def step_numbers(record: EpisodeRecord) -> list[int]:
    """The loop's step number of every entry of ``record.steps``.

    It is the ``step`` of the :class:`PolicyInput` that produced the entry: ``init`` is step
    0, every executed action (an unknown object's failed step included) moves the count on,
    and an invalid reply shares its number with the decision that follows it. Logs, replays
    and bags use this one numbering.
    """
    numbers, current = [], 1
    for step in record.steps:
        numbers.append(current)
        if step.executed:
            current += 1
    return numbers


def run_episode(policy: Policy, env: StepEnvironment, instruction: str, task_type: str = '', *,
                config: LoopConfig | None = None, builder: PromptBuilder | None = None,
                seed: int | None = None, world: object | None = None,
                episode_id: str | None = None, scene: str | None = None,
                on_step: OnStep | None = None,
                parser_mode: ParserMode | str | None = None) -> EpisodeRecord:
    """Run one episode of ``policy`` in ``env`` and return its record.

    Args:
        policy: the policy; it gets the full conversation every turn.
        env: the environment; ``reset()`` gives the ``init`` frame.
        instruction: the instruction shown to the policy (the task's ``taskquery``).
        task_type: ER task type; sets the step budget unless ``config.max_steps`` is set.
        config: loop settings.
        builder: the prompt builder (its config is stored in the record); default: one
            with the policy's ``prompt_config``, else the default wording.
        seed: passed to ``policy.reset``.
        world: exact world state for policies with ``needs_world`` (defaults to
            ``env.world`` when the environment has one).
        episode_id: id of the record (random when omitted).
        scene: scene name stored in the record.
        on_step: called with ``(step, record)`` after every appended step.
        parser_mode: shortcut that overrides ``config.parser_mode``.

    Raises:
        EpisodeError: if the policy, the environment or ``on_step`` raised; it carries the
            partial record.
        ValueError: if the policy needs the world state and none is available.
    """
    config = config if config is not None else LoopConfig()
    if parser_mode is not None:
        config = dataclasses.replace(config, parser_mode=ParserMode(parser_mode))
    if builder is None:
        builder = PromptBuilder(getattr(policy, 'prompt_config', None) or PromptConfig())
    if not isinstance(instruction, str) or not instruction.strip():
        raise ValueError('instruction must be a non-empty string')
    max_step = config.max_steps if config.max_steps is not None else max_steps_for(task_type)
    if policy.needs_world and world is None and not hasattr(env, 'world'):
        raise ValueError(f'policy {policy.name!r} needs the world state; pass world= or '
                         'use an environment with a .world attribute')

    record = EpisodeRecord(instruction=instruction, task_type=task_type or '', scene=scene,
                           prompt_config=builder.config)
    if episode_id is not None:
        record.episode_id = episode_id
    record.metadata.update({
        'policy': policy.name,
        'seed': seed,
        'max_steps': max_step,
        'parser_mode': config.parser_mode.value,
        'max_invalid_in_a_row': config.max_invalid_in_a_row,
        'max_repeats': config.max_repeats,
        'prompt_version': PROMPT_VERSION,
        'policy_calls': 0,
    })
    runner = _Runner(policy, env, instruction, config, builder, record, max_step, on_step)
    logger.info('episode %s: %s task, budget %d steps, policy %s', record.episode_id,
                task_type or 'free-form', max_step, policy.name)
    try:
        runner.run(seed=seed, world=world if policy.needs_world else None)
    except Exception as exc:
        record.terminated_by = 'error'
        record.metadata['error'] = f'{type(exc).__name__}: {exc}'
        record.metadata['error_stage'] = runner.stage
        record.metadata['step_count'] = record.step_count
        logger.error('episode %s failed during %s: %s', record.episode_id, runner.stage,
                     record.metadata['error'])
        raise EpisodeError(f'episode {record.episode_id} failed during {runner.stage}: '
                           f'{record.metadata["error"]}', record) from exc
    finally:
        runner.shutdown()
    record.metadata['step_count'] = record.step_count
    logger.info('episode %s ended by %s after %d steps (%d invalid replies)',
                record.episode_id, record.terminated_by, record.step_count, record.num_invalid)
    return record


class _Runner:
    """State of one running episode (kept out of ``run_episode`` for readability)."""

    def __init__(self, policy: Policy, env: StepEnvironment, instruction: str,
                 config: LoopConfig, builder: PromptBuilder, record: EpisodeRecord,
                 max_step: int, on_step: OnStep | None) -> None:
        self.policy = policy
        self.env = env
        self.instruction = instruction
        self.config = config
        self.builder = builder
        self.record = record
        self.max_step = max_step
        self.on_step = on_step
        self.stage = 'setup'
        self._pool: ThreadPoolExecutor | None = None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` under the step timeout, if any."""
        self.stage = what
        timeout = self.config.step_timeout_s
        if timeout is None:
            return fn(*args)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='episode-step')
        future = self._pool.submit(fn, *args)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            if future.done():  # the call itself raised TimeoutError (the same class on 3.11)
                return future.result()
            # The stuck call keeps the worker busy; later calls get a fresh pool.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise StepTimeoutError(f'{what} took longer than {timeout} s') from None

    def _append(self, step: StepRecord) -> None:
        self.record.steps.append(step)
        if step.is_end:
            logger.debug('episode %s: end (success=%s)', self.record.episode_id, step.success)
        elif step.executed:
            logger.debug('episode %s: %s -> %s', self.record.episode_id, step.action,
                         'ok' if step.success else f'failed: {step.feedback}')
        else:
            logger.debug('episode %s: invalid reply: %s', self.record.episode_id, step.feedback)
        if self.on_step is not None:
            self.stage = 'on_step callback'
            self.on_step(step, self.record)

    def _end(self, terminated_by: str, *, success: bool, legal: list[str],
             raw_output: str = '', thought: str = '', from_model: bool = False,
             wall: float = 0.0, info: dict | None = None) -> None:
        self.record.terminated_by = terminated_by
        self._append(StepRecord(
            index=len(self.record.steps), raw_output=raw_output, thought=thought,
            action=Action(_END), invalid=None, executed=False, success=success, feedback='',
            images=[], legal_objects=list(legal), wall_seconds=wall,
            info=dict(info or {}, reason=terminated_by), from_model=from_model))

    def run(self, *, seed: int | None, world: object | None) -> None:
        record, builder, config = self.record, self.builder, self.config
        init = self._call('env.reset', self.env.reset)
        record.initial_images = list(init.images)
        record.initial_legal_objects = list(init.legal_objects)
        if 'navigable_objects' in init.info:
            record.metadata['initial_navigable_objects'] = list(init.info['navigable_objects'])
        self.stage = 'policy.reset'
        if self.policy.needs_world and world is None:
            # Read after env.reset(): a simulator may build a new world at every reset.
            world = getattr(self.env, 'world', None)
            if world is None:
                raise ValueError(f'policy {self.policy.name!r} needs the world state, but the '
                                 'environment has none after reset')
        self.policy.reset(self.instruction, seed=seed, world=world)

        messages = [builder.system_message(), builder.first_turn(self.instruction,
                                                                 list(init.images))]
        step_count = 1  # init counts
        scene_types = list(init.scene_types)
        legal = list(init.legal_objects)
        current_images = list(init.images)
        feedback: str | None = None
        last_action: Action | None = None
        last_success: bool | None = None
        invalid_streak = 0
        repeat_key: tuple[Verb, str | None] | None = None
        repeat_run = 0

        while True:
            if step_count >= self.max_step:
                self._end('max_steps', success=True, legal=legal)
                return
            inp = PolicyInput(messages=list(messages), images=list(current_images),
                              instruction=self.instruction, step=step_count, feedback=feedback,
                              last_action=last_action, last_success=last_success)
            started = time.monotonic()
            raw = self._call('policy.act', self.policy.act, inp)
            record.metadata['policy_calls'] += 1
            if not isinstance(raw, str):
                raise TypeError(f'policy {self.policy.name!r} returned '
                                f'{type(raw).__name__}, expected str')
            if invalid_streak >= config.max_invalid_in_a_row:
                # The reference fetches one more reply after the streak, then drops it.
                record.metadata['discarded_output'] = raw
                self._end('invalid', success=True, legal=legal,
                          info={'discarded_output': raw})
                return

            self.stage = 'parse'
            parsed = parse_action(raw, scene_types, config.parser_mode)
            thought = extract_thought(raw, config.parser_mode)
            unknown_object = False
            if isinstance(parsed, InvalidOutput):
                unknown_object = (parsed.reason == InvalidReason.UNKNOWN_OBJECT
                                  and config.parser_mode == ParserMode.STRICT
                                  and parsed.verb is not None)
                if not unknown_object:
                    invalid_streak += 1
                    repeat_key, repeat_run = None, 0
                    step = StepRecord(
                        index=len(record.steps), raw_output=raw, thought=thought, action=None,
                        invalid=parsed, executed=False, success=False,
                        feedback=parsed.message, images=[], legal_objects=list(legal),
                        wall_seconds=time.monotonic() - started,
                        info={'reason': getattr(parsed.reason, 'value', str(parsed.reason))})
                    self._append(step)
                    messages += [builder.assistant(raw), step.follow_up(builder)]
                    continue
                action = Action(parsed.verb, NO_SUITABLE_OBJECT)
                matched_by = 'none'
            else:
                action = parsed.action
                matched_by = getattr(parsed, 'matched_by', None)
                matched_by = getattr(matched_by, 'value', matched_by)
            invalid_streak = 0

            if action.verb == _END:
                self._end('end', success=True, legal=legal, raw_output=raw, thought=thought,
                          from_model=True, wall=time.monotonic() - started,
                          info={'matched_by': matched_by})
                return

            key = (action.verb, action.target)
            repeat_run = repeat_run + 1 if key == repeat_key else 1
            repeat_key = key
            if repeat_run >= config.max_repeats:
                logger.info('episode %s: %s proposed %d times in a row, cut off',
                            record.episode_id, action, repeat_run)
                self._end('repeat', success=False, legal=legal,
                          info={'cut_output': raw, 'cut_action': str(action)})
                return

            if unknown_object:
                outcome = StepOutcome(success=False, feedback=NO_SUITABLE_OBJECT_FEEDBACK,
                                      images=[], legal_objects=list(legal),
                                      scene_types=scene_types,
                                      info={'unknown_object': parsed.message})
            else:
                outcome = self._call('env.execute', self.env.execute, action)
            step_count += 1
            step = StepRecord(
                index=len(record.steps), raw_output=raw, thought=thought, action=action,
                invalid=parsed if unknown_object else None, executed=True,
                success=bool(outcome.success), feedback=outcome.feedback or '',
                images=list(outcome.images), legal_objects=list(outcome.legal_objects),
                wall_seconds=time.monotonic() - started,
                info=dict(outcome.info, matched_by=matched_by, step_count=step_count))
            self._append(step)
            messages += [builder.assistant(raw), step.follow_up(builder)]

            legal = list(outcome.legal_objects)
            if outcome.scene_types:
                scene_types = list(outcome.scene_types)
            if outcome.success:
                current_images = list(outcome.images)
            feedback = outcome.feedback or ''
            last_action, last_success = action, bool(outcome.success)
