"""course_lib.cell_globals through exercises.call: a learner's function that reads, as a global,
a name the running check cell binds for its example fails the check, naming the global.

The end-to-end property runs every real exercise's check cell (tests/wrong_messages.ChapterRun,
as the grader's kernel runs it) on the solution with one parameter renamed, so that its body
reads the check cell's global of the parameter's old name."""

from __future__ import annotations

import ast
import functools
import symtable
import textwrap

import chapter_harness as harness
import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernel_state import run_cell, running_kernel
from wrong_messages import ChapterRun

from course_lib import exercises

CHAPTERS = ("ch1_base_models", "ch2_autoregression", "ch3_pretraining_objective",
            "ch4_mle_finetuning", "ch5_inside_the_transformer")


def check_cell_outcome(answer: str, check: str) -> str:
    """Run an answer cell, then a check cell, in one namespace, as a notebook does: "passed",
    or the check's AssertionError message."""
    namespace = {"call": exercises.call}
    exec(textwrap.dedent(answer), namespace)  # noqa: S102 - the test's own cells
    try:
        exec(textwrap.dedent(check), namespace)  # noqa: S102
    except AssertionError as error:
        return str(error)
    return "passed"


def reads(name: str) -> str:
    return exercises.READS_CHECK_GLOBAL.format(name=name)


def test_a_misspelt_parameter_that_reads_the_check_s_example_fails_naming_it():
    answer = """
        def total(values):
            return sum(value)
        """
    assert check_cell_outcome(answer, "value = [1, 2]\nassert call(total, value) == 3") == \
        reads("value")


def test_a_helper_that_reads_the_example_fails_too():
    answer = """
        def helper(n):
            return n + offset
        def shifted(n):
            return helper(n)
        """
    assert check_cell_outcome(answer, "offset = 1\nassert call(shifted, 1) == 2") == \
        reads("offset")


def test_the_check_s_own_code_imports_and_functions_are_not_examples():
    answer = """
        import math
        SCALE = 2
        def scaled(x):
            return math.floor(x) * SCALE + double(0)
        """
    check = """
        import math
        def double(y):
            return 2 * y
        x = 1.5
        assert call(lambda: scaled(x)) == 2
        """
    assert check_cell_outcome(answer, check) == "passed"


def test_in_a_kernel_the_whole_check_cell_counts():
    """IPython runs each statement of a cell as code of its own: the example bound by the
    statement before the call is found in the cell's source; a name the learner's own cell
    binds too is said to be replaced."""
    with running_kernel() as (_, client):
        run_cell(client, "from course_lib.exercises import call\n"
                         "def total(values):\n    return sum(value)\n")
        printed = run_cell(client, "value = [1, 2]\ntry:\n    call(total, value)\n"
                                   "except AssertionError as error:\n    print(error)\n")
        assert printed == reads("value") + "\n"
        # a helper of the learner's own cell that the check cell replaces by its example
        run_cell(client, "def scale(v):\n    return 2 * v\ndef doubled(v):\n    return scale(v)\n")
        printed = run_cell(client, "scale = 3\ntry:\n    call(doubled, 1)\n"
                                   "except AssertionError as error:\n    print(error)\n")
        assert printed == exercises.REPLACED_BY_CHECK.format(name="scale") + "\n"


NAMES = ("x", "y", "logits", "mask", "tokens", "step")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(NAMES), unique=True), st.sampled_from(NAMES),
       st.booleans())
def test_a_function_fails_exactly_when_it_reads_a_name_the_check_binds(bound, used, helper):
    """The check cell binds `bound` to numbers; the learner's function (or a helper it calls)
    returns its global `used` when there is one in the namespace, else its parameter."""
    answer = f"""
        {used} = 5
        def helper(a):
            return {used}
        def answer(a):
            return {"helper(a)" if helper else used}
        """
    check = "".join(f"{name} = 7\n" for name in bound) + "assert call(answer, 7) is not None\n"
    expected = reads(used) if used in bound else "passed"
    assert check_cell_outcome(answer, check) == expected


# ------------------------------------------------------------------ the chapters' exercises


@functools.cache
def chapter(name: str) -> tuple:
    source = nbformat.read(harness.source_path(name), as_version=4)
    keys = {gid: code for gid, code in harness.answer_keys(source).items() if gid.startswith("ex")}
    return ChapterRun(source), keys


def bound_by_check(run: ChapterRun, exercise: str) -> set[str]:
    table = symtable.symtable(run.visible["test_" + exercise], "check", "exec")
    return {symbol.get_name() for symbol in table.get_symbols()
            if symbol.is_assigned() and not symbol.is_imported()}


def with_parameter_renamed(code: str, parameter: str) -> str:
    """The answer with `parameter` of its functions renamed in their signatures only, so that
    their bodies read the global of that name."""
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for argument in node.args.args:
                if argument.arg == parameter:
                    argument.arg = parameter + "_given"
    return ast.unparse(tree)


def parameters_read_only(code: str) -> set[str]:
    """The parameters of an answer's functions that their bodies read and never assign: renamed
    in the signature, each is read as a global."""
    functions = symtable.symtable(code, "answer", "exec").get_children()
    return {symbol.get_name() for function in functions for symbol in function.get_symbols()
            if symbol.is_parameter() and symbol.is_referenced() and not symbol.is_assigned()}


def misspelt_parameters() -> list[tuple[str, str, str]]:
    """(chapter, exercise, parameter) for every parameter of an exercise's solution, never
    assigned in its body, that the exercise's check cell also binds."""
    found = []
    for name in CHAPTERS:
        run, keys = chapter(name)
        for exercise, code in keys.items():
            found += [(name, exercise, parameter) for parameter in
                      sorted(parameters_read_only(code) & bound_by_check(run, exercise))]
    return found


@pytest.mark.parametrize(("name", "exercise", "parameter"), misspelt_parameters())
def test_an_exercise_whose_parameter_is_misspelt_fails_its_self_check_naming_it(
        name, exercise, parameter):
    run, keys = chapter(name)
    verdicts = run.run(exercise, with_parameter_renamed(keys[exercise], parameter))
    assert isinstance(verdicts.visible, AssertionError), verdicts.visible
    assert str(verdicts.visible) == reads(parameter)
