"""How long one generation step takes, with and without the key/value cache.

Without the cache, a step runs the model on the whole context; with it, on the newest token only,
against the keys and values of the earlier ones (Transformer.forward_cached).

Example:

>>> from course_lib.transformer import Transformer, TransformerConfig
>>> model = Transformer(TransformerConfig(vocab_size=10, block_size=16, n_layer=1, n_head=2,
...                                       n_embd=8))
>>> seconds = generation_step_seconds(model, np.arange(16) % 10, 16, cached=True, repeats=2)
>>> 0 < seconds < 1
True
"""

from __future__ import annotations

import time

import numpy as np


def generation_step_seconds(model, ids, context_length: int, cached: bool,
                            repeats: int = 5) -> float:
    """Median time (seconds) over `repeats` runs of one generation step with a context of
    `context_length` tokens, the first ones of `ids` (T,). The median, not the best run: a claim
    about the time should hold for a typical run, on a machine shared with other work too.

    cached=False times model.logits on the whole context; cached=True fills a new cache with the
    first context_length - 1 tokens (not timed) and times forward_cached on the last one.
    """
    ids = np.asarray(ids)
    if not 1 <= context_length <= min(len(ids), model.block_size):
        raise ValueError(f"context_length must be between 1 and {min(len(ids), model.block_size)} "
                         f"(the ids and the model's block_size), got {context_length}")  # fmt: skip
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    times = []
    for _ in range(repeats):
        if cached:
            kv = model.new_kv_cache()
            if context_length > 1:
                model.forward_cached(ids[None, : context_length - 1], kv)
            started = time.perf_counter()
            model.forward_cached(ids[None, context_length - 1 : context_length], kv)
        else:
            started = time.perf_counter()
            model.logits(ids[:context_length])
        times.append(time.perf_counter() - started)
    return float(np.median(times))
