"""Grade many notebooks on a Dask cluster: the distributed executor (`--scheduler ADDRESS`).

The same loop as the local pool (grading_loop.run_jobs): each notebook is one task, and a worker
turns it into a Graded with the pure function `grader.pipeline.grade`. What crosses to a worker
is what grading needs and nothing else:

- the Shipment of its source notebook: the plan, the bytes of the data files shipped next to
  the source, the reference values (computed once per plan, on the cluster, before the
  fan-out) and the limits;
- the submitted file as read (its bytes and digest).

Workers never get a path into the course folder, other students' files or the gradebook.
Results come back to this process, one at a time, through `on_result`, so only the caller
records anything. One task per worker thread is in flight: Dask assigns a task with no
dependencies to a worker eagerly, and a task waiting on a worker that dies counts that death
against it as if it had been running.

A task whose worker dies is rescheduled by Dask; one whose worker dies again is recorded
"crashed" with the reason, never left with an old score. `local:N` configures its scheduler
for that (SCHEDULER_SETTINGS: two attempts, one task per worker thread, so a worker's death
touches only the task it was running); a shared scheduler should be given the same settings.
A worker that cannot start a bubblewrap sandbox refuses to grade (SandboxUnavailable) unless
the instructor allowed the unsafe fallback.

>>> grade_on_cluster(jobs, scheduler="local:4", on_result=record)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from autograder import interrupts
from autograder.grader.pipeline import Graded, References, Task, crashed, grade, reference_values
from autograder.grader.plan import Plan
from autograder.grader.sandbox import Limits, bwrap_works, warn_unsandboxed
from autograder.grader.submission import Submitted
from autograder.grading_loop import Job, Progress, run_jobs
from autograder.records import grader_error

INSTALL_HINT = "pip install 'llm-foundations[cluster]'"
LOCAL = "local:"
SCHEDULER_SETTINGS = {
    "distributed.scheduler.allowed-failures": 1,  # a task is tried on at most two workers
    "distributed.scheduler.worker-saturation": 1.0,  # a worker holds only the task it runs
}
WORKER_WAIT_SECONDS = 120
CLOSE_SECONDS = 30  # for a local cluster to close after the run, before its processes are killed
KILL_ROUNDS = 5  # of killing them, until none is left (a nanny killed last may have started one)


class SandboxUnavailable(RuntimeError):
    """A worker cannot run students' code in the bubblewrap sandbox, and was not allowed to
    grade without it."""


@dataclasses.dataclass(frozen=True)
class Shipment:
    """What a worker needs to grade any submission of one source notebook (picklable)."""

    plan: Plan  # with files=(): a worker has no access to the course folder
    files: dict[str, bytes]  # the data files shipped next to the source, by name
    references: References  # reference_values(plan, limits)
    limits: Limits
    allow_unsandboxed: bool


def import_distributed():
    """The `distributed` module, or a RuntimeError saying what to install."""
    try:
        import distributed
    except ImportError as error:
        raise RuntimeError(
            f"grading on a Dask cluster (--scheduler) needs Dask distributed, which is not "
            f"installed ({error}); install the cluster extra: {INSTALL_HINT}") from None
    return distributed


def detached(plan: Plan) -> tuple[Plan, dict[str, bytes]]:
    """`plan` without paths into the course folder, and the bytes of its data files."""
    files = {Path(path).name: Path(path).read_bytes() for path in plan.files}
    return dataclasses.replace(plan, files=()), files


@contextlib.contextmanager
def attached(plan: Plan, files: dict[str, bytes]) -> Iterator[Plan]:
    """`plan` with its data files written to a private folder of this worker (removed after)."""
    if not files:
        yield plan
        return
    with tempfile.TemporaryDirectory(prefix="llmf-files-") as folder:
        paths = []
        for name, data in sorted(files.items()):
            path = Path(folder, Path(name).name)
            path.write_bytes(data)
            paths.append(path)
        yield dataclasses.replace(plan, files=tuple(paths))


def sandbox_problem() -> str | None:
    """Why this machine cannot sandbox students' code (None if bubblewrap works)."""
    if bwrap_works():
        return None
    return (f"bubblewrap (bwrap) is missing or cannot create namespaces on {socket.gethostname()}"
            f" ({sys.executable})")


