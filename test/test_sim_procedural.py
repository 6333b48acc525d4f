# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Tests of the procedural scene generator, its validator and the receptacle table."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

from data_paths import ER_DATA

from ego_reasoner_ros.sim_bridge import navigation
from ego_reasoner_ros.sim_bridge.procedural import (
    ROOM_FOLDERS, ROOM_TYPES, generate_scene, generate_scenes, navigation_grid, validate_scene,
    write_scene)
from ego_reasoner_ros.sim_bridge.procedural_types import CAMERA_OFFSET
from ego_reasoner_ros.sim_bridge.receptacles import ReceptacleCompat
from ego_reasoner_ros.sim_bridge.render import (
    BoxRenderer, CameraPose, boxes_from_objects, write_png)

_DATA = ER_DATA
_TABLE = _DATA / 'pick_up_and_put.json'
BUILTIN = ReceptacleCompat.builtin()
ID_RE = re.compile(r'^[A-Za-z]+\|(?:[+-]\d\d\.\d\d|00\.00)(?:\|(?:[+-]\d\d\.\d\d|00\.00)){2}'
                   r'(?:\|(SinkBasin|BathtubBasin))?$')


def test_all_seeds_validate_with_builtin_table():
    for seed in range(100):
        meta = generate_scene(seed, compat=BUILTIN)
        assert meta['sceneName'] == f'Procedural_{ROOM_TYPES[seed % 4]}_{seed:04d}'
        assert validate_scene(meta, BUILTIN) == []


@pytest.mark.skipif(not _TABLE.is_file(), reason='public pick_up_and_put.json not available')
def test_seeds_validate_with_public_table():
    public = ReceptacleCompat.load(_TABLE)
    for seed in range(0, 100, 3):
        meta = generate_scene(seed, compat=public)
        assert validate_scene(meta, public) == []


def test_determinism_per_seed():
    a = generate_scene(7, 'kitchen', compat=BUILTIN)
    b = generate_scene(7, 'kitchen', compat=BUILTIN)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = generate_scene(8, 'kitchen', compat=BUILTIN)
    assert json.dumps(a, sort_keys=True) != json.dumps(c, sort_keys=True)


def test_metadata_shape_matches_ai2thor():
    meta = generate_scene(0, 'kitchen', compat=BUILTIN)
    types = {o['objectType'] for o in meta['objects']}
    for t in ('CounterTop', 'Cabinet', 'Fridge', 'Sink', 'SinkBasin', 'Faucet', 'StoveBurner',
              'StoveKnob', 'Microwave', 'Floor'):
        assert t in types, t
    by_id = {o['objectId']: o for o in meta['objects']}
    assert len(by_id) == len(meta['objects'])
    for o in meta['objects']:
        assert ID_RE.match(o['objectId']), o['objectId']
        box = o['axisAlignedBoundingBox']
        assert len(box['cornerPoints']) == 8 and set(box['size']) == {'x', 'y', 'z'}
        for key in ('pickupable', 'receptacle', 'openable', 'isOpen', 'toggleable', 'isToggled',
                    'visible', 'cookable', 'parentReceptacles', 'receptacleObjectIds', 'name'):
            assert key in o
        if o['receptacle']:
            for child in o['receptacleObjectIds']:
                assert o['objectId'] in by_id[child]['parentReceptacles']
        else:
            assert o['receptacleObjectIds'] is None
    basin = next(o for o in meta['objects'] if o['objectType'] == 'SinkBasin')
    sink_id = basin['objectId'].rsplit('|', 1)[0]
    assert by_id[sink_id]['objectType'] == 'Sink'
    knobs = [o for o in meta['objects'] if o['objectType'] == 'StoveKnob']
    assert all(by_id[k['controlledObjects'][0]]['objectType'] == 'StoveBurner' for k in knobs)
    ag = meta['agent']
    assert ag['rotation']['y'] % 90 == 0 and ag['cameraHorizon'] == 0.0
    assert meta['cameraPosition']['y'] == pytest.approx(ag['position']['y'] + CAMERA_OFFSET)
    assert len(meta['sceneBounds']['cornerPoints']) == 8


def test_some_objects_start_inside_closed_containers():
    inside = 0
    for seed in range(0, 40, 4):  # kitchens
        meta = generate_scene(seed, compat=BUILTIN)
        by_id = {o['objectId']: o for o in meta['objects']}
        for o in meta['objects']:
            if o['pickupable']:
                parent = by_id[o['parentReceptacles'][-1]]
                inside += parent['openable'] and not parent['isOpen']
    assert inside >= 10


def test_validator_reports_problems():
    meta = generate_scene(1, 'living_room', compat=BUILTIN)
    bad = copy.deepcopy(meta)
    small = next(o for o in bad['objects'] if o['pickupable'])
    small['axisAlignedBoundingBox']['center']['y'] += 0.5
    assert any('floating' in p for p in validate_scene(bad, BUILTIN))
    bad = copy.deepcopy(meta)
    sofa = next(o for o in bad['objects'] if o['objectType'] == 'Sofa')
    other = next(o for o in bad['objects'] if o['objectType'] in ('TVStand', 'FloorLamp'))
    other['axisAlignedBoundingBox'] = copy.deepcopy(sofa['axisAlignedBoundingBox'])
    assert any('overlap' in p for p in validate_scene(bad, BUILTIN))
    bad = copy.deepcopy(meta)
    floor = next(o for o in bad['objects'] if o['objectType'] == 'Floor')
    ag = bad['agent']['position']
    wall = {'objectType': 'Wall', 'objectId': 'Wall|x', 'pickupable': False,
            'parentReceptacles': None,
            'axisAlignedBoundingBox': {'center': {'x': ag['x'], 'y': 1.0, 'z': ag['z']},
                                       'size': {'x': 0.3, 'y': 2.0, 'z': 0.3}}}
    bad['objects'].append(wall)
    problems = validate_scene(bad, BUILTIN)
    assert 'agent start is not a free grid cell' in problems
    assert any(p.startswith('unreachable') for p in problems)
    assert floor['objectType'] == 'Floor'


