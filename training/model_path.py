# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Is this a model? The check every command runs on a model path before it starts work."""

from __future__ import annotations

import os
from pathlib import Path
import re

from ego_reasoner_ros.core.policy import PolicyArgumentError

_HUB_ID = re.compile(r'^[A-Za-z0-9][\w.-]*/[\w.-]+$')
_WEIGHTS = ('*.safetensors', 'pytorch_model*.bin', '*.safetensors.index.json',
            'adapter_model.safetensors', 'adapter_model.bin')


class ModelPathError(PolicyArgumentError):
    """A model path that is missing or is not a saved model."""


def _offline() -> bool:
    return any(os.environ.get(k, '').strip().lower() in ('1', 'true', 'yes', 'on')
               for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'))


def _cached_on_hub(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, 'config.json')
    return isinstance(found, str)


def check_model_path(path_or_id: str | os.PathLike[str]) -> None:
    """Raise :class:`ModelPathError` unless ``path_or_id`` can be a model.

    A local folder must hold ``config.json`` and weights (what ``save_pretrained`` and the
    trainers' ``checkpoint-N`` folders hold). A name that is no local path is taken as a hub
    id (``Qwen/Qwen2.5-VL-3B-Instruct``) unless its first component is a local folder (then it
    is a missing path) or the hub is offline and the model is not in the local cache.
    """
    text = str(path_or_id)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelPathError(f'model path {text!r} is a file, not a model folder (give the '
                                 'folder that save_pretrained wrote)')
        if not (path / 'config.json').is_file():
            inside = sorted(p.name for p in path.glob('checkpoint-*'))
            hint = (f'; it holds {", ".join(inside[-3:])}: give one of those' if inside else
                    '; a model folder holds config.json and the weights')
            raise ModelPathError(f'{text!r} is not a model: no config.json in it{hint}')
        if not any(any(path.glob(pattern)) for pattern in _WEIGHTS):
            raise ModelPathError(f'{text!r} is not a model: config.json but no weights '
                                 '(*.safetensors or pytorch_model*.bin)')
        return
    first = Path(text).parts[0] if Path(text).parts else text
    looks_local = (text.startswith(('/', '.', '~')) or not _HUB_ID.match(text)
                   or Path(first).is_dir())
    if looks_local:
        raise ModelPathError(f'model path {text!r} does not exist')
    if _offline() and not _cached_on_hub(text):
        raise ModelPathError(f'model {text!r} is not a local folder and not in the Hugging '
                             'Face cache, and the hub is offline (HF_HUB_OFFLINE): download it '
                             'first or give the folder')
