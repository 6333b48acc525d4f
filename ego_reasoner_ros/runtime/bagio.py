# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""ROS-free rosbag2 / MCAP writing and crash-tolerant reading.

Writing (:class:`McapBagWriter`) produces a rosbag2 folder that ``ros2 bag info/play``,
Foxglove, the ``mcap`` CLI and ``rosbags`` open::

    <bag>/metadata.yaml          rosbag2 version 9, storage_identifier mcap
    <bag>/<bag>_0.mcap           profile "ros2", CDR messages, ros2msg schemas embedded
    <bag>/<bag>_1.mcap           next file after a size/duration rotation ...

Messages are grouped in MCAP chunks that are closed and flushed to the OS when they reach
``chunk_size`` bytes or are ``chunk_duration_s`` old, so a process killed with SIGKILL
loses at most the chunk in progress. Chunks may be zstd/lz4 compressed; message payloads
(images included) are stored as serialized, never transcoded. ``metadata.yaml`` is written
at every rotation (listing the closed files) and on :meth:`McapBagWriter.close`.

:class:`QueuedBagWriter` moves the writing to a thread behind an unbounded queue, so a ROS
callback only appends bytes. Serialized payloads come from ``rclpy`` raw subscriptions or
from the ``rosbags`` typestore (:func:`serialize`), which also supplies the message
definitions and RIHS01 type hashes.

Reading (:func:`iter_bag_messages`) takes a rosbag2 folder (with or without
``metadata.yaml``) or a single ``.mcap`` file and scans the records itself, so a file cut
short by a crash yields every complete chunk; the problem is reported in
:class:`FileScan` instead of aborting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import queue
import threading
import time
from typing import Any

from ego_reasoner_ros.core.errors import DataError, EgoReasonerError, require

logger = logging.getLogger(__name__)

ROSBAG2_VERSION = 9
METADATA_FILE = 'metadata.yaml'
MCAP_MAGIC = b'\x89MCAP0\r\n'
COMPRESSIONS = ('none', 'zstd', 'lz4')
DEFAULT_TYPESTORE = 'ROS2_JAZZY'
LIBRARY = 'ego_reasoner_ros.bagio'
#: Largest record the reader accepts (a corrupt length field must not allocate gigabytes).
RECORD_LIMIT = 1 << 30


class BagWriteError(EgoReasonerError, RuntimeError):
    """The bag could not be written (closed writer, unknown topic, I/O error)."""


# ------------------------------------------------------------------ typestore
_TYPESTORES: dict[str, Any] = {}


def typestore(name: str = DEFAULT_TYPESTORE) -> Any:
    """The cached ``rosbags`` typestore ``name`` (a ``rosbags.typesys.Stores`` member name)."""
    if name not in _TYPESTORES:
        typesys = require('rosbags.typesys', 'rosbags', 'rosbag2 reading and writing')
        try:
            store = typesys.Stores[name.upper()]
        except KeyError:
            known = ', '.join(s.name for s in typesys.Stores)
            raise ValueError(f'unknown typestore {name!r}; use one of {known}') from None
        _TYPESTORES[name] = typesys.get_typestore(store)
    return _TYPESTORES[name]


def message_definition(msgtype: str, store: str = DEFAULT_TYPESTORE) -> tuple[str, str]:
    """``(ros2msg definition text, RIHS01 hash)`` of ``msgtype`` (``pkg/msg/Name``).

    Raises:
        DataError: if the typestore does not know the type.
    """
    ts = typestore(store)
    if msgtype not in ts.fielddefs:
        raise DataError(f'message type {msgtype!r} is not in the {store} typestore')
    msgdef, _ = ts.generate_msgdef(msgtype, ros_version=2)
    return msgdef, ts.hash_rihs01(msgtype)


def serialize(msg: Any, msgtype: str, store: str = DEFAULT_TYPESTORE) -> bytes:
    """CDR bytes of a typestore message object (what a ROS 2 publisher would send)."""
    return bytes(typestore(store).serialize_cdr(msg, msgtype))


def deserialize(data: bytes | memoryview, msgtype: str, store: str = DEFAULT_TYPESTORE) -> Any:
    """Typestore message object of CDR bytes."""
    return typestore(store).deserialize_cdr(data, msgtype)


