"""Formgrader shows what a student wrote as HTML that runs nothing.

Formgrader's grading page (nbgrader 0.9's `formgrade` template) renders each markdown cell of
the graded copy, a student's written answers among them, as `cell.source | markdown2html |
strip_files_prefix`, and never sanitises it: its template replaces the block that honours
nbconvert's `HTMLExporter.sanitize_html`, and markdown passes raw HTML through. A written answer
holding `<script>`, `<img src=x onerror=...>` or `[a link](javascript:...)` would run in the
page of the instructor's Jupyter server, with the rights of the instructor's session.

The course's nbgrader_config.py registers `strip_files_prefix_and_clean` as the
`strip_files_prefix` filter (`HTMLExporter.filters`): after nbconvert's own prefix stripping it
keeps only the HTML markdown makes (`TAGS`, `ATTRIBUTES`; links and images to http, https,
mailto or within the page), and escapes anything else, which then shows as text. nbgrader's
feedback template (`nbgrader generate_feedback`) renders through the same filter.

>>> strip_files_prefix_and_clean('<p>$a &lt; b$ <img src="x" onerror="alert(1)"></p>')
'<p>$a &lt; b$ <img src="x"></p>'
"""

from __future__ import annotations

import bleach
from nbconvert.filters import strip_files_prefix

# what nbconvert's markdown2html makes of markdown (headings carry an id and an anchor link)
TAGS = frozenset({"a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3",
                  "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong",
                  "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"})
ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href"], "img": ["src", "alt"],
              "td": ["align"], "th": ["align"], "ol": ["start"]}
PROTOCOLS = frozenset({"http", "https", "mailto"})  # and relative links (`#anchor`, `a.png`)
CLEANER = bleach.Cleaner(tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=False,
                         strip_comments=True)


def strip_files_prefix_and_clean(html: str) -> str:
    """nbconvert's `strip_files_prefix` of rendered markdown, then only markdown's own HTML
    kept (anything else escaped)."""
    return CLEANER.clean(strip_files_prefix(str(html)))
