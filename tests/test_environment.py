"""environment.yml must list the same packages, with the same version bounds, as pyproject.toml."""

import re
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
