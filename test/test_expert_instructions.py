# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Instruction parsing of the scripted expert (no simulator needed)."""

from __future__ import annotations

from ego_reasoner_ros.training.instruction_parser import (
    Op, find_mentions, map_noun, parse_instruction, parse_without_scene, spelled_types)

KITCHEN = ['CounterTop', 'Cabinet', 'Fridge', 'Apple', 'Pot', 'Potato', 'Sink', 'SinkBasin',
           'Faucet', 'StoveBurner', 'Pan', 'Lettuce', 'Plate', 'Microwave', 'Egg', 'Mug',
           'CoffeeMachine', 'Toaster', 'Cup', 'GarbageCan', 'Pen', 'Pencil']


def ops(text):
    return [str(o) for o in parse_instruction(text, KITCHEN)]


def test_mentions_are_whole_words_longest_first():
    assert find_mentions('Put the Pencil in the SinkBasin.', KITCHEN) == ['Pencil', 'SinkBasin']
    assert find_mentions('Find the Pen.', KITCHEN) == ['Pen']


def test_single_object_templates():
    assert ops('Could you help me look for the Apple in the room?') == ['find Apple']
    assert ops('Please take a look for the Cup in the room.') == ['find Cup']
    assert ops('Would you mind grabbing the Apple from the room?') == ['pickup Apple']
    assert ops('Could you flip the switch of the Toaster?') == ['toggle Toaster']
    assert ops("It's ok to turn off the switch of the CoffeeMachine, please.") == [
        'toggle CoffeeMachine']


def test_transport_and_ordered_templates():
    assert ops('Please put the Apple into the Pot.') == ['pickup Apple', 'put Pot']
    got = parse_instruction('Please place the Cup on the GarbageCan first, and then the Mug '
                            'on the SinkBasin.', KITCHEN)
    assert [str(o) for o in got] == ['pickup Cup', 'put GarbageCan', 'pickup Mug',
                                     'put SinkBasin']
    assert got[1] == Op('put', 'GarbageCan', 'close_after')


def test_nouns_map_to_scene_types():
    assert map_noun('lettuces', KITCHEN) == 'Lettuce'
    assert map_noun('potatoes', KITCHEN) == 'Potato'
    assert map_noun('refrigerator', KITCHEN) == 'Fridge'
    assert map_noun('stove', KITCHEN) == 'StoveBurner'
    assert map_noun('it', KITCHEN) is None


def test_cooking_instruction():
    assert ops('First, find the pan and place it on the stove. Next, locate the lettuce, wash '
               'it, put it into the pan and start the fire. Eventually, transfer the lettuce '
               'to the plate.') == [
        'pickup Pan', 'put StoveBurner', 'pickup Lettuce', 'put SinkBasin', 'toggle Faucet',
        'pickup Lettuce', 'put Pan', 'toggle StoveBurner', 'pickup Lettuce', 'put Plate']


def test_heating_and_coffee_instruction():
    assert ops('First, chuck the potato in the microwave to warm it up. Then, go find a mug, '
               'pour some coffee in it, and plonk it on the countertop. After that, take the '
               'potato out of the microwave, plop it on a plate, and then put the plate on the '
               'countertop too.') == [
        'pickup Potato', 'put Microwave', 'close Microwave', 'toggle Microwave', 'pickup Mug',
        'put CoffeeMachine', 'toggle CoffeeMachine', 'pickup Mug', 'put CounterTop',
        'pickup Potato', 'put Plate', 'pickup Plate', 'put CounterTop']


def test_fridge_and_wash_instruction_with_rinse_it_clean():
    assert ops('Do you find it overly troublesome to put the potato in the refrigerator and '
               'then take the apple out of the refrigerator, rinse it clean, and set it on a '
               'plate?') == [
        'pickup Potato', 'put Fridge', 'pickup Apple', 'put SinkBasin', 'toggle Faucet',
        'pickup Apple', 'put Plate']


def test_without_a_scene_the_spelled_out_types_join_the_known_ones():
    text = 'Please put the RemoteControl on the Sofa. Then pick up the apple.'
    assert spelled_types(text) == ['RemoteControl', 'Sofa']  # 'Please', 'Then' start sentences
    # RemoteControl is known only from the text; "apple" only through the known Types.
    assert [str(o) for o in parse_without_scene(text, ['Sofa', 'Apple'])] == [
        'pickup RemoteControl', 'put Sofa', 'pickup Apple']
    assert [str(o) for o in parse_without_scene(text, [])] == [
        'pickup RemoteControl', 'put Sofa']
