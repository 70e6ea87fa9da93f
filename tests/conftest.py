"""Shared test set-up: one BLAS thread per process, and the chapter tests' fixtures.

The suite runs on two workers on two cores, and the notebook kernels they start inherit this
environment. With BLAS's default of one thread per core the processes fight over the cores
(measured: a chapter notebook 5x slower). `make test` sets the same variables.
"""

import os

# before anything imports numpy: BLAS reads these when it loads
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import chapter_harness as harness  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

# tests sharing a broad fixture share an xdist worker; reports travel between processes as
# valid UTF-8 whatever a test generated
pytest_plugins = ["fixture_groups", "plain_reports"]


# Fixtures of a chapter's test module (tests/test_ch*.py), which names its chapter in CHAPTER.


@pytest.fixture(scope="module")
def source(request):
    """The chapter's instructor notebook."""
    return nbformat.read(harness.source_path(request.module.CHAPTER), as_version=4)


@pytest.fixture(scope="module")
def quiz(source):
    """{question grade_id: (its MultipleChoice, the key in its answer cell)}."""
    return harness.quiz_questions(source)


@pytest.fixture(scope="module")
def answer_keys(source):
    """{solution grade_id: the instructor's solution code}."""
    return harness.answer_keys(source)
