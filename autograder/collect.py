"""Take in a class's submissions from a download folder into submitted/ (nbgrader's layout), each
entry of the folder on its own.

Every entry is reported (`Entry`): collected (as which student and notebook, and out of how many
attempts), an older attempt (a later one was collected), or not collected and why. Nothing in the
folder stops the others from being collected, and nothing is opened unless it is a regular file:
a link, a FIFO, a socket or a device is reported, never followed or read. What is read is
bounded: a notebook at most MAX_BYTES (the grader's own limit), a zip at most MAX_ZIP_BYTES with
at most MAX_ZIP_MEMBERS members, its table of contents (the central directory, which zipfile
reads whole and parses entry by entry) at most MAX_ZIP_DIRECTORY bytes, checked before it is
read, a member's file name at most NAME_MAX bytes, and a member only as far as MAX_BYTES once
unzipped, whatever its header claims (a zip bomb stops there).

What counts as a submission:
- a file whose name ends in `.ipynb` in any case (`Ada.IPYNB`), anywhere in the folder, or a
  notebook inside a `.zip`; never in `__MACOSX` (macOS's archive metadata), `.ipynb_checkpoints`
  (JupyterLab's autosaves) or a hidden file or folder (each such notebook, in a zip too, is
  reported as no submission);
- whose student is named by the entry at the top of the folder that holds it: a folder per
  student (`ada/...`), a file named `<student>_<notebook>.ipynb` (or `<student>.ipynb` when the
  assignment has one notebook), a zip named the same way; or, with a naming pattern, the
  pattern's `student` group: an LMS's download naming (LMS_PATTERNS, `--lms`) or `--id-pattern`;
- and whose notebook is the assignment notebook its name ends with, as a word of its own (the
  whole name, or after `_`, `-`, a space or `.`: `xch1` is not `ch1`'s; case aside, and an LMS's
  or a browser's attempt suffix `-2`, ` (2)`, JupyterLab's `-Copy1` aside). When the assignment has
  one notebook, a file named otherwise counts too, when none of the student's files named as
  the notebook can be taken (unreadable, or another notebook's by its cells).

A name at the top of the folder may read as two students (`FlatName`): `x-1.ipynb` is student
x-1's, or student x's attempt 1 (the suffix `-1` cut from the student's own place);
`x_ch1.ipynb` is x's ch1, or student x_ch1's. Such a name is taken as the one id the class
knows (a roster given to collect, the per-student roster, the gradebook's students, those
collected before) when the class knows none of the others; otherwise it is reported, saying
both readings, and nothing is taken: no file becomes another student's. A suffix no id can
hold (` (2)`) or one after the notebook's name (`x_ch1-2`) is an attempt, never a student.

A file whose cells are another notebook's of the course (`notebook_marks`: chapter 1 renamed as
chapter 2, a download collected into the wrong assignment) is reported, never collected.

When a student handed in several attempts at one notebook, the latest is collected and the report
says so: the latest by the attempt the name carries (Blackboard's attempt time, a numbered
resubmission `-2`), else by modification time. An attempt that cannot be read is reported and the
next latest is taken.

Without `--lms` or `--id-pattern`, the names are checked against each LMS's download naming: when
every entry holding a submission is named as one LMS names them, that naming is used and the
report says so; when only some are, collect refuses, naming the `--lms` to give (`--lms none`
reads the names as they are).

A student id is letters, digits, `.`, `_`, `@` and `-`, a letter or digit first, and names a
folder of its own on any disk (`course_folder.student_id_problem`: not ending with `.`, which
Windows drops, nor a Windows device's name such as `CON`); an entry naming no such id is
reported, not collected. Wherever a name is matched against the ids the class knows (a roster
given to collect, the per-student roster, the gradebook's students, those collected before), it
is matched as the course tells one id from another, by `course_folder.id_key` (`KnownIds`):
`bob.ipynb` or a folder `BOB` is the roster's `Bob`, `jose\u0301` typed on macOS the
gradebook's `jos\u00e9`, and the file is taken under the class's own spelling (one the class
holds that collect would not make, as `jos\u00e9`, too), never as a new student; when the
class holds the id spelled two ways (`Bob` on the roster, `bob` collected), the file is
reported, naming both, not collected. Two student ids of the download that are one
id spelled otherwise and that the class does not know (`Ann`, `ann`) are reported, not
collected: a disk that ignores case would make them one folder.

Against a submission collected before (a second download, a late re-submission), the later
wins: the time collect wrote to its `timestamp.txt` (the attempt time the naming carries, else
the file's modification time) is compared with the new attempt's, and an attempt no later than
it is reported, not taken. `replace_newer` (`--replace-newer`) takes the download's latest all
the same: an instructor's deliberate correction; a submission of no readable time is replaced
only so. A changed file replaces the old copy; everything recorded of the old one's grade (its
result file, graded copy, feedback page and gradebook scores) is cleared first
(`reports.gradebook.forget_grades`: a score given by hand stays where its answer is unchanged;
each one cleared is named).
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.course_folder import Course, id_key, student_id_problem, unseen_problem
from autograder.files import atomic_write, open_regular, printable, read_bounded
from autograder.grader.submission import MAX_BYTES
from autograder.notebook_marks import CourseNotebooks, cells_of
from autograder.reports.gradebook import forget_grades

MAX_ZIP_BYTES = 4 * MAX_BYTES  # a zip's own size
MAX_ZIP_MEMBERS = 1000
# a thousand members of names of a few hundred bytes each: a table of contents this large (a
# zip of 200 MB of one-byte members lists 4 million, which took zipfile 3 GB to read) is refused
MAX_ZIP_DIRECTORY = 1 << 20
NAME_MAX = 255  # bytes of a file's name on any disk (a zip's may hold 65,535)
MAX_DEPTH = 16  # folders below the download folder

# The documented download formats. Groups: `student` (the id used as the student's folder),
# `file` (the name the student uploaded), `attempt` (a sortable attempt time, where named).
LMS_PATTERNS = {
    # Canvas, "Download Submissions": <lastfirst>[_LATE]_<user id>_<submission id>_<file name>
    "canvas": r"^[^_]+(?:_late)?_(?P<student>[0-9]+)_[0-9]+_(?P<file>.+)$",
    # Moodle, "Download all submissions": one folder per participant,
    # <Full Name>_<participant id>_assignsubmission_file_/<file name>
    "moodle": r"^.+_(?P<student>[0-9]+)_assignsubmission_file_?$",
    # Blackboard, "Download Assignment":
    # <assignment>_<username>_attempt_<yyyy-mm-dd-hh-mm-ss>_<file name>
    "blackboard": (r"^.+?_(?P<student>[^_]+)_attempt_(?P<attempt>[0-9]{4}(?:-[0-9][0-9]){5})"
                   r"_(?P<file>.+)$"),
}
LMS_NAMES = {"canvas": "Canvas", "moodle": "Moodle", "blackboard": "Blackboard"}
NO_LMS = "none"
# what browsers, LMSs and JupyterLab append to a file's name: "-2", " (2)", "-Copy1", " copy"
SUFFIX = re.compile(r"(?:-(?P<number>[0-9]+)|\s*\((?P<paren>[0-9]+)\)|[-_ ]copy[0-9]*)$",
                    re.IGNORECASE)

# what may stand between a student and a notebook in a file's name (`ada_ch1`, `ada-ch1`)
SEPARATORS = "_- ."
COLLECTED, OLDER, NOT_COLLECTED = "collected", "older attempt", "not collected"


@dataclass
class Entry:
    """One entry of the download folder and what became of it."""

    shown: str  # its path relative to the download folder, printable ("a.zip:b.ipynb" in a zip)
    outcome: str = NOT_COLLECTED
    reason: str = ""
    student: str = ""  # the student it was read as ("" when it was not read as anyone's)

    def line(self) -> str:
        return f"{self.outcome:<14} {self.shown}: {self.reason}"


@dataclass(frozen=True)
class Collected:
    student: str
    notebook: str
    shown: str  # the entry it came from
    changed: bool
    attempts: int


@dataclass
class CollectReport:
    """What `collect` did: every entry, what was taken, and the naming it read."""

    entries: list[Entry] = field(default_factory=list)
    taken: list[Collected] = field(default_factory=list)
    naming: str = ""  # how names were read, when not plainly: "names read as Canvas's ..."


@dataclass
class _Candidate:
    """A plausible submission: a notebook file, or a notebook member of a zip."""

    entry: Entry
    path: Path
    member: zipfile.ZipInfo | None
    top: str  # the name of the top-level entry holding it
    mtime: float
    student: str = ""
    given: str = ""  # the name the student gave the file
    # named otherwise than the notebook (a one-notebook assignment's renamed file): taken only
    # when none of the student's files named as the notebook can be
    renamed: bool = False

    def key(self, attempt: str) -> tuple:
        """Sorts attempts: named as the notebook before renamed, then the LMS's attempt time,
        the attempt number in the name, the time."""
        suffix = SUFFIX.search(Path(self.given).stem)
        number = int((suffix["number"] or suffix["paren"] or 0) if suffix else 0)
        return not self.renamed, attempt, number, self.mtime, self.entry.shown


def read_regular_file(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file `path` (ValueError if it holds more than `limit`)."""
    data, _ = read_bounded(path, limit)
    if len(data) > limit:
        raise ValueError(f"larger than {limit >> 20} MB")
    return data


