# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Thought templates for expert trajectories, in the reference's tag structure.

Each assistant turn is ``<Observation>``, ``<Planning>``, ``<Thinking>``, ``<Reflection>`` or
``<Verification>`` blocks (a subset, chosen by the step kind and at random) followed by the
``<DecisionMaking>`` block. Every block is composed from several sentence pools; each pool holds
many templates whose slots are filled from the true simulator state (what is in view, what is
held, where the object was not found, what remains to do), so a model cannot memorise strings.

A template is identified as ``"<pool>:<k>"``; :func:`compose` returns the ids it used, so the
data engine can report how many distinct templates each task type exercised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import random
import re

from ego_reasoner_ros.sim_bridge.world_rules import INSIDE_TYPES
from ego_reasoner_ros.training.phrasings import natural_name

__all__ = ['POOLS', 'THOUGHT_STYLES', 'StepKind', 'ThoughtContext', 'compose', 'shorten',
           'template_counts']


class StepKind:
    """Why the expert takes the next action (decides the tags)."""

    FIRST = 'first'            # first decision of the episode
    PROGRESS = 'progress'      # the last action succeeded and moved the task forward
    SEARCH = 'search'          # heading to a candidate place (possibly a wrong one)
    MISS = 'miss'              # just saw that the object is not at the candidate place
    PEEK = 'peek'              # opening a closed candidate to look inside
    UNPEEK = 'unpeek'          # closing a candidate that held nothing useful
    OBSERVE = 'observe'        # looking around before choosing where to go
    REPAIR = 'repair'          # the target is out of reach: getting closer first
    VERIFY = 'verify'          # checking the result before finishing
    FINAL = 'final'            # everything is done: end
    FAILED = 'failed'          # the last action failed; carry on with the plan


@dataclass
class ThoughtContext:
    """True state and plan, in natural language, for one decision."""

    task: str                                   # the instruction
    goal: str                                   # short paraphrase of what is wanted
    visible: Sequence[str] = ()                 # everyday names of object types in view
    location: str | None = None                 # where the agent stands (everyday name)
    held: str | None = None                     # what is in the hand
    target: str | None = None                   # the object being looked for
    place: str | None = None                    # where the next action goes
    missed_at: str | None = None                # the place just checked without success
    misses: Sequence[str] = ()                  # every place checked without success
    candidates: Sequence[str] = ()              # places still worth trying
    next_step: str = ''                         # the next action in words
    remaining: Sequence[str] = ()               # later steps in words
    done: Sequence[str] = ()                    # finished steps in words
    feedback: str = ''                          # the last failure message
    extra: dict = field(default_factory=dict)


def _list(items: Sequence[str], rng: random.Random, limit: int = 5) -> str:
    items = list(dict.fromkeys(i for i in items if i))[:limit]
    if not items:
        return 'nothing in particular'
    if len(items) == 1:
        return f'a {items[0]}' if rng.random() < 0.5 else f'the {items[0]}'
    conj = rng.choice(('and', 'as well as', 'plus'))
    return ', '.join(f'a {i}' for i in items[:-1]) + f' {conj} a {items[-1]}'


def _steps(items: Sequence[str], rng: random.Random) -> str:
    items = [i for i in items if i]
    if not items:
        return 'nothing else'
    if len(items) == 1:
        return items[0]
    link = rng.choice((', then ', ', after that ', ', and next '))
    return items[0] + link + ', then '.join(items[1:])


