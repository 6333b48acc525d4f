# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The scripted expert: reads the instruction and the exact world state, plans, acts.

The expert never sees the task record (key actions, target or related objects). It turns the
instruction into a list of operations (:func:`parse_instruction`), then plans each operation
by trying short candidate action sequences on copies of the world and keeping the first one
whose effect is right (the object is held, the receptacle holds it, the appliance changed
state...). It uses the verbs the reference's key actions use: it opens the closed container
it takes from and closes it again afterwards, opens a closed receptacle before putting into
it, and puts into the receptacle Type named in the instruction.

``ExpertPolicy(search_rank=k)`` first visits ``k`` plausible wrong receptacles (opening and
closing the closed ones) before the right one, for human-like search trajectories.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
import logging
import random
import re
from typing import Any

from ego_reasoner_ros.core.actions import Action, Verb
from ego_reasoner_ros.core.domain import camel_words
from ego_reasoner_ros.core.parser import format_decision
from ego_reasoner_ros.core.policy import Policy, PolicyInput
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.training.sim_env import resolve_world

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- instruction parsing
# The parser works in three passes: (1) object mentions are found in the text and resolved to
# the scene's Types (exact Types, CamelCase split, plurals, everyday synonyms); each mention
# gets a role from the word before it (object, destination after on/in/into/to, source after
# from/out of, location after under/at, navigation goal after "go to"); (2) the text is split
# into clauses at punctuation and sequencing words (and, then, next, after that, before...);
# (3) each clause's verb cues (put/place/move..., take/grab..., find/locate..., turn on/off...,
# open/close, wash, heat, cook, cool, coffee) bind the nearest mentions or pronouns and emit
# operations, tracking the held object, the focus ("it") and the last place ("there").

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

_PRONOUNS = frozenset({'it', 'them', 'they', 'this', 'that'})
#: Words skipped between a preposition and its object ("on the empty plate").
_SKIP = frozenset({
    'the', 'a', 'an', 'some', 'your', 'my', 'our', 'his', 'her', 'its', 'their', 'this', 'that',
    'these', 'those', 'nearby', 'empty', 'clean', 'dirty', 'closest', 'nearest', 'other',
    'same', 'kitchen', 'bathroom', 'bedroom', 'little', 'small', 'big', 'large', 'open',
    'closed', 'white', 'black', 'red', 'green', 'blue', 'wooden', 'one', 'of', 'top'})
_DEST_PREPS = frozenset({'on', 'onto', 'in', 'into', 'inside', 'to', 'atop', 'within',
                         'upon', 'unto'})
