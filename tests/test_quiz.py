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


def test_static_fallback_lists_the_options_once():
    page = make_question()._question_html()
    assert "What is a base model trained to do?" not in page  # the Markdown above states it
    assert page.count("Translate") == 1


def widget_texts(widget) -> list[str]:
    radio, _, feedback = widget.children
    return [label for label, _ in radio.options] + [feedback.value]


@pytest.mark.parametrize("choice", ["A", "B", "C"])
def test_widget_shows_each_option_once_and_never_the_question(choice):
    question = make_question()
    widget = question.widget()
    widget.children[0].value = choice
    widget.children[1].children[0].click()  # Check
    if choice != question.answer:
        widget.children[1].children[0].click()  # the second try reveals every explanation
    text = "\n".join(widget_texts(widget))
    assert question.question not in text
    for option in question.options.values():
        assert text.count(option) == 1
    for explanation in question.explanations.values():
        assert text.count(explanation) == 1


def test_a_first_wrong_choice_gets_a_second_try_before_the_answer_is_revealed():
    question = make_question()
    widget = question.widget()
    radio, buttons, feedback = widget.children
    check = buttons.children[0]
    radio.value = "B"
    check.click()
    assert "Not quite. Supervised." in feedback.value and "Try another option" in feedback.value
    assert question.explanations["A"] not in feedback.value and "✔" not in feedback.value
    radio.value = "C"
    check.click()  # the second wrong try: every option explained, the right one marked
    assert "Not quite. Mapping." in feedback.value and "✔ A. The text is its own label." in (
        feedback.value)
    radio.value = "A"
    check.click()
    assert "Correct!" in feedback.value and "✘ B. Supervised." in feedback.value


def test_a_right_first_choice_explains_every_option():
    question = make_question()
    widget = question.widget()
    widget.children[0].value = "A"
    widget.children[1].children[0].click()
    assert all(text in widget.children[2].value for text in question.explanations.values())


def test_the_prompt_says_check_answers_once_running_cells_finish():
    assert "still running" in make_question().widget().children[2].value


def test_feedback_wraps_at_word_boundaries_in_proportional_type():
    widget = make_question().widget()
    widget.children[1].children[1].click()  # Hint
    feedback = widget.children[2].value
    assert "Hint: Where do the labels come from?" in feedback
    assert "white-space: normal" in feedback and "word-break: normal" in feedback
    assert "monospace" not in feedback and "<pre" not in feedback


def test_check_without_a_choice_asks_for_one():
    widget = make_question().widget()
    widget.children[1].children[0].click()
    assert "Pick an option first." in widget.children[2].value


def test_classroom_question_has_no_key_and_points_to_the_graded_feedback():
    question = MultipleChoice("What is a base model trained to do?",
                              options={"A": "Next token", "B": "Labels"}, hint="Labels?")
    assert not question.has_key and question.explain_all() == ""
    assert 'Your choice is "B"' in question.check("B")
    assert "graded feedback" in question.check("B")
    with pytest.raises(ValueError, match="both answer and explanations"):
        MultipleChoice("Q?", options={"A": "a", "B": "b"}, hint="h", answer="A")


@pytest.fixture
def shell():
    """An IPython shell of its own, with the quiz's unanswered note installed."""
    from IPython.core.interactiveshell import InteractiveShell

    from course_lib.quiz import install_unanswered_note

    session = InteractiveShell()
    install_unanswered_note(session)
    return session


UNANSWERED_CELL = ('# Replace the `raise` line below by your answer:  answer_q1_1 = "?"  where ? '
                   'is one of "A", "B", "C", "D"\n# YOUR CODE HERE\nraise NotImplementedError()')
CHECK_CELL = 'assert answer_q1_1 in {"A", "B", "C", "D"}, "answer_q1_1 must be one of ..."'


def test_an_unanswered_quiz_prints_one_line_and_no_traceback(shell, capsys):
    for cell, error in ((UNANSWERED_CELL, NotImplementedError), (CHECK_CELL, NameError)):
        result = shell.run_cell(cell, store_history=True)
        printed = capsys.readouterr().out
        assert isinstance(result.error_in_exec, error)  # the cell still fails (Run All goes on)
        assert "Traceback" not in printed and printed.count("\n") == 1, printed
        assert printed.startswith("answer_q1_1 is not answered yet")


@pytest.mark.parametrize("cell", [
    "def f():\n    raise NotImplementedError()\nf()",  # an exercise's stub, called
    "print(undefined_name)",
    "raise NotImplementedError()",  # not a quiz's answer cell
])
def test_any_other_error_keeps_its_traceback(shell, capsys, cell):
    shell.run_cell(cell, store_history=True)
    assert "Traceback" in capsys.readouterr().out
