"""Take in submissions from a folder into the course's submitted/ folder (nbgrader's layout).

Two layouts are understood:
- one folder per student: <from>/<student>/.../<notebook>.ipynb
- a flat folder of files named by student id, as learning-management systems export them:
  <from>/<student>_<notebook>.ipynb, or <from>/<student>.ipynb when the assignment has a single
  notebook; `id_pattern` (a regex with a `student` group) reads other naming schemes.

A file whose name does not match any notebook of the assignment is accepted when the assignment
has one notebook and the student handed in one file (students rename files). A changed file
replaces the old copy and invalidates its grade record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograder.course import Course, check_student_id
from autograder.files import atomic_write


@dataclass(frozen=True)
class Collected:
    student: str
    notebook: str
    source_file: Path
    changed: bool


def _notebook_for(stem: str, notebooks: list[str], only_file: bool) -> str | None:
    matches = [name for name in notebooks if stem == name or stem.endswith(name)]
    if matches:
        return max(matches, key=len)
    return notebooks[0] if only_file and len(notebooks) == 1 else None


def _candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def find_submissions(
    folder: Path, notebooks: list[str], id_pattern: str | None = None
) -> list[tuple[str, str, Path]]:
    """(student, notebook, file) for every submission found in `folder`."""
    found = []
    for directory in sorted(folder.iterdir()):
        if not directory.is_dir() or directory.name.startswith("."):
            continue
        files = _candidates(directory)
        for file in files:
            notebook = _notebook_for(file.stem, notebooks, len(files) == 1)
            if notebook:
                found.append((check_student_id(directory.name), notebook, file))
    pattern = re.compile(id_pattern) if id_pattern else None
    for file in sorted(folder.glob("*.ipynb")):
        notebook = _notebook_for(file.stem, notebooks, True)
        if pattern:
            match = pattern.search(file.name)
            if not match:
                raise ValueError(f"{file.name} does not match --id-pattern {id_pattern!r}")
            student = match.group("student")
        else:
            student = file.stem.removesuffix(notebook or "").rstrip("_- .") or file.stem
        if notebook:
            found.append((check_student_id(student), notebook, file))
    return found


def collect(course: Course, assignment: str, folder: str | Path,
            id_pattern: str | None = None) -> list[Collected]:
    """Copy submissions of `assignment` from `folder` into submitted/; return what was taken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    taken = []
    for student, notebook, file in find_submissions(folder, course.notebooks(assignment),
                                                    id_pattern):
        target = course.submission(student, assignment, notebook)
        data = file.read_bytes()
        changed = not target.exists() or target.read_bytes() != data
        if changed:
            atomic_write(target, data)
            course.result(student, assignment, notebook).unlink(missing_ok=True)
            stamp = datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)
            (target.parent / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        taken.append(Collected(student, notebook, file, changed))
    return taken
