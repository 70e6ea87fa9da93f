"""What happened to each graded item, in a learner's words: one sentence per item, the same on the
feedback page and in `llmf-grade check`'s printout.

The sentence is built from the structured result only: the score, the quiz key and the choice
the answer cell made, whether the exercise's answer cells still raise NotImplementedError, the
failed visible check's own message (the instructor's text, cut down by the grader), the kind of
hidden-case failure, and the instructor's manual score and comment. The grader's own vocabulary
("hidden case 1 of 1", "a visible check failed") never reaches the learner, and neither does any
text the student's code made: a value the student's code formatted into a check's message is
already "…" (autograder.grader.judge).

>>> key = QuizKey("q1_1", "test_q1_1", "Q?", {"A": "a", "B": "b"}, "B",
...               {"A": "No.", "B": "Right: the text supplies the labels."}, "h")
>>> quiz_story(key, 'answer_q1_1 = "A"')
'your answer A, the right answer B, because the text supplies the labels.'
>>> quiz_story(key, "raise NotImplementedError()")
'not answered'
>>> hidden_story("softmax: hidden case 2 of 3: wrong value")[-55:]
"grader's own input 2 of 3 your code gives a wrong value"
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from autograder.grader import syntax
from autograder.grader.plan import MAX_PARSED_CHARS
from autograder.quiz_keys import QuizKey, chosen
from course_lib.quiz import unquoted_answers

NOT_ATTEMPTED = "not attempted: the exercise still raises NotImplementedError where your code goes"
NOT_ANSWERED = "not answered"
RUN_IT_YOURSELF = "run the check in your notebook to see where and why"
HIDDEN_CASE = re.compile(
    r"^(?P<name>[\w.]+): hidden case (?P<number>[0-9]+) of (?P<count>[0-9]+):? (?P<why>.+)$",
    re.DOTALL)
# the grader's messages for a test cell that did not pass, and the plain words for each
FIXED_WORDS = (
    (re.compile(r"^the visible checks timed out$"),
     "the check ran out of time: your code is too slow, or never finishes"),
    (re.compile(r"^the visible checks crashed the kernel$"),
     "your code crashed Python while the check ran (it ran out of memory, or ended the process)"),
    (re.compile(r"^not run: "), "not checked: an earlier cell crashed or ran out of time"),
    (re.compile(r"^the hidden tests could not run"),
     "the grader could not try your code on its own inputs: the check's cell stopped early"),
    (re.compile(r": the hidden tests did not report"),
     "the grader could not try your code on its own inputs: something in your code stopped it"),
    (re.compile(r": the hidden tests reported the wrong number of cases$"),
     "the grader could not try your code on its own inputs: something in your code stopped it"),
)


@dataclass(frozen=True)
class ItemFacts:
    """What is known about one graded item of one notebook.

    score: points earned (None: a written answer not graded yet); points: its maximum;
    message: the grader's message (""); failed_check: the failed visible check's error, as the
    grader cut it down ("" if the checks passed); unsolved: True if one of the exercise's answer
    cells still raises NotImplementedError; comments: the instructor's comments from Formgrader;
    graded_by_hand: True if the instructor gave the score in Formgrader.
    """

    score: float | None
    points: float
    message: str = ""
    failed_check: str = ""
    unsolved: bool = False
    comments: tuple[str, ...] = field(default_factory=tuple)
    graded_by_hand: bool = False


def _lower_first(text: str) -> str:
    """'The text ...' -> 'the text ...' (but 'BPE ...' stays as it is)."""
    return text[:1].lower() + text[1:] if text[:2].istitle() else text


def _reason(explanation: str) -> str:
    """An option's explanation after "because": without its leading "Right:"."""
    return _lower_first(re.sub(r"^Right\s*[:.!,-]\s*", "", explanation.strip()))