def check_sandbox(allow_unsandboxed: bool) -> None:
    """Raise SandboxUnavailable if this worker cannot sandbox and the fallback is not allowed."""
    problem = sandbox_problem()
    if problem is None:
        return
    if not allow_unsandboxed:
        raise SandboxUnavailable(
            f"worker refuses to grade: {problem}, so students' code would run unsandboxed, "
            "able to read every file this worker can (other students' work, the instructor's "
            "solutions, the cluster's credentials). Install bubblewrap on every worker, or "
            "pass --allow-unsandboxed if every worker is a disposable machine of your own.")
    warn_unsandboxed()


def references_on_worker(plan: Plan, files: dict[str, bytes], limits: Limits,
                         allow_unsandboxed: bool) -> References:
    """Reference values of one plan, computed on a worker (a task)."""
    check_sandbox(allow_unsandboxed)
    with attached(plan, files) as local_plan:
        return reference_values(local_plan, limits)


def grade_on_worker(shipment: Shipment, submitted: Submitted | None) -> Graded:
    """Grade one submitted file on a worker (a task); raises only SandboxUnavailable."""
    check_sandbox(shipment.allow_unsandboxed)
    with attached(shipment.plan, shipment.files) as plan:
        return grade(Task(plan, submitted, shipment.references, shipment.limits))


def local_workers(scheduler: str) -> int:
    """N of a `local:N` scheduler address; ValueError if N is not a positive whole number."""
    count = scheduler.removeprefix(LOCAL)
    if not count.isascii() or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--scheduler {scheduler!r}: expected local:N with N a number of "
                         "worker processes (e.g. local:4), or a scheduler address such as "
                         "tcp://10.0.0.5:8786")
    return int(count)


@contextlib.contextmanager
def connect(scheduler: str):
    """A Dask Client of `scheduler`: an address, or `local:N` (a LocalCluster of N worker
    processes with one thread each, closed on exit)."""
    distributed = import_distributed()
    if not scheduler.startswith(LOCAL):
        with distributed.Client(scheduler, timeout=30) as client:
            yield client
        return
    import dask

    workers = local_workers(scheduler)
    with dask.config.set(SCHEDULER_SETTINGS):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        close_within([client, cluster], CLOSE_SECONDS)


def close_within(closables: list, seconds: float) -> None:
    """Close each of `closables` in turn (a Dask Client, then its LocalCluster), in a thread
    given `seconds` in all; if they have not closed by then, kill this process's child
    processes (the cluster's nannies, its workers and their sandboxes; not multiprocessing's
    resource tracker, which cleans up after them), so that the run ends.
    A Ctrl-C in the terminal stops the workers too, and Dask's closing may then wait on a
    nanny that restarts a worker which died (a run still going 120 s after Ctrl-C, in CI)."""
    import psutil  # distributed's own dependency

    def close_all() -> None:
        for closable in closables:
            closable.close()

    closer = threading.Thread(target=close_all, name="close-local-cluster", daemon=True)
    closer.start()
    closer.join(seconds)
    for _ in range(KILL_ROUNDS if closer.is_alive() else 0):  # a nanny may start a worker anew
        alive = []
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):  # ended meanwhile
                if "resource_tracker" not in " ".join(child.cmdline()):  # it cleans up after
                    child.kill()
                    alive.append(child)
        if not alive:
            break
        psutil.wait_procs(alive, timeout=1)


def describe(client) -> str:
    """One line on the cluster: its scheduler, worker processes, threads and dashboard."""
    threads = client.nthreads()
    link = client.dashboard_link if _has_dashboard(client) else "none"
    return (f"Dask cluster {client.scheduler.address}: {len(threads)} worker(s), "
            f"{sum(threads.values())} thread(s); dashboard: {link}")


def _has_dashboard(client) -> bool:
    return "dashboard" in client.scheduler_info().get("services", {})


def check_workers(client, allow_unsandboxed: bool) -> None:
    """Refuse to start if a connected worker cannot sandbox (unless allowed); warn if allowed."""
    problems = {address: problem for address, problem in client.run(sandbox_problem).items()
                if problem is not None}
    if not problems:
        return
    listing = "; ".join(f"{address}: {problem}" for address, problem in sorted(problems.items()))
    if not allow_unsandboxed:
        raise SandboxUnavailable(
            f"{len(problems)} worker(s) cannot sandbox students' code ({listing}). Install "
            "bubblewrap on every worker, or pass --allow-unsandboxed if every worker is a "
            "disposable machine of your own.")
    print(f"warning: grading WITHOUT the sandbox on {listing}", file=sys.stderr)


