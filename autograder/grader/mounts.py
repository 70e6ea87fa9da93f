"""In-memory folders the grader mounts itself, bounded in bytes AND in files (tmpfs `size=` and
`nr_inodes=`), and their removal.

bubblewrap's own `--tmpfs` takes a size but no bound on the number of files, and the kernel's
sockets need a folder both the grader and the sandbox see. Every folder the sandbox can write to
is therefore one of these mounts, made under the kernel's scratch folder before the sandbox
starts (`mount_writable`): where the grader may mount (root, or CAP_SYS_ADMIN), by the grader on
the host (grader.sandbox); elsewhere in a user and mount namespace of the kernel's own
(grader.own_namespace), where any user may mount a tmpfs. A scratch folder
is removed only after what is mounted under it is unmounted (`unmount_under`), so a run that is
interrupted, or killed and cleaned up by the next run (grader.scratch), leaves no mount behind.

    >>> if can_mount():                                         # doctest: +SKIP
    ...     mount_bounded(folder, size_bytes=256 << 20, files=10_000)
    ...     unmount_under(folder)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
import tempfile
from pathlib import Path

MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2
# the sandbox's writable folders, in the kernel's scratch folder: {name: where the sandbox shows
# it} (grader.sandbox binds them); the scratch folder itself holds the kernel's connection file
# and sockets, and these folders
WRITABLE = {"home": "/home/student", "tmp": "/tmp", "shm": "/dev/shm"}
SOCKETS_BYTES = 1 << 20
SOCKETS_FILES = 64
_ESCAPE = re.compile(r"\\([0-7]{3})")  # how /proc/self/mountinfo writes a space, a tab, ...


@functools.cache
def libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def mount_bounded(folder: Path, size_bytes: int, files: int) -> None:
    """Mount a fresh tmpfs on `folder` holding at most `size_bytes` bytes and `files` files and
    folders (its own root included); only this user may enter it. Raise OSError if not allowed."""
    options = f"size={size_bytes},nr_inodes={files},mode=0700".encode()
    if libc().mount(b"tmpfs", os.fsencode(folder), b"tmpfs", MS_NOSUID | MS_NODEV,
                     options) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot mount a tmpfs on {folder}: {os.strerror(error)}")


def mount_writable(runtime_dir: Path, folder_bytes: int, folder_files: int) -> None:
    """Make the kernel's (empty) scratch folder a tmpfs of SOCKETS_BYTES and SOCKETS_FILES
    holding one tmpfs of `folder_bytes` and `folder_files` per writable folder (WRITABLE).
    Raise OSError if this process may not mount."""
    mount_bounded(runtime_dir, SOCKETS_BYTES, SOCKETS_FILES)
    for name in WRITABLE:
        (runtime_dir / name).mkdir()
        mount_bounded(runtime_dir / name, folder_bytes, folder_files)


def _unmount(folder: Path) -> None:
    libc().umount2(os.fsencode(folder), MNT_DETACH)


@functools.cache
def can_mount() -> bool:
    """True if this process may mount a tmpfs (tried once, on a folder of its own)."""
    if os.geteuid() != 0:
        return False
    probe = Path(tempfile.mkdtemp(prefix="llmf-mount-probe-"))
    try:
        mount_bounded(probe, 1 << 20, 16)
    except OSError:
        return False
    else:
        _unmount(probe)
        return True
    finally:
        probe.rmdir()


def mount_points() -> list[Path]:
    """Every mount point this process sees (/proc/self/mountinfo's fifth field, unescaped)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    return [Path(_ESCAPE.sub(lambda m: chr(int(m[1], 8)), line.split()[4]))
            for line in lines if len(line.split()) > 4]


def unmount_under(folder: Path) -> None:
    """Detach every mount at or below `folder`, the deepest first (nothing to do if none)."""
    folder = Path(os.path.realpath(folder))
    inside = {point for point in mount_points() if point == folder or folder in point.parents}
    for point in sorted(inside, key=lambda p: len(p.parts), reverse=True):
        _unmount(point)
