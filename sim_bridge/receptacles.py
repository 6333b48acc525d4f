# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Which receptacle types may hold which object types.

The public Embodied-Reasoner data ships ``pick_up_and_put.json``: a list of one-key dicts
``{ObjectType: [ReceptacleType, ...]}``. Its names carry stray spaces and ``*`` suffixes
(``"TissueBox "``, ``"AppleSliced*"``, ``" Microwave"``); they are normalised here. When
the file is not available, a small built-in table (written for this package and
consistent with the public one for every pair it lists) keeps procedural scenes working
on a fresh clone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
import logging
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import DataError

logger = logging.getLogger(__name__)

__all__ = ['ReceptacleCompat', 'builtin_table']

_KITCHEN_FOOD = ('Fridge', 'CounterTop', 'DiningTable', 'SinkBasin', 'GarbageCan')
_LIVING = ('Sofa', 'ArmChair', 'CoffeeTable', 'SideTable', 'TVStand', 'Dresser', 'Desk',
           'DiningTable', 'Shelf')

# Built-in fallback, ObjectType -> receptacle types (a subset of the public table).
_BUILTIN: dict[str, tuple[str, ...]] = {
    'Apple': _KITCHEN_FOOD + ('Microwave', 'SideTable'),
    'Tomato': _KITCHEN_FOOD,
    'Potato': _KITCHEN_FOOD + ('Microwave',),
    'Lettuce': _KITCHEN_FOOD,
    'Egg': _KITCHEN_FOOD + ('Microwave',),
    'Bread': ('Fridge', 'CounterTop', 'DiningTable', 'Microwave', 'GarbageCan'),
    'Bowl': ('Fridge', 'Microwave', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin',
             'Shelf'),
    'Cup': ('Fridge', 'Microwave', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin',
            'Shelf'),
    'Plate': ('Fridge', 'Microwave', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin',
              'Shelf'),
    'Mug': ('Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin', 'Shelf', 'SideTable',
            'CoffeeTable'),
    'Pot': ('StoveBurner', 'Fridge', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Pan': ('StoveBurner', 'Fridge', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Kettle': ('StoveBurner', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin', 'Shelf'),
    'Knife': ('Drawer', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'ButterKnife': ('Drawer', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Fork': ('Drawer', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Spoon': ('Drawer', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Spatula': ('Drawer', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'Ladle': ('Drawer', 'Cabinet', 'CounterTop', 'DiningTable', 'SinkBasin'),
    'SaltShaker': ('Drawer', 'Cabinet', 'Shelf', 'CounterTop', 'DiningTable', 'SideTable'),
    'PepperShaker': ('Drawer', 'Cabinet', 'Shelf', 'CounterTop', 'DiningTable', 'SideTable'),
    'DishSponge': ('SinkBasin', 'Drawer', 'Cabinet', 'CounterTop', 'Shelf', 'BathtubBasin',
                   'Toilet', 'GarbageCan'),
    'SoapBottle': ('CounterTop', 'Cabinet', 'Shelf', 'Drawer', 'Toilet', 'Bathtub',
                   'Dresser', 'Desk', 'SideTable', 'GarbageCan'),
    'Bottle': ('Fridge', 'Cabinet', 'CounterTop', 'DiningTable', 'Shelf', 'SinkBasin'),
    'WineBottle': ('Fridge', 'Cabinet', 'CounterTop', 'DiningTable', 'Shelf'),
    'Book': _LIVING + ('Bed', 'Drawer', 'Cabinet', 'CounterTop'),
    'CellPhone': _LIVING + ('Bed', 'Drawer', 'CounterTop'),
    'CreditCard': _LIVING + ('Drawer', 'CounterTop'),
    'KeyChain': _LIVING + ('Drawer', 'CounterTop'),
    'RemoteControl': _LIVING + ('Drawer',),
    'Laptop': ('Sofa', 'ArmChair', 'CoffeeTable', 'SideTable', 'TVStand', 'Dresser', 'Desk',
               'DiningTable', 'Bed'),
    'Newspaper': _LIVING + ('Bed', 'Drawer'),
    'Pillow': ('Sofa', 'ArmChair', 'Bed'),
    'Statue': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'CoffeeTable', 'TVStand',
               'DiningTable', 'CounterTop'),
    'Vase': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'CoffeeTable', 'TVStand', 'DiningTable',
             'CounterTop', 'Cabinet'),
    'Watch': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'CoffeeTable', 'TVStand', 'Drawer'),
    'AlarmClock': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'TVStand'),
    'Pen': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'Drawer', 'DiningTable'),
    'Pencil': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'Drawer', 'DiningTable'),
    'CD': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'Drawer', 'Sofa', 'ArmChair'),
    'TissueBox': ('Shelf', 'Dresser', 'Desk', 'SideTable', 'CoffeeTable', 'Toilet', 'Drawer',
                  'CounterTop'),
    'Candle': ('Shelf', 'Dresser', 'SideTable', 'CoffeeTable', 'Toilet', 'Bathtub', 'Drawer',
               'CounterTop', 'Cabinet'),
    'BaseballBat': ('Bed', 'Desk', 'SideTable'),
    'BasketBall': ('Bed', 'Sofa', 'ArmChair', 'Desk', 'Dresser'),
    'TennisRacket': ('Bed', 'Desk', 'Dresser'),
    'TeddyBear': ('Bed', 'Sofa', 'ArmChair', 'Dresser', 'Desk'),
    'Cloth': ('BathtubBasin', 'SinkBasin', 'Toilet', 'Cabinet', 'Drawer', 'CounterTop',
              'Dresser', 'Shelf', 'GarbageCan'),
    'SoapBar': ('BathtubBasin', 'SinkBasin', 'Toilet', 'Cabinet', 'CounterTop', 'Shelf',
                'Drawer'),
    'SprayBottle': ('Toilet', 'Cabinet', 'CounterTop', 'Shelf', 'Drawer', 'GarbageCan'),
    'ToiletPaper': ('Toilet', 'ToiletPaperHanger', 'Cabinet', 'CounterTop', 'Shelf',
                    'Drawer'),
    'Towel': ('TowelHolder',),
    'HandTowel': ('HandTowelHolder',),
    'Plunger': ('Cabinet',),
}


