"""A sandboxed IPython kernel the grader talks to, one code chunk at a time.

The kernel process runs inside the sandbox (autograder.grader.sandbox); the grader's client stays
outside and reads the kernel's messages itself, so outputs, errors and hidden-case values are
collected by trusted code. Kernel sockets are Unix-domain sockets in a private runtime folder
(ZeroMQ "ipc" transport): no TCP ports, so parallel graders never collide, and the kernel needs
no network at all.

What the grader holds while reading is bounded before it is read: ZeroMQ drops any message
larger than `Limits.max_message_kb` (ZMQ_MAXMSGSIZE) and queues at most RECEIVE_QUEUE of them;
the grader has no stdin or control channel, and drops each reply on the shell channel unread as
it comes (the student's code holds the kernel's sockets, and a reply the grader never read stayed
queued in the grader until the kernel stopped: 850 MB of them from one notebook);
a cell's printed output keeps `Limits.max_output_chars`, and hidden-case data past
`Limits.max_hidden_kb` for the cell, or for the whole notebook (a `HiddenBudget` shared by the
kernels of one run), is dropped and noted in the output.

    with SandboxedKernel(Limits()) as kernel:
        outcome = kernel.execute("print(1 + 1)", timeout=10)
        outcome.status, outcome.output     # ('ok', '2\\n')
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.session import Session

from autograder.grader import own_namespace
from autograder.grader.cgroups import SandboxGroup
from autograder.grader.pythons import KernelPython
from autograder.grader.sandbox import (
    OWN_NAMESPACE,
    Limits,
    prepare_writable,
    sandboxed_command,
    writable_mode,
)
from autograder.grader.scratch import remove_scratch, scratch_folder
from autograder.protocol import HIDDEN_MIME

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INTERRUPT_GRACE = 3.0
STARTUP_TIMEOUT = 60.0
MAX_SOCKET_PATH = 107  # bytes in a Unix socket's name (sockaddr_un.sun_path, less its NUL)
RECEIVE_QUEUE = 64  # messages ZeroMQ holds for the grader before it drops more (ZMQ_RCVHWM)
HIDDEN_DROPPED = "\n[hidden-case data over the grader's limit was dropped]\n"


class KernelStartError(RuntimeError):
    """The sandboxed kernel did not start (the sandbox or the environment is broken)."""


@dataclass
class Outcome:
    """What happened when one chunk of code ran.

    status: "ok", "error" (an exception), "timeout" or "died" (the kernel process ended).
    """

    status: str
    error: str = ""
    traceback: str = ""
    output: str = ""
    hidden: list = field(default_factory=list)
    seconds: float = 0.0


def _text(value) -> str:
    """A message field that should be text: itself if it is, else nothing."""
    return value if isinstance(value, str) else ""


def _command_name(pid: int) -> str:
    """The name of a process's command ("" if it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes from a traceback line."""
    return ANSI.sub("", text)


def descendants(pid: int) -> list[int]:
    """Process ids of all descendants of `pid` (read from /proc), parents before children."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                frontier.append(child)
    return found


def _listening(path: str) -> bool:
    """True if a Unix socket at `path` accepts a connection (which is closed at once)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def read_message(session: Session, frames: list[bytes]) -> dict | None:
    """One message from the kernel's frames, or None if it is not a well-formed message signed
    with the connection's key: its header, parent header and content dicts, its type a string.

    The kernel runs the student's code, which holds the key and the sockets: a message can be
    forged, unsigned, or hold JSON that no parser takes (nested 100,000 deep, an integer of
    6,000 digits). Such a message is dropped, never believed and never raised: it costs the
    student's cell at most what a message the kernel never sent costs."""
    try:
        _identities, frames = session.feed_identities(frames)
        message = session.deserialize(frames)
    except Exception:  # noqa: BLE001 - whatever the frames hold, they are only dropped
        return None
    if not (isinstance(message.get("parent_header"), dict)
            and isinstance(message.get("msg_type"), str)
            and isinstance(message.get("content"), dict)):
        return None
    return message


class HiddenBudget:
    """Bytes of hidden-case data the grader still keeps for one notebook."""

    def __init__(self, limit_bytes: int):
        self.left = limit_bytes

    def take(self, size: int) -> bool:
        """Spend `size` bytes if there are that many left."""
        if size > self.left:
            return False
        self.left -= size
        return True


