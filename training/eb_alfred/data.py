# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""EB-ALFRED data: where it is, its episodes, and its download manifest.

Resolution order of the data folder: ``--eb-data DIR``, then ``$EGO_REASONER_EB_DATA``, then
the user cache filled by ``ego-reasoner data fetch eb-alfred``, then the read-only shared
copy ``../shared/data/embodiedbench`` beside the checkout, read in place. The folder has the
layout of that shared copy (``eb_alfred/splits``, ``eb_alfred/json_2.1.0``, ``evaluator``,
``source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core import data_store
from ego_reasoner_ros.core.errors import DataError

ENV_VAR = 'EGO_REASONER_EB_DATA'
MANIFEST_NAME = 'eb-alfred-manifest.json'
#: Subsets in EB's leaderboard order, with the report's column names.
SUBSETS = ('base', 'common_sense', 'complex_instruction', 'visual_appearance', 'spatial',
           'long_horizon')
COLUMNS = {'base': 'Base', 'common_sense': 'Common', 'complex_instruction': 'Complex',
           'visual_appearance': 'Visual', 'spatial': 'Spatial', 'long_horizon': 'Long'}
FETCH_HINT = (f"run 'ego-reasoner data fetch eb-alfred', set {ENV_VAR} or pass --eb-data DIR")


@dataclass
class Episode:
    """One split entry: (subset, index) plus its ALFRED episode file."""

    subset: str
    index: int
    task: str
    repeat_idx: int
    instruction: str
    traj: dict[str, Any] = field(repr=False)

    @property
    def episode_id(self) -> str:
        return f'{self.subset}/{self.index}'

    @property
    def task_type(self) -> str:
        return str(self.traj['task_type'])


def load_manifest() -> dict[str, Any]:
    """The packaged sha256 manifest of the EB-ALFRED upstream files."""
    return data_store.load_manifest(MANIFEST_NAME)


def default_dest(manifest: dict[str, Any] | None = None) -> Path:
    """``$XDG_CACHE_HOME/ego_reasoner_ros/embodiedbench/<commit[:12]>``."""
    manifest = manifest or load_manifest()
    return data_store.cache_root().parent / 'embodiedbench' / str(manifest['commit'])[:12]


def _shared_copy() -> Path:
    return Path(__file__).resolve().parents[3] / 'shared' / 'data' / 'embodiedbench'


def _check(path: Path, origin: str) -> Path:
    path = path.expanduser()
    if not (path / 'eb_alfred' / 'splits' / 'splits.json').is_file():
        raise DataError(f'{origin} {path} is not an EB-ALFRED data folder '
                        f'(no eb_alfred/splits/splits.json); {FETCH_HINT}')
    return path.resolve()


def resolve_eb_data(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Find the EB-ALFRED data folder (see the module docstring)."""
    if explicit:
        return _check(Path(explicit), '--eb-data')
    env = os.environ.get(ENV_VAR, '')
    if env:
        return _check(Path(env), ENV_VAR)
    try:
        cached = default_dest()
    except DataError:
        cached = None
    if cached is not None and (cached / data_store.STAMP_NAME).is_file():
        return _check(cached, 'the fetched copy')
    if os.environ.get('EGO_REASONER_HIDE_SHARED', '').strip().lower() not in (
            '1', 'true', 'yes', 'on'):
        shared = _shared_copy()
        if (shared / 'eb_alfred' / 'splits' / 'splits.json').is_file():
            return shared.resolve()
    raise DataError(f'the EB-ALFRED data was not found; {FETCH_HINT}')


def load_split(root: Path | str, subset: str | None = None) -> list[tuple[str, int, dict]]:
    """(subset, index, entry) of every split entry, subsets in :data:`SUBSETS` order."""
    try:
        splits = json.loads((Path(root) / 'eb_alfred' / 'splits' / 'splits.json')
                            .read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read the EB-ALFRED splits: {exc}') from exc
    names = [subset] if subset else [s for s in SUBSETS if s in splits]
    out = []
    for name in names:
        if name not in splits:
            raise DataError(f'unknown EB-ALFRED subset {name!r}; known: {sorted(splits)}')
        out += [(name, i, e) for i, e in enumerate(splits[name])]
    return out


def load_episode(root: Path | str, subset: str, index: int, entry: dict) -> Episode:
    """The ALFRED episode file of one split entry."""
    path = (Path(root) / 'eb_alfred' / 'json_2.1.0' / entry['task'] / 'pp'
            / f"ann_{int(entry['repeat_idx'])}.json")
    try:
        traj = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f'cannot read episode {subset}/{index} ({path}): {exc}') from exc
    return Episode(subset, index, str(entry['task']), int(entry['repeat_idx']),
                   str(entry['instruction']), traj)


def load_episodes(root: Path | str, subset: str | None = None) -> list[Episode]:
    """Every episode the split files list (optionally one subset)."""
    return [load_episode(root, s, i, e) for s, i, e in load_split(root, subset)]


def local_path(upstream: str) -> str:
    """Where an upstream EB file goes in the local layout (the shared copy's)."""
    parts = upstream.split('/')
    if parts[:3] == ['embodiedbench', 'envs', 'eb_alfred'] and len(parts) > 3:
        rest = parts[3:]
        return '/'.join(['eb_alfred'] + (rest[1:] if rest[0] == 'data' else rest))
    if parts[:3] == ['embodiedbench', 'evaluator', 'config']:
        return '/'.join(['evaluator'] + parts[3:])
    raise DataError(f'no local place for upstream file {upstream!r}')


def source_local_path(upstream: str) -> str:
    """``embodiedbench/envs/eb_alfred/utils.py`` -> ``source/envs__eb_alfred__utils.py``."""
    return 'source/' + upstream.split('/', 1)[1].replace('/', '__')


def derive_manifest(upstream_manifest: dict[str, Any], source_dir: Path | str) -> dict[str, Any]:
    """The packaged manifest, derived from a shared copy.

    Its ``upstream-manifest.json`` (hashes of the whole upstream set, withheld episodes
    included) plus the hashes of its ``source/`` files; no data is copied.
    """
    files: dict[str, Any] = {}
    for up, meta in sorted(upstream_manifest['files'].items()):
        files[up] = {'sha256': meta['sha256'], 'bytes': int(meta['bytes']),
                     'local': local_path(up)}
    for path in sorted(Path(source_dir).iterdir()):
        if not path.is_file():
            continue
        up = 'embodiedbench/' + path.name.replace('__', '/')
        digest, size = data_store.sha256_file(path)
        files[up] = {'sha256': digest, 'bytes': size, 'local': source_local_path(up)}
    return {
        'repository': upstream_manifest['repository'], 'commit': upstream_manifest['commit'],
        'note': 'EB-ALFRED upstream files (episodes, splits, prompts, interface source) at the '
                'pinned commit; sha256 and size only. Derived from the shared copy\'s '
                'upstream-manifest.json plus its source/ files.',
        'readme': [
            '# EB-ALFRED data (EmbodiedBench)', '',
            f"Downloaded by `ego-reasoner data fetch eb-alfred` from github.com/"
            f"{upstream_manifest['repository']} at commit {upstream_manifest['commit']}; "
            'every file was checked against its sha256. The episode files are ALFRED\'s '
            '(MIT, `eb_alfred/LICENSE`); cite EmbodiedBench and ALFRED.', '',
            '- `eb_alfred/splits/`: the six subsets', '- `eb_alfred/json_2.1.0/`: episodes',
            '- `evaluator/`: prompt and in-context examples',
            '- `source/`: the upstream files that define the interface',
        ],
        'files': files,
    }
