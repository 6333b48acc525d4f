# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""``ego-reasoner data``: download, locate and describe the public Embodied-Reasoner data.

Subcommands:

- ``data fetch [--dest DIR] [--base-url URL] [--from-dir DIR] [--force]``: download every
  upstream file of the pinned commit, verify its sha256 and lay it out; the last stdout line
  is one JSON object ``{"path", "n_files", "commit"}``.
- ``data where [er|eb-alfred] [--data DIR]``: print the resolved data folder (exit code 2
  when not found).
- ``data info [er|eb-alfred] [--data DIR]``: one JSON object describing the resolved folder.

Each leaf parser sets ``func``; the entry point calls ``args.func(args)`` and exits with its
return value.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
import sys
from typing import Any

from ego_reasoner_ros.core import data_store
from ego_reasoner_ros.core.errors import DataError

logger = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_NOT_FOUND = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``data`` command (with ``fetch``, ``where``, ``info``) on ``subparsers``."""
    data = subparsers.add_parser(
        'data', help='download and locate the public Embodied-Reasoner data',
        description='Download, locate and describe the public Embodied-Reasoner data '
                    '(scene metadata, test cases, agent poses, receptacle table).')
    data.set_defaults(func=lambda _args: _no_subcommand(data))
    sub = data.add_subparsers(dest='data_command', metavar='{fetch,where,info}')

    fetch = sub.add_parser(
        'fetch', help='download and verify the data into the user cache',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Download every file listed in the packaged upstream manifest, check its '
                    'sha256 and size, and lay it out as scenes/<room>/<FloorPlanN>/..., '
                    'test_809.json, agent_positions.json, pick_up_and_put.json.',
        epilog='Default destination: $XDG_CACHE_HOME/ego_reasoner_ros/embodied-reasoner/'
               '<commit[:12]>\n(~/.cache/... when XDG_CACHE_HOME is unset). Files are '
               'verified in a staging folder\nand moved into place only when all match; a '
               'second run downloads nothing.\nOffline: git clone the upstream repository, '
               'check out the pinned commit and\npass --from-dir CLONE to convert it without '
               'network access.')
    fetch.add_argument('dataset', nargs='?', choices=('er', 'eb-alfred'), default='er',
                       help='er (default: the Embodied-Reasoner data) or eb-alfred (the '
                            'EB-ALFRED episodes, prompts and interface source files)')
    fetch.add_argument('--dest', type=Path, default=None,
                       help='target folder (default: the user cache folder of the commit)')
    fetch.add_argument('--base-url', default=None,
                       help='root URL of the upstream tree (default: raw.githubusercontent.com '
                            'at the pinned commit); file:// URLs work too')
    fetch.add_argument('--from-dir', type=Path, default=None,
                       help='convert an existing local clone of the upstream repository '
                            '(no network)')
    fetch.add_argument('--force', action='store_true',
                       help='download everything again even if the data verifies')
    fetch.add_argument('--workers', type=int, default=4, help='parallel downloads (default 4)')
    fetch.add_argument('--timeout', type=float, default=60.0,
                       help='socket timeout per request in seconds (default 60)')
    fetch.add_argument('--retries', type=int, default=3,
                       help='retries after connection errors or HTTP 5xx (default 3)')
    fetch.add_argument('--no-progress', action='store_true', help='no progress bar')
    fetch.set_defaults(func=run_fetch)

    for name, func, text in (
            ('where', run_where, 'print the folder the data is read from'),
            ('info', run_info, 'describe the data folder as one JSON object')):
        cmd = sub.add_parser(
            name, help=text,
            description=f'{text[0].upper()}{text[1:]}. Resolution order: --data, then '
                        f'${data_store.ENV_VAR} (eb-alfred: $EGO_REASONER_EB_DATA), then the '
                        'user cache filled by "data fetch" (eb-alfred: then '
                        '../shared/data/embodiedbench beside the checkout).')
        cmd.add_argument('dataset', nargs='?', choices=('er', 'eb-alfred'), default='er',
                         help='er (default: the Embodied-Reasoner data) or eb-alfred')
        cmd.add_argument('--data', default=None, metavar='DIR',
                         help=f'data folder (overrides ${data_store.ENV_VAR} or, for '
                              'eb-alfred, $EGO_REASONER_EB_DATA)')
        cmd.set_defaults(func=func)
    return data


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_NOT_FOUND


def _ensure_logging() -> None:
    """Show info logs (fetch progress without tqdm) when the entry point set up nothing."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')


