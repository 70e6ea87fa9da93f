"""Where things live in an nbgrader course folder, and the nbgrader API bound to it.

    <root>/nbgrader_config.py
    <root>/source/<assignment>/<notebook>.ipynb              instructor's notebooks (solutions)
    <root>/release/<assignment>/<notebook>.ipynb             student versions (nbgrader)
    <root>/submitted/<student>/<assignment>/<notebook>.ipynb collected submissions
    <root>/autograded/<student>/<assignment>/<notebook>.ipynb  graded copies (for formgrader)
    <root>/autograded/<student>/<assignment>/<notebook>.result.json  our grade record
    <root>/feedback/<student>/<assignment>/<notebook>.html   feedback for the student
    <root>/gradebook.db                                      nbgrader's gradebook

The default course folder (`default_course_root`) is $LLMF_COURSE if set; else, in a checkout of
the repository, its `course/` folder; else the current folder (nbgrader's own convention).

>>> course = Course("course")
>>> course.submission("ada", "ch1", "ch1").as_posix()
'course/submitted/ada/ch1/ch1.ipynb'
"""

from __future__ import annotations

import functools
import os
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from autograder.files import printable

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")  # matched whole (`fullmatch`)
# names Windows keeps for devices, with any extension ("con.txt"): no folder can have them
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)),
                             *(f"LPT{n}" for n in range(10))})


COURSE_ENV = "LLMF_COURSE"


def repository_course() -> Path | None:
    """The repository's course folder when this package runs from a checkout, else None."""
    folder = Path(__file__).resolve().parents[1] / "course"
    return folder if (folder / "source").is_dir() else None


def default_course_root() -> Path:
    """$LLMF_COURSE, else the repository's course/ folder (a checkout), else the current folder."""
    if os.environ.get(COURSE_ENV):
        return Path(os.environ[COURSE_ENV])
    return repository_course() or Path.cwd()


def ensure_scripts_on_path() -> None:
    """Put this Python's scripts folder on PATH: nbgrader's gradebook runs `alembic` from it."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def student_id_problem(student: str) -> str | None:
    """Why `student` cannot be a student id, a folder of its own on any disk, or None.

    >>> student_id_problem("ada.lovelace@uni-x.edu") is None
    True
    >>> student_id_problem("ada\\n")
    "expected letters, digits, '.', '_', '@' or '-', a letter or digit first"
    >>> student_id_problem("CON.txt"), student_id_problem("ada.")
    ("a device's name on Windows", "ends with '.', which Windows drops")
    """
    if not STUDENT_ID.fullmatch(student):
        return "expected letters, digits, '.', '_', '@' or '-', a letter or digit first"
    if ".." in student:
        return "holds '..'"
    if student.endswith("."):
        return "ends with '.', which Windows drops"
    if student.split(".")[0].upper() in WINDOWS_DEVICES:
        return "a device's name on Windows"
    return None


def folder_name_problem(student: str) -> str | None:
    """Why a student id the course holds cannot be the name of a folder of its own, or None.

    collect takes only ids without a `student_id_problem`, but nbgrader's own collect and
    Formgrader take any, so the gradebook may hold `..` or `a/b`, which would make a path
    leading elsewhere. (A folder of submitted/ that is not valid UTF-8 is a folder all the same.)

    >>> folder_name_problem("ada"), folder_name_problem("../ada")
    (None, "holds '/', a backslash or NUL, which would make it a path")
    """
    if student in ("", ".", ".."):
        return "empty, '.' or '..', which name no folder of its own"
    if any(character in student for character in "/\\\0"):
        return "holds '/', a backslash or NUL, which would make it a path"
    return None


def id_key(student: str) -> str:
    """What a student id is to a reader, an LMS and a disk that folds names: its Unicode
    compatibility form (NFKC), case-folded. Two ids with one key are one id spelled two ways:
    `José` typed on Linux (é one character, NFC) and on macOS (e and an accent, NFD), `Bob`
    and `bob`, `ﬁn` and `fin`.

    >>> id_key("Jos\u00e9") == id_key("jose\u0301")
    True
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", student).casefold())


