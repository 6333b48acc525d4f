# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Instruction parsing: the operations an instruction asks for, resolved to the scene's Types.

The expert (:mod:`~ego_reasoner_ros.training.expert`) plans these operations in the world; the
heuristic baseline reads them too. The vocabulary is in
:mod:`~ego_reasoner_ros.training.instruction_words`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ego_reasoner_ros.core.domain import camel_words
from ego_reasoner_ros.training.instruction_words import (
    ANAPHORIC_PLACES, CAPITALISED, CLOSE, COOK, COOL, DEST_PREPS, DISCARD, FIND, HEAT,
    LOC_PREPS, NAV, NOT_TYPES, OFF_WORDS, OPEN, PICK, PICK_TO, PRONOUNS, PUT, PUT_AS_PICK,
    SKIP, SOURCE_PREPS, SPLIT_WORDS, SYNONYMS, TOGGLE, TOGGLE_CHECK, TOKEN, WASH)

# The parser works in three passes: (1) object mentions are found in the text and resolved to
# the scene's Types (exact Types, CamelCase split, plurals, everyday synonyms); each mention
# gets a role from the word before it (object, destination after on/in/into/to, source after
# from/out of, location after under/at, navigation goal after "go to"); (2) the text is split
# into clauses at punctuation and sequencing words (and, then, next, after that, before...);
# (3) each clause's verb cues (put/place/move..., take/grab..., find/locate..., turn on/off...,
# open/close, wash, heat, cook, cool, coffee) bind the nearest mentions or pronouns and emit
# operations, tracking the held object, the focus ("it") and the last place ("there").


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
        raw = TOKEN.findall(text)
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
    while j >= 0 and _is_word(items[j]) and items[j] in SKIP:
        if items[j] == 'of' and j > 0 and items[j - 1] in ('out', 'off', 'outside'):
            return 'source'
        if items[j] == 'of' and j > 0 and items[j - 1] not in ('top',):
            return 'obj'  # "the switch of the Toaster", "a bottle of ..."
        j -= 1
    if j < 0 or not _is_word(items[j]):
        return 'obj'
    w = items[j]
    prev = items[j - 1] if j > 0 and _is_word(items[j - 1]) else ''
    if w in ('on', 'off', 'up', 'down') and (prev in TOGGLE or prev in CLOSE):
        return 'obj'  # a particle: "switch on the TV"
    if w == 'by' and prev == 'followed':
        return 'obj'
    if w in SOURCE_PREPS:
        return 'source'
    if w == 'to' and prev in ('next', 'close'):
        return 'loc'
    if w in DEST_PREPS:
        if w == 'to':
            b = j - 1
            while b >= 0 and _is_word(items[b]) and items[b] in (
                    'over', 'back', 'up', 'down', 'across', 'straight', 'right', 'directly'):
                b -= 1
            if b >= 0 and _is_word(items[b]) and items[b] in NAV:
                return 'nav'
        return 'dest'
    if w in LOC_PREPS:
        return 'loc'
    return 'obj'


def _split_clauses(items: Sequence[Any]) -> list[list[Any]]:
    """Clauses, at punctuation and sequencing words ("and then", "after that", "before")."""
    clauses: list[list[Any]] = [[]]
    for k, item in enumerate(items):
        if item == 'by' and k > 0 and items[k - 1] == 'followed':
            continue  # "..., followed by the Watch on the Drawer"
        split = not isinstance(item, _Mention) and (
            not item[0].isalnum() or item in SPLIT_WORDS
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
        elif w in WASH:
            if _modifies_mention(clause, k, prev):
                continue  # "a clean plate"
            kind = 'wash'
        elif w in HEAT:
            kind = 'heat'
        elif w in COOK:
            kind = 'cook'
        elif w in COOL:
            kind = 'cool'
        elif w == 'coffee' or (w in ('pour', 'pouring', 'poured', 'fill', 'filling', 'make',
                                      'brew', 'brewing') and has_coffee):
            kind = 'coffee' if w == 'coffee' else None
        elif w in ('shut', 'shutting') and any(a in ('down', 'off') for a in after):
            kind = 'toggle'
        elif w in CLOSE:
            if nxt in ('to', 'by'):
                continue
            kind = 'close'
        elif w in OPEN:
            if _modifies_mention(clause, k, prev):
                continue  # "the open drawer"
            kind = 'open'
        elif w in TOGGLE:
            if w.startswith('turn') and not any(a in ('on', 'off') for a in after):
                continue
            if w.startswith('start') and (prev == 'to' or nxt in ('by', 'with', 'off', '')):
                continue
            if w.startswith('light') and not (k + 1 < len(clause) and (
                    isinstance(clause[k + 1], _Mention) or nxt in ('the', 'a', 'up'))):
                continue
            kind = 'toggle'
        elif w in NAV and nxt in ('to', 'over', 'back', 'up', 'across', 'straight'):
            kind = 'nav'
        elif w in PICK:
            kind = 'pick'
        elif w in PUT or w in DISCARD:
            kind = 'put'
        elif w in FIND:
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
            elif item in PRONOUNS:
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
        self.add(Op('toggle', obj, TOGGLE_CHECK.get(obj, ''), alts=alts))

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
        if any(w in ANAPHORIC_PLACES for w in words) and self.place:
            return self.place, ()
        return None, ()

    def cue_put(self, clause: list[Any], k: int, word: str, kinds: set[str]) -> None:
        target = self.bind_after(clause, k) or self.bind_before(clause, k) or 'it'
        obj, oa = self.resolve(target, 'pickupable')
        dest, da = self._dest(clause, k)
        if dest is None and word in DISCARD and (
                word not in PUT or any(w in ('away', 'out') for w in clause[k + 1:])):
            if self.caps is None or 'GarbageCan' in self.caps:
                dest = 'GarbageCan'
        if dest is None:
            if word in PUT_AS_PICK and obj is not None and obj != self.held \
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
        if dest is not None and 'put' not in kinds and word in PICK_TO:
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
        state = 'off' if any(w in OFF_WORDS for w in words) else 'on'
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
    if not w or w in PRONOUNS:
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


def spelled_types(text: str) -> list[str]:
    """Capitalised (CamelCase) words of ``text`` that look like object Types, in order."""
    return [w for w in CAPITALISED.findall(text) if w not in NOT_TYPES]


def parse_without_scene(text: str, known_types: Sequence[str]) -> list[Op]:
    """:func:`parse_instruction` with no scene at hand (the heuristic baseline).

    The vocabulary is the Types ``text`` spells out (:func:`spelled_types`), then
    ``known_types``, first occurrence kept.
    """
    return parse_instruction(text, list(dict.fromkeys([*spelled_types(text), *known_types])))
