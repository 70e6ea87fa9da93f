"""Python's parser for the grader, safe in threads.

CPython 3.11 before 3.11.8 keeps the AST constructor's recursion depth in state shared by the
threads of a process (CPython issue 106905): a parse that runs while another thread builds an
AST can fail with "SystemError: AST constructor recursion depth mismatch". A Dask worker grades
notebooks in threads, and its other threads parse too (Python 3.11's traceback module parses a
line to place its carets when a connection error is logged). So the grader's parses take a lock
(no two of them at once) and a parse that meets the mismatch is done again: the next parse
starts from a fresh depth.

>>> type(parse("x = 1").body[0]).__name__
'Assign'
"""

from __future__ import annotations

import ast
import threading

_PARSER = threading.Lock()
MISMATCH = "AST constructor recursion depth mismatch"
ATTEMPTS = 5


def parse(source: str) -> ast.Module:
    """ast.parse(source), with no other grader thread parsing meanwhile, done again (up to
    ATTEMPTS times) when another thread's parse upset the shared recursion depth."""
    with _PARSER:
        for _ in range(ATTEMPTS - 1):
            try:
                return ast.parse(source)
            except SystemError as error:
                if MISMATCH not in str(error):
                    raise
        return ast.parse(source)


def check_syntax(source: str, filename: str) -> None:
    """Raise SyntaxError (or ValueError) if `source` does not compile, as compile() does."""
    with _PARSER:
        compile(source, filename, "exec")
