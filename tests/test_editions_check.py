"""Grading in both editions: a class's feedback explains every quiz, and `llmf-grade check` gives
a self-paced learner the scores `llmf-grade grade` records for the same notebook, recognising the
chapter by its content whatever the file is called, and refusing in one line what is not one."""

from __future__ import annotations

import ast
import html
import json
import re
import shutil

import nbformat
import pytest
import synthetic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.course_folder import Course, default_course_root
from autograder.files import printable
from autograder.grader.plan import read_plan, role
from autograder.item_names import item_names
from autograder.quiz_keys import read_quiz_keys
from autograder.selfcheck import feedback_path, source_for

CHAPTER = "ch2_autoregression"
COURSE = default_course_root()
SOURCE = COURSE / "source" / CHAPTER / f"{CHAPTER}.ipynb"
LIMITS = ["--cell-timeout", "90", "--notebook-timeout", "900"]  # a loaded machine: no timeouts
SCORE_LINE = re.compile(r"^\s*(?P<score>pending|[\d.]+) / (?P<points>[\d.]+)  (?P<name>.+)$")


def partly_wrong_answers() -> dict[str, str]:
    """Correct answers except: a quiz answered wrongly, one left out, one without quotes, an
    exercise's classic mistake (the probability instead of its log)."""
    answers = synthetic.correct_answers(SOURCE)
    keys = read_quiz_keys(nbformat.read(SOURCE, as_version=4))
    wrong = next(option for option in keys["test_q2_1"].options
                 if option != keys["test_q2_1"].answer)
    answers["q2_1"] = f'answer_q2_1 = "{wrong}"'
    del answers["q2_2"]
    answers["q2_3"] = f"answer_q2_3 = {keys['test_q2_3'].answer}"
    answers["ex2_1_sequence_log_prob"] = answers["ex2_1_sequence_log_prob"].replace(
        "return float(np.sum(np.log(chosen)))", "return float(np.prod(chosen))")
    return answers


def filled(notebook, answers: dict[str, str]):
    """A student's copy of an edition: answer cells filled in, the rest as released."""
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    for cell in notebook.cells:
        if role(cell).get("grade_id") in answers:
            cell.source = answers[role(cell)["grade_id"]]
    return notebook