def quiz_story(key: QuizKey, code: str, scored_right: bool | None = None) -> str:
    """The story of a multiple-choice question whose answer cell holds `code`. The choice is
    read from the cell's text as the grader reads a value: in any case, with spaces around it
    (" b " is "B"). The grader, though, reads the value the notebook left when it ran; given
    its verdict (`scored_right`), the story never contradicts it: a right answer the cell
    computes instead of writing is right, and a right choice that the notebook assigned again
    later is not."""
    try:
        choice = chosen(code, key.answer_id)
        unquoted = unquoted_answers(code)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        choice, unquoted = None, []  # code the parser cannot take holds no written choice
    if choice is not None:
        choice = {option.lower(): option for option in key.options}.get(choice.strip().lower(),
                                                                         choice)
    if scored_right and choice != key.answer:  # computed, or written in a form the text hides
        choice = key.answer
    if scored_right is False and choice == key.answer:
        return (f"your answer cell writes {choice}, the right answer, but when the notebook "
                f"ran, answer_{key.answer_id} held something else (is it assigned again further "
                "down?), so it earned no points")
    if choice is None:
        unquoted = [written for variable, written in unquoted
                    if variable == key.variable and written.split(" = ")[1].strip('"')
                    in key.options]
        return f"{NOT_ANSWERED} (write the option in quotes: {unquoted[0]})" if unquoted else (
            NOT_ANSWERED)
    because = f"the right answer {key.answer}, because {_reason(key.explanations[key.answer])}"
    if choice == key.answer:
        return f"your answer {choice}: right, because {_reason(key.explanations[choice])}"
    if choice not in key.options:
        return f"your answer is not one of the options ({', '.join(key.options)}); {because}"
    return f"your answer {choice}, {because}"


def hidden_story(message: str) -> str | None:
    """The story of a hidden-case mismatch ("softmax: hidden case 2 of 3: wrong value"), or
    None if `message` is not one."""
    match = HIDDEN_CASE.match(message)
    if match is None:
        return None
    why = match["why"]
    if why == "wrong value":
        what = "gives a wrong value"
    elif why.startswith(("raised", "returned", "calls", "gave")):
        what = why
    else:
        what = f"gives a wrong result ({why})"
    return (f"the checks in your notebook pass, but on the grader's own input "
            f"{match['number']} of {match['count']} your code {what}")


def check_story(failed_check: str) -> str:
    """The story of a failed visible check, from the grader's cut-down error: the check's own
    message when it has one, else which kind of error stopped the student's code."""
    name, _, message = failed_check.partition(": ")
    if name == "ForbiddenCall":
        return ("your code calls a course_lib function this exercise asks you to write yourself "
                "(it is not there while grading)")
    if message:
        return f"the check says: {message}"
    if name.startswith("an exception"):
        return f"your code raised an exception of its own; {RUN_IT_YOURSELF}"
    name = name.split(" ")[0]
    return f"your code stopped with a {name} before the check finished; {RUN_IT_YOURSELF}"


def exercise_story(facts: ItemFacts) -> str:
    """The story of an exercise (a test cell that is not a quiz's)."""
    if facts.score == facts.points:
        return "passed"
    if facts.unsolved:
        return NOT_ATTEMPTED
    if facts.failed_check:
        return check_story(facts.failed_check)
    hidden = hidden_story(facts.message)
    if hidden:
        return hidden
    for pattern, words in FIXED_WORDS:
        if pattern.search(facts.message):
            return words
    return "not passed"


def written_story(facts: ItemFacts, self_paced: bool) -> str:
    """The story of a written answer: graded by hand, waiting for it, or not answered."""
    if facts.graded_by_hand:
        return "graded by your instructor"
    if facts.score is None:
        if self_paced:
            return "graded by hand: compare your answer with the model answer and the rubric"
        return "waiting for your instructor's grading"
    if facts.message == "no answer written":
        return NOT_ANSWERED
    return "graded"


def with_comments(story: str, facts: ItemFacts) -> str:
    """The story followed by the instructor's comments, if any."""
    said = [comment.strip() for comment in facts.comments if comment and comment.strip()]
    return "; ".join([story, *(f"your instructor's comment: {c}" for c in said)])


def raises_not_implemented(code: str) -> bool:
    """True if `code` holds a `raise NotImplementedError` statement (an unsolved stub); student
    code is parsed within the grader's bound (MAX_PARSED_CHARS) and any parse failure is False."""
    if len(code) > MAX_PARSED_CHARS:
        return False
    try:
        tree = syntax.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # too nested: not a stub
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                return True
    return False
