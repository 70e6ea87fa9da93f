"""Which variant each student of a class has, and each student's own source, release and plan.

`llmf-grade release --per-student` gives every student on a roster a variant of every notebook
(autograder.variants), its seed drawn from the student id, the notebook and, if the instructor
asks for one, a course key kept in the course folder. Nothing about a variant is stored but how
to recompute it:

    <course>/variants.json    {"students": [ids], "course_key": true|false, "key_check": digest}
    <course>/variant_key      the course key (64 hex digits; private, back it up) if asked for
    <course>/release-per-student/<assignment>/<student>/<notebook>.ipynb   each student's file

Grading, the graded copies and feedback read a student's source through `ClassVariants`: the
student's variant of the instructor's source when the class has per-student variants, else the
source itself. A course without variants.json is graded exactly as before.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import secrets
from pathlib import Path

import nbformat

from autograder.course_folder import Course, id_key, student_id_problem
from autograder.files import atomic_write
from autograder.grader.plan import Plan, VariantCheck, plan_of
from autograder.variants import (
    Variant,
    apply_variant,
    signature_cells,
    variant_signature,
    variant_tables,
)

MANIFEST = "variants.json"
KEY_FILE = "variant_key"
PER_STUDENT = "release-per-student"
ROSTER_COLUMNS = ("student", "student_id", "id", "username", "login")
UNKEYED = b"llmf-grade variants without a course key"
# why two ids of one key (`id_key`) cannot both be on a roster
SPELLED_OTHERWISE = ("spelled otherwise (capitals, or Unicode's forms of a letter): a disk that "
                     "ignores case makes their per-student folders one, handing one student the "
                     "other's variant")


class RosterError(ValueError):
    """A roster that cannot give each student one variant (said in one line)."""


def read_roster(path: str | Path) -> list[str]:
    """The student ids of a roster CSV: the column named student (or student_id, id, username,
    login) if the first row names one, else the first column. Raises RosterError naming every
    malformed or repeated id and its line, a repeat being an id or one spelled otherwise
    (`course_folder.id_key`: `Bob` and `bob`)."""
    path = Path(path)
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"roster {path}: cannot be read as a CSV file ({error})") from None
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    named = [column for column in ROSTER_COLUMNS if column in header]
    column = header.index(named[0]) if named else 0
    first_line = 2 if named else 1
    students, problems, seen = [], [], {}
    for line, row in enumerate(rows[first_line - 1:], start=first_line):
        student = row[column].strip() if len(row) > column else ""
        if not student:
            if any(cell.strip() for cell in row):
                problems.append(f"line {line} has no student id")
            continue
        problem = student_id_problem(student)
        if problem:
            problems.append(f"line {line}: {student!r} is not a usable student id ({problem})")
            continue
        if id_key(student) in seen:
            first, first_line = seen[id_key(student)]
            problems.append(f"line {line}: student {student!r} is listed twice (first on line "
                            f"{first_line})" if first == student else
                            f"line {line}: student {student!r} is {first!r} of line "
                            f"{first_line} {SPELLED_OTHERWISE}")
            continue
        seen[id_key(student)] = (student, line)
        students.append(student)
    if problems:
        raise RosterError(f"roster {path}: " + "; ".join(problems))
    if not students:
        raise RosterError(f"roster {path} lists no student: expected a CSV with a column "
                          f"named {' or '.join(ROSTER_COLUMNS[:2])}, or ids in its first column")
    return students


def canonical_bytes(notebook) -> bytes:
    """A notebook (nbformat node) as bytes that name its content: sorted JSON (its digest
    names a student's source; nbformat's own writer would validate it, 50 ms a notebook)."""
    return json.dumps(notebook, sort_keys=True, ensure_ascii=False).encode("utf-8",
                                                                          "surrogateescape")


def variant_seed(key: bytes, student: str, assignment: str, notebook: str) -> int:
    """The seed of a student's variant of a notebook (64 bits; HMAC-SHA256 of the ids)."""
    message = f"{assignment}/{notebook}/{student}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big")


def key_check(key: bytes) -> str:
    """A digest that tells whether a course key is the one the variants were made with."""
    return hashlib.sha256(b"llmf-variant-key:" + key).hexdigest()[:16]


def read_key(course: Course) -> bytes:
    """The course key, or a RuntimeError saying that it is missing and what depends on it."""
    path = course.root / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        raise RuntimeError(
            f"the course key {path} is missing or unreadable, and the class's variants were "
            f"made with it (`release --per-student --course-key`): put the file back from your "
            "backup (without it no student's variant can be recomputed)") from None


