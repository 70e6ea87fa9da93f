"""The sandbox's writable folders bounded in bytes and files for a grader that may not mount.

Only root may mount on the host, but any user may create a user namespace with a mount namespace
of its own and mount a tmpfs there, `size=` and `nr_inodes=` included (Linux allows tmpfs in a
user namespace). So a grader that is not root starts the sandbox through this module, run by the
grader's own Python before any student code:

    python -m autograder.grader.own_mounts RUNTIME_DIR FOLDER_BYTES FOLDER_FILES -- bwrap ...

It enters a new user namespace (the same user id inside) and mount namespace, mounts the kernel's
scratch folder and its writable folders there exactly as the grader mounts them as root
(grader.mounts.mount_writable; the connection file the grader wrote is carried over), then
becomes bubblewrap, which binds those folders into the sandbox as usual. The mounts exist only
in that namespace and vanish with it when the sandbox ends. The grader, outside, reaches the
kernel's sockets in the scratch folder through /proc/<pid>/root (`socket_path`), pid being this
process's, which bubblewrap's own outer process keeps.
"""

from __future__ import annotations

import ctypes
import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.grader.mounts import libc, mount_writable

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000


def command(runtime_dir: Path, folder_bytes: int, folder_files: int,
            inner: list[str]) -> list[str]:
    """The command that runs `inner` (bubblewrap) with the bounded folders mounted first."""
    return [sys.executable, "-m", "autograder.grader.own_mounts", str(runtime_dir),
            str(folder_bytes), str(folder_files), "--", *inner]


def socket_path(pid: int, runtime_dir: Path) -> str:
    """Where the grader finds the kernel's sockets ("<...>/socket" + "-N") from outside the
    namespace of the process `pid` that mounted the scratch folder."""
    return f"/proc/{pid}/root{runtime_dir}/socket"


def enter_own_namespace() -> None:
    """Move this process into a new user namespace (this user id and group id inside) with a
    mount namespace of its own; raise OSError if the system does not allow it."""
    uid, gid = os.getuid(), os.getgid()
    if libc().unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot create a user namespace: {os.strerror(error)}")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        Path(f"/proc/self/{name}").write_text(text)


def main(argv: list[str]) -> None:
    runtime_dir, folder_bytes, folder_files = Path(argv[0]), int(argv[1]), int(argv[2])
    inner = argv[argv.index("--") + 1:]
    carried = {path.name: path.read_bytes() for path in runtime_dir.iterdir() if path.is_file()}
    enter_own_namespace()
    mount_writable(runtime_dir, folder_bytes, folder_files)
    for name, data in carried.items():
        (runtime_dir / name).write_bytes(data)
    os.execvp(inner[0], inner)


@functools.cache
def works() -> bool:
    """True if this machine lets this user mount the bounded folders in a namespace of its own
    (tried once: the folders are mounted and `true` is run)."""
    probe = Path(tempfile.mkdtemp(prefix="llmf-own-mounts-probe-"))
    try:
        done = subprocess.run(command(probe, 1 << 20, 16, ["true"]), capture_output=True,
                              timeout=60)
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.rmdir()


if __name__ == "__main__":
    main(sys.argv[1:])
