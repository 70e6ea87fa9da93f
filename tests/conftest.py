"""Shared test set-up: one BLAS thread per process.

The suite runs on two workers on two cores, and the notebook kernels they start inherit this
environment. With BLAS's default of one thread per core the processes fight over the cores
(measured: a chapter notebook 5x slower). `make test` sets the same variables.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
