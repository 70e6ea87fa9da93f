"""Export grades as CSV: one row per student and assignment, one column per question.

Columns: student, assignment, status, reason, score, max_score, then one column per graded
cell (grade_id) of any assignment (empty where it does not apply). Manual scores given in
formgrader are included; a notebook waiting for them stays "needs_manual_grading" until all are
in. A submission with no grade record, or changed since it was graded, is "ungraded" (run
`llmf-grade grade`), never shown with an old score.
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.classroom import is_current
from autograder.course import Course
from autograder.gradebook import manual_scores
from autograder.grading import load_result

STATUS_ORDER = ("tampered", "crashed", "timed_out", "ungraded", "missing",
                "needs_manual_grading", "graded")


def notebook_row(course: Course, key: tuple) -> dict:
    """Status, reason and per-question scores of one notebook."""
    path = course.result(*key)
    if not path.exists() or not is_current(course, key):
        reason = "changed since it was graded" if path.exists() else "not graded yet"
        if not course.submission(*key).exists() and not path.exists():
            return {"status": "missing", "reason": "no notebook was submitted", "scores": {}}
        return {"status": "ungraded", "reason": reason, "scores": {}}
    result = load_result(path)
    manual = manual_scores(course, *key)
    scores = {g: (manual.get(g, s), p) for g, (s, p) in result.scores.items()}
    status = result.status
    if status == "needs_manual_grading" and all(s is not None for s, _ in scores.values()):
        status = "graded"
    return {"status": status, "reason": result.reason, "scores": scores}


def export_rows(course: Course, assignments=None, students=None) -> list[dict]:
    """CSV rows (dicts) for the given or all assignments and students."""
    rows = []
    for assignment in assignments or course.assignments():
        notebooks = course.notebooks(assignment)
        for student in students or course.students():
            parts = [notebook_row(course, (student, assignment, nb)) for nb in notebooks]
            status = min((p["status"] for p in parts), key=STATUS_ORDER.index)
            row = {
                "student": student,
                "assignment": assignment,
                "status": status,
                "reason": "; ".join(p["reason"] for p in parts if p["reason"]),
            }
            scores = {}
            for part in parts:
                scores.update(part["scores"])
            row["score"] = sum(s or 0.0 for s, _ in scores.values())
            row["max_score"] = sum(p for _, p in scores.values())
            row.update({g: ("" if s is None else s) for g, (s, _) in scores.items()})
            rows.append(row)
    return rows


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """Write rows to CSV (columns: fixed ones, then every question id in first-seen order)."""
    columns = ["student", "assignment", "status", "reason", "score", "max_score"]
    for row in rows:
        columns += [key for key in row if key not in columns]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)
    return path
