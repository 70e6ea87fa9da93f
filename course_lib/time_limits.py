"""A time limit on a block of code that the code inside cannot outlive by catching its exception.

`time_limit(seconds)` raises TimeLimitExceeded in the code of its `with` block once `seconds`
have passed. A learner's code may catch it: `except:` and `except BaseException:` catch
everything, and a `finally:` holding `continue` or `return` drops whatever it was raising. So
from the moment the limit has passed until the block ends, the exception is raised again

- every RETRY seconds, from a timer signal (this also ends a `time.sleep` or a blocking read);
- at every line that starts to run in a frame the block called, at any depth: a trace function
  (`sys.settrace`, and each running frame's `f_trace`, from the signal's frame up to the frame
  that entered the block) raises it. Each handler or `finally` body raises again the moment its
  first line starts, so the exception leaves every `try` of the learner's code, however nested,
  and every loop and recursion around it.

Python unsets a trace function that raises (as if `sys.settrace(None)`, and the frame's own
`f_trace` cleared); the tracer of each frame is therefore an object that, when Python drops it,
sets the tracing up again at once (`_LineTracer.__del__`, run by CPython as the reference goes,
before the frame runs another instruction). Tested on CPython 3.11 to 3.13; on 3.10 the tracing
is not set up and only the signal's raises remain (TRACES_LINES). The one program that hung on
3.10 hangs there with or without the tracing: a loop whose body starts with `try`, spinning
(`while True: try: pass except: pass`). CPython 3.10 runs signal handlers, pending calls and
the GIL's hand-over only where its eval loop checks for them, in that loop only after the
backward JUMP_ABSOLUTE, and skips them when the next instruction is SETUP_FINALLY (which a
`try` starts with, until 3.11's zero-cost exceptions): the timer's signal is never handled, so
no raise and no tracing ever begins, and no other thread can run to set it up (nor can the
learner's own interrupt stop the loop). Only a tracer set before the loop could, at the cost of
a Python call at every line of every function. So on 3.10 the tracing cannot make the tests
pass, though it is not what fails (of 60 programs the nesting property drew, with the tracing
on, 33 stopped and the 27 that hung each loop back to a `try`; with it off, 35 hung):
tests/test_time_limits.py holds the cause on each 3.10 the machine has.

The frame that entered the block is never traced: its own `with` statement must reach
`__exit__`. When the block ends, `__exit__` stops the timer, puts back the signal handler, the
timer and the trace function that were there before (a debugger's), and, if the limit passed,
raises TimeLimitExceeded even when the block swallowed it and returned normally or raised
something else instead: a block that outlived its limit always ends with TimeLimitExceeded (a
KeyboardInterrupt, someone stopping the cell, is kept).

What still cannot be interrupted: a loop inside C code that never returns to Python and never
checks for signals (numpy's work on a huge array, `sum(itertools.count())`, a regular
expression that backtracks without end) runs to its own end before the next raise; so does code
in another thread. The limit works only in the main thread of a system with timer signals (a
notebook's kernel is one); elsewhere it sets no limit.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time

RETRY = 0.05  # seconds after which an expired time limit raises again from its timer signal
# where the tracing is tested to stop every program of tests/test_time_limits.py (3.10: the
# module's docstring, a loop back to a `try` that no signal can stop)
TRACES_LINES = sys.version_info >= (3, 11)


class TimeLimitExceeded(BaseException):
    """Raised in a block that ran too long; a BaseException, so that the learner's own
    `except Exception` does not catch it."""


def _raise_at_line(limit: time_limit, frame, event: str, arg):
    """The trace function of a frame inside an expired limit's block: TimeLimitExceeded at every
    line; None (keep tracing) for other events and once the block has ended."""
    if event == "line" and limit.expired and not limit.ended:
        raise TimeLimitExceeded
    return None


class _LineTracer(functools.partial):
    """A frame's `f_trace`: `_raise_at_line` with its limit. Python drops it when it raised (and
    switches tracing off); its finalizer then sets the tracing of its frame and the frames
    above it up again. It holds its frame itself: the call of `_raise_at_line` does not hold
    the tracer, so the traceback of the exception does not keep it alive."""

    def __del__(self):
        limit, frame = self.args[0], self.frame
        if limit.expired and not limit.ended:
            limit._trace_from(frame)


class time_limit:  # noqa: N801 - a context manager, named as the function it replaces
    """Raise TimeLimitExceeded in the code of the `with` block after `seconds` (see the module's
    docstring for how it is raised again until the block ends). A timer already running
    outside is put back, less the time spent inside. Put it innermost of a `with` of several
    context managers: the others' exits then run after it has stopped raising.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = (threading.current_thread() is threading.main_thread()
                      and hasattr(signal, "setitimer"))
        self.expired = self.ended = False

    def __enter__(self):
        if self.armed:
            self.owner = sys._getframe(1)  # the frame that runs the `with` statement
            self.tracer_before = sys.gettrace()
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            self.outer = signal.setitimer(signal.ITIMER_REAL, self.seconds, RETRY)
            self.started = time.monotonic()
        return self

    def _expired(self, signum, frame):
        if frame is None or frame.f_code in _OWN_CODE:
            return  # in this class's own code (taking the limit away, or tracing)
        self.expired = True
        if TRACES_LINES:
            self._trace_from(frame)
        raise TimeLimitExceeded

    def _trace_from(self, frame) -> None:
        """Trace every frame from `frame` up to the one that entered the block (not that one),
        and every frame called from now on."""
        sys.settrace(self._on_call)
        while frame is not None and frame is not self.owner:
            if type(frame.f_trace) is not _LineTracer and frame.f_code not in _OWN_CODE:
                frame.f_trace = self._tracer(frame)
            frame = frame.f_back

    def _tracer(self, frame) -> _LineTracer:
        tracer = _LineTracer(_raise_at_line, self)
        tracer.frame = frame
        return tracer

    def _on_call(self, frame, event: str, arg):
        """The global trace function: a new frame gets its line tracer (not this class's own)."""
        if self.ended or frame.f_code in _OWN_CODE:
            return None
        return self._tracer(frame)

    def __exit__(self, kind, error, traceback) -> bool:
        if not self.armed:
            return False
        self.ended = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        if self.expired:
            sys.settrace(self.tracer_before)
        remaining, interval = self.outer
        if remaining:
            spent = time.monotonic() - self.started
            signal.setitimer(signal.ITIMER_REAL, max(remaining - spent, 1e-3), interval)
        self.owner = None
        if self.expired and kind is not TimeLimitExceeded and \
                not (kind is not None and issubclass(kind, KeyboardInterrupt)):  # fmt: skip
            raise TimeLimitExceeded  # the block caught it and ended otherwise
        return False


_OWN_CODE = frozenset({time_limit._expired.__code__, time_limit._trace_from.__code__,
                       time_limit._tracer.__code__, time_limit._on_call.__code__,
                       time_limit.__exit__.__code__, _LineTracer.__del__.__code__,
                       _raise_at_line.__code__})
