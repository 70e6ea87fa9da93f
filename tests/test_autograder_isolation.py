"""No student can harm another or the grading machine: the sandbox's control group, its bounded
tmpfs, the bounds on what the grader reads from a kernel, and Ctrl-C on `llmf-grade grade`.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import per_user_counts
import psutil
import pytest
import synthetic
from grading_cli import (
    FAST,
    FIXTURES,
    SOURCE,
    assert_nothing_left,
    grading,
    grading_in_background,
    private_tmp,
    processes_with,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.course_folder import Course
from autograder.grader import cgroups, mounts, own_namespace, sandbox, syscall_filter
from autograder.grader import kernel as kernel_module
from autograder.grader.kernel import HIDDEN_DROPPED, HiddenBudget, SandboxedKernel
from autograder.grader.mounts import SOCKETS_BYTES, SOCKETS_FILES
from autograder.grader.sandbox import (
    BYTES_ONLY,
    HOME,
    HOST_MOUNTS,
    OWN_NAMESPACE,
    Limits,
    bwrap_works,
)
from autograder.protocol import HIDDEN_MIME

LIMITS = Limits(cell_timeout=20, notebook_timeout=60)


def test_stop_kills_setsid_processes_that_ignore_signals():
    marker = f"llmf-isolation-{os.getpid()}"
    spawn = (
        "import subprocess, sys\n"
        f"code = 'import signal, os\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        f"signal.signal(signal.SIGINT, signal.SIG_IGN)\\nwhile True: pass  # {marker}'\n"
        "for _ in range(3):\n"
        "    subprocess.Popen([sys.executable, '-c', code], start_new_session=True)\n"
    )
    kernel = SandboxedKernel(LIMITS)
    kernel.start()
    assert kernel.execute(spawn, timeout=20).status == "ok"
    deadline = time.monotonic() + 10
    while len(processes_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_with(marker)) == 3
    folders = list(kernel.group.folders.values())
    kernel.stop()
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []
    assert not any(folder.exists() for folder in folders)


@pytest.mark.skipif(not cgroups.hierarchies(), reason="no writable control groups here")
def test_each_sandbox_gets_one_core_an_equal_share_and_a_memory_limit_covering_tmpfs():
    kernel = SandboxedKernel(LIMITS)
    kernel.start()
    try:
        folders = kernel.group.folders
        assert set(folders) == {"cpu", "memory", "pids"}
        cpu, memory = folders["cpu"], folders["memory"]
        if (cpu / "cpu.max").exists():
            assert (cpu / "cpu.max").read_text().split() == ["100000", "100000"]
            limit = int((memory / "memory.max").read_text())
        else:
            assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "100000"
            assert (cpu / "cpu.shares").read_text().strip() == "1024"
            limit = int((memory / "memory.limit_in_bytes").read_text())
        assert limit == LIMITS.sandbox_memory_bytes()
        assert kernel.process.pid in kernel.group.pids()
    finally:
        kernel.stop()


def test_cgroup_version_is_detected_and_the_fallback_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert cgroups.hierarchies(v2) == {name: v2 for name in cgroups.CONTROLLERS}
    v1 = tmp_path / "v1"
    for name in ("cpu", "memory", "pids", "unified"):
        (v1 / name).mkdir(parents=True)
    (v1 / "unified" / "cgroup.controllers").write_text("hugetlb\n")  # an empty v2 beside v1
    assert cgroups.hierarchies(v1) == {name: v1 / name for name in cgroups.CONTROLLERS}
    assert cgroups.hierarchies(tmp_path / "none") is None
    group = cgroups.SandboxGroup(2**30, 64, root=v1)
    assert group.active and group.wrap(["true"])[:2] == ["/bin/sh", "-c"]
    group.folders = {}  # fake folders hold no members; nothing to kill
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not cgroups.SandboxGroup(2**30, 64, root=v1).active
    assert cgroups.SandboxGroup(2**30, 64, root=v1).wrap(["true"]) == ["true"]


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not available")
def test_the_sandbox_tmpfs_is_bounded():
    fill = (
        "import errno\nwritten = 0\n"
        "for folder in ('/tmp', '.', '/dev/shm'):\n"
        "    for i in range(64):\n"
        "        try:\n"
        "            with open(f'{folder}/f{i}', 'wb') as f:\n"
        "                f.write(b'x' * (32 * 2**20))\n"
        "            written += 32\n"
        "        except OSError as e:\n"
        "            assert e.errno == errno.ENOSPC, e\n"
        "            break\n"
        "    else:\n"
        "        raise AssertionError(folder + ' took 2 GiB')\n"
        "print(written)\n"
    )
    limits = Limits(cell_timeout=60, notebook_timeout=120, tmpfs_mb=128)
    with SandboxedKernel(limits) as kernel:
        outcome = kernel.execute(fill, timeout=60)
        assert outcome.status == "ok", outcome.error
        assert int(outcome.output) <= 3 * 128
        assert kernel.execute("open('/escape', 'w')", timeout=10).status == "error"


# Run in the kernel: every folder it can write to, from its own mount table (the topmost mount
# of each point), as [(mount point, filesystem type, filesystem options)].
WRITABLE_MOUNTS = r"""
import json, os, re
places = {}
for line in open('/proc/self/mountinfo'):
    left, right = line.split(' - ')
    point = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m[1], 8)), left.split()[4])
    kind, _, options = right.split()
    places[point] = (left.split()[5].split(','), kind, options)