# ------------------------------------------------------------------ QoS
@dataclass(frozen=True)
class QosSpec:
    """The offered QoS stored with a topic (``ros2 bag play`` re-offers it)."""

    reliability: str = 'reliable'
    durability: str = 'volatile'
    history: str = 'keep_last'
    depth: int = 10

    def __post_init__(self) -> None:
        if self.reliability not in ('reliable', 'best_effort'):
            raise ValueError(f'reliability must be reliable or best_effort, '
                             f'got {self.reliability!r}')
        if self.durability not in ('volatile', 'transient_local'):
            raise ValueError(f'durability must be volatile or transient_local, '
                             f'got {self.durability!r}')
        if self.history not in ('keep_last', 'keep_all'):
            raise ValueError(f'history must be keep_last or keep_all, got {self.history!r}')
        if self.depth < 0:
            raise ValueError(f'depth must be >= 0, got {self.depth}')

    def to_v9(self) -> dict[str, Any]:
        """The rosbag2 v9 ``offered_qos_profiles`` entry (zero durations: RMW default)."""
        zero = {'sec': 0, 'nsec': 0}
        return {'history': self.history, 'depth': self.depth,
                'reliability': self.reliability, 'durability': self.durability,
                'deadline': dict(zero), 'lifespan': dict(zero), 'liveliness': 'automatic',
                'liveliness_lease_duration': dict(zero),
                'avoid_ros_namespace_conventions': False}


def _yaml_dump(data: Any) -> str:
    import yaml
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


# ------------------------------------------------------------------ writer
@dataclass
class BagWriterConfig:
    """How :class:`McapBagWriter` lays out a bag.

    Attributes:
        chunk_size: close the chunk in progress once it holds this many payload bytes.
        chunk_duration_s: close it once it is this old (bounds the loss on a crash).
        compression: chunk compression, ``none``, ``zstd`` or ``lz4``.
        max_file_size: start a new ``.mcap`` file after this many bytes (0: never).
        max_file_duration_s: start a new file after this many seconds (0: never).
        fsync: ``os.fsync`` after every chunk (survives power loss, not just a crash).
        store: rosbags typestore used for message definitions.
    """

    chunk_size: int = 4 << 20
    chunk_duration_s: float = 1.0
    compression: str = 'zstd'
    max_file_size: int = 0
    max_file_duration_s: float = 0.0
    fsync: bool = False
    store: str = DEFAULT_TYPESTORE

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f'chunk_size must be >= 1 byte, got {self.chunk_size}')
        if not self.chunk_duration_s > 0:
            raise ValueError(f'chunk_duration_s must be > 0, got {self.chunk_duration_s}')
        if self.compression not in COMPRESSIONS:
            raise ValueError(f'compression must be one of {COMPRESSIONS}, '
                             f'got {self.compression!r}')
        if self.max_file_size < 0 or self.max_file_duration_s < 0:
            raise ValueError('max_file_size and max_file_duration_s must be >= 0')


@dataclass
class _Topic:
    name: str
    msgtype: str
    msgdef: str
    type_hash: str
    qos: QosSpec
    count: int = 0


@dataclass
class _FileInfo:
    path: Path
    start_ns: int | None = None
    end_ns: int = 0
    count: int = 0


def _normalize_topic(topic: str) -> str:
    topic = topic.strip()
    if not topic or topic == '/':
        raise ValueError('topic name must not be empty')
    return topic if topic.startswith('/') else '/' + topic


