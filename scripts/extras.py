"""What a script here needs beyond a learner's install, said in one line instead of a traceback.

The benchmarks run the grader's release (nbgrader: the `instructor` extra) and reuse the test
suite's helpers (pytest, hypothesis: the `test` extra), which `make course` leaves out:

    from extras import require
    require("instructor", "test")   # before the imports that need them
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# the modules each extra of pyproject.toml gives that the scripts import
MODULES = {"instructor": ("nbgrader",), "test": ("pytest", "hypothesis"),
           "cluster": ("distributed",)}


def require(*extras: str) -> None:
    """Exit with one line naming what is missing and the command that installs it, unless
    every module of `extras` imports."""
    missing = []
    for extra in extras:
        for module in MODULES[extra]:
            try:
                importlib.import_module(module)
            except ImportError:
                missing.append(module)
    if missing:
        script = Path(sys.argv[0]).name
        sys.exit(f"{script}: needs {', '.join(missing)} (the {' and '.join(extras)} "
                 f"extra{'s' if len(extras) > 1 else ''}), which a learner's install (`make "
                 "course`) leaves out: run `make .venv/.installed` once (the install `make test` "
                 f"and `make bench` make), then .venv/bin/python scripts/{script}")
