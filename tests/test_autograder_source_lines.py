"""The grader cuts a student's code into lines only where Python's parser does.

`str.splitlines` ends a line at a form feed, U+0085 (NEL, what Windows-1252's "…" becomes when
read as Latin-1), U+2028 (LINE SEPARATOR, which text copied from a PDF or a web page carries)
and five more characters that Python reads as part of a line, in a comment or a string. A
student's cell cut at those, where the parser counted no line, was cut mid-statement: a correct
answer with one in a comment lost its marks, and a cell that compiles could be taken for prose.
Every cut is now `syntax.source_lines` (the similarity report's too: tests/test_similarity.py).
"""

from __future__ import annotations

import nbformat
import pytest
import synthetic
from grading_cli import SOURCE
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grader.execute import statements
from autograder.grader.pipeline import grade_notebook, reference_values
from autograder.grader.plan import read_plan
from autograder.grader.sandbox import Limits
from autograder.grader.submission import is_python
from autograder.records import Status

# what str.splitlines ends a line at and Python does not
NOT_LINE_ENDS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
junk = st.text(st.sampled_from([*NOT_LINE_ENDS, "a", " ", "%", "!", "é"]), max_size=6)
LIMITS = Limits(cell_timeout=5, notebook_timeout=60)


def helper_cell(number: int, junk: str) -> str:
    """A statement-rich piece of a cell, with `junk` in a comment and in a string."""
    return (f"def helper{number}(x):\n    # shape (N,{junk} C)\n    return x\n\n"
            f"text{number} = ({number}, '{junk}')\n")


def test_a_correct_answer_with_a_form_feed_nel_or_line_separator_keeps_full_marks(tmp_path):
    """Graded for real, in the sandbox: helpers with one of each in a comment, then the
    instructor's solution (the cell used to be cut inside the first helper)."""
    answers = synthetic.correct_answers(SOURCE)
    answers["linear_answer"] = "".join(
        helper_cell(number, ch) for number, ch in enumerate(["\x0c", "\x85", "\u2028"])
    ) + answers["linear_answer"]
    submitted = tmp_path / "fx_basics.ipynb"
    submitted.write_text(nbformat.writes(synthetic.student_notebook(SOURCE, answers)))
    references = reference_values(read_plan(SOURCE), LIMITS)
    result = grade_notebook(submitted, SOURCE, references=references, limits=LIMITS)
    assert result.scores["linear_test"] == (2.0, 2.0)
    assert result.status == Status.NEEDS_MANUAL_GRADING  # the written answer, by hand
    assert all(score == points for score, points in result.scores.values() if score is not None)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(junk, min_size=1, max_size=4))
def test_a_cell_cut_into_statements_is_the_cell_and_runs_as_it(parts):
    """Property: whatever a cell's comments and strings hold, its statements joined are the
    cell; when the cell compiles, each statement compiles, and running them one after another
    binds what running the cell binds."""
    code = "".join(helper_cell(number, text) for number, text in enumerate(parts))
    chunks = statements(code)
    assert "".join(chunks) == code
    whole: dict = {}
    try:
        exec(compile(code, "<cell>", "exec"), whole)
    except SyntaxError:
        return
    assert is_python(code)
    one_by_one: dict = {}
    for chunk in chunks:
        exec(compile(chunk, "<chunk>", "exec"), one_by_one)
    assert {k: v for k, v in one_by_one.items() if k.startswith("text")} == \
        {k: v for k, v in whole.items() if k.startswith("text")}


@pytest.mark.parametrize("code", ["total = (7\n% 2)\n", "s = 'a\u2028%b'\n", "s = '''\n!x'''\n"])
def test_code_that_compiles_is_python_whatever_its_lines_start_with(code):
    compile(code, "<cell>", "exec")
    assert is_python(code)
