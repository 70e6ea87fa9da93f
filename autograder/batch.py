"""Grade many notebooks in parallel: the local executor, a pool of worker processes.

A Job names one notebook to grade. References (the hidden-case values of each source's own
solutions) are computed once per plan, then each job becomes a pipeline Task (plan, submitted
bytes, references, limits) that a worker turns into a Graded with `grade`, a pure function.
Results come back to the calling process one at a time, through `on_result`, so only the caller
writes anything. At most two tasks per worker are in flight, so the caller holds few submissions
in memory. If a worker process dies, the jobs it had not finished are graded again in a fresh
pool; jobs that kill a pool twice are recorded "crashed".

Ctrl-C (caught as a flag, autograder.interrupts) stops a run within a few seconds: queued jobs
are dropped, each worker (which ignores SIGINT, so a terminal's Ctrl-C reaches it once, from
here) gets one SIGTERM, which interrupts its grading so it stops its kernel, cgroup and runtime
folder on the way out; a worker still there after STOP_GRACE seconds is killed, and the
KeyboardInterrupt goes on to the caller. Every result already passed to `on_result` stays
recorded. However a pool ends, what its run left (control groups and the processes in them,
kernel folders, course_lib views) is removed by the run's tag (grader.runs.grading_run).

Another executor (a cluster's, for instance) needs only `reference_task` and `grade`.

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
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from autograder import interrupts
from autograder.grader.cgroups import remove_run_groups
from autograder.grader.pipeline import (
    Graded,
    References,
    Task,
    grade,
    reference_values,
    zero_result,
)
from autograder.grader.plan import Plan
from autograder.grader.runs import grading_run
from autograder.grader.sandbox import Limits, bwrap_works, warn_unsandboxed
from autograder.grader.submission import Submission, read_submitted
from autograder.records import Status, grader_error

IN_FLIGHT_PER_WORKER = 2
STOP_GRACE = 3.0  # seconds an interrupted worker has to stop its kernel before it is killed


@dataclass(frozen=True)
class Job:
    """One notebook to grade; `key` identifies it to the caller, e.g. (student, assignment, nb)."""

    key: tuple
    plan: Plan
    submission_path: Path


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


def reference_task(plan: Plan, limits: Limits) -> References:
    """Reference values of one plan (a task, like `grade`)."""
    return reference_values(plan, limits)


def compute_references(plans: list[Plan], limits: Limits, workers: int
                       ) -> dict[str, References]:
    """{plan digest: reference values} for each distinct plan, computed in parallel."""
    distinct = {plan.digest: plan for plan in plans}
    with _pool(min(workers, len(distinct)) or 1) as pool:
        futures = {digest: pool.submit(reference_task, plan, limits)
                   for digest, plan in distinct.items()}
        remaining = set(futures.values())
        while remaining:
            remaining -= _wait_any(remaining)
        return {digest: future.result() for digest, future in futures.items()}


def grade_many(
    jobs: list[Job],
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    on_result: Callable[[Job, Graded], None] | None = None,
    progress: bool = True,
    description: str = "grading",
) -> dict[tuple, Graded]:
    """Grade `jobs` in parallel; call `on_result(job, graded)` in this process as each finishes."""
    limits = limits or Limits()
    workers = workers or default_workers()
    if not bwrap_works():
        warn_unsandboxed()
    if not jobs:
        return {}
    references = compute_references([job.plan for job in jobs], limits, workers)
    done: dict[tuple, Graded] = {}

    def finish(job: Job, graded: Graded) -> None:
        done[job.key] = graded
        if on_result:
            on_result(job, graded)

    pending = list(jobs)
    with tqdm(total=len(jobs), desc=description, unit="nb", disable=not progress) as bar:
        for _attempt in range(2):
            if pending:
                pending = _run_pool(pending, references, limits, workers, finish, bar)
    for job in pending:  # workers died twice on these: record that, never a stale score
        result = zero_result(job.plan, Status.CRASHED, "the grading worker process died")
        finish(job, Graded(result, Submission()))
    return done


def _failed(job: Job, error: Exception, stage: str) -> Graded:
    """The Graded of a job the grader failed on outside `grade` (it awards nothing)."""
    return Graded(zero_result(job.plan, Status.CRASHED, grader_error(error, stage)), Submission())


def _run_pool(pending, references, limits, workers, finish, bar) -> list[Job]:
    """Grade `pending` in one pool; return the jobs left unfinished if the pool broke."""
    queue, running = list(reversed(pending)), {}
    with _pool(min(workers, len(pending))) as pool:
        while queue or running:
            while queue and len(running) < workers * IN_FLIGHT_PER_WORKER:
                job = queue.pop()
                try:
                    task = Task(job.plan, read_submitted(job.submission_path),
                                references[job.plan.digest], limits)
                except OSError as error:
                    finish(job, _failed(job, error, "reading the submitted file"))
                    bar.update(1)
                    continue
                running[pool.submit(grade, task)] = job
            if not running:
                break
            finished = _wait_any(running)
            for future in finished:
                job = running.pop(future)
                try:
                    graded = future.result()
                except BrokenProcessPool:
                    return [*running.values(), job, *reversed(queue)]
                except Exception as error:  # e.g. a result that could not be sent back
                    graded = _failed(job, error, "receiving the result from its worker")
                finish(job, graded)
                bar.update(1)
    return []
