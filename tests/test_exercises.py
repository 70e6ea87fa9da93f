"""course_lib.exercises: a learner's error becomes an AssertionError that says what it means."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.exercises import GENERAL_MEANINGS, call


def test_the_value_passes_through():
    assert call(np.add, 2, 3) == 5
    assert call(lambda *, k: k, k=4) == 4


def test_not_implemented_passes_unchanged():
    def unsolved():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        call(unsolved)


def test_the_check_s_own_meaning_comes_first_even_for_a_subclass(capsys):
    def divide_in_place():
        z = np.arange(3)
        z /= 2.0  # numpy's UFuncTypeError, a TypeError

    with pytest.raises(AssertionError, match="^work on a float copy$"):
        call(divide_in_place, explain={"TypeError": "work on a float copy"})
    assert "divide_in_place raised" in capsys.readouterr().out, "numpy's own message is printed"


@given(st.sampled_from([IndexError, ValueError, TypeError, ZeroDivisionError, KeyError]),
       st.text(max_size=30))
def test_any_common_error_gets_a_general_meaning(kind, text):
    def fails():
        raise kind(text)

    with pytest.raises(AssertionError) as caught:
        call(fails, explain={"OSError": "not this one"})
    assert str(caught.value) == GENERAL_MEANINGS[kind.__name__]


def test_an_unusual_error_is_named():
    def fails():
        raise RuntimeError("odd")

    with pytest.raises(AssertionError, match="your code raised RuntimeError"):
        call(fails)
