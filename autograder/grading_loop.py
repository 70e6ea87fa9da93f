"""The loop both executors share: jobs queued, a few in flight, each result handed on as it comes.

An executor (the local process pool, `local_pool.py`, or a Dask cluster, `cluster.py`) says only
how a task is submitted and awaited (`Executor`); `run_jobs` keeps it busy, reads each submitted
file as its job starts (so only the jobs in flight are in memory), and hands every result to
`finish`; a job the grader cannot grade is "crashed" (pipeline.crashed), never left ungraded.

>>> with Progress(len(jobs), on_result, True, "grading") as progress:      # doctest: +SKIP
...     unfinished = run_jobs(jobs, executor, progress.finish)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from autograder.grader.pipeline import Graded, crashed
from autograder.grader.plan import Plan
from autograder.grader.submission import Submitted, read_submitted
from autograder.records import grader_error


@dataclass(frozen=True)
class Job:
    """One notebook to grade; `key` identifies it to the caller, e.g. (student, assignment, nb)."""

    key: tuple
    plan: Plan
    submission_path: Path


class ExecutorBroken(Exception):
    """The executor lost its workers: the jobs in flight go back to the caller, ungraded."""


@dataclass(frozen=True)
class Unfinished:
    """The jobs `run_jobs` left ungraded because its executor broke: those `in_flight` (one of
    them may be what broke it) and those `queued`, not yet started (none of them did)."""

    in_flight: tuple[Job, ...] = ()
    queued: tuple[Job, ...] = ()


class Executor(Protocol):
    """How tasks reach the workers and come back."""

    def capacity(self) -> int:
        """How many jobs may be in flight at once."""

    def submit(self, job: Job, submitted: Submitted | None) -> Hashable:
        """Start grading `job` (its file as read, None if missing); a handle to wait on."""

    def wait_any(self, handles: list) -> list:
        """The handles that are done, once at least one is (Ctrl-C: KeyboardInterrupt)."""

    def outcome(self, handle, job: Job) -> Graded:
        """The Graded of a finished handle; ExecutorBroken if its workers are gone."""


def run_jobs(jobs: list[Job], executor: Executor,
             finish: Callable[[Job, Graded], None]) -> Unfinished:
    """Grade `jobs` on `executor`, calling finish(job, graded) in this process for each; return
    the jobs left ungraded when the executor broke (none otherwise)."""
    queue, running = list(reversed(jobs)), {}
    while queue or running:
        while queue and len(running) < executor.capacity():
            job = queue.pop()
            try:
                submitted = read_submitted(job.submission_path)
            except OSError as error:
                finish(job, crashed(job.plan, grader_error(error, "reading the submitted file")))
                continue
            running[executor.submit(job, submitted)] = job
        if not running:
            break
        for handle in executor.wait_any(list(running)):
            job = running.pop(handle)
            try:
                graded = executor.outcome(handle, job)
            except ExecutorBroken:
                return Unfinished((job, *running.values()), tuple(reversed(queue)))
            finish(job, graded)
    return Unfinished()


class Progress:
    """The results of a run by job key, passed on to `on_result` and counted on a progress bar
    as they come (`finish`); a context manager that closes the bar."""

    def __init__(self, total: int, on_result: Callable[[Job, Graded], None] | None,
                 enabled: bool, description: str):
        self.done: dict[tuple, Graded] = {}
        self.on_result = on_result
        self.bar = tqdm(total=total, desc=description, unit="nb", disable=not enabled)

    def finish(self, job: Job, graded: Graded) -> None:
        self.done[job.key] = graded
        if self.on_result:
            self.on_result(job, graded)
        self.bar.update(1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_) -> None:
        self.bar.close()
