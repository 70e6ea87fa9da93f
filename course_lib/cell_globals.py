"""Which of the running check cell's own names a learner's function reads as a global.

A check cell binds names for its examples (`logits`, `mask`, `tokens`, `x`...) in the notebook's
namespace, the namespace the learner's functions read their globals from. A function that reads
one of them instead of its parameter (a parameter spelt `logit` and a body that uses `logits`,
or a helper that reads the example a cell above left behind) sees the check's own example and
passes its check, then fails every hidden case, whose inputs are the grader's own.
So can a function whose own cell defines a helper or a constant under a name the check cell
binds for its example (`step`, `x`): the check replaces it, and the learner's code, right in
itself, fails on the check's value. `borrowed_global(function, caller)` finds such a name
before the check calls the function, and says which of the two it is:

- the names the check cell binds: from the cell's whole source when the kernel keeps it
  (IPython's cells are in `linecache`, and each statement of a cell runs as code of its own),
  else from the code the cell's frame runs; a name the cell binds by `import`, or to a module,
  class or function, is not an example and is left out;
- the globals the learner's code reads: the names its code objects load as globals, nested
  functions, lambdas and comprehensions included, and, through the notebook's namespace, those
  of every function of the learner's it reads (a helper that reads the example). Code the check
  cell defines itself (a lambda wrapping the call) is the check's own: its globals are not
  counted, the learner's functions it reads are followed.

What it cannot see: a global read in a way that names no global in the code (`globals()["x"]`,
`eval("x")`), or through an object that is not a function (a class's method).
"""

from __future__ import annotations

import dis
import linecache
import symtable
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import NamedTuple

_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_STORES = frozenset({"STORE_NAME", "STORE_GLOBAL"})
_NOT_EXAMPLES = (ModuleType, type, FunctionType, type(len))  # modules, classes, functions


class Borrowed(NamedTuple):
    """A global of the check cell's that the learner's code reads: its name, and whether the
    learner's own cell (the one defining a function that reads it) binds it too, so that the
    check cell replaced the learner's own value or helper."""

    name: str
    replaces_learner_s: bool


def borrowed_global(function, caller: FrameType | None) -> Borrowed | None:
    """The first global that the learner's `function` (or a function of the learner's it reads)
    reads and that the check cell running in `caller` (or a frame above it) binds, now or
    further down (the function reads a stale value, or none, until then), to anything but a
    module, class or function; None if there is none, or if no check cell of the function's
    namespace is running."""
    if type(function) is not FunctionType:
        return None
    namespace = function.__globals__
    cell = _cell_frame(caller, namespace)
    if cell is None:
        return None
    bound = _bound_by_cell(cell)
    cell_code = set(_code_objects(cell.f_code))
    for name, reader in _globals_read(function, namespace, cell_code, cell.f_code.co_filename):
        if name in bound and not isinstance(namespace.get(name), _NOT_EXAMPLES):
            return Borrowed(name, name in _bound_in_source(reader.co_filename))
    return None


def _cell_frame(frame: FrameType | None, namespace: dict) -> FrameType | None:
    """The innermost frame running a notebook cell's own code (module-level code) in
    `namespace`, from `frame` up."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is namespace:
            return frame
        frame = frame.f_back
    return None


def _bound_by_cell(cell: FrameType) -> frozenset[str]:
    """The names the cell binds at its top level, not by import."""
    return _bound_in_source(cell.f_code.co_filename) or frozenset(
        instruction.argval for instruction in dis.get_instructions(cell.f_code)
        if instruction.opname in _STORES)


def _bound_in_source(filename: str) -> frozenset[str]:
    """The names a cell whose source the kernel keeps (linecache) binds at its top level, not
    by import; none when its source is not kept."""
    source = "".join(linecache.getlines(filename))
    try:
        table = symtable.symtable(source, filename, "exec")
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(symbol.get_name() for symbol in table.get_symbols()
                     if symbol.is_assigned() and not symbol.is_imported())


def _code_objects(code: CodeType):
    """`code` and every code object nested in it (functions, lambdas, comprehensions)."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _code_objects(constant)


def _loaded_globals(code: CodeType) -> list[str]:
    """The names `code` (nested code included) loads as globals, in order of appearance."""
    return [instruction.argval for inner in _code_objects(code)
            for instruction in dis.get_instructions(inner) if instruction.opname in _LOADS]


def _globals_read(function: FunctionType, namespace: dict, cell_code: set[CodeType],
                  cell_file: str) -> list[tuple[str, CodeType]]:
    """(name, the code that reads it) for each global the learner's code reads, starting from
    `function`, following each function of `namespace` it reads; the globals of the check
    cell's own code are not counted."""
    read, seen, waiting = [], set(), [function]
    while waiting:
        code = waiting.pop().__code__
        if code in seen:
            continue
        seen.add(code)
        names = _loaded_globals(code)
        if not _is_cell_code(code, cell_code, cell_file):
            read.extend((name, code) for name in names)
        waiting.extend(namespace[name] for name in names
                       if type(namespace.get(name)) is FunctionType
                       and namespace[name].__globals__ is namespace)
    return read


def _is_cell_code(code: CodeType, cell_code: set[CodeType], cell_file: str) -> bool:
    """True for code the running check cell defines: in its frame's code, or compiled from the
    same cell (IPython names each cell's code after the cell, and keeps its source)."""
    return code in cell_code or (code.co_filename == cell_file
                                 and bool(linecache.getlines(cell_file)))