# Sentence pools. Slots: {task} {goal} {visible} {location} {held} {target} {place}
# {missed_at} {misses} {candidates} {next} {remaining} {done} {feedback}
POOLS: dict[str, tuple[str, ...]] = {
    'obs_open': (
        'In front of me I can see {visible}.',
        'The view shows {visible}.',
        'From where I stand, I can see {visible}.',
        'Looking at the image, I notice {visible}.',
        'My camera currently shows {visible}.',
        'I spot {visible} in this frame.',
        'The current picture contains {visible}.',
        'Right now I see {visible}.',
        'I can make out {visible} from here.',
        'This view includes {visible}.',
        'Scanning the frame, I find {visible}.',
        'What I see: {visible}.',
    ),
    'obs_at': (
        'I am standing at the {location}.',
        'I have arrived next to the {location}.',
        'The {location} is right in front of me now.',
        'I am now close to the {location}.',
        'I reached the {location}.',
        'I am positioned by the {location}.',
        'Now I am at the {location}.',
        'Here I am at the {location}.',
    ),
    'obs_held': (
        'I am holding the {held}.',
        'The {held} is in my hand.',
        'My hand carries the {held}.',
        'I still have the {held} with me.',
        'The {held} stays in my grip.',
        'I keep holding the {held}.',
    ),
    'obs_target_seen': (
        'The {target} is right here.',
        'I can see the {target} now.',
        'There it is: the {target}.',
        'The {target} is within reach.',
        'I found the {target} at this spot.',
        'The {target} is visible in this view.',
    ),
    'plan_first': (
        'The task is: {goal}. I will break it into steps: {remaining}.',
        'To {goal}, my plan is: {remaining}.',
        'I need to {goal}. Steps: {remaining}.',
        'Plan for this task ({goal}): {remaining}.',
        'My goal is to {goal}, so I will proceed as follows: {remaining}.',
        'Here is how I will {goal}: {remaining}.',
        'I am asked to {goal}. I will do this: {remaining}.',
        'Breaking the task down: {remaining}. That should {goal}.',
        'Order of work: {remaining}.',
        'First I lay out a plan to {goal}: {remaining}.',
    ),
    'plan_search': (
        'The {target} could be in several places: {candidates}. I will start with the {place}.',
        'Likely spots for the {target} are {candidates}; the {place} comes first.',
        'I still have to find the {target}. Places to check: {candidates}. Next is the {place}.',
        'A {target} is usually kept near {candidates}. Let me try the {place}.',
        'I will search for the {target}, beginning at the {place}.',
        'Where could the {target} be? Maybe {candidates}. I will head to the {place} first.',
        'My best guess for the {target} is the {place}; other options are {candidates}.',
        'To find the {target}, checking the {place} makes sense.',
        'I will look for the {target} at the {place}.',
        'Candidates for the {target}: {candidates}. Going to the {place}.',
    ),
    'plan_next': (
        'Next I will {next}.',
        'Now I should {next}.',
        'The next step is to {next}.',
        'So I will {next}.',
        'What follows is: {next}.',
        'I continue with this: {next}.',
        'Time to {next}.',
        'Then I can {next}.',
        'My next move: {next}.',
        'I go on and {next}.',
    ),
    'plan_rest': (
        'After that: {remaining}.',
        'Still to do: {remaining}.',
        'Remaining steps: {remaining}.',
        'Later I will {remaining}.',
        'What is left afterwards: {remaining}.',
        'Then the plan continues with {remaining}.',
    ),
    'think_progress': (
        'So far I have managed to {done}.',
        'Done so far: {done}.',
        'That worked: I {done}.',
        'Good, I {done}.',
        'Progress check: I {done}.',
        'The last step succeeded; I {done}.',
        'I have already {done}.',
        'The previous action went well, so I {done}.',
    ),
    'think_task': (
        'The task asks me to {goal}.',
        'Remember the goal: {goal}.',
        'I must {goal}.',
        'The request is to {goal}.',
        'I keep the goal in mind: {goal}.',
        'The instruction means I should {goal}.',
        'Overall I need to {goal}.',
    ),
    'think_reach': (
        'The {target} is too far away to interact with from here, so I need to get closer.',
        'I cannot act on the {target} from this spot; moving nearer first.',
        'The {target} is not within reach yet; I should approach it.',
        'To handle the {target} I must stand next to it.',
        'I am not close enough to the {target}.',
    ),
    'think_open': (
        'The {place} is closed, so I cannot see what is inside.',
        'The {place} has a door; I need to open it to look inside.',
        'Nothing inside the {place} is visible while it is shut.',
        'The {place} is closed; opening it will show its contents.',
        'I have to open the {place} to check inside.',
    ),
    'think_look': (
        'I have no idea yet where the {target} is.',
        'None of the places I know look promising for the {target}.',
        'I should get a wider view of the room before choosing where to go.',
        'Looking around will show me more of the room.',
        'A look around may reveal where the {target} could be.',
        'I want to see the rest of the room first.',
    ),
    'think_failed': (
        'The last action did not work: {feedback}',
        'That failed ({feedback}). I will adjust.',
        'Something went wrong: {feedback}',
        'My previous command failed: {feedback}',
    ),
    'refl_miss': (
        'There is no {target} at the {missed_at}.',
        'The {target} is not at the {missed_at}.',
        'I checked the {missed_at}, but the {target} is not there.',
        'No sign of the {target} at the {missed_at}.',
        'The {missed_at} does not hold the {target}.',
        'My guess was wrong: the {target} is not at the {missed_at}.',
        'Nothing like a {target} at the {missed_at}.',
        'The {missed_at} turned out to be the wrong place for the {target}.',
        'I looked at the {missed_at} and did not find the {target}.',
        'Unfortunately the {target} is not at the {missed_at}.',
        'Searching the {missed_at} gave nothing: no {target}.',
        'The {target} must be somewhere else, not at the {missed_at}.',
    ),
    'refl_inside': (
        'Inside the {missed_at} there is no {target}.',
        'I opened the {missed_at}, but the {target} is not inside.',
        'The {missed_at} does not contain the {target}.',
        'No {target} in the {missed_at}.',
        'The {missed_at} is empty of what I need.',
        'The {target} is not stored in the {missed_at}.',
    ),
    'refl_tried': (
        'Places already checked: {misses}.',
        'I have ruled out {misses}.',
        'So far I have searched {misses} without luck.',
        'Already excluded: {misses}.',
        'I can cross {misses} off the list.',
    ),
    'refl_close': (
        'I will close the {missed_at} again and keep searching.',
        'I should shut the {missed_at} before moving on.',
        'Let me close the {missed_at} to leave it as it was.',
        'Closing the {missed_at} and continuing the search.',
        'First I close the {missed_at}, then I look elsewhere.',
    ),
    'refl_seen_elsewhere': (
        'The {target} is not at the {missed_at}, but I can spot it from here; the {place} is '
        'where it is.',
        'Not at the {missed_at}. From this spot, though, I notice the {target} near the '
        '{place}.',
        'The {missed_at} was wrong, yet now the {target} is in view, by the {place}.',
        'No {target} at the {missed_at}, but this new angle shows it at the {place}.',
    ),
    'refl_move_on': (
        'I will try the {place} next.',
        'The {place} is the next place to check.',
        'Next candidate: the {place}.',
        'Let me look at the {place} instead.',
        'Perhaps the {target} is at the {place}.',
        'The {place} seems a better bet now.',
        'I will move on to the {place}.',
        'My next guess is the {place}.',
    ),
    'verify': (
        'Let me double-check the result: {done}.',
        'Checking: {done}. Everything looks right.',
        'Before finishing I confirm that I {done}.',
        'Verification: {done}; the task is satisfied.',
        'I review what happened: {done}. It matches the request.',
        'Confirming the final state: {done}.',
        'I step back to check that I {done}.',
        'To be sure, I verify that I {done}.',
    ),
    'final': (
        'All steps are complete: {done}. The task is finished.',
        'I have done everything that was asked: {done}.',
        'The task is accomplished, since I {done}.',
        'Nothing remains to be done; I {done}.',
        'Task complete. I {done}.',
        'That was the last step: I {done}. I can stop now.',
        'Everything the instruction wanted is done: {done}.',
        'The goal ({goal}) is reached.',
        'Finished: I {done}.',
        'The request is fulfilled, because I {done}.',
    ),
}