def _read(candidate: _Candidate) -> bytes:
    if candidate.member is None:
        return read_regular_file(candidate.path)
    with open_regular(candidate.path) as handle, zipfile.ZipFile(handle) as archive, \
            archive.open(candidate.member) as member:
        data = member.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES >> 20} MB once unzipped")
    return data


def _skipped_name(name: str) -> str | None:
    """Why a file or folder of this name is no submission, or None."""
    if name == "__MACOSX":
        return "macOS's archive metadata, not a submission"
    if name == ".ipynb_checkpoints":
        return "JupyterLab's autosaved copies, not a submission"
    if name.startswith("."):
        return "a hidden file or folder, not a submission"
    return None


class _Survey:
    """The walk of a download folder: every entry, and the plausible submissions among them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.entries: list[Entry] = []
        self.candidates: list[_Candidate] = []

    def entry(self, path: Path, member: str = "") -> Entry:
        shown = printable(path.relative_to(self.folder).as_posix())
        entry = Entry(f"{shown}:{printable(member)}" if member else shown)
        self.entries.append(entry)
        return entry

    def walk(self, path: Path, top: str, depth: int = 0) -> None:
        """Survey `path` (under the top-level entry named `top`); a failure is its reason."""
        try:
            self._walk(path, top, depth)
        except Exception as error:  # noqa: BLE001 - an entry's failure is that entry's reason
            self.entry(path).reason = f"could not be read ({printable(str(error)) or 'error'})"

    def _walk(self, path: Path, top: str, depth: int) -> None:
        info = os.lstat(path)
        why = _skipped_name(path.name)
        if stat.S_ISLNK(info.st_mode):
            why = "a symbolic link: collect never follows links (copy the real file there)"
        elif why is None and stat.S_ISDIR(info.st_mode):
            children = sorted(os.listdir(path))
            if path.name.lower().endswith(".ipynb"):
                why = "a folder named like a notebook"
            elif depth >= MAX_DEPTH:
                why = f"nested more than {MAX_DEPTH} folders deep"
            elif not children:
                why = "an empty folder"
            else:
                for child in children:
                    self.walk(path / child, top, depth + 1)
                return
        elif why is None and not stat.S_ISREG(info.st_mode):
            why = "not a regular file (a FIFO, socket or device): never opened"
        elif why is None and path.name.lower().endswith(".zip"):
            return self._zip(path, top, info.st_size)
        elif why is None and not path.name.lower().endswith(".ipynb"):
            why = "not a notebook (.ipynb) or a zip"
        elif why is None and info.st_size > MAX_BYTES:
            why = f"larger than {MAX_BYTES >> 20} MB, the grader's limit: ask for a smaller copy"
        elif why is None:
            self.candidates.append(_Candidate(self.entry(path), path, None, top, info.st_mtime))
            return
        self.entry(path).reason = why

    def _zip(self, path: Path, top: str, size: int) -> None:
        if size > MAX_ZIP_BYTES:
            self.entry(path).reason = f"a zip larger than {MAX_ZIP_BYTES >> 20} MB"
            return
        with open_regular(path) as handle:
            if directory_size(handle) > MAX_ZIP_DIRECTORY:
                self.entry(path).reason = (f"a zip whose list of files is larger than "
                                           f"{MAX_ZIP_DIRECTORY >> 20} MB (far more than "
                                           f"{MAX_ZIP_MEMBERS} files)")
                return
            with zipfile.ZipFile(handle) as archive:
                members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            self.entry(path).reason = f"a zip of more than {MAX_ZIP_MEMBERS} files"
            return
        notebooks = [member for member in members if not member.is_dir()
                     and member.filename.lower().endswith(".ipynb")]
        if not notebooks:
            self.entry(path).reason = f"a zip without a notebook ({len(members)} other files)"
        lms_named = _lms_named_tops(notebooks) if path.name == top else {}
        if len(lms_named) > 1:  # an LMS's "download all", not one student's zip
            lms = max(lms_named.values(), key=list(lms_named.values()).count)
            self.entry(path).reason = (
                f"a whole download: {len(lms_named)} entries named as {LMS_NAMES[lms]} names "
                "its downloads, e.g. " f"{printable(sorted(lms_named)[0])!r}: unzip it and "
                "collect the folder it makes")
            return
        for member in notebooks:
            entry = self.entry(path, member.filename)
            # a notebook in __MACOSX, .ipynb_checkpoints, a hidden folder or `..` is reported
            skipped = next(filter(None, map(_skipped_name, member.filename.split("/"))), None)
            if skipped:
                entry.reason = skipped
                continue
            if member.file_size > MAX_BYTES:
                entry.reason = f"larger than {MAX_BYTES >> 20} MB once unzipped"
                continue
            if len(Path(member.filename).name.encode("utf-8", "surrogatepass")) > NAME_MAX:
                entry.reason = f"a file name longer than {NAME_MAX} bytes, which no disk holds"
                continue
            try:
                mtime = datetime(*member.date_time).timestamp()
            except ValueError:
                mtime = 0.0
            self.candidates.append(_Candidate(entry, path, member, top, mtime))


def directory_size(handle) -> int:
    """The size in bytes of the table of contents (central directory) of the zip open as
    `handle`, as its end record states it: what zipfile.ZipFile reads whole and parses (a file
    with no end record is zipfile.BadZipFile, as ZipFile says)."""
    end = zipfile._EndRecData(handle)  # the reader ZipFile itself uses (zip64 included)
    if end is None:
        raise zipfile.BadZipFile("File is not a zip file")
    return end[zipfile._ECD_SIZE]


def attempt_levels(stem: str) -> list[str]:
    """`stem`, then `stem` less one attempt suffix more at a time, as far as it has them
    ("ch1-Copy1 (2)": "ch1-Copy1 (2)", "ch1-Copy1", "ch1")."""
    levels = [stem]
    while (shorter := SUFFIX.sub("", levels[-1])) != levels[-1]:
        levels.append(shorter)
    return levels


def _ends_with_notebook(stem: str, notebooks: list[str]) -> str | None:
    """The assignment notebook `stem` ends with as a word of its own (the longest), or None."""
    lowered = stem.lower()
    matches = [name for name in notebooks if lowered == name.lower()
               or lowered.endswith(tuple(separator + name.lower() for separator in SEPARATORS))]
    return max(matches, key=len) if matches else None


def notebook_named(given: str, notebooks: list[str]) -> str | None:
    """The assignment notebook a file's name ends with as a word of its own: the whole name, or
    after one of SEPARATORS (case and attempt suffixes aside). `xch1.ipynb` is not `ch1`'s: a
    flat file so named is student `xch1`'s, never `x`'s."""
    for level in attempt_levels(Path(given).stem):
        notebook = _ends_with_notebook(level, notebooks)
        if notebook:
            return notebook
    return None


@dataclass(frozen=True)
class FlatName:
    """What a name at the top of a download folder (a flat file or zip: `ada_ch1-2.ipynb`,
    `ada.ipynb`, `ada.zip`) can say about its student.

    student: the id the documented layout reads: the text before the notebook's name (`ada` of
        `ada_ch1-2`), else the whole name, less only the attempt suffixes no id can hold
        (`ada` of `ada (2)`); "" when the name is the notebook's alone.
    notebook: the notebook the name ends with (attempt suffixes aside), or None.
    attempt_ids: other ids the name reads as once an attempt suffix is cut from the student's
        own place, with that suffix (`x-1.ipynb`: ("x", "-1")): student x's attempt 1, or
        student x-1's file; only when no notebook's name stands between the two.
    whole_ids: the ids the whole name is, with the attempt suffix cut from it ("" for none), when
        the layout cut a notebook's name from it (`x_ch1.ipynb`: ("x_ch1", "")), ids a roster
        may hold."""

    student: str
    notebook: str | None
    attempt_ids: tuple[tuple[str, str], ...] = ()
    whole_ids: tuple[tuple[str, str], ...] = ()


def read_flat_name(name: str, notebooks: list[str]) -> FlatName:
    """How the name of a flat file or zip at the top of a download reads (`FlatName`)."""
    levels = attempt_levels(Path(name).stem)
    for level in levels:
        notebook = _ends_with_notebook(level, notebooks)
        if notebook:
            student = level[: len(level) - len(notebook)].rstrip(SEPARATORS)
            whole = tuple((other, levels[0][len(other):]) for other in levels
                          if other != student and not student_id_problem(other))
            return FlatName(student, notebook, whole_ids=whole)
    usable = [level for level in levels if not student_id_problem(level)]
    if not usable:
        return FlatName(levels[-1], None)
    student = usable[0]
    cut = tuple((other, student[len(other):]) for other in dict.fromkeys(usable[1:]))
    return FlatName(student, None, attempt_ids=cut)


def _lms_named_tops(members: list[zipfile.ZipInfo]) -> dict[str, str]:
    """{first folder or file name of a zip's notebook members: the LMS whose download naming it
    follows}, for those that follow one."""
    named = {}
    for member in members:
        first = member.filename.lstrip("/").split("/")[0]
        for lms, pattern in LMS_PATTERNS.items():
            if re.search(pattern, first, re.IGNORECASE):
                named[first] = lms
                break
    return named


def detect_lms(tops: list[str]) -> str | None:
    """The LMS whose download naming every name in `tops` follows, or None if none does;
    ValueError if some do and some do not, or several LMSs fit."""
    if not tops:
        return None
    fits = {lms: [top for top in tops if re.search(pattern, top, re.IGNORECASE)]
            for lms, pattern in LMS_PATTERNS.items()}
    every = [lms for lms, named in fits.items() if len(named) == len(tops)]
    if len(every) == 1:
        return every[0]
    some = [lms for lms, named in fits.items() if named]
    if not some:
        return None
    lms = every[0] if every else max(some, key=lambda name: len(fits[name]))
    raise ValueError(
        f"{len(fits[lms])} of the {len(tops)} entries holding a notebook are named as "
        f"{LMS_NAMES[lms]} names its downloads (e.g. {printable(fits[lms][0])!r}): give "
        f"--lms {lms} to read them so, another --lms, or --lms {NO_LMS} to take the names as "
        "they are")


class KnownIds:
    """The ids the class knows (a roster, the per-student roster, the gradebook's, those
    collected), matched as the course tells one id from another: by `id_key`, so `bob` and
    `BOB`, or `jose\u0301` typed on macOS, are the roster's `Bob` or `jos\u00e9`. A name
    that holds what shows nothing (`unseen_problem`) is never any of them.

    >>> known = KnownIds(["Bob", "jos\u00e9"])
    >>> known.spellings("bob"), known.spellings("jose\u0301"), "BOB" in known, "ann" in known
    (['Bob'], ['jos\xe9'], True, False)
    """

    def __init__(self, ids=()):
        self._spellings: dict[str, set[str]] = defaultdict(set)
        for student in ids:
            self._spellings[id_key(student)].add(student)

    def spellings(self, name: str) -> list[str]:
        """The known ids `name` is (one, or several when the class holds one id spelled two
        ways), sorted; [] if none."""
        if unseen_problem(name) is not None:
            return []
        return sorted(self._spellings.get(id_key(name), ()))

    def __contains__(self, name: str) -> bool:
        return bool(self.spellings(name))


class _Naming:
    """Reads a student (and the uploaded file's name) from a top-level entry's name.

    known: the ids known to be the class's students (a roster, the course's students): a name
    at the top of the folder that could be one student's or another's (`FlatName`) is taken only
    when they tell which, and reported otherwise; a student id read that is a known one spelled
    otherwise (`KnownIds`) is taken as the known one, or reported if it is two of them."""

    def __init__(self, notebooks: list[str], pattern: str | None, described: str,
                 known: KnownIds | None = None):
        self.notebooks = notebooks
        self.pattern = re.compile(pattern, re.IGNORECASE) if pattern else None
        self.described = described
        self.known = known if known is not None else KnownIds()

    def attempt(self, top: str) -> str:
        """The attempt time the naming reads from `top` ("" if none)."""
        match = self.pattern.search(top) if self.pattern else None
        return (match.groupdict().get("attempt") or "") if match else ""

    def name(self, candidate: _Candidate) -> str | None:
        """Set the candidate's student and given name; return why it cannot be, or None."""
        at_top = candidate.member is None and candidate.path.name == candidate.top
        own = Path(candidate.member.filename).name if candidate.member else candidate.path.name
        if self.pattern is not None:
            match = self.pattern.search(candidate.top)
            if match is None:
                return f"its name does not follow {self.described}"
            student = match["student"]
            candidate.given = (match.groupdict().get("file") or own) if at_top else own
        else:
            candidate.given = own
            student = candidate.top
            if at_top or candidate.top.lower().endswith(".zip"):
                reading = read_flat_name(candidate.top, self.notebooks)
                if reading.notebook and not reading.student:
                    return ("named as the assignment's notebook, with no student in its name: "
                            "put it in a folder named by the student, or name it "
                            f"<student>_{reading.notebook}.ipynb")
                student, why = self.whose(reading)
                if why:
                    return why
        spellings = self.known.spellings(student)
        if len(spellings) > 1:
            both = " and ".join(map(ascii, spellings))
            return (f"its student id {printable(student)!r} is {both} of the class, one id "
                    "spelled two ways (capitals, or Unicode's forms of a letter): whose it is "
                    "is yours to say; not collected: leave one spelling in the roster, the "
                    "gradebook and submitted/, then collect again")
        if spellings:  # the class's own spelling of the id, whatever the name's
            candidate.student = spellings[0]
            return None
        problem = student_id_problem(student)
        if problem:
            return (f"{printable(student)!r} is not usable as a student id ({problem}): rename "
                    "it, or give --id-pattern or --lms")
        candidate.student = student
        return None

    def whose(self, reading: FlatName) -> tuple[str, str | None]:
        """(the student a top-level name is taken as, None) or ("", why it is not taken): the
        layout's student, unless the name also reads as another id (`FlatName`). Then the
        layout's student is taken only if the class knows it and none of the others
        (`x-1.ipynb`: student x-1 on the roster, x not); a whole name the class knows, when
        the class knows no other reading (`x_ch1.ipynb` of student x_ch1); else nobody."""
        student, known = reading.student, self.known
        fix = ("put it in a folder named by its student, or name it <student>_<notebook>.ipynb, "
               "or give --roster listing the class's ids")
        if reading.attempt_ids:
            cut = "; ".join(f"student {other!r} with the attempt suffix {suffix!r}"
                            for other, suffix in reading.attempt_ids)
            others = [other for other, _ in reading.attempt_ids if other in known]
            if student in known and not others:
                return student, None
            why = (f"{student!r} and {others[0]!r} are both students of the course"
                   if student in known else
                   f"{student!r} is not a student the course knows (roster, gradebook or "
                   "collected), so it may be another student's attempt")
            return "", (f"its name reads as student {student!r}, or as {cut}: {why}; not "
                        f"collected: {fix}")
        whole = [(other, suffix) for other, suffix in reading.whole_ids if other in known]
        if not whole:
            return student, None
        if student not in known and len(whole) == 1 and not whole[0][1]:
            return whole[0][0], None
        other, suffix = whole[0]
        cut = f" with the attempt suffix {suffix!r}" if suffix else ""
        return "", (f"its name reads as student {printable(student)!r}'s {reading.notebook}, or "
                    f"as student {other!r}{cut}, a student of the course: which is meant is not "
                    f"clear; not collected: {fix}")


