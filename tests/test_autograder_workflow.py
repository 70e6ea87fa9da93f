"""The instructor's workflow with `llmf-grade`: release, collect, grade, export, feedback.

Runs the real command line on a copy of the fixture course: idempotent re-grades, a grader
killed mid-run, a re-submission that breaks, manual grading through the gradebook, and feedback
pages that never show hidden tests.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
from html import escape
from pathlib import Path

import nbformat
import pytest
import synthetic
from grading_cli import (
    FAST,
    FIXTURES,
    ROOT,
    SOURCE,
    assert_nothing_left,
    grading,
    grading_in_background,
    llmf,
    private_tmp,
    released_course,
)

from autograder.cli import main
from autograder.course_folder import Course
from autograder.grader import scratch


def read_csv(path: Path) -> dict[str, dict]:
    with path.open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A released, collected and graded copy of the fixture course."""
    root = tmp_path_factory.mktemp("course")
    released_course(root)

    per_student = tmp_path_factory.mktemp("lms_folders")
    for student, answers in [("ada", synthetic.correct_answers(SOURCE)), ("bob", {})]:
        (per_student / student).mkdir()
        nbformat.write(synthetic.student_notebook(SOURCE, answers),
                       str(per_student / student / "my copy.ipynb"))
    flat = tmp_path_factory.mktemp("lms_flat")
    crashing = synthetic.attacked_answers(SOURCE, "os_exit")
    nbformat.write(synthetic.student_notebook(SOURCE, crashing), str(flat / "cyd_fx_basics.ipynb"))
    (flat / "dee_fx_basics.ipynb").write_text("")
    assert llmf(root, "collect", "fx_basics", per_student) == 0
    assert llmf(root, "collect", "fx_basics", flat) == 0
    (root / "submitted" / "eve").mkdir()  # enrolled, never submitted
    assert llmf(root, "grade", *FAST) == 0
    return root


