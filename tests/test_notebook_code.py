"""The chapters' code reads like a textbook: short demonstration cells, one name for one signature.

Read from the source notebooks without running them:
- every code cell a learner reads as a demonstration (not an exercise, its test, or a quiz
  declaration) has at most MAX_LINES non-blank lines; longer work belongs in course_lib, with a
  docstring and tests, or in two cells that each say one thing;
- a function a chapter defines (an exercise, or a demonstration helper) never reuses the name of a
  course_lib function with other parameters: a learner who reads course_lib finds the same meaning
  under the same name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

import course_lib

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))
MAX_LINES = 15


def is_demonstration(cell) -> bool:
    """A code cell that is neither an exercise (solution), its test (grade) nor a quiz literal."""
    role = cell.metadata.get("nbgrader", {})
    return (cell.cell_type == "code" and not role.get("solution") and not role.get("grade")
            and not cell.source.startswith("MultipleChoice("))  # fmt: skip


def non_blank_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


def long_cells(notebook, limit: int = MAX_LINES) -> list[tuple[int, int, str]]:
    """(cell index, non-blank lines, first line) of the demonstration cells longer than limit."""
    return [(index, non_blank_lines(cell.source), cell.source.splitlines()[0])
            for index, cell in enumerate(notebook.cells)
            if is_demonstration(cell) and non_blank_lines(cell.source) > limit]  # fmt: skip


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_demonstration_cells_are_short(path):
    notebook = nbformat.read(path, as_version=4)
    too_long = long_cells(notebook)
    assert not too_long, (
        f"{path.stem}: demonstration cells longer than {MAX_LINES} non-blank lines "
        f"(index, lines, first line): {too_long}; move helpers into course_lib or split the cell"
    )


def test_the_length_rule_exempts_exactly_exercises_tests_and_quizzes():
    long_source = "\n".join(f"x{i} = {i}" for i in range(MAX_LINES + 1))
    cells = [
        nbformat.v4.new_code_cell(long_source),
        nbformat.v4.new_code_cell(long_source + "\n\n\n"),
        nbformat.v4.new_code_cell("\n\n".join(long_source.splitlines()[:MAX_LINES])),
        nbformat.v4.new_code_cell("MultipleChoice(\n" + long_source + "\n)"),
        nbformat.v4.new_markdown_cell(long_source),
    ]
    for role in ({"solution": True}, {"grade": True}):
        cells.append(nbformat.v4.new_code_cell(long_source, metadata={"nbgrader": role}))
    notebook = nbformat.v4.new_notebook(cells=cells)
    assert [index for index, _, _ in long_cells(notebook)] == [0, 1]


# ------------------------------------------------------------------ one name, one signature


def parameters_of_definition(node: ast.FunctionDef) -> list[tuple[str, bool]]:
    """(name, has a default) of every parameter of a function definition, in order."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaulted = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    names = list(zip([a.arg for a in positional], defaulted, strict=True))
    if args.vararg:
        names.append(("*" + args.vararg.arg, False))
    keyword_only = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    names += [(a.arg, default is not None) for a, default in keyword_only]
    if args.kwarg:
        names.append(("**" + args.kwarg.arg, False))
    return names


def parameters_of(function) -> list[tuple[str, bool]]:
    """The same list for a live function, read with inspect."""
    prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [(prefix.get(p.kind, "") + name, p.default is not inspect.Parameter.empty)
            for name, p in inspect.signature(function).parameters.items()]  # fmt: skip


def call_form(function) -> str:
    """The parameters of a function as a learner reads them, without annotations."""
    bare = [p.replace(annotation=inspect.Parameter.empty)
            for p in inspect.signature(function).parameters.values()]  # fmt: skip
    return str(inspect.Signature(bare))[1:-1]


def course_lib_names() -> dict[str, list[tuple[str, object]]]:
    """{public name: [(module, function or class)]} over every course_lib module."""
    names: dict[str, list[tuple[str, object]]] = {}
    for info in pkgutil.iter_modules(course_lib.__path__):
        module = importlib.import_module(f"course_lib.{info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            public = not name.startswith("_") and defined_here
            if public and (inspect.isroutine(value) or inspect.isclass(value)):
                names.setdefault(name, []).append((module.__name__, value))
    return names


def defined_functions(notebook) -> list[tuple[int, ast.FunctionDef]]:
    """(cell index, definition) of every top-level function the notebook's code cells define."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and not cell.source.lstrip().startswith("%"):
            found += [(index, node) for node in ast.parse(cell.source).body
                      if isinstance(node, ast.FunctionDef)]  # fmt: skip
    return found


def clashes(notebook, library: dict) -> list[str]:
    """Notebook functions named like a course_lib function or class but called differently."""
    found = []
    for index, node in defined_functions(notebook):
        for module, value in library.get(node.name, []):
            if inspect.isclass(value):
                found.append(f"cell {index}: {node.name} is also the class {module}.{node.name}")
            elif parameters_of_definition(node) != parameters_of(value):
                found.append(f"cell {index}: {node.name}({ast.unparse(node.args)}) but "
                             f"{module}.{node.name}({call_form(value)})")  # fmt: skip
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_chapter_functions_keep_course_lib_signatures(path):
    notebook = nbformat.read(path, as_version=4)
    found = clashes(notebook, course_lib_names())
    assert not found, f"{path.stem}: one name, two signatures: {found}; rename one side"


def test_a_clash_is_found_and_a_faithful_copy_is_not():
    library = course_lib_names()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def perplexity(losses):\n    pass"),
        nbformat.v4.new_code_cell("def softmax(logits, axis=-1):\n    pass"),
        nbformat.v4.new_code_cell("def one_hot(ids, num_classes=3):\n    pass"),
        nbformat.v4.new_code_cell("def Transformer(config):\n    pass"),
        nbformat.v4.new_code_cell("def my_own_helper(x):\n    pass"),
    ])  # fmt: skip
    found = clashes(notebook, library)
    assert [entry.split(":")[0] for entry in found] == ["cell 0", "cell 2", "cell 3"], found
    assert found[0].endswith("but course_lib.losses.perplexity(mean_token_loss)"), found


@st.composite
def definitions(draw) -> str:
    """Source of a random function definition: positional (some positional-only) parameters with
    defaults at the end, maybe *args, keyword-only parameters with any defaults, maybe **kwargs."""
    names = iter(f"p{i}" for i in range(20))
    n_positional = draw(st.integers(0, 4))
    n_defaulted = draw(st.integers(0, n_positional))
    positional = [next(names) + ("=1" if i >= n_positional - n_defaulted else "")
                  for i in range(n_positional)]  # fmt: skip
    if positional and draw(st.booleans()):
        positional.insert(draw(st.integers(1, len(positional))), "/")
    star = [f"*{next(names)}"] if draw(st.booleans()) else []
    keyword_only = [next(names) + ("=2" if draw(st.booleans()) else "")
                    for _ in range(draw(st.integers(0, 3)))]  # fmt: skip
    if keyword_only and not star:
        star = ["*"]
    double_star = [f"**{next(names)}"] if draw(st.booleans()) else []
    return f"def f({', '.join(positional + star + keyword_only + double_star)}):\n    pass"


@given(definitions())
def test_a_definition_reads_as_its_function_does(source):
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - a definition the strategy wrote
    (node,) = ast.parse(source).body
    assert parameters_of_definition(node) == parameters_of(namespace["f"])