def _attempts(candidates: list[_Candidate], notebooks: list[str]) -> dict[tuple, list]:
    """{(student, notebook): its attempts}; a candidate that is none is given its reason."""
    attempts: dict[tuple, list] = defaultdict(list)
    unnamed: dict[str, list] = defaultdict(list)
    for candidate in candidates:
        notebook = notebook_named(candidate.given, notebooks)
        if notebook:
            attempts[candidate.student, notebook].append(candidate)
        else:
            unnamed[candidate.student].append(candidate)
    for student, files in unnamed.items():
        if len(notebooks) == 1:  # a renamed file: students rename files
            for candidate in files:
                candidate.renamed = True
            attempts[student, notebooks[0]] += files
            continue
        expected = ", ".join(f"{name}.ipynb" for name in notebooks)
        for candidate in files:
            candidate.entry.reason = (f"its name matches none of the assignment's notebooks "
                                      f"({expected})")
    return attempts


def _naming(survey: _Survey, notebooks: list[str], id_pattern: str | None,
            lms: str | None, known: KnownIds) -> tuple[_Naming, str]:
    """How to read names, and how the report describes it ("" when the names are read plainly)."""
    if lms is not None and lms != NO_LMS and lms not in LMS_PATTERNS:
        raise ValueError(f"unknown --lms {lms!r}; expected one of "
                         f"{sorted([*LMS_PATTERNS, NO_LMS])}")
    if lms is not None and id_pattern:
        raise ValueError("give --lms or --id-pattern, not both")
    if id_pattern:
        try:
            groups = re.compile(id_pattern).groupindex
        except re.error as error:
            raise ValueError(f"--id-pattern is not a regular expression: {error}") from None
        if "student" not in groups:
            raise ValueError("--id-pattern needs a (?P<student>...) group naming the student")
        return _Naming(notebooks, id_pattern, f"--id-pattern {id_pattern!r}"), ""
    if lms == NO_LMS:
        return _Naming(notebooks, None, "", known), ""
    detected = lms is None
    if detected:
        lms = detect_lms(sorted({candidate.top for candidate in survey.candidates}))
        if lms is None:
            return _Naming(notebooks, None, "", known), ""
    described = f"{LMS_NAMES[lms]}'s download naming"
    note = (f"names read as {described} (detected; give --lms {NO_LMS} to take them as they "
            "are)" if detected else f"names read as {described} (--lms {lms})")
    return _Naming(notebooks, LMS_PATTERNS[lms], described), note