class Course:
    """Paths of one nbgrader course folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_course_root()
        if not (self.root / "source").is_dir():
            raise FileNotFoundError(f"{self.root} has no source/ folder: is it a course folder?")
        ensure_scripts_on_path()

    def assignments(self) -> list[str]:
        """Assignment names: folders of source/ holding at least one notebook."""
        return sorted(p.name for p in (self.root / "source").iterdir()
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without .ipynb) of an assignment."""
        folder = self.root / "source" / assignment
        if not folder.is_dir():
            raise ValueError(f"no assignment {assignment!r}; known: {self.assignments()}")
        return sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith("."))

    def source(self, assignment: str, notebook: str) -> Path:
        return self.root / "source" / assignment / f"{notebook}.ipynb"

    def _student_file(self, area: str, student: str, assignment: str, name: str) -> Path:
        """<root>/<area>/<student>/<assignment>/<name>; ValueError if `student` would not name
        one folder there (`folder_name_problem`), so no path leads out of its place."""
        problem = folder_name_problem(student)
        if problem:
            raise ValueError(f"student id {printable(student)!r} cannot name a folder: {problem}")
        return self.root / area / student / assignment / name

    def submission(self, student: str, assignment: str, notebook: str) -> Path:
        return self._student_file("submitted", student, assignment, f"{notebook}.ipynb")

    def autograded(self, student: str, assignment: str, notebook: str) -> Path:
        return self._student_file("autograded", student, assignment, f"{notebook}.ipynb")

    def result(self, student: str, assignment: str, notebook: str) -> Path:
        return self._student_file("autograded", student, assignment, f"{notebook}.result.json")

    def feedback(self, student: str, assignment: str, notebook: str) -> Path:
        return self._student_file("feedback", student, assignment, f"{notebook}.html")

    def _all_students(self) -> set[str]:
        """Every id of a submitted/ folder or a gradebook entry."""
        found = set()
        submitted = self.root / "submitted"
        if submitted.is_dir():
            found |= {p.name for p in submitted.iterdir() if p.is_dir()}
        if (self.root / "gradebook.db").exists():
            with self.gradebook() as gradebook:
                found |= {student.id for student in gradebook.students}
        return found

    def students(self) -> list[str]:
        """Students with a submitted/ folder or a gradebook entry, but for the gradebook's ids
        that cannot name a folder (`refused_students`) and the ids spelled two ways
        (`lookalike_students`)."""
        found = self._all_students()
        left_out = {s for group in self._lookalikes(found) for s in group}
        return sorted(s for s in found - left_out if folder_name_problem(s) is None)

    def refused_students(self) -> list[str]:
        """The gradebook's ids that cannot name a folder: left out of grading and reports."""
        return sorted(s for s in self._all_students() if folder_name_problem(s) is not None)

    def lookalike_students(self) -> list[tuple[str, ...]]:
        """The ids the course holds (folders of submitted/, the gradebook's) that are one id
        spelled two ways or more (`id_key`), in groups: left out of grading and reports, every
        one of them, since which is the student's is the instructor's to say, never the
        grader's (nbgrader's own collect makes a folder of each spelling)."""
        return self._lookalikes(self._all_students())

    @staticmethod
    def _lookalikes(ids: set[str]) -> list[tuple[str, ...]]:
        spellings = defaultdict(set)
        for student in ids:
            if folder_name_problem(student) is None:
                spellings[id_key(student)].add(student)
        return sorted(tuple(sorted(group)) for group in spellings.values() if len(group) > 1)

    @functools.cached_property
    def nbgrader_config(self):
        """nbgrader configuration: the course's nbgrader_config.py with root set to this folder."""
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config()
        if (self.root / "nbgrader_config.py").exists():
            config.merge(PyFileConfigLoader("nbgrader_config.py", str(self.root)).load_config())
        config.CourseDirectory.root = str(self.root.resolve())
        return config

    def api(self):
        """nbgrader's Python API for this course."""
        from nbgrader.apps import NbGraderAPI

        return NbGraderAPI(config=self.nbgrader_config)

    def gradebook(self):
        """nbgrader's Gradebook (use as a context manager)."""
        from nbgrader.api import Gradebook

        return Gradebook(f"sqlite:///{(self.root / 'gradebook.db').resolve()}",
                         course_id=self.nbgrader_config.CourseDirectory.get("course_id",
                                                                          "default_course"))
