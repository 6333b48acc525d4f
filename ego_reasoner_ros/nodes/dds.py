# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Keep DDS on localhost for tests and demos, and pick a per-run ROS domain id.

ROS-free: this module must be usable before ``rclpy`` is imported (the DDS participant is
created by ``rclpy.init``, so the guard has to run first).

Modes:

- ``test`` and ``demo``: refuse to start unless DDS is confined to this machine, either by
  ``FASTDDS_DEFAULT_PROFILES_FILE`` (or ``FASTRTPS_DEFAULT_PROFILES_FILE``, the name Fast DDS
  2.x in Jazzy reads; the guard sets both) naming a profile without builtin transports whose UDP
  transports and initial peers are loopback only (the shipped
  ``config/fastdds_localhost.xml``), or by ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``.
- ``robot`` / ``system``: the system's DDS settings are used as they are.

The mode of a node process comes from ``EGO_REASONER_DDS_MODE`` (default ``system``).
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
import sys
import tempfile
import xml.etree.ElementTree as ET

from ego_reasoner_ros.core.errors import EgoReasonerError

LOG = logging.getLogger(__name__)

PROFILE_NAME = 'fastdds_localhost.xml'
MODE_ENV = 'EGO_REASONER_DDS_MODE'
CONFINED_MODES = frozenset({'test', 'demo'})
KNOWN_MODES = CONFINED_MODES | {'robot', 'system'}
#: Fast DDS 2.x (Jazzy) reads this name; 3.x (Kilted) reads FASTDDS_DEFAULT_PROFILES_FILE.
LEGACY_PROFILE_ENV = 'FASTRTPS_DEFAULT_PROFILES_FILE'
DOMAIN_RANGE = (1, 100)
#: ROS domain ids valid on every platform (ROS 2 docs: 0..101 are safe, Linux allows up to
#: 232 before the DDS port numbers leave the valid range)
VALID_DOMAIN_IDS = (0, 232)
_LOOPBACK = {'127.0.0.1', 'localhost', '::1'}
_NS = '{http://www.eprosima.com}'


class DDSConfigError(EgoReasonerError, RuntimeError):
    """DDS is not confined to localhost where it has to be."""


def package_root() -> Path:
    """Return the repository root (source / editable install) of the package."""
    return Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    """Return the folder holding the shipped parameter files and DDS profile.

    Looks in the source tree first (editable install), then in ``<prefix>/share``.
    """
    candidates = [package_root() / 'config',
                  Path(sys.prefix) / 'share' / 'ego_reasoner_ros' / 'config']
    try:  # an ament install elsewhere on AMENT_PREFIX_PATH
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory('ego_reasoner_ros')) / 'config')
    except Exception:  # noqa: BLE001 - ament index absent or package not registered
        pass
    for cand in candidates:
        if (cand / PROFILE_NAME).is_file():
            return cand
    raise DDSConfigError(
        f'cannot find {PROFILE_NAME}; looked in ' + ', '.join(str(c) for c in candidates))


def shipped_profile_path() -> Path:
    """Return the path of the shipped localhost Fast DDS profile."""
    return config_dir() / PROFILE_NAME


def _strip(tag: str) -> str:
    return tag[len(_NS):] if tag.startswith(_NS) else tag


