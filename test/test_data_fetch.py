# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""End-to-end tests of the data store and ``ego-reasoner data`` against a loopback server."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
import hashlib
import http.server
import json
from pathlib import Path
import threading

import pytest

from ego_reasoner_ros.cli import data_cmd
from ego_reasoner_ros.core import data_store
from ego_reasoner_ros.core.data_store import (
    ChecksumMismatchError,
    DataNotFoundError,
    DownloadError,
)
from ego_reasoner_ros.core.errors import DataError
from data_paths import SHARED_ER

SHARED = SHARED_ER
PACKAGED_COMMIT = data_store.load_manifest()['commit']
FAKE_COMMIT = 'ab' * 20


def _fake_upstream_files() -> dict[str, bytes]:
    """A tiny upstream tree in the upstream layout, with generated content."""
    cases = [
        {'scene': 'FloorPlan1', 'tasktype': 'single_search', 'taskname': f'case {i}',
         'taskquery': f'Find the apple number {i}.', 'task_metadata': {'actions': []}}
        for i in range(3)
    ]

    def meta(scene: str, n: int) -> bytes:
        objects = [{'objectType': f'Thing{k}', 'objectId': f'Thing{k}|{scene}'} for k in range(n)]
        return json.dumps([{'sceneName': scene, 'objects': objects}]).encode()

    return {
        'LICENSE': b'Fake permissive licence text for the test tree.\n' * 20,
        'data/test_809.json': json.dumps(cases).encode(),
        'data/agent_positions.json': json.dumps({'case 0': {'Apple': [1.0, 0.9, 2.0]}}).encode(),
        'data_engine/taskgenerate/pick_up_and_put.json':
            json.dumps([{'Apple': ['CounterTop', 'Fridge']}]).encode(),
        'data_engine/taskgenerate/kitchens/FloorPlan1/metadata.json': meta('FloorPlan1', 40),
        'data_engine/taskgenerate/kitchens/FloorPlan1/originPos.json': b'{"x": 1.0, "z": 2.0}',
        'data_engine/taskgenerate/bathrooms/FloorPlan401/metadata.json': meta('FloorPlan401', 7),
    }


def _manifest_for(files: dict[str, bytes], commit: str = FAKE_COMMIT) -> dict:
    return {
        'repository': 'example/fake_upstream',
        'commit': commit,
        'files': {path: {'sha256': hashlib.sha256(body).hexdigest(), 'bytes': len(body)}
                  for path, body in files.items()},
    }