class McapBagWriter:
    """Write a rosbag2 folder of chunked MCAP files (one writer thread only).

    Example::

        with McapBagWriter('run1', BagWriterConfig(compression='zstd')) as bag:
            bag.add_topic('/camera/image_raw', 'sensor_msgs/msg/Image')
            bag.write('/camera/image_raw', time.time_ns(), cdr_bytes)
    """

    def __init__(self, path: str | os.PathLike, config: BagWriterConfig | None = None) -> None:
        self.config = config or BagWriterConfig()
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise FileExistsError(f'bag folder {self.path} already exists and is not empty')
        self.path.mkdir(parents=True, exist_ok=True)
        mcap_writer = require('mcap.writer', 'mcap', 'writing MCAP bags')
        self._mcap = mcap_writer
        self._compression = {'none': mcap_writer.CompressionType.NONE,
                             'zstd': mcap_writer.CompressionType.ZSTD,
                             'lz4': mcap_writer.CompressionType.LZ4}[self.config.compression]
        self.topics: dict[str, _Topic] = {}
        self.files: list[_FileInfo] = []
        self._channels: dict[str, int] = {}
        self._writer: Any = None
        self._stream: Any = None
        self._chunk_bytes = 0
        self._chunk_started = 0.0
        self._file_started = 0.0
        self._closed = False
        self.bytes_written = 0
        self.chunks_flushed = 0
        self._open_file()

    # -------------------------------------------------------------- files
    def _open_file(self) -> None:
        index = len(self.files)
        file_path = self.path / f'{self.path.name}_{index}.mcap'
        self._stream = open(file_path, 'wb')  # noqa: SIM115 - closed in _finish_file
        # The writer's own size trigger is disabled: chunks are closed by _maybe_flush,
        # which also flushes the file, so a chunk is on disk as soon as it is complete.
        self._writer = self._mcap.Writer(self._stream, chunk_size=1 << 62,
                                         compression=self._compression)
        self._writer.start(profile='ros2', library=LIBRARY)
        self.files.append(_FileInfo(file_path))
        self._channels = {}
        self._schemas: dict[str, int] = {}
        for topic in self.topics.values():
            self._register(topic)
        self._stream.flush()
        self._file_started = self._chunk_started = time.monotonic()
        self._chunk_bytes = 0

    def _register(self, topic: _Topic) -> None:
        if topic.msgtype not in self._schemas:
            self._schemas[topic.msgtype] = self._writer.register_schema(
                name=topic.msgtype, encoding='ros2msg', data=topic.msgdef.encode())
        meta = {'offered_qos_profiles': _yaml_dump([topic.qos.to_v9()]).strip(),
                'topic_type_hash': topic.type_hash}
        self._channels[topic.name] = self._writer.register_channel(
            topic=topic.name, message_encoding='cdr', schema_id=self._schemas[topic.msgtype],
            metadata=meta)

    def _finish_file(self, *, last: bool) -> None:
        if last:  # what rosbag2's own MCAP plugin stores (lets tools read a lone file)
            self._writer.add_metadata('rosbag2', {
                'serialized_metadata': _yaml_dump(self._metadata_info()).strip(),
                'ros_distro': 'jazzy'})
        self._writer.finish()
        self._stream.flush()
        if self.config.fsync:
            os.fsync(self._stream.fileno())
        self.bytes_written += self._stream.tell()
        self._stream.close()
        self._writer = self._stream = None

    def _rotate(self) -> None:
        logger.info('bag %s: rotating after %s', self.path, self.files[-1].path.name)
        self._finish_file(last=False)
        self._write_metadata()
        self._open_file()

    # -------------------------------------------------------------- API
    def add_topic(self, topic: str, msgtype: str, qos: QosSpec | None = None, *,
                  msgdef: str | None = None, type_hash: str = '') -> None:
        """Declare a topic (idempotent for the same type).

        Args:
            topic: topic name (made absolute).
            msgtype: ``pkg/msg/Name``.
            qos: offered QoS stored in the bag.
            msgdef: ros2msg definition text; taken from the typestore when omitted.
            type_hash: RIHS01 hash (typestore's when ``msgdef`` is omitted).

        Raises:
            BagWriteError: if the topic exists with another type or the writer is closed.
            DataError: unknown message type and no ``msgdef``.
        """
        self._check_open()
        name = _normalize_topic(topic)
        if name in self.topics:
            if self.topics[name].msgtype != msgtype:
                raise BagWriteError(f'topic {name} already recorded as '
                                    f'{self.topics[name].msgtype}, not {msgtype}')
            return
        if msgdef is None:
            msgdef, type_hash = message_definition(msgtype, self.config.store)
        spec = _Topic(name, msgtype, msgdef, type_hash, qos or QosSpec())
        self.topics[name] = spec
        self._register(spec)

    def write(self, topic: str, log_time_ns: int, data: bytes | memoryview) -> None:
        """Append one serialized (CDR) message received at ``log_time_ns``."""
        self._check_open()
        name = topic if topic in self._channels else _normalize_topic(topic)
        try:
            channel = self._channels[name]
        except KeyError:
            raise BagWriteError(f'topic {name} was not added to bag {self.path}') from None
        info = self.files[-1]
        self._writer.add_message(channel_id=channel, log_time=log_time_ns, data=bytes(data),
                                 publish_time=log_time_ns,
                                 sequence=self.topics[name].count & 0xFFFFFFFF)
        self.topics[name].count += 1
        info.count += 1
        info.start_ns = log_time_ns if info.start_ns is None else min(info.start_ns,
                                                                      log_time_ns)
        info.end_ns = max(info.end_ns, log_time_ns)
        self._chunk_bytes += len(data)
        self.maybe_flush()

    def maybe_flush(self) -> bool:
        """Close the chunk in progress if it is full or old enough; rotate if due.

        Call it periodically when messages are rare. Returns whether a chunk was written.
        """
        if self._closed or self._writer is None:
            return False
        now = time.monotonic()
        wrote = False
        if self._chunk_bytes and (self._chunk_bytes >= self.config.chunk_size
                                  or now - self._chunk_started >= self.config.chunk_duration_s):
            self.flush()
            wrote = True
        elif not self._chunk_bytes:
            self._chunk_started = now
        cfg = self.config
        size_due = cfg.max_file_size and self._stream.tell() >= cfg.max_file_size
        age_due = cfg.max_file_duration_s and now - self._file_started >= cfg.max_file_duration_s
        if (size_due or age_due) and self.files[-1].count:
            self._rotate()
        return wrote

    def flush(self) -> None:
        """Write the chunk in progress and push it to the OS."""
        self._check_open()
        if self._chunk_bytes:
            self.chunks_flushed += 1
        self._writer.flush()
        if self.config.fsync:
            os.fsync(self._stream.fileno())
        self._chunk_bytes = 0
        self._chunk_started = time.monotonic()

    def close(self) -> None:
        """Finish the current file (summary, footer) and write ``metadata.yaml``."""
        if self._closed:
            return
        if self._chunk_bytes:
            self.chunks_flushed += 1
        self._closed = True
        self._finish_file(last=True)
        self._write_metadata()
        logger.info('bag %s closed: %d messages in %d file(s)', self.path,
                    self.message_count, len(self.files))

    @property
    def message_count(self) -> int:
        """Messages written so far, every topic and file."""
        return sum(t.count for t in self.topics.values())

    def counts(self) -> dict[str, int]:
        """Messages written per topic."""
        return {name: t.count for name, t in self.topics.items()}

    def _check_open(self) -> None:
        if self._closed:
            raise BagWriteError(f'bag {self.path} is closed')

    def _metadata_info(self) -> dict[str, Any]:
        """``rosbag2_bagfile_information`` for the complete files (all of them after close)."""
        done = self.files if self._closed else self.files[:-1]
        starts = [f.start_ns for f in done if f.start_ns is not None]
        start = min(starts) if starts else 0
        end = max((f.end_ns for f in done), default=0)
        info = {
            'version': ROSBAG2_VERSION,
            'storage_identifier': 'mcap',
            'duration': {'nanoseconds': max(0, end - start)},
            'starting_time': {'nanoseconds_since_epoch': start},
            'message_count': sum(f.count for f in done),
            'topics_with_message_count': [{
                'topic_metadata': {
                    'name': t.name, 'type': t.msgtype, 'serialization_format': 'cdr',
                    'offered_qos_profiles': [t.qos.to_v9()],
                    'type_description_hash': t.type_hash},
                'message_count': t.count if self._closed else 0,
            } for t in self.topics.values()],
            'compression_format': '',
            'compression_mode': '',
            'relative_file_paths': [f.path.name for f in done],
            'files': [{'path': f.path.name,
                       'starting_time': {'nanoseconds_since_epoch': f.start_ns or 0},
                       'duration': {'nanoseconds': max(0, f.end_ns - (f.start_ns or 0))},
                       'message_count': f.count} for f in done],
            'custom_data': {'writer': LIBRARY},
            'ros_distro': 'jazzy',
        }
        if not self._closed:  # per-topic counts of the closed files are not tracked
            info['custom_data']['partial'] = 'true'
        return info

    def _write_metadata(self) -> None:
        """Write ``metadata.yaml`` atomically (temporary file, then rename)."""
        info = self._metadata_info()
        tmp = self.path / (METADATA_FILE + '.tmp')
        tmp.write_text(_yaml_dump({'rosbag2_bagfile_information': info}), encoding='utf-8')
        os.replace(tmp, self.path / METADATA_FILE)

    def __enter__(self) -> McapBagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class QueuedBagWriter:
    """A :class:`McapBagWriter` fed through a queue from any thread.

    :meth:`put` never blocks (the queue is unbounded, so nothing is dropped); a writer thread
    drains it, and closes idle chunks every ``chunk_duration_s``. Errors on the writer thread
    are kept in :attr:`error` and re-raised by :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike, config: BagWriterConfig | None = None) -> None:
        self.writer = McapBagWriter(path, config)
        self._queue: queue.SimpleQueue[tuple[str, int, bytes] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._stop = False
        self.error: BaseException | None = None
        self.received: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name='bag-writer', daemon=True)
        self._thread.start()

    def add_topic(self, topic: str, msgtype: str, qos: QosSpec | None = None) -> None:
        """Declare a topic (before its first :meth:`put`)."""
        with self._lock:
            self.writer.add_topic(topic, msgtype, qos)
        self.received.setdefault(_normalize_topic(topic), 0)

    def put(self, topic: str, data: bytes, log_time_ns: int | None = None) -> None:
        """Queue one serialized message (stamped now unless ``log_time_ns`` is given)."""
        if self._stop:
            raise BagWriteError('bag writer is closed')
        name = _normalize_topic(topic)
        self.received[name] = self.received.get(name, 0) + 1
        self._queue.put((name, time.time_ns() if log_time_ns is None else log_time_ns,
                         bytes(data)))

    def backlog(self) -> int:
        """Messages waiting to be written."""
        return self._queue.qsize()

    def _run(self) -> None:
        timeout = min(0.2, self.writer.config.chunk_duration_s / 2)
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ()
            try:
                with self._lock:
                    if item is None:
                        return
                    if item:
                        self.writer.write(*item)
                    else:
                        self.writer.maybe_flush()
            except BaseException as exc:  # noqa: BLE001 - surfaced by close()
                logger.exception('bag writer thread failed')
                self.error = exc
                return

    def close(self, timeout: float | None = None) -> None:
        """Drain the queue, close the bag, re-raise a writer-thread error."""
        if not self._stop:
            self._stop = True
            self._queue.put(None)
            self._thread.join(timeout)
            with self._lock:
                self.writer.close()
        if self.error is not None:
            raise BagWriteError(f'writing {self.writer.path} failed: {self.error}') \
                from self.error


# ------------------------------------------------------------------ reader
@dataclass
class BagMessage:
    """One recorded message."""

    topic: str
    msgtype: str
    log_time: int
    data: bytes
    file: Path


@dataclass
class FileScan:
    """What reading one ``.mcap`` file found.

    Attributes:
        path: the file.
        messages: messages recovered.
        chunks: complete chunks read.
        complete: the file ended with a footer (closed cleanly).
        error: why reading stopped early (truncation, corruption), or None.
        topics: topic -> (message type, schema encoding, message encoding).
    """

    path: Path
    messages: int = 0
    chunks: int = 0
    complete: bool = False
    error: str | None = None
    topics: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def bag_files(path: str | os.PathLike) -> list[Path]:
    """The ``.mcap`` files of a bag folder or the single file ``path``.

    In a folder, the files ``metadata.yaml`` lists come first, then any other ``.mcap``
    file on disk (a recorder killed before it listed them).

    Raises:
        DataError: not a folder with ``.mcap`` files nor an ``.mcap`` file.
    """
    p = Path(path)
    if p.is_file():
        if p.suffix != '.mcap':
            raise DataError(f'{p}: not an .mcap file')
        return [p]
    if not p.is_dir():
        raise DataError(f'{p}: no such bag (folder or .mcap file)')
    ordered: list[Path] = []
    meta = p / METADATA_FILE
    if meta.is_file():
        import yaml
        try:
            info = yaml.safe_load(meta.read_text(encoding='utf-8'))['rosbag2_bagfile_information']
            names = info.get('relative_file_paths') or []
        except (yaml.YAMLError, KeyError, TypeError) as exc:
            logger.warning('%s is unreadable (%s); using the .mcap files on disk', meta, exc)
            names = []
        else:
            if info.get('storage_identifier', 'mcap') != 'mcap':
                raise DataError(f'{p}: storage {info.get("storage_identifier")!r} is not '
                                'supported (only mcap)')
        ordered = [p / Path(n).name for n in names if (p / Path(n).name).is_file()]
    rest = sorted((f for f in p.glob('*.mcap') if f not in ordered), key=_natural_key)
    files = ordered + rest
    if not files:
        raise DataError(f'{p}: no .mcap files in the bag folder')
    return files


def _natural_key(path: Path) -> tuple:
    stem = path.stem
    head, _, tail = stem.rpartition('_')
    return (head, int(tail)) if tail.isdigit() else (stem, -1)


def scan_file(path: str | os.PathLike, scan: FileScan | None = None, *,
              want: Callable[[str, str], bool] | None = None) -> Iterator[BagMessage]:
    """Read one MCAP file record by record, recovering every complete chunk.

    A generator: messages come in file order. Reading stops at the first damaged record
    (a cut tail, a bad CRC); ``scan.error`` then says why and what came before is kept.

    Args:
        path: the ``.mcap`` file.
        scan: filled in while reading (a fresh one when omitted).
        want: ``want(topic, msgtype)`` selects the messages yielded (default all).

    Raises:
        DataError: the file is empty or not MCAP at all.
    """
    require('mcap', 'mcap', 'reading MCAP bags')
    from mcap.records import Channel, Chunk, DataEnd, Footer, Message, Schema
    from mcap.stream_reader import StreamReader, breakup_chunk

    path = Path(path)
    scan = scan if scan is not None else FileScan(path)
    with open(path, 'rb') as fh:
        magic = fh.read(len(MCAP_MAGIC))
        if not magic:
            raise DataError(f'{path}: file is empty')
        if magic != MCAP_MAGIC:
            raise DataError(f'{path}: not an MCAP file (bad magic {magic!r})')
        fh.seek(0)
        schemas: dict[int, Any] = {}
        channels: dict[int, tuple[str, str]] = {}
        reader = StreamReader(fh, emit_chunks=True, record_size_limit=RECORD_LIMIT)

        def handle(rec: Any) -> BagMessage | None:
            if isinstance(rec, Schema):
                schemas[rec.id] = rec
            elif isinstance(rec, Channel):
                schema = schemas.get(rec.schema_id)
                msgtype = schema.name if schema is not None else ''
                channels[rec.id] = (rec.topic, msgtype)
                scan.topics[rec.topic] = (msgtype, schema.encoding if schema else '',
                                          rec.message_encoding)
            elif isinstance(rec, Message):
                topic, msgtype = channels.get(rec.channel_id, ('', ''))
                if not topic:
                    return None  # a message of an unknown channel cannot be decoded
                scan.messages += 1
                if want is None or want(topic, msgtype):
                    return BagMessage(topic, msgtype, rec.log_time, rec.data, path)
            return None

        records = iter(reader.records)
        while True:
            try:
                rec = next(records)
                inner = breakup_chunk(rec, validate_crc=True) if isinstance(rec, Chunk) \
                    else [rec]
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - EOF, CRC, zstd/lz4, struct errors
                scan.error = f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__
                break
            if isinstance(rec, Chunk):
                scan.chunks += 1
            if isinstance(rec, (DataEnd, Footer)):
                scan.complete = True
                if isinstance(rec, Footer):
                    break
            for sub in inner:
                msg = handle(sub)
                if msg is not None:
                    yield msg
    if scan.error:
        logger.warning('%s: stopped after %d complete chunk(s), %d message(s): %s', path,
                       scan.chunks, scan.messages, scan.error)
    elif not scan.complete:
        scan.error = 'file ends without a footer (writer did not close it)'
        logger.warning('%s: %s', path, scan.error)


def iter_bag_messages(path: str | os.PathLike, *,
                      want: Callable[[str, str], bool] | None = None,
                      scans: list[FileScan] | None = None) -> Iterator[BagMessage]:
    """Messages of a bag folder or ``.mcap`` file in file order, recovering cut files.

    Args:
        path: a rosbag2 folder or an ``.mcap`` file.
        want: ``want(topic, msgtype)`` selects messages (default all).
        scans: if given, one :class:`FileScan` per file is appended to it.

    Raises:
        DataError: no such bag, or a file that is not MCAP at all.
    """
    for file in bag_files(path):
        scan = FileScan(file)
        if scans is not None:
            scans.append(scan)
        yield from scan_file(file, scan, want=want)


def topic_counts(messages: Iterable[BagMessage]) -> dict[str, int]:
    """Message count per topic."""
    counts: dict[str, int] = {}
    for m in messages:
        counts[m.topic] = counts.get(m.topic, 0) + 1
    return counts
