"""The process-wide state a learner's function may change, put back as it was after each call.

A learner's function runs in the learner's own kernel, where whatever it changes in the process
stays changed for the check that called it and for every cell after: numpy's error handling
(`np.seterr(all="raise")` makes a check's own arithmetic raise), its print options, the working
directory, the standard streams, the warnings filters, the recursion limit, the random streams,
the trace function... `kept_as_found()` wraps each call of a learner's code: it takes a snapshot
of every setting in SETTINGS before, and puts each back after, however the call ended.

Two kinds of state are handled apart:

- the global random streams (numpy's legacy `np.random` and Python's `random`): the call gets
  streams of its own, freshly seeded for each call, and the notebook's streams are put back
  after it. So a function that draws random numbers draws different ones on each call, as it
  would under the grader (a check can see that it samples), and a function that seeds them
  (`np.random.seed(0)`) does not make the rest of the notebook draw the same numbers again;
- a request to shut the kernel down: IPython's `exit()` and `quit()` do not raise, they ask the
  shell to exit once the cell ends, which stops the learner's kernel. Inside the block they
  raise SystemExit instead, as in a plain Python program, and the check fails saying that the
  function called exit();
- a request for the learner's input: `input()`, or a debugger such as `pdb.set_trace()`, which
  reads its commands with it, would wait in the notebook for a reply until the time limit
  stopped it, and the check would blame an endless loop. Inside the block `input` raises
  InputRequested. (In a kernel `breakpoint()` stops only when JupyterLab's debugger is on.)
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import os
import random
import signal
import sys
import threading
import warnings

import numpy as np


def _set_sys(name: str):
    """A function that binds `sys.<name>` to the value it is given."""
    return lambda value: setattr(sys, name, value)


def _set_collecting(enabled: bool) -> None:
    """Switch the garbage collector on or off."""
    gc.enable() if enabled else gc.disable()


# name -> (read the setting, put a value read back); warnings filters are kept apart
# (warnings.catch_warnings), as are the random streams and the shell's exit.
SETTINGS = {
    "numpy's error handling": (np.geterr, lambda errors: np.seterr(**errors)),
    "numpy's error callback": (np.geterrcall, np.seterrcall),
    "numpy's print options": (np.get_printoptions, lambda options: np.set_printoptions(**options)),
    "the working directory": (os.getcwd, os.chdir),
    "sys.stdout": (lambda: sys.stdout, _set_sys("stdout")),
    "sys.stderr": (lambda: sys.stderr, _set_sys("stderr")),
    "sys.stdin": (lambda: sys.stdin, _set_sys("stdin")),
    "sys.displayhook": (lambda: sys.displayhook, _set_sys("displayhook")),
    "sys.excepthook": (lambda: sys.excepthook, _set_sys("excepthook")),
    "the recursion limit": (sys.getrecursionlimit, sys.setrecursionlimit),
    "the trace function": (sys.gettrace, sys.settrace),
    "the profile function": (sys.getprofile, sys.setprofile),
    "the garbage collector": (gc.isenabled, _set_collecting),
}
if threading.current_thread() is threading.main_thread():  # signal handlers: the main thread's
    SETTINGS["the Ctrl-C handler"] = (lambda: signal.getsignal(signal.SIGINT),
                                      lambda handler: signal.signal(signal.SIGINT, handler))

_SEEDS = np.random.default_rng()  # seeds of the streams each call gets (the OS's entropy)


@contextlib.contextmanager
def kept_as_found():
    """Run the block with fresh random streams and exit() refused, then put every setting of
    SETTINGS, the warnings filters and the random streams back as they were before it."""
    saved = {name: read() for name, (read, _) in SETTINGS.items()}
    numpy_stream, python_stream = np.random.get_state(), random.getstate()
    try:
        with warnings.catch_warnings(), _exit_refused(), _input_refused():
            np.random.seed(int(_SEEDS.integers(2**32)))
            random.seed(int(_SEEDS.integers(2**63)))
            yield
    finally:
        for name, (read, put_back) in SETTINGS.items():
            if _changed(read(), saved[name]):
                put_back(saved[name])
        np.random.set_state(numpy_stream)
        random.setstate(python_stream)


def _changed(now, before) -> bool:
    """Whether a setting differs from its snapshot. One that did not change is not set again:
    a profiler or tracer written in C (cProfile, coverage) reads back as an object that
    `sys.setprofile`/`sys.settrace` would install as a Python function, which it is not."""
    if now is before:
        return False
    try:
        return bool(now != before)
    except Exception:  # noqa: BLE001 - an object a learner's code put there may compare anyhow
        return True


class InputRequested(RuntimeError):
    """Raised by `input()` in a learner's function that a check runs."""


@contextlib.contextmanager
def _input_refused():
    """Make the built-in `input` raise InputRequested in the block; put back the one that was
    there (a notebook's kernel puts its own there for each cell)."""
    own = builtins.input

    def refuse_input(*prompt):
        raise InputRequested("input() called")

    builtins.input = refuse_input
    try:
        yield
    finally:
        builtins.input = own


def _refuse_exit(*args, **kwargs):
    raise SystemExit("exit() called")


@contextlib.contextmanager
def _exit_refused():
    """In an IPython shell, make `exit()`/`quit()` (the shell's `ask_exit`) raise SystemExit in
    the block; put back after it the shell's own method and what exit() set on the shell."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        yield
        return
    own = {name: vars(shell)[name] for name in ("ask_exit", "keepkernel_on_exit")
           if name in vars(shell)}
    shell.ask_exit = _refuse_exit
    try:
        yield
    finally:
        for name in ("ask_exit", "keepkernel_on_exit"):
            if name in own:
                setattr(shell, name, own[name])
            else:
                vars(shell).pop(name, None)
