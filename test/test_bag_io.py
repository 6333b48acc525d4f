# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The ROS-free MCAP writer: readable by mcap and rosbags, chunked, rotated, crash-tolerant."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import threading

import numpy as np
import pytest
import yaml

pytest.importorskip('mcap')
pytest.importorskip('rosbags')

from bag_synth import Clock, add_topics, frame_pixels, image_cdr, string_cdr, TOPICS  # noqa: E402, I001
from ego_reasoner_ros.runtime import bagio  # noqa: E402


def _write(path: Path, n: int, **cfg) -> dict[str, int]:
    clock = Clock()
    with bagio.McapBagWriter(path, bagio.BagWriterConfig(**cfg)) as bag:
        add_topics(bag)
        for i in range(n):
            t = clock.next()
            bag.write('/camera/image_raw', t, image_cdr(t, frame_pixels(i)))
            bag.write('/task', clock.next(), string_cdr({'task_id': f't{i}', 'i': i}))
        return {topic: n for topic, n in bag.counts().items() if n}


def test_bag_readable_by_mcap_and_rosbags(tmp_path: Path) -> None:
    from mcap.reader import make_reader
    from rosbags.rosbag2 import Reader

    counts = _write(tmp_path / 'bag', 30, compression='zstd', chunk_size=20_000)
    assert counts['/camera/image_raw'] == 30 and counts['/task'] == 30

    files = sorted((tmp_path / 'bag').glob('*.mcap'))
    assert len(files) == 1
    with open(files[0], 'rb') as fh:
        reader = make_reader(fh)
        summary = reader.get_summary()
        assert reader.get_header().profile == 'ros2'
        schemas = {s.name: s for s in summary.schemas.values()}
        assert set(schemas) == set(TOPICS.values())
        assert all(s.encoding == 'ros2msg' for s in schemas.values())
        assert b'uint8[] data' in schemas['sensor_msgs/msg/Image'].data
        assert b'MSG: std_msgs/Header' in schemas['sensor_msgs/msg/Image'].data
        assert summary.statistics.chunk_count > 1  # chunk_size forces several chunks
        assert {c.chunk_start_offset for c in summary.chunk_indexes}
        assert all(c.compression == 'zstd' for c in summary.chunk_indexes)
        per_topic: dict[str, int] = {}
        for _schema, channel, _msg in reader.iter_messages():
            per_topic[channel.topic] = per_topic.get(channel.topic, 0) + 1
        assert per_topic == counts

    with Reader(tmp_path / 'bag') as reader:
        conns = {c.topic: c for c in reader.connections}
        assert conns['/camera/image_raw'].msgtype == 'sensor_msgs/msg/Image'
        assert conns['/verdict'].msgtype == 'std_msgs/msg/String'
        assert {t: c.msgcount for t, c in conns.items() if c.msgcount} == counts
        assert len(conns) == len(TOPICS)
        ts = bagio.typestore()
        first = next(raw for c, _t, raw in reader.messages([conns['/camera/image_raw']]))
        img = ts.deserialize_cdr(first, 'sensor_msgs/msg/Image')
        assert np.array_equal(img.data.reshape(img.height, img.width, 3), frame_pixels(0))

    meta = yaml.safe_load((tmp_path / 'bag' / 'metadata.yaml').read_text())
    info = meta['rosbag2_bagfile_information']
    assert info['version'] == 9 and info['storage_identifier'] == 'mcap'
    assert info['message_count'] == 60
    assert info['relative_file_paths'] == [files[0].name]


def test_rotation_by_size_lists_every_file(tmp_path: Path) -> None:
    from rosbags.rosbag2 import Reader

    counts = _write(tmp_path / 'bag', 40, compression='none', chunk_size=20_000,
                    max_file_size=50_000)
    files = bagio.bag_files(tmp_path / 'bag')
    assert len(files) >= 3
    info = yaml.safe_load((tmp_path / 'bag' / 'metadata.yaml').read_text())[
        'rosbag2_bagfile_information']
    assert info['relative_file_paths'] == [f.name for f in files]
    assert sum(f['message_count'] for f in info['files']) == 80
    with Reader(tmp_path / 'bag') as reader:
        assert sum(1 for _ in reader.messages()) == 80
    scans: list[bagio.FileScan] = []
    got = bagio.topic_counts(bagio.iter_bag_messages(tmp_path / 'bag', scans=scans))
    assert got == counts
    assert all(s.complete and s.error is None for s in scans)


