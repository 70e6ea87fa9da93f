"""A named mistake gets its named message: the visible check it fails says what went wrong.

A chapter's test module lists MESSAGES = {(solution grade_id, wrong answer's name): phrase}, the
wrong answers being those of its WRONG table, and its TestGrading gains one test per entry:

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

A chapter whose every wrong answer must be named also checks its tables with
`check_every_wrong_answer_is_named(WRONG, MESSAGES, minimum=10)`, and that each wrong answer also
loses its points in the hidden tests, in process (no kernel), with
`check_hidden_cases_reject(setup, keys[solution_id], WRONG[solution_id][name], test_code)`: at
least one hidden case of the exercise gives the wrong answer a value the grader would not accept.
"""

from __future__ import annotations

import ast
import contextlib
import io
import warnings

from autograder.grader.compare import compare
from autograder.grader.plan import split_hidden
from autograder.protocol import NotPlainData, decode, encode


def check_named_message(graded: dict, wrong: dict, case: tuple[str, str], phrase: str) -> None:
    """The graded submission carrying wrong answer `case` failed its exercise's visible check with
    a message containing `phrase`."""
    solution_id, name = case
    result, mutated = graded[list(wrong[solution_id]).index(name)]
    assert mutated[solution_id] == name
    failure = result.failed_checks.get("test_" + solution_id, "")
    assert "AssertionError" in failure and phrase in failure, (
        f"{name!r} should fail with a message containing {phrase!r}; the learner saw: {failure!r} "
        f"(the notebook's status: {result.status}, {result.reason!r})"
    )


def check_every_wrong_answer_is_named(wrong: dict, messages: dict, minimum: int) -> None:
    """Each exercise of `wrong` lists at least `minimum` typical wrong answers, and every one of
    them has the phrase its visible check's message must contain (no more, no fewer)."""
    few = {gid: len(wrongs) for gid, wrongs in wrong.items() if len(wrongs) < minimum}
    assert not few, f"exercises with fewer than {minimum} typical wrong answers: {few}"
    cases = {(gid, name) for gid, wrongs in wrong.items() for name in wrongs}
    unnamed, orphans = cases - set(messages), set(messages) - cases
    assert not unnamed, f"wrong answers without a message: {unnamed}"
    assert not orphans, f"messages of no wrong answer: {orphans}"


def setup_namespace(source, first_lines: tuple[str, ...]) -> dict:
    """The names an exercise's checks use: the chapter's first code cell (its imports) and the
    code cells that start with one of `first_lines` (toy models, test tokenizers), run in order."""
    namespace: dict = {}
    code_cells = [cell for cell in source.cells if cell.cell_type == "code"]
    for cell in code_cells:
        if cell is code_cells[0] or cell.source.startswith(first_lines):
            code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
            exec(code, namespace)  # noqa: S102 - the instructor's notebook
    return namespace


def hidden_values(setup: dict, answer: str, test_code: str) -> tuple[list, float, float]:
    """(the plain-data value of each hidden case of `test_code`, rtol, atol) for the answer code
    `answer`, evaluated as the grader does after the cell's visible checks (which define helpers
    the cases use; a check that fails does not stop the cases here). A case that raises is
    ("raised", exception name); one that is not plain data is ("not plain data",)."""
    visible, hidden = split_hidden(test_code)
    call = next(node for node in ast.walk(ast.parse(hidden)) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "hidden_cases")
    expressions = ast.literal_eval(call.args[1])
    options = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    namespace = dict(setup)
    values = []
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a wrong answer may overflow
        exec(answer, namespace)  # noqa: S102 - the instructor's or a listed wrong answer
        with contextlib.suppress(AssertionError):
            exec(visible, namespace)  # noqa: S102 - the instructor's visible checks
        for expression in expressions:
            try:
                values.append(decode(encode(eval(expression, namespace))))  # noqa: S307
            except NotPlainData:
                values.append(("not plain data",))
            except Exception as error:  # a wrong answer may raise anything
                values.append(("raised", type(error).__name__))
    return values, options.get("rtol", 1e-6), options.get("atol", 1e-8)


def check_hidden_cases_reject(setup: dict, solution: str, wrong_answer: str, test_code: str):
    """At least one hidden case of the test cell gives `wrong_answer` a value that does not match
    the instructor's `solution` (within the cell's tolerances), so it loses its points there too."""
    expected, rtol, atol = hidden_values(setup, solution, test_code)
    got, _, _ = hidden_values(setup, wrong_answer, test_code)
    assert len(got) == len(expected)
    assert not all(compare(value, reference, rtol=rtol, atol=atol)[0]
                   for value, reference in zip(got, expected, strict=True)), (
        "every hidden case accepts this wrong answer")
