"""What the grader's cells rely on, put back before the cells the grader runs (in the kernel).

Run All runs a student's cells in one namespace, so a student who rebinds a name the setup
cells bound (`np = 3`), or leaves an IPython input or AST transformer that fails, would make
every later cell fail, right answers included. Before each of its own cells (setup and tests)
the grader puts back the objects the setup cells bound to the names it relies on (`keep`,
after each setup cell); before every cell, the student's too, it puts back IPython's
transformers and Python's trace and profile functions as they were when the kernel started
(`snapshot`). The grader calls these through an execute request's user_expressions, which
IPython evaluates without passing them through the input transformers, so no transformer a
student leaves can stop them. A student's code can change what this module keeps; that changes
only its own grade, since verdicts come from the grader's comparison.
"""

from __future__ import annotations

import sys

_kept: dict = {}  # name -> the object a setup cell bound to it
_hooks: dict[str, list] = {}  # IPython's transformer lists at the kernel's start


def _transformer_lists(shell) -> dict[str, list]:
    manager = shell.input_transformer_manager
    return {"cleanup": manager.cleanup_transforms, "line": manager.line_transforms,
            "token": manager.token_transformers, "post": shell.input_transformers_post,
            "ast": shell.ast_transformers}


def snapshot() -> bool:
    """Remember IPython's transformers as they are (called before any student code)."""
    from IPython import get_ipython

    _hooks.update({name: list(items) for name, items in
                   _transformer_lists(get_ipython()).items()})
    return True


def keep(namespace: dict, names: list[str]) -> bool:
    """Remember the objects `namespace` binds to `names` (called after a setup cell)."""
    _kept.update({name: namespace[name] for name in names if name in namespace})
    return True


def reset_hooks() -> bool:
    """Put IPython's transformers back as `snapshot` found them; no trace or profile function."""
    from IPython import get_ipython

    for name, items in _transformer_lists(get_ipython()).items():
        items[:] = _hooks.get(name, items)
    sys.settrace(None)
    sys.setprofile(None)
    return True


def restore(namespace: dict) -> bool:
    """Bind every kept name again in `namespace`, and reset the hooks (before a grader's cell)."""
    namespace.update(_kept)
    return reset_hooks()