def test_release_writes_flat_student_notebooks(course):
    text = (course / "notebooks" / "fx_basics.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "hidden_cases(" not in text
    assert "raise NotImplementedError()" in text


def test_export_has_one_row_per_student_with_status_and_reason(course, tmp_path):
    assert llmf(course, "export", tmp_path / "grades.csv") == 0
    rows = read_csv(tmp_path / "grades.csv")
    assert {s: r["status"] for s, r in rows.items()} == {
        "ada": "needs_manual_grading", "bob": "needs_manual_grading", "cyd": "crashed",
        "dee": "missing", "eve": "missing"}
    assert rows["ada"]["linear_test"] == "2.0" and rows["ada"]["explain_answer"] == ""
    assert rows["bob"]["score"] == "0.0"
    assert rows["cyd"]["softmax_test"] == "2.0" and "kernel died" in rows["cyd"]["reason"]
    assert rows["dee"]["reason"] == "the submitted file is empty"


def test_gradebook_holds_our_scores_for_formgrader(course):
    with Course(course).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("fx_basics", "fx_basics", "ada")
        scores = {grade.name: grade.auto_score for grade in notebook.grades}
        waiting = {grade.name for grade in notebook.grades if grade.needs_manual_grade}
    assert scores == {"linear_test": 2.0, "softmax_test": 2.0, "q1_test": 1.0,
                      "explain_answer": None}
    assert waiting == {"explain_answer"}
    assert (course / "autograded" / "ada" / "fx_basics" / "fx_basics.ipynb").exists()


def test_manual_grade_in_gradebook_completes_the_row(course, tmp_path):
    with Course(course).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("fx_basics", "fx_basics", "ada")
        (grade,) = [g for g in notebook.grades if g.name == "explain_answer"]
        grade.manual_score = 1.5
        gradebook.db.commit()
    llmf(course, "export", tmp_path / "grades.csv")
    row = read_csv(tmp_path / "grades.csv")["ada"]
    assert row["status"] == "graded" and row["score"] == "6.5"


def test_regrade_is_idempotent(course, capsys):
    before = {p: json.loads(p.read_text()) for p in course.glob("autograded/*/*/*.result.json")}
    assert llmf(course, "grade", *FAST) == 0
    assert "fx_basics: 5 unchanged" in capsys.readouterr().out
    assert llmf(course, "grade", "--force", *FAST) == 0
    after = {p: json.loads(p.read_text()) for p in course.glob("autograded/*/*/*.result.json")}
    assert after == before


def test_feedback_never_shows_hidden_tests(course):
    assert llmf(course, "feedback") == 0
    pages = {p.parts[-3]: p.read_text() for p in course.glob("feedback/*/*/*.html")}
    assert set(pages) == {"ada", "bob", "cyd", "dee", "eve"}
    for page in pages.values():
        for secret in ("hidden_cases", "_rng", "BEGIN HIDDEN", "710.0", "BEGIN SOLUTION"):
            assert secret not in page
    assert "NotImplementedError" in pages["bob"] and "2 / 2" in pages["ada"]


# what the grader says in its own terms, never on a page or in `check`'s printout
JARGON = ("hidden case", "visible check", "hidden tests", "awaiting manual grading",
          "no choice")


def test_feedback_tells_each_item_in_plain_words(course):
    assert llmf(course, "feedback") == 0
    pages = {p.parts[-3]: p.read_text() for p in course.glob("feedback/*/*/*.html")}
    for student, page in pages.items():
        for jargon in JARGON:
            assert jargon not in page, (student, jargon)
    assert "not attempted: the exercise still raises NotImplementedError" in pages["bob"]
    assert "passed" in pages["ada"] and "not attempted" not in pages["ada"]
    assert "waiting for your instructor&#x27;s grading" in pages["bob"]


def test_manual_score_and_comment_from_formgrader_reach_the_feedback_page(course):
    """Formgrader writes a manual score and comment into nbgrader's gradebook; feedback
    regenerated afterwards shows both."""
    comment = "Right idea; say why the largest exponent becomes 0."
    with Course(course).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("fx_basics", "fx_basics", "ada")
        (grade,) = [g for g in notebook.grades if g.name == "explain_answer"]
        grade.manual_score = 1.5
        (remark,) = [c for c in notebook.comments if c.name == "explain_answer"]
        remark.manual_comment = comment
        gradebook.db.commit()
    assert llmf(course, "feedback", "--student", "ada") == 0
    page = (course / "feedback" / "ada" / "fx_basics" / "fx_basics.html").read_text()
    assert "1.5 / 2" in page and escape(comment) in page and "graded by your instructor" in page
    assert "waiting for your instructor" not in page


def test_broken_resubmission_never_keeps_the_old_score(course, tmp_path):
    resubmitted = tmp_path / "again"
    resubmitted.mkdir()
    (resubmitted / "bob_fx_basics.ipynb").write_text('{"cells": [')
    llmf(course, "collect", "fx_basics", resubmitted)
    llmf(course, "export", tmp_path / "before.csv")
    assert read_csv(tmp_path / "before.csv")["bob"]["status"] == "ungraded"
    llmf(course, "grade", "--student", "bob", *FAST)
    llmf(course, "export", tmp_path / "after.csv")
    row = read_csv(tmp_path / "after.csv")["bob"]
    assert row["status"] == "crashed" and row["score"] == "0.0"


# Graded one at a time (-j 1) and killed once the first is recorded: some are recorded, some not.
STUDENTS_OF_A_KILLED_RUN = 4


def test_killed_grader_keeps_what_it_recorded(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    assert llmf(root, "release", "--notebooks", tmp_path / "nb") == 0
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(STUDENTS_OF_A_KILLED_RUN):
        nbformat.write(synthetic.student_notebook(SOURCE, synthetic.correct_answers(SOURCE)),
                       str(folder / f"s{index}_fx_basics.ipynb"))
    llmf(root, "collect", "fx_basics", folder)
    with private_tmp() as tmp:
        killed = grading_in_background(root, "-j", "1", *FAST, tmp=tmp)
        os.killpg(killed.pid, signal.SIGKILL)  # the grader and its workers, as a crash would
        killed.wait()
        left = [path.name for path in tmp.iterdir()]  # it could not clean up
        assert left and all(name.startswith(f"{scratch.PREFIX}{killed.pid}.") for name in left)
        recorded = list(root.glob("autograded/*/*/*.result.json"))
        assert 1 <= len(recorded) < STUDENTS_OF_A_KILLED_RUN
        for path in recorded:
            assert json.loads(path.read_text())["status"] == "needs_manual_grading"
        again, err = grading(root, *FAST, tmp=tmp)
        assert again.returncode == 0, err[-2000:]
        assert_nothing_left(killed.pid, tmp)  # the next run removed what the killed one left
        assert_nothing_left(again.pid, tmp)  # and left nothing of its own
    results = [json.loads(p.read_text()) for p in root.glob("autograded/*/*/*.result.json")]
    assert len(results) == STUDENTS_OF_A_KILLED_RUN
    assert all(r["scores"]["linear_test"][0] == 2.0 for r in results)


def test_help_lists_every_command_and_the_course_folder(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("release", "collect", "grade", "export", "feedback"):
        assert command in out
    described = " ".join(out.split("\n\n")[1].split())  # the paragraph after the usage
    assert described.endswith("feedback, check, pythons)."), described
    assert "--course" in out and "$LLMF_COURSE" in out
    for command in ("release", "collect", "grade", "export", "similarity", "feedback", "check",
                    "pythons"):  # docs/instructors.md: every command takes --course, after too
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "$LLMF_COURSE" in capsys.readouterr().out, command


def test_course_is_named_before_or_after_the_command_or_by_llmf_course(tmp_path, monkeypatch,
                                                                        capsys):
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    for argv in (["--course", str(root), "grade"], ["grade", "--course", str(root)]):
        assert main(argv) == 1
        assert str(root / "submitted") in capsys.readouterr().err
    monkeypatch.setenv("LLMF_COURSE", str(root))
    assert main(["grade"]) == 1
    assert str(root / "submitted") in capsys.readouterr().err


def refusal(capsys) -> str:
    """The one line a refused command printed on stderr."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_grade_before_collect_says_to_collect(tmp_path, capsys):
    root = released_course(tmp_path / "course")
    capsys.readouterr()
    for command in ("grade", "export", "feedback"):
        assert llmf(root, command) == 1
        line = refusal(capsys)
        assert "nothing collected" in line and "run `llmf-grade collect" in line


def test_grade_after_collecting_without_release_says_to_release(tmp_path, capsys):
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(synthetic.student_notebook(SOURCE, {}), str(folder / "ada_fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    capsys.readouterr()
    assert llmf(root, "grade", *FAST) == 1
    line = refusal(capsys)
    assert "fx_basics collected but never released" in line
    assert "llmf-grade release fx_basics" in line


def test_commands_work_on_the_assignments_released_and_collected(tmp_path, capsys):
    """Two assignments released, one collected: grade, export and feedback speak of that one."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    twin = root / "source" / "fx_twin"
    shutil.copytree(root / "source" / "fx_basics", twin)
    (twin / "fx_basics.ipynb").rename(twin / "fx_twin.ipynb")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    assert llmf(root, "release", "--notebooks", tmp_path / "nb") == 0
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(synthetic.student_notebook(SOURCE, synthetic.correct_answers(SOURCE)),
                   str(folder / "ada_fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    capsys.readouterr()
    assert llmf(root, "grade", *FAST) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "fx_basics: 1 needs manual grading")
    assert llmf(root, "export", tmp_path / "grades.csv") == 0
    assert [row["assignment"] for row in read_csv(tmp_path / "grades.csv").values()] == [
        "fx_basics"]
    assert llmf(root, "feedback") == 0
    assert [p.parts[-2] for p in root.glob("feedback/*/*/*.html")] == ["fx_basics"]
    assert llmf(root, "similarity") == 0  # no empty report of fx_twin, which nobody handed in
    assert {p.name.split(".")[0] for p in (root / "similarity").iterdir()} == {"fx_basics"}
    capsys.readouterr()
    assert llmf(root, "grade", "fx_twin") == 1
    assert "nothing collected for fx_twin" in refusal(capsys)


def test_a_grader_failure_is_graded_again_by_the_next_run(tmp_path, monkeypatch, capsys):
    """The gradebook refuses a result (locked by Formgrader, say): the run goes on, says so in
    words, and the next `grade` grades that notebook again instead of keeping the grader's own
    failure as the student's 0 (which `export --lms` would hand to the LMS)."""
    root = released_course(tmp_path / "course")
    folder = tmp_path / "subs"
    folder.mkdir()
    for student in ("ada", "bob"):
        nbformat.write(synthetic.student_notebook(SOURCE, synthetic.correct_answers(SOURCE)),
                       str(folder / f"{student}_fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    from autograder import grade_class

    def locked(course, student, *_):
        if student == "ada":
            raise OSError("database is locked")
        return recorded(course, student, *_)

    recorded = grade_class.record_in_gradebook
    monkeypatch.setattr(grade_class, "record_in_gradebook", locked)
    capsys.readouterr()
    assert llmf(root, "grade", *FAST) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "grader failed on 1 notebook" in err
    assert "1 crashed, 1 needs manual grading" in out
    monkeypatch.setattr(grade_class, "record_in_gradebook", recorded)
    assert llmf(root, "grade", *FAST) == 0
    assert "1 needs manual grading, 1 unchanged" in capsys.readouterr().out
    llmf(root, "export", tmp_path / "grades.csv")
    assert read_csv(tmp_path / "grades.csv")["ada"]["status"] == "needs_manual_grading"


def test_a_file_that_cannot_be_written_is_refused_in_one_line_naming_it(course, tmp_path,
                                                                        capsys):
    """`export` given a folder, or a place nobody can write: one line naming the path given (not
    a traceback, nor the name of a temporary file), status 1, nothing left behind."""
    folder = tmp_path / "grades"
    folder.mkdir()
    capsys.readouterr()
    assert llmf(course, "export", folder) == 1
    line = last_error(capsys)
    assert str(folder) in line and "is a directory" in line.lower() and ".tmp" not in line
    assert list(tmp_path.iterdir()) == [folder] and not list(folder.iterdir())
    assert llmf(course, "export", "/proc/grades.csv") == 1
    line = last_error(capsys)
    assert "/proc/grades.csv" in line and ".tmp" not in line and "[Errno" not in line


def last_error(capsys) -> str:
    """The last line on stderr (after the progress bar), which must be the refusal's own."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("llmf-grade "), line
    return line


def test_a_student_on_the_roster_who_handed_in_nothing_is_missing(tmp_path, capsys):
    """The roster of `release --per-student` names the class: dan, who handed nothing in, is
    a `missing` row of the export and gets a feedback page saying so, as an empty file does."""
    root = released_course(tmp_path / "course")
    (tmp_path / "roster.csv").write_text("student\nada\ndan\n")
    assert llmf(root, "release", "--per-student", "--roster", tmp_path / "roster.csv") == 0
    folder = tmp_path / "subs"
    (folder / "ada").mkdir(parents=True)
    own = nbformat.read(root / "release-per-student" / "fx_basics" / "ada" / "fx_basics.ipynb",
                        as_version=4)
    nbformat.write(synthetic.with_answers(own, {}), str(folder / "ada" / "fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    assert llmf(root, "grade", *FAST) == 0
    assert "1 missing" in capsys.readouterr().out
    assert llmf(root, "export", tmp_path / "grades.csv") == 0
    rows = read_csv(tmp_path / "grades.csv")
    assert set(rows) == {"ada", "dan"}
    assert rows["dan"]["status"] == "missing" and rows["dan"]["score"] == "0.0"
    assert rows["dan"]["reason"] == "no notebook was submitted"
    assert llmf(root, "feedback") == 0
    assert "no notebook was submitted" in Course(root).feedback(
        "dan", "fx_basics", "fx_basics").read_text()


def gradebook_of(course: Path, student: str) -> dict[str, tuple]:
    """{cell: (automatic score, manual score, needs manual grade)} of the student's fx_basics
    in the gradebook, and "flagged"."""
    with Course(course).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("fx_basics", "fx_basics", student)
        found = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                 for g in notebook.grades}
        return found | {"flagged": notebook.flagged}


def test_a_changed_submission_shows_no_score_of_the_notebook_it_replaced(tmp_path, capsys):
    """The sample: between a changed submission's collection and the next `grade`, the
    gradebook kept the old notebook's automatic scores, which formgrader (and anything reading
    the gradebook) showed for the new one. Now collecting it clears its automatic scores,
    graded copy and feedback page in the same step; a score given by hand stays only where its
    answer is unchanged, and collect names those it clears. A file replaced in submitted/ some
    other way (nbgrader's own collect) is caught so by the next grade, export or feedback."""
    root = released_course(tmp_path / "course")
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    versions = ((first, synthetic.correct_answers(SOURCE), True), (second, {}, True),
                (third, {}, "Another answer, written again."))
    for day, (folder, answers, written) in enumerate(versions):
        (folder / "ada").mkdir(parents=True)
        path = folder / "ada" / "fx_basics.ipynb"
        nbformat.write(synthetic.student_notebook(SOURCE, answers, written=written), str(path))
        os.utime(path, (1_700_000_000 + day * 86_400,) * 2)
    assert llmf(root, "collect", "fx_basics", first) == 0
    assert llmf(root, "grade", *FAST) == 0
    assert llmf(root, "feedback") == 0
    with Course(root).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("fx_basics", "fx_basics", "ada")
        (grade,) = [g for g in notebook.grades if g.name == "explain_answer"]
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gradebook.db.commit()
    assert gradebook_of(root, "ada")["linear_test"] == (2.0, None, False)
    capsys.readouterr()

    # the code changed, the written answer did not: its score given by hand stays
    assert llmf(root, "collect", "fx_basics", second) == 0
    cleared = gradebook_of(root, "ada")
    assert cleared.pop("flagged") is True
    assert cleared.pop("explain_answer") == (None, 1.5, False)
    assert set(cleared.values()) == {(None, None, True)}
    for area, name in (("autograded", "fx_basics.ipynb"), ("autograded", "fx_basics.result.json"),
                       ("feedback", "fx_basics.html")):
        assert not (root / area / "ada" / "fx_basics" / name).exists()
    assert "given by hand" not in capsys.readouterr().out
    assert llmf(root, "export", tmp_path / "between.csv") == 0
    assert read_csv(tmp_path / "between.csv")["ada"]["status"] == "ungraded"
    assert llmf(root, "grade", *FAST) == 0
    assert gradebook_of(root, "ada")["linear_test"] == (0.0, None, False)
    assert gradebook_of(root, "ada")["explain_answer"] == (None, 1.5, False)

    # the written answer changed too: its score given by hand goes, and collect says so
    capsys.readouterr()
    assert llmf(root, "collect", "fx_basics", third) == 0
    cleared = gradebook_of(root, "ada")
    assert cleared.pop("flagged") is True and set(cleared.values()) == {(None, None, True)}
    assert "the scores and comments given by hand to the notebook it replaces " \
           "(explain_answer (1.5)) are cleared with its grade" in capsys.readouterr().out
    assert llmf(root, "grade", *FAST) == 0

    # replaced in submitted/ as nbgrader's collect would: the next export clears it
    shutil.copy(first / "ada" / "fx_basics.ipynb",
                root / "submitted" / "ada" / "fx_basics" / "fx_basics.ipynb")
    capsys.readouterr()
    assert llmf(root, "export", tmp_path / "after.csv") == 0
    assert "ada/fx_basics/fx_basics changed since it was graded: its grade is cleared" in \
        capsys.readouterr().err
    cleared = gradebook_of(root, "ada")
    assert cleared.pop("flagged") is True and set(cleared.values()) == {(None, None, True)}
    assert read_csv(tmp_path / "after.csv")["ada"]["status"] == "ungraded"
