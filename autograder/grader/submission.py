"""Read a student's submitted notebook defensively, once, and check its locked cells.

A submission may be missing, empty, corrupt, enormous or edited in places students must not
edit. Reading never raises for such files and costs time and memory linear in the file, with a
budget: the file is read as JSON (at most MAX_BYTES, at most MAX_JSON_VALUES values), never
validated against nbformat's schema (whose cost grows far faster than the file: 70 s and
2.7 GB for 60,000 invalid outputs), and only the cells' type, metadata, id and source are used.
It reports a file problem ("missing" or "crashed" with a reason in the grader's words), the
student's answers by grade_id, and the tampering found (locked cells edited or deleted,
compared with the release version of the source).

Cells are read as Run All runs them: when several cells claim one answer's grade_id (a copy
made in JupyterLab), the last one is the answer and the earlier ones run where they stand,
like cells the student added; the notebook is flagged for review. A code cell whose nbgrader
metadata names no cell of the source (forged, or copied from another notebook) is the student's
own and runs where it stands; an answer cell turned into a markdown or raw cell does not run
(graded as not answered), and the notebook is flagged.

>>> read_submission(None, plan).problem  # doctest: +SKIP
(<Status.MISSING: 'missing'>, 'no notebook was submitted')
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.files import bounded_digest, read_bounded
from autograder.grader import syntax
from autograder.grader.plan import (
    BEGIN_HIDDEN,
    MAX_PARSED_CHARS,
    SOLUTION_MARKERS,
    VARIANT_STAMP,
    Plan,
    VariantCheck,
    grade_id_of,
    normalise,
    text_digest,
)
from autograder.grader.pythons import recorded_minor
from autograder.records import Status

MAX_BYTES = 50 * 1024 * 1024
# JSON values (containers and items) a submitted file may hold: a chapter with its outputs
# holds tens of thousands; two million parse in about 300 MB at most
MAX_JSON_VALUES = 2_000_000
ESCAPE = re.compile(rb"\\.", re.DOTALL)  # a backslash and the byte it escapes
STRING = re.compile(rb'"[^"]*"')  # a JSON string once its escapes are gone (no backtracking)


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
    sha256: str = ""  # of the whole submitted file, the bytes judged
    to_review: list[str] = field(default_factory=list)  # what the instructor should look at
    variant_problem: str = ""  # why the notebook is not its student's own variant ("" if it is)
    saved_on: tuple[int, int] | None = None  # the Python the file records it was saved with


@dataclass(frozen=True)
class Submitted:
    """A submitted file as read: its first MAX_BYTES + 1 bytes and its digest, computed in the
    same read (files.bounded_digest: the sha256 of the file, or for a file too large to grade, of
    those bytes and its size); or, for a link or what is not a file, only `problem`, why there
    is nothing to read, in the grader's words."""

    data: bytes
    sha256: str
    problem: str = ""

    @classmethod
    def of(cls, data: bytes) -> Submitted:
        head = data[: MAX_BYTES + 1]
        return cls(head, bounded_digest(head, len(data), MAX_BYTES))


def cell_text(value) -> str:
    """A cell's source as valid text: joined if a list, and any character that cannot be written
    as UTF-8 (a lone surrogate) replaced, so the kernel and the graded copy get the same text."""
    if isinstance(value, list):
        value = "".join(item for item in value if isinstance(item, str))
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")


def cell_type_name(cell: dict) -> str:
    """A cell's type as a report may show it: one of the notebook format's, else "unknown"."""
    kind = cell.get("cell_type")
    return kind if kind in ("code", "markdown", "raw") else "unknown"


