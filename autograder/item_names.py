"""Name each graded cell the way its chapter does, from the notebook's own Markdown.

A chapter introduces an item with a heading (`### Exercise 2.1 — the log-probability of a
sequence (3 points)`) or a bold label (`**Question 2.3.** In a decoder-only ...`). The label
last seen before a graded cell names it: "Exercise 2.1 — the log-probability of a sequence",
"Question 2.3" (points and asides in parentheses dropped). A label names one graded cell only;
a graded cell with no label of its own keeps its grade id.

>>> label_in("### Exercise 2.1 — the log-probability of a sequence (3 points)\\n\\nA model ...")
'Exercise 2.1 — the log-probability of a sequence'
>>> label_in("**Question 2.7 (written, 3 points).** A classmate trains ...")
'Question 2.7'
>>> label_in("(If you have not solved Exercise 2.1 yet, the cell uses course_lib.)") is None
True
"""

from __future__ import annotations

import re

LABEL = re.compile(
    r"^(?:#{1,6}[ \t]+|\*\*)(?P<label>(?:Exercise|Question)[ \t]+[0-9]+(?:\.[0-9]+)*)(?P<rest>.*)$",
    re.MULTILINE,
)
TITLE = re.compile(r"^\s*[—–-]\s*(?P<title>.+?)\s*(?:\([^()]*\))?\s*[.:]?\s*$")


def label_in(markdown: str) -> str | None:
    """The last item label of a Markdown cell ("Exercise 2.1 — title", "Question 2.3"), or None."""
    matches = list(LABEL.finditer(markdown))
    if not matches:
        return None
    match = matches[-1]
    rest = match["rest"]
    if match.group(0).startswith("**"):
        rest = rest.split("**", 1)[0]
    title = TITLE.match(rest)
    return f"{match['label']} — {title['title']}" if title else match["label"]


def _role(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def item_names(notebook) -> dict[str, str]:
    """{grade_id: name} for every graded cell of a notebook (nbformat node), in notebook order."""
    names, label = {}, None
    for cell in notebook.cells:
        role = _role(cell)
        if role.get("grade"):
            names[role["grade_id"]] = label or role["grade_id"]
            label = None
        elif cell.cell_type == "markdown":
            label = label_in(cell.source) or label
    return names


def notebook_title(notebook, default: str) -> str:
    """The notebook's first level-1 heading ("Chapter 2 — Autoregression"), or `default`."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = re.search(r"^#[ \t]+(.+)$", cell.source, re.MULTILINE)
            if heading:
                return heading.group(1).strip()
    return default
