"""The similarity and feedback pages show what a student's text holds.

A bidi override (U+202E) in an id or a line of code turns the rest of its line round: the
heading "ada<U+202E> and bob" reads "ada bob dna", and a line of code reads otherwise than it
runs ("Trojan Source"); a zero-width space hides a difference between two ids; a line separator
(U+2028) shows one line as two. Both pages write every such character as its escape
(`files.visible`), after escaping the HTML.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.records import Status
from autograder.reports import similarity
from autograder.reports.feedback import SourceFacts, feedback_page

SOURCE = Path(__file__).parent / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
HIDDEN = ["\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\x1b", "\x00",
          "\u2028", "\u2029"]
HIDING = ("Cc", "Cf", "Zl", "Zp")  # control, format, line and paragraph separators
hostile = st.builds("".join, st.lists(st.sampled_from([*HIDDEN, "a", "<", "&", " "]),
                                      min_size=1, max_size=8)) | st.text(max_size=8)


def _hides_nothing(page: str) -> bool:
    return all(ch in "\t\n" or unicodedata.category(ch) not in HIDING for ch in page)


def _similarity_page(first: str, second: str, line: str) -> str:
    document = similarity.Document([line])
    pair = similarity.Pair((first, second), {"code": 1.0, "text": 0.0},
                           {"code": ({0}, {0}), "text": (set(), set())})
    documents = {"code": {first: document, second: document},
                 "text": {first: document, second: document}}
    return similarity.html_page(similarity.Report("a1", 0.5, [pair], {}, documents))


def _feedback_page(student: str) -> str:
    row = {"status": Status.MISSING, "reason": "no notebook was submitted", "scores": {},
           "result": None, "manual": {}}
    return feedback_page(SourceFacts.read(SOURCE), row, {}, student)


def test_a_line_separator_in_a_line_of_code_is_shown_as_its_escape():
    """A browser breaks a line at U+2028 (Unicode's line breaking), so a line the page shows
    would look like two, the second not the line the page names."""
    page = _similarity_page("ada", "bob", "total = 0  # a\u2028b\u2029")
    assert "total = 0  # a\\u2028b\\u2029" in page and "\u2028" not in page


def test_a_bidi_override_in_an_id_or_code_is_shown_as_its_escape():
    page = _similarity_page("ada\u202e", "bob", "access = 'user' \u202e# admin only")
    assert "ada\\u202e and bob" in page and "&#x27;user&#x27; \\u202e# admin only" in page
    assert "\u202e" not in page
    page = _feedback_page("ada\u202e\u200b")
    assert "<b>ada\\u202e\\u200b</b>" in page and _hides_nothing(page)


@settings(max_examples=100, deadline=None)
@given(first=hostile, second=hostile, line=hostile)
def test_no_page_holds_a_character_that_hides_or_reorders_text(first, second, line):
    """Property: whatever the ids and the code hold, neither page holds a control, format or
    line-separating character but tab and newline."""
    for page in (_similarity_page(first, second, line), _feedback_page(first)):
        assert _hides_nothing(page)
