"""Take in submissions from a folder into the course's submitted/ folder (nbgrader's layout).

Layouts understood:
- one folder per student: <from>/<student>/.../<notebook>.ipynb
- a flat folder of files named by student id: <from>/<student>_<notebook>.ipynb, or
  <from>/<student>.ipynb when the assignment has a single notebook;
- a learning-management system's export, by name (`lms`, see LMS_PATTERNS): Canvas, Moodle,
  Blackboard;
- any other naming scheme through `id_pattern`, a regex with a `student` group (and optionally a
  `file` group: the name the student gave the file), matched against folder names and file
  names alike.

Rules a careful instructor would apply:
- links are never followed: a symbolic link (to a file or a folder) is refused with a warning;
- a folder named like a notebook is skipped with a warning;
- a file whose name does not match any notebook of the assignment is accepted when the
  assignment has one notebook and the student handed in one file (students rename files);
- a student who handed in several notebooks for one of the assignment's notebooks gets the one
  named exactly as the assignment's (a warning names the others); if none or several are named
  so, none is taken, and a warning lists them and says how to choose.
A changed file replaces the old copy and invalidates its grade record. Warnings are issued as
`CollectWarning` (the command line prints them).
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograder.course_folder import Course, check_student_id
from autograder.files import atomic_write

# The documented download formats. Groups: `student` (the id used as the student's folder),
# `file` (the name the student uploaded).
LMS_PATTERNS = {
    # Canvas, "Download Submissions": <lastfirst>[_LATE]_<user id>_<submission id>_<file name>
    "canvas": r"^[^_]+(?:_late)?_(?P<student>\d+)_\d+_(?P<file>.+)$",
    # Moodle, "Download all submissions": one folder per participant,
    # <Full Name>_<participant id>_assignsubmission_file_/<file name>
    "moodle": r"^.+_(?P<student>\d+)_assignsubmission_file_?$",
    # Blackboard, "Download Assignment":
    # <assignment>_<username>_attempt_<yyyy-mm-dd-hh-mm-ss>_<file name>
    "blackboard": r"^.+?_(?P<student>[^_]+)_attempt_\d{4}(?:-\d\d){5}_(?P<file>.+)$",
}


class CollectWarning(UserWarning):
    """A file or folder that collect refused or skipped, and why."""


@dataclass(frozen=True)
class Collected:
    student: str
    notebook: str
    source_file: Path
    changed: bool


def _warn(message: str) -> None:
    warnings.warn(message, CollectWarning, stacklevel=3)


def _notebook_for(stem: str, notebooks: list[str], only_file: bool) -> str | None:
    matches = [name for name in notebooks if stem == name or stem.endswith(name)]
    if matches:
        return max(matches, key=len)
    return notebooks[0] if only_file and len(notebooks) == 1 else None


def _usable(path: Path) -> bool:
    """False (with a warning) for a link, or a folder named like a notebook."""
    if path.is_symlink():
        _warn(f"refused {path}: it is a symbolic link (collect never follows links; "
              "copy the real file there instead)")
        return False
    if path.suffix == ".ipynb" and path.is_dir():
        _warn(f"skipped {path}: a folder named like a notebook")
        return False
    return True


def _notebook_files(folder: Path) -> list[Path]:
    """Notebook files under `folder`, walked without following links."""
    found = []
    for parent, folders, files in os.walk(folder):
        base = Path(parent)
        folders[:] = sorted(name for name in folders
                            if name != ".ipynb_checkpoints" and _usable(base / name))
        found += [base / name for name in sorted(files)
                  if name.endswith(".ipynb") and _usable(base / name)]
    return found


def _named(name: str, pattern: re.Pattern | None) -> tuple[str, str] | None:
    """(student, the file name the student gave) read from `name` by the pattern."""
    match = pattern.search(name) if pattern else None
    if match is None:
        return None
    groups = match.groupdict()
    return groups["student"], groups.get("file") or name


def _choose(student: str, notebook: str, files: list[tuple[Path, str]]) -> Path | None:
    """The one file to take for (student, notebook) among `files` [(path, given name)]."""
    if len(files) == 1:
        return files[0][0]
    exact = [path for path, given in files if Path(given).stem == notebook]
    names = ", ".join(str(path) for path, _ in files)
    if len(exact) == 1:
        others = ", ".join(str(path) for path, _ in files if path != exact[0])
        _warn(f"student {student} handed in several notebooks for {notebook}: took "
              f"{exact[0]} (named as the assignment's), ignored {others}")
        return exact[0]
    _warn(f"student {student} handed in several notebooks for {notebook} ({names}) and "
          f"not exactly one is named {notebook}.ipynb: none was taken; keep the one to grade "
          "(or name it so) and collect again")
    return None


def find_submissions(
    folder: Path, notebooks: list[str], id_pattern: str | None = None
) -> list[tuple[str, str, Path]]:
    """(student, notebook, file) for every submission found in `folder`."""
    pattern = re.compile(id_pattern, re.IGNORECASE) if id_pattern else None
    handed_in: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith(".") or not _usable(entry):
            continue
        if entry.is_dir():
            files = _notebook_files(entry)
            if files:  # an LMS's folders for other kinds of submission hold no notebook
                named = _named(entry.name, pattern)
                student = check_student_id(named[0] if named else entry.name)
                handed_in[student] += [(file, file.name) for file in files]
        elif entry.suffix == ".ipynb" and entry.is_file():
            named = _named(entry.name, pattern)
            if pattern and named is None:
                raise ValueError(f"{entry.name} does not match --id-pattern {id_pattern!r}")
            if named is None:
                notebook = _notebook_for(entry.stem, notebooks, True)
                named = (entry.stem.removesuffix(notebook or "").rstrip("_- .") or entry.stem,
                         entry.name)
            handed_in[check_student_id(named[0])].append((entry, named[1]))
    found = []
    for student, files in handed_in.items():
        by_notebook = defaultdict(list)
        for path, given in files:
            notebook = _notebook_for(Path(given).stem, notebooks, len(files) == 1)
            if notebook:
                by_notebook[notebook].append((path, given))
        for notebook, candidates in sorted(by_notebook.items()):
            chosen = _choose(student, notebook, candidates)
            if chosen is not None:
                found.append((student, notebook, chosen))
    return sorted(found)


def read_regular_file(path: Path) -> bytes:
    """The bytes of `path`, refusing a link even if one was put there since it was listed."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file")
        return handle.read()


