"""course_lib.speed: one generation step is timed on the right work, and bad lengths are refused."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.speed import generation_step_seconds
from course_lib.transformer import Transformer, TransformerConfig

MODEL = Transformer(TransformerConfig(vocab_size=11, block_size=32, n_layer=1, n_head=2, n_embd=16))


class Recording:
    """The model, recording the shapes of the calls that generation_step_seconds makes."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.block_size = model.block_size

    def logits(self, ids):
        self.calls.append(("logits", np.shape(ids)))
        return self.model.logits(ids)

    def new_kv_cache(self):
        return self.model.new_kv_cache()

    def forward_cached(self, ids, kv):
        self.calls.append(("cached", np.shape(ids)))
        return self.model.forward_cached(ids, kv)


@pytest.mark.parametrize("length", [1, 5, 32])
def test_uncached_step_runs_the_whole_context_and_cached_step_one_token(length):
    ids = np.arange(40) % 11
    model = Recording(MODEL)
    assert generation_step_seconds(model, ids, length, cached=False, repeats=2) > 0
    assert model.calls == [("logits", (length,))] * 2
    model.calls.clear()
    assert generation_step_seconds(model, ids, length, cached=True, repeats=1) > 0
    fill = [("cached", (1, length - 1))] if length > 1 else []
    assert model.calls == [*fill, ("cached", (1, 1))]


@pytest.mark.parametrize("length, repeats", [(0, 1), (33, 1), (5, 0)])
def test_bad_lengths_and_repeats_are_refused(length, repeats):
    with pytest.raises(ValueError):
        generation_step_seconds(MODEL, np.arange(40) % 11, length, cached=True, repeats=repeats)


def test_the_time_is_the_median_of_the_runs(monkeypatch):
    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # runs of 1, 3 and 2 seconds
    monkeypatch.setattr("course_lib.speed.time.perf_counter", lambda: next(ticks))
    assert generation_step_seconds(MODEL, np.arange(40) % 11, 5, cached=False, repeats=3) == 2.0