class ClassVariants:
    """The class's variants as `variants.json` records them (none if it does not exist)."""

    def __init__(self, course: Course):
        self.course = course
        path = course.root / MANIFEST
        self.manifest = json.loads(path.read_text()) if path.exists() else None
        self.students: list[str] = list(self.manifest["students"]) if self.manifest else []
        self.key = b""
        if self.manifest and self.manifest.get("course_key"):
            self.key = read_key(course)
            if key_check(self.key) != self.manifest.get("key_check"):
                raise RuntimeError(f"the course key {course.root / KEY_FILE} is not the one the "
                                   "class's variants were made with: put the right one back")
        self._sources: dict[tuple[str, str], object] = {}
        self._known: dict[tuple[str, str], dict] = {}

    @staticmethod
    def roster(course: Course) -> list[str]:
        """The students `variants.json` names ([] without one), its key left unread."""
        path = course.root / MANIFEST
        return list(json.loads(path.read_text())["students"]) if path.exists() else []

    @property
    def enabled(self) -> bool:
        """True if the class was given per-student variants."""
        return self.manifest is not None

    def has(self, student: str) -> bool:
        return student in self.students

    def base_source(self, assignment: str, notebook: str):
        """The instructor's source notebook (nbformat node), read once."""
        if (assignment, notebook) not in self._sources:
            path = self.course.source(assignment, notebook)
            self._sources[assignment, notebook] = nbformat.read(path, as_version=4)
        return self._sources[assignment, notebook]

    @functools.cache  # noqa: B019 - one ClassVariants per command, its sources read once
    def signature_cells(self, assignment: str, notebook: str) -> list[str]:
        """The ids of the cells a variant of the notebook decides (variants.signature_cells)."""
        return signature_cells(self.base_source(assignment, notebook))

    def variant(self, student: str, assignment: str, notebook: str) -> Variant:
        return Variant(student, variant_seed(self.key or UNKEYED, student, assignment, notebook))

    def source(self, student: str, assignment: str, notebook: str):
        """The source a student is graded against: their variant of it (a new nbformat node
        sharing with the source what the variant leaves alone) when the class has variants and
        the student is on its roster, else the source itself; copy it before changing it."""
        base = self.base_source(assignment, notebook)
        if not self.has(student):
            return base
        return apply_variant(base, variant_tables(base), self.variant(student, assignment,
                                                                      notebook))

    def source_bytes(self, student: str, assignment: str, notebook: str) -> bytes:
        """The bytes whose digest names the student's source (the source file's own bytes for
        a student without a variant)."""
        if not self.has(student):
            return self.course.source(assignment, notebook).read_bytes()
        return canonical_bytes(self.source(student, assignment, notebook))

    def source_digest(self, student: str, assignment: str, notebook: str) -> str:
        return hashlib.sha256(self.source_bytes(student, assignment, notebook)).hexdigest()

    def known(self, assignment: str, notebook: str) -> dict:
        """{(cell id, digest): the students whose variant shows that text} over the roster,
        "" standing for the class-wide edition."""
        if (assignment, notebook) not in self._known:
            base = self.base_source(assignment, notebook)
            cells = self.signature_cells(assignment, notebook)
            known: dict[tuple[str, str], tuple[str, ...]] = {}
            for student in ["", *self.students]:
                made = self.source(student, assignment, notebook) if student else base
                for cell, digest in variant_signature(made, cells).items():
                    known[cell, digest] = (*known.get((cell, digest), ()), student)
            self._known[assignment, notebook] = known
        return self._known[assignment, notebook]

    def plan(self, student: str, assignment: str, notebook: str) -> Plan:
        """The Plan a student's notebook is graded with (their variant's when they have one)."""
        path = self.course.source(assignment, notebook)
        if not self.has(student):
            raw = path.read_bytes()
            return plan_of(nbformat.reads(raw.decode("utf-8"), as_version=4), raw, path)
        made = self.source(student, assignment, notebook)
        variant = self.variant(student, assignment, notebook)
        cells = self.signature_cells(assignment, notebook)
        check = VariantCheck(student, variant.mark, variant_signature(made, cells),
                             self.known(assignment, notebook))
        return plan_of(made, canonical_bytes(made), path, check)


def write_manifest(course: Course, students: list[str], use_key: bool) -> bytes:
    """Record the roster (joined with any earlier one) and the key setting; return the key
    (b"" without one). A re-release may add students but not change the key setting, which
    would give every student a new variant, nor spell an earlier student otherwise (RosterError,
    see `read_roster`)."""
    path, key = course.root / MANIFEST, b""
    earlier = json.loads(path.read_text()) if path.exists() else None
    spellings = {id_key(student): student for student in (earlier or {}).get("students", [])}
    for student in students:
        first = spellings.setdefault(id_key(student), student)
        if first != student:
            raise RosterError(f"{path}: student {student!r} is {first!r} {SPELLED_OTHERWISE}; "
                              "no per-student file was written")
    if earlier is not None and bool(earlier.get("course_key")) != use_key:
        made, asked = ("with", "without") if earlier.get("course_key") else ("without", "with")
        raise RuntimeError(
            f"{path} says the class's variants were made {made} a course key; releasing {asked} "
            f"one would give every student a new variant. Release {made} --course-key, or "
            f"delete {path.name} first if every student is to get a new variant")
    if use_key:
        if earlier is not None:
            key = read_key(course)
        else:
            key = secrets.token_bytes(32)
            atomic_write(course.root / KEY_FILE, key.hex() + "\n")
    roster = list(dict.fromkeys([*(earlier or {}).get("students", []), *students]))
    atomic_write(path, json.dumps({"students": roster, "course_key": use_key,
                                   "key_check": key_check(key) if use_key else ""}, indent=1))
    return key


def release_per_student(course: Course, assignments: list[str], students: list[str],
                        use_key: bool) -> list[Path]:
    """Write each student's variant of each assignment's classroom edition (which must have
    been released) to release-per-student/; return the paths written."""
    write_manifest(course, students, use_key)
    variants = ClassVariants(course)
    written = []
    for assignment in assignments:
        for notebook in course.notebooks(assignment):
            classroom = nbformat.read(course.root / "release" / assignment / f"{notebook}.ipynb",
                                      as_version=4)
            tables = variant_tables(variants.base_source(assignment, notebook))
            for student in students:
                made = apply_variant(classroom, tables,
                                     variants.variant(student, assignment, notebook))
                path = course.root / PER_STUDENT / assignment / student / f"{notebook}.ipynb"
                # compact JSON, by the C encoder: the classroom edition nbgrader wrote is a
                # valid notebook and a variant changes only texts (nbformat's own writer
                # validates and indents it again, 0.1 s a notebook)
                written.append(atomic_write(path, json.dumps(made, ensure_ascii=False)))
    return written