def profile_is_localhost(path: str | os.PathLike[str]) -> tuple[bool, str]:
    """Check that a Fast DDS XML profile keeps traffic on this machine.

    Returns:
        ``(ok, reason)``; ``reason`` says what is wrong when ``ok`` is false.
    """
    p = Path(path)
    if not p.is_file():
        return False, f'profile {p} does not exist'
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        return False, f'profile {p} is not valid XML: {exc}'
    builtin_off = any(_strip(e.tag) == 'useBuiltinTransports' and (e.text or '').strip()
                      == 'false' for e in root.iter())
    if not builtin_off:
        return False, f'profile {p} does not set useBuiltinTransports=false'
    for desc in root.iter():
        if _strip(desc.tag) != 'transport_descriptor':
            continue
        kind = next(((c.text or '').strip() for c in desc if _strip(c.tag) == 'type'), '')
        if kind.upper() in ('UDPV4', 'UDPV6', 'TCPV4', 'TCPV6'):
            addrs = [(a.text or '').strip() for w in desc
                     if _strip(w.tag) in ('interfaceWhiteList', 'interface_allowlist')
                     for a in w.iter() if _strip(a.tag) in ('address', 'interface')]
            if not addrs or any(a not in _LOOPBACK for a in addrs):
                return False, f'profile {p}: {kind} transport is not limited to loopback'
    for peers in root.iter():
        if _strip(peers.tag) in ('initialPeersList', 'metatrafficUnicastLocatorList'):
            for addr in peers.iter():
                if _strip(addr.tag) == 'address' and (addr.text or '').strip() not in _LOOPBACK:
                    return False, f'profile {p}: peer {addr.text} is not loopback'
    return True, 'profile confines DDS to localhost'


