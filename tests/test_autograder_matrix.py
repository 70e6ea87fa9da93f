"""The adversarial matrix: real notebooks graded by the command line, as a careful human would.

Every case is a student notebook built from a source notebook (synthetic), handed in
to a course folder holding every source as an assignment, and graded in one parallel batch by
`llmf-grade grade` with the sandbox on; `llmf-grade feedback` then writes every page. Each case
states the status it must get and which test cells must score full points (all others must
score 0). Generic cases (attacks any notebook can carry) are tried on both fixtures in full; on
the chapters, which take tens of seconds each to run, every chapter gets the cases a class
really hands in (correct, the unsolved release copy, unreadable files) and the other generic
cases are dealt out in turn, so each of them also runs on one real chapter. To add a chapter,
append its source notebook to CHAPTER_SOURCES. Cases that need to know an exercise's function
(always-equal objects, delegation, ...) are written for the fixtures.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import platform
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import synthetic

from autograder.cli import main
from autograder.course_folder import Course
from autograder.grader.pipeline import grade_notebook
from autograder.grader.plan import read_plan, role
from autograder.grader.sandbox import Limits, bwrap_works
from autograder.grader.submission import MAX_BYTES, submitted_digest
from autograder.records import load_result
from autograder.reports.export import RecordedGrades

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
CAREFUL = ROOT / "tests" / "fixtures" / "careful" / "source" / "fx_careful" / "fx_careful.ipynb"
CHAPTERS = ROOT / "course" / "source"
CHAPTER_SOURCES = [
    CHAPTERS / name / f"{name}.ipynb"
    for name in ("ch1_base_models", "ch2_autoregression", "ch3_pretraining_objective",
                 "ch4_mle_finetuning", "ch5_inside_the_transformer")
]
ASSIGNMENTS = [FIXTURE, CAREFUL, *CHAPTER_SOURCES]
ON_EVERY_CHAPTER = {"correct", "unsolved_release_copy", "empty_file", "corrupt_json"}
# cases a chapter would only repeat: a second copy of the correct notebook is graded as the first
# (on the fixtures, test_no_other_students_result_changes compares the two)
NOT_ON_CHAPTERS = {"correct_again"}
LIMITS = Limits(cell_timeout=10, notebook_timeout=90)
CLI_LIMITS = ["--cell-timeout", "10", "--notebook-timeout", "90", "--jobs", "2"]
HIDDEN_MIME = "application/vnd.llmf.hidden-cases+json"
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
        "ignores_interrupts": {"timed_out"},
    } | {attack: ANY_RUN_STATUS for attack in synthetic.RACING_ATTACKS}
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


def generic_matrix() -> list[Case]:
    """Every generic case on each fixture; on the chapters, ON_EVERY_CHAPTER on each and the
    other generic cases dealt out in turn, one chapter each (but NOT_ON_CHAPTERS)."""
    cases = generic_cases(FIXTURE) + generic_cases(CAREFUL)
    dealt = [case.name for case in generic_cases(FIXTURE) if case.name not in ON_EVERY_CHAPTER]
    for index, source in enumerate(CHAPTER_SOURCES):
        cases += [case for case in generic_cases(source) if case.name not in NOT_ON_CHAPTERS and (
            case.name in ON_EVERY_CHAPTER
            or dealt.index(case.name) % len(CHAPTER_SOURCES) == index)]
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
            "from course_lib.transformer import linear_forward\n"
            "def linear(x, w, b):\n    return linear_forward(np.asarray(x, float), "
            "np.asarray(w, float), np.asarray(b, float))[0]\n",
            "delegates_to_course_lib"),
        Case("correct_answer_that_warns", FIXTURE, synthetic.student_notebook(FIXTURE, dict(
            correct, softmax_answer="import warnings\n" + correct["softmax_answer"].replace(
                "    z = np.asarray", "    warnings.warn('softmax: converting input')\n"
                                      "    z = np.asarray"))), {honest}, all_tests(FIXTURE)),
        # 1. no submission stops the batch
        Case("nbgrader_metadata_of_the_wrong_type", FIXTURE, _with_metadata(
            synthetic.student_notebook(FIXTURE, correct), "softmax_answer", ["not", "a", "dict"]),
            {honest}, {"linear_test", "q1_test"}),
        Case("lone_surrogate_in_an_answer", FIXTURE, _as_bytes(synthetic.student_notebook(
            FIXTURE, dict(correct, q1_answer='answer_q1 = "B"  # \ud800'))), {honest},
            all_tests(FIXTURE)),
        with_linear(
            "from IPython.display import publish_display_data as _publish\n"
            "def linear(x, w, b):\n"
            f"    for junk in ({{'name': ['x'], 'cases': {{}}}}, 'text', 10**400, "
            "{'name': 'linear', 'cases': 'many'}, [None]):\n"
            f"        _publish({{{HIDDEN_MIME!r}: junk}})\n"
            "    return np.asarray(x) @ np.asarray(w) + np.asarray(b)\n",
            "malformed_payloads", full=all_tests(FIXTURE)),
        # 2. delegation earns nothing, whatever the kernel does
        with_linear(
            "import threading\nfrom course_lib.transformer import linear_forward\n"
            "def linear(x, w, b):\n    out = []\n"
            "    t = threading.Thread(target=lambda: out.append(linear_forward(\n"
            "        np.asarray(x, float), np.asarray(w, float), np.asarray(b, float))[0]))\n"
            "    t.start(); t.join()\n    return out[0]\n",
            "delegates_in_a_thread"),
        with_linear(
            "import inspect, sys\nimport course_lib.transformer as _layers\n"
            "sys.setprofile(None)\nsys.setprofile = lambda *a: None\n"
            "_ns = {'np': np}\nexec(inspect.getsource(_layers.linear_forward), _ns)\n"
            "def linear(x, w, b):\n    return _ns['linear_forward'](np.asarray(x, float), "
            "np.asarray(w, float), np.asarray(b, float))[0]\n",
            "delegates_via_source"),
        with_linear(
            "import importlib, sys\nimport course_lib.transformer\n"
            "_real = importlib.reload(course_lib.transformer).linear_forward\n"
            "course_lib.transformer.linear_forward = lambda *a: None  # a decoy\n"
            "def linear(x, w, b):\n    try:\n"
            "        return _real(np.asarray(x, float), np.asarray(w, float), "
            "np.asarray(b, float))[0]\n    except Exception:\n"
            "        return np.asarray(x) @ np.asarray(w)\n",
            "delegates_after_reload_and_decoy"),
        with_linear(
            "import glob, os, sys\nimport course_lib\n"
            "_copies = glob.glob(os.path.dirname(course_lib.__file__) + '/**/transformer.py',\n"
            "                    recursive=True)\n"
            "_copies += glob.glob(sys.prefix + '/lib/python*/site-packages/course_lib/'\n"
            "                     'transformer.py')\n"
            "_ns = {'np': np}\nfor _p in _copies:\n"
            "    try:\n        exec(open(_p).read(), _ns)\n    except Exception:\n        pass\n"
            "def linear(x, w, b):\n    return _ns['linear_forward'](np.asarray(x, float), "
            "np.asarray(w, float), np.asarray(b, float))[0]\n",
            "delegates_to_a_copy_on_disk"),
        # 4. feedback shows only what the grader decided
        Case("smuggles_hidden_code_into_feedback", FIXTURE, synthetic.student_notebook(
            FIXTURE, dict(correct, linear_answer=SPY + correct["linear_answer"],
                          softmax_answer=LEAK)), {honest}, {"linear_test", "q1_test"}),
        # 6. graded as a careful human would
        Case("helper_in_an_added_cell", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, dict(
                correct, linear_answer="def linear(x, w, b):\n    return _affine(x, w, b)\n")),
            "ex1_text", "def _affine(x, w, b):\n    return np.asarray(x) @ np.asarray(w) + b\n"),
            {honest}, all_tests(FIXTURE)),
        Case("written_answer_in_code_cell", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, correct, written=False), "explain_answer",
            "Softmax does not change when every score moves by the same amount, so nothing "
            "overflows."), {"needs_manual_grading"}, all_tests(FIXTURE)),
        Case("written_cell_turned_into_code", FIXTURE, _as_code_cell(synthetic.student_notebook(
            FIXTURE, correct), "explain_answer"), {"needs_manual_grading"}, all_tests(FIXTURE)),
        # issue 21, class 2: an exception's name is not believed
        with_linear(
            "class ForbiddenCall(NotImplementedError):\n    pass\n"
            "def linear(x, w, b):\n    if np.shape(x) == (2, 3):  # the visible check's input\n"
            "        raise ForbiddenCall('linear_forward is not available while grading')\n"
            "    return np.asarray(x) @ np.asarray(w) + np.asarray(b)\n",
            "own_exception_named_forbiddencall"),
        # issue 21, class 6: Run All semantics
        Case("fixed_copy_below_a_stub", FIXTURE, _with_answer_copies(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer",
            ["def linear(x, w, b):\n    raise NotImplementedError()\n",
             correct["linear_answer"]]), {honest}, all_tests(FIXTURE)),
        Case("broken_copy_below_a_right_one", FIXTURE, _with_answer_copies(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer",
            [correct["linear_answer"], wrong]), {honest}, others),
        Case("rebinds_grader_names", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer",
            "np = None\nhidden_cases = print\n"), {honest}, all_tests(FIXTURE)),
        Case("leaves_a_failing_input_transformer", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer",
            "def _fails(lines):\n    raise ValueError('no')\n"
            "get_ipython().input_transformers_post.append(_fails)\n"
            "get_ipython().ast_transformers.append(None)\n"), {honest}, all_tests(FIXTURE)),
        with_linear(correct["linear_answer"] + "\nimport os, time\nos.fork()\ntime.sleep(10**6)\n",
                    "fork_that_never_returns", {"timed_out"}, all_tests(FIXTURE)),
        with_linear(correct["linear_answer"] + "\nraise ValueError('x' * 100_000_000)\n",
                    "right_function_then_a_100_mb_message", {honest}, all_tests(FIXTURE)),
        # a reviewer's round: one output larger than the grader reads costs nothing
        with_linear(correct["linear_answer"] + "\nprint('x' * 30_000_000)\n'y' * 30_000_000\n",
                    "right_function_then_a_30_mb_output", {honest}, all_tests(FIXTURE)),
        # issue 21, class 1: no file costs the grader unbounded work; class 5: its record
        Case("60000_invalid_outputs", FIXTURE, _with_invalid_outputs(
            synthetic.student_notebook(FIXTURE, correct), 60_000), {honest}, all_tests(FIXTURE)),
        Case("larger_than_50_mb", FIXTURE, b" " * (MAX_BYTES + 1), {"crashed"}, set()),
        # issue 21, a reviewer's round: what the grader's cells rely on, put back
        Case("changes_the_interpreter_state", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer",
            INTERPRETER_STATE_GAMES), {honest}, all_tests(FIXTURE)),
        Case("sets_the_standard_streams_to_none", FIXTURE, synthetic.with_added_cell(
            synthetic.with_added_cell(synthetic.student_notebook(FIXTURE, correct),
                                      "linear_answer", "import sys\nsys.stdout = None\n"),
            "softmax_answer", "import sys\nsys.stderr = sys.stdout = None\nraise ValueError"),
            {honest}, all_tests(FIXTURE)),
        # forged kernel messages are dropped, never believed or raised
        Case("forged_kernel_messages", FIXTURE, synthetic.with_added_cell(
            synthetic.student_notebook(FIXTURE, correct), "linear_answer", FORGED_MESSAGES),
            {honest}, all_tests(FIXTURE)),
        # a cell's own metadata does not make it the instructor's: the helper runs
        Case("own_cell_with_forged_nbgrader_metadata", FIXTURE, _with_metadata(
            synthetic.with_added_cell(synthetic.student_notebook(
                FIXTURE, dict(correct, linear_answer="def linear(x, w, b):\n"
                                                     "    return _helper(x, w) + b\n")),
                "setup_imports", "def _helper(x, w):\n    return np.asarray(x) @ w\n"),
            None, {"grade": True, "grade_id": "bonus_test", "points": 50, "locked": True},
            code="def _helper"), {honest}, all_tests(FIXTURE)),
        Case("answer_cell_turned_into_a_raw_cell", FIXTURE, _as_raw_cell(
            synthetic.student_notebook(FIXTURE, correct), "softmax_answer"), {honest},
            all_tests(FIXTURE) - {"softmax_test"}),
    ]


# Interpreter state a student's cell may leave that the grader's checks rely on.
INTERPRETER_STATE_GAMES = (
    "import os, sys, types, warnings\nimport numpy\n"
    "abs = 3\nfloat = 'x'\nall = None\n"
    "sys.modules['numpy'] = types.ModuleType('numpy')\nsys.modules['numpy.testing'] = None\n"
    "sys.setrecursionlimit(60)\nnumpy.seterr(all='raise')\nwarnings.simplefilter('error')\n"
    "os.chdir('/')\nimport builtins\nbuiltins.abs = lambda value: 10**9\n")
# Messages sent on the kernel's own output socket: unsigned, signed wrongly, and signed with
# content no JSON parser takes (nested 100,000 deep, an integer of 6,000 digits).
FORGED_MESSAGES = (
    "_k = get_ipython().kernel\n_s = _k.session\n"
    "_parent = _s.pack(_k.get_parent('shell')['header'])\n"
    "def _send(content, sign=True, kind='display_data'):\n"
    "    frames = [_s.pack(_s.msg_header(kind)), _parent, b'{}', content]\n"
    "    _k.iopub_socket.send_multipart([b'x', b'<IDS|MSG>', _s.sign(frames) if sign else b'',"
    " *frames])\n"
    "_send(b'{}', sign=False)\n"
    "_k.iopub_socket.send_multipart([b'x', b'<IDS|MSG>', b'bad', b'[[', b'{', b'{', b'{'])\n"
    "_send(b'[' * 100_000 + b']' * 100_000)\n"
    "_send(b'{\"name\": \"stdout\", \"text\": ' + b'9' * 6_000 + b'}', kind='stream')\n"
    "_send(b'[1, 2]')\n")


def _with_answer_copies(notebook, grade_id: str, codes: list[str]):
    """`notebook` with the answer cell `grade_id` replaced by copies of it holding `codes`, in
    order (as JupyterLab's copy and paste leaves them)."""
    at = next(i for i, c in enumerate(notebook.cells) if role(c).get("grade_id") == grade_id)
    copies = [copy.deepcopy(notebook.cells[at]) for _ in codes]
    for number, (cell, code) in enumerate(zip(copies, codes, strict=True)):
        cell.source, cell.id = code, f"copy-{number}"
    notebook.cells[at:at + 1] = copies
    return notebook


def _with_invalid_outputs(notebook, count: int) -> bytes:
    """`notebook`'s file bytes, its first code cell holding `count` outputs nbformat's schema
    refuses (validating them once cost 70 s and 2.7 GB for 60,000)."""
    data = json.loads(nbformat.writes(notebook))
    cell = next(c for c in data["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "bogus", "n": [i, {}]} for i in range(count)]
    return json.dumps(data).encode()


# An input transformer that keeps every cell the kernel runs (the hidden blocks included) ...
SPY = ("import builtins\nbuiltins._seen = []\n"
       "def _keep(lines):\n    builtins._seen.append(''.join(lines))\n    return lines\n"
       "get_ipython().input_transformers_post.append(_keep)\n")
# ... and a softmax that tries to carry what it saw into feedback, four ways.
LEAK = ("import builtins\n"
        "def softmax(z):\n    seen = ' '.join(builtins._seen)\n"
        "    if np.ndim(z) == 1 and len(z) == 2:\n"
        "        raise type(seen[:200] or 'X', (Exception,), {})(seen)\n"
        "    if np.ndim(z) == 1:\n"
        "        raise AssertionError('probabilities should sum to 1 ' + seen)\n"
        "    raise ValueError(seen)\n")


def _with_metadata(notebook, grade_id: str | None, value, code: str = ""):
    """A copy of `notebook` whose cell `grade_id` (or, if None, the cell whose source starts
    with `code`) has `value` as its nbgrader metadata."""
    for cell in notebook.cells:
        if (cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id if grade_id
                else cell.source.startswith(code)):
            cell.metadata["nbgrader"] = value
    return notebook


def _as_raw_cell(notebook, grade_id: str):
    """`notebook` with the cell `grade_id` turned into a raw cell (JupyterLab's R key)."""
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            notebook.cells[index] = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata,
                                                             id=cell.get("id"))
    return notebook


def _as_bytes(notebook) -> bytes:
    """The notebook as its file's bytes, written with ASCII escapes (a lone surrogate stays)."""
    return json.dumps(nbformat.from_dict(notebook), ensure_ascii=True).encode()


def _as_code_cell(notebook, grade_id: str):
    """The written answer `grade_id` turned into a code cell holding prose."""
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            code = nbformat.v4.new_code_cell("The max is subtracted, so exp never overflows.",
                                             metadata=cell.metadata, id=cell.get("id"))
            notebook.cells[index] = code
    return notebook


def careful_cases() -> list[Case]:
    """Answers a careful grader accepts, on the fx_careful fixture."""
    correct = synthetic.correct_answers(CAREFUL)
    tests = all_tests(CAREFUL)

    def careful(name: str, **answers) -> Case:
        notebook = synthetic.student_notebook(CAREFUL, dict(correct, **answers))
        return Case(name, CAREFUL, notebook, {"needs_manual_grading"}, tests)

    huge = dict(correct, mean_answer="def mean_loss(losses):\n    return 10 ** 400\n")
    return [
        careful("boolean_mask_for_0_1", mask_answer=(
            "def response_mask(n_ids, n_prompt):\n    return np.arange(n_ids) >= n_prompt\n")),
        careful("named_tuple_for_tuple", pair_answer=(
            "from collections import namedtuple\nPair = namedtuple('Pair', 'inputs targets')\n"
            "def shift(ids):\n    return Pair(list(ids[:-1]), list(ids[1:]))\n")),
        careful("choice_in_lower_case_with_spaces", q1_1='answer_q1_1 = " b "'),
        careful("python_bool_for_true_false", q1_2="answer_q1_2 = False"),
        Case("integer_too_large_for_a_float", CAREFUL, synthetic.student_notebook(CAREFUL, huge),
             {"needs_manual_grading"}, tests - {"mean_test"}),
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
    """A released course folder with every assignment (the cheats try its gradebook)."""
    root = tmp_path_factory.mktemp("course")
    for source in ASSIGNMENTS:
        folder = root / "source" / source.stem
        folder.mkdir(parents=True)
        folder.joinpath(source.name).write_bytes(source.read_bytes())
    (root / "nbgrader_config.py").write_bytes((ROOT / "course" / "nbgrader_config.py").read_bytes())
    assert main(["--course", str(root), "release", "--notebooks", str(root / "released")]) == 0
    return root


@pytest.fixture(scope="module")
def graded(course):
    """Every case handed in and graded in one batch by the CLI: {(assignment, case): (case,
    result)}; the feedback pages are written too."""
    cases = generic_matrix() + fixture_cases(course) + careful_cases() + isolation_cases()
    keys = [(case.source.stem, case.name) for case in cases]
    assert len(set(keys)) == len(keys)
    for case in cases:
        path = Course(course).submission(case.name, case.source.stem, case.source.stem)
        path.parent.mkdir(parents=True)
        if isinstance(case.notebook, bytes):
            path.write_bytes(case.notebook)
        else:
            nbformat.write(case.notebook, str(path))
    assert main(["--course", str(course), "grade", *CLI_LIMITS]) == 0
    assert main(["--course", str(course), "feedback"]) == 0
    results = {key: load_result(Course(course).result(key[1], key[0], key[0])) for key in keys}
    return {key: (case, results[key]) for key, case in zip(keys, cases, strict=True)}


def hidden_material(source: Path) -> set[str]:
    """Every hidden expression and every line of hidden code of a source notebook that its
    classroom edition (release/<assignment>/) does not show anyway: a quiz's hidden case
    `answer_q1_2` is also the name its answer cell asks for."""
    released = source.parents[2] / "release" / source.parent.name / source.name
    shown = "\n".join(cell.source for cell in nbformat.read(released, as_version=4).cells)
    found = set()
    for step in read_plan(source).tests:
        found |= {line.strip() for line in step.hidden_code.splitlines() if len(line.strip()) > 6}
        for node in ast.walk(ast.parse(step.hidden_code)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hidden_cases":
                found |= {e.value for e in getattr(node.args[1], "elts", [])
                          if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return {text for text in found if len(text) > 6 and text not in shown}


def test_sandbox_is_available():
    assert bwrap_works(), "bubblewrap is missing: `apt-get install -y bubblewrap`"


def test_matrix_size(graded):
    """Every generic case runs on both fixtures and on at least one chapter; every chapter is
    graded with a correct, an unsolved and some attacked submissions."""
    print(f"adversarial matrix: {len(graded)} cases over {len(ASSIGNMENTS)} assignments")
    names = {case.name for case in generic_cases(FIXTURE)}
    for source in (FIXTURE, CAREFUL):
        assert {name for stem, name in graded if stem == source.stem} >= names
    on_chapters = {name for stem, name in graded if stem in {s.stem for s in CHAPTER_SOURCES}}
    assert on_chapters == names - NOT_ON_CHAPTERS, (
        f"generic cases never tried on a chapter: {names - NOT_ON_CHAPTERS - on_chapters}")
    for source in CHAPTER_SOURCES:
        tried = {name for stem, name in graded if stem == source.stem}
        assert tried > ON_EVERY_CHAPTER, f"{source.stem}: only {sorted(tried)}"


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


def test_no_grader_error_on_any_case(graded):
    failed = {key: result.reason for key, (_, result) in graded.items() if result.grader_failed}
    assert not failed, failed


def test_cheats_are_named_in_messages(graded):
    for name in ("delegates_to_course_lib",):
        _, delegated = graded[("fx_basics", name)]
        assert "linear_forward" in delegated.messages["linear_test"], (name, delegated.messages)
    _, always = graded[("fx_basics", "always_equal_object")]
    # read as the numbers it holds (zeros), whatever its __eq__ says: wrong, and scored 0
    assert always.messages["linear_test"].endswith("wrong values")


def test_a_written_answer_in_a_code_cell_goes_to_the_instructor(course, graded):
    for name in ("written_answer_in_code_cell", "written_cell_turned_into_code"):
        _, result = graded[("fx_basics", name)]
        assert result.scores["explain_answer"] == (None, 2.0), (name, result.scores)
        assert "code cell" in result.reason and result.flagged
    with Course(course).gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook(
            "fx_basics", "fx_basics", "written_answer_in_code_cell")
        assert notebook.flagged


def test_feedback_never_shows_hidden_material(course, graded):
    """Every feedback page of every case, searched for every hidden expression and line."""
    pages = [page for page in course.glob("feedback/*/*/*.html")
             if (page.parent.name, page.parent.parent.name) in graded]
    assert len(pages) == len(graded)
    for page in pages:
        text = page.read_text()
        for secret in hidden_material(course / "source" / page.parent.name /
                                      f"{page.parent.name}.ipynb"):
            assert secret not in text, f"{page}: shows hidden material {secret!r}"
    for key, (_, result) in graded.items():
        source = course / "source" / key[0] / f"{key[0]}.ipynb"
        shown = " ".join([*result.messages.values(), *result.failed_checks.values()])
        for secret in hidden_material(source):
            assert secret not in shown, f"{key}: a message shows hidden material {secret!r}"


def test_gradebook_untouched_by_cheats(course, graded):
    with sqlite3.connect(course / "gradebook.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert "hacked" not in tables


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


def test_a_refused_file_is_recorded_with_its_own_digest(course, graded):
    """Class 5: a file over 50 MB is recorded with its file's digest: a later `grade` does not
    grade it again, and export says why it crashed."""
    _, result = graded[("fx_basics", "larger_than_50_mb")]
    path = Course(course).submission("larger_than_50_mb", "fx_basics", "fx_basics")
    assert result.submission_sha256 == submitted_digest(path)
    assert result.reason == "the file is larger than 50 MB"
    row = RecordedGrades(Course(course)).notebook_row(("larger_than_50_mb", "fx_basics",
                                                       "fx_basics"))
    assert (row["status"], row["reason"]) == ("crashed", "the file is larger than 50 MB")


def test_copies_of_an_answer_cell_are_flagged_and_the_python_is_named(course, graded):
    for name in ("fixed_copy_below_a_stub", "broken_copy_below_a_right_one"):
        _, result = graded[("fx_basics", name)]
        assert result.flagged and "the last one was graded" in result.reason, result.reason
    _, result = graded[("fx_basics", "correct")]
    assert result.python == platform.python_version()
    page = course / "feedback" / "correct" / "fx_basics" / "fx_basics.html"
    assert f"Python {platform.python_version()}" in page.read_text()
