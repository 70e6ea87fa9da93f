"""The key/value cache of incremental decoding: each layer's keys and values of the tokens seen.

`Transformer.forward_cached` writes the new tokens' keys and values after the stored ones and
lets the new queries attend to all of them, so a new token costs one position, not the whole
context.

>>> from course_lib.config import TransformerConfig
>>> config = TransformerConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=8)
>>> kv = KVCache.empty(config, batch_size=3, dtype=np.float32)
>>> len(kv.keys), kv.keys[0].shape, len(kv)
(2, (3, 2, 8, 4), 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import check_int


@dataclass
class KVCache:
    """Keys and values of the tokens seen so far, one (B, H, block_size, d) buffer per layer.

    `length` tokens are stored; `Transformer.forward_cached` appends to it.
    Make one with `model.new_kv_cache(batch_size)`.
    """

    keys: list
    values: list
    length: int = 0

    @classmethod
    def empty(cls, config, batch_size: int, dtype) -> KVCache:
        """A cache holding no tokens yet, for `batch_size` sequences of a model with `config`."""
        shape = (check_int(batch_size, "batch_size"), config.n_head, config.block_size,
                 config.n_embd // config.n_head)  # fmt: skip
        return cls(keys=[np.zeros(shape, dtype) for _ in range(config.n_layer)],
                   values=[np.zeros(shape, dtype) for _ in range(config.n_layer)])  # fmt: skip

    @property
    def batch_size(self) -> int:
        """Number of sequences decoded in parallel."""
        return self.keys[0].shape[0]

    def __len__(self) -> int:
        return self.length

    def check_room(self, config, ids: np.ndarray) -> None:
        """Raise unless the cache was made for a model with `config` and has room for the new
        tokens ids (B, t) of its B sequences."""
        expected = (self.batch_size, config.n_head, config.block_size,
                    config.n_embd // config.n_head)  # fmt: skip
        if len(self.keys) != config.n_layer or self.keys[0].shape != expected:
            raise ValueError("this KVCache was made for a different model; use new_kv_cache()")
        if self.length + ids.shape[1] > config.block_size:
            raise ValueError(
                f"the cache holds {self.length} tokens and {ids.shape[1]} more would exceed "
                f"block_size {config.block_size}; start a new cache with a context of at most "
                f"{config.block_size} tokens")  # fmt: skip
        if ids.shape[0] != self.batch_size:
            raise ValueError(f"ids_new has batch size {ids.shape[0]}, but the cache holds "
                             f"{self.batch_size}")  # fmt: skip
