"""The `course_lib` a graded kernel sees: without the functions the exercises ask students to write.

An exercise that asks for, say, `linear` names the course_lib functions that would do its work:
`hidden_cases(..., forbid=["course_lib.transformer.linear_forward"])`. When a notebook is graded,
the sandbox shows a copy of course_lib in which each function forbidden anywhere in the notebook
raises `ForbiddenCall` and its code is gone (the rest of course_lib is as written, and course_lib's
own callers of a forbidden function get the same error; a function that course_lib/fast.py
computes too takes all of fast.py with it: `with_fast_twins`). The references are computed in
the same view, so setup cells and every other function behave the same for the instructor's
solution and the student's; a solution that delegates gets an error where the reference has a
value, whatever it does inside the kernel, because the code it would delegate to is not there.

>>> view = course_lib_view(frozenset({"course_lib.transformer.linear_forward"}))  # doctest: +SKIP
>>> (view / "transformer.py").read_text()                                     # doctest: +SKIP
'...def linear_forward(x, w, b):\\n    raise ForbiddenCall(...)...'
"""

from __future__ import annotations

import ast
import compileall
from pathlib import Path

from autograder.grader import syntax
from autograder.grader.plan import PlanError
from autograder.grader.sandbox import data_entries, package_dir
from autograder.grader.scratch import run_tag, scratch_folder

PACKAGE = "course_lib"
FAST_MODULE = "fast"  # course_lib.fast: the same functions, faster (with_fast_twins)
IMPORT = "from autograder.in_kernel import ForbiddenCall as _ForbiddenCall"
_views: dict[tuple[frozenset[str], str], Path] = {}  # (forbidden names, run tag) -> view


def _module_and_qualname(dotted: str, root: Path) -> tuple[Path, list[str]]:
    """("course_lib/<module>.py", ["Class", "method"]) for a dotted name under course_lib."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE or len(parts) < 3:
        raise PlanError(f"forbid: {dotted!r} is not a function of {PACKAGE} "
                        f"(expected '{PACKAGE}.module.function' or '...module.Class.method')")
    for split in range(len(parts) - 1, 1, -1):
        path = root.joinpath(*parts[1:split]).with_suffix(".py")
        if path.is_file():
            return path, parts[split:]
    raise PlanError(f"forbid: no module of {PACKAGE} holds {dotted!r}")


def _find(body: list[ast.stmt], qualname: list[str]):
    """The function definition `qualname` (["f"] or ["Class", "f"]) in a module's body."""
    for node in body:
        if getattr(node, "name", None) != qualname[0]:
            continue
        if len(qualname) == 1 and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
        if len(qualname) > 1 and isinstance(node, ast.ClassDef):
            return _find(node.body, qualname[1:])
    return None


def without_functions(source: str, qualnames: dict[str, list[str]]) -> str:
    """Module source in which each function (dotted name -> qualname) raises ForbiddenCall."""
    tree = syntax.parse(source)
    for dotted, qualname in qualnames.items():
        node = _find(tree.body, qualname)
        if node is None:
            raise PlanError(f"forbid: {dotted!r} is not a function defined in {PACKAGE}")
        message = (f"{dotted} is not available while grading: this exercise asks you to "
                   "write it yourself")
        node.body = [ast.Raise(exc=ast.Call(func=ast.Name("_ForbiddenCall"),
                                            args=[ast.Constant(message)], keywords=[]))]
        node.decorator_list = [d for d in node.decorator_list
                               if ast.unparse(d) in ("staticmethod", "classmethod", "property")]
    tree.body.insert(_after_docstring_and_future(tree), syntax.parse(IMPORT).body[0])
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _after_docstring_and_future(tree: ast.Module) -> int:
    index = 0
    for index, node in enumerate(tree.body):
        is_docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(
            getattr(node, "value", None), ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (is_docstring or is_future):
            return index
    return index + 1


def with_fast_twins(forbidden: frozenset[str], root: Path) -> frozenset[str]:
    """`forbidden`, plus every function of course_lib/fast.py when it names a function that
    fast.py computes too (its TWINS): fast.py is a second implementation of the model and the
    loss, and its helpers compute parts of what an exercise asks for."""
    tree = syntax.parse((root / f"{FAST_MODULE}.py").read_text())
    twins = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TWINS")
    if forbidden.isdisjoint(name for plain in twins.values() for name in plain):
        return forbidden
    return forbidden | {f"{PACKAGE}.{FAST_MODULE}.{node.name}" for node in tree.body
                        if isinstance(node, ast.FunctionDef)}  # fmt: skip


def course_lib_view(forbidden: frozenset[str]) -> Path | None:
    """A folder holding course_lib's modules with the `forbidden` functions (and their fast
    twins: with_fast_twins) removed, built once per set of names and grading run, in the run's
    folder (grader.scratch); None when nothing is forbidden."""
    if not forbidden:
        return None
    forbidden = with_fast_twins(forbidden, package_dir(PACKAGE))
    key = (forbidden, run_tag())
    if key not in _views:
        _views[key] = _build_view(forbidden)
    return _views[key]


def _build_view(forbidden: frozenset[str]) -> Path:
    """Write a course_lib view. Its data (weights) is not copied: the view holds an empty
    placeholder where the sandbox shows the real data."""
    root = package_dir(PACKAGE)
    by_module: dict[Path, dict[str, list[str]]] = {}
    for dotted in sorted(forbidden):
        path, qualname = _module_and_qualname(dotted, root)
        by_module.setdefault(path, {})[dotted] = qualname
    view = scratch_folder("course-view-") / PACKAGE
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        target = view / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text()
        if path in by_module:
            text = without_functions(text, by_module[path])
        target.write_text(text)
    for entry in data_entries(root):
        placeholder = view / entry.name
        if entry.is_dir():
            placeholder.mkdir(exist_ok=True)
        else:
            placeholder.touch()
    compileall.compile_dir(view, quiet=1)  # kernels load it compiled, as the real one
    return view
