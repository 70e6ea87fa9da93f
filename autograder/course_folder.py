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

from autograder.files import HIDING, printable

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")  # matched whole (`fullmatch`)
# names Windows keeps for devices, with any extension ("con.txt"): no folder can have them
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)),
                             *(f"LPT{n}" for n in range(10))})


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt of Unicode 14, the version
# of Python 3.11's unicodedata), as inclusive ranges: what a renderer shows as nothing when it
# has no glyph for it (variation selectors, Hangul fillers, joiners, the soft hyphen, tags)
DEFAULT_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
                     (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
                     (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
                     (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
                     (0xE0000, 0xE0FFF))

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


def shows_nothing(character: str) -> bool:
    r"""True for a character a reader cannot see: Unicode's default-ignorable code points, and
    control, format, line- and paragraph-separator characters (`files.HIDING`).

    >>> [shows_nothing(c) for c in "a\u200d\ufe0f\u3164\n "]
    [False, True, True, True, True, False]
    """
    point = ord(character)
    return unicodedata.category(character) in HIDING or any(
        first <= point <= last for first, last in DEFAULT_IGNORABLE)


def unseen_problem(student: str) -> str | None:
    r"""Why `student` cannot be told from another id by reading it, or None: it holds a
    character that shows nothing (`shows_nothing`), or a space at an end or beside another.
    `ada`, `ada\u200d` and `ada ` look alike on every page, in an LMS and in a terminal, and
    no normal form folds them (`id_key`), so such an id is never a student's.

    >>> unseen_problem("Ada Lovelace") is None
    True
    >>> unseen_problem("ada\u200d\ufe0f")
    'holds characters that show nothing (U+200D ZERO WIDTH JOINER, U+FE0F VARIATION SELECTOR-16)'
    """
    hidden = sorted({character for character in student if shows_nothing(character)})
    if hidden:
        named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'without a name')}"
                          for c in hidden[:3])
        more = f" and {len(hidden) - 3} more" if len(hidden) > 3 else ""
        return f"holds characters that show nothing ({named}{more})"
    if student != student.strip() or "  " in student:
        return "holds a space that shows nothing (at an end, or beside another)"
    return None


def id_problem(student: str) -> str | None:
    """Why an id the course holds (a folder of submitted/, a gradebook entry) is no student's,
    or None: it cannot name a folder of its own (`folder_name_problem`) or cannot be told from
    another id by reading it (`unseen_problem`)."""
    return folder_name_problem(student) or unseen_problem(student)


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
        """Every id of a submitted/ folder, a gradebook entry or the roster of a class with a
        variant per student (variants.json): a student on the roster who handed nothing in is
        one of the class, `missing` in every report."""
        from autograder.class_variants import ClassVariants

        found = set(ClassVariants.roster(self))
        submitted = self.root / "submitted"
        if submitted.is_dir():
            found |= {p.name for p in submitted.iterdir() if p.is_dir()}
        if (self.root / "gradebook.db").exists():
            with self.gradebook() as gradebook:
                found |= {student.id for student in gradebook.students}
        return found

    def students(self) -> list[str]:
        """Students with a submitted/ folder or a gradebook entry, but for the gradebook's ids
        that are no student's (`refused_students`) and the ids spelled two ways
        (`lookalike_students`)."""
        found = self._all_students()
        left_out = {s for group in self._lookalikes(found) for s in group}
        return sorted(s for s in found - left_out if id_problem(s) is None)

    def refused_students(self) -> list[str]:
        """The ids the course holds that are no student's (`id_problem`: they cannot name a
        folder, or hold what shows nothing): left out of grading and reports."""
        return sorted(s for s in self._all_students() if id_problem(s) is not None)

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
            if id_problem(student) is None:
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
