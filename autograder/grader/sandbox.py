"""The sandbox a student's kernel runs in: bubblewrap namespaces plus resource limits.

With bubblewrap (`bwrap`, Debian package `bubblewrap`) the kernel gets:
- a private mount namespace that shows only the operating system, the Python installation, the
  virtual environment, `course_lib` and the kernel's side of `autograder` (autograder.in_kernel
  and the protocol; not the grader's code), all read-only; no /home, no /root, no course folder,
  no other students' files; the root and /dev read-only, and every folder it can write to an
  in-memory filesystem bounded in bytes and in files (below);
- no network (own network namespace), own PID/IPC/UTS namespaces, no capabilities, and death with
  its parent;
- where user namespaces are allowed, a user namespace of its own made first, with low limits of
  the per-user counts and no keyring calls (grader.own_namespace, grader.syscall_filter);
- a clean environment (only the variables set here);
- resource limits set by autograder.in_kernel.boot (memory, processes, CPU time, file size),
  and, where the machine lets the grader make one, a control group (autograder.grader.cgroups):
  at most one core at an equal share, a memory limit that covers the kernel and its tmpfs
  together, a process limit, and the member list through which the whole sandbox is killed.

The writable folders are the home (the working folder), /tmp, /dev/shm (`Limits.tmpfs_mb` bytes
and `Limits.tmpfs_files` files and folders each) and the kernel's scratch folder, which holds
its connection file and sockets (mounts.SOCKETS_BYTES and SOCKETS_FILES). Each is a tmpfs
mounted with `size=` and `nr_inodes=` (grader.mounts) and shown in the sandbox by a bind: where
the grader may mount (root), by the grader on the host (`prepare_writable`); elsewhere in a user
and mount namespace of the kernel's own, which bubblewrap runs in (grader.own_namespace; the
grader reaches the sockets through /proc/<pid>/root). Only where neither works (no user namespaces)
bubblewrap's own tmpfs bounds the home, /tmp and /dev/shm in bytes only and the scratch folder
is the host's disk: a warning says so once.

Without bwrap the kernel runs with the same resource limits and clean environment but can read
any file the grading user can: a loud warning says so.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from autograder.grader import own_namespace
from autograder.grader.cgroups import SandboxGroup
from autograder.grader.mounts import WRITABLE, can_mount, mount_writable
from autograder.grader.pythons import KernelPython, own_python

HOME = WRITABLE["home"]
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "mime.types")
# the parts of the autograder package a kernel imports (the trust boundary: docs/architecture.md)
KERNEL_SIDE = ("__init__.py", "protocol.py", "hidden.py", "in_kernel")
# how the writable folders are bounded (`writable_mode`)
HOST_MOUNTS, OWN_NAMESPACE, BYTES_ONLY = "host mounts", "own namespace", "bytes only"


@dataclass(frozen=True)
class Limits:
    """Resource limits for grading one notebook (times in seconds)."""

    cell_timeout: float = 20.0
    notebook_timeout: float = 180.0
    memory_mb: int = 1536
    max_processes: int = 64
    file_mb: int = 64
    max_output_chars: int = 20_000
    tmpfs_mb: int = 256  # each writable folder of the sandbox (the memory group counts them too)
    tmpfs_files: int = 10_000  # files and folders each writable folder may hold
    cpus: float = 1.0  # cores one sandbox may use at most (where a cpu control group exists)
    max_message_kb: int = 8192  # the largest kernel message read (larger: the connection drops)
    max_hidden_kb: int = 4096  # hidden-case data the grader keeps per cell and per notebook

    def sandbox_memory_bytes(self) -> int:
        """The memory group's limit: the kernel's memory plus its writable tmpfs folders."""
        return (self.memory_mb + 3 * self.tmpfs_mb) * 1024 * 1024

    def __post_init__(self):
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


class SandboxWarning(UserWarning):
    """Grading without filesystem isolation (bubblewrap missing)."""


@functools.cache
def bwrap_works() -> bool:
    """True if `bwrap` is installed and can create namespaces on this machine."""
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
             "--die-with-parent", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


@functools.cache
def warn_unsandboxed() -> None:
    message = (
        "\n" + "!" * 78 + "\n"
        "  bubblewrap (bwrap) is not available: student code will run WITHOUT filesystem and\n"
        "  network isolation (resource limits and a clean environment only). It can read any\n"
        "  file you can, including source notebooks and the gradebook. Install it with\n"
        "  `sudo apt-get install bubblewrap` before grading real submissions.\n" + "!" * 78
    )
    print(message, file=sys.stderr)
    warnings.warn("grading without the bubblewrap sandbox", SandboxWarning, stacklevel=3)


def package_dir(name: str) -> Path:
    """Folder of an importable package (where a sandboxed kernel must find it)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not importable by the grader")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def readable_paths(python: KernelPython) -> list[Path]:
    """Host paths the kernel may read: its Python's installation and environment, course_lib and
    the kernel's side of autograder (KERNEL_SIDE)."""
    paths = {python.base_prefix.resolve(), python.prefix.resolve(), package_dir("course_lib")}
    paths |= {package_dir("autograder") / name for name in KERNEL_SIDE}
    return sorted(paths)


