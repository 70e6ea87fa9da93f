"""Read the multiple-choice questions of a source notebook: their keys, and a student's choices.

A quiz in a source notebook is three cells in this order: a code cell holding only
`MultipleChoice("question", options={...}, answer="B", hint="...", explanations={...})` with
literal arguments, the answer cell (a solution cell setting `answer_<id> = "B"`), and its test
cell. The key is read from the source at grading or feedback time, never from what a student
ships (the classroom edition carries no key at all; see autograder.editions).

>>> call = quiz_call('MultipleChoice("Q?", options={"A": "a", "B": "b"}, answer="A", hint="h",'
...                  ' explanations={"A": "yes", "B": "no"})')
>>> sorted(literal_arguments(call))
['answer', 'explanations', 'hint', 'options', 'question']
>>> chosen("# comment\\nanswer_q1_1 = 'C'\\n", "q1_1")
'C'
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

QUIZ_CLASS = "MultipleChoice"


class QuizError(ValueError):
    """A quiz cell does not have the agreed form (an instructor's mistake)."""


@dataclass(frozen=True)
class QuizKey:
    """One multiple-choice question and its key, as the source notebook states them."""

    answer_id: str  # grade_id of the answer cell, e.g. "q2_1"
    test_id: str  # grade_id of the test cell that scores it, e.g. "test_q2_1"
    question: str
    options: dict[str, str]
    answer: str
    explanations: dict[str, str]
    hint: str

    @property
    def variable(self) -> str:
        return f"answer_{self.answer_id}"


def quiz_call(code: str) -> ast.Call | None:
    """The `MultipleChoice(...)` call a cell consists of; None for a cell without one.

    Raises QuizError for a cell that calls MultipleChoice but holds anything else besides.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == QUIZ_CLASS]
    if not calls:
        return None
    if not (len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
            and tree.body[0].value is calls[0] and len(calls) == 1):
        raise QuizError(f"a quiz cell must hold only one {QUIZ_CLASS}(...) expression, got:\n"
                        f"{code[:300]}")
    return calls[0]


def literal_arguments(call: ast.Call) -> dict:
    """{argument name: value} of a MultipleChoice call; the question is the one positional."""
    if len(call.args) != 1 or any(keyword.arg is None for keyword in call.keywords):
        raise QuizError(f'{QUIZ_CLASS} takes the question first, then keywords: '
                        f'{QUIZ_CLASS}("question", options={{...}}, answer="B", hint="...", '
                        f"explanations={{...}})")
    try:
        arguments = {"question": ast.literal_eval(call.args[0])}
        arguments.update({kw.arg: ast.literal_eval(kw.value) for kw in call.keywords})
    except ValueError:
        raise QuizError(f"{QUIZ_CLASS} needs literal arguments (strings and dicts of "
                        "strings), so the release can remove the key") from None
    return arguments


def chosen(code: str, answer_id: str) -> str | None:
    """The string an answer cell assigns to `answer_<answer_id>` (None if it assigns none)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    value = None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == f"answer_{answer_id}"):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
    return value if isinstance(value, str) else None


def _role(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def read_quiz_keys(notebook) -> dict[str, QuizKey]:
    """{test grade_id: QuizKey} for every quiz of a source notebook (nbformat node), in order."""
    keys, pending, answer_id = {}, None, None
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        role = _role(cell)
        call = quiz_call(cell.source)
        if call is not None:
            if pending is not None:
                raise QuizError(f"quiz {pending['question']!r} has no answer cell after it")
            pending, answer_id = literal_arguments(call), None
        elif pending is not None and role.get("solution") and answer_id is None:
            answer_id = role["grade_id"]
            written = chosen(cell.source, answer_id)
            if written != pending.get("answer"):
                raise QuizError(f"{answer_id}: the quiz says answer={pending.get('answer')!r} "
                                f"but its answer cell sets answer_{answer_id} = {written!r}")
        elif pending is not None and role.get("grade") and answer_id is not None:
            keys[role["grade_id"]] = QuizKey(
                answer_id=answer_id, test_id=role["grade_id"], question=pending["question"],
                options=pending["options"], answer=pending["answer"],
                explanations=pending["explanations"], hint=pending.get("hint", ""),
            )
            pending = None
    if pending is not None:
        raise QuizError(f"quiz {pending['question']!r} has no answer and test cell after it")
    return keys
