"""Synthetic submissions for testing and benchmarking the grader.

From any source notebook this builds student notebooks the way students produce them: the
release version with answer cells filled in. `correct_answers` gives the instructor's solutions
as a student would type them; `adversarial_answers` gives the cheating and crashing answers the
grader must withstand, each aimed at the *last* answer cell so that earlier exercises keep their
points (only tests after that cell should lose theirs).

>>> nb = student_notebook(source, correct_answers(source))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.class_variants import ClassVariants
from autograder.editions import strip_quiz_keys
from autograder.grader.plan import Plan, read_plan, release_version, role, without_solution_markers
from autograder.variants import apply_variant, variant_tables

WRITTEN_ANSWER = "An answer written by the student, to be graded by hand."

# Code put in front of the last answer cell; each must leave that exercise with no points.
ATTACKS = {
    "sys_exit": "import sys\nsys.exit()\n",
    "os_exit": "import os\nos._exit(1)\n",
    "infinite_loop": "while True:\n    pass\n",
    "ignores_interrupts": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"
    ),
    "syntax_error": "def broken(:\n",
    "memory_2gib": "import numpy as _np\n_hog = _np.ones(2**28)\n_hog[::4096] = 2.0\n",
    "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
    "thread_flood": (
        "import threading, time\n_threads = []\nwhile True:\n"
        "    _t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
        "    _t.start()\n    _threads.append(_t)\n"
    ),
}
# Attacks whose status is a race between the sandbox's process limit and the cell's time limit:
# which comes first depends on the machine's load (on a busy machine a fork bomb's cell times
# out before its forks fail), so only their scores are the same from run to run.
RACING_ATTACKS = frozenset({"fork_bomb", "thread_flood"})


def correct_answers(source_path: str | Path) -> dict[str, str]:
    """The instructor's solution of every answer cell, without the solution markers."""
    return plan_answers(read_plan(source_path))


def plan_answers(plan: Plan) -> dict[str, str]:
    """The solution of every answer cell of a plan (a source's, or a student's variant's, whose
    quiz answers are in that student's lettering), without the solution markers."""
    return {s.grade_id: without_solution_markers(s.code) for s in plan.steps if s.kind == "answer"}


def answer_ids(source_path: str | Path) -> list[str]:
    """Answer cell grade_ids in notebook order."""
    return [step.grade_id for step in read_plan(source_path).steps if step.kind == "answer"]


def student_notebook(source, answers: dict[str, str] | None = None, *, written: bool | str = True):
    """The release version of a source notebook (a path or a notebook) with answers filled in.

    answers: {answer grade_id: code}; cells not listed keep their release stub.
    written: the text typed into every written (markdown) answer (True: WRITTEN_ANSWER; False:
    leave them as released).
    """
    if not isinstance(source, nbformat.NotebookNode):
        source = nbformat.read(str(source), as_version=4)
    return with_answers(release_version(source), answers, written=written)


def with_answers(release, answers: dict[str, str] | None = None, *, written: bool | str = True):
    """A copy of a student edition (the class's release, or a student's own file of a
    per-student release) with answers filled in, as `student_notebook` describes."""
    notebook = copy.deepcopy(release)
    text = WRITTEN_ANSWER if written is True else written
    for cell in notebook.cells:
        meta = role(cell)
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code" and answers and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        elif cell.cell_type == "markdown" and text:
            cell.source = text
    return notebook


def own_release(variants: ClassVariants, student: str, assignment: str, notebook: str):
    """The student's own file of a per-student release: their variant of the classroom edition,
    whose cells are made as nbgrader's generate_assignment makes them (not run, to be fast)."""
    source = variants.base_source(assignment, notebook)
    return apply_variant(strip_quiz_keys(release_version(source)), variant_tables(source),
                         variants.variant(student, assignment, notebook))


def attacked_answers(source_path: str | Path, attack: str) -> dict[str, str]:
    """Correct answers, except that the last answer cell starts with `ATTACKS[attack]`."""
    answers = correct_answers(source_path)
    last = answer_ids(source_path)[-1]
    answers[last] = ATTACKS[attack] + answers[last]
    return answers


def tests_after_last_answer(source_path: str | Path) -> set[str]:
    """Test cells that come after the last answer cell (those an attack there may zero)."""
    plan = read_plan(source_path)
    last = max(i for i, step in enumerate(plan.steps) if step.kind == "answer")
    return {step.grade_id for step in plan.steps[last:] if step.kind == "test"}


def without_cell(notebook, grade_id: str):
    """A copy of `notebook` with the cell `grade_id` deleted."""
    notebook = copy.deepcopy(notebook)
    notebook.cells = [c for c in notebook.cells if role(c).get("grade_id") != grade_id]
    return notebook


def with_cell_source(notebook, grade_id: str, source: str):
    """A copy of `notebook` whose cell `grade_id` has a new source."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if role(cell).get("grade_id") == grade_id:
            cell.source = source
    return notebook


def with_added_cell(notebook, after_grade_id: str, source: str):
    """A copy of `notebook` with a new code cell (the student's own) after cell `after_grade_id`."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(notebook.cells)
                 if role(cell).get("grade_id") == after_grade_id)
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook
