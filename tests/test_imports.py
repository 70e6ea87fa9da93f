"""Importing any course_lib or autograder module changes no global state: no allocator tuning, no
IPython hooks, no threads, no signal handlers, no resource limits, no environment changes. What
needs such a change makes it in an explicit call (e.g. fast.keep_freed_memory in training.train).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: the state a module could change, before and after importing every
# module of both packages; calls into a C library (ctypes) are recorded, since their effects
# (malloc settings, for one) cannot be read back.
PROBE = r"""
import ast, atexit, ctypes, importlib, json, os, pkgutil, resource, signal, sys, threading, warnings
import numpy as np
from IPython.core.interactiveshell import InteractiveShell
from pathlib import Path

shell = InteractiveShell.instance()
c_calls = []
real_cdll = ctypes.CDLL
ctypes.CDLL = lambda name, *a, **k: c_calls.append(str(name)) or real_cdll(name, *a, **k)

def state():
    return {
        "threads": threading.active_count(),
        "os threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0,
        "ipython callbacks": {event: len(callbacks)
                              for event, callbacks in shell.events.callbacks.items()},
        "signal handlers": {int(s): repr(signal.getsignal(s)) for s in signal.valid_signals()
                            if s not in (signal.SIGKILL, signal.SIGSTOP)},
        "resource limits": {name: resource.getrlimit(getattr(resource, name))
                            for name in dir(resource) if name.startswith("RLIMIT_")},
        "environment": dict(os.environ),
        "exit callbacks": atexit._ncallbacks(),
        "numpy errors": np.geterr(),
        "warning filters": len(warnings.filters),
        "hooks": [repr(sys.excepthook), repr(sys.displayhook), repr(sys.getprofile()),
                  repr(sys.gettrace())],
        "working directory": os.getcwd(),
        "umask": os.umask(os.umask(0o022)),
    }

# the third-party modules the packages import are imported first: their own import-time
# effects are theirs, not the course's
for path in sorted(p for package in ("course_lib", "autograder")
                   for p in (Path(REPO) / package).rglob("*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        for name in names:
            if name.split(".")[0] not in ("course_lib", "autograder"):
                try:
                    importlib.import_module(name)
                except ImportError:  # an optional dependency (dask, torch) that is not installed
                    pass

before = state()
imported = []
for package in ("course_lib", "autograder"):
    root = importlib.import_module(package)
    imported.append(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
after = state()
print(json.dumps({"imported": imported, "c_calls": c_calls,
                  "changed": {key: [before[key], after[key]] for key in before
                              if before[key] != after[key]}}))
"""


def test_importing_every_module_changes_no_global_state():
    result = subprocess.run([sys.executable, "-c", PROBE.replace("REPO", repr(str(REPO)))],
                            capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    assert {"course_lib.transformer", "course_lib.fast", "course_lib.quiz",
            "autograder.grader.pipeline"} <= set(report["imported"])
    assert report["changed"] == {}, report["changed"]
    assert report["c_calls"] == [], report["c_calls"]


def test_the_probe_sees_what_it_looks_for():
    """The probe is no test that cannot fail: an explicit call of each kind shows in it."""
    probe = PROBE.replace("after = state()", "\n".join([
        "from course_lib import fast, quiz",
        "fast.keep_freed_memory()",
        "quiz.install_quote_reminder(shell)",
        "threading.Thread(target=threading.Event().wait, daemon=True).start()",
        "after = state()"]))  # fmt: skip
    result = subprocess.run([sys.executable, "-c", probe.replace("REPO", repr(str(REPO)))],
                            capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    assert {"threads", "ipython callbacks"} <= set(report["changed"])
    assert any("libc" in call for call in report["c_calls"])
