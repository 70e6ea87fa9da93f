"""How the layers' element-wise steps run at the machine's speed: row-wise work in cache-sized
blocks, shared across threads, on memory that stays in the process.

numpy runs each operation as one pass over the whole array, and a layer's element-wise steps
(GELU, layer norm, softmax) make several passes over arrays larger than the CPU's cache.
`for_row_blocks(kernel, *arrays)` instead hands the kernel blocks of about 128 KiB per array,
so all its passes over a block hit the cache, and it can split the blocks between threads
(numpy releases the GIL inside its loops, so threads really run in parallel).

By default one thread does the element-wise work: between two matrix products OpenBLAS's own
threads keep spinning on the other cores, waiting for the next product, so a second
element-wise thread only competes with them: on the course's 2-core machine a baby-GPT
training step ran about x1.3 faster with one element-wise thread than with two (more on a
busy machine). COURSE_LIB_THREADS=n asks for n threads. Each row
is computed the same way however the rows are split, so results do not depend on that number.

A training step allocates tens of megabytes of activations and frees them at its end. glibc's
malloc gives large freed blocks back to the operating system, so the next step takes them again
page by page (thousands of page faults, about a fifth of a step's time here).
`keep_freed_memory()`, called when this module loads, asks malloc to keep them for reuse.

>>> x = np.arange(6.0).reshape(3, 2)
>>> for_row_blocks(lambda block: np.square(block, out=block), x)
>>> x.tolist()
[[0.0, 1.0], [4.0, 9.0], [16.0, 25.0]]
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BLOCK_ELEMENTS = 32 * 1024  # per array: 128 KiB of float32, so a few arrays fit in the L2 cache


def thread_count() -> int:
    """Threads for element-wise work: COURSE_LIB_THREADS if set, else 1 (see the module
    docstring)."""
    value = os.environ.get("COURSE_LIB_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def keep_freed_memory(largest_reused: int = 32 << 20) -> bool:
    """Ask glibc's malloc to serve arrays up to `largest_reused` bytes from memory it keeps, and
    to keep freed memory instead of returning it to the system; False where there is no glibc."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    return bool(mallopt(M_MMAP_THRESHOLD, largest_reused)) and bool(mallopt(M_TRIM_THRESHOLD,
                                                                           1 << 30))


keep_freed_memory()
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:  # a forked child does not inherit the parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def for_row_blocks(kernel, *arrays: np.ndarray) -> None:
    """Call kernel(*blocks) on consecutive blocks of rows (first axis) of `arrays`, which share
    their first dimension; the kernel writes its results into blocks of output arrays.

    The calling thread and the pool's threads take the next block in turn until none is left, so
    a thread the operating system has not scheduled yet (the machine is busy) delays nothing.
    """
    global _pool
    n_rows = arrays[0].shape[0]
    rows = max(1, BLOCK_ELEMENTS * n_rows // max(1, arrays[0].size))  # rows per block
    if n_rows <= rows:  # one block (decoding one token, a small batch): no splitting
        kernel(*arrays)
        return
    starts = range(0, n_rows, rows)
    threads = min(thread_count(), len(starts))
    if threads == 1:
        for start in starts:
            kernel(*(a[start : start + rows] for a in arrays))
        return
    next_block, lock, finished, done, errors = itertools.count(), threading.Lock(), [0], \
        threading.Event(), []  # fmt: skip

    def work():
        while (i := next(next_block)) < len(starts):  # next() of a count is atomic
            try:
                kernel(*(a[starts[i] : starts[i] + rows] for a in arrays))
            except BaseException as error:  # re-raised in the calling thread
                errors.append(error)
            with lock:
                finished[0] += 1
                if finished[0] == len(starts):
                    done.set()

    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=thread_count() - 1)
    for _ in range(threads - 1):
        _pool.submit(work)
    work()
    done.wait()
    if errors:
        raise errors[0]
