"""A cell's exception reported in a bounded size (in the kernel, installed at its start).

A student's code can raise an exception whose message is 100 MB. IPython would format all of it
into the error message it sends, which is larger than the grader reads (Limits.max_message_kb):
the connection drops, the cell times out and the kernel is replaced. Installed as IPython's
handler for every Exception, `short_traceback` cuts a message longer than MAX_CHARS before it
is formatted, so the cell simply fails with its error, like any other. A student's code can
remove the handler; that changes only how its own errors are reported.
"""

from __future__ import annotations

MAX_CHARS = 20_000  # characters of an exception's message reported


def short_traceback(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """Show the exception as IPython does (the kernel sends it as the cell's error), its
    message cut to MAX_CHARS first; return the structured traceback shown."""
    from autograder.in_kernel.names import put_back_streams

    put_back_streams()  # the traceback is written through them
    message = str(value)
    if len(message) > MAX_CHARS:
        value.args = (f"{message[:MAX_CHARS]}... [{len(message):,} characters in all]",)
    shown = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, shown)
    return shown


def install() -> bool:
    """Make `short_traceback` IPython's handler for every Exception."""
    from IPython import get_ipython

    get_ipython().set_custom_exc((Exception,), short_traceback)
    return True
