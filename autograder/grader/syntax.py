"""Python's parser for the grader, safe in threads, and source cut into lines as it cuts it.

CPython 3.11 before 3.11.8 keeps the AST constructor's recursion depth in state shared by the
threads of a process (CPython issue 106905): a parse that runs while another thread builds an
AST can fail with "SystemError: AST constructor recursion depth mismatch". A Dask worker grades
notebooks in threads, and its other threads parse too (Python 3.11's traceback module parses a
line to place its carets when a connection error is logged). So the grader's parses take a lock
(no two of them at once) and a parse that meets the mismatch is done again: the next parse
starts from a fresh depth.

Python's parser ends a line at \\n, \\r\\n or \\r only; `str.splitlines` also ends one at a form
feed, U+0085, U+2028 and five more characters that Python reads as part of a line (in a comment
or a string). Code the grader cuts into lines is cut by `source_lines`, so that an AST node's
`lineno` and a token's row name the line they are on, and the lines joined are the code.

>>> type(parse("x = 1").body[0]).__name__
'Assign'
"""

from __future__ import annotations

import ast
import re
import threading

# characters of one notebook the grader compiles or parses (to tell the student's prose from
# code, to cut cells into statements): a compile costs about 3 ms per 1,000 characters, so a
# notebook of 500 cells each just under MAX_PARSED_CHARS (100,000) cost 150 s at every read
MAX_NOTEBOOK_COMPILED = 1_000_000

_PARSER = threading.Lock()
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # a line as Python's parser ends it
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


class CompileBudget:
    """What of one notebook the grader may still compile or parse (MAX_NOTEBOOK_COMPILED
    characters): `take(code)` spends len(code) and says True while it fits, then False for
    good."""

    def __init__(self, chars: int | None = None):
        self.left = MAX_NOTEBOOK_COMPILED if chars is None else chars

    def take(self, code: str) -> bool:
        if len(code) > self.left:
            self.left = 0
            return False
        self.left -= len(code)
        return True


def source_lines(code: str) -> list[str]:
    r"""The lines of Python source as Python's parser counts them, each with its line end
    (\n, \r\n or \r): an AST node's `lineno` and a token's row index them from 1, and
    `"".join(source_lines(code)) == code`.

    >>> source_lines("x = 1  # a\u2028b\x0c\r\ny = 2")
    ['x = 1  # a\u2028b\x0c\r\n', 'y = 2']
    """
    return LINE.findall(code)


def without_magics(code: str) -> str:
    """A cell's code with the lines IPython reads as magic (`%time`) or shell (`!ls`) commands
    left out."""
    return "".join(line for line in source_lines(code)
                   if not line.lstrip().startswith(("%", "!")))
