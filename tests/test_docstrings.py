"""The worked examples in course_lib's docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import pytest

import course_lib

MODULES = sorted(info.name for info in pkgutil.iter_modules(course_lib.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"course_lib.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of course_lib.{name} failed"
