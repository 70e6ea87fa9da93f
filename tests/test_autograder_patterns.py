"""The grader reads numbers in ASCII digits only: a regular expression's digit class (`\\d`)
matches the digits of every script ('١٢' is two Arabic-Indic digits, '𝟙' a mathematical one),
which a spreadsheet, an LMS or int() then reads otherwise or not at all. Every pattern of the
autograder spells its digits [0-9]; a test reads every string of its source for `\\d`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograder
from autograder.cluster import local_workers
from autograder.reports.lms import IDENTIFIERS
from autograder.reports.spreadsheet import cell

SOURCES = sorted(Path(autograder.__file__).parent.rglob("*.py"))
OTHER_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())


def test_no_string_of_the_autograder_holds_a_regex_digit_class():
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    "\\d" in node.value.replace("\\\\", "")):
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"\\d in {found}: spell ASCII digits [0-9]"


@given(digits=st.lists(OTHER_DIGITS, min_size=1, max_size=4), number=st.integers(0, 99))
def test_other_scripts_digits_are_neither_an_lms_id_nor_a_plain_number(digits, number):
    text = f"{number}{''.join(digits)}"
    for kind in ("canvas", "moodle"):
        assert IDENTIFIERS[kind][0].fullmatch(text) is None
    assert cell(f"-{text}") == f"'-{text}"  # begins like a formula: written as text


@pytest.mark.parametrize("count", ["²", "١", "𝟙"])
def test_a_local_cluster_of_other_scripts_digits_is_refused_in_words(count):
    with pytest.raises(ValueError, match="expected local:N"):
        local_workers(f"local:{count}")