def collect(course: Course, assignment: str, folder: str | Path,
            id_pattern: str | None = None, lms: str | None = None,
            roster: list[str] | None = None, replace_newer: bool = False) -> CollectReport:
    """Copy the submissions of `assignment` in `folder` into submitted/; report every entry.

    lms: "canvas", "moodle" or "blackboard" reads that system's download naming (LMS_PATTERNS),
    "none" reads names as they are; by default the naming is detected (module docstring).
    roster: the class's student ids, besides those the course knows (`Course.students`: the
    gradebook's, the per-student roster, those collected): which of them a name that reads two
    ways names (`FlatName`), and the spelling a name that is one of them spelled otherwise is
    taken under (`KnownIds`). replace_newer: take each student's latest attempt of the download
    even where the submission collected before is later (an instructor's correction)."""
    folder = Path(folder)
    if not folder.is_dir():
        name = printable(str(folder))
        raise FileNotFoundError(
            f"{name} is a file, not a folder: unzip it and give the folder it makes"
            if folder.is_file() else
            f"no folder {name}: give the folder holding the downloaded submissions")
    notebooks = course.notebooks(assignment)
    survey = _Survey(folder)
    for name in sorted(os.listdir(folder)):
        survey.walk(folder / name, name)
    known = KnownIds([*(roster or ()), *course.students(),
                      *(student for group in course.lookalike_students() for student in group)])
    naming, note = _naming(survey, notebooks, id_pattern, lms, known)
    named = []
    for candidate in survey.candidates:
        why = naming.name(candidate)
        if why:
            candidate.entry.reason = why
        else:
            named.append(candidate)
    named = _distinct_ids(course, named)
    report = CollectReport(survey.entries, naming=note)
    sources = CourseNotebooks(course)
    for (student, notebook), files in sorted(_attempts(named, notebooks).items()):
        files.sort(key=lambda c: c.key(naming.attempt(c.top)), reverse=True)
        taken = _take(course, assignment, student, notebook, files, naming, replace_newer,
                      sources)
        if taken is not None:
            report.taken.append(taken)
    return report