def read_submitted(path: str | Path) -> Submitted | None:
    """The submitted file at `path` (see Submitted), read within files.read_bounded's bounds
    whatever is there, or None if nothing is. A link is never followed: the grader judges what
    the student handed in, not what a name points to (a classmate's notebook, /proc/kcore)."""
    try:
        head, size = read_bounded(path, MAX_BYTES)
        return Submitted(head, bounded_digest(head, size, MAX_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # a link, a folder, a FIFO, a device
        kind = "a link" if Path(path).is_symlink() else "not a regular file"
        return Submitted(b"", "", f"the submitted path is {kind}: the grader reads only a "
                                  "notebook file placed there")


def submitted_digest(path: str | Path) -> str:
    """The digest of the file submitted at `path` as read_submitted reads it ("" if none)."""
    submitted = read_submitted(path)
    return "" if submitted is None else submitted.sha256


def json_values(raw: bytes) -> int:
    """How many JSON values (containers and items) `raw` holds at most, in linear time: its
    commas, colons and opening brackets outside strings (an upper bound for invalid JSON)."""
    bound = sum(raw.count(mark) for mark in (b",", b":", b"{", b"["))
    if bound <= MAX_JSON_VALUES:
        return bound
    bare = STRING.sub(b"", ESCAPE.sub(b"", raw))
    return sum(bare.count(mark) for mark in (b",", b":", b"{", b"["))


def notebook_bytes(raw: bytes) -> bytes:
    """A notebook file's text as bytes: the file without the UTF-8 byte-order mark an editor may
    put first (Notepad does; Jupyter writes none), which is no part of the text."""
    return raw.removeprefix(codecs.BOM_UTF8)


def parse_notebook(raw: bytes | None):
    """(notebook as parsed JSON, problem): exactly one of them is None. The notebook is the
    file's JSON object with a list of cells; nothing else about its structure is assumed."""
    if raw is None:
        return None, (Status.MISSING, "no notebook was submitted")
    raw = notebook_bytes(raw)
    if len(raw) > MAX_BYTES:
        return None, (Status.CRASHED, f"the file is larger than {MAX_BYTES // 2**20} MB")
    if not raw.strip():
        return None, (Status.MISSING, "the submitted file is empty")
    if json_values(raw) > MAX_JSON_VALUES:
        return None, (Status.CRASHED, f"the file holds more than {MAX_JSON_VALUES:,} JSON "
                                      "values, far more than a notebook")
    try:
        notebook = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, (Status.CRASHED, "the file is not a readable notebook (not UTF-8 text)")
    except (ValueError, RecursionError):
        return None, (Status.CRASHED, "the file is not a readable notebook (not JSON)")
    if not isinstance(notebook, dict):
        return None, (Status.CRASHED, "the file is not a notebook (not a JSON object)")
    if "worksheets" in notebook and "cells" not in notebook:
        return None, (Status.CRASHED, "the notebook is in format 3; expected format 4 (save it "
                                      "again from JupyterLab, Jupyter Notebook or Colab)")
    if not isinstance(notebook.get("cells"), list):
        return None, (Status.CRASHED, "the notebook has no list of cells")
    return notebook, None


def is_python(code: str, budget: syntax.CompileBudget | None = None) -> bool:
    """True if `code` compiles as Python, as it is or with IPython's magic and shell lines left
    out; a cell longer than MAX_PARSED_CHARS, or once the notebook's `budget` is spent, is taken
    as code without compiling it (it is not prose, or not the prose of an honest answer)."""
    budget = budget or syntax.CompileBudget()
    if len(code) > MAX_PARSED_CHARS:
        return True
    for version in (code, syntax.without_magics(code)):
        if not budget.take(version):
            return True
        try:
            syntax.check_syntax(version, "<cell>")
            return True
        except (SyntaxError, ValueError, MemoryError, RecursionError):  # too nested: prose
            continue
    return False


def _read_added_cells(cells: list, plan: Plan, submission: Submission,
                      graded: set[int]) -> None:
    """Find the code cells the student added (not in the release, by id and by text), and the
    earlier copies of an answer cell (`graded`: the ids of the cells read as answers). Prose
    typed into one right after an unanswered written answer is that answer; other added cells
    are the student's code, run where they stand. Each cell's text is normalised once: whether
    a written answer is still unanswered is kept (`blank`), not read again for every cell after
    it (a 1 MB answer and 4,000 cells after it took 3.3 s, quadratic in the file). What is
    compiled to tell prose from code is bounded for the notebook (`syntax.CompileBudget`)."""
    steps = {step.grade_id for step in plan.steps if step.kind != "setup"}
    instructors = steps | set(plan.written) | set(plan.locked)
    release_written = {grade_id: normalise(text) for grade_id, (_, text) in plan.written.items()}
    blank = {grade_id: normalise(submission.written.get(grade_id, "")) in ("", release)
             for grade_id, release in release_written.items()}
    after_step = last_graded = ""
    budget = syntax.CompileBudget()  # one for the notebook, however many cells it has
    for cell in cells:
        grade_id = grade_id_of(cell)
        copy = grade_id in submission.answers and id(cell) not in graded
        if (grade_id in steps or grade_id in plan.written) and not copy:
            last_graded = grade_id
            after_step = grade_id if grade_id in steps else after_step
            continue
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or (
            grade_id in instructors and not copy
        ):  # a cell whose metadata names no cell of the source is the student's: it runs
            continue
        code, cell_id = cell_text(cell.get("source")), cell.get("id")
        if not code.strip() or (isinstance(cell_id, str) and cell_id in plan.release_ids
                                and not copy):
            continue
        text = normalise(code)
        if text in plan.release_code:
            continue
        if blank.get(last_graded, False) and not is_python(code, budget):
            submission.written[last_graded] = code
            submission.in_code_cells.append(last_graded)
            blank[last_graded] = text == release_written[last_graded]
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


def variant_findings(notebook: dict, check: VariantCheck) -> tuple[str, list[str]]:
    """(why the notebook is not `check.student`'s own variant, or ""; what to review): the
    cells a variant decides are compared, as digests of their text, with the student's own
    variant and with every classmate's; every cell of an id is (a copy of one's own cell
    cannot hide a classmate's). The names said are the roster's, never the file's."""
    found: dict[str, set[str]] = {}
    for cell in notebook["cells"]:
        if isinstance(cell, dict) and isinstance(cell.get("id"), str) \
                and cell["id"] in check.expected:
            found.setdefault(cell["id"], set()).add(text_digest(cell_text(cell.get("source"))))
    differing = [cell for cell, digest in check.expected.items()
                 if found.get(cell) != {digest}]
    if not differing:
        return "", []
    owners = Counter(owner for cell in differing
                     for digest in found.get(cell, set()) - {check.expected[cell]}
                     for owner in check.known.get((cell, digest), ()))
    own, total = f"{check.student}'s own variant", len(check.expected)
    if owners:
        owner, count = owners.most_common(1)[0]
        whose = "the class-wide edition" if owner == "" else f"{owner}'s variant"
        return (f"the notebook is {whose}, not {own} ({count} of the {total} cells a variant "
                f"decides are as {whose} has them); graded against {own}"), []
    metadata = notebook.get("metadata")
    stamp = metadata.get(VARIANT_STAMP) if isinstance(metadata, dict) else None
    if not isinstance(stamp, dict) or stamp.get("mark") != check.mark:
        return (f"the notebook carries no variant: {len(differing)} of the {total} cells a "
                f"variant decides match no student's, and its mark is not {check.student}'s "
                f"(expected the file `release --per-student` made for {check.student}); graded "
                f"against {own}"), []
    return "", [f"{len(differing)} of the {total} cells {own} decides were edited"]


def read_submission(raw: Submitted | bytes | None, plan: Plan) -> Submission:
    """Answers, written answers and tampering findings of a submitted file."""
    if isinstance(raw, bytes):
        raw = Submitted.of(raw)
    if raw is not None and raw.problem:
        return Submission(problem=(Status.CRASHED, raw.problem))
    notebook, problem = parse_notebook(raw.data if raw is not None else None)
    submission = Submission(problem=problem, sha256=raw.sha256 if raw is not None else "")
    if notebook is None:
        return submission
    submission.saved_on = recorded_minor(notebook)
    carried = instructor_text_in(notebook["cells"], plan)
    if carried:
        submission.problem = (Status.TAMPERED, f"the notebook carries the instructor's {carried} "
                              "(it is the source notebook, or copied from it): it earns 0")
        return submission
    if plan.variant is not None:
        submission.variant_problem, review = variant_findings(notebook, plan.variant)
        submission.to_review += review
    claimants: dict[str, list] = {}
    for cell in notebook["cells"]:
        grade_id = grade_id_of(cell)
        if grade_id in plan.locked or grade_id in plan.written or grade_id in plan.answer_ids:
            claimants.setdefault(grade_id, []).append(cell)
    graded = set()
    for grade_id, found in claimants.items():
        cell = found[-1]  # Run All: the last cell to run defines the answer
        if grade_id in plan.answer_ids and cell.get("cell_type") == "code":
            submission.answers[grade_id] = cell_text(cell.get("source"))
        elif grade_id in plan.answer_ids:
            submission.to_review.append(
                f"the answer cell {grade_id} was turned into a {cell_type_name(cell)} cell, "
                "which Run All does not run: graded as not answered")
            continue
        elif grade_id in plan.written:
            submission.written[grade_id] = cell_text(cell.get("source"))
            if cell.get("cell_type") == "code":
                submission.in_code_cells.append(grade_id)
        else:
            continue
        graded.add(id(cell))
        if len(found) > 1:
            submission.to_review.append(f"{len(found)} cells claim the answer cell {grade_id}; "
                                        "the last one was graded, as Run All defines it")
    _read_added_cells(notebook["cells"], plan, submission, graded)
    for grade_id, (cell_type, release_text) in plan.locked.items():
        found, release = claimants.get(grade_id, []), normalise(release_text)
        if not found:
            submission.tampering.append(f"locked cell {grade_id} was deleted")
        elif any(cell.get("cell_type") != cell_type
                 or normalise(cell_text(cell.get("source"))) != release
                 for cell in found):  # every copy is checked: none can hide an edited one
            submission.tampering.append(f"locked cell {grade_id} was edited")
    return submission