def import_path() -> list[str]:
    """The folders holding course_lib and autograder, which the kernel imports whatever Python
    it runs on (the sandbox shows only them, and the kernel's side, of those folders)."""
    return list(dict.fromkeys(str(package_dir(name).parent)
                              for name in ("course_lib", "autograder")))


def kernel_environment(home: str, python: KernelPython, imports: list[str]) -> dict[str, str]:
    """The only environment variables the kernel sees (`imports`: its PYTHONPATH)."""
    return {
        "PATH": f"{python.executable.parent}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": ":".join(imports),
        "HOME": home,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LLMF_GRADING": "1",
    }


def boot_command(connection_file: Path, limits: Limits, python: KernelPython) -> list[str]:
    """The command that starts the kernel on `python` under resource limits (see
    autograder.in_kernel.boot)."""
    return [
        str(python.executable), "-m", "autograder.in_kernel.boot",
        "--memory-mb", str(limits.memory_mb),
        "--max-processes", str(limits.max_processes),
        "--cpu-seconds", str(int(limits.notebook_timeout) + 5),
        "--file-mb", str(limits.file_mb),
        "--", "-f", str(connection_file), "--HistoryManager.enabled=False",
    ]


@functools.cache
def writable_mode() -> str:
    """How the sandbox's writable folders are bounded in bytes and files: HOST_MOUNTS (the grader
    may mount: it mounts them on the host, `prepare_writable`), OWN_NAMESPACE (it may not: they
    are mounted in a user and mount namespace of the kernel's own, grader.own_namespace), or
    BYTES_ONLY (neither works: bubblewrap's tmpfs, bounded in bytes only)."""
    if bwrap_works() and can_mount():
        return HOST_MOUNTS
    return OWN_NAMESPACE if bwrap_works() and own_namespace.works() else BYTES_ONLY


@functools.cache
def warn_files_unbounded() -> None:
    print("warning: no tmpfs can be mounted here (not root, and no user namespaces): the "
          "sandbox's in-memory folders are bounded in bytes but not in files, and the kernel's "
          "socket folder is on disk", file=sys.stderr)


def prepare_writable(runtime_dir: Path, limits: Limits) -> None:
    """Make the kernel's (empty) scratch folder a bounded tmpfs holding one bounded tmpfs per
    writable folder of the sandbox (mounts.mount_writable), on the host where the grader may
    mount; else do nothing here (see `writable_mode`)."""
    if writable_mode() == HOST_MOUNTS:
        mount_writable(runtime_dir, limits.tmpfs_mb * 1024 * 1024, limits.tmpfs_files)


def writable_places(runtime_dir: Path, tmpfs_mb: int) -> dict[str, list[str]]:
    """{place: the bubblewrap arguments that make it} for WRITABLE's places: binds of the bounded
    mounts (`prepare_writable`, grader.own_namespace), else bubblewrap's tmpfs of `tmpfs_mb` (bytes
    only)."""
    if writable_mode() != BYTES_ONLY:
        return {place: ["--bind", str(runtime_dir / name), place]
                for name, place in WRITABLE.items()}
    warn_files_unbounded()
    return {place: ["--size", str(tmpfs_mb * 1024 * 1024), "--tmpfs", place]
            for place in WRITABLE.values()}


