"""Formgrader's grading page loads MathJax from the instructor's own server, never a CDN.

The page is rendered here as Formgrader renders it (nbconvert's HTMLExporter with nbgrader's
`formgrade` template and the course's nbgrader_config.py); the browser suite
(tests/browser/test_manual_grading.py) opens it offline and finds the math typeset.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest

from autograder.course_folder import Course

pytest.importorskip("nbgrader")
mathjax = pytest.importorskip("jupyter_server_mathjax")
ROOT = Path(__file__).resolve().parents[1]


def formgrade_page(notebook) -> str:
    """The HTML Formgrader's grading page shows for `notebook`, with the course's config."""
    from nbconvert.exporters import HTMLExporter

    config = Course(ROOT / "course").nbgrader_config
    config.HTMLExporter.template_name = "formgrade"
    resources = {"assignment_id": "ch1", "notebook_id": "ch1", "submission_id": "x", "index": 0,
                 "total": 1, "base_url": "/user/ada", "student": "ada", "last_name": "",
                 "first_name": "", "notebook_path": "ch1.ipynb"}
    html, _ = HTMLExporter(config=config).from_notebook_node(notebook, resources=resources)
    return html


def test_the_grading_page_loads_the_servers_own_mathjax():
    answer = nbformat.v4.new_markdown_cell("The loss is $-\\log p$.")
    html = formgrade_page(nbformat.v4.new_notebook(cells=[answer]))
    assert "cdnjs" not in html and "mathjax" in html.lower()
    (src,) = [line.split('src="')[1].split('"')[0] for line in html.splitlines()
              if "MathJax.js" in line]
    # Formgrader's grading page is <base_url>formgrader/submissions/<id>/ (it adds the slash)
    page = "http://localhost:8888/user/ada/formgrader/submissions/2f9c/"
    served = urljoin(page, src.split("?")[0])
    assert served == "http://localhost:8888/user/ada/static/jupyter_server_mathjax/MathJax.js"
    static = Path(mathjax.__file__).parent / "static"
    config = src.split("config=")[1].split(",")
    assert (static / "MathJax.js").is_file()
    assert all((static / "config" / f"{name}.js").is_file() for name in config)
