"""The Pythons a student's kernel may run on, and the one each notebook is graded on.

Code valid in one Python the course supports (3.10-3.13) may not compile in another: a type
alias statement (`type Vector = list[float]`) or an f-string that nests its own quotes needs
3.12. So besides the grader's own Python, an instructor prepares a kernel environment for each
other Python the students may use, once, with network (`llmf-grade pythons --add python3.13`, or
`--add-found` for every python3.10 to python3.13 on PATH; `make pythons`): a virtual environment
made by that interpreter with what the kernel side imports (`kernel_packages()`). Each lives in
`folder()` (`$LLMF_PYTHONS`, else `llmf-pythons/` inside the grader's own environment) and is
ready once its marker file (MARKER, written last) names its version and the packages it holds,
which must still be what the kernel side needs; grading never installs.

Each notebook is graded on the Python its file records (`metadata.language_info.version`, as
Jupyter saves it) when one of the same minor version is ready; else on the nearest (the newer of
two as near), and the result says so; a notebook that records none is graded on the newest.
Which Python ran is recorded with the result and named in the export and the feedback page.

>>> python, note = choose((3, 12), [KernelPython((3, 11, 7), Path("a")),
...                                  KernelPython((3, 13, 0), Path("b"))])
>>> python.name, note
('3.13.0', 'saved on Python 3.12, which the grader does not have: the nearest')
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13))  # the course's Pythons (pyproject.toml)
# What the kernel side imports (course_lib, and autograder's KERNEL_SIDE): ipykernel (the kernel),
# numpy (the protocol, course_lib), matplotlib, ipywidgets, anywidget and tqdm (course_lib's plots,
# widgets, quiz widget and progress bars). A kernel environment installs them at the versions the
# project requires (kernel_packages); tests/test_autograder_pythons.py checks that every import of
# the kernel side comes with one of them.
KERNEL_DISTRIBUTIONS = ("ipykernel", "numpy", "matplotlib", "ipywidgets", "anywidget", "tqdm")
PROJECT = "llm-foundations"  # the distribution whose requirements pin KERNEL_DISTRIBUTIONS
MARKER = "llmf-kernel.json"
PYTHONS_ENV = "LLMF_PYTHONS"
MAX_VERSION_CHARS = 40  # a recorded version longer than this is no version


@dataclass(frozen=True)
class KernelPython:
    """A Python a kernel can run on: its version (major, minor, micro) and its executable,
    inside `prefix` (its environment) made from `base_prefix` (its installation)."""

    version: tuple[int, int, int]
    executable: Path
    prefix: Path = Path(sys.prefix)
    base_prefix: Path = Path(sys.base_prefix)

    @property
    def minor(self) -> tuple[int, int]:
        return self.version[:2]

    @property
    def name(self) -> str:
        return ".".join(map(str, self.version))


@functools.cache  # read once per process: every notebook graded asks which Pythons are ready
def kernel_packages() -> tuple[str, ...]:
    """KERNEL_DISTRIBUTIONS as pip requirements, pinned as the project's own requirements pin them.

    >>> [package for package in kernel_packages() if package.startswith("numpy")]
    ['numpy<3,>=1.26']
    """
    from importlib.metadata import requires

    pinned = {}
    for requirement in requires(PROJECT) or []:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group()
        if ";" not in requirement:  # not an extra's requirement
            pinned[name.lower()] = requirement.replace(" ", "")
    return tuple(pinned.get(name, name) for name in KERNEL_DISTRIBUTIONS)


def own_python() -> KernelPython:
    """The grader's own Python (always available)."""
    return KernelPython(tuple(sys.version_info[:3]), Path(sys.executable))


def folder() -> Path:
    """Where the kernel environments live: $LLMF_PYTHONS, else llmf-pythons/ in sys.prefix."""
    return Path(os.environ.get(PYTHONS_ENV) or Path(sys.prefix) / "llmf-pythons")