def run_fetch(args: argparse.Namespace) -> int:
    """Handle ``data fetch``; print the data folder and a final JSON summary line."""
    _ensure_logging()
    if not args.no_progress:  # the fallback progress lines are INFO records
        store_logger = logging.getLogger(data_store.__name__)
        if store_logger.getEffectiveLevel() > logging.INFO:
            store_logger.setLevel(logging.INFO)
    if args.from_dir is not None and args.base_url is not None:
        print('error: --from-dir and --base-url are exclusive', file=sys.stderr)
        return EXIT_ERROR
    eb = getattr(args, 'dataset', 'er') == 'eb-alfred'
    try:
        if eb:
            from ego_reasoner_ros.training.eb_alfred import data as eb_data

            manifest = eb_data.load_manifest()
            dest = args.dest if args.dest is not None else eb_data.default_dest(manifest)
        else:
            manifest = data_store.load_manifest()
            dest = args.dest
        path = data_store.fetch(
            dest, args.base_url, manifest=manifest, from_dir=args.from_dir,
            workers=args.workers, progress=not args.no_progress, timeout=args.timeout,
            retries=args.retries, force=args.force)
    except (DataError, ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_ERROR
    if eb:
        print(f'EB-ALFRED data is in {path}')
        if path != eb_data.default_dest(manifest).absolute():
            print(f'(not the default cache folder: export {eb_data.ENV_VAR}={path})')
    else:
        print(f'Embodied-Reasoner data is in {path}')
        env_hint = data_store.default_dest(manifest)
        if path != env_hint.absolute():
            print(f'(not the default cache folder: export {data_store.ENV_VAR}={path})')
    print(json.dumps({'path': str(path), 'n_files': len(manifest['files']),
                      'commit': manifest['commit']}))
    return 0


def _resolve(args: argparse.Namespace) -> Path:
    if getattr(args, 'dataset', 'er') == 'eb-alfred':
        from ego_reasoner_ros.training.eb_alfred.data import resolve_eb_data
        return resolve_eb_data(args.data)
    return data_store.resolve_data_dir(args.data)


def run_where(args: argparse.Namespace) -> int:
    """Handle ``data where``: print the resolved folder, or the error with exit code 2."""
    try:
        print(_resolve(args))
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_NOT_FOUND
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Handle ``data info``: one JSON object about the resolved folder (exit 2 if none)."""
    try:
        root = _resolve(args)
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_NOT_FOUND
    if getattr(args, 'dataset', 'er') == 'eb-alfred':
        return _eb_info(root)
    scenes = sorted(p.parent.name for p in data_store.scenes_dir(root).glob('*/*/metadata.json'))
    test_set = data_store.test_set_path(root, required=False)
    n_cases = None
    if test_set.is_file():
        try:
            n_cases = len(json.loads(test_set.read_text(encoding='utf-8')))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            logger.warning('cannot read %s: %s', test_set, exc)
    stamp_path = root / data_store.STAMP_NAME
    stamp = json.loads(stamp_path.read_text(encoding='utf-8')) if stamp_path.is_file() else {}
    info = {
        'path': str(root),
        'commit': stamp.get('commit'),
        'fetched_at': stamp.get('fetched_at'),
        'n_scenes': len(scenes),
        'test_set': test_set.name if test_set.is_file() else None,
        'n_test_cases': n_cases,
        'agent_positions': data_store.agent_positions_path(root, required=False).is_file(),
        'pick_up_and_put': data_store.receptacle_compat_path(root, required=False).is_file(),
    }
    print(json.dumps(info))
    return 0


def _eb_info(root: Path) -> int:
    """``data info eb-alfred``: episodes per subset, the interface files' state (exit 1: bad)."""
    from ego_reasoner_ros.training.eb_alfred.data import load_split
    from ego_reasoner_ros.training.eb_alfred.spec import load_spec

    stamp_path = root / data_store.STAMP_NAME
    stamp = json.loads(stamp_path.read_text(encoding='utf-8')) if stamp_path.is_file() else {}
    upstream = root / 'upstream-manifest.json'  # a shared copy names its commit here
    if not stamp and upstream.is_file():
        try:
            stamp = {'commit': json.loads(upstream.read_text(encoding='utf-8')).get('commit')}
        except (OSError, json.JSONDecodeError, AttributeError) as exc:
            logger.warning('cannot read %s: %s', upstream, exc)
    info: dict[str, Any] = {'path': str(root), 'commit': stamp.get('commit'),
                            'fetched_at': stamp.get('fetched_at')}
    try:
        split = load_split(root)
        subsets: dict[str, int] = {}
        for name, _i, _e in split:
            subsets[name] = subsets.get(name, 0) + 1
        spec = load_spec(root)
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_ERROR
    info.update({'n_episodes': len(split), 'subsets': subsets,
                 'n_global_actions': len(spec.global_actions),
                 'max_steps': spec.max_steps, 'max_invalid': spec.max_invalid})
    print(json.dumps(info))
    return 0