def _distinct_ids(course: Course, candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates whose student id no other id (of the download, or a student already
    collected) spells otherwise (`course_folder.id_key`): `Bob` and `bob` would be one folder
    on a disk that ignores case (macOS's, Windows'), so each of them is reported instead,
    never mixed up."""
    submitted = course.root / "submitted"
    spellings = defaultdict(set)
    for student in [*(c.student for c in candidates),
                    *(os.listdir(submitted) if submitted.is_dir() else [])]:
        spellings[id_key(student)].add(student)
    distinct = []
    for candidate in candidates:
        others = sorted(spellings[id_key(candidate.student)] - {candidate.student})
        if others:
            candidate.entry.reason = (
                f"its student id {candidate.student!r} is {ascii(others[0])} spelled otherwise "
                "(capitals, or Unicode's forms of a letter), which a disk that ignores case "
                "cannot tell apart: rename one of them, or give --id-pattern")
        else:
            distinct.append(candidate)
    return distinct


def submitted_at(candidate: _Candidate, attempt: str) -> datetime:
    """When `candidate` was handed in, as far as the download tells: the attempt time its
    LMS's naming carries (Blackboard's, taken as UTC), else its modification time."""
    if attempt:
        try:
            return datetime.strptime(attempt, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromtimestamp(candidate.mtime, timezone.utc)


def collected_at(folder: Path) -> datetime | None:
    """The time `timestamp.txt` in a submission's folder gives (collect's, or nbgrader's own
    collect's: `2026-11-30 10:15:00.000000 UTC`, another zone or an offset), in UTC; None if
    there is none or it cannot be read."""
    from dateutil import parser, tz

    try:
        text = read_regular_file(folder / TIMESTAMP, 200).decode("ascii").strip()
        parts = text.split(" ")
        zone = parts.pop() if len(parts) == 3 else ""
        when = parser.parse(" ".join(parts))
        if zone:
            offset = tz.tzoffset(None, int(zone[:3]) * 3600 + int(zone[0] + zone[3:]) * 60) \
                if re.fullmatch(r"[+-][0-9]{4}", zone) else tz.gettz(zone)
            if offset is None:
                return None
            when = when.replace(tzinfo=offset)
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) \
            .astimezone(timezone.utc)
    except (OSError, ValueError, OverflowError):
        return None


TIMESTAMP = "timestamp.txt"  # beside a submission: when it was handed in (nbgrader's file)


def _shown_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _take(course: Course, assignment: str, student: str, notebook: str,
          files: list[_Candidate], naming: _Naming, replace_newer: bool,
          sources: CourseNotebooks) -> Collected | None:
    """Collect the latest readable attempt of `files` (latest first) whose cells are not
    another notebook's of the course (`other_notebook`), unless the submission collected before
    is later (or of an unknown time) and not `replace_newer`; report each."""
    where = f"{student}/{notebook}"
    for index, candidate in enumerate(files):
        candidate.entry.student = student
        try:
            data = _read(candidate)
        except Exception as error:  # noqa: BLE001 - an entry's failure is that entry's reason
            candidate.entry.reason = (f"an attempt at {where} that could not be read "
                                      f"({printable(str(error)) or type(error).__name__})")
            continue
        other = other_notebook(data, (assignment, notebook), sources)
        if other:
            candidate.entry.student, candidate.entry.reason = "", other
            continue
        for older in files[index + 1:]:
            if older.renamed and not candidate.renamed:
                older.entry.reason = (f"its name matches none of the assignment's notebooks "
                                      f"({notebook}.ipynb), and the student handed that in by "
                                      f"name ({candidate.entry.shown})")
                continue
            older.entry.student, older.entry.outcome = student, OLDER
            older.entry.reason = f"at {where}; {candidate.entry.shown} is later"
        beaten = [older for older in files[index + 1:] if older.renamed == candidate.renamed]
        return _record(course, (student, assignment, notebook), candidate, data,
                       handed_in(candidate, beaten, naming), replace_newer, len(files))
    return None


def handed_in(candidate: _Candidate, beaten: list[_Candidate], naming: _Naming) -> datetime:
    """When the attempt taken, `candidate`, was handed in, as collect records it: its own time
    (`submitted_at`), but never before an attempt it was ranked above (`beaten`, latest first:
    `ada_ch1-2` is later than `ada_ch1` whatever their files' times say), a microsecond after
    each such; so a download holding only an attempt it beat is never taken as later."""
    when = submitted_at(candidate, naming.attempt(candidate.top))
    for place, older in enumerate(beaten, start=1):
        when = max(when, submitted_at(older, naming.attempt(older.top))
                   + timedelta(microseconds=place))
    return when


def other_notebook(data: bytes, named: tuple[str, str], sources: CourseNotebooks) -> str:
    """Why a file taken by its name as the notebook `named` (assignment, notebook) is another
    notebook of the course, recognised by its cells (`notebook_marks`), or "": a chapter
    handed in under another's name, or collected into the wrong assignment, is never graded
    as this one, nor replaces what the student handed in for it. A file whose cells are no
    notebook's of the course is this one's, as its name says (graded for what it is)."""
    cells = cells_of(data)
    found = sources.recognise(cells, named) if cells is not None else None
    if found is None or found == named:
        return ""
    assignment, notebook = found
    where = (f"`llmf-grade collect {assignment} <folder>`" if assignment != named[0] else
             f"a file named {notebook}.ipynb")
    return (f"named as {named[1]}, but its cells are those of {notebook}.ipynb of assignment "
            f"{assignment}: not collected as {named[1]}; collect it as {where}")


def _record(course: Course, key: tuple, candidate: _Candidate, data: bytes, when: datetime,
            replace_newer: bool, attempts: int) -> Collected | None:
    """Make `data`, handed in at `when`, the submission of `key` (student, assignment,
    notebook), unless it is what is there, or what is there is later and not `replace_newer`.
    A changed submission's grades are forgotten first (`forget_grades`), so that no score of
    the notebook it replaces is ever shown for it."""
    student, _, notebook = key
    where, entry = f"{student}/{notebook}", candidate.entry
    target = course.submission(*key)
    of = f", the latest of {attempts} attempts" if attempts > 1 else ""
    try:
        kept = target.is_file()
        changed = not kept or target.stat().st_size != len(data) or target.read_bytes() != data
        if not changed:
            entry.outcome, entry.reason = COLLECTED, f"as {where}{of} (unchanged)"
            return Collected(student, notebook, entry.shown, False, attempts)
        before = collected_at(target.parent) if kept else None
        if kept and not replace_newer and (before is None or before >= when):
            entry.outcome = OLDER
            entry.reason = (f"at {where}; the submission collected before "
                            + (f"({_shown_time(before)}) is as late or later than this one "
                               f"({_shown_time(when)})" if before else
                               f"has no readable {TIMESTAMP}, so which is later is unknown")
                            + ": kept it; give --replace-newer to take this one instead")
            return None
        cleared = forget_grades(course, *key, new=data)
        atomic_write(target, data)
        atomic_write(target.parent / TIMESTAMP, when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    except Exception as error:  # noqa: BLE001 - an entry's failure is that entry's reason
        entry.reason = (f"an attempt at {where} that could not be recorded "
                        f"({printable(str(error)) or type(error).__name__}): collect again")
        return None
    entry.outcome = COLLECTED
    replaced = " (replacing a later one collected before: --replace-newer)" \
        if kept and before is not None and before >= when else ""
    by_hand = (f"; the scores and comments given by hand to the notebook it replaces "
               f"({', '.join(cleared)}) are cleared with its grade: grade it again"
               if cleared else "")
    entry.reason = f"as {where}{of}{replaced}{by_hand}"
    return Collected(student, notebook, entry.shown, True, attempts)