def template_counts() -> dict[str, int]:
    """Distinct templates per pool."""
    return {k: len(set(v)) for k, v in POOLS.items()}


class _Writer:
    def __init__(self, ctx: ThoughtContext, rng: random.Random) -> None:
        self.ctx = ctx
        self.rng = rng
        self.used: list[str] = []
        self.slots = {
            'task': ctx.task, 'goal': ctx.goal,
            'visible': _list(ctx.visible, rng), 'location': ctx.location or 'room',
            'held': ctx.held or 'nothing', 'target': ctx.target or 'object',
            'place': ctx.place or 'next place', 'missed_at': ctx.missed_at or 'last place',
            'misses': _list(ctx.misses, rng), 'candidates': _list(ctx.candidates, rng),
            'next': ctx.next_step or 'continue', 'remaining': _steps(ctx.remaining, rng),
            'done': _steps(ctx.done, rng), 'feedback': ctx.feedback or 'unknown error',
        }

    def say(self, pool: str) -> str:
        k = self.rng.randrange(len(POOLS[pool]))
        self.used.append(f'{pool}:{k}')
        return POOLS[pool][k].format(**self.slots)

    def maybe(self, pool: str, p: float) -> list[str]:
        return [self.say(pool)] if self.rng.random() < p else []


def _block(tag: str, sentences: list[str]) -> str:
    return f'<{tag}>' + ' '.join(s for s in sentences if s) + f'</{tag}>'


