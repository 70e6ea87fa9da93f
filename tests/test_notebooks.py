"""The chapter notebooks: sources run clean, student versions are in sync and safe.

Each source notebook (with solutions) is executed once, headless, and then checked: no error in
any cell, every autograder test passes by nbgrader's own validator, and every widget rendered a
static view. Each student notebook is run by the browser suite instead
(tests/browser/test_chapters.py, Run All in JupyterLab, which CI always runs): its only errors are
those of exercises left unsolved, each in its own cell, tagged raises-exception. How fast a chapter
runs is a figure, not a test: scripts/bench_notebooks.py prints each chapter's time against the
course's one-minute budget.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CHAPTERS = [
    "ch1_base_models",
    "ch2_autoregression",
    "ch3_pretraining_objective",
    "ch4_mle_finetuning",
    "ch5_inside_the_transformer",
]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def source_path(chapter: str) -> Path:
    return COURSE / "source" / chapter / f"{chapter}.ipynb"


def student_path(chapter: str) -> Path:
    return ROOT / "notebooks" / f"{chapter}.ipynb"


def nbgrader_role(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def execute(path: Path, *, allow_errors: bool) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook headless in its own folder; return it with outputs and the wall time.

    The kernel talks over ZeroMQ's "ipc" transport (files in a private folder), not TCP ports:
    kernels started at the same moment by parallel test workers can collide on ports and then
    stall until a timeout (seen: 60 s lost in one run out of ten).
    """
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="llmf-kernel-") as ipc_dir:
        kernel = AsyncKernelManager(
            kernel_name="python3", transport="ipc", ip=str(Path(ipc_dir) / "kernel"),
            connection_file=str(Path(ipc_dir) / "kernel.json"),  # removed with the folder
        )
        client = NotebookClient(
            notebook,
            km=kernel,
            timeout=600,  # per cell: a guard against a hang, not a speed check (the slowest
            # cell takes about 10 s on a quiet machine, several times that on a busy one)
            allow_errors=allow_errors,
            store_widget_state=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        started = time.perf_counter()
        client.execute()
        return notebook, time.perf_counter() - started


def kernel_seconds(notebook: nbformat.NotebookNode) -> float:
    """Time the kernel spent running the cells (from each cell's recorded start and reply).

    This is the notebook's own run time. The wall time can be longer: nbclient sometimes waits
    out its per-cell timeout before it notices a reply that has already arrived (nbclient issue
    312, seen about once in twenty runs under load), time the notebook itself did not use.
    """
    total = 0.0
    for cell in notebook.cells:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            started = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            replied = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (replied - started).total_seconds()
    return total


def errors_in(cell) -> list[str]:
    return [output.ename for output in cell.get("outputs", []) if output.output_type == "error"]


@pytest.fixture(scope="module", params=CHAPTERS)
def executed_source(request):
    notebook, wall = execute(source_path(request.param), allow_errors=True)
    seconds = kernel_seconds(notebook)
    print(f"\n{request.param}: source notebook ran headless in {seconds:.1f} s "
          f"(wall time with kernel start-up: {wall:.1f} s)")
    return request.param, notebook, seconds


def test_source_notebook_runs_without_errors(executed_source):
    chapter, notebook, _ = executed_source
    failing = [
        (index, errors_in(cell)) for index, cell in enumerate(notebook.cells) if errors_in(cell)
    ]
    assert not failing, f"{chapter}: cells with errors (index, error): {failing}"


def test_source_notebook_passes_nbgrader_validate(executed_source):
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator

    chapter, notebook, _ = executed_source
    validator = Validator(preprocessors=[CheckCellMetadata])
    validator._preprocess(notebook)  # metadata checks; the notebook was executed above
    failed = validator._get_failed_cells(notebook)
    assert not failed, f"{chapter}: nbgrader reports failing test cells: {failed}"


def test_every_widget_renders_a_static_view(executed_source):
    chapter, notebook, _ = executed_source
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    outputs = [
        model["state"].get("outputs", [])
        for model in state.values()
        if model["model_name"] == "OutputModel"
    ]
    assert outputs, f"{chapter} has no interactive widget with an output area"
    empty = [index for index, shown in enumerate(outputs) if not shown]
    assert not empty, f"{chapter}: widget output areas left empty when run headless: {empty}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_has_no_solutions_or_hidden_tests(chapter):
    text = student_path(chapter).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden_cases("):
        assert marker not in text, f"{chapter}: the student version contains {marker!r}"
    notebook = nbformat.read(student_path(chapter), as_version=4)
    stubs = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and nbgrader_role(cell).get("solution")
    ]
    assert stubs, f"{chapter} has no exercises"
    assert all("NotImplementedError" in cell.source for cell in stubs)


@pytest.mark.parametrize(
    "path",
    [source_path(c) for c in CHAPTERS] + [student_path(c) for c in CHAPTERS],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_committed_notebooks_carry_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not with_outputs, f"{path.name}: cells with stale outputs: {with_outputs}"


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """Self-paced editions generated by `llmf-grade release` from a fresh copy of the course."""
    from autograder.course_folder import Course
    from autograder.release import release_assignment

    root = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "source", root / "source")
    shutil.copy(COURSE / "nbgrader_config.py", root)
    course = Course(root)
    for chapter in CHAPTERS:
        release_assignment(course, chapter, root / "notebooks")
    return root / "notebooks"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_student_versions_match_the_source(fresh_release, chapter):
    generated = nbformat.read(fresh_release / f"{chapter}.ipynb", as_version=4)
    committed = nbformat.read(student_path(chapter), as_version=4)

    def cells(notebook):
        return [(cell.cell_type, cell.source) for cell in notebook.cells]

    assert cells(committed) == cells(generated), (
        f"notebooks/{chapter}.ipynb differs from what its source generates: run `make student`"
    )