print(json.dumps([(point, kind, options) for point, (flags, kind, options) in places.items()
                  if 'rw' in flags and kind not in ('proc', 'devpts') and os.path.isdir(point)]))
"""

# Run in the kernel: write past a bound in one place (files of `size` bytes at `depth` folders
# down, until the filesystem refuses), then report what it holds and remove it.
FILL = r"""
import errno, json, os, shutil
def fill(place, size, depth, most):
    base = folder = os.path.join(place, 'fill')
    refused = None
    try:
        os.mkdir(base)
        for level in range(depth):
            folder = os.path.join(folder, f'd{level}')
            os.mkdir(folder)
        for index in range(most):
            with open(os.path.join(folder, f'f{index}'), 'wb') as handle:
                handle.write(b'x' * size)
    except OSError as error:
        refused = errno.errorcode.get(error.errno)
    walked = list(os.walk(base))
    entries = 1 + sum(len(folders) + len(files) for _, folders, files in walked)
    held = sum(os.lstat(os.path.join(parent, name)).st_size
               for parent, _, files in walked for name in files)
    shutil.rmtree(base, ignore_errors=True)
    return json.dumps({'refused': refused, 'entries': entries, 'bytes': held})
"""


def writable_mounts(kernel) -> dict[str, tuple[str, dict[str, str]]]:
    """{mount point: (filesystem type, its options)} of every place the kernel can write to."""
    outcome = kernel.execute(WRITABLE_MOUNTS, timeout=30)
    assert outcome.status == "ok", outcome.error
    return {point: (kind, dict(option.partition("=")[::2] for option in options.split(",")))
            for point, kind, options in json.loads(outcome.output)}


def kibibytes(size: str) -> int:
    return int(size[:-1]) * {"k": 1, "m": 1024, "g": 1024**2}[size[-1]] if size[-1].isalpha() \
        else int(size) // 1024


BOUNDED = Limits(cell_timeout=60, notebook_timeout=600, tmpfs_mb=8, tmpfs_files=200)
needs_mounts = pytest.mark.skipif(not (bwrap_works() and mounts.can_mount()),
                                  reason="needs bubblewrap and a grader that may mount (root)")


@pytest.fixture(scope="module", params=[HOST_MOUNTS, OWN_NAMESPACE])
def bounding(request):
    """Each way the writable places are bounded in bytes and files: mounted by the grader on the
    host (root), or in the sandbox's own user and mount namespace (a grader that may not mount;
    here the grader is told it may not)."""
    works = {HOST_MOUNTS: bwrap_works() and mounts.can_mount(),
             OWN_NAMESPACE: bwrap_works() and own_namespace.works()}
    if not works[request.param]:
        pytest.skip(f"{request.param}: not possible on this machine")
    return request.param


def started(limits: Limits, mode: str) -> SandboxedKernel:
    """A sandboxed kernel started with its writable places bounded the `mode` way."""
    with pytest.MonkeyPatch.context() as patch:
        for module in (sandbox, kernel_module):
            patch.setattr(module, "writable_mode", lambda: mode)
        kernel = SandboxedKernel(limits)
        kernel.start()
    return kernel


@pytest.fixture(scope="module")
def bounded_kernel(bounding):
    """One sandboxed kernel with small bounds on its writable places, and those places."""
    kernel = started(BOUNDED, bounding)
    try:
        assert kernel.execute(FILL, timeout=30).status == "ok"
        yield kernel, writable_mounts(kernel)
    finally:
        kernel.stop()


def bound_of(point: str, runtime) -> tuple[int, int]:
    """(bytes, files) a writable place may hold: the socket folder's or a tmpfs_* one's."""
    if point == str(runtime):
        return SOCKETS_BYTES, SOCKETS_FILES
    return BOUNDED.tmpfs_mb * 2**20, BOUNDED.tmpfs_files


def test_every_writable_place_the_kernel_sees_is_a_tmpfs_bounded_in_bytes_and_files(
        bounded_kernel):
    """Read from the kernel's own mount table, not from a list of places: every folder it may
    write to is a tmpfs with size= and nr_inodes= within the limits; the root and /dev are not
    writable."""
    kernel, places = bounded_kernel
    assert {"/tmp", HOME, "/dev/shm", str(kernel.runtime)} <= set(places)
    assert "/" not in places and "/dev" not in places
    for point, (kind, options) in places.items():
        size, files = bound_of(point, kernel.runtime)
        assert kind == "tmpfs", (point, kind)
        assert 0 < kibibytes(options["size"]) * 1024 <= size, (point, options)
        assert 0 < int(options["nr_inodes"]) <= files, (point, options)


@settings(max_examples=24, deadline=None)
@given(data=st.data(), size=st.sampled_from([0, 1, 4096, 2**20, 3 * 2**20]),
       depth=st.integers(0, 3))
def test_writing_past_each_bound_in_each_writable_place_is_refused(bounded_kernel, data, size,
                                                                  depth):
    """Files of any size at any depth, in any writable place: the filesystem refuses (ENOSPC)
    before the place holds more than its bytes or its files, and the kernel goes on."""
    kernel, places = bounded_kernel
    point = data.draw(st.sampled_from(sorted(places)))
    size_bound, files_bound = bound_of(point, kernel.runtime)
    outcome = kernel.execute(f"print(fill({point!r}, {size}, {depth}, {files_bound + 10}))",
                             timeout=60)
    assert outcome.status == "ok", outcome.error
    held = json.loads(outcome.output)
    assert held["refused"] == "ENOSPC", held
    assert held["entries"] <= files_bound and held["bytes"] <= size_bound, held



# Run in the kernel: make a user namespace with a mount namespace in a child process (where it
# would hold every capability) and mount a tmpfs of its own there, with no bound but half the
# machine's memory; print what was refused, or the size of the tmpfs made.
OWN_TMPFS = r"""
import ctypes, errno, os
_libc = ctypes.CDLL(None, use_errno=True)
_read, _write = os.pipe()
if (_child := os.fork()) == 0:
    if _libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        _said = 'unshare ' + errno.errorcode[ctypes.get_errno()]
    elif _libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) != 0:
        _said = 'mount ' + errno.errorcode[ctypes.get_errno()]
    else:
        _said = f'a tmpfs of {os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize >> 20} MB'
    os.write(_write, _said.encode())
    os._exit(0)