def localhost_confined(env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Say whether ``env`` (default ``os.environ``) confines DDS to localhost."""
    env = dict(os.environ if env is None else env)
    if env.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '').upper() == 'LOCALHOST':
        return True, 'ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST'
    profile = env.get('FASTDDS_DEFAULT_PROFILES_FILE') or env.get(LEGACY_PROFILE_ENV)
    if profile:
        other = env.get(LEGACY_PROFILE_ENV) or profile
        if other != profile:
            ok, reason = profile_is_localhost(other)
            if not ok:
                return False, f'{LEGACY_PROFILE_ENV}: {reason}'
        rmw = env.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
        if not rmw.startswith('rmw_fastrtps'):
            return False, f'RMW_IMPLEMENTATION={rmw} ignores FASTDDS_DEFAULT_PROFILES_FILE'
        return profile_is_localhost(profile)
    return False, ('neither FASTDDS_DEFAULT_PROFILES_FILE (a localhost profile) nor '
                   'ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST is set')


def ensure_localhost_dds(mode: str | None = None) -> str:
    """Refuse to go on in ``test``/``demo`` mode unless DDS stays on localhost.

    Args:
        mode: ``test``, ``demo``, ``robot`` or ``system``; default from ``EGO_REASONER_DDS_MODE``.

    Returns:
        The mode used.

    Raises:
        DDSConfigError: confined mode without a localhost configuration, or an unknown mode.
    """
    mode = (mode or os.environ.get(MODE_ENV) or 'system').lower()
    if mode not in KNOWN_MODES:
        raise DDSConfigError(f'unknown DDS mode {mode!r}; use one of {sorted(KNOWN_MODES)}')
    if mode in CONFINED_MODES:
        ok, reason = localhost_confined()
        if not ok:
            raise DDSConfigError(
                f'{mode} mode needs DDS confined to localhost: {reason}. Set '
                f'FASTDDS_DEFAULT_PROFILES_FILE={_profile_hint()} (or '
                'ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)')
        # make both Fast DDS generations load the same profile before rclpy.init
        profile = os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE') or os.environ.get(
            LEGACY_PROFILE_ENV)
        if profile:
            os.environ.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', profile)
            os.environ.setdefault(LEGACY_PROFILE_ENV, profile)
        LOG.debug('DDS confined to localhost (%s)', reason)
    return mode


def _profile_hint() -> str:
    try:
        return str(shipped_profile_path())
    except DDSConfigError:
        return f'<share>/ego_reasoner_ros/config/{PROFILE_NAME}'


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _lock_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f'ego_reasoner_ros_domains_{os.getuid()}'
    d.mkdir(parents=True, exist_ok=True)
    return d


def choose_domain_id(owner_pid: int | None = None) -> int:
    """Pick a ROS domain id in 1..100 not held by another live run on this machine.

    The search starts at a value derived from the pid and claims the id with a lock file
    (``<tmp>/ego_reasoner_ros_domains_<uid>/<id>``) holding the owner's pid; stale locks of
    dead processes are taken over. Release with :func:`release_domain_id`.
    """
    pid = owner_pid or os.getpid()
    lo, hi = DOMAIN_RANGE
    span = hi - lo + 1
    lock_dir = _lock_dir()
    for k in range(span):
        dom = lo + (pid + k) % span
        lock = lock_dir / str(dom)
        for _attempt in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = int(lock.read_text().strip() or '0')
                except (OSError, ValueError):
                    holder = 0
                if holder == pid:
                    return dom
                if holder and _pid_alive(holder):
                    break
                lock.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, 'w') as fh:
                fh.write(str(pid))
            return dom
    raise DDSConfigError(f'every ROS domain id in {lo}..{hi} is held by a live run')


def check_domain_id(domain_id: int) -> int:
    """Return ``domain_id`` if ROS accepts it (0..232), else raise :class:`DDSConfigError`."""
    lo, hi = VALID_DOMAIN_IDS
    if isinstance(domain_id, bool) or not isinstance(domain_id, int) or not lo <= domain_id <= hi:
        raise DDSConfigError(f'ROS_DOMAIN_ID must be an integer in {lo}..{hi}, got {domain_id!r}')
    return domain_id


def release_domain_id(domain_id: int, owner_pid: int | None = None) -> None:
    """Release a domain id claimed by :func:`choose_domain_id` (no-op if not ours)."""
    lock = _lock_dir() / str(domain_id)
    try:
        if int(lock.read_text().strip() or '0') == (owner_pid or os.getpid()):
            lock.unlink()
    except (OSError, ValueError):
        pass


def localhost_env(domain_id: int | None = None, *, mode: str = 'demo',
                  base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment for child processes with DDS confined to localhost.

    Args:
        domain_id: ``ROS_DOMAIN_ID`` to set; ``None`` keeps the one in ``base`` or picks one.
        mode: value of ``EGO_REASONER_DDS_MODE`` for the children (``demo`` or ``test``).
        base: environment to start from (default ``os.environ``).
    """
    env = dict(os.environ if base is None else base)
    env['FASTDDS_DEFAULT_PROFILES_FILE'] = str(shipped_profile_path())
    env[LEGACY_PROFILE_ENV] = env['FASTDDS_DEFAULT_PROFILES_FILE']
    env['RMW_IMPLEMENTATION'] = 'rmw_fastrtps_cpp'
    # the discovery-range variable would make rmw override the profile's transports
    env.pop('ROS_AUTOMATIC_DISCOVERY_RANGE', None)
    env.pop('ROS_LOCALHOST_ONLY', None)
    if domain_id is None:
        domain_id = int(env['ROS_DOMAIN_ID']) if env.get('ROS_DOMAIN_ID') else choose_domain_id()
    env['ROS_DOMAIN_ID'] = str(domain_id)
    env[MODE_ENV] = mode
    env['PYTHONUNBUFFERED'] = '1'
    env.setdefault('RCUTILS_LOGGING_BUFFERED_STREAM', '1')
    return env


def confine_this_process(mode: str = 'test', domain_id: int | None = None) -> dict[str, str]:
    """Confine DDS of the calling process (before ``rclpy.init``) to localhost.

    Applies :func:`localhost_env` to ``os.environ``, checks it with
    :func:`ensure_localhost_dds` and returns the environment for child processes.
    """
    env = localhost_env(domain_id, mode=mode)
    for name in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_LOCALHOST_ONLY'):
        os.environ.pop(name, None)
    os.environ.update({k: env[k] for k in ('FASTDDS_DEFAULT_PROFILES_FILE', LEGACY_PROFILE_ENV,
                                           'ROS_DOMAIN_ID', 'RMW_IMPLEMENTATION', MODE_ENV)})
    ensure_localhost_dds(mode)
    return env
