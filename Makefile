# llm-foundations: every set-up step the course needs, from a fresh machine with Python 3.10+ and make.
#   make course       install into .venv and open JupyterLab on the student notebooks (the main job)
#   make instructor   JupyterLab in the nbgrader course folder, with Formgrader and Create Assignment
#   make test         install into .venv and run the whole test suite (lint and browser tests included)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Jupyter refuses to run as root unless told to (containers, CI machines).
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: course instructor test lint student pretrain bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $(INSTALLED)

# The two JupyterLab servers, both through autograder/lab.py (tested in tests/test_editions_lab.py):
# the learner's server has nbgrader's extensions disabled; the instructor's has .venv/bin on PATH
# (nbgrader runs `alembic`). The browser tests (tests/browser) start them through these targets,
# with LAB_ARGS for a port, a token and no browser window.
course: $(INSTALLED)
	$(BIN)/python -m autograder.lab learner $(ROOT_FLAG) $(LAB_ARGS)

instructor: $(INSTALLED)
	$(BIN)/python -m autograder.lab instructor $(ROOT_FLAG) $(LAB_ARGS)

# Two test workers on two cores: one BLAS thread each (notebook kernels inherit it); with the
# default of one thread per core the workers fight over the cores (measured: 5x slower).
# The browser tests (JupyterLab in Chromium) run afterwards on their own, so their notebook
# kernels and the browser do not compete with the two workers for the cores.
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(ONE_THREAD) $(BIN)/pytest -n 2 --durations=15 --ignore=tests/browser
	$(ONE_THREAD) $(BIN)/pytest tests/browser --durations=5

lint: $(INSTALLED)
	$(BIN)/ruff check .

student: $(INSTALLED)
	$(BIN)/llmf-grade release

# One BLAS thread: the same sums in the same order, so the weights come out the same bit for bit.
pretrain: $(INSTALLED)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python scripts/pretrain.py

bench: $(INSTALLED)
	$(BIN)/python scripts/bench_model.py
	$(BIN)/python scripts/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
