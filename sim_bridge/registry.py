# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Simulator configuration and the backend registry (``embedded`` | ``ai2thor``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ego_reasoner_ros.sim_bridge.base import SimBackend
from ego_reasoner_ros.sim_bridge.world_rules import RULE_SETS

SIM_TYPES = ("embedded", "ai2thor")


@dataclass
class SimConfig:
    """Settings shared by the backends.

    Attributes:
        type: ``"embedded"`` or ``"ai2thor"``.
        width, height, fov: camera (vertical FOV, degrees); the legality frustum uses them too.
        render: produce RGB frames (the embedded backend needs ``sim_bridge.render``).
        depth, instance_mask: add ``obs["depth"]`` / ``obs["instance_mask"]``.
        observe_composite: return the reference's 3-panel composite for ``observe``.
        visibility_distance: metres (the reference evaluates with 20).
        move_distance: metres per ``move forward`` (0.5 at evaluation, 1.0 in training data).
        scenes_dir: where scene names are looked up when ``reset`` gets a name.
        put_table: optional Type -> receptacle Types enforced by ``put`` (embedded only).
        rules: derived-state rule set of the embedded world (``RULE_SETS``):
            ``"er"`` (Embodied-Reasoner's continuous rule) or ``"alfred"`` (set at events).
        local_executable_path: AI2-THOR Unity build to use (ai2thor only).
        ai2thor_kwargs: extra ``Controller`` keyword arguments (ai2thor only).
    """

    type: str = "embedded"
    width: int = 448
    height: int = 448
    fov: float = 90.0
    render: bool = True
    depth: bool = False
    instance_mask: bool = False
    observe_composite: bool = False
    visibility_distance: float = 20.0
    move_distance: float = 0.5
    scenes_dir: str | Path | None = None
    put_table: dict[str, list[str]] | None = None
    rules: str = "er"
    local_executable_path: str | None = None
    ai2thor_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in SIM_TYPES:
            raise ValueError(f"unknown simulator type {self.type!r}; expected one of {SIM_TYPES}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"frame size must be positive, got {self.width}x{self.height}")
        if not 1.0 <= float(self.fov) < 180.0:
            raise ValueError(f"fov must be in [1, 180), got {self.fov}")
        if self.visibility_distance <= 0 or self.move_distance <= 0:
            raise ValueError("visibility_distance and move_distance must be positive")
        if self.rules not in RULE_SETS:
            raise ValueError(f"unknown rule set {self.rules!r}; expected one of {RULE_SETS}")


def make_sim(config: SimConfig) -> SimBackend:
    """Build the backend named by ``config.type`` (``embedded`` or ``ai2thor``)."""
    if not isinstance(config, SimConfig):
        raise TypeError(f"make_sim takes a SimConfig, got {type(config).__name__}")
    if config.type == "embedded":
        from ego_reasoner_ros.sim_bridge.embedded import EmbeddedSim

        return EmbeddedSim(config)
    from ego_reasoner_ros.sim_bridge.ai2thor_sim import AI2ThorSim

    return AI2ThorSim(config)
