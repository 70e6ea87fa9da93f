"""Grade many submissions in parallel worker processes, one sandboxed kernel per worker.

References (the hidden-case values of each source notebook's own solutions) are computed once
per source, then every submission is graded by a worker. Results come back to the calling
process as plain data, one at a time, through `on_result`, so only the caller writes anything
(no two processes ever touch the same file or the gradebook). If a worker process dies, the
submissions it had not finished are graded again in a fresh pool.

>>> results = grade_many([Job(("ada", "ch1", "ch1"), "sub.ipynb", "src.ipynb")])  # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from autograder.grading import GradeResult, grade_notebook, reference_values
from autograder.plan import read_plan
from autograder.sandbox import Limits, bwrap_works, warn_unsandboxed


@dataclass(frozen=True)
class Job:
    """One notebook to grade; `key` identifies it to the caller, e.g. (student, assignment, nb)."""

    key: tuple
    submission: Path
    source: Path


def default_workers() -> int:
    """One worker per available core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _reference_task(source: Path, limits: Limits) -> dict:
    return reference_values(read_plan(source), source, limits)


def _grade_task(job: Job, references: dict, limits: Limits) -> GradeResult:
    from dataclasses import asdict

    return grade_notebook(job.submission, job.source, references=references, **asdict(limits))


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def compute_references(sources: Iterable[Path], limits: Limits, workers: int) -> dict[Path, dict]:
    """Reference values for each distinct source notebook, computed in parallel."""
    sources = sorted(set(map(Path, sources)))
    with _pool(min(workers, len(sources)) or 1) as pool:
        futures = {source: pool.submit(_reference_task, source, limits) for source in sources}
        return {source: future.result() for source, future in futures.items()}


def grade_many(
    jobs: list[Job],
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    on_result: Callable[[Job, GradeResult], None] | None = None,
    progress: bool = True,
    description: str = "grading",
) -> dict[tuple, GradeResult]:
    """Grade `jobs` in parallel; call `on_result(job, result)` in this process as each finishes."""
    limits = limits or Limits()
    workers = workers or default_workers()
    if not bwrap_works():
        warn_unsandboxed()
    if not jobs:
        return {}
    references = compute_references((job.source for job in jobs), limits, workers)
    results: dict[tuple, GradeResult] = {}
    pending = list(jobs)
    with tqdm(total=len(jobs), desc=description, unit="nb", disable=not progress) as bar:
        for _attempt in range(2):
            if not pending:
                break
            pending = _run_pool(pending, references, limits, workers, results, on_result, bar)
    for job in pending:  # workers died twice on these: record that, never a stale score
        result = _worker_died(job)
        results[job.key] = result
        if on_result:
            on_result(job, result)
    return results


def _run_pool(pending, references, limits, workers, results, on_result, bar) -> list[Job]:
    """Grade `pending` in one pool; return the jobs left unfinished if the pool broke."""
    with _pool(min(workers, len(pending))) as pool:
        futures = {
            pool.submit(_grade_task, job, references[Path(job.source)], limits): job
            for job in pending
        }
        left = set(futures)
        while left:
            done, left = wait(left, return_when=FIRST_COMPLETED)
            for future in done:
                job = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return [job for job in pending if job.key not in results]
                results[job.key] = result
                if on_result:
                    on_result(job, result)
                bar.update(1)
    return []


def _worker_died(job: Job) -> GradeResult:
    from autograder.grading import zero_result

    return zero_result(read_plan(job.source), "crashed", "the grading worker process died")
