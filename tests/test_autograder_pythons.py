"""The Python a notebook is graded on: the one it was saved with, else the nearest, else the
newest; said in the result, the export and the feedback page (autograder.grader.pythons).

The choice is a property over any set of Pythons and any recorded version. Grading on another
Python runs when this machine has one newer than the grader's own (pyenv's, or python3.X on
PATH): its kernel environment is prepared once per machine, in a cache folder outside the clone
(preparing installs its packages with pip: minutes, once), and reused by later runs.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from grading_cli import SOURCE
from hypothesis import given, settings
from hypothesis import strategies as st
from test_autograder_fuzz import HONEST, json_values

from autograder.grader import pythons
from autograder.grader.kernel import SandboxedKernel
from autograder.grader.pipeline import grade_notebook
from autograder.grader.pythons import KernelPython, choose, recorded_minor
from autograder.grader.sandbox import KERNEL_SIDE, Limits, bwrap_works

LIMITS = Limits(cell_timeout=20, notebook_timeout=120)
MINORS = st.tuples(st.just(3), st.integers(6, 15)) | st.tuples(st.integers(0, 4),
                                                                st.integers(0, 20))


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the modules a file imports, anywhere in it (lazy imports too)."""
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    return {name.split(".")[0] for name in names}


def with_requirements(distributions: set[str]) -> set[str]:
    """`distributions` and everything they require (extras left out), by installed metadata."""
    found, todo = set(), [name.lower() for name in distributions]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            needed = requires(name) or []
        except PackageNotFoundError:  # another platform's requirement (colorama on Windows)
            continue
        todo += [re.match(r"[A-Za-z0-9._-]+", requirement).group().lower().replace("_", "-")
                 for requirement in needed if "extra ==" not in requirement]
    return found


def test_a_kernel_environment_holds_everything_the_kernel_side_imports():
    """Every third-party module that course_lib or autograder's kernel side imports comes with
    a package of a prepared kernel environment, pinned as the project pins it."""
    root = Path(pythons.__file__).parents[2]
    files = [*root.glob("course_lib/**/*.py")]
    for name in KERNEL_SIDE:
        side = root / "autograder" / name
        files += [*side.glob("**/*.py")] if side.is_dir() else [side]
    modules = set().union(*map(imported_modules, files))
    third_party = modules - set(sys.stdlib_module_names) - {"course_lib", "autograder"}
    provided = with_requirements(set(pythons.KERNEL_DISTRIBUTIONS))
    by_module = packages_distributions()
    missing = {module for module in third_party
               if not {d.lower() for d in by_module.get(module, [module])} & provided}
    assert not missing, f"imported by the kernel side, not in KERNEL_DISTRIBUTIONS: {missing}"
    assert all(re.search(r"[<>=]", package) for package in pythons.kernel_packages()), \
        "every kernel package is pinned by the project's own requirements"


@settings(max_examples=1000, deadline=None)
@given(minors=st.lists(MINORS, min_size=1, max_size=5, unique=True),
       recorded=st.none() | MINORS)
def test_the_python_chosen_is_the_one_saved_with_else_the_nearest_else_the_newest(minors,
                                                                                   recorded):
    ready = [KernelPython((*minor, 0), Path(f"python{minor}")) for minor in minors]
    chosen, note = choose(recorded, ready)
    assert chosen in ready
    if recorded is None:
        assert chosen.minor == max(minors) and note == ""
    elif recorded in minors:
        assert chosen.minor == recorded and note == ""
    else:
        def distance(minor):
            return abs((minor[0] - recorded[0]) * 100 + minor[1] - recorded[1])
        nearest = min(map(distance, minors))
        assert distance(chosen.minor) == nearest
        assert chosen.minor == max(m for m in minors if distance(m) == nearest)  # the newer
        assert note == (f"saved on Python {recorded[0]}.{recorded[1]}, which the grader does "
                        "not have: the nearest")


@settings(max_examples=500, deadline=None)
@given(metadata=json_values | st.fixed_dictionaries({"language_info": json_values})
       | st.fixed_dictionaries({"language_info": st.fixed_dictionaries({
           "version": st.text(max_size=20) | st.from_regex(r"\d{1,3}\.\d{1,3}(\.\d+)?[a-z0-9]*",
                                                           fullmatch=True)})}))
