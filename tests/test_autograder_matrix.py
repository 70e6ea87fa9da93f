"""The adversarial matrix: real notebooks graded by the autograder, as a careful human would.

Every case is a student notebook built from a source notebook (autograder.synthetic), graded in
one parallel batch with the sandbox on. Each case states the status it must get and which test
cells must score full points (all others must score 0). Generic cases apply to every assignment
in ASSIGNMENTS; to add a chapter, append its source notebook there. Cases that need to know an
exercise's function (always-equal objects, delegation, ...) are written for the fixture.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder import synthetic
from autograder.batch import Job, grade_many
from autograder.grader.pipeline import grade_notebook
from autograder.grader.plan import read_plan, role
from autograder.grader.sandbox import Limits, bwrap_works

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
CHAPTERS = ROOT / "course" / "source"
ASSIGNMENTS = [FIXTURE] + [
    CHAPTERS / name / f"{name}.ipynb"
    for name in ("ch1_base_models", "ch2_autoregression", "ch3_pretraining_objective",
                 "ch4_mle_finetuning")
]
LIMITS = Limits(cell_timeout=5, notebook_timeout=60)
ANY_RUN_STATUS = {"graded", "needs_manual_grading", "timed_out", "crashed"}


@dataclass
class Case:
    """A submission and what a careful grader gives it."""

    name: str
    source: Path
    notebook: object | bytes  # a notebook node, or raw file bytes
    statuses: set[str]
    full_marks: set[str]  # test cells that must get full points; every other one gets 0


def all_tests(source: Path) -> set[str]:
    return {step.grade_id for step in read_plan(source).tests}


def done_status(source: Path) -> str:
    """Status of a complete, honest submission with written answers filled in."""
    return "needs_manual_grading" if read_plan(source).written else "graded"


def generic_cases(source: Path) -> list[Case]:
    """Cases that make sense for any assignment."""
    tests = all_tests(source)
    correct = synthetic.correct_answers(source)
    honest = done_status(source)
    spared = tests - synthetic.tests_after_last_answer(source)
    first_test = read_plan(source).tests[0].grade_id
    full = synthetic.student_notebook(source, correct)
    attack_status = {
        "sys_exit": {honest}, "syntax_error": {honest}, "memory_2gib": {honest},
        "os_exit": {"crashed"}, "infinite_loop": {"timed_out"},
        "ignores_interrupts": {"timed_out"}, "fork_bomb": ANY_RUN_STATUS,
        "thread_flood": ANY_RUN_STATUS,
    }
    transformer = (
        "def _blank(lines):\n    return [] if any('assert' in l or 'hidden' in l for l in lines)"
        " else lines\nget_ipython().input_transformers_post.append(_blank)\n"
    )
    first_answer = synthetic.answer_ids(source)[0]
    cases = [
        Case("correct", source, full, {honest}, tests),
        Case("correct_again", source, full, {honest}, tests),
        Case("unsolved_release_copy", source, synthetic.student_notebook(source, {}, written=False),
             {"graded"}, set()),
        Case("empty_file", source, b"", {"missing"}, set()),
        Case("corrupt_json", source, b'{"cells": [', {"crashed"}, set()),
        Case("deleted_test_cell", source, synthetic.without_cell(full, first_test),
             {"tampered"}, tests),
        Case("edited_test_cell", source,
             synthetic.with_cell_source(full, first_test, "assert True  # all good"),
             {"tampered"}, tests),
        Case("input_transformer", source,
             synthetic.student_notebook(source, {first_answer: transformer}), {honest}, set()),
    ]
    for attack, statuses in attack_status.items():
        answers = synthetic.attacked_answers(source, attack)
        notebook = synthetic.student_notebook(source, answers)
        cases.append(Case(attack, source, notebook, statuses, spared))
    return cases


def fixture_cases(course: Path) -> list[Case]:
    """Cheats aimed at the fixture's `linear` exercise (2 points); the rest is answered well."""
    correct = synthetic.correct_answers(FIXTURE)
    honest = done_status(FIXTURE)
    others = {"softmax_test", "q1_test"}

    def with_linear(code: str, name: str, statuses=None, full=None) -> Case:
        answers = dict(correct, linear_answer=code)
        return Case(name, FIXTURE, synthetic.student_notebook(FIXTURE, answers),
                    statuses or {honest}, others if full is None else full)

    wrong = "def linear(x, w, b):\n    return np.asarray(x) @ np.asarray(w)\n"
    source_text = str(course / "source" / "fx_basics" / "fx_basics.ipynb")
    return [
        with_linear(wrong, "wrong_answer"),
        with_linear(
            "class Always(float):\n    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n"
            "class AlwaysArray(np.ndarray):\n    def __eq__(self, other):\n"
            "        return np.ones(np.shape(other), bool)\n"
            "def linear(x, w, b):\n"
            "    return np.zeros((len(x), np.shape(w)[1])).view(AlwaysArray)\n",
            "always_equal_object"),
        with_linear(
            "import numpy.testing\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "np.testing.assert_array_equal = lambda *a, **k: None\n"
            "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n" + wrong,
            "monkeypatched_testing"),
        with_linear("print('All tests passed!')\n" + wrong, "fake_all_tests_passed_output"),
        with_linear(
            "import json\ntry:\n"
            f"    _nb = json.load(open({source_text!r}))\n"
            "    exec(next(''.join(c['source']) for c in _nb['cells'] if 'def linear' in "
            "''.join(c['source'])))\n"
            "except Exception:\n" + "\n".join("    " + line for line in wrong.splitlines()),
            "reads_source_notebook"),
        with_linear(
            "import sqlite3\ntry:\n"
            f"    _db = sqlite3.connect({str(course / 'gradebook.db')!r})\n"
            "    _db.execute('create table hacked (x)')\n    _db.commit()\n"
            "except Exception:\n    pass\n" + wrong,
            "writes_gradebook"),
        with_linear(
            "from course_lib.layers import linear_forward\n"
            "def linear(x, w, b):\n    return linear_forward(np.asarray(x, float), "
            "np.asarray(w, float), np.asarray(b, float))[0]\n",
            "delegates_to_course_lib"),
        Case("correct_answer_that_warns", FIXTURE, synthetic.student_notebook(FIXTURE, dict(
            correct, softmax_answer="import warnings\n" + correct["softmax_answer"].replace(
                "    z = np.asarray", "    warnings.warn('softmax: converting input')\n"
                                      "    z = np.asarray"))), {honest}, all_tests(FIXTURE)),
    ]


