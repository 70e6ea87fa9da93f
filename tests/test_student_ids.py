"""Student ids the course holds never make a path that leads out of their place.

collect takes only ids without a `student_id_problem`, but the gradebook may hold any id
(nbgrader's own collect, Formgrader's Manage Students): `..`, `a/b`, `../../elsewhere`. Every
path of a student's file goes through `Course._student_file`, which refuses such an id, and
`Course.students()` leaves them out, which grade, export and feedback say in one line.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from grading_cli import FAST, FIXTURES, llmf, released_course
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course_folder import Course
from autograder.grader.submission import submitted_digest
from autograder.records import GradeResult, Status, save_result

AREAS = {"submission": "submitted", "autograded": "autograded", "result": "autograded",
         "feedback": "feedback"}
PATHS = ["../../elsewhere", "..", ".", "", "a/b", "a\\b", "a\x00b", "/abs"]


@pytest.fixture(scope="module")
def plain_course(tmp_path_factory) -> Course:
    root = tmp_path_factory.mktemp("ids") / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    return Course(root)


@settings(max_examples=200, deadline=None)
@given(student=st.sampled_from(PATHS) | st.text(max_size=8) | st.builds(
    "".join, st.lists(st.sampled_from(["a", ".", "/", "\\", "\x00", ".."]), max_size=4)))
def test_a_students_path_is_one_folder_in_its_place_or_refused(plain_course, student):
    """Property over any id: each path of a student's file is <area>/<the id>/<assignment>/<file>,
    the id one folder, or ValueError."""
    for method, area in AREAS.items():
        try:
            path = getattr(plain_course, method)(student, "fx_basics", "fx_basics")
        except ValueError as error:
            assert "cannot name a folder" in str(error) and "\n" not in str(error)
            continue
        relative = path.relative_to(plain_course.root)
        assert relative.parts[:2] == (area, student) and len(relative.parts) == 4
        assert Path(plain_course.root, area, student).resolve().parent == \
            (plain_course.root / area).resolve()


def test_gradebook_ids_that_make_a_path_are_left_out_said_and_refused(tmp_path, capsys):
    root = released_course(tmp_path / "deep" / "course")
    course = Course(root)
    with course.gradebook() as gradebook:
        for student in PATHS[:2] + ["a/b", "=HYPERLINK(\"http://x\",\"y\")", "ada"]:
            gradebook.update_or_create_student(student)
    (root / "submitted" / "ada" / "fx_basics").mkdir(parents=True)
    shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb",
                root / "submitted" / "ada" / "fx_basics" / "fx_basics.ipynb")
    before = {path for path in tmp_path.rglob("*") if root not in path.parents}
    assert course.students() == ["ada"]
    assert llmf(root, "feedback") == 0
    assert llmf(root, "export", root / "grades.csv") == 0
    assert llmf(root, "export", root / "results", "--lms", "gradescope") == 0
    assert {path for path in tmp_path.rglob("*") if root not in path.parents} == before
    assert sorted(p.name for p in (root / "feedback").iterdir()) == ["ada"]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "left out" in line]
    assert len(warnings) == 3 and all("'..', '../../elsewhere', '=HYPERLINK" in w and "'a/b'" in w
                                      for w in warnings)
    assert llmf(root, "feedback", "--student", "../../elsewhere") == 1
    assert "cannot name a folder" in capsys.readouterr().err


NFC, NFD = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")


def test_one_id_spelled_two_ways_is_refused_both_ways_and_said(tmp_path, capsys):
    """`josé` typed on Linux (é one character) and on macOS (e and an accent), as nbgrader's own
    collect makes two folders of them: neither is graded, exported or given feedback (an LMS,
    a reader and macOS's disk take them for one student, and which is the student's is not the
    grader's to choose); every command says which ids, told apart by their escapes."""
    root = released_course(tmp_path / "course")
    for student in (NFC, NFD, "ada", "Bob", "bob"):
        folder = root / "submitted" / student / "fx_basics"
        folder.mkdir(parents=True)
        shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb", folder)
    course = Course(root)
    assert course.students() == ["ada"]
    assert course.lookalike_students() == [("Bob", "bob"), (NFD, NFC)]
    assert llmf(root, "grade", *FAST, "-j", "1") == 0
    assert llmf(root, "export", root / "grades.csv") == 0
    assert llmf(root, "feedback") == 0
    assert sorted(p.name for p in (root / "autograded").iterdir()) == ["ada"]
    assert [line.split(",")[0] for line in (root / "grades.csv").read_text().splitlines()] == \
        ["student", "ada"]
    said = [line for line in capsys.readouterr().err.splitlines() if "spelled" in line]
    assert len(said) == 3 and all("'jose\\u0301' and 'jos\\xe9'" in line and
                                  "'Bob' and 'bob'" in line for line in said)
    for command in ("grade", "feedback"):
        assert llmf(root, command, "--student", NFD) == 1
        assert "spelled" in capsys.readouterr().err


@settings(max_examples=200, deadline=None)
@given(base=st.text(st.sampled_from("abéeEÉ\u0301ﬁf"), min_size=1, max_size=5),
       others=st.lists(st.text(st.sampled_from("abéeEÉ\u0301ﬁfi"), min_size=1, max_size=5),
                       max_size=3))
def test_ids_that_read_the_same_are_never_graded_apart(tmp_path_factory, base, others):
    """Property: of the ids a course holds, those that are one text once normalised (NFKC) and
    case-folded are each refused, in one group; every other id is a student."""
    root = tmp_path_factory.mktemp("lookalike") / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    ids = {base, *others}
    for student in ids:
        (root / "submitted" / student).mkdir(parents=True, exist_ok=True)
    course = Course(root)
    held = {path.name for path in (root / "submitted").iterdir()}  # as the disk keeps them
    key = lambda student: unicodedata.normalize("NFKC", student).casefold()  # noqa: E731
    groups = [group for group in course.lookalike_students()]
    assert sorted(course.students() + [s for group in groups for s in group]) == sorted(held)
    assert len({key(student) for student in course.students()}) == len(course.students())
    assert all(len({key(s) for s in group}) == 1 and len(group) > 1 for group in groups)
    assert not {key(s) for s in course.students()} & {key(g[0]) for g in groups}


# characters that show nothing, as the Unicode Standard lists them (Default_Ignorable_Code_Point)
# and as a page renders them: variation selectors, Hangul fillers, joiners, the soft hyphen,
# the combining grapheme joiner, bidi controls, tags; and any control or format character
SHOWING_NOTHING = st.sampled_from(
    [chr(c) for c in (*range(0xFE00, 0xFE10), 0xE0100, 0xE0150, 0xE01EF, 0x115F, 0x1160,
                      0x3164, 0xFFA0, 0x200B, 0x200C, 0x200D, 0x00AD, 0x034F, 0x061C, 0x180E,
                      0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xE0001,
                      0xE0020, 0xE0041, 0xE007F)]) | st.characters(
    categories=("Cc", "Cf", "Zl", "Zp"), exclude_characters="\x00/")


@settings(max_examples=200, deadline=None)
@given(base=st.text(st.sampled_from("abAé.-"), min_size=1, max_size=5).filter(
           lambda s: s[0].isalpha() and not s.endswith(".")),
       hidden=st.lists(st.tuples(st.integers(0, 6), SHOWING_NOTHING), min_size=1, max_size=4),
       spaces=st.sampled_from(["", " ", "  ", "\u00a0"]))
def test_ids_that_differ_by_what_shows_nothing_are_never_graded_apart(tmp_path_factory, base,
                                                                      hidden, spaces):
    """Property: whatever characters that show nothing are put into an id (anywhere, any
    number), and whatever spaces at its end, the ids the course holds that read as `base` are
    one student, `base` itself: every other spelling is refused and named, never graded."""
    root = tmp_path_factory.mktemp("unseen") / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    spellings = {base}
    for position, character in hidden:
        spellings.add(base[:position] + character + base[position:])
    spellings.add(base + spaces)
    for student in spellings:
        (root / "submitted" / student).mkdir(parents=True, exist_ok=True)
    course = Course(root)
    assert course.students() == [base]
    assert course.refused_students() == sorted(spellings - {base})
    assert course.lookalike_students() == []


def test_an_id_holding_what_shows_nothing_is_left_out_and_said(tmp_path, capsys):
    """`ada`, `ada` and a zero-width joiner, `ada` and a variation selector, `ada` and a
    Hangul filler: one id on every page and in an LMS, three folders of nbgrader's collect. Only
    `ada` is exported; each command names the others by their escapes; `--student` refuses
    one."""
    root = released_course(tmp_path / "course")
    for student in ("ada", "ada\u200d", "ada\ufe0f", "ada\u3164"):
        folder = root / "submitted" / student / "fx_basics"
        folder.mkdir(parents=True)
        shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb", folder)
    assert llmf(root, "export", root / "grades.csv") == 0
    assert [line.split(",")[0] for line in (root / "grades.csv").read_text().splitlines()] == \
        ["student", "ada"]
    said = [line for line in capsys.readouterr().err.splitlines() if "show nothing" in line]
    assert len(said) == 1 and all(f"'ada\\{code}'" in said[0]
                                  for code in ("u200d", "ufe0f", "u3164"))
    assert llmf(root, "feedback", "--student", "ada\u200d") == 1
    assert "U+200D ZERO WIDTH JOINER" in capsys.readouterr().err


def test_results_left_by_ids_now_refused_never_reach_the_gradebook(tmp_path):
    """`Bob` was graded, then the instructor moved Bob's files into `bob`'s folder and removed
    `Bob` from the gradebook, as `grade` says to; `ada\\u200d` was graded before such ids were
    refused. Their result files stay in autograded/: `export`'s gradebook sync pushed them back,
    making `Bob` a student again (and `bob`, spelled otherwise, vanished from the export), and
    entering `ada\\u200d` in the gradebook Formgrader shows. Only the course's students are
    synced."""
    root = released_course(tmp_path / "course")
    course = Course(root)
    for student in ("ada", "bob"):
        folder = root / "submitted" / student / "fx_basics"
        folder.mkdir(parents=True)
        shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb", folder)
    # a result of ada's notebook as it is (one of another notebook is forgotten, never pushed)
    result = GradeResult("fx_basics", Status.GRADED, "", {}, submission_sha256=submitted_digest(
        course.submission("ada", "fx_basics", "fx_basics")))
    for student in ("ada", "Bob", "ada\u200d"):
        save_result(result, course.result(student, "fx_basics", "fx_basics"))
    assert llmf(root, "export", root / "grades.csv") == 0
    with course.gradebook() as gradebook:
        assert sorted(student.id for student in gradebook.students) == ["ada"]
    assert [line.split(",")[0] for line in (root / "grades.csv").read_text().splitlines()] == \
        ["student", "ada", "bob"]


def test_student_names_only_a_student_the_course_holds(tmp_path, capsys):
    """`--student Bob` for a course whose student is `bob` (a typo, or the LMS's capitals):
    grade recorded a `missing` result for Bob and feedback wrote Bob a page, each in a folder
    of Bob's own, which on a disk that ignores case (macOS's, Windows') is bob's: bob's grade
    and page were replaced by a missing notebook's. Both refuse it in one line, writing
    nothing."""
    root = released_course(tmp_path / "course")
    folder = root / "submitted" / "bob" / "fx_basics"
    folder.mkdir(parents=True)
    shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb", folder)
    for command in ("grade", "feedback"):
        assert llmf(root, command, "--student", "Bob") == 1
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and "'Bob' is not a student of the course" in error
    assert not (root / "autograded").exists() and not (root / "feedback").exists()
