# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Errors shared by every floor of the package."""

from __future__ import annotations

import importlib
from types import ModuleType


class EgoReasonerError(Exception):
    """Base class of the package's own errors."""


class MissingDependencyError(EgoReasonerError, ImportError):
    """An optional heavy library is not installed."""


class DataError(EgoReasonerError, ValueError):
    """Input data (scene metadata, task file, dataset, bag) is malformed or missing."""


def require(module: str, install: str | None = None, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming what to install.

    Args:
        module: dotted module name, for example ``"transformers"``.
        install: the pip requirement to suggest; defaults to the top-level module name.
        purpose: what needs it, for the error message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - message path tested separately
        what = f' (needed for {purpose})' if purpose else ''
        raise MissingDependencyError(
            f"'{module}' is not installed{what}: pip install {install or module.split('.')[0]}"
        ) from exc