HOG_MARKER = "llmf-matrix-hog"
SETSID_HOGS = (  # busy processes in their own sessions that ignore every catchable signal
    "import subprocess, sys\n"
    "_hog = ('import signal\\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\\n'\n"
    "        '    signal.signal(s, signal.SIG_IGN)\\nwhile True:\\n'\n"
    "        '    pass  # " + HOG_MARKER + "')\n"
    "for _ in range(4):\n"
    "    subprocess.Popen([sys.executable, '-c', _hog], start_new_session=True)\n"
)
FILL_TMPFS = (  # 4 GiB into the sandbox's in-memory /tmp, 64 MiB at a time
    "_chunk = b'x' * (64 * 2**20 - 1)\n"
    "for _i in range(64):\n"
    "    try:\n"
    "        with open(f'/tmp/fill{_i}', 'wb') as _f:\n"
    "            _f.write(_chunk)\n"
    "    except OSError:\n"
    "        break\n"
    "del _chunk\n"
)
HIDDEN_FLOOD = (  # 50 MB of forged hidden-case messages, 500 kB each (12 x the cell's share)
    "from IPython.display import publish_display_data as _publish\n"
    "for _i in range(100):\n"
    "    _publish({'application/vnd.llmf.hidden-cases+json':\n"
    "              {'name': 'q1', 'cases': [{'value': 'x' * 500_000}]}})\n"
)