class SandboxedKernel:
    """An IPython kernel in the sandbox, started on `start()` (or `with`), killed on `stop()`."""

    def __init__(self, limits: Limits, files: tuple[Path, ...] = (),
                 course_lib: Path | None = None, budget: HiddenBudget | None = None,
                 python: KernelPython | None = None):
        self.limits = limits
        self.python = python  # the Python it runs on (None: the grader's own)
        self.files = [Path(f).resolve() for f in files]
        self.course_lib = course_lib  # the course_lib view it imports (None: the real one)
        self.budget = budget or HiddenBudget(limits.max_hidden_kb * 1024)
        self.process: subprocess.Popen | None = None
        self.client: BlockingKernelClient | None = None
        self.runtime: Path | None = None
        self.group: SandboxGroup | None = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self) -> None:
        """Launch the kernel and wait until it answers."""
        self.runtime = scratch_folder("kernel-")
        # ZeroMQ names one socket per channel: "<...>/socket-5" is the longest, as the grader
        # reaches it (through /proc/<pid>/root when the sandbox mounts in its own namespace)
        longest_socket = (own_namespace.socket_path(2**22, self.runtime)
                          if writable_mode() == OWN_NAMESPACE else f"{self.runtime}/socket") + "-5"
        if len(os.fsencode(longest_socket)) > MAX_SOCKET_PATH:
            self.stop()
            raise KernelStartError(
                f"the temporary folder's path is too long for the kernel's sockets "
                f"({longest_socket}: over {MAX_SOCKET_PATH} bytes, the limit of a Unix socket's "
                f"name); set TMPDIR to a shorter folder, for example /tmp")
        try:
            prepare_writable(self.runtime, self.limits)
        except OSError as error:
            self.stop()
            raise KernelStartError(f"the sandbox's folders could not be made: {error}") from error
        connection_file = self.runtime / "kernel.json"
        write_connection_file(
            str(connection_file),
            ip=str(self.runtime / "socket"),
            transport="ipc",
            key=secrets.token_hex(32).encode(),
        )
        self.group = SandboxGroup(self.limits.sandbox_memory_bytes(), self.limits.max_processes,
                                  self.limits.cpus)
        argv, env, cwd = sandboxed_command(
            connection_file, self.runtime, self.files, self.limits, self.group, self.course_lib,
            self.python)
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, self.limits.max_message_kb * 1024)
        context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        context.setsockopt(zmq.RECONNECT_IVL, -1)  # connected once: see _wait_for_sockets
        self.client = BlockingKernelClient(context=context)
        self.client.load_connection_file(str(connection_file))
        if writable_mode() == OWN_NAMESPACE:  # the sockets are in the sandbox's own mounts
            self.client.ip = own_namespace.socket_path(self.process.pid, self.runtime)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            self._wait_for_sockets(deadline)
            # No heartbeat channel: under load a kernel can take more than the heartbeat's 1 s
            # to start, and the client then reports it dead while it is still booting. Liveness
            # is the process itself. No stdin or control channel: the grader asks for no input
            # and interrupts by a signal, and what the kernel sent there would stay queued.
            self.client.start_channels(hb=False, stdin=False, control=False)
            self._wait_until_ready(deadline)
        except KernelStartError:
            self.stop()
            raise

    def _socket_paths(self) -> list[str]:
        """The paths of the kernel's sockets the grader connects to (shell and IOPub)."""
        return [f"{self.client.ip}-{port}"
                for port in (self.client.shell_port, self.client.iopub_port)]

    def _wait_for_sockets(self, deadline: float) -> None:
        """Wait until the kernel listens on each socket the grader connects to.

        The socket folder is writable in the sandbox (the kernel binds its sockets there), so
        once student code runs a socket's path may be a link to any socket of the grading
        machine. The grader therefore connects once, now, before any student code, and never
        again (ZMQ_RECONNECT_IVL -1): a connection the kernel drops stays dropped, and the cell
        times out and the kernel is replaced, as for any kernel that stops answering."""
        for path in self._socket_paths():
            while not _listening(path):
                if self.process.poll() is not None:
                    raise KernelStartError(f"sandboxed kernel exited with code "
                                           f"{self.process.returncode} while starting")
                if time.monotonic() > deadline:
                    raise KernelStartError(f"sandboxed kernel did not listen within "
                                           f"{STARTUP_TIMEOUT:.0f} s")
                time.sleep(0.05)

    def _wait_until_ready(self, deadline: float) -> None:
        """Ask for kernel_info until the kernel answers on both channels, its process ends, or
        the `deadline` passes. The answer on the shell channel says the kernel runs; a status
        message on the IOPub channel says our subscription is live (until then the kernel's
        output, the end of a cell included, is dropped, and the first cell would seem to
        hang)."""
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise KernelStartError(f"sandboxed kernel exited with code {code} while starting")
            msg_id = self.client.kernel_info()
            try:
                while self.client.get_shell_msg(timeout=1)["parent_header"].get("msg_id") != msg_id:
                    pass
                self.client.get_iopub_msg(timeout=0.5)
                return
            except queue.Empty:
                continue
        raise KernelStartError(f"sandboxed kernel did not answer within {STARTUP_TIMEOUT:.0f} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def interrupt(self) -> None:
        """Kill every process the kernel started (a fork of it, a subprocess: whatever made the
        chunk run away, and no fork can go on as a second kernel), then send SIGINT to the
        kernel itself (not to the sandbox wrapper)."""
        if not self.alive():
            return
        kernel, *started = [pid for pid in [self.process.pid, *descendants(self.process.pid)]
                            if _command_name(pid) not in ("bwrap", "sh")] or [None]
        for pid, sent in [*((pid, signal.SIGKILL) for pid in started), (kernel, signal.SIGINT)]:
            try:
                if pid is not None:
                    os.kill(pid, sent)
            except OSError:
                pass  # already gone

    def execute(self, code: str, timeout: float, after: str = "") -> Outcome:
        """Run one chunk; on timeout interrupt it, and kill the kernel if it will not stop.

        after: an expression the kernel evaluates once the chunk has run without error (as an
        execute request's user expression: no input transformer touches it); its value is not
        read."""
        if not self.alive():
            return Outcome("died", error="the kernel is not running")
        started = time.monotonic()
        msg_id = self.client.execute(code, store_history=False, allow_stdin=False,
                                     user_expressions={"after": after} if after else None)
        outcome = self._collect(msg_id, started + timeout)
        if outcome.status == "timeout":
            self.interrupt()
            recovered = self._collect(msg_id, time.monotonic() + INTERRUPT_GRACE)
            outcome.output += recovered.output
            if recovered.status not in ("ok", "error"):
                self.stop()
        outcome.seconds = time.monotonic() - started
        return outcome

    def _next_message(self, timeout: float) -> tuple[dict | None, int]:
        """(the next IOPub message as `read_message` reads it, its size in bytes); raise
        queue.Empty if none came. Every reply waiting on the shell channel is dropped unread
        meanwhile (`_drop_replies`)."""
        channel = self.client.iopub_channel
        poller = zmq.Poller()
        poller.register(channel.socket, zmq.POLLIN)
        poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(int(left * 1000) + 1))
            self._drop_replies()
            if channel.socket in ready:
                frames = channel.socket.recv_multipart()
                return read_message(channel.session, frames), sum(map(len, frames))
        raise queue.Empty

    def _drop_replies(self) -> None:
        """Drop, unread, every message waiting on the shell channel: the grader reads no reply
        there once the kernel has started (a cell's end and output come on IOPub)."""
        shell = self.client.shell_channel.socket
        for _ in range(RECEIVE_QUEUE):  # at most a queue's worth: the caller's deadline holds
            if not shell.poll(0):
                return
            shell.recv_multipart(copy=False)

    def _collect(self, msg_id: str, deadline: float) -> Outcome:
        """Read messages of one execution until it finishes, the kernel dies or time is up."""
        outcome, output = Outcome("ok"), []
        budget = self.limits.max_output_chars
        hidden_left = self.limits.max_hidden_kb * 1024  # this cell's share
        while True:
            if time.monotonic() > deadline:
                outcome.status = "timeout"
                break
            try:
                message, size = self._next_message(timeout=0.1)
            except queue.Empty:
                if not self.alive():
                    outcome.status = "died"
                    break
                continue
            if message is None or message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "stream":
                output.append(_text(content.get("text")))
            elif kind == "error":
                outcome.status = "error"
                outcome.error = f"{_text(content.get('ename')) or 'Error'}: " \
                                f"{_text(content.get('evalue'))}"
                lines = content.get("traceback")
                lines = lines if isinstance(lines, list) else []
                outcome.traceback = "\n".join(strip_ansi(_text(t)) for t in lines)
            elif kind in ("display_data", "execute_result"):
                data = content.get("data")
                data = data if isinstance(data, dict) else {}
                if HIDDEN_MIME in data:
                    if size <= hidden_left and self.budget.take(size):
                        hidden_left -= size
                        outcome.hidden.append(data[HIDDEN_MIME])
                    elif HIDDEN_DROPPED not in output:
                        output.append(HIDDEN_DROPPED)
                elif "text/plain" in data:
                    output.append(str(data["text/plain"]) + "\n")
            if sum(map(len, output)) > budget:
                output = ["".join(output)[:budget], "\n[output truncated]\n"]
        outcome.output = "".join(output)[: budget + 40]
        return outcome

    def stop(self) -> None:
        """Kill the kernel and everything it started; remove its runtime folder."""
        if self.client is not None:
            context = self.client.context
            self.client.stop_channels()
            context.destroy(linger=0)
            self.client = None
        if self.process is not None:
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.process.wait()
            self.process = None
        if self.group is not None:
            self.group.remove()  # every process of the sandbox, setsid ones included
            self.group = None
        if self.runtime is not None:
            remove_scratch(self.runtime)
            self.runtime = None
