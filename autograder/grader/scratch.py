"""One grading run: its tag, and one temporary folder for everything it writes outside the course.

A grading run writes a kernel's sockets and connection file and the course_lib views its kernels
import, and mounts the sandboxes' in-memory folders (grader.mounts). All of it goes in the run's
folder, `<tmp>/llmf-run-<tag>/`, so that nothing can outlive the run whichever way it ends (a
folder is unmounted before it is deleted):
- the run's owner (the process that starts the worker pool) removes the folder when the run ends,
  finished, failed or interrupted (`grading_run`);
- a process grading with no owner on its machine (a Dask worker) removes what it made when it
  exits (a multiprocessing finalizer, which also runs in a pool's worker processes);
- a run whose owner was killed (SIGKILL, a crash) leaves its folder to the next run on the
  machine, which removes the folders of every run whose owner is gone (`remove_orphans`).

A run's tag is `<pid>.<n>`: the owner's process id and its count of runs (inherited by its
workers through the environment), so "the owner is gone" is "no process has that id", and two
runs of one process never share a folder. A process grading outside any run (a Dask worker,
`llmf-grade check`) uses its own process id. The run's control groups (grader.cgroups) carry
the same tag and follow the same rules.

Example:
    >>> with grading_run() as tag:            # doctest: +SKIP
    ...     folder = scratch_folder("kernel-")  # <tmp>/llmf-run-<tag>/kernel-xxxxxxxx
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from multiprocessing import util
from pathlib import Path

from autograder.grader.mounts import unmount_under

RUN_ENV = "LLMF_GRADER_RUN"
PREFIX = "llmf-run-"
_runs = itertools.count(1)
_removals: dict[Path, util.Finalize] = {}  # folder -> its removal at exit, until it is removed


def remove_tree(folder: Path) -> None:
    """Delete `folder` and everything in it, unmounting first what the grader mounted there (the
    sandbox's in-memory folders, grader.mounts)."""
    unmount_under(folder)
    shutil.rmtree(folder, ignore_errors=True)


def run_tag() -> str:
    """This process's grading run tag: inherited from the run's owner, else its own process id."""
    return os.environ.setdefault(RUN_ENV, str(os.getpid()))


def run_folder(tag: str) -> Path:
    """The temporary folder of grading run `tag` (it may not exist)."""
    return Path(tempfile.gettempdir()) / f"{PREFIX}{tag}"


def scratch_folder(prefix: str) -> Path:
    """A new private folder `<run folder>/<prefix>xxxxxxxx` of this process's grading run.

    It is removed with the run's folder, and by this process when it exits normally: the
    folder itself, or the whole run folder if the run is this process's own (no owner)."""
    tag = run_tag()
    parent = run_folder(tag)
    if tag == str(os.getpid()) and not parent.exists():
        util.Finalize(None, remove_tree, args=(parent,), exitpriority=0)
    parent.mkdir(mode=0o700, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if tag != str(os.getpid()):
        _removals[folder] = util.Finalize(None, remove_tree, args=(folder,), exitpriority=0)
    return folder


def remove_scratch(folder: Path) -> None:
    """Delete a folder `scratch_folder` made, now rather than at exit."""
    removal = _removals.pop(folder, None)
    if removal is not None:
        removal()  # runs once, and is no longer kept for the exit
    else:
        remove_tree(folder)


def remove_run_folder(tag: str) -> None:
    """Delete everything grading run `tag` left in its temporary folder."""
    remove_tree(run_folder(tag))


def owner_is_gone(tag: str) -> bool:
    """True when no process has the id the run `tag` names (its owner was killed or ended)."""
    pid = tag.split(".")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by someone else
        return False
    return False


def remove_orphans() -> None:
    """Delete the temporary folders of runs whose owner is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if owner_is_gone(folder.name.removeprefix(PREFIX)):
            remove_tree(folder)


@contextlib.contextmanager
def grading_run() -> Iterator[str]:
    """Make this process the owner of a new grading run for the duration of the block; yield its
    tag (worker processes started in the block inherit it). On the way out, however the block
    ends, the run's folder is removed and the previous tag restored. (The run's control groups
    are the caller's to remove: grader.cgroups.remove_run_groups.)"""
    previous = os.environ.get(RUN_ENV)
    tag = os.environ[RUN_ENV] = f"{os.getpid()}.{next(_runs)}"
    remove_orphans()
    try:
        yield tag
    finally:
        remove_run_folder(tag)
        if previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = previous
