"""Fixtures of the browser tests: Chromium through Playwright, the course's and the instructor's
JupyterLab servers (started by the Makefile's targets), and a folder of screenshots.

Without Playwright or Chromium the browser tests are skipped, with the command that installs
what is missing; under CI (CI=true) they fail instead, so CI cannot pass without running them.
Every browser test lands on one pytest-xdist worker (one group), so a parallel run starts one
server of each kind, not one per worker.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from lab_server import ROOT, LabServer, descendants

EVIDENCE = ROOT / ".cache" / "browser-tests"  # .cache/ is git-ignored
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMINGS: dict[str, float] = {}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, with the command that fixes it (None: they can)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -e '.[test]' (make test does it)"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM=path)"
    return None


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    """Figures for the run's summary: {what: seconds}."""
    return TIMINGS


@pytest.fixture(scope="session")
def evidence() -> Path:
    """The folder of this run's screenshots and server logs (emptied at the start of a run)."""
    shutil.rmtree(EVIDENCE, ignore_errors=True)
    EVIDENCE.mkdir(parents=True)
    return EVIDENCE


@pytest.fixture(scope="session")
def browser(evidence):
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests, but {reason}", pytrace=False)
        pytest.skip(reason)
    from notebook_page import ACTION_TIMEOUT_MS
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)  # the upper bound of every wait on the page

    started = time.monotonic()
    with sync_playwright() as playwright:
        # Chromium's sandbox cannot start as root (containers, CI machines)
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield chromium
        finally:
            TIMINGS["cpu seconds of Chromium"] = cpu_seconds_below(os.getpid(), "chrom")
            chromium.close()
            TIMINGS["browser session (wall seconds)"] = time.monotonic() - started


def cpu_seconds_below(pid: int, name_part: str = "") -> float:
    """CPU seconds (user + system) used so far by the live processes below `pid` whose command
    name contains `name_part` (all of them by default)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child, _ in descendants(pid):
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if name_part in command:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def serve(target: str, evidence: Path, tmp_path_factory):
    started = time.monotonic()
    with LabServer(target, tmp_path_factory.mktemp(target)) as server:
        TIMINGS[f"`make {target}` until it answers (s)"] = time.monotonic() - started
        try:
            yield server
        finally:
            # the kernels' and the server's CPU time, read before the shutdown ends them
            TIMINGS[f"cpu seconds of `make {target}` and its kernels"] = cpu_seconds_below(
                server.process.pid
            )
            shutil.copy(server.log_path, evidence / server.log_path.name)


@pytest.fixture(scope="session")
def course_server(browser, evidence, tmp_path_factory):
    yield from serve("course", evidence, tmp_path_factory)


@pytest.fixture(scope="session")
def instructor_server(browser, evidence, tmp_path_factory):
    yield from serve("instructor", evidence, tmp_path_factory)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS and not EVIDENCE.exists():
        return
    terminalreporter.write_sep("-", "browser tests")
    terminalreporter.write_line(f"screenshots and server logs: {EVIDENCE}")
    for name, value in TIMINGS.items():
        terminalreporter.write_line(f"{name}: {value:.1f}")
