# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Rendering through the simulator: what the agent is shown follows the world state."""

from __future__ import annotations


import numpy as np
import pytest

from ego_reasoner_ros.sim_bridge.registry import SimConfig, make_sim
from ego_reasoner_ros.sim_bridge.render import write_png
from data_paths import ER_DATA

DATA = ER_DATA
pytestmark = pytest.mark.skipif(not (DATA / 'scenes').is_dir(), reason='public data absent')


def _ids_in_view(obs: dict, frame: int = 0) -> set[str]:
    mask = obs['instance_mask'][frame]
    ids = obs['instance_ids']
    return {ids[int(i)] for i in np.unique(mask) if i >= 0}


def test_navigated_object_is_in_view_and_closing_its_container_hides_it(tmp_path):
    sim = make_sim(SimConfig(render=True, instance_mask=True, width=224, height=224))
    sim.reset(options={'scene': 'FloorPlan1', 'scenes_dir': str(DATA / 'scenes'),
                       'task': {'navigable_objects': ['Fridge']}})
    egg = sim.world.objects_of_type('Egg')[0]
    fridge = sim.world.objects_of_type('Fridge')[0]

    obs, _, _, _, info = sim.step('navigate to Fridge')
    assert info['success'], info['feedback']
    assert fridge in _ids_in_view(obs), 'the navigated object is in the frame'
    assert egg not in _ids_in_view(obs), 'contents of a closed fridge are hidden'

    obs, _, _, _, info = sim.step('open Fridge')
    assert info['success'], info['feedback']
    assert egg in _ids_in_view(obs), 'an open fridge shows its contents'
    write_png(tmp_path / 'fridge_open.png', obs['images'][0])

    obs, _, _, _, info = sim.step('close Fridge')
    assert info['success'], info['feedback']
    assert egg not in _ids_in_view(obs), 'closing the container hides it again'
    write_png(tmp_path / 'fridge_closed.png', obs['images'][0])
    assert (tmp_path / 'fridge_open.png').stat().st_size > 0


def test_held_object_stays_in_view():
    sim = make_sim(SimConfig(render=True, instance_mask=True, width=224, height=224))
    sim.reset(options={'scene': 'FloorPlan1', 'scenes_dir': str(DATA / 'scenes'),
                       'task': {'navigable_objects': ['CounterTop'],
                                'target_objects': ['CounterTop|-00.08|+01.15|00.00']}})
    apple = sim.world.objects_of_type('Apple')[0]
    sim.step('navigate to CounterTop')
    obs, _, _, _, info = sim.step('pickup Apple')
    assert info['success'], info['feedback']
    assert apple in _ids_in_view(obs)
