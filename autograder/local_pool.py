"""Grade many notebooks in parallel: the local executor, a pool of worker processes.

A Job names one notebook to grade. References (the hidden-case values of each source's own
solutions) are computed once per plan, then each job becomes a pipeline Task (plan, submitted
bytes, references, limits) that a worker turns into a Graded with `grade`, a pure function.
Results come back to the calling process one at a time, through `on_result`, so only the caller
writes anything. At most two tasks per worker are in flight, so the caller holds few submissions
in memory. If a worker process dies (a notebook whose kernel made it run out of memory, say), the
pool is broken: each job that was in flight is graded again alone, in a pool of its own, and is
recorded "crashed" if it kills that one too; the jobs not yet started go on in a fresh pool. So a
notebook that kills every worker grading it costs the class one pool and itself, never the
grades of the others.

Ctrl-C (caught as a flag, autograder.interrupts) stops a run within a few seconds: queued jobs
are dropped, each worker (which ignores SIGINT, so a terminal's Ctrl-C reaches it once, from
here) gets one SIGTERM, which interrupts its grading so it stops its kernel, cgroup and runtime
folder on the way out; a worker still there after STOP_GRACE seconds is killed, and the
KeyboardInterrupt goes on to the caller. Every result already passed to `on_result` stays
recorded. However a pool ends, what its run left (control groups and the processes in them,
kernel folders, course_lib views) is removed by the run's tag (grader.scratch.grading_run).

The loop that keeps the pool busy is grading_loop.run_jobs, shared with the Dask executor.

>>> results = grade_many([Job(("ada", "ch1", "ch1"), plan, Path("sub.ipynb"))])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from autograder import interrupts
from autograder.grader.cgroups import remove_run_groups
from autograder.grader.pipeline import Graded, References, Task, crashed, grade, reference_values
from autograder.grader.plan import Plan
from autograder.grader.sandbox import Limits, bwrap_works, warn_unsandboxed
from autograder.grader.scratch import grading_run
from autograder.grader.submission import Submitted
from autograder.grading_loop import ExecutorBroken, Job, Progress, Unfinished, run_jobs
from autograder.records import grader_error

IN_FLIGHT_PER_WORKER = 2
STOP_GRACE = 3.0  # seconds an interrupted worker has to stop its kernel before it is killed


def default_workers() -> int:
    """One worker per available core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` processes that a KeyboardInterrupt stops at once (see module doc)."""
    with grading_run() as tag, interrupts.caught():  # the tag is set before the workers start
        pool = ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_signals)
        try:
            yield pool
        except KeyboardInterrupt:
            _stop(pool)
            raise
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            remove_run_groups(tag)


def _wait_any(futures) -> set:
    """The futures that are done, once one is; raise KeyboardInterrupt on Ctrl-C."""
    while True:
        interrupts.check()
        finished, _ = wait(futures, timeout=interrupts.POLL, return_when=FIRST_COMPLETED)
        if finished:
            return finished


def _worker_signals() -> None:
    """In a worker: ignore SIGINT; the first SIGTERM interrupts the grading, later ones wait."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def interrupt(*_):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the kernel's clean-up finish
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Drop queued jobs, interrupt then kill the workers."""
    processes = list((pool._processes or {}).values())  # the executor has no public list
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


def compute_references(plans: list[Plan], limits: Limits, workers: int
                       ) -> dict[str, References]:
    """{plan digest: reference values} for each distinct plan, computed in parallel."""
    distinct = {plan.digest: plan for plan in plans}
    with _pool(min(workers, len(distinct)) or 1) as pool:
        futures = {digest: pool.submit(reference_values, plan, limits)
                   for digest, plan in distinct.items()}
        remaining = set(futures.values())
        while remaining:
            remaining -= _wait_any(remaining)
        return {digest: future.result() for digest, future in futures.items()}


class _PoolExecutor:
    """grading_loop's Executor on a process pool: `grade` runs in a worker."""

    def __init__(self, pool: ProcessPoolExecutor, references: dict, limits: Limits,
                 workers: int):
        self.pool, self.references, self.limits, self.workers = pool, references, limits, workers

    def capacity(self) -> int:
        return self.workers * IN_FLIGHT_PER_WORKER

    def submit(self, job: Job, submitted: Submitted | None):
        task = Task(job.plan, submitted, self.references[job.plan.digest], self.limits)
        return self.pool.submit(grade, task)

    def wait_any(self, handles: list) -> list:
        return list(_wait_any(handles))

    def outcome(self, future, job: Job) -> Graded:
        try:
            return future.result()
        except BrokenProcessPool:
            raise ExecutorBroken from None
        except Exception as error:  # e.g. a result that could not be sent back
            return crashed(job.plan, grader_error(error, "receiving the result from its worker"))


def grade_many(
    jobs: list[Job],
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    on_result: Callable[[Job, Graded], None] | None = None,
    progress: bool = True,
    description: str = "grading",
) -> dict[tuple, Graded]:
    """Grade `jobs` in parallel; call `on_result(job, graded)` in this process as each finishes.
    A pool whose workers die is replaced, and the jobs it had in flight are graded alone (see
    the module's doc): a job that kills its own pool too is "crashed"."""
    limits = limits or Limits()
    workers = workers or default_workers()
    if not bwrap_works():
        warn_unsandboxed()
    if not jobs:
        return {}
    references = compute_references([job.plan for job in jobs], limits, workers)
    with Progress(len(jobs), on_result, progress, description) as results:
        queued = list(jobs)
        while queued:  # each broken pool takes the jobs it had in flight out of the queue
            unfinished = _run_pool(queued, references, limits, workers, results.finish)
            for job in unfinished.in_flight:
                alone = _run_pool([job], references, limits, 1, results.finish)
                if alone.in_flight:  # it killed a worker of its own: never a stale score
                    results.finish(job, crashed(job.plan, "the grading worker process died"))
            queued = list(unfinished.queued)
    return results.done


def _run_pool(jobs: list[Job], references: dict, limits: Limits, workers: int,
              finish: Callable[[Job, Graded], None]) -> Unfinished:
    """Grade `jobs` in a fresh pool of at most `workers` processes; what it left ungraded if a
    worker died."""
    with _pool(min(workers, len(jobs))) as pool:
        return run_jobs(jobs, _PoolExecutor(pool, references, limits, workers), finish)
