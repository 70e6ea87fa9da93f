# llm-foundations: every set-up step the course needs, from a fresh machine with Python 3.10+ and make.
#   make course       install the course (only what it needs) into .venv and open JupyterLab on the
#                     learner's own copies of the notebooks (work/, made on first start)
#   make instructor   install the instructor's tools too (nbgrader, a local MathJax) and open
#                     JupyterLab in the nbgrader course folder ($LLMF_COURSE, else course/), with
#                     Formgrader and Create Assignment
#   make test         install the test, lint and Dask extras too, and run the whole test suite
#                     (lint and browser tests included)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Three installs, each on top of the one before: the course's, for learners (the course and its
# grader: a learner's `llmf-grade check` grades with autograder alone, nbgrader is not needed),
# the instructor's (the `instructor` extra: nbgrader, and the MathJax Formgrader typesets with
# offline), and a maintainer's (the test, lint and Dask extras). All are editable: course_lib and autograder run from this checkout, so a
# `git pull` updates them. setuptools announces every editable install with a notice that
# folders named like the package in the working folder take precedence on imports; here they are
# the package itself, so that one message (and only it) is filtered out.
COURSE_INSTALLED := $(VENV)/.course-installed
INSTRUCTOR_INSTALLED := $(VENV)/.instructor-installed
INSTALLED := $(VENV)/.installed
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet
# Jupyter refuses to run as root unless told to (containers, CI machines).
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: course instructor test lint student pretrain bench pythons clean

$(COURSE_INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $(COURSE_INSTALLED)
	@echo "installed into $(VENV): run the grader as $(BIN)/llmf-grade (or first: source $(BIN)/activate)"

$(INSTRUCTOR_INSTALLED): $(COURSE_INSTALLED)
	$(PIP) -e '.[instructor]'
	touch $(INSTRUCTOR_INSTALLED)

$(INSTALLED): $(INSTRUCTOR_INSTALLED)
	$(PIP) -e '.[dev,cluster]'
	touch $(INSTALLED)

# The two JupyterLab servers, both through autograder/lab.py (tested in tests/test_editions_lab.py):
# the learner's server serves the learner's own copies in work/ and has nbgrader's extensions
# disabled; the instructor's serves $LLMF_COURSE (else course/) with .venv/bin on PATH (nbgrader
# runs `alembic`). The browser tests (tests/browser) start them through these targets,
# with LAB_ARGS for a port, a token and no browser window.
course: $(COURSE_INSTALLED)
	$(BIN)/python -m autograder.lab learner $(ROOT_FLAG) $(LAB_ARGS)

instructor: $(INSTRUCTOR_INSTALLED)
	$(BIN)/python -m autograder.lab instructor $(ROOT_FLAG) $(LAB_ARGS)

# Two test workers on two cores: one BLAS thread each (notebook kernels inherit it); with the
# default of one thread per core the workers fight over the cores (measured: 5x slower).
# The browser tests (JupyterLab in Chromium) run afterwards on their own, so their notebook
# kernels and the browser do not compete with the two workers for the cores. They run even when
# lint or the unit tests failed, and `make test` then still fails.
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
test: $(INSTALLED)
	status=0; \
	$(BIN)/ruff check . || status=1; \
	$(ONE_THREAD) $(BIN)/pytest -n 2 --durations=15 --ignore=tests/browser || status=1; \
	$(ONE_THREAD) $(BIN)/pytest tests/browser --durations=5 || status=1; \
	exit $$status

lint: $(INSTALLED)
	$(BIN)/ruff check .

student: $(INSTRUCTOR_INSTALLED)
	$(BIN)/llmf-grade release

# One BLAS thread in each process (this one and the two workers each batch is shared with): the
# same sums in the same order, so the weights come out the same bit for bit.
pretrain: $(INSTALLED)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python scripts/pretrain.py

bench: $(INSTALLED)
	$(BIN)/python scripts/bench_model.py
	$(BIN)/python scripts/bench_grading.py
	$(BIN)/python scripts/bench_notebooks.py

# A kernel environment for every python3.10 ... python3.13 on PATH, so that each notebook is
# graded on the Python it was saved with (autograder/grader/pythons.py; pip installs, once).
pythons: $(COURSE_INSTALLED)
	$(BIN)/llmf-grade pythons --add-found

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