def _observation(w: _Writer, *, at: bool, seen_target: bool) -> list[str]:
    c = w.ctx
    parts: list[str] = []
    if at and c.location:
        parts.append(w.say('obs_at'))
    if c.visible:
        parts.append(w.say('obs_open'))
    if c.held:
        parts += w.maybe('obs_held', 0.7)
    if seen_target and c.target:
        parts.append(w.say('obs_target_seen'))
    if len(parts) > 2 and w.rng.random() < 0.3:
        w.rng.shuffle(parts)
    return parts


def compose(kind: str, ctx: ThoughtContext, rng: random.Random) -> tuple[str, list[str]]:
    """The thought text (tag blocks, no decision) for one step, and the template ids used."""
    w = _Writer(ctx, rng)
    blocks: list[str] = []
    r = rng.random
    if kind == StepKind.FIRST:
        obs = _observation(w, at=False, seen_target=False)
        if obs:
            blocks.append(_block('Observation', obs))
        if r() < 0.5:
            blocks.append(_block('Thinking', [w.say('think_task')]))
        plan = [w.say('plan_first')]
        if ctx.candidates and ctx.target:
            plan.append(w.say('plan_search'))
        blocks.append(_block('Planning', plan))
    elif kind == StepKind.SEARCH:
        if r() < 0.6:
            obs = _observation(w, at=bool(ctx.location), seen_target=False)
            if obs:
                blocks.append(_block('Observation', obs))
        blocks.append(_block('Planning', [w.say('plan_search')]))
    elif kind in (StepKind.MISS, StepKind.UNPEEK):
        obs = _observation(w, at=True, seen_target=False)
        if obs and r() < 0.7:
            blocks.append(_block('Observation', obs))
        refl = [w.say('refl_inside' if kind == StepKind.UNPEEK else 'refl_miss')]
        if len(ctx.misses) > 1:
            refl += w.maybe('refl_tried', 0.7)
        if kind == StepKind.UNPEEK:
            refl.append(w.say('refl_close'))
        elif ctx.extra.get('target_in_view'):
            refl.append(w.say('refl_seen_elsewhere'))
        else:
            refl.append(w.say('refl_move_on'))
        blocks.append(_block('Reflection', refl))
        if kind == StepKind.MISS and r() < 0.4:
            blocks.append(_block('Planning', [w.say('plan_next')]))
    elif kind == StepKind.PEEK:
        obs = _observation(w, at=True, seen_target=False)
        if obs and r() < 0.6:
            blocks.append(_block('Observation', obs))
        blocks.append(_block('Thinking', [w.say('think_open')]))
    elif kind == StepKind.OBSERVE:
        obs = _observation(w, at=False, seen_target=False)
        if obs and not ctx.done and r() < 0.8:
            blocks.append(_block('Observation', obs))
        if ctx.misses:
            blocks.append(_block('Reflection', [w.say('refl_tried')]))
        blocks.append(_block('Thinking', [w.say('think_look')]))
    elif kind == StepKind.REPAIR:
        blocks.append(_block('Thinking', [w.say('think_reach')]))
        blocks.append(_block('Planning', [w.say('plan_next')]))
    elif kind == StepKind.FAILED:
        blocks.append(_block('Reflection', [w.say('think_failed')]))
        blocks.append(_block('Planning', [w.say('plan_next')]))
    elif kind == StepKind.VERIFY:
        blocks.append(_block('Thinking', [w.say('think_progress')]))
        blocks.append(_block('Verification', [w.say('verify')]))
    elif kind == StepKind.FINAL:
        obs = _observation(w, at=bool(ctx.location), seen_target=False)
        if obs and r() < 0.5:
            blocks.append(_block('Observation', obs))
        blocks.append(_block('Thinking', [w.say('final')]))
    else:  # PROGRESS
        obs = _observation(w, at=bool(ctx.location), seen_target=bool(ctx.target))
        if obs and r() < 0.75:
            blocks.append(_block('Observation', obs))
        if ctx.done and r() < 0.6:
            blocks.append(_block('Thinking', [w.say('think_progress')]))
        plan = [w.say('plan_next')]
        if ctx.remaining and r() < 0.5:
            plan.append(w.say('plan_rest'))
        blocks.append(_block('Planning', plan))
    return ''.join(blocks), w.used


