"""The grader's student version of a source notebook is nbgrader's, cell for cell.

autograder/grader/student_version.py writes nbgrader 0.9's three clearing rules so that a
learner's `llmf-grade check` needs no nbgrader; here nbgrader (the instructor's package, installed
with the test tools) is the oracle: on generated notebooks, whose cells mix the delimiters of
every region (nested, unclosed, indented, inside other text) with any nbgrader flags, both
give the same text for every cell, or both refuse the notebook.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grader.student_version import StudentVersionError, release_version

preprocessors = pytest.importorskip("nbgrader.preprocessors")
NBGRADER = (preprocessors.ClearSolutions(), preprocessors.ClearHiddenTests(),
            preprocessors.ClearMarkScheme())

DELIMITERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
              "BEGIN MARK SCHEME", "END MARK SCHEME"]
PLAIN = ["x = 1", "", "  return y", "Some prose with $math$", "![fig](attachment:a.png)",
         "\tindented", "END", "BEGIN"]


def nbgrader_release(notebook):
    """nbgrader's own student version, or None where it refuses the notebook."""
    released = copy.deepcopy(notebook)
    try:
        for preprocessor in NBGRADER:
            released, _ = preprocessor.preprocess(released, {})
    except RuntimeError:
        return None
    return released


def ours(notebook):
    try:
        return release_version(notebook)
    except StudentVersionError:
        return None


lines = st.one_of(
    st.sampled_from(PLAIN),
    st.builds(lambda indent, mark, delimiter, tail: f"{indent}{mark}{delimiter}{tail}",
              st.sampled_from(["", "    ", "\t", " \u00a0"]), st.sampled_from(["### ", "# ", ""]),
              st.sampled_from(DELIMITERS), st.sampled_from(["", " here", "S"])),
    st.text(max_size=12),
)
flags = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "solution": st.booleans(), "grade": st.booleans(), "task": st.booleans(),
    "locked": st.booleans(), "grade_id": st.just("cell")}))


@st.composite
def notebooks(draw):
    cells = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["code", "markdown", "raw"]))
        source = "\n".join(draw(st.lists(lines, max_size=8)))
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[kind]
        cell = make(source)
        meta = draw(flags)
        if meta is not None:
            cell.metadata["nbgrader"] = meta
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata={"celltoolbar": "Create Assignment"})


@settings(max_examples=200, deadline=None)
@given(notebooks())
def test_the_student_version_is_nbgraders(notebook):
    expected, got = nbgrader_release(notebook), ours(notebook)
    assert (expected is None) == (got is None), (expected, got)
    if expected is not None:
        assert [cell.source for cell in got.cells] == [cell.source for cell in expected.cells]
        assert got.metadata == expected.metadata


@pytest.mark.parametrize("chapter", ["ch1_base_models", "ch2_autoregression",
                                     "ch3_pretraining_objective", "ch4_mle_finetuning",
                                     "ch5_inside_the_transformer"])
def test_every_chapter_releases_as_nbgrader_releases_it(chapter):
    source = nbformat.read(f"course/source/{chapter}/{chapter}.ipynb", as_version=4)
    expected = nbgrader_release(source)
    assert expected is not None
    assert [c.source for c in release_version(source).cells] == [c.source for c in expected.cells]


def test_a_notebook_in_another_language_is_refused_in_words():
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "ir", "display_name": "R", "language": "R"}})
    with pytest.raises(StudentVersionError, match="only Python notebooks"):
        release_version(notebook)
