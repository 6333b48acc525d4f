# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""The engine's key/value cache helpers: its size, and a layer that appends in place.

:func:`buffered_layer_class` builds (once, when transformers is imported) a ``DynamicLayer``
whose buffers grow geometrically, so decoding a token does not copy the whole history.
"""

from __future__ import annotations

import functools
from typing import Any

from ego_reasoner_ros.core.errors import require

def cache_nbytes(cache: Any) -> int:
    """Bytes of the key/value tensors of a ``DynamicCache`` (buffers' spare capacity too)."""
    total = 0
    for layer in getattr(cache, 'layers', None) or []:
        names = ('_kbuf', '_vbuf') if getattr(layer, '_kbuf', None) is not None \
            else ('keys', 'values')
        for name in names:
            t = getattr(layer, name, None)
            if hasattr(t, 'element_size') and hasattr(t, 'numel'):
                total += int(t.numel()) * int(t.element_size())
    return total


@functools.lru_cache(maxsize=1)
def buffered_layer_class() -> type:
    """A ``DynamicLayer`` that appends into spare capacity instead of concatenating.

    ``DynamicLayer.update`` copies the whole cache on every decoded token (``torch.cat``),
    which makes a token's cost grow with the history; this layer grows its buffers
    geometrically and exposes the filled part as a view, so appending is O(new tokens).
    """
    base = require('transformers.cache_utils', install='transformers',
                   purpose='the hf backend').DynamicLayer

    class BufferedLayer(base):
        """Key/value buffers with spare capacity; ``keys``/``values`` view the filled part."""

        def lazy_initialization(self, key_states, value_states) -> None:
            super().lazy_initialization(key_states, value_states)
            self._kbuf = self._vbuf = None
            self._filled = 0

        def _reserve(self, like_k, like_v, needed: int) -> None:
            capacity = 0 if self._kbuf is None else self._kbuf.shape[-2]
            if needed <= capacity:
                return
            capacity = max(needed, 2 * capacity, 256)
            kbuf = like_k.new_empty(*like_k.shape[:-2], capacity, like_k.shape[-1])
            vbuf = like_v.new_empty(*like_v.shape[:-2], capacity, like_v.shape[-1])
            if self._filled:
                kbuf[..., :self._filled, :] = self._kbuf[..., :self._filled, :]
                vbuf[..., :self._filled, :] = self._vbuf[..., :self._filled, :]
            self._kbuf, self._vbuf = kbuf, vbuf

        def update(self, key_states, value_states, *args: Any, **kwargs: Any):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            end = self._filled + key_states.shape[-2]
            self._reserve(key_states, value_states, end)
            self._kbuf[..., self._filled:end, :] = key_states
            self._vbuf[..., self._filled:end, :] = value_states
            self._filled = end
            self.keys = self._kbuf[..., :end, :]
            self.values = self._vbuf[..., :end, :]
            return self.keys, self.values

        def crop(self, tokens_to_remove: int) -> None:
            if tokens_to_remove > 0:
                raise ValueError('crop takes a negative number of tokens to remove')
            if tokens_to_remove == 0 or not self.is_initialized:
                return
            self._filled = max(0, self._filled + tokens_to_remove)
            self.keys = self._kbuf[..., :self._filled, :]
            self.values = self._vbuf[..., :self._filled, :]

        def reset(self) -> None:
            self._kbuf = self._vbuf = None
            self._filled = 0
            super().reset()

        def _adopt(self) -> None:
            """Make the current ``keys``/``values`` the buffers (after a batch reshuffle)."""
            self._kbuf, self._vbuf = self.keys, self.values
            self._filled = self.keys.shape[-2]

        def batch_repeat_interleave(self, repeats: int) -> None:
            super().batch_repeat_interleave(repeats)
            if self.is_initialized:
                self._adopt()

        def batch_select_indices(self, indices) -> None:
            super().batch_select_indices(indices)
            if self.is_initialized:
                self._adopt()

    return BufferedLayer