def bwrap_command(runtime_dir: Path, files: list[Path], inner: list[str],
                  course_lib: Path | None = None, tmpfs_mb: int = Limits.tmpfs_mb,
                  python: KernelPython | None = None) -> list[str]:
    """Wrap `inner` in bubblewrap: read-only system and packages, bounded writable folders, no
    network; `course_lib`, if given, is shown in place of the real course_lib (see
    autograder.grader.course_lib_view); `python`: the Python the kernel runs on (the grader's
    own if None)."""
    python = python or own_python()
    places = writable_places(runtime_dir, tmpfs_mb)
    command = [shutil.which("bwrap") or "bwrap", *places[HOME], *places["/tmp"], "--chdir", HOME]
    for folder in SYSTEM_DIRS:
        command += ["--ro-bind-try", folder, folder]
    for name in ETC_FILES:
        command += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for path in readable_paths(python):
        command += ["--ro-bind", str(path), str(path)]
    if course_lib is not None:
        real = package_dir("course_lib")
        command += ["--ro-bind", str(course_lib), str(real)]
        for entry in data_entries(real):  # weights and other data, shown as they are
            command += ["--ro-bind", str(entry), str(entry)]
    for file in files:
        command += ["--ro-bind", str(file), f"{HOME}/{file.name}"]
    command += ["--bind", str(runtime_dir), str(runtime_dir)]
    command += ["--proc", "/proc", "--dev", "/dev", *places["/dev/shm"], "--remount-ro", "/dev",
                "--remount-ro", "/", "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
                "--clearenv"]
    for key, value in kernel_environment(HOME, python, import_path()).items():
        command += ["--setenv", key, value]
    return [*command, *inner]


def sandboxed_command(
    connection_file: Path, runtime_dir: Path, files: list[Path], limits: Limits,
    group: SandboxGroup, course_lib: Path | None = None, python: KernelPython | None = None,
) -> tuple[list[str], dict[str, str], str]:
    """(argv, environment, working folder) to launch a sandboxed kernel (`course_lib`: the view
    of course_lib it imports, None for the real one; `python`: the Python it runs on, the
    grader's own if None)."""
    python = python or own_python()
    inner = boot_command(connection_file, limits, python)
    if bwrap_works():
        command = bwrap_command(runtime_dir, files, inner, course_lib, limits.tmpfs_mb, python)
        if writable_mode() == OWN_NAMESPACE:
            command = own_namespace.command(command, (runtime_dir, limits.tmpfs_mb * 1024 * 1024,
                                                      limits.tmpfs_files))
        elif own_namespace.works():  # the folders are the host's: only the namespace's maxima
            command = own_namespace.command(command)
        return group.wrap(command), {}, "/"
    warn_unsandboxed()
    work = runtime_dir / "work"
    work.mkdir(exist_ok=True)
    for file in files:
        shutil.copy(file, work / file.name)
    private = {"TMPDIR": str(work), "MPLCONFIGDIR": str(work), "JUPYTER_RUNTIME_DIR": str(work)}
    # the view, if any, is found first; the real course_lib stays readable without bwrap
    view = [str(linked_view(course_lib, runtime_dir))] if course_lib is not None else []
    environment = kernel_environment(str(work), python, [*view, *import_path()]) | private
    return group.wrap(inner), environment, str(work)


def data_entries(root: Path) -> list[Path]:
    """What a course_lib view shows as it is rather than copied: its data (weights, ...)."""
    return sorted(p for p in root.iterdir()
                  if p.name != "__pycache__" and not (p.is_file() and p.suffix == ".py")
                  and not p.name.startswith("."))


def linked_view(course_lib: Path, runtime_dir: Path) -> Path:
    """Without bwrap: a folder whose `course_lib` is the view with links to the real data."""
    folder = runtime_dir / "view"
    shutil.copytree(course_lib, folder / "course_lib")
    for entry in data_entries(package_dir("course_lib")):
        target = folder / "course_lib" / entry.name
        if target.is_dir():
            target.rmdir()
        else:
            target.unlink(missing_ok=True)
        target.symlink_to(entry)
    return folder
