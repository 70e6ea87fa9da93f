"""What the grader's cells rely on, put back before the cells the grader runs (in the kernel).

Run All runs a student's cells in one interpreter, so a student who rebinds a name the setup
cells bound (`np = 3`), hides a built-in the checks use (`abs = 3`), replaces a module
(`sys.modules["numpy"] = ...`), closes or replaces the standard streams, lowers the recursion
limit, changes the working folder, turns warnings into errors or numpy's floating-point warnings
into exceptions, or leaves an IPython input or AST transformer that fails, would make every
later cell fail, right answers included. Before each of its own cells (setup and tests) the
grader therefore puts back the objects the setup cells bound to the names it relies on and the
interpreter's state as the last setup cell left it (`keep`, after each setup cell; `restore`),
and unbinds the names that hide the built-ins its cells use; before every cell, the student's
too, it puts back IPython's transformers and Python's trace and profile functions as they were
when the kernel started (`snapshot`, `reset_hooks`); after every cell, and before an exception
is reported, it puts back the standard streams (`put_back_streams`: ipykernel sends nothing
more for good once a request ends without them). The grader calls these through an execute
request's user_expressions, which IPython evaluates without passing them through the input
transformers, so no transformer a student leaves can stop them. A student's code can change
what this module keeps; that changes only its own grade, since verdicts come from the grader's
comparison.
"""

from __future__ import annotations

import builtins
import os
import sys
import warnings

_kept: dict = {}  # name -> the object a setup cell bound to it
_hooks: dict[str, list] = {}  # IPython's transformer lists at the kernel's start
_state: dict = {}  # the interpreter's state the grader's cells rely on (see `_capture`)


def _transformer_lists(shell) -> dict[str, list]:
    manager = shell.input_transformer_manager
    return {"cleanup": manager.cleanup_transforms, "line": manager.line_transforms,
            "token": manager.token_transformers, "post": shell.input_transformers_post,
            "ast": shell.ast_transformers}


def _capture() -> None:
    """Remember the interpreter's state the grader's cells rely on: the modules imported (by
    name), the built-in functions, the standard streams and display hook, the recursion limit,
    the working folder, the warning filters and numpy's floating-point error handling."""
    numpy = sys.modules.get("numpy")
    _state.update(
        modules=dict(sys.modules), builtins=dict(vars(builtins)),
        streams=(sys.stdout, sys.stderr, sys.displayhook), recursion=sys.getrecursionlimit(),
        folder=os.getcwd(), warnings=list(warnings.filters),
        numpy=(numpy, numpy.geterr()) if hasattr(numpy, "geterr") else None)


def _put_back_state(namespace: dict, builtin_names: list[str]) -> None:
    """Put back what `_capture` remembered (and drop the modules added since that no import
    loaded: a name blocked with None, a module made by hand); unbind the names in `namespace`
    that hide a built-in of `builtin_names` (the built-ins the grader's cells use: `abs`)."""
    for name, module in _state["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
    for name, module in list(sys.modules.items()):  # what no import loaded: None, a fake
        if name not in _state["modules"] and getattr(module, "__spec__", None) is None:
            del sys.modules[name]
    vars(builtins).update(_state["builtins"])
    for name in builtin_names:
        if name in _state["builtins"] and name not in _kept:
            namespace.pop(name, None)
    sys.stdout, sys.stderr, sys.displayhook = _state["streams"]
    sys.setrecursionlimit(_state["recursion"])
    try:
        os.chdir(_state["folder"])
    except OSError:
        pass  # the folder is gone: the grader's cells find no file there either way
    warnings.filters[:] = _state["warnings"]
    getattr(warnings, "_filters_mutated", lambda: None)()  # filter caches see the change
    if _state["numpy"] is not None:
        numpy, errors = _state["numpy"]
        numpy.seterr(**errors)


def snapshot() -> bool:
    """Remember IPython's transformers and the interpreter's state as they are (called before
    any student code)."""
    from IPython import get_ipython

    _hooks.update({name: list(items) for name, items in
                   _transformer_lists(get_ipython()).items()})
    _capture()
    return True


def keep(namespace: dict, names: list[str]) -> bool:
    """Remember the objects `namespace` binds to `names`, and the interpreter's state (called
    after a setup cell: what it imported and set is what the grader's cells rely on)."""
    _kept.update({name: namespace[name] for name in names if name in namespace})
    _capture()
    return True


def put_back_streams() -> bool:
    """Put back the standard streams (after every chunk, and before an exception is reported:
    ipykernel stops sending anything for good once a request ends with `sys.stdout = None`)."""
    if _state:
        sys.stdout, sys.stderr = _state["streams"][:2]
    return True


def reset_hooks() -> bool:
    """Put IPython's transformers back as `snapshot` found them; no trace or profile function."""
    from IPython import get_ipython

    for name, items in _transformer_lists(get_ipython()).items():
        items[:] = _hooks.get(name, items)
    sys.settrace(None)
    sys.setprofile(None)
    return True


def restore(namespace: dict, builtin_names: list[str] = ()) -> bool:
    """Bind every kept name again in `namespace`, put back the interpreter's state, unbind the
    names that hide the built-ins of `builtin_names`, and reset the hooks (before a grader's
    cell)."""
    namespace.update(_kept)
    _put_back_state(namespace, builtin_names)
    return reset_hooks()
