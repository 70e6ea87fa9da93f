"""The multiple-choice widget: feedback text, validation, and a static rendering."""

import pytest

from course_lib.quiz import MultipleChoice


def make_question(**overrides):
    fields = dict(
        options={"A": "Predict the next token", "B": "Label images", "C": "Translate"},
        answer="A",
        hint="Where do the labels come from?",
        explanations={"A": "The text is its own label.", "B": "Supervised.", "C": "Mapping."},
    )
    fields.update(overrides)
    return MultipleChoice("What is a base model trained to do?", **fields)


def test_check_says_right_or_wrong_and_why():
    question = make_question()
    assert question.check("A") == "Correct! The text is its own label."
    assert question.check("C") == "Not quite. Mapping."


def test_explain_all_marks_the_answer_and_every_option():
    text = make_question().explain_all()
    assert text.splitlines()[0].startswith("✔ A.")
    assert all(line.startswith("✘") for line in text.splitlines()[1:])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(answer="D"), "not one of the options"),
        (dict(explanations={"A": "x"}), "explanations must cover"),
        (dict(options={"A": "only one"}, explanations={"A": "x"}), "2 to 5 options"),
    ],
)
def test_bad_questions_are_rejected_clearly(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_question(**overrides)


def test_check_rejects_unknown_choice():
    with pytest.raises(ValueError, match="not one of the options"):
        make_question().check("Z")


def test_static_html_shows_question_and_options():
    page = make_question()._question_html()
    assert "What is a base model trained to do?" in page
    assert "Translate" in page
