"""Read a student's submitted notebook defensively, once, and check its locked cells.

A submission may be missing, empty, corrupt, enormous or edited in places students must not
edit. Reading never raises for such files: it reports a file problem ("missing" or "crashed"
with a reason), the student's answers by grade_id, and a list of tampering findings (locked
cells edited or deleted, compared with the release version of the source, and any grade_id that
more than one cell claims).

>>> read_submission(None, plan).problem  # doctest: +SKIP
(<Status.MISSING: 'missing'>, 'no notebook was submitted')
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grader.plan import Plan, role
from autograder.records import Status

MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Submission:
    """What a submitted file contains, as far as grading is concerned."""

    answers: dict[str, str] = field(default_factory=dict)  # answer grade_id -> code
    written: dict[str, str] = field(default_factory=dict)  # written grade_id -> markdown
    tampering: list[str] = field(default_factory=list)
    problem: tuple[Status, str] | None = None  # (status, reason) when the file cannot be graded
    sha256: str = ""


def normalise(text: str) -> str:
    """Source text with trailing spaces and surrounding blank lines removed (for comparing)."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def read_submitted(path: str | Path) -> bytes | None:
    """The bytes of a submitted file (at most MAX_BYTES + 1), or None if there is no file."""
    path = Path(path)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def parse_notebook(raw: bytes | None):
    """(notebook, problem): exactly one of them is None."""
    if raw is None:
        return None, (Status.MISSING, "no notebook was submitted")
    if len(raw) > MAX_BYTES:
        return None, (Status.CRASHED, f"the file is larger than {MAX_BYTES // 2**20} MB")
    if not raw.strip():
        return None, (Status.MISSING, "the submitted file is empty")
    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        reason = f"the file is not a readable notebook ({type(error).__name__})"
        return None, (Status.CRASHED, reason)
    except Exception as error:  # nbformat raises several kinds for malformed structure
        return None, (Status.CRASHED, f"the notebook structure is invalid ({error})"[:200])
    if not isinstance(getattr(notebook, "cells", None), list):
        return None, (Status.CRASHED, "the notebook has no list of cells")
    return notebook, None


def read_submission(raw: bytes | None, plan: Plan) -> Submission:
    """Answers, written answers and tampering findings of a submitted file's bytes."""
    notebook, problem = parse_notebook(raw)
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else ""
    submission = Submission(problem=problem, sha256=digest)
    if notebook is None:
        return submission
    cells, claims = {}, Counter()
    for cell in notebook.cells:
        grade_id = role(cell).get("grade_id")
        if isinstance(grade_id, str):
            cells.setdefault(grade_id, cell)
            claims[grade_id] += 1
    # a second cell with a grade_id (a copy of a locked cell placed before the edited one, say)
    # would decide which of the two is read: never let it
    submission.tampering += [f"{count} cells claim grade_id {grade_id}"
                             for grade_id, count in claims.items() if count > 1]
    answer_ids = {step.grade_id for step in plan.steps if step.kind == "answer"}
    for grade_id, cell in cells.items():
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if grade_id in answer_ids and cell.get("cell_type") == "code":
            submission.answers[grade_id] = source
        elif grade_id in plan.written and cell.get("cell_type") == "markdown":
            submission.written[grade_id] = source
    for grade_id, (cell_type, release_text) in plan.locked.items():
        cell = cells.get(grade_id)
        if cell is None:
            submission.tampering.append(f"locked cell {grade_id} was deleted")
        elif cell.get("cell_type") != cell_type or normalise(
            "".join(cell.get("source", ""))
        ) != normalise(release_text):
            submission.tampering.append(f"locked cell {grade_id} was edited")
    return submission