def collect(course: Course, assignment: str, folder: str | Path,
            id_pattern: str | None = None, lms: str | None = None) -> list[Collected]:
    """Copy submissions of `assignment` from `folder` into submitted/; return what was taken.

    lms: "canvas", "moodle" or "blackboard" reads that system's export (LMS_PATTERNS)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    if lms is not None:
        if lms not in LMS_PATTERNS:
            raise ValueError(f"unknown --lms {lms!r}; expected one of {sorted(LMS_PATTERNS)}")
        if id_pattern:
            raise ValueError("give --lms or --id-pattern, not both")
        id_pattern = LMS_PATTERNS[lms]
    taken = []
    for student, notebook, file in find_submissions(folder, course.notebooks(assignment),
                                                    id_pattern):
        try:
            data = read_regular_file(file)
        except (OSError, ValueError) as error:
            _warn(f"refused {file}: {error}")
            continue
        target = course.submission(student, assignment, notebook)
        changed = not target.exists() or target.read_bytes() != data
        if changed:
            atomic_write(target, data)
            course.result(student, assignment, notebook).unlink(missing_ok=True)
            stamp = datetime.fromtimestamp(file.lstat().st_mtime, timezone.utc)
            (target.parent / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        taken.append(Collected(student, notebook, file, changed))
    return taken
