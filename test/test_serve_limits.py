# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner serve`` under bad input (issue 23): every limit answers a 4xx that says why.

An over-long prompt (and the server's memory stays small), a bad ``max_tokens``, a client that
sends less than its ``Content-Length``, ``file://`` / local / remote image URLs, a
decompression-bomb PNG, a full queue, an oversized body, the bounded prefix cache and bad
start-up arguments. All on loopback, with a tiny model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

pytest.importorskip('trl')
pytest.importorskip('torch')

pytestmark = pytest.mark.training

TINY = dict(hidden=64, layers=2, heads=2, kv_heads=1, vision_depth=1, vision_width=32,
            vision_heads=2, image_size=112, vocab_size=600)


@pytest.fixture(scope='module')
def tiny_dir(tmp_path_factory):
    from ego_reasoner_ros.training.tiny import build_tiny

    corpus = [f'<Thinking>I look at object {i} near the Fridge.</Thinking>'
              '<DecisionMaking>navigate to Fridge</DecisionMaking>' for i in range(100)]
    return build_tiny(tmp_path_factory.mktemp('tiny_serve'), corpus, **TINY)


@pytest.fixture(scope='module')
def engine(tiny_dir):
    from ego_reasoner_ros.training.backends.generation import GenerationSettings
    from ego_reasoner_ros.training.backends.hf import HFEngine

    return HFEngine.from_pretrained(str(tiny_dir), settings=GenerationSettings(max_new_tokens=4),
                                    torch_threads=1)


def _server(engine, **limits):
    from ego_reasoner_ros.training.serve import ChatServer, ServeLimits

    engine.reset()
    return ChatServer(engine, 'tiny', port=0, limits=ServeLimits(**limits)).start()


def _post(url: str, body: dict | bytes, timeout: float = 120.0) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + '/chat/completions', data=data,
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _image_msg(url: str) -> dict:
    return {'model': 'tiny', 'max_tokens': 2, 'messages': [{'role': 'user', 'content': [
        {'type': 'image_url', 'image_url': {'url': url}}, {'type': 'text', 'text': 'what?'}]}]}


def _png(rgb: np.ndarray) -> bytes:
    from ego_reasoner_ros.core.images import encode_png
    return encode_png(rgb)


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (a few hundred bytes on the wire)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
            + chunk(b'IDAT', zlib.compress(b'\x00' * 1024)) + chunk(b'IEND', b''))


def _data_url(data: bytes) -> str:
    import base64
    return 'data:image/png;base64,' + base64.b64encode(data).decode()


def test_bad_max_tokens_is_400_naming_the_field(engine):
    with _server(engine) as server:
        for bad in ('lots', -3, 0, True, 1.5):
            code, body = _post(server.base_url, {'messages': [{'role': 'user', 'content': 'hi'}],
                                                 'max_tokens': bad})
            assert code == 400, (bad, body)
            assert 'max_tokens' in body['error']['message']
        code, body = _post(server.base_url, {'messages': [{'role': 'user', 'content': 'hi'}],
                                             'temperature': 'hot'})
        assert code == 400 and 'temperature' in body['error']['message']
        code, body = _post(server.base_url, {'messages': [{'role': 'user', 'content': 'hi'}],
                                             'max_tokens': 10 ** 9})
        assert code == 400 and 'context' in body['error']['message']
        code, _ = _post(server.base_url, {'messages': [{'role': 'user', 'content': 'hi'}],
                                          'max_tokens': 2})
        assert code == 200


def test_prompt_limit_is_configurable_lower(engine):
    with _server(engine, max_prompt_tokens=16) as server:
        code, body = _post(server.base_url, {'messages': [
            {'role': 'user', 'content': 'the Fridge and the CounterTop ' * 20}]})
        assert code == 400 and body['error']['code'] == 'context_length_exceeded'
        assert 'at most 16' in body['error']['message']


def test_slow_client_gets_408_and_frees_its_thread(engine):
    with _server(engine, read_timeout_s=1.0) as server:
        before = threading.active_count()
        with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
            sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'
                         b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n'
                         b'{"messages"')
            start = time.monotonic()
            reply = b''
            while True:  # the server answers, then closes the connection
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
            waited = time.monotonic() - start
        assert reply.startswith(b'HTTP/1.1 408'), reply[:200]
        assert b'did not arrive within 1 s' in reply
        assert waited < 20
        deadline = time.monotonic() + 20
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() <= before, 'the handler thread is still held'
        code, _ = _post(server.base_url, {'messages': [{'role': 'user', 'content': 'hi'}]})
        assert code == 200


def test_file_local_and_remote_urls_are_refused_unless_enabled(engine, tmp_path):
    png = tmp_path / 'frame.png'
    png.write_bytes(_png(np.full((32, 32, 3), 120, np.uint8)))
    outside = tmp_path.parent / f'{tmp_path.name}_outside.png'
    outside.write_bytes(png.read_bytes())
    with _server(engine) as server:
        for url in (f'file://{png}', str(png), 'http://127.0.0.1:9/x.png'):
            code, body = _post(server.base_url, _image_msg(url))
            assert code == 400, (url, body)
            assert 'refused' in body['error']['message']
    allowed = tmp_path / 'media'
    allowed.mkdir()
    (allowed / 'frame.png').write_bytes(png.read_bytes())
    with _server(engine, local_image_dir=str(allowed)) as server:
        code, body = _post(server.base_url, _image_msg(f'file://{allowed / "frame.png"}'))
        assert code == 200, body
        code, body = _post(server.base_url, _image_msg(f'file://{outside}'))
        assert code == 400 and 'outside the allowed folder' in body['error']['message']
    outside.unlink()