def test_validator_and_simulator_share_one_grid():
    from ego_reasoner_ros.sim_bridge.scene import Scene
    from ego_reasoner_ros.sim_bridge.world import World

    for seed in (2, 5, 11):
        meta = generate_scene(seed, compat=BUILTIN)
        grid = navigation_grid(meta)
        world = World(Scene.from_metadata(meta))
        assert grid.radius == navigation.AGENT_RADIUS == 0.15
        np.testing.assert_array_equal(grid.cells, world.reachable_positions)
        ag = meta['agent']['position']
        # the start is a grid point the simulator can stand on, kept clear of every obstacle
        assert grid.index(ag['x'], ag['z']) in {grid.index(x, z) for x, z in grid.cells}
        roomy = navigation_grid(meta, clearance=0.2)
        assert roomy.free[roomy.index(ag['x'], ag['z'])]
        assert roomy.free.sum() < grid.free.sum()
    # what blocks the simulator blocks the validator: a box in the floor band at the start
    bad = copy.deepcopy(generate_scene(2, compat=BUILTIN))
    ag = bad['agent']['position']
    bad['objects'].append({
        'objectType': 'Ottoman', 'objectId': 'Ottoman|x', 'pickupable': False,
        'parentReceptacles': None,
        'axisAlignedBoundingBox': {'center': {'x': ag['x'], 'y': 0.2, 'z': ag['z']},
                                   'size': {'x': 0.3, 'y': 0.4, 'z': 0.3}}})
    assert 'agent start is not a free grid cell' in validate_scene(bad, BUILTIN)
    # ... and what the simulator walks under (above the floor band) does not
    bad['objects'][-1]['axisAlignedBoundingBox']['center']['y'] = 1.2
    assert 'agent start is not a free grid cell' not in validate_scene(bad, BUILTIN)


def test_write_scene_layout(tmp_path):
    folder = write_scene(tmp_path, 5, 'bathroom', compat=BUILTIN)
    assert folder == tmp_path / 'bathrooms' / 'Procedural_bathroom_0005'
    meta = json.loads((folder / 'metadata.json').read_text())
    assert isinstance(meta, list) and len(meta) == 1
    origin = json.loads((folder / 'originPos.json').read_text())
    assert origin['position'] == meta[0]['agent']['position']
    paths = generate_scenes(tmp_path / 'many', 4, seed0=10, compat=BUILTIN)
    assert [p.parent.name for p in paths] == [ROOM_FOLDERS[ROOM_TYPES[s % 4]]
                                              for s in range(10, 14)]


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate_scene(-1)
    with pytest.raises(ValueError):
        generate_scene(0, 'garage')


def test_receptacle_table_builtin_and_public(tmp_path):
    assert BUILTIN.accepts('Fridge', 'Apple') and not BUILTIN.accepts('Toilet', 'Apple')
    assert BUILTIN.accepts('Sink', 'DishSponge')  # Sink and SinkBasin are aliases
    assert 'Drawer' in BUILTIN.receptacles_for('Fork')
    assert BUILTIN.receptacles_for('Nothing') == ()
    path = tmp_path / 't.json'
    path.write_text(json.dumps([{'TissueBox ': ['Box', ' Shelf']}, {'AppleSliced*': ['Bowl']},
                                {'Floor': []}]))
    table = ReceptacleCompat.load(path)
    assert table.receptacles_for('TissueBox') == ('Box', 'Shelf')
    assert table.accepts('Bowl', 'AppleSliced') and table.object_types() == ('TissueBox',
                                                                             'AppleSliced')
    if _TABLE.is_file():
        public = ReceptacleCompat.load(_TABLE)
        for obj in BUILTIN.object_types():  # the fallback never contradicts the public table
            if public.receptacles_for(obj):
                assert all(public.accepts(r, obj) for r in BUILTIN.receptacles_for(obj)), obj


def test_rendered_frames_of_procedural_scenes(tmp_path):
    renderer = BoxRenderer()
    for rtype in ROOM_TYPES:
        meta = generate_scene(3, rtype, compat=BUILTIN)
        boxes = boxes_from_objects(meta['objects'], hollow_types=('Sink', 'Bathtub'))
        ag = meta['agent']
        pose = CameraPose((ag['position']['x'], ag['position']['y'] + CAMERA_OFFSET,
                           ag['position']['z']), ag['rotation']['y'], 30.0)
        res = renderer.render(boxes.mins, boxes.maxs, boxes.colors, boxes.ids, pose, 224, 224,
                              want_mask=True)
        seen = set(np.unique(res.instance_mask).tolist()) - {-1}
        assert seen, rtype  # at least the floor box is in view
        path = write_png(tmp_path / f'{rtype}.png', res.rgb)
        assert path.stat().st_size > 1000
