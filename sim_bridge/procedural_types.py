# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The procedural generator's tables: Type flags, small-object sizes, room contents.

Read by the layout builder (:mod:`procedural_layout`), the room furnishers
(:mod:`procedural_furnish`), the metadata writer (:mod:`procedural_metadata`) and the scene
check in :mod:`procedural`.
"""

from __future__ import annotations

AGENT_Y = 0.9009991
CAMERA_OFFSET = 0.675  # AI2-THOR cameraPosition.y - agent.position.y when standing

# flags: p pickupable, r receptacle, o openable, t toggleable, c cookable, s sliceable,
# b breakable, d dirtyable, f canFillWithLiquid, h isHeatSource, k isColdSource, m moveable
FLAGS: dict[str, str] = {
    'Floor': 'r', 'CounterTop': 'r', 'Cabinet': 'ro', 'Drawer': 'ro', 'Fridge': 'rok',
    'Sink': '', 'SinkBasin': 'r', 'Faucet': 't', 'StoveBurner': 'rh', 'StoveKnob': 't',
    'Microwave': 'roth', 'CoffeeMachine': 'rtbhm', 'Toaster': 'rthm', 'DiningTable': 'r',
    'Chair': 'rm', 'Stool': 'rm', 'GarbageCan': 'rm', 'Shelf': 'r', 'ShelvingUnit': 'm',
    'Window': 'b', 'LightSwitch': 't', 'Painting': '', 'Mirror': 'bd', 'Sofa': 'rm',
    'ArmChair': 'rm', 'CoffeeTable': 'rm', 'SideTable': 'rm', 'TVStand': 'rm',
    'Television': 'tbm', 'FloorLamp': 'tm', 'DeskLamp': 'tm', 'HousePlant': 'fm',
    'Bed': 'rdm', 'Dresser': 'rm', 'Desk': 'rm', 'Toilet': 'ro', 'Bathtub': 'r',
    'BathtubBasin': 'r', 'TowelHolder': 'r', 'HandTowelHolder': 'r', 'ToiletPaperHanger': 'r',
    'Apple': 'ps', 'Tomato': 'ps', 'Potato': 'pcs', 'Lettuce': 'ps', 'Egg': 'psb',
    'Bread': 'ps', 'Bowl': 'prbdf', 'Cup': 'prbdf', 'Plate': 'prbd', 'Mug': 'prbdf',
    'Pot': 'prdf', 'Pan': 'prd', 'Kettle': 'pof', 'Knife': 'p', 'ButterKnife': 'p',
    'Fork': 'p', 'Spoon': 'p', 'Spatula': 'p', 'Ladle': 'p', 'SaltShaker': 'p',
    'PepperShaker': 'p', 'DishSponge': 'p', 'SoapBottle': 'p', 'Bottle': 'pbf',
    'WineBottle': 'pbf', 'Book': 'po', 'CellPhone': 'ptb', 'CreditCard': 'p', 'KeyChain': 'p',
    'RemoteControl': 'p', 'Laptop': 'potb', 'Newspaper': 'p', 'Pillow': 'p', 'Statue': 'pb',
    'Vase': 'pb', 'Watch': 'p', 'AlarmClock': 'p', 'Pen': 'p', 'Pencil': 'p', 'CD': 'p',
    'TissueBox': 'p', 'Candle': 'pt', 'BaseballBat': 'p', 'BasketBall': 'p',
    'TennisRacket': 'p', 'TeddyBear': 'p', 'Cloth': 'pd', 'SoapBar': 'p', 'SprayBottle': 'p',
    'ToiletPaper': 'p', 'Towel': 'p', 'HandTowel': 'p', 'Plunger': 'p',
}
FLAG_KEYS = {'p': 'pickupable', 'r': 'receptacle', 'o': 'openable', 't': 'toggleable',
              'c': 'cookable', 's': 'sliceable', 'b': 'breakable', 'd': 'dirtyable',
              'f': 'canFillWithLiquid', 'h': 'isHeatSource', 'k': 'isColdSource',
              'm': 'moveable'}
ON_BY_DEFAULT = {'LightSwitch', 'DeskLamp', 'FloorLamp'}

# small objects: (long horizontal side, short horizontal side, height) in metres
SMALL_DIMS: dict[str, tuple[float, float, float]] = {
    'Apple': (0.11, 0.11, 0.11), 'Tomato': (0.12, 0.11, 0.09), 'Potato': (0.11, 0.09, 0.07),
    'Lettuce': (0.22, 0.17, 0.15), 'Egg': (0.07, 0.06, 0.06), 'Bread': (0.29, 0.14, 0.14),
    'Bowl': (0.19, 0.19, 0.08), 'Cup': (0.09, 0.09, 0.14), 'Plate': (0.24, 0.24, 0.02),
    'Mug': (0.13, 0.10, 0.10), 'Pot': (0.36, 0.26, 0.15), 'Pan': (0.41, 0.26, 0.05),
    'Kettle': (0.21, 0.20, 0.19), 'Knife': (0.29, 0.04, 0.02), 'ButterKnife': (0.26, 0.03, 0.01),
    'Fork': (0.25, 0.03, 0.02), 'Spoon': (0.21, 0.04, 0.02), 'Spatula': (0.30, 0.09, 0.02),
    'Ladle': (0.25, 0.10, 0.06), 'SaltShaker': (0.07, 0.07, 0.11),
    'PepperShaker': (0.07, 0.07, 0.11), 'DishSponge': (0.15, 0.09, 0.03),
    'SoapBottle': (0.11, 0.08, 0.22), 'Bottle': (0.11, 0.11, 0.25),
    'WineBottle': (0.09, 0.09, 0.33), 'Book': (0.33, 0.24, 0.04), 'CellPhone': (0.16, 0.08, 0.01),
    'CreditCard': (0.09, 0.06, 0.005), 'KeyChain': (0.12, 0.06, 0.01),
    'RemoteControl': (0.22, 0.07, 0.02), 'Laptop': (0.42, 0.30, 0.03),
    'Newspaper': (0.36, 0.23, 0.03), 'Pillow': (0.50, 0.33, 0.14), 'Statue': (0.20, 0.16, 0.30),
    'Vase': (0.18, 0.18, 0.24), 'Watch': (0.08, 0.05, 0.04), 'AlarmClock': (0.20, 0.13, 0.17),
    'Pen': (0.15, 0.02, 0.02), 'Pencil': (0.17, 0.02, 0.01), 'CD': (0.12, 0.12, 0.01),
    'TissueBox': (0.22, 0.12, 0.12), 'Candle': (0.06, 0.06, 0.13),
    'BaseballBat': (0.90, 0.08, 0.08), 'BasketBall': (0.24, 0.24, 0.24),
    'TennisRacket': (0.65, 0.28, 0.04), 'TeddyBear': (0.36, 0.30, 0.40),
    'Cloth': (0.21, 0.18, 0.02), 'SoapBar': (0.10, 0.06, 0.03), 'SprayBottle': (0.11, 0.06, 0.25),
    'ToiletPaper': (0.11, 0.11, 0.12), 'Towel': (0.45, 0.05, 0.55),
    'HandTowel': (0.20, 0.04, 0.35), 'Plunger': (0.15, 0.15, 0.45),
}

SMALL_BY_ROOM: dict[str, tuple[str, ...]] = {
    'kitchen': ('Apple', 'Tomato', 'Potato', 'Lettuce', 'Egg', 'Bread', 'Bowl', 'Cup', 'Plate',
                'Mug', 'Pot', 'Pan', 'Kettle', 'Knife', 'ButterKnife', 'Fork', 'Spoon',
                'Spatula', 'Ladle', 'SaltShaker', 'PepperShaker', 'DishSponge', 'SoapBottle',
                'Bottle', 'WineBottle', 'CreditCard', 'Book', 'CellPhone'),
    'living_room': ('RemoteControl', 'KeyChain', 'CreditCard', 'Book', 'Newspaper', 'Laptop',
                    'Pillow', 'Statue', 'Vase', 'Watch', 'TissueBox', 'CellPhone', 'Pen',
                    'Pencil', 'Bowl', 'Candle', 'Plate'),
    'bedroom': ('AlarmClock', 'BaseballBat', 'BasketBall', 'TennisRacket', 'TeddyBear', 'CD',
                'Book', 'CellPhone', 'CreditCard', 'KeyChain', 'Laptop', 'Pillow', 'Pen',
                'Pencil', 'Watch', 'Mug', 'Statue', 'Vase', 'TissueBox'),
    'bathroom': ('SoapBar', 'SoapBottle', 'SprayBottle', 'ToiletPaper', 'Cloth', 'DishSponge',
                 'Candle', 'TissueBox', 'Plunger'),
}

CONTAINERS = {'Fridge', 'Cabinet', 'Drawer', 'Microwave', 'SinkBasin', 'BathtubBasin',
               'GarbageCan', 'Box', 'Safe', 'LaundryHamper'}
HOLDERS = {'TowelHolder', 'HandTowelHolder', 'ToiletPaperHanger'}
PARTS = {'Drawer', 'Shelf', 'SinkBasin', 'BathtubBasin', 'StoveKnob', 'StoveBurner', 'Faucet'}
DECOR = {'Window', 'Painting', 'Mirror', 'Curtains', 'Poster', 'Blinds'}
ROOM_SIZE = {'kitchen': (3.6, 5.6), 'living_room': (4.2, 6.6), 'bedroom': (3.6, 5.4),
              'bathroom': (2.6, 3.8)}
