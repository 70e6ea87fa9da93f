"""Formgrader typesets the math of written answers with a MathJax its own server serves.

Formgrader's grading page (nbgrader 0.9's `formgrade` nbconvert template) calls nbconvert's
`mathjax()` macro, which loads MathJax 2 from a CDN: offline, answers show raw `$...$`. The
course's nbgrader_config.py puts `TEMPLATES` before nbgrader's own template folder
(`template_dirs()`, for HTMLExporter.extra_template_basedirs), and its `formgrade/mathjax.html.j2`
defines the macro again, loading MathJax 2 from the jupyter-server-mathjax package of the
instructor's install instead: the server that shows Formgrader serves it under
`static/jupyter_server_mathjax/`. tests/browser/test_manual_grading.py opens a graded written
answer with math in Formgrader with every request off the machine refused, and finds it typeset.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent / "formgrader_templates"


def template_dirs() -> list[str]:
    """HTMLExporter.extra_template_basedirs for Formgrader: ours first (the macro), then
    nbgrader's (the grading page itself), which this setting would otherwise replace."""
    from nbgrader.server_extensions.formgrader import handlers

    return [str(TEMPLATES), handlers.template_path]
