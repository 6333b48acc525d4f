# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Instruction phrasings for generated tasks, written for this project.

Every task gets two texts, as in the reference's test set:

* ``taskname``: a plain canonical sentence that names every object by its exact Type
  (``"Find the CellPhone in the room."``); the ER metric reads it (the ``single_search``
  substring rule), the policy never sees it.
* ``taskquery``: what the policy is told. One of many templates per task type, filled with
  either the Type or an everyday name of the object (``CounterTop`` -> ``"counter top"``,
  ``"countertop"`` or ``"kitchen counter"``).

Templates use ``{obj}``, ``{rec}`` (receptacle), ``{obj2}``/``{rec2}`` (second chain of an
ordered task), ``{app}`` (appliance) and ``{state}`` (``on``/``off``).
"""

from __future__ import annotations

from collections.abc import Mapping
import random

from ego_reasoner_ros.core.domain import LONG_RANGE, camel_words

__all__ = [
    'CANONICAL',
    'PHRASINGS',
    'TOGGLE_PHRASINGS',
    'canonical_taskname',
    'everyday_names',
    'natural_name',
    'phrasing_counts',
    'render_instruction',
    'split_type',
]

# Everyday names; the first entry is the most common one. Types not listed are split at
# their capitals ("AlarmClock" -> "alarm clock"). A name belongs to one Type only and is never
# another Type split at its capitals ("sink" is the Type Sink, "bathtub" is Bathtub, and
# "table" would fit several tables).
_NAMES: dict[str, tuple[str, ...]] = {
    'CounterTop': ('counter top', 'countertop', 'kitchen counter', 'counter'),
    'SinkBasin': ('sink basin', 'wash basin', 'washbasin'),
    'Sink': ('sink',),
    'BathtubBasin': ('tub', 'bathtub basin', 'bath'),
    'StoveBurner': ('stove burner', 'stove', 'burner', 'hob'),
    'GarbageCan': ('garbage can', 'trash can', 'bin', 'rubbish bin'),
    'DiningTable': ('dining table', 'kitchen table', 'dinner table'),
    'CoffeeTable': ('coffee table', 'low table'),
    'SideTable': ('side table', 'bedside table', 'end table'),
    'TVStand': ('TV stand', 'television stand'),
    'Fridge': ('fridge', 'refrigerator'),
    'CoffeeMachine': ('coffee machine', 'coffee maker'),
    'CellPhone': ('cell phone', 'phone', 'mobile phone'),
    'RemoteControl': ('remote control', 'TV remote', 'remote'),
    'KeyChain': ('key chain', 'keys'),
    'CreditCard': ('credit card', 'bank card'),
    'DishSponge': ('dish sponge', 'sponge'),
    'SoapBottle': ('soap bottle', 'bottle of soap'),
    'SprayBottle': ('spray bottle',),
    'ToiletPaper': ('toilet paper', 'toilet roll'),
    'PaperTowelRoll': ('paper towel roll', 'kitchen roll'),
    'ButterKnife': ('butter knife',),
    'SaltShaker': ('salt shaker', 'salt'),
    'PepperShaker': ('pepper shaker', 'pepper'),
    'WineBottle': ('wine bottle', 'bottle of wine'),
    'DeskLamp': ('desk lamp', 'reading lamp'),
    'FloorLamp': ('floor lamp', 'standing lamp'),
    'Laptop': ('laptop', 'notebook computer'),
    'Television': ('television', 'TV'),
    'HousePlant': ('house plant', 'potted plant'),
    'TissueBox': ('tissue box', 'box of tissues'),
    'ArmChair': ('armchair', 'arm chair'),
    'BasketBall': ('basketball',),
    'BaseballBat': ('baseball bat', 'bat'),
    'TennisRacket': ('tennis racket', 'racket'),
    'TeddyBear': ('teddy bear', 'teddy'),
    'LaundryHamper': ('laundry hamper', 'laundry basket'),
    'AlarmClock': ('alarm clock', 'clock'),
    'ShelvingUnit': ('shelving unit', 'shelves'),
    'CD': ('CD', 'compact disc'),
    'Faucet': ('faucet', 'tap'),
}


def split_type(object_type: str) -> str:
    """A Type split at its capitals, lower-cased (``"AlarmClock"`` -> ``"alarm clock"``)."""
    return ' '.join(camel_words(object_type)).lower()


def everyday_names(object_type: str) -> tuple[str, ...]:
    """All everyday names of a Type (the split Type when it has no listed names)."""
    names = _NAMES.get(object_type)
    if names:
        return names
    words = camel_words(object_type)
    return (' '.join(w if w.isupper() else w.lower() for w in words),)


def natural_name(object_type: str, rng: random.Random | None = None) -> str:
    """An everyday name of a Type; a random one of several when ``rng`` is given."""
    names = everyday_names(object_type)
    if rng is None:
        return names[0]
    return rng.choice(names)


def _name(object_type: str, rng: random.Random, p_type: float) -> str:
    """The Type itself with probability ``p_type``, else an everyday name."""
    return object_type if rng.random() < p_type else natural_name(object_type, rng)


#: Templates per task type (the toggle type lives in :data:`TOGGLE_PHRASINGS`).
PHRASINGS: dict[str, tuple[str, ...]] = {
    'single_search': (
        'Can you locate the {obj} somewhere in this room?',
        'Where is the {obj}? Please find it for me.',
        'Help me spot the {obj}, I have lost track of it.',
        'I need to know where the {obj} is. Could you search for it?',
        'Please go and find the {obj}.',
        'Look around and tell me where the {obj} ended up.',
        'Search the room until you have found the {obj}.',
        'Is there a {obj} here? Find it, please.',
        'Track down the {obj} for me.',
        'Could you check where the {obj} has been left?',
        'Find me the {obj}.',
    ),
    'single_pickup': (
        'Pick up the {obj}, please.',
        'Could you grab the {obj} for me?',
        'Get hold of the {obj}.',
        'Please fetch the {obj} and keep it in your hand.',
        'I would like you to take the {obj}.',
        'Find the {obj} and pick it up.',
        'Can you collect the {obj} from wherever it is?',
        'Go get the {obj}.',
        'Hold the {obj} for me, please.',
        'Would you retrieve the {obj}?',
    ),
    'pickup_and_put': (
        'Put the {obj} on the {rec}.',
        'Could you move the {obj} onto the {rec}?',
        'Please place the {obj} on the {rec}.',
        'Take the {obj} and set it down on the {rec}.',
        'I want the {obj} to be on the {rec}. Can you do that?',
        'Bring the {obj} over to the {rec} and leave it there.',
        'Move the {obj} so that it sits on the {rec}.',
        'Find the {obj} and put it on the {rec}, please.',
        'Relocate the {obj} to the {rec}.',
        'Can you carry the {obj} to the {rec}?',
    ),
    'pickup_and_put_in_closerep': (
        'Put the {obj} in the {rec}.',
        'Could you store the {obj} inside the {rec}?',
        'Please place the {obj} into the {rec}.',
        'Take the {obj} and put it away in the {rec}.',
        'I want the {obj} kept in the {rec}.',
        'Open the {rec} and put the {obj} inside.',
        'Move the {obj} into the {rec}, please.',
        'Find the {obj} and stow it in the {rec}.',
        'Can you tidy the {obj} away into the {rec}?',
        'The {obj} belongs in the {rec}. Put it there.',
    ),
    'ordered_pickup_two_object_and_put': (
        'First put the {obj} on the {rec}, and after that put the {obj2} on the {rec2}.',
        'Start by moving the {obj} to the {rec}; then move the {obj2} to the {rec2}.',
        'Place the {obj} on the {rec} first. Once that is done, place the {obj2} on '
        'the {rec2}.',
        'Two jobs, in this order: the {obj} goes to the {rec}, then the {obj2} goes to the '
        '{rec2}.',
        'Could you take the {obj} to the {rec} and then the {obj2} to the {rec2}?',
        'Begin with the {obj}: put it on the {rec}. Next, put the {obj2} on the {rec2}.',
        'Please move the {obj} onto the {rec}, then move the {obj2} onto the {rec2}.',
        'Put the {obj} on the {rec} before you put the {obj2} on the {rec2}.',
        'I need the {obj} on the {rec} and afterwards the {obj2} on the {rec2}.',
    ),
}
# Requests composed from a politeness frame, a verb phrase and a tail ("Would you mind
# grabbing the mug for me?"): people word the same request in many frames, and a model
# trained on a few fixed sentences maps an unseen frame to the wrong task. A fixed sample of
# the combinations joins each task type's templates.
_FRAMES = ('Please {v}.', 'Could you {v}?', 'Can you {v}?', 'Would you {v}?',
           'Could you please {v}?', 'Would you please {v}?', 'I need you to {v}.',
           'Is it okay to {v}?', 'Would you mind {g}?', 'Do you mind {g}?',
           'Is it possible for you to {v}?', '{V}.')
_VERB_PHRASES: dict[str, tuple[tuple[str, str], ...]] = {
    'single_search': (('find', 'finding'), ('locate', 'locating'), ('look for', 'looking for'),
                      ('search for', 'searching for'), ('spot', 'spotting'),
                      ('identify', 'identifying')),
    'single_pickup': (('pick up', 'picking up'), ('grab', 'grabbing'), ('take', 'taking'),
                      ('get', 'getting'), ('fetch', 'fetching'), ('collect', 'collecting'),
                      ('retrieve', 'retrieving')),
    'pickup_and_put': (('put', 'putting'), ('place', 'placing'), ('set', 'setting'),
                       ('move', 'moving')),
    'pickup_and_put_in_closerep': (('put', 'putting'), ('place', 'placing'),
                                   ('store', 'storing'), ('move', 'moving')),
}
_OBJECT_PHRASES: dict[str, tuple[str, ...]] = {
    'single_search': ('the {obj}', 'the {obj} in the room', 'the {obj} in this room',
                      'the {obj} around here'),
    'single_pickup': ('the {obj}', 'the {obj} from the room', 'the {obj} for me',
                      'the {obj} from where it is'),
    'pickup_and_put': ('the {obj} on the {rec}', 'the {obj} onto the {rec}',
                       'the {obj} on top of the {rec}'),
    'pickup_and_put_in_closerep': ('the {obj} in the {rec}', 'the {obj} into the {rec}',
                                   'the {obj} inside the {rec}'),
}
COMPOSED_PER_TYPE = 16


def _composed(task_type: str) -> tuple[str, ...]:
    """A fixed sample of frame x verb x object-phrase requests for ``task_type``."""
    out = []
    for frame in _FRAMES:
        for base, ing in _VERB_PHRASES[task_type]:
            for obj in _OBJECT_PHRASES[task_type]:
                v, g = f'{base} {obj}', f'{ing} {obj}'
                out.append(frame.format(v=v, g=g, V=v[0].upper() + v[1:]))
    return tuple(random.Random(f'composed-{task_type}').sample(out, COMPOSED_PER_TYPE))


for _type in _VERB_PHRASES:
    PHRASINGS[_type] = PHRASINGS[_type] + _composed(_type)

# Closed-container variants reuse the wording of their base type: the instruction does not
# tell where the object is.
PHRASINGS['single_search_from_closerep'] = PHRASINGS['single_search']
PHRASINGS['single_pickup_from_closerep'] = PHRASINGS['single_pickup']
PHRASINGS['pickup_from_closerep_and_put'] = PHRASINGS['pickup_and_put']
PHRASINGS['pickup_from_closerep_and_put_in_closerep'] = PHRASINGS['pickup_and_put_in_closerep']

TOGGLE_PHRASINGS: dict[str, tuple[str, ...]] = {
    'on': (
        'Turn on the {app}.',
        'Could you switch the {app} on?',
        'Please power up the {app}.',
        'Flip the switch of the {app} so it is on.',
        'I need the {app} running. Switch it on.',
        'Can you start the {app} for me?',
        'Go to the {app} and turn it on.',
        'Switch on the {app}, please.',
        'Would you activate the {app}?',
    ),
    'off': (
        'Turn off the {app}.',
        'Could you switch the {app} off?',
        'Please shut the {app} down.',
        'Flip the switch of the {app} so it is off.',
        'The {app} is still on. Switch it off.',
        'Can you stop the {app} for me?',
        'Go to the {app} and turn it off.',
        'Switch off the {app}, please.',
        'Would you power down the {app}?',
    ),
}

#: Canonical tasknames (exact Types), one per task type.
CANONICAL: dict[str, str] = {
    'single_search': 'Find the {obj} in the room.',
    'single_search_from_closerep': 'Find the {obj} in the room.',
    'single_pickup': 'Pick up the {obj}.',
    'single_pickup_from_closerep': 'Pick up the {obj}.',
    'single_toggle': 'Turn {state} the {app}.',
    'pickup_and_put': 'Put the {obj} on the {rec}.',
    'pickup_and_put_in_closerep': 'Put the {obj} in the {rec}.',
    'pickup_from_closerep_and_put': 'Put the {obj} on the {rec}.',
    'pickup_from_closerep_and_put_in_closerep': 'Put the {obj} in the {rec}.',
    'ordered_pickup_two_object_and_put': 'First, place the {obj} on the {rec}, then, place the '
                                         '{obj2} on the {rec2}.',
}

# Long-range tasks are written clause by clause; each clause kind has its own templates.
LONG_CLAUSES: dict[str, tuple[str, ...]] = {
    'place': (
        'put the {obj} on the {rec}', 'place the {obj} on the {rec}',
        'set the {obj} down on the {rec}', 'move the {obj} to the {rec}',
        'bring the {obj} to the {rec}',
    ),
    'place_in': (
        'put the {obj} in the {rec}', 'place the {obj} inside the {rec}',
        'store the {obj} in the {rec}', 'stow the {obj} in the {rec}',
    ),
    'wash': (
        'wash the {obj} under the tap', 'rinse the {obj} in the sink', 'clean the {obj} at the '
        'sink', 'give the {obj} a rinse', 'wash the {obj}',
    ),
    'cook': (
        'turn on the stove to cook it', 'switch the burner on', 'light the stove',
        'turn on the fire', 'start cooking by switching on the stove',
    ),
    'heat': (
        'heat it in the microwave', 'warm it up in the microwave', 'switch the microwave on to '
        'heat it', 'run the microwave to heat it',
    ),
    'toggle_on': (
        'turn on the {app}', 'switch the {app} on', 'power up the {app}',
    ),
}
_STARTS = ('First, ', 'To start, ', 'Please ', '')
_THENS = ('then ', 'next, ', 'after that, ', 'and then ')
_FINALS = ('Finally, ', 'Last, ', 'To finish, ', 'In the end, ')


def phrasing_counts() -> dict[str, int]:
    """Distinct instruction templates per task type."""
    counts = {t: len(set(v)) for t, v in PHRASINGS.items()}
    counts['single_toggle'] = len(set(TOGGLE_PHRASINGS['on'])) + len(
        set(TOGGLE_PHRASINGS['off']))
    # Long-range: the product of clause templates is far larger; count clause templates.
    counts[LONG_RANGE] = sum(
        len(v) for v in LONG_CLAUSES.values())
    return counts


def canonical_taskname(task_type: str, slots: Mapping[str, str]) -> str:
    """The canonical ``taskname`` of a task (exact Types, fixed wording)."""
    if task_type not in CANONICAL:
        raise ValueError(f'no canonical taskname for task type {task_type!r}')
    return CANONICAL[task_type].format(**slots)


def render_instruction(task_type: str, slots: Mapping[str, str], rng: random.Random, *,
                       p_type: float = 0.35) -> tuple[str, int]:
    """A ``taskquery`` for a task: ``(text, template index)``.

    ``slots`` holds Types (``obj``, ``rec``, ``obj2``, ``rec2``, ``app``) and ``state``; each
    Type is written as the Type itself with probability ``p_type``, else an everyday name.

    Raises:
        ValueError: for an unknown task type or a missing slot.
    """
    if task_type == 'single_toggle':
        templates = TOGGLE_PHRASINGS.get(slots.get('state', 'on'))
        if templates is None:
            raise ValueError(f"toggle state must be 'on' or 'off', got {slots.get('state')!r}")
    else:
        templates = PHRASINGS.get(task_type)
        if templates is None:
            raise ValueError(f'no phrasings for task type {task_type!r}')
    idx = rng.randrange(len(templates))
    names = {k: (v if k == 'state' else _name(v, rng, p_type)) for k, v in slots.items()}
    try:
        text = templates[idx].format(**names)
    except KeyError as exc:
        raise ValueError(f'phrasing for {task_type} needs slot {exc}') from None
    return text[0].upper() + text[1:], idx


def render_long_instruction(clauses: list[tuple[str, Mapping[str, str]]],
                            rng: random.Random, *, p_type: float = 0.35) -> str:
    """A long-range ``taskquery`` from ``(clause kind, slots)`` pairs, joined in order."""
    if not clauses:
        raise ValueError('a long-range instruction needs at least one clause')
    parts = []
    for kind, slots in clauses:
        templates = LONG_CLAUSES.get(kind)
        if templates is None:
            raise ValueError(f'unknown long-range clause kind {kind!r}')
        names = {k: _name(v, rng, p_type) for k, v in slots.items()}
        parts.append(rng.choice(templates).format(**names))
    start = rng.choice(_STARTS)
    text = start + parts[0]
    for k, part in enumerate(parts[1:], start=1):
        if k == len(parts) - 1 and len(parts) > 2:
            text += '. ' + rng.choice(_FINALS) + part
        else:
            text += ', ' + rng.choice(_THENS) + part
    text += '.'
    return text[0].upper() + text[1:]


def canonical_long_taskname(clauses: list[tuple[str, Mapping[str, str]]]) -> str:
    """The canonical taskname of a long-range task (first template of each clause)."""
    parts = [LONG_CLAUSES[kind][0].format(**slots) for kind, slots in clauses]
    return 'First, ' + ', then '.join(parts) + '.'
