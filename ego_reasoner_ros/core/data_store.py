# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Where the public Embodied-Reasoner data lives, and how to download it.

The data (AI2-THOR scene metadata, the 809 test cases, agent poses and receptacle
compatibility) comes from the public upstream repository at the commit pinned in the
packaged ``data/upstream-manifest.json``, which also holds the sha256 and size of every file.

Local layout (the same as the read-only shared copy)::

    <root>/scenes/<room>/<FloorPlanN>/{metadata.json,originPos.json}
    <root>/test_809.json            (or test_public.json in a partial copy)
    <root>/agent_positions.json
    <root>/pick_up_and_put.json
    <root>/LICENSE-MulanPSL2.txt
    <root>/upstream-manifest.json, README.md, fetch.json   (stamps written by fetch)

Resolution order of the data root: an explicit ``--data DIR``, the ``EGO_REASONER_DATA``
environment variable, then the user cache
``$XDG_CACHE_HOME/ego_reasoner_ros/embodied-reasoner/<commit[:12]>`` when a fetch completed
there. Only the standard library is used; nothing here imports ROS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
import contextlib
from dataclasses import dataclass
import datetime as _dt
import hashlib
import http.client
import importlib.resources
import json
import logging
import os
from pathlib import Path, PurePosixPath
import shutil
import threading
import time
from typing import Any, BinaryIO
import urllib.error
import urllib.parse
import urllib.request

from ego_reasoner_ros.core.errors import DataError

logger = logging.getLogger(__name__)

ENV_VAR = 'EGO_REASONER_DATA'
CACHE_SUBDIR = ('ego_reasoner_ros', 'embodied-reasoner')
MANIFEST_NAME = 'upstream-manifest.json'
STAMP_NAME = 'fetch.json'
README_NAME = 'README.md'
LICENSE_NAME = 'LICENSE-MulanPSL2.txt'
TEST_SET_NAMES = ('test_809.json', 'test_public.json')
FETCH_HINT = (
    "run 'ego-reasoner data fetch' to download it, or set "
    f'{ENV_VAR} (or pass --data DIR) to an existing copy'
)

_CHUNK = 1 << 16
_SCENE_PREFIX = 'data_engine/taskgenerate/'


class DataNotFoundError(DataError):
    """The public data set could not be located."""


class ChecksumMismatchError(DataError):
    """A downloaded file does not match the sha256/size recorded in the manifest."""

    def __init__(self, path: str, expected_sha256: str, actual_sha256: str,
                 expected_bytes: int, actual_bytes: int) -> None:
        self.path = path
        self.expected_sha256 = expected_sha256
        self.actual_sha256 = actual_sha256
        self.expected_bytes = expected_bytes
        self.actual_bytes = actual_bytes
        super().__init__(
            f'checksum mismatch for {path}: expected sha256 {expected_sha256} '
            f'({expected_bytes} bytes), got {actual_sha256} ({actual_bytes} bytes); '
            'nothing was installed'
        )


class DownloadError(DataError):
    """A file could not be obtained from the upstream source."""


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ManifestEntry:
    """One upstream file: its path in the upstream repository, sha256 and size."""

    upstream: str
    sha256: str
    size: int
    #: the local path when the manifest names one (``"local"``); else ``local_path_for``.
    target: str | None = None

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in '0123456789abcdef' for c in self.sha256):
            raise DataError(f'manifest entry {self.upstream!r}: bad sha256 {self.sha256!r}')
        if self.size < 0:
            raise DataError(f'manifest entry {self.upstream!r}: negative size')

    @property
    def local(self) -> str:
        """The relative path of this file in the local layout."""
        if self.target is not None:
            return local_path_for(self.target)  # the same safety checks
        return local_path_for(self.upstream)


