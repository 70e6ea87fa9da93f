"""A named mistake gets its named message: the visible check it fails says what went wrong.

A chapter's test module lists MESSAGES = {(solution grade_id, wrong answer's name): phrase}, the
wrong answers being those of its WRONG table, and its TestGrading gains one test per entry:

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])
"""

from __future__ import annotations


def check_named_message(graded: dict, wrong: dict, case: tuple[str, str], phrase: str) -> None:
    """The graded submission carrying wrong answer `case` failed its exercise's visible check with
    a message containing `phrase`."""
    solution_id, name = case
    result, mutated = graded[list(wrong[solution_id]).index(name)]
    assert mutated[solution_id] == name
    failure = result.failed_checks.get("test_" + solution_id, "")
    assert "AssertionError" in failure and phrase in failure, (
        f"{name!r} should fail with a message containing {phrase!r}; the learner saw: {failure!r}"
    )
