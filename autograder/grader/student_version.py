"""The student version of a source notebook, as nbgrader's generate_assignment writes its cells.

The grader needs the released text of every cell (to tell a tampered locked cell from an intact
one, and a released cell from a copied solution), and a learner's `llmf-grade check` grades
without nbgrader installed (it is the instructor's package). So the three text rules of
nbgrader 0.9's ClearSolutions, ClearHiddenTests and ClearMarkScheme, at their default settings,
are written here; tests/test_student_version.py holds them equal to nbgrader's own on generated
notebooks, refusals included.

- A region from a line containing "BEGIN SOLUTION" to one containing "END SOLUTION" becomes the
  stub (code: "# YOUR CODE HERE" and "raise NotImplementedError()"; markdown:
  "YOUR ANSWER HERE"), each stub line indented like the BEGIN line. A solution cell without such
  a region becomes the stub entirely.
- A "BEGIN HIDDEN TESTS" ... "END HIDDEN TESTS" region is removed, and so is a
  "BEGIN MARK SCHEME" ... "END MARK SCHEME" region, delimiter lines included.
- A region in a cell not marked for it (solution, grade, task), a region never closed, a nested
  one, or an attachment inside a mark scheme is the instructor's mistake: StudentVersionError.

>>> release_text("x = 1\\n### BEGIN SOLUTION\\ny = 2\\n### END SOLUTION", "code",
...              {"solution": True})
'x = 1\\n# YOUR CODE HERE\\nraise NotImplementedError()'
"""

from __future__ import annotations

import copy
import re

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
# (begin, end, the nbgrader flag a cell holding the region must have), in nbgrader's order
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION", "solution")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "grade")
MARK_SCHEME = ("BEGIN MARK SCHEME", "END MARK SCHEME", "task")
ATTACHMENT = re.compile(r"!\[.*\]\(attachment:.+?\)")  # nbgrader's leak check, same pattern


class StudentVersionError(ValueError):
    """A source cell nbgrader would refuse to release (an instructor's mistake)."""


def _regions(source: str, region: tuple[str, str, str], stub: str | None) -> tuple[str, bool]:
    """`source` with every `region` replaced by `stub` (None: removed); and whether it had one."""
    begin, end, _ = region
    lines, found, inside = [], False, False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise StudentVersionError(f"nested '{begin}' regions")
            inside = found = True
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)
                lines.extend(indent + stub_line for stub_line in stub.split("\n"))
        elif end in line:
            inside = False
        elif inside and region is MARK_SCHEME and ATTACHMENT.search(line):
            raise StudentVersionError("an attachment inside a mark scheme would reach the students")
        elif not inside:
            lines.append(line)
    if inside:
        raise StudentVersionError(f"a '{begin}' region has no '{end}'")
    return "\n".join(lines), found


def release_text(source: str, cell_type: str, flags) -> str:
    """The released text of one cell: `source` of a `cell_type` cell whose nbgrader metadata is
    `flags` (a dict; None or anything else for an ordinary cell)."""
    flags = flags if isinstance(flags, dict) else {}
    stub = CODE_STUB if cell_type == "code" else TEXT_STUB
    text, replaced = _regions(source, SOLUTION, stub)
    if replaced and not flags.get("solution", False):
        raise StudentVersionError("a solution region in a cell not marked as a solution")
    if flags.get("solution", False) and not replaced:
        text = stub
    for region in (HIDDEN_TESTS, MARK_SCHEME):
        text, removed = _regions(text, region, None)
        if removed and not flags.get(region[2], False):
            raise StudentVersionError(f"a '{region[0]}' region in a cell not marked "
                                      f"{region[2]!r}")
    return text


def release_version(notebook):
    """The student version of a source notebook (an nbformat NotebookNode; a copy is returned):
    each cell's source as `release_text` gives it. Only Python notebooks are released."""
    language = notebook.metadata.get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise StudentVersionError(f"a {language} notebook: only Python notebooks are graded")
    released = copy.deepcopy(notebook)
    for cell in released.cells:
        flags = cell.metadata.get("nbgrader")
        cell.source = release_text(cell.source, cell.cell_type, flags)
    released.metadata.pop("celltoolbar", None)
    return released
