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

from autograder.grader.plan import (
    BEGIN_HIDDEN,
    SOLUTION_MARKERS,
    Plan,
    grade_id_of,
    normalise,
    role,
)
from autograder.records import Status

MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Submission:
    """What a submitted file contains, as far as grading is concerned."""

    answers: dict[str, str] = field(default_factory=dict)  # answer grade_id -> code
    written: dict[str, str] = field(default_factory=dict)  # written grade_id -> markdown
    # code cells the student added: (grade_id of the answer or test cell they follow, or "" if
    # none, code), in notebook order
    added: list[tuple[str, str]] = field(default_factory=list)
    in_code_cells: list[str] = field(default_factory=list)  # written answers typed as code
    tampering: list[str] = field(default_factory=list)
    problem: tuple[Status, str] | None = None  # (status, reason) when the file cannot be graded
    sha256: str = ""


def cell_text(value) -> str:
    """A cell's source as valid text: joined if a list, and any character that cannot be written
    as UTF-8 (a lone surrogate) replaced, so the kernel and the graded copy get the same text."""
    if isinstance(value, list):
        value = "".join(item for item in value if isinstance(item, str))
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")


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


def is_python(code: str) -> bool:
    """True if `code` compiles as Python (IPython's magic and shell lines left out)."""
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        compile("\n".join(lines), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _read_added_cells(cells: list, plan: Plan, submission: Submission) -> None:
    """Find the code cells the student added (not in the release, by id and by text). Prose
    typed into one right after an unanswered written answer is that answer; other added
    cells are the student's code, run where they stand."""
    steps = {step.grade_id for step in plan.steps if step.kind != "setup"}
    after_step = last_graded = ""
    for cell in cells:
        grade_id = grade_id_of(cell)
        if grade_id in steps or grade_id in plan.written:
            last_graded = grade_id
            after_step = grade_id if grade_id in steps else after_step
            continue
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or role(cell):
            continue
        code, cell_id = cell_text(cell.get("source")), cell.get("id")
        if not code.strip() or (isinstance(cell_id, str) and cell_id in plan.release_ids) or (
            normalise(code) in plan.release_code
        ):
            continue
        unanswered = last_graded in plan.written and normalise(
            submission.written.get(last_graded, "")
        ) in ("", normalise(plan.written[last_graded][1]))
        if unanswered and not is_python(code):
            submission.written[last_graded] = code
            submission.in_code_cells.append(last_graded)
        else:
            submission.added.append((after_step, code))


def instructor_text_in(cells: list, plan: Plan) -> str:
    """What of the source notebook's own text (solution regions with their markers, hidden
    tests) the cells carry, in words, or "". The releases have none of it, so a notebook with
    it is the source notebook or was made from it; merely similar code is not caught here."""
    texts = [normalise(cell_text(cell.get("source"))) for cell in cells if isinstance(cell, dict)]
    lines = {line.strip() for text in texts for line in text.splitlines()}
    hidden = [normalise(step.hidden_code) for step in plan.tests if step.hidden_code.strip()]
    if BEGIN_HIDDEN in lines or any(block in text for block in hidden for text in texts):
        return "hidden tests"
    return "solution cells" if lines & set(SOLUTION_MARKERS) else ""


def read_submission(raw: bytes | None, plan: Plan) -> Submission:
    """Answers, written answers and tampering findings of a submitted file's bytes."""
    notebook, problem = parse_notebook(raw)
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else ""
    submission = Submission(problem=problem, sha256=digest)
    if notebook is None:
        return submission
    carried = instructor_text_in(notebook.cells, plan)
    if carried:
        submission.problem = (Status.TAMPERED, f"the notebook carries the instructor's {carried} "
                              "(it is the source notebook, or copied from it): it earns 0")
        return submission
    cells, claims = {}, Counter()
    for cell in notebook.cells:
        grade_id = grade_id_of(cell)
        if grade_id is not None:
            cells.setdefault(grade_id, cell)
            claims[grade_id] += 1
    # a second cell with a grade_id (a copy of a locked cell placed before the edited one, say)
    # would decide which of the two is read: never let it
    submission.tampering += [f"{count} cells claim grade_id {grade_id}"
                             for grade_id, count in claims.items() if count > 1]
    answer_ids = {step.grade_id for step in plan.steps if step.kind == "answer"}
    for grade_id, cell in cells.items():
        source = cell_text(cell.get("source"))
        if grade_id in answer_ids and cell.get("cell_type") == "code":
            submission.answers[grade_id] = source
        elif grade_id in plan.written:
            submission.written[grade_id] = source
            if cell.get("cell_type") == "code":
                submission.in_code_cells.append(grade_id)
    _read_added_cells(notebook.cells, plan, submission)
    for grade_id, (cell_type, release_text) in plan.locked.items():
        cell = cells.get(grade_id)
        if cell is None:
            submission.tampering.append(f"locked cell {grade_id} was deleted")
        elif cell.get("cell_type") != cell_type or normalise(
            cell_text(cell.get("source"))
        ) != normalise(release_text):
            submission.tampering.append(f"locked cell {grade_id} was edited")
    return submission
