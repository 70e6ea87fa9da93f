"""Student ids the course holds never make a path that leads out of their place.

collect takes only ids without a `student_id_problem`, but the gradebook may hold any id
(nbgrader's own collect, Formgrader's Manage Students): `..`, `a/b`, `../../elsewhere`. Every
path of a student's file goes through `Course._student_file`, which refuses such an id, and
`Course.students()` leaves them out, which grade, export and feedback say in one line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from grading_cli import FIXTURES, llmf, released_course
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course_folder import Course

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
