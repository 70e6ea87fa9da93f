"""What every chapter's tests share: grade wrong answers as real submissions, read the quiz keys.

A chapter's test file lists its typical wrong answers, WRONG = {solution grade_id: {name: code}}.
Exercises are independent, so one submission carries one wrong variant of every exercise at once
(variant i = the i-th wrong answer of each exercise that has one, the reference elsewhere; variant
None = all reference). Each submission is the student version of the source notebook with its
solution cells filled in (synthetic.student_notebook), graded by
`autograder.grader.pipeline.grade_notebook` like a real one.
The tests every chapter shares are the methods of ChapterGradingTests.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from synthetic import student_notebook

from autograder.grader.pipeline import grade_notebook
from autograder.grader.plan import role, without_solution_markers
from course_lib.quiz import MultipleChoice

ROOT = Path(__file__).resolve().parents[1]


def source_path(chapter: str) -> Path:
    return ROOT / "course" / "source" / chapter / f"{chapter}.ipynb"


def grade_cell_of(solution_id: str) -> str:
    """The grade_id of an exercise's (or a question's) test cell."""
    return "test_" + solution_id


def answer_keys(source) -> dict[str, str]:
    """{solution grade_id: the code of the instructor's solution cell, as a student would type
    it (without the solution markers: a notebook carrying them is the source, and earns 0)}."""
    return {
        role(cell)["grade_id"]: without_solution_markers(cell.source)
        for cell in source.cells
        if cell.cell_type == "code" and role(cell).get("solution")
    }


def wrong_cases(wrong: dict) -> list[tuple[str, str]]:
    """(solution grade_id, wrong answer's name) pairs, for pytest.mark.parametrize."""
    return [(solution_id, name) for solution_id, wrongs in wrong.items() for name in wrongs]


def variant_answers(keys: dict[str, str], wrong: dict, index: int | None):
    """Answers of variant `index`, and {solution grade_id: name of the wrong answer used}."""
    answers, mutated = dict(keys), {}
    if index is not None:
        for solution_id, wrongs in wrong.items():
            if index < len(wrongs):
                name, code = list(wrongs.items())[index]
                answers[solution_id], mutated[solution_id] = code, name
    return answers, mutated


def grade_variants(path: Path, wrong: dict, written_answer: str, folder: Path) -> dict:
    """{variant index or None: (GradeResult, {solution grade_id: wrong name})}."""
    source = nbformat.read(path, as_version=4)
    keys = answer_keys(source)
    variants = [None, *range(max(len(wrongs) for wrongs in wrong.values()))]
    jobs = {}
    for index in variants:
        answers, mutated = variant_answers(keys, wrong, index)
        submitted = folder / f"variant_{index}.ipynb"
        nbformat.write(student_notebook(source, answers, written=written_answer), submitted)
        jobs[index] = (submitted, mutated)
    # Two worker processes, as `llmf-grade grade` uses (not threads: CPython 3.11.7 raises
    # "SystemError: AST constructor recursion depth mismatch" when two threads build ASTs at once,
    # as the grader's judge does); each computes the reference values once and caches them.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        futures = {i: pool.submit(grade_notebook, jobs[i][0], path) for i in variants}
        results = {i: future.result() for i, future in futures.items()}
    return {index: (results[index], jobs[index][1]) for index in variants}


def check_reference_scores_full_marks(graded: dict, written: dict[str, float]) -> None:
    """The reference answers lose no point; written answers (grade_id: points) await a human."""
    result, _ = graded[None]
    assert result.status == "needs_manual_grading", (result.status, result.reason)
    for grade_id, points in written.items():
        assert result.scores[grade_id] == (None, points)
    lost = {gid: score for gid, score in result.scores.items() if score[0] not in (None, score[1])}
    assert not lost, f"reference solutions lost points: {lost}; messages: {result.messages}"


def check_wrong_answer_scores_zero(graded: dict, wrong: dict, solution_id: str, name: str):
    """The wrong answer scores 0 on its exercise; the reference answers beside it lose nothing."""
    result, mutated = graded[list(wrong[solution_id]).index(name)]
    assert mutated[solution_id] == name
    score, points = result.scores[grade_cell_of(solution_id)]
    assert points > 0 and score == 0, (
        f"{name!r} scored {score}/{points} on {solution_id}; "
        f"messages: {result.messages.get(grade_cell_of(solution_id))}"
    )
    for untouched in set(wrong) - set(mutated):
        score, points = result.scores[grade_cell_of(untouched)]
        assert score == points, f"the reference {untouched} lost points next to {name!r}"


def check_every_exercise_has_wrong_answers(source, wrong: dict) -> None:
    exercises = [gid for gid in answer_keys(source) if gid.startswith("ex")]
    assert sorted(exercises) == sorted(wrong)
    assert all(len(wrong[gid]) >= 2 for gid in exercises)


def check_wrong_answers_fail_a_visible_check(graded: dict) -> None:
    """Learners see why: a wrong answer fails a visible assertion, not only a hidden case."""
    unexplained = []
    for index, (result, mutated) in graded.items():
        if index is None:
            continue
        for solution_id, name in mutated.items():
            failure = result.failed_checks.get(grade_cell_of(solution_id), "")
            if "AssertionError" not in failure:
                unexplained.append((solution_id, name, failure[:120], result.status, result.reason))
    assert not unexplained, unexplained


def written_question(source, grade_id: str, points: int) -> str:
    """The text of a manually graded answer cell, checked to have a model answer and a rubric
    worth `points`, one point per rubric line."""
    cells = [cell for cell in source.cells if role(cell).get("grade_id") == grade_id]
    assert len(cells) == 1 and cells[0].cell_type == "markdown"
    meta, text = role(cells[0]), cells[0].source
    assert meta["grade"] and meta["solution"] and meta["points"] == points
    assert "### BEGIN SOLUTION" in text and "Model answer" in text
    assert f"Rubric ({points} pts)" in text and text.count("1 pt") == points
    return text


def quiz_questions(source) -> dict[str, tuple[MultipleChoice, str]]:
    """{question grade_id: (the MultipleChoice shown before it, the key in its answer cell)}."""
    questions, widget = {}, None
    for cell in source.cells:
        if cell.cell_type == "code" and cell.source.startswith("MultipleChoice("):
            widget = eval(cell.source, {"MultipleChoice": MultipleChoice})  # noqa: S307
        elif role(cell).get("solution") and role(cell)["grade_id"].startswith("q"):
            namespace: dict = {}
            exec(cell.source, namespace)  # noqa: S102 - the instructor's answer cell
            grade_id = role(cell)["grade_id"]
            questions[grade_id] = (widget, namespace[f"answer_{grade_id}"])
            widget = None
    return questions


def check_quiz_widgets_and_answer_cells_agree(quiz: dict, expected: list[str]) -> None:
    assert sorted(quiz) == sorted(expected)
    for grade_id, (widget, key) in quiz.items():
        assert widget is not None, f"{grade_id} has no MultipleChoice widget before its answer"
        assert widget.answer == key, f"{grade_id}: widget says {widget.answer}, cell says {key}"
        assert 3 <= len(widget.options) <= 5 or set(widget.options) == {"True", "False"}
        assert widget.hint, f"{grade_id} has no hint"


def check_every_option_shown_is_a_valid_answer(source, quiz: dict) -> None:
    """Each question's answer cell check accepts every option its widget shows (as the string a
    learner types) and refuses one it does not show."""
    for grade_id, (widget, _) in quiz.items():
        check = next(cell.source for cell in source.cells
                     if role(cell).get("grade_id") == grade_cell_of(grade_id))
        for choice in [*widget.options, "not an option"]:
            namespace = {f"answer_{grade_id}": choice, "hidden_cases": lambda *args, **kwargs: None}
            try:
                exec(check, namespace)  # noqa: S102 - the instructor's answer check
                accepted = True
            except AssertionError:
                accepted = False
            verdict = "accepts" if accepted else "refuses"
            assert accepted == (choice in widget.options), (
                f"{grade_id}: the answer cell {verdict} {choice!r}; the widget shows "
                f"{list(widget.options)}")


class ChapterGradingTests:
    """The tests every chapter shares; a chapter's test module subclasses this as TestGrading.

    chapter: the chapter's id; wrong: its WRONG answers; written: {grade_id: points} of its written
    questions; written_answer: what a student writes in them; n_questions: its multiple-choice
    questions are q<chapter number>_1 .. q<chapter number>_<n_questions>, unless `questions` lists
    their grade ids (a question whose text changed got a new id, such as q3_3_2).
    """

    chapter: str
    wrong: dict
    written: dict[str, int]
    written_answer: str
    n_questions: int
    questions: tuple[str, ...] = ()

    def pytest_generate_tests(self, metafunc):
        """One test per typical wrong answer: wrong_case = (solution grade_id, name)."""
        if "wrong_case" in metafunc.fixturenames:
            cases = wrong_cases(self.wrong)
            metafunc.parametrize("wrong_case", cases, ids=[f"{sid}: {name}" for sid, name in cases])

    @pytest.fixture(scope="class")
    @classmethod
    def chapter_source(cls):
        return nbformat.read(source_path(cls.chapter), as_version=4)

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory):
        folder = tmp_path_factory.mktemp(f"{cls.chapter}_submissions")
        return grade_variants(source_path(cls.chapter), cls.wrong, cls.written_answer, folder)

    def test_reference_solutions_score_full_marks(self, graded):
        check_reference_scores_full_marks(graded, self.written)

    def test_wrong_implementation_scores_zero(self, graded, wrong_case):
        check_wrong_answer_scores_zero(graded, self.wrong, *wrong_case)

    def test_every_exercise_has_two_or_more_wrong_answers(self, chapter_source):
        check_every_exercise_has_wrong_answers(chapter_source, self.wrong)

    def test_wrong_answers_fail_a_visible_check_with_a_named_misconception(self, graded):
        check_wrong_answers_fail_a_visible_check(graded)

    def test_written_questions_have_a_model_answer_and_a_rubric(self, chapter_source):
        for grade_id, points in self.written.items():
            written_question(chapter_source, grade_id, points)

    def test_every_option_shown_is_a_valid_answer(self, chapter_source):
        check_every_option_shown_is_a_valid_answer(chapter_source, quiz_questions(chapter_source))

    def test_quiz_widgets_and_answer_cells_agree(self, chapter_source):
        number = self.chapter[2]  # "ch1_base_models" -> "1"
        numbered = [f"q{number}_{n}" for n in range(1, self.n_questions + 1)]
        expected = list(self.questions) or numbered
        check_quiz_widgets_and_answer_cells_agree(quiz_questions(chapter_source), expected)
