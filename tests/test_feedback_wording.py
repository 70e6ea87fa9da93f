"""The plain words of the feedback (autograder.reports.wording): named samples for each kind of
item, and properties over everything the grader can say and a student can write: no grader
jargon, and nothing of the student's own text (only the instructor's). A self-paced learner's
page (`llmf-grade check`) shows each written answer's model answer and rubric; a class's does
not."""

from __future__ import annotations

import string
from html import escape
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grader.judge import BUILTIN_EXCEPTIONS, judge_cases, visible_error
from autograder.grader.plan import HiddenCall, Step
from autograder.protocol import CaseError, Report
from autograder.quiz_keys import QuizKey
from autograder.reports.feedback import SourceFacts, feedback_page
from autograder.reports.wording import (
    NOT_ANSWERED,
    NOT_ATTEMPTED,
    ItemFacts,
    check_story,
    exercise_story,
    quiz_story,
    raises_not_implemented,
    with_comments,
    written_story,
)

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
KEY = QuizKey("q2_1", "test_q2_1", "Which?", {"A": "a", "B": "b", "C": "c"}, "B",
              {"A": "No: a.", "B": "Right: the model only sees the past.", "C": "No: c."}, "h")
JARGON = ("hidden case", "visible check", "hidden tests", "awaiting", "no choice", "Traceback")
MARK = "QQSECRETQQ"  # planted in what the student writes: it must never come back
CHECK = Step("test", "softmax_test", 'assert p.shape == (2,), f"expected shape (2,), got {p.shape}"'
                                     '\nassert ok, "probabilities should sum to 1"', points=2)


def test_a_wrong_choice_names_both_answers_and_why():
    assert quiz_story(KEY, 'answer_q2_1 = "C"') == (
        "your answer C, the right answer B, because the model only sees the past.")


def test_a_right_choice_says_why():
    assert quiz_story(KEY, "answer_q2_1 = ' b '") == (
        "your answer B: right, because the model only sees the past.")


def test_an_unanswered_quiz_says_not_answered_and_reminds_of_quotes():
    assert quiz_story(KEY, "raise NotImplementedError()") == NOT_ANSWERED
    assert quiz_story(KEY, "answer_q2_1 = C") == (
        'not answered (write the option in quotes: answer_q2_1 = "C")')


def test_an_unsolved_exercise_is_not_attempted():
    assert exercise_story(ItemFacts(0.0, 2.0, failed_check="NotImplementedError",
                                    unsolved=True)) == NOT_ATTEMPTED
    assert raises_not_implemented("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError")
    assert not raises_not_implemented("def f(x):\n    return x")


def test_a_failed_check_gives_the_checks_own_message():
    error = visible_error(CHECK, "AssertionError: probabilities should sum to 1")
    assert check_story(error) == "the check says: probabilities should sum to 1"
    error = visible_error(CHECK, "AssertionError: expected shape (2,), got (3,)")
    assert check_story(error) == "the check says: expected shape (2,), got …"


def test_a_bare_error_says_what_stopped_the_code_and_where_to_look():
    story = check_story(visible_error(CHECK, "NameError: name 'p' is not defined"))
    assert story.startswith("your code stopped with a NameError before the check finished")
    assert "run the check in your notebook" in story


def test_a_hidden_mismatch_says_the_grader_tried_its_own_input():
    story = exercise_story(ItemFacts(0.0, 2.0, message="softmax: hidden case 1 of 3: wrong value"))
    assert story == ("the checks in your notebook pass, but on the grader's own input 1 of 3 "
                     "your code gives a wrong value")


def test_written_answers_by_who_grades_them():
    waiting = ItemFacts(None, 3.0, message="awaiting manual grading")
    assert written_story(waiting, self_paced=False) == "waiting for your instructor's grading"
    assert "model answer and the rubric" in written_story(waiting, self_paced=True)
    assert written_story(ItemFacts(0.0, 3.0, message="no answer written"), False) == NOT_ANSWERED
    graded = ItemFacts(2.0, 3.0, comments=("Good; (c) is missing.",), graded_by_hand=True)
    assert with_comments(written_story(graded, False), graded) == (
        "graded by your instructor; your instructor's comment: Good; (c) is missing.")


