"""A learner's value as plain data (autograder.protocol), in the kernel and in the self-checks.

- An array arrives as the array it is: its shape (a 0-d array too), dtype and values, whatever
  its memory layout (transposed, sliced, broadcast, read-only, of the other byte order).
- A numpy scalar arrives as the Python value it holds (numpy's text scalar as its str), or is
  refused with a message naming its type.
- A value whose reading runs the learner's code (tests/hostile_values.py), or an exception whose
  class lies about its name, costs `hidden_cases` only the case that returned or raised it: that
  case gives no value, the others are reported.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import synthetic
from hostile_values import BEHAVIOURS, HOSTILE, LyingMeta
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.grader.pipeline import grade_notebook
from autograder.grader.sandbox import Limits
from autograder.hidden import hidden_cases
from autograder.protocol import (
    GRADING_ENV,
    HIDDEN_MIME,
    MAX_INT_DIGITS,
    MAX_ITEMS,
    MAX_NUMBERS,
    MAX_SHOWN,
    NotPlainData,
    TooLarge,
    as_graded,
    decode,
    encode,
    from_jsonable,
)

dtypes = st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(endianness="="),
                   hnp.unsigned_integer_dtypes(endianness="="),
                   hnp.floating_dtypes(endianness="=", sizes=(16, 32, 64)))
LAYOUTS = {
    "as made": lambda a: a,
    "transposed": lambda a: a.T,
    "reversed": lambda a: a[::-1] if a.ndim else a,
    "broadcast": lambda a: np.broadcast_to(a, (2, *a.shape)),
    "read-only": lambda a: np.lib.stride_tricks.as_strided(a, writeable=False),
    "Fortran order": np.asfortranarray,
    "the other byte order": lambda a: a.astype(a.dtype.newbyteorder()),
}


@settings(max_examples=300, deadline=None)
@given(base=hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
       layout=st.sampled_from(sorted(LAYOUTS)))
def test_an_array_arrives_as_the_array_it_is_whatever_its_layout(base, layout):
    value = LAYOUTS[layout](base)
    back = decode(encode(value))
    assert type(back) is np.ndarray
    assert (back.shape, back.dtype) == (value.shape, value.dtype)
    assert np.array_equal(back, value, equal_nan=value.dtype.kind == "f")


def test_a_0_d_array_stays_0_d():
    back = decode(encode(np.array(2.5)))
    assert back.shape == () and back == 2.5


SCALARS = [
    (np.bool_(True), True), (np.int8(-3), -3), (np.uint64(2**63), 2**63), (np.float16(1.5), 1.5),
    (np.float32(0.25), 0.25), (np.float64(-2.0), -2.0), (np.longdouble(1.5), 1.5),
    (np.str_("B"), "B"), (np.complex128(1j), None), (np.bytes_(b"B"), None),
    (np.datetime64("2020-01-01"), None), (np.timedelta64(1, "D"), None), (np.void(b"x"), None),
]


@pytest.mark.parametrize(("value", "expected"), SCALARS, ids=[type(v).__name__ for v, _ in SCALARS])
def test_a_numpy_scalar_is_the_python_value_it_holds_or_refused_by_its_type(value, expected):
    if expected is None:
        with pytest.raises(NotPlainData, match=type(value).__name__):
            encode(value)
        return
    back = decode(encode(value))
    assert type(back) is type(expected) and back == expected


CAREFUL = Path(__file__).parent.joinpath("fixtures", "careful", "source", "fx_careful",
                                        "fx_careful.ipynb")


def test_right_answers_held_in_numpy_scalars_score_through_the_sandbox(tmp_path):
    """Graded for real: a choice picked from an array of letters (np.str_) and a mean computed
    in long double precision are right answers."""
    answers = dict(synthetic.correct_answers(CAREFUL),
                   q1_1="answer_q1_1 = np.array(['A', 'B', 'C'])[1]",
                   mean_answer="def mean_loss(losses):\n"
                               "    return np.mean(np.asarray(losses, dtype=np.longdouble))\n")
    path = tmp_path / CAREFUL.name
    nbformat.write(synthetic.student_notebook(CAREFUL, answers), str(path))
    result = grade_notebook(path, CAREFUL, limits=Limits(cell_timeout=10, notebook_timeout=90))
    assert result.status == "needs_manual_grading", result.reason
    assert {item: score for item, score in result.scores.items() if score[0] != score[1]} == {
        "explain_answer": (None, 2.0)}, result.messages


def sized(kind: str, count: int):
    """A value of `count` list items, arrays (in a list), array numbers or int digits."""
    return {"list items": lambda: [0] * count, "arrays": lambda: [np.zeros(0)] * count,
            "numbers": lambda: np.zeros(count), "digits": lambda: 10 ** (count - 1)}[kind]()


# the count of each kind of value near its bound: (count, the bound's number); a list of
# arrays counts each twice, as an item of the list and as an array
NEAR = {"list items": (MAX_ITEMS, MAX_ITEMS), "arrays": (MAX_ITEMS // 2, MAX_ITEMS),
        "numbers": (MAX_NUMBERS, MAX_NUMBERS), "digits": (MAX_INT_DIGITS, MAX_INT_DIGITS)}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(NEAR)), over=st.integers(-3, 3), nested=st.integers(0, 3))
def test_a_value_is_read_up_to_its_bounds_and_refused_beyond(kind, over, nested):
    """Far above any answer, a value is refused, before the part beyond the bound is read: an
    int of 5,000 digits could not be sent as JSON (the kernel's report failed), a list of
    1,200,000 items, or of 200,000 references to one array (each sent again), cost the kernel
    seconds to gigabytes. When read exactly (a self-check), at most MAX_SHOWN items."""
    near, bound = NEAR[kind]
    count = near + over
    value = sized(kind, count)
    for _ in range(nested):
        value = [value]
    items = nested + {"list items": count, "arrays": 2 * count, "numbers": 1, "digits": 0}[kind]
    if items > MAX_ITEMS or kind in ("numbers", "digits") and count > bound:
        with pytest.raises(TooLarge, match=f"more than {bound:,}"):
            encode(value)
    else:
        assert len(encode(value)) > count // 2
    if items > MAX_SHOWN:
        with pytest.raises(TooLarge, match=f"more than {MAX_SHOWN:,} items"):
            as_graded(value, exact=True, items=MAX_SHOWN)


# ------------------------------------------------------------- hidden_cases, under the grader


def grading_report(expressions: list[str], namespace: dict) -> list[dict]:
    """The cases hidden_cases sends the grader for `expressions` evaluated in `namespace`."""
    import IPython.display

    sent = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(GRADING_ENV, "1")
        patch.setattr(IPython.display, "publish_display_data", sent.append)
        namespace["hidden_cases"] = hidden_cases
        exec(f"hidden_cases('f', {expressions!r})", namespace)  # noqa: S102 - the test's cell
    (message,) = sent
    return message[HIDDEN_MIME]["cases"]


RAISING = sorted(name for name in BEHAVIOURS if name.startswith("raises"))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(HOSTILE)), behaviour=st.sampled_from(RAISING),
       position=st.integers(0, 2))
def test_a_value_that_cannot_be_read_costs_only_its_own_case(kind, behaviour, position):
    """Its case gives no value (or, where the learner's code let it be read, the numbers it
    holds); the cases before and after it give theirs (the grader judges case by case). A list
    of 2**30 aliased leaves was read until the cell's time-out, which cost every case."""
    namespace = {"hostile": lambda: HOSTILE[kind](BEHAVIOURS[behaviour])}
    expressions = ["1.5", "[1, 2]", "'text'"]
    expressions[position] = "hostile()"
    cases = grading_report(expressions, namespace)
    assert len(cases) == 3
    assert "error" in cases[position] or from_jsonable(cases[position]["value"]) is not None
    assert [case for number, case in enumerate(cases) if number != position] == [
        {"value": value} for number, value in enumerate([1.5, [1, 2], "text"])
        if number != position]


class LyingError(ValueError, metaclass=LyingMeta):
    pass


def test_an_exception_whose_class_lies_about_its_name_costs_only_its_own_case():
    def raises():
        raise LyingError("no")

    cases = grading_report(["raises()", "2"], {"raises": raises})
    assert cases == [{"error": "raised LyingError"}, {"value": 2}]



@pytest.mark.parametrize("raised", ["SystemExit('done')", "GeneratorExit()", "Exit()"])
def test_an_exception_outside_exception_s_family_costs_only_its_own_case(raised):
    """An answer that calls sys.exit() (or raises another BaseException of its own) in one case:
    that case gives no value, the others theirs (SystemExit left hidden_cases, and the grader lost
    every case of the cell). A KeyboardInterrupt, the grader's time-out, still stops the cases."""
    namespace = {"Exit": type("Exit", (BaseException,), {})}
    exec(f"def raises():\n    raise {raised}\n", namespace)  # noqa: S102 - the test's answer
    cases = grading_report(["1.5", "raises()", "[1, 2]"], namespace)
    assert cases[0] == {"value": 1.5} and cases[2] == {"value": [1, 2]}
    assert cases[1] == {"error": f"raised {raised.split('(')[0]}"}

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grading_report(["interrupted()", "2"], {"interrupted": interrupted})
