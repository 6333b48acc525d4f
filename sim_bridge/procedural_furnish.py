# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""What each procedural room type holds: the furnishers of the layout builder's ``Room``.

One builder per room type (:data:`ROOM_BUILDERS`), then :func:`decorate_walls` (window, light
switch, paintings, mirrors) and :func:`populate` (small objects on or in compatible
receptacles, about a quarter inside closed containers).
"""

from __future__ import annotations

from ego_reasoner_ros.sim_bridge.procedural_layout import Room
from ego_reasoner_ros.sim_bridge.procedural_types import FLAGS, HOLDERS, SMALL_BY_ROOM





def _kitchen(room: Room) -> None:
    rng = room.rng
    n = int(rng.integers(4, 7))
    kinds = ['sink', 'stove'] + [str(k) for k in rng.choice(['cabinet', 'drawers'], n - 2)]
    kinds = [kinds[i] for i in rng.permutation(n)]
    widths = [round(float(rng.uniform(0.6, 0.8)), 2) for _ in kinds]
    if not room.counter_run(kinds, widths):
        raise RetryError('counter run')
    if rng.random() < 0.5:  # a second, shorter run
        m = int(rng.integers(2, 4))
        room.counter_run([str(k) for k in rng.choice(['cabinet', 'drawers'], m)],
                         [round(float(rng.uniform(0.55, 0.75)), 2) for _ in range(m)])
    if room.wall_unit('Fridge', 0.8, 0.75, 1.85, clearance=1.0) is None:
        raise RetryError('fridge')
    tops = [i for i, o in enumerate(room.objs) if o.otype == 'CounterTop']
    for otype, dims in (('Microwave', (0.52, 0.38, 0.31)), ('CoffeeMachine', (0.28, 0.36, 0.38)),
                        ('Toaster', (0.30, 0.20, 0.20))):
        for host in [tops[i] for i in rng.permutation(len(tops))]:
            o = room.objs[host]
            flip = int(o.yaw) % 180 == 90  # the wall runs along z
            sx, sz = (dims[1], dims[0]) if flip else (dims[0], dims[1])
            if room.on_top(otype, host, sx, sz, dims[2]) is not None:
                break
    if rng.random() < 0.7:
        _table_with_chairs(room, 'DiningTable', rng.uniform(1.0, 1.5), rng.uniform(0.7, 0.9),
                           0.76, 'Chair' if rng.random() < 0.6 else 'Stool')
    room.wall_unit('GarbageCan', 0.35, 0.35, 0.45, clearance=0.6)
    if rng.random() < 0.4:
        room.shelves(0.8, 0.35, [0.1, 0.5, 0.9])


def _table_with_chairs(room: Room, otype: str, length: float, width: float, height: float,
                       chair: str = 'Chair') -> int | None:
    rng = room.rng
    along_x = rng.random() < 0.5
    sx, sz = (length, width) if along_x else (width, length)
    rect = room.place_free(sx, sz, clearance=1.15)
    if rect is None:
        return None
    table = room.furniture(otype, rect, 0.0, height)
    n_side = 2 if length > 1.2 else 1
    cw, cd = (0.45, 0.45) if chair == 'Chair' else (0.38, 0.38)
    ch = 0.9 if chair == 'Chair' else 0.7
    for side in (0, 1):
        if rng.random() < 0.3:
            continue
        for k in range(n_side):
            frac = (k + 1) / (n_side + 1)
            if along_x:
                cx = rect[0] + frac * (rect[2] - rect[0])
                cz = rect[1] - 0.1 - cd / 2 if side == 0 else rect[3] + 0.1 + cd / 2
                yaw = 0.0 if side == 0 else 180.0
            else:
                cz = rect[1] + frac * (rect[3] - rect[1])
                cx = rect[0] - 0.1 - cd / 2 if side == 0 else rect[2] + 0.1 + cd / 2
                yaw = 90.0 if side == 0 else 270.0
            crect = (cx - cw / 2, cz - cd / 2, cx + cw / 2, cz + cd / 2)
            room.blocked.append(crect)
            room.furniture(chair, crect, 0.0, ch, yaw)
    return table


def _living_room(room: Room) -> None:
    rng = room.rng
    if room.wall_unit('Sofa', float(rng.uniform(1.8, 2.4)), 0.9, 0.8) is None:
        raise RetryError('sofa')
    for _ in range(int(rng.integers(0, 3))):
        room.wall_unit('ArmChair', 0.9, 0.85, 0.8)
    tv = room.wall_unit('TVStand', float(rng.uniform(1.0, 1.5)), 0.45, 0.55)
    if tv is not None:
        room.on_top('Television', tv, 0.95 if int(room.objs[tv].yaw) % 180 == 0 else 0.25,
                    0.25 if int(room.objs[tv].yaw) % 180 == 0 else 0.95, 0.6)
    rect = room.place_free(float(rng.uniform(0.9, 1.2)), float(rng.uniform(0.5, 0.7)),
                           clearance=0.8)
    if rect is not None:
        room.furniture('CoffeeTable', rect, 0.0, 0.45)
    for _ in range(int(rng.integers(1, 3))):
        room.wall_unit_with('SideTable', 0.5, 0.45, 0.6, drawers=1)
    if rng.random() < 0.6:
        room.shelves(0.9, 0.35, [0.1, 0.5, 0.9, 1.3])
    if rng.random() < 0.5:
        _table_with_chairs(room, 'DiningTable', rng.uniform(1.2, 1.6), rng.uniform(0.8, 0.9),
                           0.75)
    room.wall_unit('FloorLamp', 0.4, 0.4, 1.7, clearance=0.5)
    room.wall_unit('GarbageCan', 0.35, 0.35, 0.45, clearance=0.6)
    _decorate_tables(room, ('SideTable', 'CoffeeTable', 'TVStand', 'DiningTable'))


def _decorate_tables(room: Room, types: tuple[str, ...]) -> None:
    hosts = [i for i, o in enumerate(room.objs) if o.otype in types]
    if hosts and room.rng.random() < 0.7:
        room.on_top('HousePlant', int(room.rng.choice(hosts)), 0.3, 0.3, 0.45, back=False)


def _bedroom(room: Room) -> None:
    rng = room.rng
    bw, bl = float(rng.uniform(1.4, 1.9)), float(rng.uniform(1.95, 2.15))
    if room.wall_unit('Bed', bw, bl, 0.6, clearance=0.8) is None:
        raise RetryError('bed')
    room.wall_unit_with('Dresser', float(rng.uniform(0.9, 1.4)), 0.5, 0.9,
                        drawers=int(rng.choice([3, 4, 6])))
    desk = room.wall_unit('Desk', float(rng.uniform(1.1, 1.5)), 0.6, 0.76, clearance=1.0)
    if desk is not None:
        room.on_top('DeskLamp', desk, 0.2, 0.2, 0.4)
    for _ in range(int(rng.integers(1, 3))):
        st = room.wall_unit_with('SideTable', 0.5, 0.42, 0.6, drawers=1)
        if st is not None and rng.random() < 0.5:
            room.on_top('DeskLamp', st, 0.2, 0.2, 0.4)
    if rng.random() < 0.6:
        room.shelves(0.8, 0.3, [0.1, 0.5, 0.9, 1.3])
    room.wall_unit('GarbageCan', 0.3, 0.3, 0.4, clearance=0.6)


def _bathroom(room: Room) -> None:
    rng = room.rng
    if room.wall_unit('Toilet', 0.45, 0.7, 0.8, clearance=0.7) is None:
        raise RetryError('toilet')
    tub = room.wall_unit('Bathtub', 0.75, float(rng.uniform(1.5, 1.7)), 0.55, clearance=0.7)
    if tub is not None:
        o = room.objs[tub]
        room.add('BathtubBasin', o.bmin + (0.08, 0.1, 0.08), o.bmax - (0.08, 0.01, 0.08),
                 basin_of=tub)
    units = ['sink'] + (['cabinet'] if rng.random() < 0.6 else [])
    if not room.counter_run(units, [0.7] * len(units), depth=0.55, uppers=False):
        raise RetryError('vanity')
    for otype, width, y0, y1 in (('TowelHolder', 0.6, 1.0, 1.05),
                                 ('HandTowelHolder', 0.2, 1.25, 1.45),
                                 ('ToiletPaperHanger', 0.2, 0.7, 0.76)):
        room.on_wall(otype, width, y0, y1, thick=0.1)
    if rng.random() < 0.7:
        shelf = room.on_wall('Shelf', 0.6, 1.1, 1.13, thick=0.25)
        if shelf is not None:
            room.objs[shelf].headroom = 0.4
    room.wall_unit('GarbageCan', 0.3, 0.3, 0.4, clearance=0.5)


class RetryError(Exception):
    """The current attempt cannot be completed; draw another."""


ROOM_BUILDERS = {'kitchen': _kitchen, 'living_room': _living_room, 'bedroom': _bedroom,
                  'bathroom': _bathroom}


def decorate_walls(room: Room) -> None:
    rng = room.rng
    room.on_wall('Window', float(rng.uniform(0.9, 1.5)), 0.95, 2.1, thick=0.1)
    room.on_wall('LightSwitch', 0.08, 1.25, 1.40, thick=0.03)
    if room.room_type in ('living_room', 'bedroom'):
        room.on_wall('Painting', float(rng.uniform(0.6, 1.1)), 1.3, 2.0, thick=0.05)
    if room.room_type in ('bathroom', 'bedroom'):
        room.on_wall('Mirror', 0.6, 1.2, 1.9, thick=0.04)


def populate(room: Room) -> None:
    rng = room.rng
    compat = room.compat
    candidates = [t for t in SMALL_BY_ROOM[room.room_type] if compat.receptacles_for(t)]
    by_type: dict[str, list[int]] = {}
    for i, o in enumerate(room.objs):
        if FLAGS.get(o.otype, '').find('r') >= 0 and 'p' not in FLAGS.get(o.otype, ''):
            by_type.setdefault(o.otype, []).append(i)
    lo, hi = {'bathroom': (6, 11)}.get(room.room_type, (14, 24))
    want = int(rng.integers(lo, hi))
    # the bathroom hangers get their own items first
    for holder, item in (('TowelHolder', 'Towel'), ('HandTowelHolder', 'HandTowel'),
                         ('ToiletPaperHanger', 'ToiletPaper')):
        for host in by_type.get(holder, []):
            if compat.accepts(holder, item) or not compat.receptacles_for(item):
                room.place_small(item, [host])
    closed = [i for t in ('Fridge', 'Cabinet', 'Drawer', 'Microwave') for i in by_type.get(t, [])]
    for k in range(want):
        otype = str(candidates[int(rng.integers(len(candidates)))])
        hosts = [i for rtype, ids in by_type.items() if compat.accepts(rtype, otype)
                 for i in ids if room.objs[i].otype not in HOLDERS]
        inside = [i for i in hosts if i in closed]
        if k % 4 == 0 and inside:  # about a quarter goes into closed containers
            hosts = inside
        else:
            hosts = [i for i in hosts if i not in closed] or hosts
        if hosts:
            room.place_small(otype, hosts)