def load_manifest(name: str = MANIFEST_NAME) -> dict[str, Any]:
    """Return a packaged upstream manifest (``repository``, ``commit``, ``files``).

    ``name`` is its file under ``ego_reasoner_ros/data/`` (default: the ER data's).
    """
    resource = importlib.resources.files('ego_reasoner_ros') / 'data' / name
    try:
        manifest = json.loads(resource.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read the packaged {name}: {exc}') from exc
    validate_manifest(manifest)
    return manifest


def validate_manifest(manifest: Mapping[str, Any]) -> list[ManifestEntry]:
    """Check a manifest's shape and return its entries sorted by upstream path.

    Raises:
        DataError: a key is missing, a hash is malformed or a path is unsafe.

    """
    for key in ('repository', 'commit', 'files'):
        if key not in manifest:
            raise DataError(f'upstream manifest lacks {key!r}')
    commit = str(manifest['commit'])
    if len(commit) < 12 or any(c not in '0123456789abcdef' for c in commit):
        raise DataError(f'upstream manifest: bad commit {commit!r}')
    files = manifest['files']
    if not isinstance(files, Mapping) or not files:
        raise DataError('upstream manifest: "files" must be a non-empty mapping')
    entries = []
    seen_local: dict[str, str] = {}
    for upstream, meta in sorted(files.items()):
        try:
            entry = ManifestEntry(str(upstream), str(meta['sha256']).lower(), int(meta['bytes']),
                                  str(meta['local']) if meta.get('local') else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f'manifest entry {upstream!r} is malformed: {exc}') from exc
        local = entry.local  # validates the path
        if local in seen_local:
            raise DataError(f'manifest entries {seen_local[local]!r} and {upstream!r} '
                            f'both map to {local!r}')
        seen_local[local] = entry.upstream
        entries.append(entry)
    return entries


def local_path_for(upstream: str) -> str:
    """Map an upstream repository path to its relative path in the local layout.

    ``data_engine/taskgenerate/<room>/<FloorPlanN>/<f>`` -> ``scenes/<room>/<FloorPlanN>/<f>``,
    ``data_engine/taskgenerate/<f>`` and ``data/<f>`` -> ``<f>``, ``LICENSE`` ->
    ``LICENSE-MulanPSL2.txt``; anything else keeps its path.

    Raises:
        DataError: the path is absolute or climbs out of the data root.

    """
    parts = PurePosixPath(upstream).parts
    if not parts or upstream.startswith('/') or any(p in ('..', '.', '') for p in parts):
        raise DataError(f'unsafe path in upstream manifest: {upstream!r}')
    if upstream == 'LICENSE':
        return LICENSE_NAME
    if upstream.startswith(_SCENE_PREFIX):
        rest = parts[2:]
        if len(rest) == 3:
            return str(PurePosixPath('scenes', *rest))
        return str(PurePosixPath(*rest))
    if parts[0] == 'data' and len(parts) > 1:
        return str(PurePosixPath(*parts[1:]))
    return upstream


def default_base_url(manifest: Mapping[str, Any] | None = None) -> str:
    """raw.githubusercontent.com URL of the upstream repository at the pinned commit."""
    manifest = manifest if manifest is not None else load_manifest()
    return f"https://raw.githubusercontent.com/{manifest['repository']}/{manifest['commit']}"


# --------------------------------------------------------------------------- resolution


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ego_reasoner_ros/embodied-reasoner`` (default ``~/.cache/...``)."""
    xdg = os.environ.get('XDG_CACHE_HOME')
    base = Path(xdg).expanduser() if xdg else Path.home() / '.cache'
    return base.joinpath(*CACHE_SUBDIR)


def default_dest(manifest: Mapping[str, Any] | None = None) -> Path:
    """The cache folder a fetch of ``manifest`` (default: the packaged one) goes to."""
    manifest = manifest if manifest is not None else load_manifest()
    return cache_root() / str(manifest['commit'])[:12]


def _check_root(path: Path, origin: str) -> Path:
    path = path.expanduser()
    if not path.is_dir():
        raise DataNotFoundError(f'{origin} {path} is not a directory; {FETCH_HINT}')
    if not (path / 'scenes').is_dir():
        raise DataNotFoundError(
            f'{origin} {path} does not look like the Embodied-Reasoner data '
            f'(no scenes/ folder); {FETCH_HINT}'
        )
    return path.resolve()


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Find the data root: ``explicit``, then ``$EGO_REASONER_DATA``, then the user cache.

    Raises:
        DataNotFoundError: none of them holds the data; the message says how to get it.

    """
    if explicit is not None and str(explicit) != '':
        return _check_root(Path(explicit), '--data')
    env = os.environ.get(ENV_VAR, '')
    if env:
        return _check_root(Path(env), ENV_VAR)
    cached = default_dest()
    if (cached / STAMP_NAME).is_file() and (cached / 'scenes').is_dir():
        return cached.resolve()
    raise DataNotFoundError(
        f'the Embodied-Reasoner data was not found (no --data, {ENV_VAR} unset, '
        f'nothing fetched in {cached}); {FETCH_HINT}'
    )


def _required(path: Path, what: str, required: bool) -> Path:
    if required and not path.exists():
        raise DataNotFoundError(f'{what} not found at {path}; {FETCH_HINT}')
    return path


def scenes_dir(root: Path, *, required: bool = True) -> Path:
    """``<root>/scenes`` holding ``<room>/<FloorPlanN>/metadata.json``."""
    return _required(Path(root) / 'scenes', 'scenes folder', required)


def test_set_path(root: Path, *, required: bool = True) -> Path:
    """``test_809.json`` when present, else the partial ``test_public.json``."""
    root = Path(root)
    for name in TEST_SET_NAMES:
        if (root / name).is_file():
            return root / name
    return _required(root / TEST_SET_NAMES[0], 'test set (test_809.json/test_public.json)',
                     required)


def agent_positions_path(root: Path, *, required: bool = True) -> Path:
    """``<root>/agent_positions.json``: hand-set navigation poses per (case, object)."""
    return _required(Path(root) / 'agent_positions.json', 'agent_positions.json', required)


def receptacle_compat_path(root: Path, *, required: bool = True) -> Path:
    """``<root>/pick_up_and_put.json``: receptacle types each object type may go on or in."""
    return _required(Path(root) / 'pick_up_and_put.json', 'pick_up_and_put.json', required)


# --------------------------------------------------------------------------- fetch


def sha256_file(path: Path) -> tuple[str, int]:
    """Return the sha256 hex digest and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, 'rb') as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _matches(path: Path, entry: ManifestEntry) -> bool:
    try:
        if path.stat().st_size != entry.size:
            return False
        return sha256_file(path)[0] == entry.sha256
    except OSError:
        return False


def verify_tree(root: Path, manifest: Mapping[str, Any] | None = None) -> list[str]:
    """Return the local paths under ``root`` missing or not matching ``manifest``."""
    manifest = manifest if manifest is not None else load_manifest()
    return [e.local for e in validate_manifest(manifest) if not _matches(root / e.local, e)]


class _Progress:
    """Byte progress through tqdm when importable, else periodic log lines."""

    def __init__(self, total_bytes: int, n_files: int, enabled: bool) -> None:
        self._bar = None
        self._lock = threading.Lock()
        self._done_files = 0
        self._n_files = n_files
        self._last_log = 0.0
        self._enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total_bytes, unit='B', unit_scale=True,
                                 desc='embodied-reasoner data')

    def advance(self, n_bytes: int) -> None:
        if self._bar is not None:
            self._bar.update(n_bytes)

    def file_done(self, name: str) -> None:
        with self._lock:
            self._done_files += 1
            done = self._done_files
        if self._enabled and self._bar is None:
            now = time.monotonic()
            if done == self._n_files or now - self._last_log > 2.0:
                self._last_log = now
                logger.info('fetched %d/%d files (last: %s)', done, self._n_files, name)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


Opener = Callable[[str], BinaryIO]


def _url_opener(base_url: str, timeout: float) -> Opener:
    base = base_url.rstrip('/')

    def open_remote(upstream: str) -> BinaryIO:
        url = f'{base}/{urllib.parse.quote(upstream)}'
        request = urllib.request.Request(url, headers={'User-Agent': 'ego-reasoner-data-fetch'})
        return urllib.request.urlopen(request, timeout=timeout)

    return open_remote


def _dir_opener(src: Path) -> Opener:
    def open_local(upstream: str) -> BinaryIO:
        path = src / upstream
        try:
            return open(path, 'rb')
        except FileNotFoundError as exc:
            raise DownloadError(f'{upstream} not found in local upstream clone {src}') from exc

    return open_local


def _transfer(entry: ManifestEntry, opener: Opener, staging: Path, retries: int,
              progress: _Progress, stop: threading.Event, source: str) -> None:
    """Copy one file into ``staging`` (via ``.part``), verify it, then rename it in place."""
    final = staging / entry.local
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + '.part')
    attempt = 0
    while True:
        if stop.is_set():
            return
        attempt += 1
        digest = hashlib.sha256()
        size = 0
        try:
            with opener(entry.upstream) as stream, open(part, 'wb') as out:
                while chunk := stream.read(_CHUNK):
                    if stop.is_set():  # another transfer failed: give up quickly
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                    progress.advance(len(chunk))
                    if size > entry.size:  # do not keep reading a wrong, huge body
                        break
        except urllib.error.HTTPError as exc:
            part.unlink(missing_ok=True)
            if exc.code < 500 or attempt > retries:
                raise DownloadError(
                    f'cannot download {entry.upstream} from {source}: HTTP {exc.code} '
                    f'{exc.reason}'
                ) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            part.unlink(missing_ok=True)
            if attempt > retries:
                raise DownloadError(
                    f'cannot download {entry.upstream} from {source} after {attempt} '
                    f'attempt(s): {exc}'
                ) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        else:
            if stop.is_set():
                part.unlink(missing_ok=True)
                return
            actual = digest.hexdigest()
            if size != entry.size or actual != entry.sha256:
                part.unlink(missing_ok=True)
                raise ChecksumMismatchError(entry.upstream, entry.sha256, actual,
                                            entry.size, size)
            os.replace(part, final)
            progress.file_done(entry.local)
            return
        progress.advance(-size)  # the retry streams the file again
        delay = min(0.5 * 2 ** (attempt - 1), 8.0)
        logger.warning('retrying %s in %.1f s (attempt %d/%d)', entry.upstream, delay,
                       attempt + 1, retries + 1)
        time.sleep(delay)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_stamps(staging: Path, manifest: Mapping[str, Any], source: str,
                  entries: list[ManifestEntry], downloaded: int) -> None:
    (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + '\n', encoding='utf-8')
    stamp = {
        'repository': manifest['repository'],
        'commit': manifest['commit'],
        'source': source,
        'fetched_at': _dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'),
        'n_files': len(entries),
        'bytes': sum(e.size for e in entries),
        'downloaded': downloaded,
    }
    (staging / STAMP_NAME).write_text(json.dumps(stamp, indent=1) + '\n', encoding='utf-8')
    readme = '\n'.join(manifest['readme']) + '\n' if manifest.get('readme') else (
        '# Embodied-Reasoner public data\n\n'
        f"Downloaded by `ego-reasoner data fetch` from github.com/{manifest['repository']} at "
        f"commit {manifest['commit']} ({stamp['fetched_at']}); every file was checked against "
        f'the sha256 in `{MANIFEST_NAME}`. Upstream is licensed under the Mulan Permissive '
        f'Software License v2 (`{LICENSE_NAME}`); the scene metadata is AI2-THOR event '
        'metadata (Apache-2.0).\n\n'
        '- `scenes/<room>/<FloorPlanN>/{metadata.json,originPos.json}`: scene metadata and '
        'start pose\n'
        '- `test_809.json`: the test cases\n'
        '- `agent_positions.json`: hand-set navigation poses\n'
        '- `pick_up_and_put.json`: receptacle types per object type\n'
    )
    (staging / README_NAME).write_text(readme, encoding='utf-8')


def _install(staging: Path, dest: Path) -> None:
    """Move the complete staging tree to ``dest``, replacing any older copy."""
    old = None
    if dest.exists():
        old = dest.with_name(f'.{dest.name}.old-{os.getpid()}')
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
    try:
        os.replace(staging, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def fetch(dest: Path | str | None = None, base_url: str | None = None, *,
          manifest: Mapping[str, Any] | None = None,
          from_dir: Path | str | None = None,
          workers: int = 4, progress: bool = True, timeout: float = 60.0,
          retries: int = 3, force: bool = False) -> Path:
    """Download, verify and lay out every upstream file of the manifest; return the data root.

    Files are fetched into a hidden staging folder next to ``dest``; each one is written to
    a ``.part`` file, checked against its sha256 and size, then renamed. Only when every file
    verified is the staging folder renamed to ``dest``. Files already present with the right
    hash (in ``dest`` or in staging left by an interrupted run) are not downloaded again, so
    a second call downloads nothing.

    Args:
        dest: final data folder; default the user cache folder of the manifest's commit.
        base_url: root URL of the upstream tree; default raw.githubusercontent.com at the
            pinned commit. ``file://`` URLs work too.
        manifest: the manifest to follow; default the packaged one.
        from_dir: convert a local clone of the upstream repository instead of downloading.
        workers: parallel transfers.
        progress: show a tqdm bar (or log lines when tqdm is not installed).
        timeout: socket timeout per request in seconds.
        retries: retries of a transfer after a connection error or HTTP 5xx.
        force: download everything again even if ``dest`` verifies.

    Raises:
        ChecksumMismatchError: a file does not match the manifest; staging is removed.
        DownloadError: a file is missing upstream (HTTP 404) or the network failed;
            verified files stay in staging for the next run, ``dest`` is untouched.

    """
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    if retries < 0:
        raise ValueError(f'retries must be >= 0, got {retries}')
    manifest = dict(manifest) if manifest is not None else load_manifest()
    entries = validate_manifest(manifest)
    dest = Path(dest).expanduser() if dest is not None else default_dest(manifest)
    dest = dest.absolute()

    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest.with_name(f'.{dest.name}.lock'), dest):
        return _fetch_locked(dest, base_url, manifest, entries, from_dir, workers, progress,
                             timeout, retries, force)


@contextlib.contextmanager
def _exclusive(lock_path: Path, dest: Path) -> Iterator[None]:
    """Hold an exclusive lock file so two fetches never share a staging folder."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        yield
        return
    while True:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataError(f'another fetch into {dest} is running (lock {lock_path})') from None
        held = os.fstat(fd)
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino,
                                                                        held.st_dev):
            break
        os.close(fd)  # the previous holder removed this file meanwhile: lock the new one
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)


