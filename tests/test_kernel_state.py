"""course_lib.kernel_state through exercises.call: what a learner's function changes in the
process comes back as the check found it, and exit() leaves the learner's kernel running."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import random
import signal
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_client.manager import KernelManager

from course_lib import exercises, kernel_state
from course_lib.exercises import GENERAL_MEANINGS, call

SCRATCH = tempfile.gettempdir()  # a folder other than the one the tests run in

# A learner's way to change each setting of kernel_state.SETTINGS, and the state kept apart.
CHANGES = {
    "numpy's error handling": lambda: np.seterr(all="raise"),
    "numpy's error callback": lambda: np.seterrcall(lambda kind, flag: None),
    "numpy's print options": lambda: np.set_printoptions(precision=2, threshold=5),
    "the working directory": lambda: os.chdir(SCRATCH),
    "sys.stdout": lambda: setattr(sys, "stdout", io.StringIO()),
    "sys.stderr": lambda: setattr(sys, "stderr", io.StringIO()),
    "sys.stdin": lambda: setattr(sys, "stdin", io.StringIO()),
    "sys.displayhook": lambda: setattr(sys, "displayhook", lambda value: None),
    "sys.excepthook": lambda: setattr(sys, "excepthook", lambda *error: None),
    "the recursion limit": lambda: sys.setrecursionlimit(sys.getrecursionlimit() + 777),
    "the trace function": lambda: sys.settrace(lambda frame, event, arg: None),
    "the profile function": lambda: sys.setprofile(lambda frame, event, arg: None),
    "the garbage collector": gc.disable,
    "the Ctrl-C handler": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    "the warnings filters": lambda: warnings.simplefilter("error"),
    "numpy's random stream": lambda: np.random.seed(0),
    "Python's random stream": lambda: random.seed(0),
}


def observed() -> dict:
    """Every setting kernel_state keeps, as values that compare equal when nothing changed."""
    state = {name: read() for name, (read, _) in kernel_state.SETTINGS.items()}
    state["the warnings filters"] = list(warnings.filters)
    numpy_stream = np.random.get_state()
    state["numpy's random stream"] = (numpy_stream[1].tolist(), *numpy_stream[2:])
    state["Python's random stream"] = random.getstate()
    return state


def test_every_setting_kept_has_a_change_in_the_property():
    assert set(kernel_state.SETTINGS) <= set(CHANGES)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(CHANGES)), unique=True, min_size=1),
       st.sampled_from(["returns", "raises", "exits"]))
def test_what_a_learner_s_function_changes_comes_back(changed, ending):
    """Any subset of the settings, changed in any order by a function that then returns,
    raises or calls sys.exit(), is back as it was once call() is over."""
    before = observed()

    def learner_function():
        for name in changed:
            CHANGES[name]()
        if ending == "raises":
            raise ValueError("the learner's own error")
        if ending == "exits":
            sys.exit(1)
        return 1

    try:
        call(learner_function)
    except AssertionError:
        assert ending != "returns"
    after = observed()
    assert {name for name in before if before[name] != after[name]} == set()


def test_a_function_that_draws_random_numbers_draws_new_ones_on_each_call():
    """Each call has a fresh stream (a check can see that a function samples), and the
    notebook's stream is as it was."""
    before = np.random.get_state()[1].copy()
    draws = {call(lambda: float(np.random.random())) for _ in range(5)}
    assert len(draws) == 5
    assert np.array_equal(np.random.get_state()[1], before)


# ------------------------------------------------------------------ exit() in a real kernel

EXITING = """
from course_lib.exercises import call

def answer(tokens):
    print("bye")
    exit()
    return tokens

try:
    call(answer, [1, 2])
except AssertionError as error:
    print("CHECK FAILED:", error)
"""


def run_cell(client, code: str) -> str:
    """The text a cell printed (stdout and errors), once the kernel said it is idle."""
    message_id = client.execute(code)
    printed = []
    while True:
        message = client.get_iopub_msg(timeout=120)
        if message["parent_header"].get("msg_id") != message_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


@contextlib.contextmanager
def running_kernel():
    """A client of a fresh IPython kernel (ipc transport, in a private folder), shut down after
    the block."""
    with tempfile.TemporaryDirectory(prefix="llmf-kernel-") as ipc_dir:
        manager = KernelManager(kernel_name="python3", transport="ipc",
                                ip=str(Path(ipc_dir) / "kernel"),
                                connection_file=str(Path(ipc_dir) / "kernel.json"))
        manager.start_kernel()
        try:
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=120)
            yield manager, client
            client.stop_channels()
        finally:
            manager.shutdown_kernel(now=True)


def test_exit_in_a_learner_s_function_fails_the_check_and_the_kernel_stays_up():
    with running_kernel() as (manager, client):
        printed = run_cell(client, EXITING)
        assert f"CHECK FAILED: {GENERAL_MEANINGS['SystemExit']}" in printed, printed
        # the shell's exit would have stopped the kernel 0.1 s after the cell; a cell after it
        # still runs, in the same kernel (its names are still there)
        assert run_cell(client, "print('alive', callable(answer))") == "alive True\n"
        assert manager.is_alive()


ASKING = """
def answer(tokens):
    {asks}
    return tokens

try:
    call(answer, [1, 2])
except AssertionError as error:
    print("CHECK FAILED:", error)
"""


def test_a_function_that_asks_for_input_fails_the_check_saying_so_in_a_kernel():
    """input(), and pdb.set_trace(), whose debugger reads its commands with input(), would wait
    for a reply the check cannot give until the time limit blamed an endless loop."""
    with running_kernel() as (_, client):
        run_cell(client, "from course_lib.exercises import call")
        for asks in ("n = input('how many? ')", "import pdb; pdb.set_trace()"):
            printed = run_cell(client, ASKING.format(asks=asks))
            assert f"CHECK FAILED: {GENERAL_MEANINGS['InputRequested']}" in printed, printed


SWALLOWING = """
import course_lib.exercises
course_lib.exercises.TIME_LIMIT = 0.5

def answer(tokens):
    while True:
        try:
            while True:
                pass
        except:
            continue

try:
    call(answer, [1, 2])
except AssertionError as error:
    print("CHECK FAILED:", error)
"""


def test_an_endless_loop_inside_a_bare_except_is_stopped_in_a_kernel():
    """The kernel's check ends with the time limit's message, and the kernel runs the next cell
    with no trace function left behind."""
    with running_kernel() as (manager, client):
        run_cell(client, "from course_lib.exercises import call")
        printed = run_cell(client, SWALLOWING)
        assert printed == f"CHECK FAILED: {exercises.TOO_SLOW}\n"
        assert run_cell(client, "import sys\nprint(sys.gettrace())") == "None\n"
        assert manager.is_alive()


def test_a_function_that_asks_for_input_fails_the_check_saying_so():
    with pytest.raises(AssertionError) as caught:
        call(lambda: input("how many? "))
    assert str(caught.value) == GENERAL_MEANINGS["InputRequested"]


def test_a_profiler_written_in_c_running_around_a_check_keeps_running():
    """cProfile (and coverage's tracer) is a C object that sys.getprofile reads back but that
    sys.setprofile cannot install again (it is no Python function): a check run under it
    raised "'Profile' object is not callable" from the learner's function. Only a setting the
    call changed is put back."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        before = sys.getprofile()
        assert call(lambda x: np.asarray(x) * 2, np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]
        assert sys.getprofile() is before
    finally:
        profiler.disable()