def test_the_recorded_version_is_read_from_any_json_without_raising(metadata):
    minor = recorded_minor({"metadata": metadata})
    assert minor is None or (len(minor) == 2 and all(type(n) is int for n in minor))
    version = (metadata.get("language_info") or {}) if isinstance(metadata, dict) else {}
    version = version.get("version") if isinstance(version, dict) else None
    if isinstance(version, str) and version.count(".") and version.split(".")[1].isdecimal() \
            and version.split(".")[0].isdecimal() and len(version) < 20 \
            and max(len(part) for part in version.split(".")[:2]) < 4:
        assert minor == tuple(int(part) for part in version.split(".")[:2])


def test_without_other_pythons_grading_runs_on_the_grader_s_own(monkeypatch, tmp_path):
    monkeypatch.setenv(pythons.PYTHONS_ENV, str(tmp_path))
    assert pythons.available() == [pythons.own_python()]
    (tmp_path / "python3.99").mkdir()  # half prepared: no marker yet
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / pythons.MARKER).write_text("{not json")
    assert pythons.available() == [pythons.own_python()]


# ---- grading on a newer Python than the grader's own, when this machine has one ------------

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmf-foundations"


def newer_interpreter() -> str | None:
    """The newest Python of the course on this machine newer than the grader's own, or None."""
    candidates = [str(path) for path in Path.home().glob(".pyenv/versions/3.*/bin/python3")]
    candidates += pythons.found_on_path()
    best = None
    for candidate in candidates:
        try:
            version, _ = pythons.interpreter_facts(candidate)
        except ValueError:
            continue
        if version[:2] > sys.version_info[:2] and (best is None or version > best[0]):
            best = (version, candidate)
    return best[1] if best else None


@pytest.fixture(scope="module")
def newer_python():
    """A kernel environment of a newer Python, prepared once per machine in CACHE."""
    interpreter = newer_interpreter()
    if interpreter is None:
        pytest.skip("no Python of the course newer than the grader's own on this machine")
    folder = CACHE / "kernel-pythons"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(pythons.PYTHONS_ENV, str(folder))
        version, _ = pythons.interpreter_facts(interpreter)
        ready = [p for p in pythons.prepared() if p.minor == version[:2]]
        yield ready[0] if ready else pythons.prepare(interpreter)


NEWER_SYNTAX = ("type Vector = list[float]\n"  # PEP 695, Python 3.12
                "_message = f\"{\"nested quotes\"}\"\n")  # PEP 701, Python 3.12


def saved_on(version: str | None, code: str = NEWER_SYNTAX) -> dict:
    """The honest notebook with 3.12 syntax in its first answer, saved on Python `version`."""
    notebook = copy.deepcopy(HONEST)
    answer = next(c for c in notebook["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "linear_answer")
    answer["source"] = "".join(answer["source"]) + "\n" + code
    if version is not None:
        notebook["metadata"]["language_info"] = {"name": "python", "version": version}
    return notebook


def test_newer_syntax_grades_right_on_a_newer_python(newer_python, tmp_path):
    path = tmp_path / "newer.ipynb"
    path.write_text(json.dumps(saved_on(None)))
    result = grade_notebook(path, SOURCE, limits=LIMITS)
    assert result.python == newer_python.name and result.python_note == ""
    assert result.scores["linear_test"] == (2.0, 2.0), result.messages


def test_a_notebook_is_graded_on_the_python_it_was_saved_with_or_the_nearest(newer_python,
                                                                             tmp_path):
    own = pythons.own_python()
    for version, expected, note in [
        (f"{own.minor[0]}.{own.minor[1]}.0", own, ""),
        ("3.9.18", own if own.minor > (3, 9) else newer_python, "saved on Python 3.9"),
    ]:
        path = tmp_path / f"{version}.ipynb"
        path.write_text(json.dumps(saved_on(version, "")))
        result = grade_notebook(path, SOURCE, limits=LIMITS)
        assert result.python == expected.name and note in result.python_note, result
        assert result.scores["linear_test"] == (2.0, 2.0), result.messages


def test_the_sandbox_holds_on_a_newer_python(newer_python):
    """Its kernel sees its own Python and course_lib, not the grader's code or the course."""
    if not bwrap_works():
        pytest.skip("without bubblewrap the kernel can read the grader's files")
    with SandboxedKernel(LIMITS, python=newer_python) as kernel:
        judge = Path(pythons.__file__).parent / "judge.py"
        outcome = kernel.execute(
            "import sys, os, course_lib, numpy\n"
            f"print(sys.version_info[:2], os.path.exists({str(judge)!r}), "
            f"os.path.exists({str(SOURCE)!r}), sys.prefix)", timeout=60)
    assert outcome.status == "ok", outcome.error
    minor = f"({newer_python.minor[0]}, {newer_python.minor[1]})"
    assert outcome.output.startswith(f"{minor} False False"), outcome.output
