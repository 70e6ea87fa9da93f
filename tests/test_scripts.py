"""The scripts of scripts/, run from an install without the extras they need (a learner's
`make course`), say in one line what to install instead of printing a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if p.name != "extras.py")
# runs a script as `python scripts/X.py --help` would, with the extras' modules not importable
WITHOUT_EXTRAS = """
import runpy, sys
BLOCKED = {"nbgrader", "pytest", "hypothesis", "distributed"}  # the extras' own
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Blocker())
script = sys.argv[1]
sys.argv = [script, "--help"]
sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
runpy.run_path(script, run_name="__main__")
"""


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_script_without_its_extras_says_what_to_install(script):
    run = subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, str(script)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in run.stderr, run.stderr[-1500:]
    if run.returncode == 0:  # it needs no extra: its --help
        assert "usage:" in run.stdout
    else:
        (line,) = run.stderr.strip().splitlines()
        assert line.startswith(f"{script.name}: needs ") and "make .venv/.installed" in line
