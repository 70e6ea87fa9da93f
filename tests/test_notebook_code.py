"""The chapters' code reads like a textbook: one name for one signature.

Read from the source notebooks without running them:
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

import course_lib

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))


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