def _fetch_locked(dest: Path, base_url: str | None, manifest: dict[str, Any],
                  entries: list[ManifestEntry], from_dir: Path | str | None, workers: int,
                  progress: bool, timeout: float, retries: int, force: bool) -> Path:
    if from_dir is not None:
        src = Path(from_dir).expanduser()
        if not src.is_dir():
            raise DataNotFoundError(f'--from-dir {src} is not a directory')
        opener, source = _dir_opener(src), str(src.resolve())
    else:
        source = base_url or default_base_url(manifest)
        opener = _url_opener(source, timeout)

    if dest.exists() and not (dest / STAMP_NAME).is_file() and (
            not dest.is_dir() or any(dest.iterdir())):
        raise DataError(f'refusing to replace {dest}: it exists and was not made by a fetch '
                        f'(no {STAMP_NAME}); choose another --dest')
    if not force and (dest / STAMP_NAME).is_file() and not verify_tree(dest, manifest):
        logger.info('data already complete at %s (commit %s)', dest, manifest['commit'][:12])
        return dest

    staging = dest.with_name(f'.{dest.name}.staging')
    if force:
        shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(exist_ok=True)

    todo: list[ManifestEntry] = []
    for entry in entries:
        staged = staging / entry.local
        staged.with_name(staged.name + '.part').unlink(missing_ok=True)
        if not force and _matches(staged, entry):
            continue
        staged.unlink(missing_ok=True)
        if not force and _matches(dest / entry.local, entry):
            _link_or_copy(dest / entry.local, staged)
            continue
        todo.append(entry)
    logger.info('%d of %d files to transfer from %s', len(todo), len(entries), source)

    bar = _Progress(sum(e.size for e in todo), len(todo), progress and bool(todo))
    stop = threading.Event()
    try:
        _run_transfers(todo, opener, staging, retries, bar, stop, source, workers)
    except ChecksumMismatchError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        # keep the verified files for a resumed run; never leave partial ones
        for part in staging.rglob('*.part'):
            part.unlink(missing_ok=True)
        if not any(p.is_file() for p in staging.rglob('*')):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        bar.close()

    missing = verify_tree(staging, manifest)
    if missing:  # should not happen: every transfer verified its file
        shutil.rmtree(staging, ignore_errors=True)
        raise DataError(f'staging is incomplete after the fetch: {missing[:5]}')
    _write_stamps(staging, manifest, source, entries, len(todo))
    _install(staging, dest)
    logger.info('Embodied-Reasoner data ready at %s (%d files, %d downloaded)', dest,
                len(entries), len(todo))
    return dest


def _run_transfers(todo: Iterable[ManifestEntry], opener: Opener, staging: Path, retries: int,
                   bar: _Progress, stop: threading.Event, source: str, workers: int) -> None:
    todo = list(todo)
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        futures = [pool.submit(_transfer, e, opener, staging, retries, bar, stop, source)
                   for e in todo]
        try:
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:
            stop.set()
            for fut in futures:
                fut.cancel()
            raise
        errors = [f.exception() for f in done if not f.cancelled() and f.exception()]
        if errors:
            stop.set()
            for fut in futures:
                fut.cancel()
            # a checksum mismatch wins over concurrent transport errors
            mismatches = [e for e in errors if isinstance(e, ChecksumMismatchError)]
            raise (mismatches or errors)[0]
