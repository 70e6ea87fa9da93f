# llm-foundations: every set-up step the course needs, from a fresh machine with Python 3.10+ and make.
#   make course   install into .venv and open JupyterLab on the student notebooks (the main job)
#   make test     install into .venv and run the whole test suite (lint included)

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

course: $(INSTALLED)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=notebooks

instructor: $(INSTALLED)
	cd course && ../$(BIN)/jupyter lab $(ROOT_FLAG)

# Two test workers on two cores: one BLAS thread each (notebook kernels inherit it); with the
# default of one thread per core the workers fight over the cores (measured: 5x slower).
test: $(INSTALLED)
	$(BIN)/ruff check .
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/pytest -n 2 --durations=15

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
