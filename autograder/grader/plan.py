"""What to run when grading a notebook: the plan read from the instructor's source notebook.

Only three kinds of code cell run at grading time, in notebook order (the contract):
`setup`-tagged cells (always the instructor's version), solution cells (the student's version,
or the instructor's when computing references) and test cells (always the instructor's version,
split into the visible checks and the hidden block). Written answers (markdown grade cells) are
left for manual grading. The plan also keeps the release text of every locked cell, to detect
tampering.

>>> plan = read_plan("tests/fixtures/course/source/fx_basics/fx_basics.ipynb")  # doctest: +SKIP
>>> [step.kind for step in plan.steps][:3]  # doctest: +SKIP
['setup', 'answer', 'test']
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grader import syntax
from autograder.grader.student_version import release_version
from autograder.protocol import DEFAULT_ATOL, DEFAULT_RTOL

QUIZ_NAME = re.compile(r"q[0-9]+(?:_[0-9]+)*")  # hidden_cases names of multiple-choice questions
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# a student's cell longer than this is never parsed by the grader (parsing costs memory many
# times the text's size): it is run as one chunk and taken as code, not prose
MAX_PARSED_CHARS = 100_000
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
VARIANT_STAMP = "llmf_variant"  # notebook metadata: the variant a per-student release made


class PlanError(ValueError):
    """The source notebook does not follow the grading contract (an instructor's mistake)."""


@dataclass(frozen=True)
class HiddenCall:
    """One `hidden_cases(...)` call of a test cell, read statically from the source."""

    name: str
    n_cases: int
    forbid: tuple[str, ...] = ()
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    choice_variable: str = ""  # a quiz question's answer variable (`hidden_cases("q1_2",
    # ["answer_q1_2"])`): its value is read as a choice (" b " is "B", True is "True")


@dataclass(frozen=True)
class Step:
    """One unit of grading work: a setup cell, an answer (solution) cell or a test cell."""

    kind: str  # "setup" | "answer" | "test"
    grade_id: str
    code: str  # setup: code; answer: the instructor's solution; test: the visible checks
    hidden_code: str = ""
    hidden_calls: tuple[HiddenCall, ...] = ()
    points: float = 0.0

    @property
    def choice_variables(self) -> list[str]:
        return [call.choice_variable for call in self.hidden_calls if call.choice_variable]


@dataclass(frozen=True)
class VariantCheck:
    """What a student's variant of a source decides, to tell their own copy from another's:
    `expected` {cell id: text digest} of the student's own variant (autograder.variants
    .variant_signature), and `known` {(cell id, text digest): the students whose variant shows
    that text} over the class ("" standing for the class-wide edition)."""

    student: str
    mark: str  # the student's own variant mark (autograder.variants.Variant.mark)
    expected: dict[str, str]
    known: dict[tuple[str, str], tuple[str, ...]]


@dataclass(frozen=True)
class Plan:
    """Everything the grader needs from one source notebook (or from one student's variant of
    it, whose `variant` says how to recognise that student's copy)."""

    name: str
    steps: tuple[Step, ...]
    written: dict[str, tuple[float, str]]  # grade_id -> (points, release text)
    locked: dict[str, tuple[str, str]]  # grade_id -> (cell type, release text)
    digest: str  # sha256 of the source notebook file
    files: tuple[Path, ...] = ()  # data shipped next to the source (the students have it too)
    release_ids: frozenset[str] = frozenset()  # cell ids of the release (students keep them)
    release_code: frozenset[str] = frozenset()  # normalised text of every released code cell
    variant: VariantCheck | None = None

    @property
    def tests(self) -> list[Step]:
        return [step for step in self.steps if step.kind == "test"]

    @property
    def answer_ids(self) -> frozenset[str]:
        """The grade_ids of the answer (solution) cells."""
        return frozenset(step.grade_id for step in self.steps if step.kind == "answer")

    @property
    def forbidden(self) -> frozenset[str]:
        """The course_lib functions some exercise asks students to write (`forbid=[...]`)."""
        return frozenset(name for step in self.tests for call in step.hidden_calls
                         for name in call.forbid)

    def max_points(self) -> dict[str, float]:
        """Points per graded cell: test cells and written answers, in notebook order."""
        points = {step.grade_id: step.points for step in self.tests}
        points.update({grade_id: p for grade_id, (p, _) in self.written.items()})
        return points


def role(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell, or metadata of the wrong type)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def grade_id_of(cell) -> str | None:
    """The cell's nbgrader grade_id, or None (no metadata, or a grade_id that is not text)."""
    grade_id = role(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def normalise(text: str) -> str:
    """Source text with trailing spaces and surrounding blank lines removed (for comparing)."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def text_digest(text: str) -> str:
    """A short digest of a cell's text, normalised as the grader compares cells."""
    return hashlib.sha256(normalise(text).encode("utf-8", "replace")).hexdigest()[:16]


def parse_cell(code: str) -> ast.Module | None:
    """A cell's code parsed, as it is or with IPython's magic and shell lines left out; None if
    it does not parse."""
    for version in (code, syntax.without_magics(code)):
        try:
            return syntax.parse(version)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
    return None


def bound_names(code: str) -> list[str]:
    r"""The names a cell's top-level statements bind (imports, assignments, definitions); IPython's
    magic and shell lines are left out, and code that does not parse binds none.

    >>> bound_names("import numpy as np\nfrom a import b\nx, y = 1, 2\ndef f(): pass\n%time f()")
    ['np', 'b', 'x', 'y', 'f']
    """
    tree = parse_cell(code)
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return [name for name in dict.fromkeys(names) if name != "*"]


def loaded_names(code: str) -> set[str]:
    r"""The names a cell's code reads, and those its string literals read when they are
    expressions (a hidden_cases call's test expressions); code that does not parse reads none.

    >>> sorted(loaded_names("assert abs(f(x)) < 1\nhidden_cases('f', ['float(f(2))'])"))
    ['abs', 'f', 'float', 'hidden_cases', 'x']
    """
    tree = parse_cell(code)
    if tree is None:
        return set()
    names = {node.id for node in ast.walk(tree)
             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                expression = syntax.parse(node.value)
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                continue
            names |= {inner.id for inner in ast.walk(expression) if isinstance(inner, ast.Name)}
    return names


def without_solution_markers(code: str) -> str:
    """A solution cell's code as a student would type it: the solution marker lines dropped."""
    return "\n".join(line for line in code.splitlines() if line.strip() not in SOLUTION_MARKERS)


def split_hidden(source: str) -> tuple[str, str]:
    """(visible code, hidden code) of a test cell.

    >>> split_hidden("assert f(1) == 2\\n### BEGIN HIDDEN TESTS\\nhidden_cases('f', ['f(3)'])\\n"
    ...              "### END HIDDEN TESTS")
    ('assert f(1) == 2', "hidden_cases('f', ['f(3)'])")
    """
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN_HIDDEN:
            inside = True
        elif marker == END_HIDDEN:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "\n".join(visible).strip("\n"), "\n".join(hidden).strip("\n")


def parse_hidden_calls(code: str, where: str) -> tuple[HiddenCall, ...]:
    """The `hidden_cases` calls in a hidden block; their arguments must be literals."""
    try:
        tree = syntax.parse(code)
    except SyntaxError as error:
        raise PlanError(f"{where}: hidden block is not valid Python: {error}") from None
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hidden_cases"):
            continue
        try:
            name, expressions = (ast.literal_eval(arg) for arg in node.args)
            options = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        except (ValueError, TypeError):
            raise PlanError(
                f"{where}: hidden_cases needs literal arguments: "
                "hidden_cases('name', ['expr', ...], forbid=[...], rtol=..., atol=...)"
            ) from None
        unknown = set(options) - {"forbid", "rtol", "atol"}
        if unknown or not isinstance(name, str) or not isinstance(expressions, (list, tuple)):
            raise PlanError(f"{where}: bad hidden_cases call (unknown options: {sorted(unknown)})")
        is_choice = (QUIZ_NAME.fullmatch(name) is not None and len(expressions) == 1
                     and str(expressions[0]).isidentifier())
        calls.append(
            HiddenCall(
                name=name,
                n_cases=len(expressions),
                forbid=tuple(options.get("forbid", ())),
                rtol=float(options.get("rtol", DEFAULT_RTOL)),
                atol=float(options.get("atol", DEFAULT_ATOL)),
                choice_variable=str(expressions[0]) if is_choice else "",
            )
        )
    names = [call.name for call in calls]
    if len(set(names)) != len(names):
        raise PlanError(f"{where}: two hidden_cases calls share a name: {names}")
    return tuple(calls)


def source_files(source_path: Path) -> tuple[Path, ...]:
    """Files shipped next to a source notebook (data the students also receive)."""
    return tuple(
        path for path in sorted(source_path.parent.iterdir())
        if path.is_file() and path.suffix != ".ipynb" and not path.name.startswith(".")
    )


def read_plan(source_path: str | Path) -> Plan:
    """Read a source notebook into a Plan; raise PlanError if it breaks the grading contract."""
    path = Path(source_path)
    raw = path.read_bytes()
    return plan_of(nbformat.reads(raw.decode("utf-8"), as_version=4), raw, path)


def plan_of(notebook, raw: bytes, path: Path, variant: VariantCheck | None = None) -> Plan:
    """The Plan of a source notebook (nbformat node) whose file's bytes are `raw` (its digest
    names the plan) and whose data files are next to `path`; `variant` when it is a student's
    variant of the source."""
    released = release_version(notebook)
    steps, written, locked = [], {}, {}
    for index, (cell, release_cell) in enumerate(zip(notebook.cells, released.cells, strict=True)):
        meta = role(cell)
        grade_id = meta.get("grade_id") or f"cell-{index}"
        where = f"{path.name} cell {index} ({grade_id})"
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            locked[grade_id] = (cell.cell_type, release_cell.source)
        if cell.cell_type == "markdown":
            if meta.get("grade") and meta.get("solution"):
                written[grade_id] = (float(meta.get("points", 0)), release_cell.source)
            continue
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            visible, hidden = split_hidden(cell.source)
            calls = parse_hidden_calls(hidden, where)
            if not calls:  # its verdict would rest on what the student's kernel reports
                raise PlanError(f"{where}: a test cell needs a hidden block with hidden_cases "
                                "(the visible checks alone can be faked from the kernel)")
            steps.append(Step("test", grade_id, visible, hidden, calls, float(meta["points"])))
        elif meta.get("solution"):
            if meta.get("grade"):
                raise PlanError(f"{where}: autograded answers and tests must be separate cells")
            steps.append(Step("answer", grade_id, cell.source))
        elif "setup" in cell.metadata.get("tags", []):
            steps.append(Step("setup", grade_id, cell.source))
    if not steps:
        raise PlanError(f"{path}: no setup, answer or test cells found")
    return Plan(
        name=path.stem,
        steps=tuple(steps),
        written=written,
        locked=locked,
        digest=hashlib.sha256(raw).hexdigest(),
        files=source_files(path),
        release_ids=frozenset(cell.get("id") for cell in released.cells if cell.get("id")),
        release_code=frozenset(normalise(cell.source) for cell in released.cells
                               if cell.cell_type == "code"),
        variant=variant,
    )
