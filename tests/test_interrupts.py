"""Ctrl-C while grading is a flag the waiting loops read (autograder.interrupts), so it cannot be
lost where Python's own KeyboardInterrupt can: in a garbage-collector callback, where it is
printed as "Exception ignored" and dropped."""

import gc
import os
import signal

import pytest

from autograder import interrupts


@pytest.fixture
def ctrl_c_during_garbage_collection():
    """Pressing Ctrl-C while a gc callback runs (Dask installs one): the signal handler runs inside
    the callback."""

    def callback(phase, info):
        if phase == "start":
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(10_000))  # the handler runs here, between two bytecodes of the callback

    gc.callbacks.append(callback)
    yield
    gc.callbacks.remove(callback)


def test_caught_ctrl_c_in_a_gc_callback_stops_the_next_check(ctrl_c_during_garbage_collection):
    with interrupts.caught():
        gc.collect()
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()


def test_without_ctrl_c_check_passes_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with interrupts.caught():
        interrupts.check()
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_an_earlier_run_s_ctrl_c_does_not_stop_the_next_run():
    with interrupts.caught():
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))
    with interrupts.caught():
        interrupts.check()
