"""Formgrader's grading page loads MathJax from the instructor's own server, never a CDN, and
shows a student's written answer as HTML that runs nothing.

The page is rendered here as Formgrader renders it (nbconvert's HTMLExporter with nbgrader's
`formgrade` template and the course's nbgrader_config.py); the browser suite
(tests/browser/test_manual_grading.py) opens it offline and finds the math typeset.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import formgrader_html
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


ATTACKS = ['<script>alert(1)</script>', '<img src=x onerror="alert(1)">',
           '[a link](javascript:alert(1))', "<a href='JaVaScRiPt:alert(1)'>x</a>",
           '<iframe src="http://evil"></iframe>', '<svg onload=alert(1)>',
           '<form action="http://evil"><input></form>', '<style>body{display:none}</style>',
           '</div></div><script>alert(1)</script>', '<a href="data:text/html,x">x</a>',
           '<div onmouseover="alert(1)">x</div>', '<object data="x.swf"></object>']
SAFE_TAGS = "|".join(sorted(formgrader_html.TAGS, key=len, reverse=True))


def test_a_written_answers_html_is_shown_as_text_and_its_math_and_markdown_kept():
    """The reviewer's case: `<img onerror>` and a `javascript:` link in a written answer."""
    answer = nbformat.v4.new_markdown_cell(
        "MARK **bold** $a < b$ and <img src=x onerror=alert(1)> [link](javascript:alert(2)) "
        "[fine](https://example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    html = formgrade_page(nbformat.v4.new_notebook(cells=[answer]))
    part = html[html.index("MARK"):html.index("</div>", html.index("MARK"))]
    assert 'src="x"' in part and "onerror" not in part
    assert "<strong>bold</strong>" in part and "$a &lt; b$" in part and "<table>" in part
    assert 'href="https://example.org"' in part and "javascript:" not in part


def _after_answer(markdown: str) -> str:
    """Formgrader's page for a notebook of one written answer, from the answer on."""
    html = formgrade_page(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"MARK {markdown}")]))
    return html[html.index("MARK"):]


def _tags(html: str) -> set[str]:
    return set(re.findall(r"<\s*/?\s*([A-Za-z][\w-]*)", html))


@settings(max_examples=15, deadline=None)
@given(pieces=st.lists(st.sampled_from(ATTACKS) | st.text(max_size=10), min_size=1, max_size=4))
def test_no_html_a_student_writes_runs_in_formgraders_page(pieces):
    """Property: whatever a written answer holds, the page after it has only markdown's own
    tags and the page's own, no event handler and no link to a script."""
    part = _after_answer(" ".join(pieces))
    assert _tags(part) <= formgrader_html.TAGS | _tags(_after_answer("plain words"))
    assert not re.search(r"<[^>]*\son\w+\s*=", part)
    assert not re.search(r"""(?:href|src)\s*=\s*["']?\s*(?:javascript|data|vbscript):""", part,
                         re.IGNORECASE)
