# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Shared pytest set-up: DDS confined to localhost and a per-run ROS domain for the session.

The environment is set in ``pytest_configure``, before any test module (and so before any
``rclpy`` import or ``rclpy.init``) is loaded; child processes started by tests inherit it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from data_paths import shared_hidden

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / 'config' / 'fastdds_localhost.xml'
_CLAIMED: list[int] = []


def pytest_configure(config: pytest.Config) -> None:
    # The public Embodied-Reasoner data is read in place from ../shared when it is there.
    # EGO_REASONER_HIDE_SHARED=1 runs the suite as on a fresh clone with nothing beside it:
    # no data variable and an empty user cache, so nothing fetched earlier is found either.
    if shared_hidden():
        os.environ.pop('EGO_REASONER_DATA', None)
        os.environ.pop('EGO_REASONER_EB_DATA', None)
        os.environ['XDG_CACHE_HOME'] = tempfile.mkdtemp(prefix='ego-reasoner-no-shared-')
    else:
        shared = REPO.parent / 'shared' / 'data' / 'embodied-reasoner'
        if 'EGO_REASONER_DATA' not in os.environ and shared.is_dir():
            os.environ['EGO_REASONER_DATA'] = str(shared)
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(PROFILE)
    os.environ['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(PROFILE)  # the name Fast DDS 2.x reads
    os.environ['RMW_IMPLEMENTATION'] = 'rmw_fastrtps_cpp'
    os.environ.pop('ROS_AUTOMATIC_DISCOVERY_RANGE', None)
    os.environ.pop('ROS_LOCALHOST_ONLY', None)
    os.environ['EGO_REASONER_DDS_MODE'] = 'test'
    try:
        from ego_reasoner_ros.nodes.dds import choose_domain_id
        domain = choose_domain_id()
        _CLAIMED.append(domain)
    except ImportError:  # package not importable yet: fall back to a pid-derived id
        domain = 1 + os.getpid() % 100
    os.environ['ROS_DOMAIN_ID'] = str(domain)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CLAIMED:
        from ego_reasoner_ros.nodes.dds import release_domain_id
        release_domain_id(_CLAIMED.pop())


@pytest.fixture(scope='session')
def ros_env() -> dict[str, str]:
    """Environment for ROS child processes: localhost DDS, this session's domain id."""
    from ego_reasoner_ros.nodes.dds import localhost_env
    return localhost_env(int(os.environ['ROS_DOMAIN_ID']), mode='test')


@pytest.fixture(scope='session')
def probe_data(tmp_path_factory) -> Path:
    """A small probe-expert dataset on one procedural scene (read-only for its users)."""
    from ego_reasoner_ros.training import datagen

    out = tmp_path_factory.mktemp('probe_data')
    datagen.run_datagen(datagen.DatagenConfig(
        out_dir=out, procedural=1, n=6, image_size=56, expert='probe', seed=3,
        formats=('sharegpt',), progress=False))
    return out
