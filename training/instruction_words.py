# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The instruction parser's vocabulary: everyday object names and the verb and word sets.

Everyday names map to candidate scene Types (:data:`SYNONYMS`); the word sets are the cues of
:mod:`~ego_reasoner_ros.training.instruction_parser` (verbs with their inflections,
prepositions that give a mention its role, sequencing words that split clauses).
"""

from __future__ import annotations

import re

#: Everyday names -> candidate scene Types, best first (Types absent from the scene are
#: dropped). Exact Types, their CamelCase words and their plurals need no entry.
SYNONYMS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(('refrigerator', 'fridge', 'freezer', 'icebox'), ('Fridge',)),
    **dict.fromkeys(('counter', 'kitchen counter', 'worktop', 'work top', 'work surface'),
                    ('CounterTop',)),
    **dict.fromkeys(('stove', 'burner', 'hob', 'cooktop', 'stovetop', 'stove top', 'cooker',
                     'fire', 'gas'), ('StoveBurner',)),
    **dict.fromkeys(('sink', 'kitchen sink', 'wash basin', 'washbasin', 'wash bowl'),
                    ('SinkBasin', 'Sink')),
    'basin': ('SinkBasin', 'BathtubBasin', 'Sink'),
    # "bathtub" names both; the capabilities of the scene's Types decide first.
    **dict.fromkeys(('bathtub', 'bath tub'), ('Bathtub', 'BathtubBasin')),
    **dict.fromkeys(('tub', 'bath', 'bathtub basin'), ('BathtubBasin', 'Bathtub')),
    **dict.fromkeys(('garbage can', 'trash can', 'trash', 'garbage', 'bin', 'rubbish bin',
                     'trash bin', 'waste bin', 'wastebasket', 'waste basket', 'dustbin',
                     'rubbish', 'litter bin', 'wastebin', 'garbage bin'), ('GarbageCan',)),
    **dict.fromkeys(('garbage bag', 'bin bag', 'trash bag', 'rubbish bag'), ('GarbageBag',)),
    **dict.fromkeys(('sofa', 'couch', 'settee'), ('Sofa',)),
    **dict.fromkeys(('armchair', 'arm chair', 'easy chair'), ('ArmChair',)),
    'lamp': ('DeskLamp', 'FloorLamp'),
    **dict.fromkeys(('reading lamp', 'table lamp', 'bedside lamp'), ('DeskLamp',)),
    **dict.fromkeys(('standing lamp', 'standard lamp'), ('FloorLamp',)),
    **dict.fromkeys(('tv', 'telly', 'television set', 'tv set'), ('Television',)),
    **dict.fromkeys(('tv stand', 'television stand', 'tv table', 'tv cabinet', 'tv unit'),
                    ('TVStand',)),
    **dict.fromkeys(('remote', 'tv remote', 'remote control', 'remote controller', 'clicker'),
                    ('RemoteControl',)),
    **dict.fromkeys(('phone', 'cellphone', 'mobile phone', 'mobile', 'smartphone',
                     'smart phone', 'telephone'), ('CellPhone',)),
    **dict.fromkeys(('keys', 'key', 'keychain', 'key ring', 'keyring', 'set of keys'),
                    ('KeyChain',)),
    **dict.fromkeys(('card', 'bank card', 'debit card', 'payment card'), ('CreditCard',)),
    'sponge': ('DishSponge',),
    **dict.fromkeys(('salt', 'salt cellar'), ('SaltShaker',)),
    **dict.fromkeys(('pepper', 'pepper pot', 'pepper mill'), ('PepperShaker',)),
    'soap': ('SoapBar', 'SoapBottle'),
    **dict.fromkeys(('bar of soap', 'soap bar'), ('SoapBar',)),
    **dict.fromkeys(('bottle of soap', 'soap dispenser', 'liquid soap'), ('SoapBottle',)),
    **dict.fromkeys(('wine', 'bottle of wine'), ('WineBottle',)),
    **dict.fromkeys(('toilet roll', 'loo roll', 'roll of toilet paper'), ('ToiletPaper',)),
    **dict.fromkeys(('kitchen roll', 'paper towel', 'roll of paper towels', 'paper towels'),
                    ('PaperTowelRoll',)),
    **dict.fromkeys(('notebook computer', 'computer', 'notebook', 'laptop computer'),
                    ('Laptop', 'Desktop')),
    **dict.fromkeys(('desktop computer', 'pc'), ('Desktop',)),
    **dict.fromkeys(('plant', 'houseplant', 'potted plant', 'pot plant', 'indoor plant'),
                    ('HousePlant',)),
    **dict.fromkeys(('tissues', 'tissue', 'box of tissues', 'tissue box', 'kleenex'),
                    ('TissueBox',)),
    'bat': ('BaseballBat',),
    **dict.fromkeys(('racket', 'racquet', 'tennis racquet'), ('TennisRacket',)),
    **dict.fromkeys(('teddy', 'stuffed bear', 'stuffed animal', 'teddybear'), ('TeddyBear',)),
    **dict.fromkeys(('ball', 'basket ball'), ('BasketBall',)),
    **dict.fromkeys(('laundry basket', 'hamper', 'laundry bin', 'clothes basket'),
                    ('LaundryHamper',)),
    **dict.fromkeys(('clock', 'alarm'), ('AlarmClock',)),
    **dict.fromkeys(('shelves', 'shelving', 'bookshelf', 'bookcase', 'shelf unit'),
                    ('ShelvingUnit', 'Shelf')),
    'shelf': ('Shelf', 'ShelvingUnit'),
    **dict.fromkeys(('compact disc', 'compact disk', 'disc', 'disk', 'cd'), ('CD',)),
    'tap': ('Faucet',),
    'table': ('DiningTable', 'CoffeeTable', 'SideTable', 'Desk'),
    **dict.fromkeys(('kitchen table', 'dinner table'), ('DiningTable',)),
    **dict.fromkeys(('low table', 'living room table'), ('CoffeeTable',)),
    **dict.fromkeys(('bedside table', 'end table', 'nightstand', 'night stand', 'night table'),
                    ('SideTable',)),
    **dict.fromkeys(('coffee maker', 'coffeemaker', 'espresso machine', 'coffee pot'),
                    ('CoffeeMachine',)),
    **dict.fromkeys(('microwave oven', 'oven'), ('Microwave',)),
    'cupboard': ('Cabinet',),
    'chest of drawers': ('Dresser',),
    'towel': ('Towel', 'HandTowel'),
    **dict.fromkeys(('towel rail', 'towel rack', 'towel holder', 'towel bar'),
                    ('TowelHolder', 'HandTowelHolder')),
    **dict.fromkeys(('toilet roll holder', 'toilet paper holder'), ('ToiletPaperHanger',)),
    **dict.fromkeys(('frying pan', 'skillet', 'fry pan'), ('Pan',)),
    **dict.fromkeys(('saucepan', 'cooking pot', 'stock pot'), ('Pot',)),
    'coffee mug': ('Mug',),
    **dict.fromkeys(('dish', 'dinner plate'), ('Plate', 'Bowl')),
    'spray': ('SprayBottle',),
    'brush': ('ScrubBrush',),
    **dict.fromkeys(('vacuum', 'hoover'), ('VacuumCleaner',)),
    **dict.fromkeys(('foil', 'aluminium foil', 'tin foil', 'tinfoil'), ('AluminumFoil',)),
    **dict.fromkeys(('weight', 'hand weight'), ('Dumbbell',)),
    **dict.fromkeys(('boot', 'pair of boots'), ('Boots',)),
    **dict.fromkeys(('paper', 'news paper'), ('Newspaper',)),
    **dict.fromkeys(('picture', 'artwork'), ('Painting', 'Poster')),
    'curtain': ('Curtains', 'ShowerCurtain'),
    'loo': ('Toilet',),
    'footrest': ('Footstool', 'Ottoman'),
    'wristwatch': ('Watch',),
    'sculpture': ('Statue',),
    'cushion': ('Pillow',),
    'rag': ('Cloth',),
    'light switch': ('LightSwitch',),
}
#: Backwards-compatible name.
NOUN_SYNONYMS = SYNONYMS

PRONOUNS = frozenset({'it', 'them', 'they', 'this', 'that'})
#: Words skipped between a preposition and its object ("on the empty plate").
SKIP = frozenset({
    'the', 'a', 'an', 'some', 'your', 'my', 'our', 'his', 'her', 'its', 'their', 'this', 'that',
    'these', 'those', 'nearby', 'empty', 'clean', 'dirty', 'closest', 'nearest', 'other',
    'same', 'kitchen', 'bathroom', 'bedroom', 'little', 'small', 'big', 'large', 'open',
    'closed', 'white', 'black', 'red', 'green', 'blue', 'wooden', 'one', 'of', 'top'})
DEST_PREPS = frozenset({'on', 'onto', 'in', 'into', 'inside', 'to', 'atop', 'within',
                         'upon', 'unto'})
SOURCE_PREPS = frozenset({'from', 'off', 'outta'})
LOC_PREPS = frozenset({'under', 'at', 'near', 'beside', 'by', 'below', 'beneath', 'behind',
                        'next', 'around', 'across', 'underneath'})


def _inflect(*bases: str) -> frozenset[str]:
    """Regular verb forms of ``bases`` (put -> puts, putting; place -> placed, placing)."""
    out: set[str] = set()
    for b in bases:
        out |= {b, b + 's', b + 'es', b + 'ed', b + 'ing'}
        if b.endswith('e'):
            out |= {b[:-1] + 'ing', b + 'd'}
        if b.endswith('y'):
            out |= {b[:-1] + 'ies', b[:-1] + 'ied'}
        if re.search(r'[^aeiou][aeiou][bdgmnprt]$', b):
            out |= {b + b[-1] + 'ing', b + b[-1] + 'ed'}
    return frozenset(out)


PUT = _inflect('put', 'place', 'set', 'move', 'bring', 'carry', 'relocate', 'store', 'stow',
                'tidy', 'transfer', 'drop', 'leave', 'keep', 'belong', 'sit', 'plonk', 'plop',
                'chuck', 'toss', 'throw', 'return', 'hang', 'lay', 'deposit', 'pop', 'stick',
                'slide', 'insert', 'dump', 'position', 'rest', 'stash', 'shove', 'load',
                'deliver', 'lie', 'stand', 'transport', 'shift', 'arrange', 'park') | {
    'brought', 'kept', 'left', 'laid', 'hung', 'threw', 'thrown', 'stuck', 'sat', 'goes',
    'lain', 'stood'}
#: Put-like verbs that mean "take it" when no destination follows ("bring me the cup").
PUT_AS_PICK = _inflect('bring', 'carry', 'move', 'relocate', 'transfer', 'transport') | {
    'brought'}
#: Taking verbs that mean "bring it there" when a destination follows.
PICK_TO = _inflect('take', 'get', 'grab', 'fetch') | {'took', 'taken', 'got', 'gotten'}
DISCARD = _inflect('discard', 'dispose', 'throw', 'toss', 'chuck', 'dump', 'bin', 'trash',
                    'ditch') | {'threw', 'thrown'}
PICK = _inflect('take', 'pick', 'grab', 'get', 'fetch', 'collect', 'retrieve', 'hold', 'lift',
                 'obtain', 'acquire', 'snatch', 'gather', 'procure', 'seize', 'nab') | {
    'took', 'taken', 'got', 'gotten', 'held'}
FIND = _inflect('find', 'locate', 'search', 'look', 'spot', 'track', 'identify', 'seek',
                 'discover', 'see', 'check', 'show', 'point', 'hunt', 'scan') | {
    'found', 'where', 'seen', 'saw', 'sought', 'whereabouts'}
TOGGLE = _inflect('turn', 'switch', 'power', 'flip', 'activate', 'deactivate', 'toggle',
                   'start', 'stop', 'enable', 'disable', 'boot', 'ignite', 'light', 'kill') | {
    'lit'}
OFF_WORDS = frozenset({'off', 'down', 'deactivate', 'deactivated', 'deactivating', 'disable',
                        'disabled', 'stop', 'stopped', 'stopping', 'kill', 'shut', 'shutting'})
OPEN = _inflect('open', 'unlock', 'unseal')
CLOSE = _inflect('close', 'shut', 'seal') | {'shut'}
WASH = _inflect('wash', 'rinse', 'clean', 'scrub', 'cleanse', 'scour')
HEAT = _inflect('heat', 'warm', 'reheat', 'nuke', 'defrost')
COOK = _inflect('cook', 'fry', 'boil', 'saute', 'roast', 'simmer', 'grill', 'sear', 'poach')
COOL = _inflect('cool', 'chill', 'refrigerate', 'freeze') | {'froze', 'frozen'}
NAV = _inflect('go', 'walk', 'head', 'navigate', 'come', 'approach', 'proceed', 'travel',
                'visit', 'run', 'step', 'wander') - {'goes'} | {'went', 'gone', 'came'}
SPLIT_WORDS = frozenset({'then', 'and', 'next', 'afterwards', 'afterward', 'finally',
                          'lastly', 'eventually', 'subsequently', 'later', 'before', 'followed',
                          'thereafter', 'also', 'plus', 'once', 'but', 'while', 'ultimately'})
ANAPHORIC_PLACES = frozenset({'there', 'inside', 'in', 'into', 'away', 'back', 'within'})
#: The effect a toggle of these Types must have (see ``expert_planner.Planner._toggle_ok``).
TOGGLE_CHECK = {'StoveBurner': 'cook', 'Faucet': 'wash', 'Microwave': 'heat'}
TOKEN = re.compile(r"[A-Za-z0-9]+|[.?!;:,]")
#: Capitalised words, CamelCase included: the Type names a text may spell out.
CAPITALISED = re.compile(r'\b[A-Z][a-z]+(?:[A-Z][a-z]*)*\b')
#: Capitalised words that start sentences rather than name Types.
NOT_TYPES = frozenset({'Please', 'Could', 'Would', 'Can', 'First', 'Then', 'After', 'Kindly',
                       'It', 'I', 'Do', 'Is', 'Look', 'Take', 'See', 'Try', 'Feel', 'Powering',
                       'If', 'Next', 'Finally', 'Hi', 'May', 'Put', 'Are'})