_SOURCE_PREPS = frozenset({'from', 'off', 'outta'})
_LOC_PREPS = frozenset({'under', 'at', 'near', 'beside', 'by', 'below', 'beneath', 'behind',
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


_PUT = _inflect('put', 'place', 'set', 'move', 'bring', 'carry', 'relocate', 'store', 'stow',
                'tidy', 'transfer', 'drop', 'leave', 'keep', 'belong', 'sit', 'plonk', 'plop',
                'chuck', 'toss', 'throw', 'return', 'hang', 'lay', 'deposit', 'pop', 'stick',
                'slide', 'insert', 'dump', 'position', 'rest', 'stash', 'shove', 'load',
                'deliver', 'lie', 'stand', 'transport', 'shift', 'arrange', 'park') | {
    'brought', 'kept', 'left', 'laid', 'hung', 'threw', 'thrown', 'stuck', 'sat', 'goes',
    'lain', 'stood'}
#: Put-like verbs that mean "take it" when no destination follows ("bring me the cup").
_PUT_AS_PICK = _inflect('bring', 'carry', 'move', 'relocate', 'transfer', 'transport') | {
    'brought'}
#: Taking verbs that mean "bring it there" when a destination follows.
_PICK_TO = _inflect('take', 'get', 'grab', 'fetch') | {'took', 'taken', 'got', 'gotten'}
_DISCARD = _inflect('discard', 'dispose', 'throw', 'toss', 'chuck', 'dump', 'bin', 'trash',
                    'ditch') | {'threw', 'thrown'}
_PICK = _inflect('take', 'pick', 'grab', 'get', 'fetch', 'collect', 'retrieve', 'hold', 'lift',
                 'obtain', 'acquire', 'snatch', 'gather', 'procure', 'seize', 'nab') | {
    'took', 'taken', 'got', 'gotten', 'held'}
_FIND = _inflect('find', 'locate', 'search', 'look', 'spot', 'track', 'identify', 'seek',
                 'discover', 'see', 'check', 'show', 'point', 'hunt', 'scan') | {
    'found', 'where', 'seen', 'saw', 'sought', 'whereabouts'}
_TOGGLE = _inflect('turn', 'switch', 'power', 'flip', 'activate', 'deactivate', 'toggle',
                   'start', 'stop', 'enable', 'disable', 'boot', 'ignite', 'light', 'kill') | {
    'lit'}
_OFF_WORDS = frozenset({'off', 'down', 'deactivate', 'deactivated', 'deactivating', 'disable',
                        'disabled', 'stop', 'stopped', 'stopping', 'kill', 'shut', 'shutting'})
_OPEN = _inflect('open', 'unlock', 'unseal')
_CLOSE = _inflect('close', 'shut', 'seal') | {'shut'}
_WASH = _inflect('wash', 'rinse', 'clean', 'scrub', 'cleanse', 'scour')
_HEAT = _inflect('heat', 'warm', 'reheat', 'nuke', 'defrost')
_COOK = _inflect('cook', 'fry', 'boil', 'saute', 'roast', 'simmer', 'grill', 'sear', 'poach')
_COOL = _inflect('cool', 'chill', 'refrigerate', 'freeze') | {'froze', 'frozen'}
_NAV = _inflect('go', 'walk', 'head', 'navigate', 'come', 'approach', 'proceed', 'travel',
                'visit', 'run', 'step', 'wander') - {'goes'} | {'went', 'gone', 'came'}
_SPLIT_WORDS = frozenset({'then', 'and', 'next', 'afterwards', 'afterward', 'finally',
                          'lastly', 'eventually', 'subsequently', 'later', 'before', 'followed',
                          'thereafter', 'also', 'plus', 'once', 'but', 'while', 'ultimately'})
_ANAPHORIC_PLACES = frozenset({'there', 'inside', 'in', 'into', 'away', 'back', 'within'})
#: The effect a toggle of these Types must have (see ``_Planner._toggle_ok``).
_TOGGLE_CHECK = {'StoveBurner': 'cook', 'Faucet': 'wash', 'Microwave': 'heat'}
_TOKEN = re.compile(r"[A-Za-z0-9]+|[.?!;:,]")


@dataclass(frozen=True)
class Op:
    """One planned operation: ``find``, ``pickup``, ``put``, ``toggle``, ``open``, ``close``.

    ``alts`` are other Types the mention could mean, tried in order when ``obj`` cannot be
    planned (``"sink"`` -> SinkBasin, then Sink).
    """

    kind: str
    obj: str
    check: str = ''
    alts: tuple[str, ...] = field(default=(), compare=False)
    exact: bool = field(default=False, compare=False)  # the text wrote the Type itself

    def __str__(self) -> str:
        return f'{self.kind} {self.obj}'


@dataclass
class _Mention:
    """A resolved object mention: candidate Types (best first) and its role in the clause."""

    cands: tuple[str, ...]
    text: str
    role: str = 'obj'  # obj | dest | source | loc | nav

    @property
    def exact(self) -> bool:
        """Whether the text wrote a Type itself ("Bathtub", not "bathtub")."""
        return self.text == self.cands[0]


def _forms(word: str) -> list[str]:
    """The word and its possible singulars (potatoes -> potato, knives -> knife)."""
    forms = [word]
    if len(word) > 3 and word.endswith('s') and not word.endswith('ss'):
        forms.append(word[:-1])
        if word.endswith('es'):
            forms.append(word[:-2])
        if word.endswith('ies'):
            forms.append(word[:-3] + 'y')
        if word.endswith('ves'):
            forms += [word[:-3] + 'f', word[:-3] + 'fe']
    return forms


class _Lexicon:
    """Phrase index of one scene's Types (everyday names included)."""

    def __init__(self, scene_types: Sequence[str]) -> None:
        present = list(dict.fromkeys(scene_types))
        self.types = frozenset(present)
        index: dict[tuple[str, ...], list[str]] = {}
        for phrase, cands in SYNONYMS.items():
            got = [c for c in cands if c in self.types]
            if got:
                index.setdefault(tuple(phrase.split()), []).extend(got)
        for t in present:
            words = tuple(w.lower() for w in camel_words(t))
            for key in {words, (t.lower(),)}:
                cands = index.setdefault(key, [])
                if t not in cands:
                    cands.append(t)
        self.index = {k: tuple(dict.fromkeys(v)) for k, v in index.items()}
        self.max_len = max((len(k) for k in self.index), default=1)

    def lookup(self, words: Sequence[str]) -> tuple[str, ...] | None:
        """Candidate Types of a phrase (its last word may be plural)."""
        *head, last = words
        for form in _forms(last):
            cands = self.index.get((*head, form))
            if cands:
                return cands
        return None

    def tokens(self, text: str) -> list[Any]:
        """Words (lower case), punctuation and :class:`_Mention` items of ``text``."""
        raw = _TOKEN.findall(text)
        out: list[Any] = []
        i = 0
        while i < len(raw):
            if not raw[i][0].isalnum():
                out.append(raw[i])
                i += 1
                continue
            found = None
            for n in range(min(self.max_len, len(raw) - i), 0, -1):
                span = raw[i:i + n]
                if not all(w[0].isalnum() for w in span):
                    continue
                cands = self.lookup([w.lower() for w in span])
                if cands:
                    if n == 1 and span[0] in self.types:  # the exact Type comes first
                        cands = (span[0], *[c for c in cands if c != span[0]])
                    found = (n, cands)
                    break
            if found is None:
                out.append(raw[i].lower())
                i += 1
                continue
            n, cands = found
            # "light the stove": a verb, not a mention.
            if n == 1 and raw[i].lower() in ('light', 'lights') and i + 1 < len(raw) \
                    and raw[i + 1].lower() in ('the', 'a', 'up'):
                out.append(raw[i].lower())
                i += 1
                continue
            out.append(_Mention(cands, ' '.join(raw[i:i + n])))
            i += n
        for k, item in enumerate(out):
            if isinstance(item, _Mention):
                item.role = _role(out, k)
        return out


def _is_word(item: Any) -> bool:
    return isinstance(item, str) and item[0].isalnum()


def _role(items: Sequence[Any], k: int) -> str:
    """The role of the mention at ``k`` from the words before it."""
    j = k - 1
    while j >= 0 and _is_word(items[j]) and items[j] in _SKIP:
        if items[j] == 'of' and j > 0 and items[j - 1] in ('out', 'off', 'outside'):
            return 'source'
        if items[j] == 'of' and j > 0 and items[j - 1] not in ('top',):
            return 'obj'  # "the switch of the Toaster", "a bottle of ..."
        j -= 1
    if j < 0 or not _is_word(items[j]):
        return 'obj'
    w = items[j]
    prev = items[j - 1] if j > 0 and _is_word(items[j - 1]) else ''
    if w in ('on', 'off', 'up', 'down') and (prev in _TOGGLE or prev in _CLOSE):
        return 'obj'  # a particle: "switch on the TV"
    if w == 'by' and prev == 'followed':
        return 'obj'
    if w in _SOURCE_PREPS:
        return 'source'
    if w == 'to' and prev in ('next', 'close'):
        return 'loc'
    if w in _DEST_PREPS:
        if w == 'to':
            b = j - 1
            while b >= 0 and _is_word(items[b]) and items[b] in (
                    'over', 'back', 'up', 'down', 'across', 'straight', 'right', 'directly'):
                b -= 1
            if b >= 0 and _is_word(items[b]) and items[b] in _NAV:
                return 'nav'
        return 'dest'
    if w in _LOC_PREPS:
        return 'loc'
    return 'obj'


def _split_clauses(items: Sequence[Any]) -> list[list[Any]]:
    """Clauses, at punctuation and sequencing words ("and then", "after that", "before")."""
    clauses: list[list[Any]] = [[]]
    for k, item in enumerate(items):
        if item == 'by' and k > 0 and items[k - 1] == 'followed':
            continue  # "..., followed by the Watch on the Drawer"
        split = not isinstance(item, _Mention) and (
            not item[0].isalnum() or item in _SPLIT_WORDS
            or (item == 'after' and k + 1 < len(items) and items[k + 1] in (
                'that', 'this', 'which', 'you', 'having', 'doing', 'it')))
        if split:
            if clauses[-1]:
                clauses.append([])
        else:
            clauses[-1].append(item)
    return [c for c in clauses if c]


def _modifies_mention(clause: Sequence[Any], k: int, prev: str) -> bool:
    """Word ``k`` is an adjective between an article and a mention ("the open drawer")."""
    following = clause[k + 1] if k + 1 < len(clause) else None
    return prev in ('a', 'an', 'the') and isinstance(following, _Mention)


def _cues(clause: Sequence[Any]) -> list[tuple[int, str, str]]:
    """``(index, kind, word)`` of the verb cues of a clause, in order."""
    words = [w if isinstance(w, str) else '' for w in clause]
    out: list[tuple[int, str, str]] = []
    has_coffee = 'coffee' in words
    for k, w in enumerate(words):
        nxt = words[k + 1] if k + 1 < len(words) else ''
        prev = words[k - 1] if k > 0 else ''
        after = words[k + 1:]
        kind = None
        if not w:
            continue
        if w in ('take', 'taking', 'took', 'have', 'having', 'give') and nxt in ('a', 'another') \
                and k + 2 < len(words) and words[k + 2] in ('look', 'peek', 'glance'):
            kind = 'find'
        elif w in ('look', 'looking', 'peek', 'glance') and prev in ('a', 'another'):
            continue
        elif w in _WASH:
            if _modifies_mention(clause, k, prev):
                continue  # "a clean plate"
            kind = 'wash'
        elif w in _HEAT:
            kind = 'heat'
        elif w in _COOK:
            kind = 'cook'
        elif w in _COOL:
            kind = 'cool'
        elif w == 'coffee' or (w in ('pour', 'pouring', 'poured', 'fill', 'filling', 'make',
                                      'brew', 'brewing') and has_coffee):
            kind = 'coffee' if w == 'coffee' else None
        elif w in ('shut', 'shutting') and any(a in ('down', 'off') for a in after):
            kind = 'toggle'
        elif w in _CLOSE:
            if nxt in ('to', 'by'):
                continue
            kind = 'close'
        elif w in _OPEN:
            if _modifies_mention(clause, k, prev):
                continue  # "the open drawer"
            kind = 'open'
        elif w in _TOGGLE:
            if w.startswith('turn') and not any(a in ('on', 'off') for a in after):
                continue
            if w.startswith('start') and (prev == 'to' or nxt in ('by', 'with', 'off', '')):
                continue
            if w.startswith('light') and not (k + 1 < len(clause) and (
                    isinstance(clause[k + 1], _Mention) or nxt in ('the', 'a', 'up'))):
                continue
            kind = 'toggle'
        elif w in _NAV and nxt in ('to', 'over', 'back', 'up', 'across', 'straight'):
            kind = 'nav'
        elif w in _PICK:
            kind = 'pick'
        elif w in _PUT or w in _DISCARD:
            kind = 'put'
        elif w in _FIND:
            kind = 'find'
        if kind:
            out.append((k, kind, w))
    return out


class _OpBuilder:
    """Turns clauses into operations, tracking the held object, the focus and the last place."""

    def __init__(self, capabilities: Mapping[str, frozenset[str]] | None) -> None:
        self.caps = capabilities
        self.ops: list[Op] = []
        self.held: str | None = None
        self.focus: str | None = None
        self.place: str | None = None
        self.toggled: dict[str, str | None] = {}
        self.last_put: tuple[str, str] | None = None
        self.toggle_seen = False
        self.pick_seen = False
        self.exact_types: set[str] = set()

    # -- mention resolution
    def choose(self, m: _Mention, need: str = '') -> tuple[str, tuple[str, ...]]:
        """The best Type of a mention for a role (pickupable, receptacle, toggleable...)."""
        if m.exact:
            self.exact_types.add(m.cands[0])
        cands = list(m.cands)
        if need and self.caps is not None:
            cands.sort(key=lambda t: need not in self.caps.get(t, frozenset()))
        return cands[0], tuple(cands[1:])

    def pronoun(self) -> str | None:
        return self.held or self.focus

    @staticmethod
    def bind_after(clause: Sequence[Any], k: int) -> Any:
        """The first object mention (or pronoun) after ``k``.

        Stops at a destination and at the next verb cue ("take a moment to check for the X":
        the X belongs to "check").
        """
        stops = {j for j, _, _ in _cues(clause) if j > k}
        for j, item in enumerate(clause[k + 1:], start=k + 1):
            if j in stops:
                return None
            if isinstance(item, _Mention):
                if item.role in ('obj', 'nav'):
                    return item
                if item.role == 'dest':
                    return None
            elif item in _PRONOUNS:
                return item
        return None

    @staticmethod
    def bind_before(clause: Sequence[Any], k: int) -> Any:
        for item in reversed(clause[:k]):
            if isinstance(item, _Mention) and item.role in ('obj', 'nav'):
                return item
            if isinstance(item, str) and item in ('it', 'them'):
                return item
        return None

    def resolve(self, item: Any, need: str = '') -> tuple[str | None, tuple[str, ...]]:
        if isinstance(item, _Mention):
            return self.choose(item, need)
        if isinstance(item, str):
            return self.pronoun(), ()
        return None, ()

    # -- operations
    def add(self, op: Op) -> None:
        self.ops.append(op)

    def pickup(self, obj: str, alts: tuple[str, ...] = ()) -> None:
        if self.held == obj:
            return
        self.add(Op('pickup', obj, alts=alts))
        self.held = obj
        self.focus = obj

    def put(self, obj: str | None, dest: str | None, obj_alts: tuple[str, ...] = (),
            dest_alts: tuple[str, ...] = (), check: str = '') -> None:
        if obj is None or dest is None or obj == dest:
            return
        if self.last_put == (obj, dest) and self.held != obj:
            return  # "... and leave it there"
        self.pickup(obj, obj_alts)
        self.add(Op('put', dest, check, alts=dest_alts, exact=dest in self.exact_types))
        self.held, self.focus, self.place = None, obj, dest
        self.last_put = (obj, dest)

    def toggle(self, obj: str, alts: tuple[str, ...] = (), state: str | None = None) -> None:
        if obj in self.toggled and (state is None or self.toggled[obj] in (None, state)):
            return
        if obj == 'Microwave' and self.ops and self.ops[-1] == Op('put', 'Microwave'):
            self.add(Op('close', 'Microwave'))
        self.toggled[obj] = state
        self.add(Op('toggle', obj, _TOGGLE_CHECK.get(obj, ''), alts=alts))

    def wash(self, obj: str | None, alts: tuple[str, ...] = ()) -> None:
        if obj is None:
            return
        sink = 'SinkBasin' if self.caps is None or 'SinkBasin' in self.caps else 'Sink'
        block = [Op('put', sink), Op('toggle', 'Faucet', 'wash'), Op('pickup', obj)]
        if self.ops[-3:] == block:
            return  # "rinse it clean": one wash
        self.pickup(obj, alts)
        self.ops.extend(block)
        self.held, self.focus = obj, obj
        self.toggled.pop('Faucet', None)

    def heat(self, obj: str | None, alts: tuple[str, ...] = ()) -> None:
        if self.ops and self.ops[-1] == Op('put', 'Microwave'):
            self.toggle('Microwave', state='on')
            return
        if obj is None or obj == 'Microwave':
            return
        self.put(obj, 'Microwave', alts)
        self.toggled.pop('Microwave', None)
        self.toggle('Microwave', state='on')

    def coffee(self, obj: str | None) -> None:
        if obj is None:
            return
        self.pickup(obj)
        self.ops.extend([Op('put', 'CoffeeMachine'), Op('toggle', 'CoffeeMachine'),
                         Op('pickup', obj)])
        self.held = obj

    # -- clauses
    def clause(self, clause: list[Any]) -> None:
        cues = _cues(clause)
        if not cues:
            self.verbless(clause)
            return
        kinds = {c[1] for c in cues}
        for k, kind, word in cues:
            getattr(self, f'cue_{kind}')(clause, k, word, kinds)

    def verbless(self, clause: list[Any]) -> None:
        """"the Watch on the Drawer", "I need the X on the Y": a placement without a verb."""
        obj = None
        for item in clause:
            if not isinstance(item, _Mention):
                continue
            if item.role in ('obj', 'nav'):
                obj = item
                self.focus = self.choose(item)[0]
            elif item.role == 'dest' and obj is not None:
                o, oa = self.choose(obj, 'pickupable')
                d, da = self.choose(item, 'receptacle')
                self.put(o, d, oa, da)
                obj = None

    def _dest(self, clause: list[Any], k: int) -> tuple[str | None, tuple[str, ...]]:
        for item in clause[k + 1:]:
            if isinstance(item, _Mention) and item.role == 'dest':
                return self.choose(item, 'receptacle')
        words = [w for w in clause[k + 1:] if isinstance(w, str)]
        if any(w in _ANAPHORIC_PLACES for w in words) and self.place:
            return self.place, ()
        return None, ()

    def cue_put(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        target = self.bind_after(clause, k) or self.bind_before(clause, k) or 'it'
        obj, oa = self.resolve(target, 'pickupable')
        dest, da = self._dest(clause, k)
        if dest is None and word in _DISCARD and (
                word not in _PUT or any(w in ('away', 'out') for w in clause[k + 1:])):
            if self.caps is None or 'GarbageCan' in self.caps:
                dest = 'GarbageCan'
        if dest is None:
            if word in _PUT_AS_PICK and obj is not None and obj != self.held \
                    and isinstance(target, _Mention):
                self.pickup(obj, oa)
            return
        self.put(obj, dest, oa, da)

    def cue_pick(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        target = self.bind_after(clause, k)
        if target is None:
            return
        obj, oa = self.resolve(target, 'pickupable')
        if obj is None:
            return
        self.pick_seen = True
        dest, da = self._dest(clause, k)
        if dest is not None and 'put' not in kinds and word in _PICK_TO:
            self.put(obj, dest, oa, da)  # "take the cup to the sink"
            return
        self.pickup(obj, oa)

    def cue_find(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        target = self.bind_after(clause, k)
        if target is None:
            return
        obj, oa = self.resolve(target)
        if obj is not None:
            self.add(Op('find', obj, alts=oa))
            self.focus = obj

    def cue_nav(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        for item in clause[k + 1:]:
            if isinstance(item, _Mention):
                self.focus = self.choose(item)[0]
                return

    def cue_toggle(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self.toggle_seen = True
        target = self.bind_after(clause, k) or self.bind_before(clause, k)
        if isinstance(target, str):
            obj, alts = self.focus, ()
        else:
            obj, alts = self.resolve(target, 'toggleable')
        if obj is None:
            return
        words = [w for w in clause if isinstance(w, str)]
        state = 'off' if any(w in _OFF_WORDS for w in words) else 'on'
        if obj == 'Microwave' and 'heat' in kinds:
            return  # the heat cue switches it on
        self.toggle(obj, alts, state)
        self.focus = obj

    def cue_open(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self._open_close(clause, k, 'open')

    def cue_close(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self._open_close(clause, k, 'close')

    def _open_close(self, clause: list[Any], k: int, kind: str) -> None:
        target = self.bind_after(clause, k)
        if target is None:
            for item in clause[k + 1:]:
                if isinstance(item, _Mention):
                    target = item
                    break
        obj, alts = (self.choose(target, 'openable') if isinstance(target, _Mention)
                     else (self.place or self.focus, ()))
        if obj is None:
            return
        self.add(Op(kind, obj, alts=alts))
        if kind == 'open':
            self.place = obj

    def _object_of(self, clause: list[Any], k: int, exclude: Sequence[str] = ()) -> tuple:
        target = self.bind_after(clause, k) or self.bind_before(clause, k)
        if isinstance(target, _Mention):
            obj, alts = self.choose(target, 'pickupable')
            if obj not in exclude:
                return obj, alts
        return self.pronoun(), ()

    def cue_wash(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self.wash(*self._object_of(clause, k, ('Faucet', 'Sink', 'SinkBasin')))

    def cue_heat(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self.heat(*self._object_of(clause, k, ('Microwave',)))

    def cue_cook(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        if 'toggle' in kinds and any(isinstance(m, _Mention) and 'StoveBurner' in m.cands
                                     for m in clause):
            return  # "turn on the stove to cook it": the toggle cue does it
        if self.caps is None or 'StoveBurner' in self.caps:
            self.toggle('StoveBurner', state='on')

    def cue_cool(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        obj, alts = self._object_of(clause, k, ('Fridge',))
        if self.caps is None or 'Fridge' in self.caps:
            self.put(obj, 'Fridge', alts, check='close_after')

    def cue_coffee(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        self.coffee(self.pronoun())

    # -- the result
    def finish(self, items: Sequence[Any]) -> list[Op]:
        ops = self.ops
        if not ops:
            mentions = [m for m in items if isinstance(m, _Mention)]
            if not mentions:
                return []
            m = next((x for x in mentions if x.role in ('obj', 'nav')), mentions[0])
            if self.toggle_seen:
                obj, alts = self.choose(m, 'toggleable')
                return [Op('toggle', obj, alts=alts)]
            obj, alts = self.choose(m, 'pickupable' if self.pick_seen else '')
            return [Op('pickup' if self.pick_seen else 'find', obj, alts=alts)]
        if any(o.kind != 'find' for o in ops):
            ops = [o for o in ops if o.kind != 'find']  # finding is part of acting
        # Opening a receptacle before putting into it is part of the put.
        ops = [o for k, o in enumerate(ops) if not (o.kind == 'open' and any(
            p.kind == 'put' and p.obj == o.obj for p in ops[k + 1:]))]
        out: list[Op] = []
        for o in ops:
            if out and out[-1] == o and o.kind in ('find', 'open', 'close', 'toggle'):
                continue
            out.append(o)
        if [o.kind for o in out] == ['pickup', 'put', 'pickup', 'put']:
            # Two-object ordered tasks leave receptacles as they found them.
            out = [replace(o, check='close_after') if o.kind == 'put' else o for o in out]
        return out


def capabilities_of(world: Any) -> dict[str, frozenset[str]]:
    """Per scene Type, what some instance can do (pickupable, receptacle, openable...)."""
    caps: dict[str, set[str]] = {}
    for o in world.objects:
        c = caps.setdefault(o.object_type, set())
        for flag in ('pickupable', 'receptacle', 'openable', 'toggleable'):
            if getattr(o, flag, False):
                c.add(flag)
        if o.object_type == 'StoveBurner':
            c.add('toggleable')
    return {t: frozenset(c) for t, c in caps.items()}


def find_mentions(text: str, scene_types: Sequence[str]) -> list[str]:
    """Scene Types mentioned in ``text`` (exact, everyday or plural names), in order."""
    return [m.cands[0] for m in _Lexicon(scene_types).tokens(text) if isinstance(m, _Mention)]


def map_noun(word: str, scene_types: Sequence[str]) -> str | None:
    """Map an everyday noun ("lettuces", "refrigerator") to a scene Type, or None."""
    w = word.lower().strip()
    if not w or w in _PRONOUNS:
        return None
    cands = _Lexicon(scene_types).lookup(w.split())
    return cands[0] if cands else None


def parse_instruction(text: str, scene_types: Sequence[str],
                      capabilities: Mapping[str, frozenset[str]] | None = None) -> list[Op]:
    """The operations an instruction asks for (without the final ``end``).

    Args:
        text: the instruction.
        scene_types: the scene's Types (mentions resolve to these only).
        capabilities: per Type, what it can do (:func:`capabilities_of`); used to choose
            between the Types one name may mean ("lamp", "table", "sink").
    """
    items = _Lexicon(scene_types).tokens(text)
    builder = _OpBuilder(capabilities)
    for clause in _split_clauses(items):
        builder.clause(clause)
    return builder.finish(items)


# ---------------------------------------------------------------- world helpers
@functools.lru_cache(maxsize=1)
def _placement_table() -> ReceptacleCompat:
    """Which receptacle Types usually hold which objects (common-sense placement)."""
    return ReceptacleCompat.default()


def clone_world(world: Any) -> Any:
    """Deep copy of a ``World`` that shares its immutable scene description."""
    memo: dict[int, Any] = {id(world.scene): world.scene}
    stale = getattr(world, '_stale', None)
    if stale is not None:
        memo[id(stale)] = stale
    return copy.deepcopy(world, memo)


Step = tuple[str, str | None]


def _simulate(world: Any, seq: Sequence[Step]) -> Any | None:
    w = clone_world(world)
    for verb, target in seq:
        if not w.apply(verb, target).success:
            return None
    return w


class _Planner:
    """Plans operations on copies of the world."""

    def __init__(self, world: Any) -> None:
        self.meta = {o.object_id: o for o in world.objects}
        self.initially_open = {oid for oid, o in self.meta.items() if o.is_open}
        self.initial_parent = {oid: world.parent(oid) for oid in self.meta}

    def _openable(self, oid: str) -> bool:
        return bool(self.meta[oid].openable)

    def _nav_options(self, w: Any, chain: Sequence[str], extra: Sequence[str] = ()) -> list:
        """None (stay), the Types along ``chain``, ``extra``, then the nearest other Types."""
        options: list[str | None] = [None]
        for t in [w.type_of(c) for c in chain] + list(extra):
            if t not in options:
                options.append(t)
        return options

    def _nearby_types(self, w: Any, oid: str, limit: int = 6) -> list[str]:
        (x0, _, z0), (x1, _, z1) = w.box(oid)
        cx, cz = (x0 + x1) / 2, (z0 + z1) / 2
        scored = []
        for t in w.navigable_types:
            inst = w.instance_for(t)
            if inst is None:
                continue
            (a0, _, b0), (a1, _, b1) = w.box(inst)
            scored.append((((a0 + a1) / 2 - cx) ** 2 + ((b0 + b1) / 2 - cz) ** 2, t))
        return [t for _, t in sorted(scored)[:limit]]

    def _search(self, w: Any, candidates: list[list[Step]], ok) -> tuple[list[Step], Any] | None:  # noqa: ANN001
        prefixes: list[list[Step]] = [[], [('observe', None)],
                                      [('move forward', None), ('observe', None)]]
        # Exploration: go to a known place and look around, which reveals new navigable
        # Types (bounded, only tried when nothing closer works).
        explore = [t for t in w.navigable_types if t != 'Floor'][:8]
        prefixes += [[('navigate to', t), ('observe', None)] for t in explore]
        for prefix in prefixes:
            base = _simulate(w, prefix) if prefix else w
            if base is None:
                continue
            for seq in candidates:
                w2 = _simulate(base, seq)
                if w2 is not None and ok(w2):
                    return prefix + seq, w2
        return None

    def _instances(self, w: Any, obj: str, want) -> list[str]:  # noqa: ANN001
        ids = [i for i in w.objects_of_type(obj) if want(i)]
        ref = w.instance_for(obj)
        if ref in ids:
            ids.remove(ref)
            ids.insert(0, ref)
        return ids

    def _closed_chain(self, w: Any, oid: str, include_self: bool) -> list[str]:
        chain = ([oid] if include_self else []) + w.ancestors(oid)
        closed = [c for c in chain if self._openable(c) and not w.is_open(c)]
        return list(reversed(closed))  # outermost first

    def _reach_candidates(self, w: Any, oid: str, final: list[Step], *,
                          include_self: bool = False) -> list[list[Step]]:
        obj_type = w.type_of(oid)
        opens = [('open', w.type_of(c)) for c in self._closed_chain(w, oid, include_self)]
        chain = w.ancestors(oid)
        options = self._nav_options(w, chain, [obj_type])
        options += [t for t in self._nearby_types(w, oid) if t not in options]
        out = []
        for nav in options:
            seq = ([('navigate to', nav)] if nav else []) + opens + final
            out.append(seq)
        return out

    # ------------------------------------------------------------ operations
    def plan(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        """Plan ``op``; when its Type cannot be planned, its alternatives in order."""
        handler = getattr(self, f'_plan_{op.kind}')
        types = list(dict.fromkeys((op.obj, *op.alts)))
        if op.kind == 'put' and w.held is not None and len(types) > 1 and not op.exact:
            # An ambiguous name ("bathtub") means the place the object is not already in.
            # Then the one the placement table lists for the object (SoapBottle: Bathtub).
            start = self.initial_parent.get(w.held)
            was = w.type_of(start) if start is not None else None
            listed = _placement_table().receptacles_for(w.held_type)
            types.sort(key=lambda t: (t == was, bool(listed) and t not in listed))
        for obj in types:
            if not w.objects_of_type(obj):
                continue
            found = handler(w, op if obj == op.obj else replace(op, obj=obj, alts=()))
            if found is not None:
                return found
        return None

    def _plan_find(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        for oid in ids:
            found = self._search(
                w, self._reach_candidates(w, oid, []),
                lambda w2, oid=oid: op.obj in w2.legal_types and w2.is_visible(oid))
            if found:
                return found
        return None

    def _plan_pickup(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        if w.held_type == op.obj:
            return [], w
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].pickupable))
        # The intended instance first (the simulator may resolve the Type to another one in
        # reach), then any instance of the Type.
        tries = [(oid, lambda w2, oid=oid: w2.held == oid) for oid in ids]
        tries += [(oid, lambda w2: w2.held_type == op.obj) for oid in ids]
        for oid, ok in tries:
            before = w.ancestors(oid)
            found = self._search(w, self._reach_candidates(w, oid, [('pickup', op.obj)]), ok)
            if not found:
                continue
            seq, w2 = found
            # Close what was opened during the episode to take it out (as the key actions do).
            for c in before:
                if self._openable(c) and w2.is_open(c) and c not in self.initially_open:
                    w3 = _simulate(w2, [('close', w2.type_of(c))])
                    if w3 is not None:
                        seq, w2 = seq + [('close', w2.type_of(c))], w3
            return seq, w2
        return None

    def _plan_put(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        held = w.held
        if held is None:
            return None
        ids = self._instances(w, op.obj, lambda i: bool(self.meta[i].receptacle) and i != held)

        def ok_type(w2: Any) -> bool:
            parent = w2.parent(held)
            return w2.held is None and parent is not None and w2.type_of(parent) == op.obj

        # The intended receptacle instance first, then any instance of the Type.
        tries = [(rid, lambda w2, rid=rid: w2.held is None and w2.parent(held) == rid)
                 for rid in ids]
        tries += [(rid, ok_type) for rid in ids]
        for rid, ok in tries:
            found = self._search(
                w, self._reach_candidates(w, rid, [('put', op.obj)], include_self=True), ok)
            if found is None:
                continue
            seq, w2 = found
            if op.check == 'close_after':
                parent = w2.parent(held)
                for c in [parent, *w2.ancestors(parent)]:
                    if self._openable(c) and w2.is_open(c) and c not in self.initially_open:
                        w3 = _simulate(w2, [('close', w2.type_of(c))])
                        if w3 is not None:
                            seq, w2 = seq + [('close', w2.type_of(c))], w3
            return seq, w2
        return None

    def _toggle_ok(self, w: Any, w2: Any, op: Op) -> bool:
        ids = w2.objects_of_type(op.obj)
        if not any(w2.is_toggled(i) != w.is_toggled(i) for i in ids):
            return False
        if op.check == 'cook':
            pans = [p for t in ('Pan', 'Pot') for p in w2.objects_of_type(t)]
            food = [f for p in pans for f in w2.contents(p)]
            return not food or any(w2.is_cooked(f) for f in food)
        if op.check == 'wash':
            basins = [b for t in ('SinkBasin', 'Sink') for b in w2.objects_of_type(t)]
            items = [f for b in basins for f in w2.contents(b)]
            return not items or any(w2.is_clean(f) for f in items)
        if op.check == 'heat':
            items = [f for m in w2.objects_of_type('Microwave') for f in w2.contents(m)]
            return not items or any(w2.is_heated(f) for f in items)
        return True

    def _plan_toggle(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: True)
        # A second toggle reaches the next instance (the first one is already switched), for
        # when the effect needs another faucet or burner than the reference's instance.
        for final in ([('toggle', op.obj)], [('toggle', op.obj)] * 2):
            for tid in ids:
                found = self._search(w, self._reach_candidates(w, tid, final),
                                     lambda w2: self._toggle_ok(w, w2, op))
                if found:
                    return found
        # Accept any state change when the effect check cannot be met.
        for tid in ids:
            found = self._search(w, self._reach_candidates(w, tid, [('toggle', op.obj)]),
                                 lambda w2: self._toggle_ok(w, w2, Op('toggle', op.obj)))
            if found:
                return found
        return None

    def _plan_open(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, True)

    def _plan_close(self, w: Any, op: Op) -> tuple[list[Step], Any] | None:
        return self._open_close(w, op, False)

    def _open_close(self, w: Any, op: Op, want_open: bool) -> tuple[list[Step], Any] | None:
        ids = self._instances(w, op.obj, lambda i: self._openable(i)
                              and bool(w.is_open(i)) != want_open)
        verb = 'open' if want_open else 'close'
        for oid in ids:
            found = self._search(w, self._reach_candidates(w, oid, [(verb, op.obj)]),
                                 lambda w2, oid=oid: bool(w2.is_open(oid)) == want_open)
            if found:
                return found
        return None

    # ------------------------------------------------------------ decoys
    def decoy_visits(self, w: Any, op: Op, count: int, rng: random.Random) -> list[Step]:
        """Visit ``count`` plausible wrong receptacles first (human-like search)."""
        if count <= 0 or op.kind not in ('find', 'pickup'):
            return []
        targets = w.objects_of_type(op.obj)
        true_types = {w.type_of(a) for t in targets for a in w.ancestors(t)}
        pool = sorted({w.type_of(i) for i in (w.instance_for(t) for t in w.navigable_types)
                       if i is not None and self.meta[i].receptacle
                       and w.type_of(i) not in true_types and w.type_of(i) != 'Floor'
                       and not any(w.type_of(c) == op.obj for c in w.contents(i))})
        rng.shuffle(pool)
        seq: list[Step] = []
        visited = 0
        for t in pool:
            if visited >= count:
                break
            inst = w.instance_for(t)
            steps: list[Step] = [('navigate to', t)]
            if self._openable(inst) and not w.is_open(inst):
                steps += [('open', t), ('close', t)]
            w2 = _simulate(w, steps)
            if w2 is None:
                continue
            seq += steps
            w = w2
            visited += 1
        return seq


class ExpertPolicy(Policy):
    """Scripted expert with exact world access (see the module docstring).

    Args:
        search_rank: how many wrong receptacles to visit before the right one (0: none).
        rng: random source for choosing those receptacles (seeded from ``reset(seed=...)``
            when not given).
        thoughts: prefix each decision with a short ``<Thinking>`` text.
    """

    name = 'expert'
    needs_world = True
    needs_images = False

    def __init__(self, search_rank: int = 0, rng: random.Random | None = None, *,
                 thoughts: bool = True) -> None:
        if search_rank < 0:
            raise ValueError(f'search_rank must be >= 0, got {search_rank}')
        self.search_rank = int(search_rank)
        self._fixed_rng = rng
        self.rng = rng or random.Random(0)
        self.thoughts = thoughts
        self.world: Any = None
        self.ops: list[Op] = []
        self._queue: list[tuple[Step, int, str]] = []
        self._next_op = 0
        self._planner: _Planner | None = None
        self.instruction = ''

    def reset(self, instruction: str, *, seed: int | None = None,
              world: object | None = None) -> None:
        """Parse the instruction against the world's Types and plan the first operations."""
        if world is None:
            raise ValueError('the expert needs the world state (world=...)')
        world = resolve_world(world)
        self.world = world
        self.instruction = instruction
        if self._fixed_rng is None:
            self.rng = random.Random(seed if seed is not None else 0)
        self.ops = parse_instruction(instruction, world.scene_types(), capabilities_of(world))
        logger.debug('expert plan for %r: %s', instruction, [str(o) for o in self.ops])
        self._planner = _Planner(world)
        self._queue = []
        self._next_op = 0
        self._replan(first=True)

    def _replan(self, first: bool = False) -> None:
        """Plan every remaining operation from the live world state."""
        assert self._planner is not None
        w = clone_world(self.world)
        queue: list[tuple[Step, int, str]] = []
        if first and self.search_rank and self.ops:
            for step in self._planner.decoy_visits(w, self.ops[0], self.search_rank, self.rng):
                queue.append((step, 0, 'decoy'))
            if queue:
                w = _simulate(w, [s for s, _, _ in queue]) or w
        for k in range(self._next_op, len(self.ops)):
            op = self.ops[k]
            found = self._planner.plan(w, op)
            if found is None:
                logger.debug('expert: cannot plan %s', op)
                continue
            seq, w = found
            queue += [(s, k, str(op)) for s in seq]
        self._queue = queue

    def planned_steps(self) -> list[Step]:
        """The (verb, target) steps still planned, in order (after :meth:`reset`)."""
        return [step for step, _, _ in self._queue]

    def act(self, inp: PolicyInput) -> str:
        """The next action of the plan, re-planned after any failure."""
        if self.world is None:
            raise RuntimeError('call reset() before act()')
        if inp.last_success is False:
            self._replan()
        if not self._queue:
            return self._text(Action(Verb.END), 'Everything asked for is done.')
        (verb, target), k, why = self._queue.pop(0)
        self._next_op = k  # a failure re-plans from this operation
        return self._text(Action(Verb(verb), target), f'To {why}, I will {verb}'
                          + (f' the {target}.' if target else '.'))

    def _text(self, action: Action, thought: str) -> str:
        if not self.thoughts:
            return format_decision(action)
        return f'<Thinking>{thought}</Thinking>\n{format_decision(action)}'