STUDENTS = {"ada": synthetic.correct_answers(SOURCE), "bob": partly_wrong_answers()}
QUOTED_Q2_3 = STUDENTS["bob"]["q2_3"].replace("= ", '= "') + '"'  # what bob should have written


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A class course: released, the classroom edition filled in by two students, graded."""
    root = tmp_path_factory.mktemp("class")
    shutil.copytree(COURSE / "source", root / "source")
    shutil.copy(COURSE / "nbgrader_config.py", root)
    assert main(["--course", str(root), "release", CHAPTER, "--notebooks",
                 str(root / "notebooks")]) == 0
    classroom = nbformat.read(root / "release" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    inbox = tmp_path_factory.mktemp("inbox")
    for student, answers in STUDENTS.items():
        nbformat.write(filled(classroom, answers), inbox / f"{student}_{CHAPTER}.ipynb")
    assert main(["--course", str(root), "collect", CHAPTER, str(inbox)]) == 0
    assert main(["--course", str(root), "grade", CHAPTER, *LIMITS]) == 0
    assert main(["--course", str(root), "feedback", CHAPTER]) == 0
    return Course(root)


def test_class_feedback_explains_every_quiz_question(course):
    keys = read_quiz_keys(nbformat.read(SOURCE, as_version=4))
    for student in STUDENTS:
        page = course.feedback(student, CHAPTER, CHAPTER).read_text()
        for key in keys.values():
            for text in key.explanations.values():
                assert html.escape(text) in page, f"{student}: {key.answer_id} lacks {text!r}"
            right = f"✔ <b>{key.answer}. {html.escape(key.options[key.answer])}</b>"
            assert right in page


def test_class_feedback_names_items_as_the_chapter_does_and_folds_the_check(course):
    page = course.feedback("bob", CHAPTER, CHAPTER).read_text()
    assert "Exercise 2.1 — the log-probability of a sequence" in page
    assert "<td>Question 2.3</td>" in page and "test_ex2_1" not in page
    message = page.index("you returned the probability (a product of the factors), not its log</p>")
    assert message < page.index("<details><summary>", message)
    wrong = read_quiz_keys(nbformat.read(SOURCE, as_version=4))["test_q2_1"]
    chosen = STUDENTS["bob"]["q2_1"].split('"')[1]
    assert f"Your answer {chosen}, the right answer {wrong.answer}, because" in page
    assert html.escape(f"in quotes: {QUOTED_Q2_3}") in page


def hidden_inputs(source) -> set[str]:
    """The expressions of every hidden case that are more than a variable's name."""
    expressions = set()
    for step in read_plan(source).tests:
        for node in ast.walk(ast.parse(step.hidden_code)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "hidden_cases":
                expressions |= set(ast.literal_eval(node.args[1]))
    return {text for text in expressions if not text.isidentifier()}


def check_output(capsys, notebook) -> tuple[list, str]:
    """([(item name, score, points)] in the order printed, printed text) of `llmf-grade check`."""
    capsys.readouterr()
    assert main(["check", str(notebook), *LIMITS]) == 0
    printed = capsys.readouterr().out
    scores = []
    for line in printed.splitlines():
        match = SCORE_LINE.match(line)
        if match:
            score = None if match["score"] == "pending" else float(match["score"])
            scores.append((match["name"], score, float(match["points"])))
    return scores, printed


# what learners call their copies: JupyterLab's "Duplicate", and a name of their own
SAVED_AS = {"ada": f"{CHAPTER}-Copy1.ipynb", "bob": "Untitled.ipynb"}


@pytest.mark.parametrize("student", STUDENTS)
def test_check_prints_the_scores_grade_records(course, student, tmp_path, capsys):
    """The same answers in the self-paced edition, saved under another name: `check` recognises
    the chapter and prints what `grade` recorded. Bob checks it through a link of his own, which
    the learner's check follows (the class's grader follows none)."""
    self_paced = nbformat.read(course.root / "notebooks" / f"{CHAPTER}.ipynb", as_version=4)
    notebook = tmp_path / SAVED_AS[student]
    nbformat.write(filled(self_paced, STUDENTS[student]), notebook)
    if student == "bob":
        (tmp_path / "desktop").mkdir()
        (tmp_path / "desktop" / notebook.name).symlink_to(notebook)
        notebook = tmp_path / "desktop" / notebook.name
    printed_scores, printed = check_output(capsys, notebook)
    recorded = json.loads(course.result(student, CHAPTER, CHAPTER).read_text())["scores"]
    names = item_names(nbformat.read(SOURCE, as_version=4))
    assert printed_scores == [(names[g], s, p) for g, (s, p) in recorded.items()]
    scores = dict(zip(recorded, printed_scores, strict=True))  # grade_id -> printed line
    if student == "ada":  # every exercise and question right (the written answer is left out)
        assert all(scores[step.grade_id][1:] == (step.points, step.points)
                   for step in read_plan(SOURCE).tests), printed
    else:
        assert scores["test_q2_1"][1] == scores["test_q2_3"][1] == 0
        assert "you returned the probability (a product of the factors), not its log" in printed
        assert f"in quotes: {QUOTED_Q2_3}" in printed
    page = feedback_path(notebook).read_text()
    assert page.count("✔") == len(read_quiz_keys(nbformat.read(SOURCE, as_version=4)))
    inputs = hidden_inputs(SOURCE)
    assert inputs
    leaked = [text for text in inputs if text in printed or html.escape(text) in page]
    assert not leaked, f"check shows hidden test inputs: {leaked}"


NOT_NOTEBOOKS = {
    "notes.ipynb": b"these are my notes, not JSON",
    "latin1.ipynb": "caf\xe9".encode("latin-1"),
    "list.ipynb": b"[1, 2, 3]",
    "cells.ipynb": b'{"cells": "not a list"}',
    "deep.ipynb": b"[" * 100_000,
}


@pytest.mark.parametrize("name", NOT_NOTEBOOKS)
def test_check_refuses_what_is_not_a_notebook_in_one_line(name, tmp_path, capsys):
    notebook = tmp_path / name
    notebook.write_bytes(NOT_NOTEBOOKS[name])
    assert main(["check", str(notebook)]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no table of zeros
    assert len(err.strip().splitlines()) == 1
    assert f"{name} is not a notebook" in err and "give the .ipynb file of a chapter" in err
    assert "e.g. work/" in err  # the learner's own copy, where the answers are
    assert not feedback_path(notebook).exists()


def test_check_given_no_notebook_file_says_which_to_give(tmp_path, capsys):
    """A folder, a chapter's name without `.ipynb`, a file that is not there: one line each,
    saying what to give instead (the learner's own copy in work/, not the repository's)."""
    (tmp_path / f"{CHAPTER}.ipynb").write_text("{}")
    given = {tmp_path: f"{printable(str(tmp_path))} is a folder: give one chapter notebook in it",
             tmp_path / CHAPTER: f"did you mean {tmp_path / CHAPTER}.ipynb?",
             tmp_path / "ch9.ipynb": "no notebook "}
    for path, said in given.items():
        assert main(["check", str(path)]) == 1
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1, err
        assert said in err, err
        assert "did you mean" in said or "work/ch1_base_models.ipynb" in err, err


def test_check_refuses_a_notebook_of_no_chapter_naming_the_chapters(tmp_path, capsys):
    notebook = tmp_path / f"{CHAPTER}.ipynb"  # named as a chapter, but someone else's notebook
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np"),
                                            nbformat.v4.new_markdown_cell("# My project")])
    nbformat.write(other, notebook)
    assert main(["check", str(notebook)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "is not a chapter notebook of this course" in err and CHAPTER in err


SELF_PACED = {path.stem: nbformat.read(path, as_version=4)
              for path in sorted((COURSE.parent / "notebooks").glob("ch*.ipynb"))}
FILE_NAMES = st.from_regex(r"[A-Za-z0-9 _()-]{1,30}", fullmatch=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chapter=st.sampled_from(sorted(SELF_PACED)), name=FILE_NAMES, data=st.data(),
       strip_metadata=st.booleans())
def test_a_chapter_is_recognised_by_its_cells_whatever_its_name(tmp_path_factory, chapter, name,
                                                                data, strip_metadata):
    """Any file name, half of the chapter's cells or more in any order, with or without their
    nbgrader metadata (as some editors save them): the chapter's own source."""
    cells = json.loads(nbformat.writes(SELF_PACED[chapter]))["cells"]
    order = data.draw(st.permutations(range(len(cells))))
    kept = [cells[i] for i in order[: data.draw(st.integers(len(cells) // 2, len(cells)))]]
    for cell in kept if strip_metadata else []:
        cell["metadata"] = {}
    path = tmp_path_factory.mktemp("saved") / f"{name}.ipynb"
    path.write_text(json.dumps({"cells": kept, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    assert source_for(Course(COURSE), path).stem == chapter


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=2000),
                         st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                      lambda inner: st.lists(inner) | st.dictionaries(
                                          st.text(), inner), max_leaves=30).map(
                             lambda value: json.dumps(value).encode())))
def test_anything_else_is_refused_with_one_line(tmp_path_factory, content):
    """Random bytes and random JSON: a ValueError whose message is one line, never another
    exception, never a grade."""
    path = tmp_path_factory.mktemp("random") / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(ValueError) as refused:
        source_for(Course(COURSE), path)
    assert "\n" not in str(refused.value)
