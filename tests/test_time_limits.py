"""course_lib.time_limits: a block that catches the limit's exception still ends.

Each program runs in a subprocess of its own, with a generous outer timeout, so that a program
the limit fails to stop fails its test instead of hanging the suite. What is asserted is what
the block ended with (TimeLimitExceeded, the trace function put back), not how long it took.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIMIT = 0.1  # seconds each program's block may run
OUTER_TIMEOUT = 60  # seconds a subprocess may run before the program counts as never stopped

RUNNER = textwrap.dedent("""
    import sys
    from course_lib.time_limits import TimeLimitExceeded, time_limit

    sys.unraisablehook = lambda unraisable: None  # an exception dropped in a finalizer: go on
    namespace = {}
    exec(sys.stdin.read(), namespace)
    def debugger(frame, event, arg):  # a tracer set before the block, to be put back after it
        return None
    sys.settrace(debugger)
    try:
        with time_limit(float(sys.argv[1])):
            namespace["endless"]()
    except TimeLimitExceeded:
        print("stopped", sys.gettrace() is debugger)
    else:
        print("returned")
""")


def ending_of(program: str, python: str = sys.executable, setup: str = "",
              timeout: float = OUTER_TIMEOUT) -> str:
    """What the runner printed for `program` (which defines `endless()`), or "hung"; on
    `python`, after running `setup`."""
    try:
        run = subprocess.run([python, "-c", setup + RUNNER, str(LIMIT)], input=program,
                             text=True, capture_output=True, timeout=timeout, check=False,
                             cwd=Path(__file__).parents[1])
    except subprocess.TimeoutExpired:
        return "hung"
    return run.stdout.strip() or run.stderr.strip()[-2000:]


def indented(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def loop(body: list[str]) -> list[str]:
    return ["while True:", *indented(body)]


def try_except(body: list[str], caught: list[str]) -> list[str]:
    return ["try:", *indented(body), "except BaseException:", *indented(caught)]


def try_finally(body: list[str], final: list[str]) -> list[str]:
    return ["try:", *indented(body), "finally:", *indented(final)]


def try_all(body: list[str], caught: list[str], final: list[str]) -> list[str]:
    return ["try:", *indented(body), "except:", *indented(caught), "finally:", *indented(final)]


@functools.cache
def statements(in_loop: bool, depth: int = 3):
    """Lists of source lines, nested at most `depth` deep: a statement that never raises on its
    own, a loop that never ends, and try statements whose handlers swallow, loop, return,
    continue, break or recurse, and whose finally bodies swallow, loop or continue."""
    simple = st.sampled_from([["n += 1"], ["pass"]])
    if depth == 0:
        return simple
    inner = statements(in_loop, depth - 1)
    jumps = [["continue"], ["break"]] if in_loop else []
    # a handler runs only once the limit raised; a finally body runs every time, so it neither
    # returns, breaks nor recurses (the program would end before its limit)
    caught = st.one_of(st.sampled_from([["pass"], ["return n"], ["endless()"],
                                        ["while True:", "    pass"], *jumps]), inner)
    final = st.one_of(st.sampled_from([["pass"], ["while True:", "    pass"], *jumps[:1]]), inner)
    return st.one_of(
        simple,
        st.builds(loop, statements(True, depth - 1)),
        st.builds(try_except, inner, caught),
        st.builds(try_finally, inner, final),
        st.builds(try_all, inner, caught, final))


def program_of(body: list[str]) -> str:
    """A function that runs `body` in an endless loop (so that it never ends on its own)."""
    return "\n".join(["def endless():", "    n = 0", "    while True:",
                      *["        " + line for line in body], ""])


CAUGHT_EVERYWHERE = {
    "a bare except around an endless loop": """
        def endless():
            while True:
                try:
                    while True:
                        pass
                except:
                    pass
        """,
    "nested catching loops": """
        def endless():
            while True:
                try:
                    while True:
                        try:
                            pass
                        except BaseException:
                            pass
                except BaseException:
                    pass
        """,
    "a finally that continues": """
        def endless():
            while True:
                try:
                    while True:
                        pass
                finally:
                    continue
        """,
    "a finally that returns, in a loop of calls": """
        def step():
            try:
                while True:
                    pass
            finally:
                return 1
        def endless():
            while True:
                step()
        """,
    "recursion in the handler": """
        def endless(depth=0):
            try:
                while True:
                    pass
            except BaseException:
                return endless(depth + 1)
        """,
    "a handler that loops": """
        def endless():
            try:
                while True:
                    pass
            except BaseException:
                while True:
                    pass
        """,
    "a context manager that suppresses everything": """
        import contextlib
        def endless():
            while True:
                with contextlib.suppress(BaseException):
                    while True:
                        pass
        """,
    "a generator that catches what its consumer is stopped by": """
        def numbers():
            while True:
                try:
                    yield 1
                except BaseException:
                    pass
        def endless():
            while True:
                try:
                    for number in numbers():
                        pass
                except BaseException:
                    pass
        """,
    "a swallowed limit and a value returned": """
        def endless():
            try:
                while True:
                    pass
            except BaseException:
                return 42
        """,
}


def test_each_named_way_of_catching_the_limit_still_stops():
    for name, program in CAUGHT_EVERYWHERE.items():
        assert ending_of(textwrap.dedent(program)) == "stopped True", name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statements(in_loop=True), min_size=1, max_size=3))
def test_any_nesting_of_handlers_around_endless_loops_stops(body):
    """Whatever the nesting of try/except/finally, loops, continue, break, return and recursion
    around code that never ends, the block ends with TimeLimitExceeded and the trace function
    that was set before it."""
    program = program_of([line for statement in body for line in statement])
    assert ending_of(program) == "stopped True", program


def pythons_3_10() -> list[str]:
    """The CPython 3.10 interpreters of this machine (pyenv's, python3.10 on the PATH)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", "3.10.*", "bin", "python")))
    return found + [path for path in [shutil.which("python3.10")] if path]


def test_on_python_3_10_no_signal_reaches_a_loop_back_to_a_try():
    """Why TRACES_LINES is off on 3.10 (the module's docstring): CPython 3.10 never handles a
    signal in a loop whose backward jump lands on a `try` (its eval loop skips pending calls
    before SETUP_FINALLY), so the limit's first raise never comes and its tracing never starts:
    "nested catching loops" hangs with the tracing off and on alike, while a program whose
    spinning loop holds no `try` stops, once the tracing is on."""
    pythons = pythons_3_10()
    if not pythons:
        pytest.skip("no CPython 3.10 on this machine")
    tracing = "import course_lib.time_limits\ncourse_lib.time_limits.TRACES_LINES = True\n"
    back_to_a_try = textwrap.dedent(CAUGHT_EVERYWHERE["nested catching loops"])
    no_try_in_the_spin = textwrap.dedent(CAUGHT_EVERYWHERE["a bare except around an endless loop"])
    for python in pythons[:1]:
        assert ending_of(back_to_a_try, python, timeout=5) == "hung", python
        assert ending_of(back_to_a_try, python, tracing, timeout=5) == "hung", python
        assert ending_of(no_try_in_the_spin, python, tracing) == "stopped True", python