def describe_action(verb: str, obj_type: str | None, held: str | None = None,
                    rng: random.Random | None = None) -> str:
    """An action in words (``"pick up the apple"``)."""
    name = natural_name(obj_type, rng) if obj_type else ''
    held_name = natural_name(held, rng) if held else 'it'
    if verb == 'navigate to':
        return f'go to the {name}'
    if verb == 'pickup':
        return f'pick up the {name}'
    if verb in ('put', 'put in'):
        prep = 'in' if obj_type in INSIDE_TYPES else 'on'
        return f'put the {held_name} {prep} the {name}'
    if verb == 'open':
        return f'open the {name}'
    if verb == 'close':
        return f'close the {name}'
    if verb == 'toggle':
        return f'flip the switch of the {name}'
    if verb == 'observe':
        return 'look around'
    if verb == 'move forward':
        return 'step forward'
    return 'finish'


def past_action(verb: str, obj_type: str | None, held: str | None = None,
                rng: random.Random | None = None) -> str:
    """A finished action in words (``"picked up the apple"``)."""
    present = describe_action(verb, obj_type, held, rng)
    for a, b in (('go to', 'went to'), ('pick up', 'picked up'), ('put', 'put'),
                 ('open', 'opened'), ('close', 'closed'),
                 ('look around', 'looked around'), ('step forward', 'stepped forward'),
                 ('flip', 'flipped')):
        if present.startswith(a):
            return b + present[len(a):]
    return present


#: Thought styles of the data engine: ``full`` (every composed block), ``brief`` (one short
#: sentence, for small models whose per-token decode cost dominates), ``none`` (no thought).
THOUGHT_STYLES = ('full', 'brief', 'none')
_BLOCK_RE = re.compile(r'<(Observation|Planning|Thinking|Reflection|Verification)>(.*?)</\1>',
                       re.S)


def shorten(text: str, style: str = 'brief', *, max_words: int = 12) -> str:
    """Cut a composed thought down to ``style``.

    ``brief`` keeps the first sentence (at most ``max_words`` words) of the first block that
    is not an ``<Observation>`` (what is in view is in the image; a small model would only
    learn to hallucinate it), inside its own tag; a thought of observations only keeps the
    first observation sentence. ``none`` drops the thought; ``full`` returns it unchanged.

    >>> shorten('<Observation>I see a sofa.</Observation><Planning>Go to the desk. '
    ...         'Then look.</Planning>')
    '<Planning>Go to the desk.</Planning>'
    >>> shorten('<Thinking>x</Thinking>', 'none')
    ''
    """
    if style not in THOUGHT_STYLES:
        raise ValueError(f'thought style must be one of {THOUGHT_STYLES}, got {style!r}')
    if style == 'full':
        return text
    if style == 'none':
        return ''
    blocks = _BLOCK_RE.findall(text)
    if not blocks:
        return text
    tag, body = next(((t, b) for t, b in blocks if t != 'Observation'), blocks[0])
    sentence = re.split(r'(?<=[.!?])\s+', body.strip(), maxsplit=1)[0]
    words = sentence.split()
    if len(words) > max_words:
        sentence = ' '.join(words[:max_words]).rstrip(',;:') + '.'
    return f'<{tag}>{sentence}</{tag}>'
