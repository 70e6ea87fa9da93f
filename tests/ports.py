"""Ports for the servers a test starts, which no other process of the run can be handed meanwhile.

A port found free by binding port 0 comes from the kernel's ephemeral range, and the kernel hands
the same range out to every other process that binds port 0: Dask's scheduler and workers, Jupyter's
kernels, outgoing connections. Between the probe and the server's start, a Dask scheduler of a test
running beside it took such a port, and a test's JupyterLab then met Dask's wire protocol instead of
HTTP. A port below the ephemeral range goes only to who asks for it by number, and each pytest-xdist
worker draws from its own slice of those, so no two tests of a run draw the same port either.

Example:
    port = free_port()  # e.g. 24_617 on worker gw1
    argv = [..., f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
"""

from __future__ import annotations

import itertools
import os
import re
import socket

EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
SLICE = 512  # ports per test worker
SLICES = 16  # test workers told apart; more wrap round and share a slice
_drawn = itertools.count()  # successive calls in one process move on through the slice


def ephemeral_low() -> int:
    """The lowest port the kernel hands out for port 0 (Linux's default range starts at 32768)."""
    try:
        with open(EPHEMERAL_RANGE, encoding="ascii") as limits:
            return int(limits.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def worker_slice() -> range:
    """This process's ports: a slice below the ephemeral range, by xdist worker (gw0, gw1...)."""
    worker = re.fullmatch(r"gw([0-9]+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    index = (int(worker.group(1)) if worker else SLICES) % (SLICES + 1)
    start = ephemeral_low() - (index + 1) * SLICE
    return range(start, start + SLICE)


def listening_possible(port: int) -> bool:
    """Whether a server could bind `port` on 127.0.0.1 now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of this worker's slice that nobody holds now; each call goes on to the next one."""
    ports = worker_slice()
    for _ in ports:
        port = ports[next(_drawn) % len(ports)]
        if listening_possible(port):
            return port
    raise RuntimeError(f"every port from {ports.start} to {ports.stop - 1} is taken")
