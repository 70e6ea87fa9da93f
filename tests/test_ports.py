"""Test servers' ports (tests/ports.py): none the kernel hands out, none two workers share."""

from __future__ import annotations

import socket

import ports
import pytest
from hypothesis import given
from hypothesis import strategies as st

workers = st.integers(min_value=0, max_value=ports.SLICES - 1)


@given(workers, workers)
def test_two_workers_never_draw_the_same_port(first, second):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_XDIST_WORKER", f"gw{first}")
        first_ports = set(ports.worker_slice())
        patch.setenv("PYTEST_XDIST_WORKER", f"gw{second}")
        second_ports = set(ports.worker_slice())
    assert (first_ports == second_ports) == (first == second)
    assert first == second or not first_ports & second_ports


@pytest.mark.parametrize("worker", ["gw0", "gw15", "", "main"])
def test_a_drawn_port_lies_below_what_port_0_is_given(monkeypatch, worker):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    with socket.socket() as handed_out:
        handed_out.bind(("127.0.0.1", 0))
        assert handed_out.getsockname()[1] >= ports.ephemeral_low()
    drawn = ports.free_port()
    assert 1024 <= drawn < ports.ephemeral_low()
    assert drawn in ports.worker_slice()


def test_a_port_somebody_holds_is_passed_over(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    held = ports.free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", held))
        holder.listen()
        assert not ports.listening_possible(held)
        assert all(ports.free_port() != held for _ in range(2 * ports.SLICE))