def test_truncated_file_recovers_every_complete_chunk(tmp_path: Path) -> None:
    from mcap.reader import make_reader

    _write(tmp_path / 'bag', 60, compression='lz4', chunk_size=15_000)
    src = next((tmp_path / 'bag').glob('*.mcap'))
    with open(src, 'rb') as fh:
        summary = make_reader(fh).get_summary()
        all_msgs = [m.log_time for _s, _c, m in make_reader(fh).iter_messages()]
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    assert len(chunks) >= 4
    for cut_chunk in (1, len(chunks) // 2, len(chunks) - 1):
        ci = chunks[cut_chunk]
        cut = ci.chunk_start_offset + ci.chunk_length // 2  # in the middle of a chunk
        dst = tmp_path / f'cut{cut_chunk}.mcap'
        dst.write_bytes(src.read_bytes()[:cut])
        complete_end = chunks[cut_chunk - 1].message_end_time
        expected = sum(1 for t in all_msgs if t <= complete_end)
        scan = bagio.FileScan(dst)
        got = list(bagio.scan_file(dst, scan))
        assert len(got) == expected
        assert scan.chunks == cut_chunk and not scan.complete and scan.error
        assert [m.log_time for m in got] == all_msgs[:expected]


def test_not_mcap_and_empty_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / 'junk.mcap'
    bad.write_bytes(os.urandom(1000))
    with pytest.raises(bagio.DataError, match='junk.mcap.*not an MCAP file'):
        list(bagio.iter_bag_messages(bad))
    empty = tmp_path / 'empty.mcap'
    empty.write_bytes(b'')
    with pytest.raises(bagio.DataError, match='empty.mcap.*empty'):
        list(bagio.iter_bag_messages(empty))
    (tmp_path / 'nothing').mkdir()
    with pytest.raises(bagio.DataError, match='nothing.*no .mcap files'):
        bagio.bag_files(tmp_path / 'nothing')


def test_writer_refuses_misuse(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='compression'):
        bagio.BagWriterConfig(compression='gzip')
    with pytest.raises(ValueError, match='chunk_duration_s'):
        bagio.BagWriterConfig(chunk_duration_s=0)
    bag = bagio.McapBagWriter(tmp_path / 'b')
    bag.add_topic('task', 'std_msgs/msg/String')
    with pytest.raises(bagio.BagWriteError, match='already recorded'):
        bag.add_topic('/task', 'sensor_msgs/msg/Image')
    with pytest.raises(bagio.BagWriteError, match='not added'):
        bag.write('/other', 1, b'')
    with pytest.raises(bagio.DataError, match='not in the'):
        bag.add_topic('/x', 'nope_msgs/msg/Nope')
    bag.close()
    with pytest.raises(bagio.BagWriteError, match='closed'):
        bag.write('/task', 1, string_cdr('x'))
    with pytest.raises(FileExistsError):
        bagio.McapBagWriter(tmp_path / 'b')


def test_queued_writer_keeps_every_message_from_many_threads(tmp_path: Path) -> None:
    bag = bagio.QueuedBagWriter(tmp_path / 'q', bagio.BagWriterConfig(chunk_duration_s=0.02))
    bag.add_topic('/task', 'std_msgs/msg/String')
    bag.add_topic('/camera/image_raw', 'sensor_msgs/msg/Image')
    payload = string_cdr({'x': 1})
    image = image_cdr(5, frame_pixels(3))

    def worker(k: int) -> None:
        for _ in range(300):
            bag.put('/task', payload)
            if k == 0:
                bag.put('camera/image_raw', image)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    bag.close()
    counts = bagio.topic_counts(bagio.iter_bag_messages(tmp_path / 'q'))
    assert counts == {'/task': 1200, '/camera/image_raw': 300}
    assert bag.writer.chunks_flushed >= 1


def test_folder_without_metadata_reads_files_on_disk(tmp_path: Path) -> None:
    _write(tmp_path / 'bag', 20, compression='none', chunk_size=5_000, max_file_size=20_000)
    names = [f.name for f in bagio.bag_files(tmp_path / 'bag')]
    (tmp_path / 'bag' / 'metadata.yaml').unlink()
    copy = tmp_path / 'copy'
    shutil.copytree(tmp_path / 'bag', copy)
    assert [f.name for f in bagio.bag_files(copy)] == names  # natural order, _2 before _10
    assert sum(1 for _ in bagio.iter_bag_messages(copy)) == 40
