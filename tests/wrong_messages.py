"""A named mistake gets its named message: the visible check it fails says what went wrong.

A chapter's test module lists MESSAGES = {(solution grade_id, wrong answer's name): phrase}, the
wrong answers being those of its WRONG table, and its TestGrading gains one test per entry:

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

A chapter whose every wrong answer must be named also checks its tables with
`check_every_wrong_answer_is_named(WRONG, MESSAGES, minimum=10)`.
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


def check_every_wrong_answer_is_named(wrong: dict, messages: dict, minimum: int) -> None:
    """Each exercise of `wrong` lists at least `minimum` typical wrong answers, and every one of
    them has the phrase its visible check's message must contain (no more, no fewer)."""
    few = {gid: len(wrongs) for gid, wrongs in wrong.items() if len(wrongs) < minimum}
    assert not few, f"exercises with fewer than {minimum} typical wrong answers: {few}"
    cases = {(gid, name) for gid, wrongs in wrong.items() for name in wrongs}
    unnamed, orphans = cases - set(messages), set(messages) - cases
    assert not unnamed, f"wrong answers without a message: {unnamed}"
    assert not orphans, f"messages of no wrong answer: {orphans}"
