"""Every CSV file the autograder writes, written one way: no cell runs as a spreadsheet formula.

Excel, LibreOffice Calc and Google Sheets run a cell that begins with `=`, `+`, `-`, `@`, a tab
or a carriage return as a formula (CSV injection), and text in these files can come from
students: an id read from a folder or a gradebook, a reason naming a cell. As OWASP's CSV
injection guidance recommends, such a text cell is written with one single quote before it,
which the spreadsheet shows as text. A text cell that already begins with a quote gets one more,
so that `original_text` (the first quote of a cell removed) always gives back the text written.

Numbers stay numbers: a Python int or float is written as itself, and so is text that is a plain
decimal number (`-1.5`, as the LMS files write scores), which no spreadsheet reads as a formula.

>>> csv_text([["student", "score"], ["=HYPERLINK(1)", -1.5], ["ada", "-2"]])
"student,score\\r\\n'=HYPERLINK(1),-1.5\\r\\nada,-2\\r\\n"
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

from autograder.files import atomic_write

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list
TEXT_MARK = "'"  # what a spreadsheet reads as "the rest is text"
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # ASCII digits, not every script's


def cell(value):
    """The value as written to a CSV cell: text that a spreadsheet would run as a formula (or
    that begins with the quote itself) with a quote before it; anything else as it is."""
    if not isinstance(value, str) or PLAIN_NUMBER.fullmatch(value):
        return value
    if value.startswith((*FORMULA_STARTS, TEXT_MARK)):
        return TEXT_MARK + value
    return value


def original_text(written: str) -> str:
    """The text a cell was made from: `written` without the one quote `cell` put before it."""
    return written.removeprefix(TEXT_MARK)


def csv_text(rows: Iterable[Iterable], quote_all: bool = False) -> str:
    """The rows as CSV text, every cell made by `cell` (every field quoted if `quote_all`)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows([cell(value) for value in row] for row in rows)
    return text.getvalue()


def write_csv(path: str | Path, rows: Iterable[Iterable], quote_all: bool = False) -> Path:
    """Write the rows as a CSV file (atomically, see `files.atomic_write`); return its path."""
    return atomic_write(path, csv_text(rows, quote_all))
