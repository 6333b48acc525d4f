# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The world's derived-state rules and the Type sets they read.

Embodied-Reasoner's rules are continuous: after every successful action, objects in a basin whose
faucet runs are clean, food in a pan/pot on a lit burner or in a running microwave is cooked, and
anything in a closed fridge is cooled. ALFRED's rule set (``"alfred"``) sets these states at
events instead (sim_bridge.alfred.AlfredWorld), so the continuous update is skipped.
"""

from __future__ import annotations

import numpy as np

#: Receptacles that hold their contents inside rather than on top.
INSIDE_TYPES = frozenset(
    {
        "SinkBasin", "BathtubBasin", "Sink", "Bathtub", "Pan", "Pot", "Bowl", "Mug", "Cup",
        "Box", "GarbageCan", "LaundryHamper", "Microwave", "Fridge", "Toaster", "Drawer",
        "Cabinet", "Safe", "Kettle", "CoffeeMachine",
    }
)
#: Food that cooks in a pan or pot on a lit burner, besides objects flagged ``cookable``.
FOOD_TYPES = frozenset(
    {
        "Apple", "AppleSliced", "Bread", "BreadSliced", "Egg", "EggCracked", "Lettuce",
        "LettuceSliced", "Potato", "PotatoSliced", "Tomato", "TomatoSliced",
    }
)
COOKWARE_TYPES = frozenset({"Pan", "Pot"})
WASH_BASINS = frozenset({"SinkBasin", "BathtubBasin", "Sink", "Bathtub"})

#: Derived-state rule sets: Embodied-Reasoner's (continuous) and ALFRED's (event-based).
RULE_SETS = ("er", "alfred")


class DerivedStateRules:
    """Mixed into :class:`~ego_reasoner_ros.sim_bridge.world.World`: clean/cooked/heated/cooled."""

    def is_clean(self, object_id: str) -> bool:
        """Washed during the episode (in a basin while its faucet ran)."""
        return bool(self._clean[self._idx(object_id)])

    def is_cooked(self, object_id: str) -> bool:
        """Cooked (at reset, or food in a pan/pot on a lit burner, or in a running microwave)."""
        return bool(self._cooked[self._idx(object_id)])

    def is_heated(self, object_id: str) -> bool:
        """Heated in a running microwave or on a lit burner during the episode."""
        return bool(self._heated[self._idx(object_id)])

    def is_cooled(self, object_id: str) -> bool:
        """Inside a closed fridge at some point during the episode."""
        return bool(self._cooled[self._idx(object_id)])

    def _update_derived(self) -> None:
        if self.rules != "er":
            return
        on = [self._is_on(i) for i in range(len(self.ids))]
        for i, t in enumerate(self.types):
            if t in WASH_BASINS and self._faucet_on(i, on):
                for k in self._descendants(i):
                    self._clean[k] = True
            elif t == "StoveBurner" and on[i]:
                for k in self._contents[i]:
                    if self._is_food(k):
                        self._cooked[k] = self._heated[k] = True
                    if self.types[k] in COOKWARE_TYPES:
                        self._heated[k] = True
                        for f in self._descendants(k):
                            if self._is_food(f):
                                self._cooked[f] = True
                            self._heated[f] = True
            elif t == "Microwave" and on[i]:
                for k in self._descendants(i):
                    self._heated[k] = True
                    if self._is_food(k):
                        self._cooked[k] = True
            elif t == "Fridge" and not self._open[i]:
                for k in self._descendants(i):
                    self._cooled[k] = True

    def _is_food(self, k: int) -> bool:
        return self.scene.objects[k].cookable or self.types[k] in FOOD_TYPES

    def _faucet_on(self, basin: int, on: list[bool]) -> bool:
        faucets = [i for i, t in enumerate(self.types) if t in ("Faucet", "ShowerHead")]
        if not faucets:
            return False
        c = (self._box_min[basin] + self._box_max[basin]) * 0.5
        cf = (self._box_min[faucets] + self._box_max[faucets]) * 0.5
        nearest = faucets[int(np.argmin(np.linalg.norm(cf - c, axis=1)))]
        return on[nearest]
