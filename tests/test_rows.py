"""Row blocks shared across threads: any split of the rows gives the same bits as one pass."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import layers, rows


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of a few elements, so that even small arrays are split into many blocks."""
    monkeypatch.setattr(rows, "BLOCK_ELEMENTS", 7)


@settings(max_examples=20, deadline=None)
@given(n_rows=st.integers(1, 40), width=st.integers(1, 9), threads=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_any_split_gives_the_bits_of_one_pass(n_rows, width, threads, seed):
    x = np.random.default_rng(seed).standard_normal((n_rows, width)).astype(np.float32)
    expected = layers.gelu_forward(x)[0]  # default split
    original = rows.BLOCK_ELEMENTS, rows.thread_count
    try:
        rows.BLOCK_ELEMENTS, rows.thread_count = 5, lambda: threads
        np.testing.assert_array_equal(layers.gelu_forward(x)[0], expected)
        out = np.zeros_like(x)
        rows.for_row_blocks(lambda a, b: np.multiply(a, 2.0, out=b), x, out)
        np.testing.assert_array_equal(out, 2 * x)  # every row written exactly once
    finally:
        rows.BLOCK_ELEMENTS, rows.thread_count = original


def test_an_error_in_a_block_reaches_the_caller(tiny_blocks, monkeypatch):
    monkeypatch.setattr(rows, "thread_count", lambda: 2)
    seen = []

    def kernel(block):
        seen.append(len(block))
        if block[0, 0] == 30:
            raise ValueError("bad block")

    with pytest.raises(ValueError, match="bad block"):
        rows.for_row_blocks(kernel, np.arange(40.0).reshape(20, 2))
    assert sum(seen) == 20  # the other blocks still ran


def test_thread_count_follows_its_setting_and_defaults_to_one(monkeypatch):
    monkeypatch.setenv("COURSE_LIB_THREADS", "3")
    assert rows.thread_count() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the BLAS setting is BLAS's own
    monkeypatch.setenv("COURSE_LIB_THREADS", "1")
    assert rows.thread_count() == 1
    for value in ("", "0", "two"):  # unset or not a positive int: the default
        monkeypatch.setenv("COURSE_LIB_THREADS", value)
        assert rows.thread_count() == 1
    monkeypatch.delenv("COURSE_LIB_THREADS")
    assert rows.thread_count() == 1
