# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Training configurations: a YAML file plus ``key=value`` overrides, into a dataclass.

One rule, read from the dataclass: a field whose metadata marks it an option group
(``field(metadata=GROUP)``: ``lora``, ``tiny``, ``trainer``, the reward options) takes an
override key by key (``lora.r=8``, or ``lora={r: 8}`` merged into the file's mapping); any
other field is replaced by its override as a whole (``rewards={rollout: 1.0}`` leaves the
other rewards off). Values are YAML. Unknown keys are errors, and the dataclass validates
the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
import os
from pathlib import Path
from typing import Any

from ego_reasoner_ros.core.errors import require
from ego_reasoner_ros.training.experts import check_removed

#: Field metadata of an option group (its overrides merge key by key).
GROUP: Mapping[str, bool] = {'group': True}


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["max_steps=5", "lora.r=8"]`` -> ``{"max_steps": 5, "lora": {"r": 8}}`` (YAML values)."""
    yaml = require('yaml', install='pyyaml')
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError(f'override {pair!r} must look like key=value')
        parsed = yaml.safe_load(value) if value else None
        node = out
        parts = key.split('.')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = parsed
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def apply_overrides(cls: type, data: Mapping[str, Any],
                    overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``overrides`` applied by the rule of the module docstring."""
    groups = {f.name for f in fields(cls) if f.metadata.get('group')}
    out = dict(data)
    for key, value in overrides.items():
        if key in groups and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def from_mapping(cls: type, data: Mapping[str, Any]) -> Any:
    """Build ``cls`` from a mapping, rejecting unknown keys."""
    known = {f.name for f in fields(cls)}
    for key, value in data.items():
        check_removed(f'{key}={value}')  # an option that lost: exit 2 naming its log entry
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f'unknown config keys {unknown} for {cls.__name__}; known: '
                         f'{sorted(known)}')
    return cls(**data)


def load_config(path: str | os.PathLike | None, overrides: Sequence[str], cls: type) -> Any:
    """Read a YAML config (None: none), apply ``key=value`` overrides, validate."""
    yaml = require('yaml', install='pyyaml')
    data: dict[str, Any] = {}
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f'cannot read config {path}: {exc}') from exc
        if not isinstance(data, dict):
            raise ValueError(f'config {path} must be a mapping')
    return from_mapping(cls, apply_overrides(cls, data, parse_overrides(overrides)))