names = st.text(string.ascii_letters + "_", min_size=1, max_size=12)
student_text = st.text(max_size=30).map(lambda text: MARK + text)


@st.composite
def case_errors(draw):
    """What a kernel can report for a hidden case that gave no value."""
    why = draw(st.sampled_from(["raised ", "returned ", "gave "]))
    exception = draw(st.sampled_from(sorted(BUILTIN_EXCEPTIONS)) | names.map(lambda n: MARK + n))
    return CaseError(why + exception)


@given(name=names, count=st.integers(1, 5), bad=st.integers(0, 4), error=case_errors(),
       values=st.lists(st.floats(allow_nan=False) | st.text(max_size=8), min_size=1,
                       max_size=5))
def test_no_hidden_case_failure_is_told_in_jargon_or_echoes_the_student(name, count, bad, error,
                                                                        values):
    call = HiddenCall(name, count)
    expected = [0.5] * count
    cases = [values[i % len(values)] for i in range(count)]
    cases[bad % count] = error if bad % 2 else MARK
    passed, message = judge_cases(call, Report(name, cases), expected)
    story = exercise_story(ItemFacts(0.0, 1.0, message=message))
    assert not passed
    assert not any(word in story for word in JARGON), story
    assert MARK not in story


@given(exception=st.sampled_from(sorted(BUILTIN_EXCEPTIONS)) | names, message=student_text)
def test_a_failed_check_never_echoes_the_students_text(exception, message):
    story = check_story(visible_error(CHECK, f"{exception}: {message}"))
    assert MARK not in story
    assert not any(word in story for word in JARGON), story


@given(value=student_text, quoted=st.booleans())
def test_a_quiz_story_never_echoes_what_the_answer_cell_holds(value, quoted):
    code = f"answer_q2_1 = {value!r}" if quoted else f"answer_q2_1 = {value}"
    story = quiz_story(KEY, code)
    assert MARK not in story and MARK.lower() not in story.lower()


def test_a_self_paced_page_shows_the_model_answer_and_rubric_and_a_class_page_does_not():
    source = SourceFacts.read(FIXTURE)
    written = next(iter(source.plan.written))
    scores = {written: (None, source.plan.written[written][0])}
    row = {"status": "needs_manual_grading", "reason": "", "scores": scores, "result": None,
           "manual": {}}
    model = source.model_answers[written]
    assert "Softmax is shift invariant" in model
    self_paced = feedback_page(source, row, {}, "you", self_paced=True)
    assert escape(model) in self_paced and "awaiting" not in self_paced
    assert "compare your answer with the model answer and the rubric" in self_paced
    in_class = feedback_page(source, row, {}, "ada")
    assert "Softmax is shift invariant" not in in_class
    assert "waiting for your instructor" in in_class


def test_a_quiz_story_follows_the_graders_verdict_not_the_cells_text():
    """The grader reads the value the notebook left; the cell's text may not show it."""
    computed = "answer_q2_1 = ['A', 'B', 'C'][1]"
    assert quiz_story(KEY, computed) == NOT_ANSWERED  # the text alone holds no choice
    assert quiz_story(KEY, computed, scored_right=True) == (
        "your answer B: right, because the model only sees the past.")
    assert quiz_story(KEY, 'answer_q2_1 = "B"', scored_right=False).startswith(
        "your answer cell writes B, the right answer, but when the notebook ran, answer_q2_1 "
        "held something else")


@settings(max_examples=300, deadline=None)
@given(code=st.text(max_size=40) | st.sampled_from(['answer_q2_1 = "B"', 'answer_q2_1 = "C"',
                                                    "answer_q2_1 = 'b'", "answer_q2_1 = B"]),
       scored_right=st.booleans())  # fmt: skip
def test_no_quiz_story_contradicts_its_score(code, scored_right):
    story = quiz_story(KEY, code, scored_right=scored_right)
    says_right = story.startswith("your answer B: right")
    assert says_right == scored_right, story