def isolation_cases() -> list[Case]:
    """Submissions that try to harm their neighbours or the grading machine (fixture only)."""
    correct = synthetic.correct_answers(FIXTURE)
    honest, tests = done_status(FIXTURE), all_tests(FIXTURE)

    def answered(name: str, grade_id: str, extra: str, full: set[str]) -> Case:
        answers = dict(correct, **{grade_id: correct[grade_id] + "\n" + extra})
        return Case(name, FIXTURE, synthetic.student_notebook(FIXTURE, answers), {honest}, full)

    full = synthetic.student_notebook(FIXTURE, correct)
    locked = copy.deepcopy(next(c for c in full.cells if role(c).get("grade_id") == "linear_test"))
    edited = synthetic.with_cell_source(full, "linear_test", "assert True  # all good")
    at = next(i for i, c in enumerate(edited.cells) if role(c).get("grade_id") == "linear_test")
    locked.id = "pasted-copy"  # a copy pasted in JupyterLab gets a cell id of its own
    edited.cells.insert(at, locked)  # the untouched copy first hides the edit that follows
    return [
        answered("setsid_cpu_hogs", "linear_answer", SETSID_HOGS, tests),
        answered("fills_tmpfs_4gib", "linear_answer", FILL_TMPFS, tests),
        # past the cell's share the flood is dropped; q1's own small report still fits
        answered("hidden_message_flood", "q1_answer", HIDDEN_FLOOD, tests),
        Case("locked_cell_copy_before_edit", FIXTURE, edited, {"tampered"}, tests),
    ]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course folder with a gradebook the cheats will try to read and write."""
    root = tmp_path_factory.mktemp("course")
    folder = root / "source" / "fx_basics"
    folder.mkdir(parents=True)
    folder.joinpath("fx_basics.ipynb").write_bytes(FIXTURE.read_bytes())
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00 gradebook stand-in")
    return root


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """Every case graded in one parallel batch: {case name: (case, result)}."""
    folder = tmp_path_factory.mktemp("submissions")
    cases = [case for source in ASSIGNMENTS for case in generic_cases(source)]
    cases += fixture_cases(course) + isolation_cases()
    plans = {source: read_plan(source) for source in ASSIGNMENTS}
    jobs = []
    for index, case in enumerate(cases):
        path = folder / f"{index:02d}_{case.name}.ipynb"
        if isinstance(case.notebook, bytes):
            path.write_bytes(case.notebook)
        else:
            nbformat.write(case.notebook, str(path))
        jobs.append(Job((case.source.stem, case.name), plans[case.source], path))
    results = grade_many(jobs, limits=LIMITS, workers=2, progress=False)
    return {key: (case, results[key].result) for key, case in zip(
        [job.key for job in jobs], cases, strict=True)}


def test_sandbox_is_available():
    assert bwrap_works(), "bubblewrap is missing: `apt-get install -y bubblewrap`"


def test_every_case_is_graded_as_a_careful_grader_would(graded):
    wrong = []
    for key, (case, result) in graded.items():
        got = {g for g, (score, points) in result.scores.items() if score == points and points}
        expected = case.full_marks
        tests = all_tests(case.source)
        if result.status not in case.statuses or got & tests != expected:
            wrong.append(f"{key}: status {result.status} (want {sorted(case.statuses)}), "
                         f"full marks {sorted(got & tests)} (want {sorted(expected)}); "
                         f"{result.reason}; {result.messages}")
    assert not wrong, "\n".join(wrong)


def test_every_status_comes_with_a_reason(graded):
    for key, (_, result) in graded.items():
        if result.status not in ("graded", "needs_manual_grading"):
            assert result.reason, f"{key}: status {result.status} without a reason"


def test_cheats_are_named_in_messages(graded):
    _, delegated = graded[("fx_basics", "delegates_to_course_lib")]
    assert "linear_forward" in delegated.messages["linear_test"]
    _, always = graded[("fx_basics", "always_equal_object")]
    assert "not plain data" in always.messages["linear_test"]


def test_messages_never_show_hidden_inputs(graded):
    hidden = [step.hidden_code for step in read_plan(FIXTURE).tests]
    for key, (_, result) in graded.items():
        for message in result.messages.values():
            for code in hidden:
                for line in filter(None, (line.strip() for line in code.splitlines())):
                    assert line not in message, f"{key}: message shows hidden test code"


def test_gradebook_untouched_by_cheats(course, graded):
    assert (course / "gradebook.db").read_bytes() == b"SQLite format 3\x00 gradebook stand-in"


def test_no_other_students_result_changes(graded, tmp_path):
    """A correct notebook graded alone gets exactly what it got amid the adversarial batch."""
    case, in_batch = graded[("fx_basics", "correct")]
    alone_path = tmp_path / "alone.ipynb"
    nbformat.write(case.notebook, str(alone_path))
    alone = grade_notebook(alone_path, FIXTURE, limits=LIMITS)
    assert alone.scores == in_batch.scores and alone.status == in_batch.status
    _, again = graded[("fx_basics", "correct_again")]
    assert again.scores == in_batch.scores


def test_no_sandbox_process_outlives_its_notebook(graded):
    """The setsid, signal-ignoring processes of `setsid_cpu_hogs` died with its sandbox."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if HOG_MARKER in Path(f"/proc/{pid}/cmdline").read_text():
                left.append(pid)
        except OSError:
            pass
    assert not left, f"sandbox processes still running: {left}"