def ship(client, plans: list[Plan], limits: Limits, allow_unsandboxed: bool) -> dict:
    """{plan digest: its Shipment}, the references computed on the cluster, once per plan."""
    distinct = {plan.digest: detached(plan) for plan in plans}
    futures = {digest: client.submit(references_on_worker, plan, files, limits,
                                     allow_unsandboxed, pure=False,
                                     key=f"references-{plan.name}-{uuid.uuid4().hex[:12]}")
               for digest, (plan, files) in distinct.items()}
    wait_for_all(list(futures.values()))
    return {digest: Shipment(*distinct[digest], future.result(), limits, allow_unsandboxed)
            for digest, future in futures.items()}


def wait_for_all(futures: list) -> None:
    """Block until every future is done; Ctrl-C raises KeyboardInterrupt (interrupts.caught)."""
    while not all(future.done() for future in futures):
        interrupts.check()
        time.sleep(interrupts.POLL)


def task_key(job: Job) -> str:
    """The Dask key of a job's task: readable on the dashboard, unique across runs."""
    return "grade-" + "/".join(map(str, job.key)) + "-" + uuid.uuid4().hex[:12]


def outcome(future, job: Job) -> Graded:
    """The Graded of a finished task; a task that died with its workers is "crashed"."""
    distributed = import_distributed()
    while future.status not in ("finished", "error", "cancelled"):  # e.g. its worker was lost
        interrupts.check()  # the Ctrl-C that stopped the workers too stops the wait
        time.sleep(interrupts.POLL)
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        raise RuntimeError("the cluster cancelled the grading tasks (was the scheduler "
                           "restarted?); grades recorded so far are kept: run again")
    error = future.exception()
    if isinstance(error, SandboxUnavailable):
        raise error
    if isinstance(error, distributed.KilledWorker):
        return crashed(job.plan, "the grading worker process died on every attempt to grade this "
                            "notebook")  # fmt: skip
    return crashed(job.plan, grader_error(error, "receiving the result from its worker"))


class _ClusterExecutor:
    """grading_loop's Executor on a Dask client: `grade_on_worker` runs on a worker thread."""

    def __init__(self, client, shipments: dict):
        self.client, self.shipments = client, shipments
        self.futures: dict[str, object] = {}  # task key -> its future
        self.finished = import_distributed().as_completed()

    def capacity(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, job: Job, submitted: Submitted | None) -> str:
        future = self.client.submit(grade_on_worker, self.shipments[job.plan.digest], submitted,
                                    key=task_key(job), pure=False)  # fmt: skip
        self.futures[future.key] = future
        self.finished.add(future)
        return future.key

    def wait_any(self, handles: list) -> list:
        while True:
            interrupts.check()
            ready = self.finished.next_batch(block=False)
            if ready:
                return [future.key for future in ready]
            time.sleep(interrupts.POLL)

    def outcome(self, key: str, job: Job) -> Graded:
        return outcome(self.futures.pop(key), job)


def grade_on_cluster(
    jobs: list[Job],
    *,
    scheduler: str,
    limits: Limits | None = None,
    allow_unsandboxed: bool = False,
    on_result: Callable[[Job, Graded], None] | None = None,
    progress: bool = True,
    description: str = "grading",
) -> dict[tuple, Graded]:
    """Grade `jobs` on the Dask cluster `scheduler` (an address or `local:N`); call
    `on_result(job, graded)` in this process as each finishes."""
    limits = limits or Limits()
    if not jobs:
        return {}
    with connect(scheduler) as client, interrupts.caught():
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        print(describe(client), file=sys.stderr)
        check_workers(client, allow_unsandboxed)
        shipments = ship(client, [job.plan for job in jobs], limits, allow_unsandboxed)
        with Progress(len(jobs), on_result, progress, description) as results:
            run_jobs(jobs, _ClusterExecutor(client, shipments), results.finish)
    return results.done
