"""The installs: environment.yml lists the same packages, with the same version bounds, as
pyproject.toml; a learner's install (`make course`, also the instructor's) has no extra and
prints no warning; the maintainer's (`make test`) adds the test, lint and Dask extras, and runs
the browser tests even when lint or the unit tests fail, and still fails then."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def normalise(requirement: str) -> tuple[str, str]:
    """Split 'NumPy >= 1.26, <3' into ('numpy', '>=1.26,<3')."""
    # pip's extras ("dask[distributed]") are separate packages in conda ("dask" includes them)
    name, spec = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*(.*)$",
                          requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [line for extra in project["optional-dependencies"].values() for line in extra]
    # an extra may include another one of the project's own ("llm-foundations[test]")
    lines = project["dependencies"] + [
        line for line in extras if normalise(line)[0] != project["name"]
    ]
    lines.append("python" + project["requires-python"])
    return dict(normalise(line) for line in lines)


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = [item for item in env["dependencies"] if isinstance(item, str) and item != "pip"]
    return dict(normalise(item) for item in plain)


def test_environment_yml_matches_pyproject():
    assert conda_requirements() == pyproject_requirements()


def test_environment_yml_installs_the_project_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict)]
    assert ["-e ."] in pip_sections


STAMPS = (".venv/.course-installed", ".venv/.instructor-installed", ".venv/.installed")


def make(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The repository's Makefile run in `folder` (its install steps skipped with -o)."""
    skip = [option for stamp in STAMPS for option in ("-o", stamp)]
    return subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C",
                           str(folder), *skip, *arguments], capture_output=True, text=True,
                          timeout=600)


def install_commands(target: str, folder: Path) -> list[str]:
    """The pip commands `make <target>` runs in a folder with no .venv yet."""
    planned = subprocess.run(["make", "-n", "-f", str(ROOT / "Makefile"), "-C", str(folder),
                              target], capture_output=True, text=True, check=True).stdout
    return [line for line in planned.splitlines() if "pip install" in line]


def test_a_learner_installs_the_course_without_any_extra(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    commands = install_commands("course", tmp_path)
    assert commands and not any("[" in command for command in commands), commands
    instructor = install_commands("instructor", tmp_path)
    assert instructor[:-1] == commands and instructor[-1].endswith(" -e '.[instructor]'")
    assert "'.[dev,cluster]'" in install_commands("test", tmp_path)[-1]


EXTRAS = ["dask", "distributed", "pytest", "hypothesis", "playwright", "ruff", "nbgrader",
          "jupyter_server_mathjax"]


def run_without_extras(code: str) -> subprocess.CompletedProcess:
    """`code` run by this Python in the checkout, where no package of an extra can be found."""
    blocker = ("import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):"
               f"\n        if name.split('.')[0] in {EXTRAS!r}:\n"
               "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
               "sys.meta_path.insert(0, Block())\n")
    return subprocess.run([sys.executable, "-c", blocker + code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_the_course_imports_nothing_an_extra_brings():
    """The modules `make course` and `llmf-grade check` start from import in a Python where
    the extras' packages cannot be found (the instructor's nbgrader is one of them), and
    `check` reads a chapter's plan there."""
    learner = ["course_lib.quiz", "course_lib.pretrained", "autograder.lab", "autograder.cli",
               "autograder.selfcheck"]
    run = run_without_extras("".join(f"import {module}\n" for module in learner) + (
        "autograder.grader.plan.read_plan('course/source/ch1_base_models/ch1_base_models.ipynb')"))
    assert run.returncode == 0, run.stderr[-2000:]


def test_an_instructors_command_in_a_learners_install_says_what_to_install(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ch1").mkdir(parents=True)
    run = run_without_extras("import sys\nfrom autograder.cli import main\n"
                             f"sys.exit(main(['release', '--course', {str(course)!r}]))")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.stderr.strip() == (
        "llmf-grade release: error: this command needs the instructor's tools (nbgrader is not "
        "installed): run `make instructor` once, or pip install -e '.[instructor]'")


@pytest.mark.slow
def test_a_learners_install_prints_no_warning(tmp_path):
    """The Makefile's pip command installs the course (its dependencies left out here) and
    prints nothing, setuptools' editable-install notice included."""
    pip = re.search(r"^PIP := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)[1]
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    upgrade = pip.replace("$(BIN)", str(tmp_path / "venv" / "bin")) + " --upgrade pip"
    subprocess.run(upgrade, shell=True, check=True, capture_output=True)
    command = pip.replace("$(BIN)", str(tmp_path / "venv" / "bin")) + " --no-deps -e ."
    run = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True)
    printed = "\n".join(line for line in (run.stdout + run.stderr).splitlines()
                        if "is ignored: it is neither a file nor a directory" not in line)
    assert run.returncode == 0 and printed == "", printed


def test_make_test_runs_the_browser_tests_even_when_the_unit_tests_fail(tmp_path):
    tools = tmp_path / "bin"
    tools.mkdir()
    calls = tmp_path / "calls"
    for tool in ("ruff", "pytest"):
        script = tools / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n'
                          'case "$*" in *tests/browser*) exit 0;; esac\nexit 1\n')
        script.chmod(0o755)
    run = make(tmp_path, f"BIN={tools}", "test")
    ran = calls.read_text().splitlines()
    assert run.returncode != 0
    assert [line.split()[0] for line in ran] == ["ruff", "pytest", "pytest"]
    assert "tests/browser" in ran[-1] and "--ignore=tests/browser" in ran[1]