@dataclass
class FakeServer:
    """Serves ``files`` under ``/<commit>/``; ``overrides`` replace bodies, ``missing`` 404s."""

    files: dict[str, bytes]
    commit: str = FAKE_COMMIT
    overrides: dict[str, bytes] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    flaky: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    base_url: str = ''


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    state = FakeServer(_fake_upstream_files())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            prefix = f'/{state.commit}/'
            rel = self.path[len(prefix):] if self.path.startswith(prefix) else None
            state.requests.append(rel or self.path)
            if rel in state.flaky:
                state.flaky.discard(rel)
                self.send_error(503, 'Busy')
                return
            body = None
            if rel is not None and rel not in state.missing:
                body = state.overrides.get(rel, state.files.get(rel))
            if body is None:
                self.send_error(404, 'Not Found')
                return
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f'http://127.0.0.1:{server.server_address[1]}/{state.commit}'
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user cache at tmp_path and clear EGO_REASONER_DATA."""
    cache = tmp_path / 'xdg-cache'
    monkeypatch.setenv('XDG_CACHE_HOME', str(cache))
    monkeypatch.delenv(data_store.ENV_VAR, raising=False)
    return cache


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob('*') if p.is_file())


def _assert_no_leftovers(cache_parent: Path) -> None:
    leftovers = [p for p in cache_parent.rglob('*') if p.name.endswith('.part')
                 or '.staging' in p.name or '.old-' in p.name]
    assert leftovers == []


# ----------------------------------------------------------------------------- fetch


def test_fetch_lays_out_verifies_and_is_idempotent(fake_server: FakeServer) -> None:
    manifest = _manifest_for(fake_server.files)
    path = data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False)

    assert path == data_store.cache_root() / FAKE_COMMIT[:12]
    assert sorted(fake_server.requests) == sorted(fake_server.files)
    files = _all_files(path)
    assert files == sorted([
        'LICENSE-MulanPSL2.txt', 'README.md', 'agent_positions.json', 'fetch.json',
        'pick_up_and_put.json', 'scenes/bathrooms/FloorPlan401/metadata.json',
        'scenes/kitchens/FloorPlan1/metadata.json', 'scenes/kitchens/FloorPlan1/originPos.json',
        'test_809.json', 'upstream-manifest.json',
    ])
    for upstream, body in fake_server.files.items():
        assert (path / data_store.local_path_for(upstream)).read_bytes() == body
    stamp = json.loads((path / 'fetch.json').read_text())
    assert stamp['commit'] == FAKE_COMMIT
    assert stamp['n_files'] == len(fake_server.files)
    assert stamp['downloaded'] == len(fake_server.files)
    assert stamp['source'] == fake_server.base_url
    assert stamp['fetched_at'].endswith('+00:00')
    assert json.loads((path / 'upstream-manifest.json').read_text()) == manifest
    assert FAKE_COMMIT in (path / 'README.md').read_text()
    assert data_store.verify_tree(path, manifest) == []
    _assert_no_leftovers(path.parent)

    # second run: nothing downloaded, same folder
    fake_server.requests.clear()
    again = data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False)
    assert again == path
    assert fake_server.requests == []

    # a damaged file is the only one downloaded again
    (path / 'test_809.json').write_bytes(b'[]')
    repaired = data_store.fetch(base_url=fake_server.base_url, manifest=manifest,
                                progress=False)
    assert fake_server.requests == ['data/test_809.json']
    assert (repaired / 'test_809.json').read_bytes() == fake_server.files['data/test_809.json']
    _assert_no_leftovers(path.parent)

    # --force downloads everything
    fake_server.requests.clear()
    data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False,
                     force=True, workers=1)
    assert sorted(fake_server.requests) == sorted(fake_server.files)


def test_checksum_mismatch_names_file_and_leaves_nothing(fake_server: FakeServer) -> None:
    manifest = _manifest_for(fake_server.files)
    bad = 'data_engine/taskgenerate/kitchens/FloorPlan1/metadata.json'
    wrong = fake_server.files[bad].replace(b'Thing1', b'Thing9')
    fake_server.overrides[bad] = wrong
    dest = data_store.cache_root() / FAKE_COMMIT[:12]

    with pytest.raises(ChecksumMismatchError) as info:
        data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False)

    message = str(info.value)
    assert bad in message
    assert manifest['files'][bad]['sha256'] in message
    assert hashlib.sha256(wrong).hexdigest() in message
    assert info.value.path == bad
    assert not dest.exists()
    assert [p.name for p in data_store.cache_root().iterdir()] == []
    with pytest.raises(DataNotFoundError):
        data_store.resolve_data_dir()


def test_truncated_body_is_a_size_mismatch(fake_server: FakeServer, tmp_path: Path) -> None:
    manifest = _manifest_for(fake_server.files)
    fake_server.overrides['LICENSE'] = fake_server.files['LICENSE'][:100]
    with pytest.raises(ChecksumMismatchError, match='LICENSE') as info:
        data_store.fetch(tmp_path / 'out', fake_server.base_url, manifest=manifest,
                         progress=False, workers=1)
    assert info.value.actual_bytes == 100
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_clear_error_and_the_next_run_resumes(
        fake_server: FakeServer) -> None:
    manifest = _manifest_for(fake_server.files)
    gone = 'data/agent_positions.json'
    fake_server.missing.add(gone)
    dest = data_store.cache_root() / FAKE_COMMIT[:12]

    with pytest.raises(DownloadError, match='404') as info:
        data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False,
                         workers=1, retries=3)
    assert gone in str(info.value)
    assert fake_server.requests.count(gone) == 1  # a 404 is not retried
    assert not dest.exists()
    assert list(data_store.cache_root().rglob('*.part')) == []
    with pytest.raises(DataNotFoundError):
        data_store.resolve_data_dir()

    # once upstream serves it, only what was not yet verified is transferred
    fake_server.missing.clear()
    fake_server.requests.clear()
    path = data_store.fetch(base_url=fake_server.base_url, manifest=manifest, progress=False,
                            workers=1)
    assert gone in fake_server.requests
    assert len(fake_server.requests) < len(fake_server.files)
    assert data_store.verify_tree(path, manifest) == []
    _assert_no_leftovers(path.parent)


def test_server_errors_are_retried(fake_server: FakeServer, tmp_path: Path) -> None:
    manifest = _manifest_for(fake_server.files)
    fake_server.flaky.add('data/test_809.json')
    path = data_store.fetch(tmp_path / 'data', fake_server.base_url, manifest=manifest,
                            progress=False, retries=1)
    assert fake_server.requests.count('data/test_809.json') == 2
    assert data_store.verify_tree(path, manifest) == []

    fake_server.flaky.add('LICENSE')
    with pytest.raises(DownloadError, match='HTTP 503'):
        data_store.fetch(tmp_path / 'again', fake_server.base_url, manifest=manifest,
                         progress=False, retries=0)


def test_from_dir_converts_a_local_clone_without_network(tmp_path: Path) -> None:
    files = _fake_upstream_files()
    clone = tmp_path / 'clone'
    for rel, body in files.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_bytes(body)
    manifest = _manifest_for(files)
    path = data_store.fetch(tmp_path / 'data', manifest=manifest, from_dir=clone,
                            progress=True)
    assert data_store.verify_tree(path, manifest) == []
    assert json.loads((path / 'fetch.json').read_text())['source'] == str(clone.resolve())
    assert data_store.scenes_dir(path) == path / 'scenes'

    (clone / 'data/test_809.json').unlink()
    with pytest.raises(DownloadError, match='test_809.json'):
        data_store.fetch(tmp_path / 'other', manifest=manifest, from_dir=clone,
                         progress=False)
    assert not (tmp_path / 'other').exists()


def test_fetch_refuses_to_replace_a_foreign_folder(tmp_path: Path,
                                                   fake_server: FakeServer) -> None:
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'notes.txt').write_text('keep me')
    with pytest.raises(DataError, match='refusing'):
        data_store.fetch(foreign, fake_server.base_url,
                         manifest=_manifest_for(fake_server.files), progress=False, force=True)
    assert (foreign / 'notes.txt').read_text() == 'keep me'
    assert fake_server.requests == []


def test_concurrent_fetch_into_same_folder_is_refused(tmp_path: Path,
                                                      fake_server: FakeServer) -> None:
    dest = tmp_path / 'data'
    lock = tmp_path / '.data.lock'
    with data_store._exclusive(lock, dest):
        with pytest.raises(DataError, match='another fetch'):
            data_store.fetch(dest, fake_server.base_url,
                             manifest=_manifest_for(fake_server.files), progress=False)
    assert fake_server.requests == []
    assert not lock.exists()
    path = data_store.fetch(dest, fake_server.base_url,
                            manifest=_manifest_for(fake_server.files), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data']
    assert (path / 'fetch.json').is_file()


def test_manifest_validation_and_path_mapping() -> None:
    assert data_store.local_path_for(
        'data_engine/taskgenerate/living_rooms/FloorPlan201/originPos.json'
    ) == 'scenes/living_rooms/FloorPlan201/originPos.json'
    assert data_store.local_path_for('data/test_809.json') == 'test_809.json'
    assert data_store.local_path_for(
        'data_engine/taskgenerate/pick_up_and_put.json') == 'pick_up_and_put.json'
    assert data_store.local_path_for('LICENSE') == 'LICENSE-MulanPSL2.txt'
    for unsafe in ('../etc/passwd', '/abs/file', 'data/../../x'):
        with pytest.raises(DataError, match='unsafe'):
            data_store.local_path_for(unsafe)
    good = _manifest_for({'data/a.json': b'{}'})
    bad_hash = json.loads(json.dumps(good))
    bad_hash['files']['data/a.json']['sha256'] = 'xyz'
    with pytest.raises(DataError, match='bad sha256'):
        data_store.validate_manifest(bad_hash)
    with pytest.raises(DataError, match='commit'):
        data_store.validate_manifest({'repository': 'a/b', 'files': good['files']})
    with pytest.raises(ValueError, match='workers'):
        data_store.fetch(Path('/nonexistent'), manifest=good, workers=0)


def test_packaged_manifest_is_complete() -> None:
    manifest = data_store.load_manifest()
    entries = data_store.validate_manifest(manifest)
    locals_ = {e.local for e in entries}
    assert {'test_809.json', 'agent_positions.json', 'pick_up_and_put.json',
            'LICENSE-MulanPSL2.txt'} <= locals_
    scenes = {p for p in locals_ if p.startswith('scenes/') and p.endswith('/metadata.json')}
    assert len(scenes) >= 100
    assert data_store.default_base_url(manifest) == (
        f"https://raw.githubusercontent.com/{manifest['repository']}/{manifest['commit']}")


@pytest.mark.skipif(not (SHARED / 'upstream-manifest.json').is_file(),
                    reason='shared Embodied-Reasoner data not present')
def test_packaged_manifest_equals_shared_copy() -> None:
    shared = json.loads((SHARED / 'upstream-manifest.json').read_text(encoding='utf-8'))
    assert shared == data_store.load_manifest()


@pytest.mark.skipif(not (SHARED / 'scenes').is_dir(),
                    reason='shared Embodied-Reasoner data not present')
def test_layout_mapping_matches_shared_copy() -> None:
    # the shared copy is the fetch layout less the withheld test scenes and cases; its
    # agent_positions.json is filtered accordingly, every other present file is byte-identical
    entries = data_store.validate_manifest(data_store.load_manifest())
    present = [e for e in entries if (SHARED / e.local).is_file()]
    differing = [e.local for e in present if data_store.sha256_file(SHARED / e.local)[0]
                 != e.sha256]
    assert len(present) >= 200
    assert set(differing) <= {'agent_positions.json'}


# ----------------------------------------------------------------------------- resolution


def _make_root(path: Path, test_name: str = 'test_809.json') -> Path:
    (path / 'scenes' / 'kitchens' / 'FloorPlan1').mkdir(parents=True)
    (path / test_name).write_text('[]')
    return path


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          fake_server: FakeServer) -> None:
    with pytest.raises(DataNotFoundError, match='ego-reasoner data fetch') as info:
        data_store.resolve_data_dir()
    assert data_store.ENV_VAR in str(info.value)

    # the user cache counts once a fetch of the packaged commit completed there
    data_store.fetch(base_url=fake_server.base_url, progress=False,
                     manifest=_manifest_for(fake_server.files, commit=FAKE_COMMIT))
    with pytest.raises(DataNotFoundError):  # other commit: not the packaged one
        data_store.resolve_data_dir()
    fake_server.commit = PACKAGED_COMMIT
    cached = data_store.fetch(
        base_url=fake_server.base_url.replace(FAKE_COMMIT, PACKAGED_COMMIT), progress=False,
        manifest=_manifest_for(fake_server.files, commit=PACKAGED_COMMIT))
    assert data_store.resolve_data_dir() == cached.resolve()

    env_root = _make_root(tmp_path / 'env-root', 'test_public.json')
    monkeypatch.setenv(data_store.ENV_VAR, str(env_root))
    assert data_store.resolve_data_dir() == env_root.resolve()
    assert data_store.test_set_path(env_root).name == 'test_public.json'

    explicit = _make_root(tmp_path / 'explicit')
    assert data_store.resolve_data_dir(str(explicit)) == explicit.resolve()
    assert data_store.test_set_path(explicit).name == 'test_809.json'
    with pytest.raises(DataNotFoundError, match='agent_positions.json'):
        data_store.agent_positions_path(explicit)
    assert not data_store.receptacle_compat_path(explicit, required=False).exists()

    monkeypatch.setenv(data_store.ENV_VAR, str(tmp_path / 'nowhere'))
    with pytest.raises(DataNotFoundError, match='not a directory'):
        data_store.resolve_data_dir()
    with pytest.raises(DataNotFoundError, match='no scenes/'):
        data_store.resolve_data_dir(tmp_path)


@pytest.mark.skipif(not (SHARED / 'scenes').is_dir(),
                    reason='shared Embodied-Reasoner data not present')
def test_shared_copy_resolves_through_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data_store.ENV_VAR, str(SHARED))
    root = data_store.resolve_data_dir()
    assert data_store.test_set_path(root).is_file()
    assert data_store.receptacle_compat_path(root).is_file()
    assert any(data_store.scenes_dir(root).glob('*/FloorPlan*/metadata.json'))


# ----------------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    """Run the real entry point when the lead has created it, else a parser of our own."""
    try:
        from ego_reasoner_ros.cli.main import main
    except ImportError:
        parser = argparse.ArgumentParser(prog='ego-reasoner')
        data_cmd.add_parser(parser.add_subparsers(dest='command'))
        args = parser.parse_args(argv)
        return args.func(args)
    try:
        return int(main(argv) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_cli_fetch_where_info(fake_server: FakeServer, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest_for(fake_server.files)
    monkeypatch.setattr(data_store, 'load_manifest', lambda: manifest)
    dest = tmp_path / 'cli-data'

    code = _cli(['data', 'fetch', '--dest', str(dest), '--base-url', fake_server.base_url,
                 '--no-progress'])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary == {'path': str(dest.absolute()), 'n_files': len(fake_server.files),
                       'commit': FAKE_COMMIT}
    assert data_store.verify_tree(dest, manifest) == []

    assert _cli(['data', 'where', '--data', str(dest)]) == 0
    assert capsys.readouterr().out.strip() == str(dest.resolve())

    monkeypatch.setenv(data_store.ENV_VAR, str(dest))
    assert _cli(['data', 'info']) == 0
    info = json.loads(capsys.readouterr().out.strip())
    assert info['n_scenes'] == 2
    assert info['n_test_cases'] == 3
    assert info['commit'] == FAKE_COMMIT
    assert info['test_set'] == 'test_809.json'

    monkeypatch.delenv(data_store.ENV_VAR)
    assert _cli(['data', 'where']) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    assert 'ego-reasoner data fetch' in captured.err

    fake_server.overrides['LICENSE'] = b'tampered'
    assert _cli(['data', 'fetch', '--dest', str(tmp_path / 'bad'), '--base-url',
                 fake_server.base_url, '--no-progress']) == 1
    assert 'checksum mismatch for LICENSE' in capsys.readouterr().err
    assert not (tmp_path / 'bad').exists()


@pytest.mark.parametrize('argv', [['data', '--help'], ['data', 'fetch', '--help'],
                                  ['data', 'where', '--help'], ['data', 'info', '--help']])
def test_cli_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog='ego-reasoner')
    data_cmd.add_parser(parser.add_subparsers(dest='command'))
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: ego-reasoner data')
    if 'fetch' in argv:
        assert '--from-dir' in out and '--base-url' in out and '--force' in out

