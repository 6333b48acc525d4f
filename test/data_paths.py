# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Where the tests find the public data, and the switch that hides it.

``EGO_REASONER_HIDE_SHARED=1`` makes the suite behave as on a fresh clone with nothing beside
it: ``test/conftest.py`` then clears ``EGO_REASONER_DATA`` and points the user cache at an empty
folder, and every path below names a folder that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HIDE_ENV = 'EGO_REASONER_HIDE_SHARED'
_MISSING = REPO / '.shared-data-hidden'


def shared_hidden() -> bool:
    return os.environ.get(HIDE_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on')


def shared_root() -> Path:
    """``../shared/data`` beside the checkout, or a missing folder when hidden."""
    return _MISSING if shared_hidden() else REPO.parent / 'shared' / 'data'


def er_data() -> Path:
    """The Embodied-Reasoner data root the tests use (it may not exist)."""
    if shared_hidden():
        return _MISSING / 'embodied-reasoner'
    env = os.environ.get('EGO_REASONER_DATA')
    return Path(env) if env else shared_root() / 'embodied-reasoner'


ER_DATA = er_data()
SHARED_ER = shared_root() / 'embodied-reasoner'
EB_DATA = shared_root() / 'embodiedbench'
