"""Take the per-user counts Linux bounds by resource limits: all a process may (a graded
kernel runs this module's text and holds them), or one unit (the grader and a classmate check
that they still can). Only the standard library and libc, so that a sandboxed kernel can run it.

    held = take_all()        # {count: how much this process took}, kept until release()
    take_one("sigpending")   # True if one more unit could be taken (and it is given back)
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import threading

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.shmat.restype = ctypes.c_void_p
_SIGNAL = signal.SIGRTMIN + 3
_IPC_PRIVATE, _IPC_CREAT, _IPC_RMID, _SHM_LOCK = 0, 0o1000, 0, 11
_QUEUE_MESSAGES, _MESSAGE_BYTES = 4, 1024  # a queue's payload: 4 KiB
_SEGMENT_BYTES = 64 * 1024
_held: dict[str, list] = {"sigpending": [], "msgqueue": [], "memlock": [], "inflight": []}


class _QueueAttributes(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("reserved", ctypes.c_long * 4)]


def _queue_signal() -> bool:
    """Queue one real-time signal to this thread, which blocks it (sent to the process, another
    thread would take it and die)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, [_SIGNAL])
    try:
        signal.pthread_kill(threading.get_ident(), _SIGNAL)
    except OSError:
        return False
    return True


def _open_queue(index: int) -> bool:
    """Make one POSIX message queue of _QUEUE_MESSAGES x _MESSAGE_BYTES."""
    name = f"/llmf-count-{os.getpid()}-{index}".encode()
    attributes = _QueueAttributes(0, _QUEUE_MESSAGES, _MESSAGE_BYTES, 0)
    handle = _LIBC.mq_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600,
                           ctypes.byref(attributes))
    if handle < 0:
        return False
    _held["msgqueue"].append((name, handle))
    return True


def _lock_segment() -> bool:
    """Make one SysV shared-memory segment of _SEGMENT_BYTES and lock it in memory."""
    segment = _LIBC.shmget(_IPC_PRIVATE, _SEGMENT_BYTES, _IPC_CREAT | 0o600)
    if segment < 0:
        return False
    _held["memlock"].append(segment)
    return _LIBC.shmctl(segment, _SHM_LOCK, None) == 0


def _send_descriptors() -> bool:
    """Put one more descriptor in flight: sent on a Unix socket, not yet received (a new
    socket pair when one's buffer is full)."""
    if not _held["inflight"]:
        _held["inflight"].append(socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
    sender = _held["inflight"][-1][0]
    sender.setblocking(False)
    try:
        socket.send_fds(sender, [b"x"], [sender.fileno()])
    except BlockingIOError:
        _held["inflight"].append(socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
        return _send_descriptors()
    except OSError:
        return False
    return True


def _take(count: str, index: int) -> bool:
    if count == "sigpending":
        taken = _queue_signal()
        if taken:
            _held["sigpending"].append(index)
        return taken
    if count == "inflight":
        return _send_descriptors()
    return _open_queue(index) if count == "msgqueue" else _lock_segment()


def _unit(count: str) -> int:
    return {"sigpending": 1, "msgqueue": _QUEUE_MESSAGES * _MESSAGE_BYTES,
            "memlock": _SEGMENT_BYTES, "inflight": 1}[count]


def take_all(most: int = 200_000) -> dict[str, int]:
    """Raise each limit to its hard limit, take units until refused (at most `most` each), and
    hold them: {count: signals queued, queues' payload bytes, bytes locked, descriptors in
    flight}."""
    for kind in (resource.RLIMIT_SIGPENDING, resource.RLIMIT_MSGQUEUE, resource.RLIMIT_MEMLOCK,
                 resource.RLIMIT_NOFILE):
        resource.setrlimit(kind, (resource.getrlimit(kind)[1],) * 2)
    taken = {}
    for count in _held:
        index = 0
        while index < most and _take(count, index):
            index += 1
        taken[count] = index * _unit(count)
    return taken


def release() -> None:
    """Give back everything take_all and take_one hold."""
    for _ in _held["sigpending"]:
        signal.sigtimedwait([_SIGNAL], 0)
    for name, handle in _held["msgqueue"]:
        os.close(handle)
        _LIBC.mq_unlink(name)
    for segment in _held["memlock"]:
        _LIBC.shmctl(segment, _IPC_RMID, None)
    for pair in _held["inflight"]:  # what is in flight is dropped with the receiving end
        for end in pair:
            end.close()
    for held in _held.values():
        held.clear()


def take_one(count: str) -> bool:
    """True if this process can take one more unit of `count` (given back at once)."""
    try:
        return _take(count, len(_held[count]))
    finally:
        release()