def _clean(name: str) -> str:
    return name.strip().rstrip('*').strip()


def builtin_table() -> dict[str, tuple[str, ...]]:
    """A copy of the built-in fallback compatibility table."""
    return dict(_BUILTIN)


class ReceptacleCompat:
    """Object-type -> allowed receptacle-type table.

    ``SinkBasin``/``Sink`` and ``BathtubBasin``/``Bathtub`` are treated as interchangeable
    (the data engine renames Sink to SinkBasin, and the public table lists both).
    """

    _ALIASES = {'Sink': 'SinkBasin', 'Bathtub': 'BathtubBasin'}

    def __init__(self, table: Mapping[str, Iterable[str]], source: str = 'custom') -> None:
        cleaned: dict[str, tuple[str, ...]] = {}
        for obj, recs in table.items():
            if not isinstance(obj, str):
                raise DataError(f'object type must be a string, got {obj!r}')
            seen: dict[str, None] = {}
            for rec in recs:
                if not isinstance(rec, str):
                    raise DataError(f'receptacle type must be a string, got {rec!r}')
                if _clean(rec):
                    seen[_clean(rec)] = None
            key = _clean(obj)
            merged = dict.fromkeys(cleaned.get(key, ()))
            merged.update(seen)
            cleaned[key] = tuple(merged)
        self._table = cleaned
        self.source = source
        self._sets = {k: {self._canon(r) for r in v} for k, v in cleaned.items()}

    @classmethod
    def _canon(cls, rtype: str) -> str:
        return cls._ALIASES.get(rtype, rtype)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReceptacleCompat:
        """Parse ``pick_up_and_put.json`` (a list of one-key dicts, or one plain dict)."""
        p = Path(path)
        try:
            raw: Any = json.loads(p.read_text(encoding='utf-8'))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f'cannot read receptacle table {p}: {exc}') from exc
        entries: list[tuple[str, Any]] = []
        if isinstance(raw, dict):
            entries = list(raw.items())
        elif isinstance(raw, list):
            for item in raw:
                if not isinstance(item, dict):
                    raise DataError(f'{p}: expected a list of dicts, found {type(item).__name__}')
                entries.extend(item.items())
        else:
            raise DataError(f'{p}: expected a list or dict at top level')
        table: dict[str, list[str]] = {}
        for obj, recs in entries:
            if not isinstance(recs, list):
                raise DataError(f'{p}: receptacles of {obj!r} must be a list')
            table.setdefault(obj, []).extend(recs)
        return cls(table, source=str(p))

    @classmethod
    def builtin(cls) -> ReceptacleCompat:
        """The built-in fallback table."""
        return cls(_BUILTIN, source='builtin')

    @classmethod
    def default(cls, data_dir: str | os.PathLike[str] | None = None) -> ReceptacleCompat:
        """The public table from the data root when it can be found, else the built-in one."""
        from ego_reasoner_ros.core import data_store

        try:
            root = data_store.resolve_data_dir(data_dir)
        except DataError:
            logger.debug('public data not found; using the built-in receptacle table')
            return cls.builtin()
        path = data_store.receptacle_compat_path(root, required=False)
        if not path.is_file():
            return cls.builtin()
        return cls.load(path)

    def object_types(self) -> tuple[str, ...]:
        """Object types with at least one allowed receptacle."""
        return tuple(k for k, v in self._table.items() if v)

    def receptacles_for(self, obj_type: str) -> tuple[str, ...]:
        """Receptacle types that may hold ``obj_type`` (empty when unknown)."""
        return self._table.get(obj_type, ())

    def accepts(self, receptacle_type: str, obj_type: str) -> bool:
        """Whether ``obj_type`` may be put on/in ``receptacle_type``."""
        allowed = self._sets.get(obj_type)
        return bool(allowed) and self._canon(receptacle_type) in allowed

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f'ReceptacleCompat(source={self.source!r}, types={len(self._table)})'
