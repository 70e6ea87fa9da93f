"""The suite's xdist grouping works: tests sharing a module or class fixture run on one worker
(tests/fixture_groups.py), so a fixture that grades a class of notebooks is built once."""

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SAMPLE = '''
import os
import pytest

@pytest.fixture(scope="module")
def shared():
    return os.environ["PYTEST_XDIST_WORKER"]

@pytest.mark.parametrize("i", range(6))
def test_module_fixture(shared, i):
    with open("workers.txt", "a") as out:
        out.write(f"module {shared} {os.environ['PYTEST_XDIST_WORKER']}\\n")

class TestShared:
    @pytest.fixture(scope="class")
    def built(self):
        return os.environ["PYTEST_XDIST_WORKER"]

    @pytest.mark.parametrize("i", range(6))
    def test_class_fixture(self, built, i):
        with open("workers.txt", "a") as out:
            out.write(f"class {built} {os.environ['PYTEST_XDIST_WORKER']}\\n")
'''


def test_tests_sharing_a_module_or_class_fixture_share_a_worker(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p",
         "fixture_groups", "-q", "-p", "no:cacheprovider", "test_sample.py"],
        cwd=tmp_path, env={"PYTHONPATH": str(TESTS), "PATH": ""}, capture_output=True,
        text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = (tmp_path / "workers.txt").read_text().split()
    runs = [lines[i : i + 3] for i in range(0, len(lines), 3)]
    for kind in ("module", "class"):
        workers = {worker for name, built_on, worker in runs if name == kind}
        built_on = {built for name, built, worker in runs if name == kind}
        assert len(workers) == 1 and built_on == workers, f"{kind} fixture's tests ran on {runs}"
