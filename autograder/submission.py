"""Read a student's submitted notebook defensively and check its locked cells.

A submission may be missing, empty, corrupt, enormous or edited in places students must not
edit. Reading never raises for such files: it reports a file problem ("missing" or "crashed"
with a reason), the student's answers by grade_id, and a list of tampering findings (locked
cells edited or deleted, compared with the release version of the source).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.plan import Plan, role

MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Submission:
    """What a submitted file contains, as far as grading is concerned."""

    answers: dict[str, str] = field(default_factory=dict)  # answer grade_id -> code
    written: dict[str, str] = field(default_factory=dict)  # written grade_id -> markdown
    tampering: list[str] = field(default_factory=list)
    problem: tuple[str, str] | None = None  # (status, reason) when the file cannot be graded
    sha256: str = ""


def normalise(text: str) -> str:
    """Source text with trailing spaces and surrounding blank lines removed (for comparing)."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def load_notebook(path: Path) -> tuple[object | None, tuple[str, str] | None, str]:
    """(notebook, problem, sha256): exactly one of notebook and problem is None."""
    if not path.is_file():
        return None, ("missing", "no notebook was submitted"), ""
    if path.stat().st_size > MAX_BYTES:
        return None, ("crashed", f"the file is larger than {MAX_BYTES // 2**20} MB"), ""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        return None, ("missing", "the submitted file is empty"), digest
    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        reason = f"the file is not a readable notebook ({type(error).__name__})"
        return None, ("crashed", reason), digest
    except Exception as error:  # nbformat raises several kinds for malformed structure
        return None, ("crashed", f"the notebook structure is invalid ({error})"[:200]), digest
    if not isinstance(getattr(notebook, "cells", None), list):
        return None, ("crashed", "the notebook has no list of cells"), digest
    return notebook, None, digest


def read_submission(path: str | Path, plan: Plan) -> Submission:
    """Answers, written answers and tampering findings of a submitted notebook."""
    notebook, problem, digest = load_notebook(Path(path))
    submission = Submission(problem=problem, sha256=digest)
    if notebook is None:
        return submission
    cells = {}
    for cell in notebook.cells:
        grade_id = role(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id not in cells:
            cells[grade_id] = cell
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
