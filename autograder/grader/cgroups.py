"""One control group per sandbox: its CPU share, its memory (tmpfs pages included), its processes,
and the list of its members, which is how the whole sandbox is killed at the end of a notebook.

What is used depends on the machine, detected when a group is made:
- cgroup v2 (a unified hierarchy whose `cgroup.controllers` lists cpu, memory, pids):
  `cpu.max` (at most one core) and `cpu.weight` (an equal share), `memory.max` (the kernel's
  memory and the sandbox's tmpfs, which the memory controller charges to the group),
  `pids.max`;
- cgroup v1 (one hierarchy per controller, /sys/fs/cgroup/{cpu,memory,pids}): `cpu.shares` and
  `cpu.cfs_quota_us` / `cpu.cfs_period_us`, `memory.limit_in_bytes` (tmpfs pages are charged
  too), `pids.max`;
- neither writable (not root, or a read-only /sys/fs/cgroup): no group. The fallbacks are then
  the kernel's POSIX limits (autograder.in_kernel.boot: address space, CPU seconds, processes
  for non-root users), bubblewrap's `--size` on the tmpfs, and the sandbox's PID namespace,
  whose processes all die when its first process (bubblewrap's init) is killed.

Each group is named `llmf-<run>-<random>`, where <run> is the grading run's tag
(grader.scratch.run_tag), so a run removes every group it made when it ends, interrupted or not
(`remove_run_groups`), and the groups of a run whose owner was killed, with any process still in
them, are removed by the next sandbox made on the machine (`remove_orphan_groups`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path

from autograder.grader.scratch import owner_is_gone, run_tag

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("cpu", "memory", "pids")
CPU_PERIOD_US = 100_000
CPU_SHARES_V1 = 1024  # the default share: every sandbox gets the same
CPU_WEIGHT_V2 = 100


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def hierarchies(root: Path = ROOT) -> dict[str, Path] | None:
    """{controller: folder where sandbox groups are made}, or None where none can be made.

    v2 is used when its root lists every controller; else v1 with whatever controllers are
    mounted writable (a v1 machine without a cpu or memory hierarchy still gets pids)."""
    if os.geteuid() != 0:
        return None
    for unified in (root, root / "unified"):
        controllers = unified / "cgroup.controllers"
        if controllers.exists() and set(CONTROLLERS) <= set(controllers.read_text().split()):
            return {name: unified for name in CONTROLLERS} if _writable(unified) else None
    found = {name: root / name for name in CONTROLLERS if _writable(root / name)}
    return found or None


def _settings(controller: str, version: int, memory_bytes: int, max_pids: int, cpus: float):
    """[(file, value)] that set `controller`'s limits, in the order they must be written."""
    quota = str(int(cpus * CPU_PERIOD_US))
    if controller == "cpu":
        if version == 2:
            return [("cpu.max", f"{quota} {CPU_PERIOD_US}"), ("cpu.weight", str(CPU_WEIGHT_V2))]
        return [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", quota),
                ("cpu.shares", str(CPU_SHARES_V1))]
    if controller == "memory":
        if version == 2:
            return [("memory.max", str(memory_bytes)), ("memory.swap.max", "0")]
        return [("memory.limit_in_bytes", str(memory_bytes))]
    return [("pids.max", str(max_pids))]


def members(folder: Path) -> list[int]:
    """Process ids in a group (empty if the group is gone)."""
    try:
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_members(folder: Path, attempts: int = 200) -> bool:
    """SIGKILL every member until the group is empty (a member that forks meanwhile is caught by
    the next pass; pids.max bounds how many there can be; v2's `cgroup.kill` does it at
    once). True once it is empty."""
    if (folder / "cgroup.kill").exists():
        try:
            (folder / "cgroup.kill").write_text("1")
        except OSError:
            pass
    for _ in range(attempts):
        pids = members(folder)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return not members(folder)


def remove_folder(folder: Path) -> bool:
    """Kill the group's members and delete it; True if it is gone."""
    kill_members(folder)
    for _ in range(50):  # the kernel frees a group a moment after its last member died
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.02)
    return False


def _parents(found: dict[str, Path]) -> set[Path]:
    return set(found.values())


def remove_run_groups(tag: str, root: Path = ROOT) -> list[Path]:
    """Remove every group of grading run `tag` (killing what is left in it); return what stayed."""
    found = hierarchies(root) or {}
    return [group for parent in _parents(found) for group in parent.glob(f"llmf-{tag}-*")
            if not remove_folder(group)]


def remove_orphan_groups(parent: Path) -> None:
    """Remove the groups of runs whose owner is gone (killed), and what still runs in them."""
    for group in parent.glob("llmf-*-*"):
        if owner_is_gone(group.name.split("-")[1]):
            remove_folder(group)


class SandboxGroup:
    """The control group(s) of one sandbox; a no-op where none can be made (see module doc).

        group = SandboxGroup(memory_bytes=2 << 30, max_pids=64, cpus=1.0)
        argv = group.wrap(argv)      # the command joins the group before it runs
        ...
        group.remove()               # kills every member, setsid and signal-ignoring ones too
    """

    def __init__(self, memory_bytes: int, max_pids: int, cpus: float = 1.0, root: Path = ROOT):
        self.folders: dict[str, Path] = {}
        found = hierarchies(root)
        if not found:
            return
        version = 2 if len(_parents(found)) == 1 and (
            next(iter(found.values())) / "cgroup.controllers").exists() else 1
        name = f"llmf-{run_tag()}-{uuid.uuid4().hex[:8]}"
        for parent in _parents(found):
            remove_orphan_groups(parent)
        if version == 2:
            self._enable_v2_controllers(next(iter(found.values())))
        try:
            for controller, parent in found.items():
                folder = parent / name
                folder.mkdir(exist_ok=True)
                self.folders[controller] = folder
                for file, value in _settings(controller, version, memory_bytes, max_pids, cpus):
                    if (folder / file).exists():
                        (folder / file).write_text(value)
        except OSError as error:
            print(f"warning: no control group for the sandbox ({error})", file=sys.stderr)
            self.remove()

    @staticmethod
    def _enable_v2_controllers(parent: Path) -> None:
        wanted = " ".join(f"+{name}" for name in CONTROLLERS)
        try:
            (parent / "cgroup.subtree_control").write_text(wanted)
        except OSError:
            pass  # already enabled, or a parent's policy: the limit files then tell

    @property
    def active(self) -> bool:
        return bool(self.folders)

    def wrap(self, command: list[str]) -> list[str]:
        """Command that joins this group (each hierarchy), then runs `command`."""
        if not self.folders:
            return command
        targets = " ".join(f'"{folder}/cgroup.procs"' for folder in set(self.folders.values()))
        join = f'for f in {targets}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", join, "sh", *command]

    def pids(self) -> list[int]:
        """Every process in the sandbox (setsid ones included)."""
        return sorted({pid for folder in self.folders.values() for pid in members(folder)})

    def remove(self) -> None:
        """Kill every process in the group, then delete it."""
        for folder in set(self.folders.values()):
            if not remove_folder(folder):
                print(f"warning: could not remove cgroup {folder}", file=sys.stderr)
        self.folders = {}