def test_image_size_and_decompression_bomb_are_400(engine):
    with _server(engine, max_image_pixels=64 * 64, max_image_bytes=200_000) as server:
        code, body = _post(server.base_url, _image_msg(_data_url(_bomb_png(60_000, 60_000))))
        assert code == 400, body
        assert body['error']['code'] == 'image_too_large'
        code, body = _post(server.base_url, _image_msg(_data_url(_bomb_png(8_000, 8_000))))
        assert code == 400 and '8000x8000' in body['error']['message']
        big = _png(np.random.default_rng(0).integers(0, 255, (60, 60, 3), dtype=np.uint8))
        code, body = _post(server.base_url, _image_msg(_data_url(big)))
        assert code == 200, body  # within both limits
        noise = os.urandom(300_000)
        code, body = _post(server.base_url, _image_msg(_data_url(noise)))
        assert code == 400 and 'larger than 200000 bytes' in body['error']['message']
        code, body = _post(server.base_url, _image_msg(_data_url(b'not a png at all')))
        assert code == 400 and body['error']['code'] == 'invalid_image'


def test_queue_is_bounded_and_body_size_too(engine):
    with _server(engine, max_queue=0, max_request_bytes=4096) as server:
        msg = {'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 2}
        results = []
        engine._lock.acquire()  # the engine is busy: the first request waits for it
        try:
            first = threading.Thread(target=lambda: results.append(_post(server.base_url, msg)))
            first.start()
            deadline = time.monotonic() + 30
            while server._slots._value > 0 and time.monotonic() < deadline:  # noqa: SLF001
                time.sleep(0.02)
            code, body = _post(server.base_url, msg)
            assert code == 429 and 'busy' in body['error']['message']
        finally:
            engine._lock.release()
        first.join(timeout=60)
        assert results and results[0][0] == 200
        code, body = _post(server.base_url, {'messages': [{'role': 'user',
                                                           'content': 'x' * 5000}]})
        assert code == 413 and 'exceeds 4096 bytes' in body['error']['message']


def test_prefix_cache_is_bounded(engine):
    msg = {'messages': [{'role': 'user', 'content': 'the Fridge ' * 30}], 'max_tokens': 3}
    with _server(engine) as server:
        assert _post(server.base_url, msg)[0] == 200
        assert engine.cached_tokens > 0 and engine.cache_bytes > 0
    with _server(engine, max_cache_mb=0) as server:
        assert _post(server.base_url, msg)[0] == 200
        assert engine.cached_tokens == 0 and engine.cache_bytes == 0


def _peak_rss_mb(pid: int) -> float:
    text = Path(f'/proc/{pid}/status').read_text()
    return int(re.search(r'VmHWM:\s+(\d+) kB', text).group(1)) / 1024


def test_over_long_prompt_is_400_and_memory_stays_small(tiny_dir):
    """A prompt beyond the model's context (32768) is refused; the server stays under 2 GB."""
    from transformers import AutoTokenizer

    text = ' '.join(f'object{i % 97} near the Fridge' for i in range(12_000))
    n_tokens = len(AutoTokenizer.from_pretrained(str(tiny_dir))(text).input_ids)
    assert n_tokens > 32768, n_tokens
    proc = subprocess.Popen([sys.executable, '-m', 'ego_reasoner_ros.cli.main', 'serve',
                             '--model', str(tiny_dir), '--port', '0', '--threads', '1'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ''
        deadline = time.monotonic() + 300
        while 'serving' not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, 'serve exited'
        url = re.search(r'(http://\S+/v1)', line).group(1)
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        start = time.monotonic()
        code, body = _post(url, {'messages': [{'role': 'user', 'content': text}],
                                 'max_tokens': 8}, timeout=300)
        assert code == 400, body
        assert body['error']['code'] == 'context_length_exceeded'
        assert "model's context of 32768 tokens" in body['error']['message']
        peak = _peak_rss_mb(proc.pid)
        assert peak < 2048, f'the server peaked at {peak:.0f} MB'
        # refused fast enough that the next request is not stuck behind it
        code, _ = _post(url, {'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 2})
        assert code == 200
        print(f'over-long prompt ({n_tokens} tokens): refused in '
              f'{time.monotonic() - start:.1f} s, server peak RSS {peak:.0f} MB')
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize('argv, needle', [
    (['--model', '/nonexistent/model'], 'does not exist'),
    (['--model', '{empty}'], 'no config.json'),
    (['--model', '{empty}', '--port', '99999'], '0..65535'),
    (['--model', '{empty}', '--max-queue', '-1'], 'max_queue'),
])
def test_bad_startup_arguments_exit_2_with_a_message(tmp_path, capsys, argv, needle):
    from ego_reasoner_ros.cli.main import main

    (tmp_path / 'empty').mkdir()
    argv = [a.replace('{empty}', str(tmp_path / 'empty')) for a in argv]
    try:
        code = main(['serve', *argv])
    except SystemExit as exc:  # argparse refuses the value itself
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and 'Traceback' not in err
