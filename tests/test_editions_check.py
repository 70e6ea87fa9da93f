"""Grading in both editions: a class's feedback explains every quiz, and `llmf-grade check` gives
a self-paced learner the scores `llmf-grade grade` records for the same notebook."""

from __future__ import annotations

import ast
import html
import json
import re
import shutil

import nbformat
import pytest
import synthetic

from autograder.cli import main
from autograder.course_folder import Course, default_course_root
from autograder.grader.plan import read_plan, role
from autograder.item_names import item_names
from autograder.quiz_keys import read_quiz_keys

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
    message = page.index("you returned the probability (a product), not its log</p>")
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


@pytest.mark.parametrize("student", STUDENTS)
def test_check_prints_the_scores_grade_records(course, student, tmp_path, capsys):
    """The same answers in the self-paced edition: `check` prints what `grade` recorded."""
    self_paced = nbformat.read(course.root / "notebooks" / f"{CHAPTER}.ipynb", as_version=4)
    notebook = tmp_path / f"{CHAPTER}.ipynb"
    nbformat.write(filled(self_paced, STUDENTS[student]), notebook)
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
        assert "you returned the probability (a product), not its log" in printed
        assert f"in quotes: {QUOTED_Q2_3}" in printed
    page = (tmp_path / f"{CHAPTER}.feedback.html").read_text()
    assert page.count("✔") == len(read_quiz_keys(nbformat.read(SOURCE, as_version=4)))
    inputs = hidden_inputs(SOURCE)
    assert inputs
    leaked = [text for text in inputs if text in printed or html.escape(text) in page]
    assert not leaked, f"check shows hidden test inputs: {leaked}"
