"""The user namespace of the sandbox's own that bubblewrap starts in: what the kernel may take of
its user's per-user quotas, and, for a grader that may not mount, its bounded writable folders.

Linux counts some resources per user, across every process of that user: the user namespaces
it made, its inotify instances. It counts them in each user namespace and in every one above,
each against that namespace's maxima (/proc/sys/user/max_*), which a process holding the
namespace's capabilities may lower. The sandbox runs as the user who grades (root, or the
instructor), so a kernel that took a quota took it from the grader, the machine's other
processes and the other students' sandboxes; and in a user namespace of its own the kernel
would hold every capability again, mount a tmpfs bounded by nothing but half the machine's
memory (in no control group where the grader is not root), and make the writable folders'
bounds moot. So bubblewrap starts inside a user namespace made here, before any student code,
whose maxima (NAMESPACE_MAXIMA) let it make the sandbox's own user namespace and the kernel no
further one, and only a few inotify and fanotify instances and watches. Bubblewrap makes one
user namespace where it runs as root, and two where it does not (the sandbox mounts /dev: its
first namespace maps the user to root, who may mount a devpts there; its second maps root back
to the user), so the maximum is one or two by who grades.

Other per-user counts are bounded by resource limits instead. Since Linux 5.14, queued
real-time signals and POSIX timers (RLIMIT_SIGPENDING), POSIX message-queue bytes
(RLIMIT_MSGQUEUE), shared memory locked in RAM (RLIMIT_MEMLOCK, which also bounds io_uring's
registered buffers) and processes are counted in every user namespace up the chain to the one
of the user who grades, and what a namespace's processes hold there may not pass the limit its
maker had when it made it; descriptors in flight on Unix sockets are counted per user id, each
sender checked against its own RLIMIT_NOFILE. So this process lowers those limits, soft and
hard, to RLIMIT_SHARES (or half its own soft limit, if less) before it makes the namespace:
whatever the sandbox does, it holds at most that share of the user's count, and the grader
keeps the rest. (Processes are bounded already, by autograder.in_kernel.boot and the control
group.) The share is one for all the sandboxes that run at once: Linux checks the count of the
user who grades, which they all add to, against each one's limit, so a kernel that holds its
whole share leaves none to a classmate's kernel graded beside it, until it stops.

Keyring quotas are kept by user id alone, in no namespace: before it becomes bubblewrap, this
process installs the sandbox's system-call filter (grader.syscall_filter), which refuses the
keyring calls to it and every process it starts.

Only root may mount on the host, but any user may mount a tmpfs, `size=` and `nr_inodes=`
included, in a user and mount namespace of their own. So a grader that is not root has this
module mount the kernel's scratch folder and its writable folders in that namespace, exactly as
the grader mounts them as root (grader.mounts.mount_writable; the connection file the grader
wrote is carried over), before it becomes bubblewrap, which binds those folders into the sandbox
as usual. The mounts exist only in that namespace and vanish with it when the sandbox ends. The
grader, outside, reaches the kernel's sockets in the scratch folder through /proc/<pid>/root
(`socket_path`), pid being this process's, which bubblewrap's own outer process keeps.

    python -m autograder.grader.own_namespace [--mount RUNTIME_DIR FOLDER_BYTES FOLDER_FILES] \\
        -- bwrap ...
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.grader import syscall_filter
from autograder.grader.mounts import libc, mount_writable

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
# {file of /proc/sys/user: the most the sandbox may hold, counted in this namespace} (a file
# this Linux does not have is a quota it does not count)
NAMESPACE_MAXIMA = {
    "max_user_namespaces": 1 if os.geteuid() == 0 else 2,  # bubblewrap's (below); the kernel none
    "max_inotify_instances": 16,  # of its user's 128 by default
    "max_inotify_watches": 1024,  # of its user's about 200,000
    "max_fanotify_groups": 16,  # of its user's 128
    "max_fanotify_marks": 1024,  # of its user's about 200,000
}
# {resource limit: the most of its user's count the sandbox may hold}, set before the namespace
# is made (its maxima for these counts are its maker's limits then); never above half the
# grader's own soft limit
RLIMIT_SHARES = {
    resource.RLIMIT_SIGPENDING: 256,  # queued real-time signals and POSIX timers (of ~96,000)
    resource.RLIMIT_MSGQUEUE: 128 * 1024,  # POSIX message-queue bytes (of 800 KiB by default)
    resource.RLIMIT_MEMLOCK: 1024 * 1024,  # locked shared memory (of 8 MiB by default)
    resource.RLIMIT_NOFILE: 1024,  # descriptors in flight, and open per process (a kernel: ~60)
}


def command(inner: list[str], mount: tuple[Path, int, int] | None = None) -> list[str]:
    """The command that runs `inner` (bubblewrap) in a user namespace of its own whose maxima
    are NAMESPACE_MAXIMA; `mount`: (the kernel's scratch folder, the bytes and the files each
    writable folder may hold), to mount the bounded folders there first."""
    mounting = ["--mount", str(mount[0]), str(mount[1]), str(mount[2])] if mount else []
    return [sys.executable, "-m", "autograder.grader.own_namespace", *mounting, "--", *inner]


def socket_path(pid: int, runtime_dir: Path) -> str:
    """Where the grader finds the kernel's sockets ("<...>/socket" + "-N") from outside the
    namespace of the process `pid` that mounted the scratch folder."""
    return f"/proc/{pid}/root{runtime_dir}/socket"


def lower_limits() -> None:
    """Lower this process's limits to RLIMIT_SHARES, or to half its soft limit if that is less,
    soft and hard (those of the namespace made next, and of every process in it, which cannot
    raise them again): the grader keeps at least half of what it may use itself."""
    for kind, share in RLIMIT_SHARES.items():
        soft = resource.getrlimit(kind)[0]  # at most the hard limit
        most = share if soft == resource.RLIM_INFINITY else min(share, soft // 2)
        resource.setrlimit(kind, (most, most))


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


def bound_namespace() -> None:
    """Lower this user namespace's maxima to NAMESPACE_MAXIMA (this process holds its
    capabilities; every namespace made below it counts here too)."""
    for name, most in NAMESPACE_MAXIMA.items():
        if (path := Path(f"/proc/sys/user/{name}")).exists():
            path.write_text(str(most))


def main(argv: list[str]) -> None:
    options, inner = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    mount = (Path(options[1]), int(options[2]), int(options[3])) if options else None
    carried = {path.name: path.read_bytes() for path in mount[0].iterdir()
               if path.is_file()} if mount else {}
    lower_limits()
    enter_own_namespace()
    bound_namespace()
    if mount:
        mount_writable(*mount)
        for name, data in carried.items():
            (mount[0] / name).write_bytes(data)
    syscall_filter.install()
    os.execvp(inner[0], inner)


@functools.cache
def works() -> bool:
    """True if this machine lets this user make a bounded namespace and mount the bounded
    folders in it (tried once: the folders are mounted and `true` is run)."""
    probe = Path(tempfile.mkdtemp(prefix="llmf-own-namespace-probe-"))
    try:
        done = subprocess.run(command(["true"], (probe, 1 << 20, 16)), capture_output=True,
                              timeout=60)
        return done.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.rmdir()


if __name__ == "__main__":
    main(sys.argv[1:])
