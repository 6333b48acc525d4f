# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Fixed, deterministic colours for AI2-THOR object types.

Common types get a hand-picked colour that hints at the real object (a red apple, a
white fridge, a wooden table) while keeping neighbours in a typical scene apart.
Any other type gets a colour derived from a stable hash of its name (never Python's
salted ``hash``), so a type renders the same in every process and on every machine.
"""

from __future__ import annotations

import colorsys
import hashlib

RGB = tuple[int, int, int]

# Hand-picked palette (r, g, b). Kept distinct within each room type.
_PALETTE: dict[str, RGB] = {
    # structure
    'Floor': (150, 132, 112),
    'Window': (170, 215, 240),
    'Painting': (190, 60, 140),
    'Poster': (220, 110, 170),
    'Mirror': (200, 230, 235),
    'Curtains': (120, 60, 110),
    'Blinds': (215, 205, 180),
    'LightSwitch': (245, 245, 235),
    # kitchen furniture and appliances
    'CounterTop': (205, 200, 190),
    'Cabinet': (160, 110, 70),
    'Drawer': (185, 135, 85),
    'Fridge': (232, 236, 240),
    'Sink': (150, 160, 170),
    'SinkBasin': (110, 125, 140),
    'Faucet': (200, 200, 210),
    'StoveBurner': (40, 40, 45),
    'StoveKnob': (90, 90, 95),
    'Microwave': (70, 75, 85),
    'CoffeeMachine': (60, 40, 35),
    'Toaster': (190, 190, 200),
    'DiningTable': (140, 95, 55),
    'Chair': (105, 75, 50),
    'Stool': (125, 85, 60),
    'GarbageCan': (90, 110, 90),
    'Shelf': (175, 150, 120),
    'ShelvingUnit': (130, 110, 90),
    # small kitchen objects
    'Apple': (200, 30, 35),
    'Tomato': (235, 60, 30),
    'Potato': (180, 145, 90),
    'Lettuce': (110, 190, 70),
    'Bread': (215, 165, 95),
    'Egg': (245, 240, 220),
    'Bowl': (240, 220, 160),
    'Plate': (250, 250, 245),
    'Cup': (80, 160, 220),
    'Mug': (30, 120, 180),
    'Pot': (120, 120, 125),
    'Pan': (55, 55, 60),
    'Kettle': (175, 60, 60),
    'Knife': (210, 210, 220),
    'ButterKnife': (225, 225, 200),
    'Fork': (195, 200, 215),
    'Spoon': (185, 190, 205),
    'Spatula': (240, 140, 40),
    'Ladle': (160, 165, 175),
    'SaltShaker': (240, 240, 250),
    'PepperShaker': (50, 45, 45),
    'DishSponge': (250, 220, 60),
    'SoapBottle': (90, 200, 200),
    'PaperTowelRoll': (245, 245, 230),
    'Bottle': (40, 140, 80),
    'WineBottle': (100, 20, 40),
    'HousePlant': (40, 140, 50),
    # living room
    'Sofa': (70, 90, 150),
    'ArmChair': (110, 80, 140),
    'CoffeeTable': (120, 80, 45),
    'SideTable': (150, 105, 65),
    'TVStand': (60, 55, 50),
    'Television': (20, 20, 25),
    'FloorLamp': (240, 210, 120),
    'DeskLamp': (250, 200, 90),
    'Box': (190, 150, 100),
    'RemoteControl': (35, 35, 40),
    'KeyChain': (230, 190, 40),
    'CreditCard': (40, 90, 200),
    'Book': (170, 40, 50),
    'Newspaper': (215, 215, 205),
    'Laptop': (100, 105, 115),
    'Pillow': (230, 180, 190),
    'Statue': (175, 160, 140),
    'Vase': (60, 160, 170),
    'Watch': (210, 170, 60),
    'TissueBox': (120, 190, 230),
    'CellPhone': (25, 30, 45),
    'Pen': (20, 60, 170),
    'Pencil': (250, 200, 30),
    'Candle': (250, 240, 200),
    'Ottoman': (140, 100, 120),
    # bedroom
    'Bed': (200, 190, 230),
    'Dresser': (135, 90, 60),
    'Desk': (160, 120, 80),
    'AlarmClock': (220, 60, 60),
    'BaseballBat': (200, 160, 100),
    'BasketBall': (230, 110, 30),
    'TennisRacket': (60, 200, 120),
    'TeddyBear': (150, 100, 60),
    'CD': (200, 200, 230),
    'Cloth': (150, 200, 160),
    'LaundryHamper': (180, 170, 140),
    'Safe': (80, 80, 80),
    # bathroom
    'Toilet': (245, 245, 250),
    'ToiletPaper': (252, 252, 245),
    'ToiletPaperHanger': (170, 170, 180),
    'Bathtub': (235, 240, 245),
    'BathtubBasin': (205, 220, 235),
    'Towel': (60, 170, 190),
    'TowelHolder': (160, 160, 170),
    'HandTowel': (240, 130, 120),
    'HandTowelHolder': (150, 150, 160),
    'SoapBar': (250, 190, 210),
    'SprayBottle': (80, 210, 90),
    'Plunger': (150, 40, 40),
    'ScrubBrush': (60, 100, 220),
    'ShowerCurtain': (170, 210, 230),
    'ShowerHead': (180, 185, 195),
    'ShowerDoor': (200, 225, 235),
    'ShowerGlass': (210, 235, 240),
}


def _hashed_color(object_type: str) -> RGB:
    """Colour from a stable digest of the name: saturated, mid-brightness."""
    digest = hashlib.sha256(object_type.encode('utf-8')).digest()
    hue = int.from_bytes(digest[:2], 'big') / 65536.0
    sat = 0.45 + 0.4 * digest[2] / 255.0
    val = 0.55 + 0.35 * digest[3] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


_CACHE: dict[str, RGB] = {}


def type_color(object_type: str) -> RGB:
    """Return the fixed ``(r, g, b)`` colour (0-255 ints) of an AI2-THOR object type."""
    if not isinstance(object_type, str) or not object_type:
        raise ValueError(f'object_type must be a non-empty string, got {object_type!r}')
    color = _CACHE.get(object_type)
    if color is None:
        color = _PALETTE.get(object_type) or _hashed_color(object_type)
        _CACHE[object_type] = color
    return color


def palette_types() -> tuple[str, ...]:
    """Types that have a hand-picked colour (the rest use the hash fallback)."""
    return tuple(_PALETTE)
