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


def labels(widget) -> str:
    return "\n".join(label for _, label in widget.options)


@pytest.mark.parametrize("choice", ["A", "B", "C"])
def test_widget_shows_each_option_once_and_never_the_question(choice):
    """What the view shows once `choice` is checked for good (right, or a second wrong try)."""
    question = make_question()
    widget = question.widget()
    text = labels(widget) + "\n" + widget.final[choice]
    assert question.question not in text
    for option in question.options.values():
        assert text.count(option) == 1
    for explanation in question.explanations.values():
        assert text.count(explanation) == 1


def test_a_first_wrong_choice_gets_a_second_try_before_the_answer_is_revealed():
    """The view shows `retry[choice]` for a wrong choice while no wrong choice was checked
    before, and `final[choice]` after (course_lib/quiz_widget.js; tests/browser clicks it)."""
    question = make_question()
    widget = question.widget()
    assert sorted(widget.retry) == ["B", "C"]  # the wrong choices, and only they
    first = widget.retry["B"]
    assert "Not quite. Supervised." in first and "Try another option" in first
    assert question.explanations["A"] not in first and "✔" not in first
    second = widget.final["C"]  # the second wrong try: every option explained, the right marked
    assert "Not quite. Mapping." in second and "✔ A. The text is its own label." in second
    assert "Correct!" in widget.final["A"] and "✘ B. Supervised." in widget.final["A"]


def test_a_right_first_choice_explains_every_option():
    question = make_question()
    assert all(text in question.widget().final["A"] for text in question.explanations.values())


def test_feedback_wraps_at_word_boundaries_in_proportional_type():
    widget = make_question().widget()
    for feedback in (widget.hint, widget.prompt, widget.pick_first, *widget.final.values(),
                     *widget.retry.values()):
        assert "white-space: normal" in feedback and "word-break: normal" in feedback
        assert "monospace" not in feedback and "<pre" not in feedback
    assert "Hint: Where do the labels come from?" in widget.hint


def test_check_without_a_choice_asks_for_one():
    assert "Pick an option first." in make_question().widget().pick_first


def test_the_view_is_answered_in_the_browser_from_the_widgets_own_texts():
    """Check and Hint need no kernel (a busy Run All cannot hold them up): the view's script
    sends nothing to the kernel and shows only texts the widget carries."""
    widget = make_question().widget()
    script = widget._esm
    assert "model.send" not in script and "save_changes" not in script
    assert set(widget.keys) >= {"options", "prompt", "hint", "pick_first", "final", "retry"}


def test_classroom_question_has_no_key_and_points_to_the_graded_feedback():
    question = MultipleChoice("What is a base model trained to do?",
                              options={"A": "Next token", "B": "Labels"}, hint="Labels?")
    assert not question.has_key and question.explain_all() == ""
    assert 'Your choice is "B"' in question.check("B")
    assert "graded feedback" in question.check("B")
    widget = question.widget()  # carries no answer: no second try to offer, nothing explained
    assert widget.retry == {} and all("Correct" not in text and "Not quite" not in text
                                      for text in widget.final.values())
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