def prepared() -> list[KernelPython]:
    """The kernel environments of `folder()` that are ready (marker written, executable there)."""
    found = []
    for marker in sorted(folder().glob(f"*/{MARKER}")):
        try:
            facts = json.loads(marker.read_text())
            python = KernelPython(tuple(facts["version"]), Path(facts["executable"]),
                                  Path(facts["prefix"]), Path(facts["base_prefix"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if facts.get("packages") != list(kernel_packages()):  # made for an earlier course_lib
            continue
        if python.executable.exists() and len(python.version) == 3:
            found.append(python)
    return found


def available() -> list[KernelPython]:
    """The Pythons grading may use, one per minor version (the grader's own first), oldest
    first."""
    by_minor: dict[tuple[int, int], KernelPython] = {}
    for python in [own_python(), *prepared()]:
        by_minor.setdefault(python.minor, python)
    return [by_minor[minor] for minor in sorted(by_minor)]


def recorded_minor(notebook) -> tuple[int, int] | None:
    """The (major, minor) of the Python a notebook's JSON records it was saved with
    (`metadata.language_info.version`, "3.12.1"), or None if it records none that reads so."""
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    info = metadata.get("language_info") if isinstance(metadata, dict) else None
    version = info.get("version") if isinstance(info, dict) else None
    if not isinstance(version, str) or len(version) > MAX_VERSION_CHARS:
        return None
    parts = version.strip().split(".")
    if len(parts) < 2 or not all(part.isdecimal() and len(part) < 4 for part in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def choose(recorded: tuple[int, int] | None,
           pythons: list[KernelPython]) -> tuple[KernelPython, str]:
    """(the Python to grade on, a note saying why when it is not the one recorded): the one of
    the recorded minor version, else the nearest (the newer of two as near); the newest when
    nothing is recorded. `pythons` is not empty."""
    newest = max(pythons, key=lambda python: python.version)
    if recorded is None:
        return newest, ""
    same = [python for python in pythons if python.minor == recorded]
    if same:
        return same[0], ""

    def distance(python: KernelPython) -> tuple:
        major, minor = python.minor
        return abs((major - recorded[0]) * 100 + minor - recorded[1]), tuple(-n for n in
                                                                           python.version)

    nearest = min(pythons, key=distance)
    saved = ".".join(map(str, recorded))
    return nearest, f"saved on Python {saved}, which the grader does not have: the nearest"


def interpreter_facts(interpreter: str) -> tuple[tuple[int, int, int], Path]:
    """(version, real executable) of an interpreter named or found on PATH; ValueError if it
    is not one (or not a Python the course supports)."""
    found = shutil.which(interpreter) or interpreter
    try:
        answer = subprocess.run(
            [found, "-c", "import sys; print(sys.executable); print(*sys.version_info[:3])"],
            capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
        version = tuple(int(part) for part in answer[1].split())
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        raise ValueError(f"{interpreter} is not a Python interpreter that runs here") from None
    if version[:2] not in SUPPORTED:
        raise ValueError(f"{interpreter} is Python {'.'.join(map(str, version))}; the course "
                         f"supports {', '.join(f'{a}.{b}' for a, b in SUPPORTED)}")
    return version, Path(answer[0])


def found_on_path() -> list[str]:
    """The python3.10 ... python3.13 commands on PATH that run (a pyenv shim of a version not
    selected does not)."""
    found = []
    for name in (f"python{major}.{minor}" for major, minor in SUPPORTED):
        try:
            if shutil.which(name):
                interpreter_facts(name)
                found.append(name)
        except ValueError:
            continue
    return found


def prepare(interpreter: str, log=print) -> KernelPython:
    """Make (or make again) the kernel environment of `interpreter`: a virtual environment with
    `kernel_packages()` installed by pip (the one step that needs the network), then its marker.
    Raise ValueError (not a supported Python) or subprocess.CalledProcessError (pip failed)."""
    version, executable = interpreter_facts(interpreter)
    prefix = folder() / f"python{version[0]}.{version[1]}"
    (prefix / MARKER).unlink(missing_ok=True)  # not ready until the install is done
    log(f"preparing a kernel environment for Python {'.'.join(map(str, version))} "
        f"({executable}) in {prefix}")
    subprocess.run([str(executable), "-m", "venv", "--clear", str(prefix)], check=True)
    python = prefix / "bin" / "python"
    packages = kernel_packages()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    base = subprocess.run([str(python), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    kernel = KernelPython(version, python, prefix, Path(base))
    (prefix / MARKER).write_text(json.dumps({
        "version": list(version), "executable": str(python), "prefix": str(prefix),
        "base_prefix": base, "packages": list(packages)}))
    return kernel