os.waitpid(_child, 0)
print(os.read(_read, 200).decode())
"""
# Run in the kernel: hold as many inotify instances as it may (each counts against the user that
# started the sandbox, whose every process shares one quota); print how many.
INOTIFY_INSTANCES = r"""
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_held = []
while len(_held) < 10_000 and (_fd := _libc.inotify_init()) >= 0:
    _held.append(_fd)
print(len(_held))
"""


def test_the_kernel_can_make_no_writable_place_of_its_own(bounded_kernel):
    """No user namespace can be made in the sandbox: in one, with a mount namespace, the kernel
    would hold every capability and mount a tmpfs bounded by half the machine's memory, in no
    control group where the grader is not root, and take the user namespaces the grader's
    user may make (one quota for all its processes, other students' sandboxes included)."""
    kernel, _ = bounded_kernel
    outcome = kernel.execute(OWN_TMPFS, timeout=30)
    assert outcome.status == "ok", outcome.error
    assert outcome.output.startswith("unshare "), outcome.output


def test_the_kernel_leaves_the_grader_its_per_user_quotas(bounded_kernel):
    """Inotify instances are counted per user across every process of the user who started the
    sandbox (128 by default): a kernel holding all it may leaves the grader able to make one."""
    kernel, _ = bounded_kernel
    outcome = kernel.execute(INOTIFY_INSTANCES, timeout=30)
    assert outcome.status == "ok", outcome.error
    held = int(outcome.output)
    grader = ctypes.CDLL(None, use_errno=True).inotify_init()
    assert grader >= 0, f"the kernel holds {held} instances and the grader may make none"
    os.close(grader)
    assert kernel.execute("import os\nfor _fd in _held:\n    os.close(_fd)",
                          timeout=30).status == "ok"

# {resource limit: the count of per_user_counts it bounds}
RLIMIT_COUNTS = {resource.RLIMIT_SIGPENDING: "sigpending", resource.RLIMIT_MSGQUEUE: "msgqueue",
                 resource.RLIMIT_MEMLOCK: "memlock", resource.RLIMIT_NOFILE: "inflight"}
# how far past its limit Linux lets a count go: descriptors in flight are checked before each
# message, which may carry 253 more
OVERSHOOT = {"inflight": 253}
TAKE_ALL = Path(per_user_counts.__file__).read_text() + "\nprint(json.dumps(take_all()))\n"


def taken_by_a_kernel(mode: str) -> tuple[SandboxedKernel, dict[str, int]]:
    """A sandboxed kernel that took all it may of each per-user count, and holds it."""
    kernel = started(BOUNDED, mode)
    outcome = kernel.execute("import json\n" + TAKE_ALL, timeout=60)
    assert outcome.status == "ok", outcome.error
    return kernel, json.loads(outcome.output)


def test_a_kernel_takes_at_most_its_share_of_each_per_user_count_and_leaves_the_rest(bounding):
    """Queued real-time signals, POSIX message-queue bytes, locked shared memory and descriptors
    in flight on Unix sockets are counted per user (the user who grades, whose every process and
    sandbox shares them) and bounded by resource limits. A kernel raising its limits and taking
    all it can holds at most the sandbox's share of each; meanwhile the grader still takes one
    more of each, and a classmate's kernel graded next takes some of each too (not always as
    much: the share is checked against the count of every process of the user, this machine's
    other sandboxes included)."""
    assert set(RLIMIT_COUNTS) == set(own_namespace.RLIMIT_SHARES)
    kernel, taken = taken_by_a_kernel(bounding)
    try:
        for kind, count in RLIMIT_COUNTS.items():
            most = own_namespace.RLIMIT_SHARES[kind] + OVERSHOOT.get(count, 0)
            assert 0 < taken[count] <= most, (count, taken)
            assert per_user_counts.take_one(count), f"the kernel took {taken} and left none"
    finally:
        kernel.stop()
    classmate, taken_next = taken_by_a_kernel(bounding)
    classmate.stop()
    assert all(taken_next[count] > 0 for count in RLIMIT_COUNTS.values()), taken_next


LOWERED = """
import json, resource, sys
from autograder.grader.own_namespace import RLIMIT_SHARES, lower_limits
for kind, (soft, hard) in json.loads(sys.argv[1]):
    resource.setrlimit(kind, (soft, hard))
lower_limits()
print(json.dumps({kind: resource.getrlimit(kind) for kind in RLIMIT_SHARES}))
"""


@st.composite
def grader_limits(draw, kind: int) -> tuple[int, int]:
    """A (soft, hard) limit the grader may have of `kind`: a hard limit at most its present one
    (any value, one near the share, or none), a soft one at most that."""
    def at_most(top: int) -> st.SearchStrategy[int]:
        share = own_namespace.RLIMIT_SHARES[kind]
        near = [limit for limit in (0, 1, share - 1, share, share + 1, 2 * share) if limit <= top]
        return st.one_of(st.sampled_from(near), st.integers(0, top))

    infinite = resource.RLIM_INFINITY
    present = resource.getrlimit(kind)[1]
    hard = draw(at_most(10**7) | st.just(infinite) if present == infinite else at_most(present))
    soft = draw(st.just(hard) | at_most(10**7 if hard == infinite else hard))
    return soft, hard


@settings(max_examples=40, deadline=None)
@given(limits=st.tuples(*(grader_limits(kind) for kind in own_namespace.RLIMIT_SHARES)))
def test_the_sandbox_limits_are_the_share_or_the_graders_own_when_lower_and_cannot_be_raised(
        limits):
    """Whatever limits the grader runs with, the namespace's maker gets, soft and hard (so no
    process in it can raise them), the share, or half the grader's own soft limit if that is
    less: the grader keeps at least half of what it may use."""
    drawn = dict(zip(own_namespace.RLIMIT_SHARES, limits, strict=True))
    done = subprocess.run([sys.executable, "-c", LOWERED, json.dumps(list(drawn.items()))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for kind, (soft, hard) in json.loads(done.stdout).items():
        share, graders_soft = own_namespace.RLIMIT_SHARES[int(kind)], drawn[int(kind)][0]
        wanted = share if graders_soft == resource.RLIM_INFINITY else min(share,
                                                                          graders_soft // 2)
        assert soft == hard == wanted, (kind, drawn[int(kind)], soft, hard)


# Run in the kernel: add as many keys to its session keyring as Linux lets it (each counted in
# the quota of the user who grades); print how many, or why none.
ADD_KEYS = r"""
import ctypes, errno
_libc = ctypes.CDLL(None, use_errno=True)
_added = 0
while _added < 300_000 and _libc.syscall(248, b"user", f"k{_added}".encode(), b"x" * 100, 100,
                                         ctypes.c_int(-3)) >= 0:  # add_key(..., @s)
    _added += 1
print(_added, errno.errorcode[ctypes.get_errno()])
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the snippet's call number is x86_64's")
def test_the_kernel_holds_no_key_of_the_graders_keyring_quota(bounded_kernel):
    """Keys are counted per user id whatever the namespace (20,000 bytes for a user, 25,000,000
    for root): a kernel adding keys until refused adds none (ENOSYS), and the grader adds one."""
    kernel, _ = bounded_kernel
    outcome = kernel.execute(ADD_KEYS, timeout=60)
    assert outcome.status == "ok", outcome.error
    assert outcome.output.split() == ["0", "ENOSYS"]
    grader = ctypes.CDLL(None, use_errno=True)
    key = grader.syscall(248, b"user", b"llmf-probe", b"x" * 100, 100, ctypes.c_int(-3))
    assert key >= 0, errno.errorcode[ctypes.get_errno()]
    assert grader.syscall(250, 3, ctypes.c_long(key)) == 0  # keyctl(KEYCTL_REVOKE, key)


def verdict(instructions: list[tuple[int, int, int, int]], abi: int, number: int) -> int:
    """What a classic-BPF seccomp program returns for a call (`number`, made through `abi`):
    the loads, jumps and returns syscall_filter writes, read as Linux reads them."""
    at, accumulator = 0, 0
    fields = {syscall_filter.NUMBER_AT: number, syscall_filter.ABI_AT: abi}
    while True:
        code, if_true, if_false, operand = instructions[at]
        if code == syscall_filter.RETURN:
            return operand
        if code == syscall_filter.LOAD_WORD:
            accumulator, at = fields[operand], at + 1
            continue
        holds = accumulator == operand if code == syscall_filter.JUMP_IF_EQUAL \
            else accumulator >= operand
        at += 1 + (if_true if holds else if_false)


@settings(max_examples=500, deadline=None)
@given(machine=st.sampled_from(sorted(syscall_filter.NATIVE)), data=st.data())
def test_the_filter_refuses_exactly_the_keyring_calls_and_every_other_abi(machine, data):
    """Any call through any ABI, on each machine the filter knows: refused (ENOSYS) if it is a
    keyring call of the machine's own ABI, or made through another ABI, else allowed."""
    abi, foreign_from, refused = syscall_filter.NATIVE[machine]
    calls = st.sampled_from(sorted(refused.values())).flatmap(
        lambda number: st.sampled_from([number - 1, number, number + 1]))
    number = data.draw(calls | st.integers(0, 2**32 - 1) | st.integers(0, 1024))
    through = data.draw(st.just(abi) | st.integers(0, 2**32 - 1))
    wanted = syscall_filter.REFUSE if (
        through != abi or number in refused.values()
        or (foreign_from is not None and number >= foreign_from)) else syscall_filter.ALLOW
    assert verdict(syscall_filter.program(machine), through, number) == wanted


# bubblewrap's options that decide which namespaces it makes, as grader.sandbox gives them
NAMESPACE_OPTIONS = ["--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent",
                     "--cap-drop", "ALL"]
TRY_USER_NAMESPACE = ("import ctypes, errno\n_libc = ctypes.CDLL(None, use_errno=True)\n"
                      "print('made' if _libc.unshare(0x10000000) == 0 "
                      "else errno.errorcode[ctypes.get_errno()])")
UNPRIVILEGED = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


@pytest.mark.skipif(not (bwrap_works() and own_namespace.works()),
                    reason="needs bubblewrap and user namespaces")
def test_a_grader_that_is_not_root_starts_the_sandbox_in_its_own_namespace(tmp_path,
                                                                          monkeypatch):
    """Not as root, bubblewrap makes two user namespaces to mount /dev (the first maps the user to
    root, the second back): the sandbox's own namespace lets it make both, and the kernel no
    further one. Run as the user nobody, on the system's Python, when the tests run as root."""
    command = sandbox.bwrap_command(tmp_path, [], ["true"])
    assert all(option in command for option in NAMESPACE_OPTIONS)
    as_user = UNPRIVILEGED if os.geteuid() == 0 else []
    if as_user:
        if not (shutil.which("setpriv") and Path("/usr/bin/python3").exists()):
            pytest.skip("needs setpriv and /usr/bin/python3 to run as an unprivileged user")
        monkeypatch.setattr(sys, "executable", "/usr/bin/python3")
    inner = ["bwrap", "--ro-bind", "/", "/", *NAMESPACE_OPTIONS, sys.executable, "-c",
             TRY_USER_NAMESPACE]
    done = subprocess.run([*as_user, *own_namespace.command(inner)], capture_output=True,
                          text=True, timeout=60, cwd=Path(own_namespace.__file__).parents[2])
    if "Permission denied" in done.stderr:
        pytest.skip(f"the user nobody cannot read this checkout: {done.stderr}")
    assert (done.returncode, done.stdout.strip()) == (0, "ENOSPC"), done.stderr


def test_the_kernels_ipc_objects_are_its_own(bounded_kernel):
    """SysV shared memory, semaphores and message queues, and POSIX message queues, live in the
    IPC namespace, with its own maxima (kernel.shmmni, msgmni, sem, fs.mqueue.*): the kernel's
    is not the grader's, so what it makes there the grader neither sees nor runs short of."""
    kernel, _ = bounded_kernel
    outcome = kernel.execute("import os\nprint(os.readlink('/proc/self/ns/ipc'))", timeout=30)
    assert outcome.status == "ok", outcome.error
    assert outcome.output.strip() != os.readlink("/proc/self/ns/ipc")


def test_the_sample_60000_files_in_the_kernels_own_folder_stay_on_no_disk(bounding):
    """The sample: a notebook that wrote 757 MB in 60,000 files into the folder of its connection
    file. That folder is now the grader's small tmpfs: the writes stop at its bound, the grader
    goes on, and nothing is left once the kernel stops."""
    write = ("import os\nfrom ipykernel.connect import get_connection_file\n"
             "folder, written = os.path.dirname(get_connection_file()), 0\n"
             "try:\n"
             "    for index in range(60_000):\n"
             "        with open(os.path.join(folder, f'junk{index}'), 'wb') as handle:\n"
             "            handle.write(b'x' * 12_600)\n"
             "        written += 1\n"
             "except OSError as error:\n"
             "    print(written, error.errno)\n")
    kernel = started(BOUNDED, bounding)
    runtime = kernel.runtime
    outcome = kernel.execute(write, timeout=60)
    written, error = map(int, outcome.output.split())
    assert written * 12_600 <= SOCKETS_BYTES and error == 28  # ENOSPC
    assert kernel.execute("print(1 + 1)", timeout=30).output == "2\n"
    kernel.stop()
    assert not [point for point in mounts.mount_points() if str(point).startswith(str(runtime))]
    assert not runtime.exists()


FILL_EVERY_PLACE = r"""
import os as _os
for _line in open('/proc/self/mountinfo'):
    _point = _line.split()[4]
    if ' - tmpfs ' in _line and _os.access(_point, _os.W_OK):
        try:
            for _i in range(20_000):  # twice the files a place may hold
                with open(f'{_point}/junk{_i}', 'wb') as _f:
                    _f.write(b'x' * 100)
        except OSError:
            pass
"""


@needs_mounts
def test_a_class_with_a_notebook_filling_every_writable_place_is_graded_and_leaves_nothing(
        tmp_path):
    """One student's answer first writes up to 20,000 files into every place it can write to:
    every student is graded as their answers deserve, and no mount or file is left."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    assert main(["--course", str(root), "release", "--notebooks", str(tmp_path / "nb")]) == 0
    folder = tmp_path / "subs"
    folder.mkdir()
    correct = synthetic.correct_answers(SOURCE)
    filler = dict(correct, linear_answer=FILL_EVERY_PLACE + correct["linear_answer"])
    for student, answers in (("ada", correct), ("eve", filler)):
        nbformat.write(synthetic.student_notebook(SOURCE, answers),
                       str(folder / f"{student}_fx_basics.ipynb"))
    assert main(["--course", str(root), "collect", "fx_basics", str(folder)]) == 0
    with private_tmp() as tmp:
        grader, err = grading(root, "-j", "1", *FAST, tmp=tmp)
        assert grader.returncode == 0, err[-2000:]
        assert_nothing_left(grader.pid, tmp)
    assert not [point for point in mounts.mount_points() if str(point).startswith(str(tmp))]
    for student in ("ada", "eve"):
        result = json.loads(Course(root).result(student, "fx_basics", "fx_basics").read_text())
        assert result["scores"]["linear_test"][0] == 2.0, (student, result)


def test_without_mounts_or_user_namespaces_bubblewrap_bounds_bytes_and_the_grader_says_so(
        tmp_path, capsys, monkeypatch):
    """The fallback, where no tmpfs can be mounted (not root, and user namespaces disabled):
    bubblewrap's tmpfs of tmpfs_mb for each writable place, /dev still read-only, and one
    warning naming what is not bounded."""
    monkeypatch.setattr(sandbox, "writable_mode", lambda: BYTES_ONLY)
    sandbox.warn_files_unbounded.cache_clear()
    runtime = tmp_path / "kernel"
    runtime.mkdir()
    sandbox.prepare_writable(runtime, BOUNDED)
    assert list(runtime.iterdir()) == []  # nothing mounted
    for _ in range(2):
        command = sandbox.bwrap_command(runtime, [], ["true"], tmpfs_mb=8)
    for place in ("/tmp", HOME, "/dev/shm"):
        at = command.index(place)
        assert command[at - 3:at] == ["--size", str(8 * 2**20), "--tmpfs"]
    assert command[command.index("/dev/shm") + 1:command.index("/dev/shm") + 3] == [
        "--remount-ro", "/dev"]
    assert capsys.readouterr().err.count("bounded in bytes but not in files") == 1


def test_hidden_message_flood_is_bounded_while_reading():
    """200 MB of forged hidden-case messages: the grader keeps max_hidden_kb of them and its
    own memory stays flat."""
    flood = (
        "from IPython.display import publish_display_data\n"
        "for _ in range(400):\n"
        f"    publish_display_data({{{HIDDEN_MIME!r}: {{'name': 'x', "
        "'cases': [{'value': 'a' * 500_000}]}})\n"
        "print('sent')\n"
    )
    me = psutil.Process()
    with SandboxedKernel(LIMITS) as kernel:
        before = me.memory_info().rss
        outcome = kernel.execute(flood, timeout=60)
        grown = me.memory_info().rss - before
        assert outcome.status == "ok" and "sent" in outcome.output
        assert HIDDEN_DROPPED in outcome.output
        assert 0 < sum(len(json.dumps(h)) for h in outcome.hidden) <= LIMITS.max_hidden_kb * 1024
        assert grown < 100 * 2**20, f"the grader grew by {grown >> 20} MB"
        again = kernel.execute(flood, timeout=60)  # the notebook's budget is spent
        assert again.hidden == [] and HIDDEN_DROPPED in again.output


def test_ctrl_c_stops_grading_within_seconds_keeps_grades_and_leaves_nothing(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    assert main(["--course", str(root), "release", "--notebooks", str(tmp_path / "nb")]) == 0
    folder = tmp_path / "subs"
    folder.mkdir()
    slow = synthetic.attacked_answers(SOURCE, "ignores_interrupts")
    for index in range(12):
        answers = synthetic.correct_answers(SOURCE) if index % 2 else slow
        nbformat.write(synthetic.student_notebook(SOURCE, answers),
                       str(folder / f"s{index:02d}_fx_basics.ipynb"))
    assert main(["--course", str(root), "collect", "fx_basics", str(folder)]) == 0
    with private_tmp() as tmp:
        grader = grading_in_background(root, "-j", "2", *FAST, capture=True, tmp=tmp)
        time.sleep(1.0)  # kernels are mid-cell now
        interrupted = time.monotonic()
        os.killpg(grader.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = grader.communicate(timeout=60)
        assert_nothing_left(grader.pid, tmp)
    took = time.monotonic() - interrupted
    print(f"Ctrl-C stopped the grading run in {took:.2f} s")
    assert grader.returncode == 130, err
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    assert "interrupted" in out and "every grade recorded so far is kept" in err
    recorded = list(root.glob("autograded/*/*/*.result.json"))
    assert 1 <= len(recorded) < 12
    for path in recorded:
        assert json.loads(path.read_text())["status"] in ("needs_manual_grading", "timed_out")


MESSAGE = st.one_of(
    st.tuples(st.just("stream"), st.integers(0, 50_000)),
    st.tuples(st.just("display_data"), st.integers(0, 3 * 2**20)),  # hidden-case reports
    st.tuples(st.just("execute_result"), st.integers(0, 50_000)),
)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.lists(MESSAGE, max_size=40), min_size=1, max_size=4))
def test_what_the_grader_keeps_is_bounded_per_cell_and_per_notebook(cells):
    """Any stream of kernel messages: a cell's output stays within max_output_chars (plus the
    truncation notes), its hidden data within max_hidden_kb, the notebook's within its budget."""
    limits = Limits(max_output_chars=20_000, max_hidden_kb=4096)
    budget = HiddenBudget(limits.max_hidden_kb * 1024)
    kernel = SandboxedKernel(limits, budget=budget)
    kernel.alive = lambda: True
    kept_total = 0
    for cell in cells:
        stream = []
        for kind, size in cell:
            if kind == "display_data":
                content = {"data": {HIDDEN_MIME: {"size": size}}}
            elif kind == "stream":
                content = {"text": "x" * size}
            else:
                content = {"data": {"text/plain": "y" * size}}
            stream.append(({"msg_type": kind, "content": content,
                            "parent_header": {"msg_id": "m"}}, size))
        stream.append(({"msg_type": "status", "content": {"execution_state": "idle"},
                        "parent_header": {"msg_id": "m"}}, 10))
        kernel._next_message = lambda timeout, stream=stream: stream.pop(0)
        outcome = kernel._collect("m", time.monotonic() + 60)
        kept = sum(report["size"] for report in outcome.hidden)
        kept_total += kept
        assert kept <= limits.max_hidden_kb * 1024
        notes = len("\n[output truncated]\n") + len(HIDDEN_DROPPED)
        assert len(outcome.output) <= limits.max_output_chars + notes
    assert kept_total <= limits.max_hidden_kb * 1024
