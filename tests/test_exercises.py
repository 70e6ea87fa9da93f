"""course_lib.exercises: a learner's error becomes an AssertionError that says what it means."""

import string
import sys
import types

import numpy as np
import pytest
from hostile_values import BEHAVIOURS, HOSTILE, LyingMeta
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import exercises
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


@settings(deadline=None)
@given(st.sampled_from([IndexError, ValueError, TypeError, ZeroDivisionError, KeyError]),
       st.text(max_size=30))
def test_any_common_error_gets_a_general_meaning(kind, text):
    def fails():
        raise kind(text)

    with pytest.raises(AssertionError) as caught:
        call(fails, explain={"OSError": "not this one"})
    assert str(caught.value) == GENERAL_MEANINGS[kind.__name__]


def test_an_exit_is_a_failure_in_plain_words_and_an_interrupt_stops_the_check(capsys):
    """sys.exit() in a learner's function (SystemExit, outside Exception's family) left call and
    stopped the check cell with the learner's own exception; a KeyboardInterrupt is the learner
    stopping the cell, and stops it still."""
    def exits():
        sys.exit("done")

    with pytest.raises(AssertionError) as caught:
        call(exits)
    assert str(caught.value) == GENERAL_MEANINGS["SystemExit"]
    assert "exits raised SystemExit: done" in capsys.readouterr().out

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call(interrupted)


def test_an_unusual_error_is_named():
    def fails():
        raise RuntimeError("odd")

    with pytest.raises(AssertionError, match="your code raised RuntimeError"):
        call(fails)


# ---------------------------------------------------------- the value, as the grader reads it

plain_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=5),
    st.builds(np.float32, st.floats(-1e3, 1e3, width=32)), st.builds(np.int64, st.integers(-9, 9)),
    st.builds(lambda values: np.array(values), st.lists(st.floats(-1e3, 1e3), max_size=6)),
    st.builds(lambda values: np.array(values, dtype=np.int32), st.lists(st.integers(-9, 9))),
)
plain_values = st.recursive(plain_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=3), inner, max_size=2)), max_leaves=8)


def same_plain(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if type(a) in (list, tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_plain, a, b))
    if type(a) is dict:
        return type(b) is dict and a.keys() == b.keys() and all(same_plain(a[k], b[k]) for k in a)
    return type(a) is type(b) and (a == b or a != a and b != b)  # noqa: PLR0124 - NaN


@settings(max_examples=200, deadline=None)
@given(plain_values)
def test_a_check_sees_the_value_the_grader_compares(value):
    """call returns what the grader rebuilds from the kernel's report (protocol.decode): fresh
    arrays and Python numbers, tuples kept as tuples."""
    from autograder.protocol import decode, encode

    seen = call(lambda: value)
    assert same_plain(seen, decode(encode(value)))
    if isinstance(value, np.ndarray):
        assert seen is not value, "a fresh array: the learner's own object never reaches a check"


class Subclass(np.ndarray):
    pass


class AlwaysEqual(float):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [
    np.arange(3.0).view(Subclass), np.ma.masked_array([1.0, 2.0]), np.array([1.0], dtype=object),
    AlwaysEqual(1.0), [np.arange(2).view(Subclass)], {"a": object()}, np.array(["a"]),
    (1, AlwaysEqual(2.0)),
])
def test_a_value_the_grader_cannot_read_fails_the_check_with_what_to_return(value):
    with pytest.raises(AssertionError, match="which is not plain data: return plain values"):
        call(lambda: value)


@pytest.mark.parametrize(("value", "message"), [
    (None, "returned None"), ((np.zeros(2), None), "not an array of numbers"),
    ([[1.0], [2.0, 3.0]], "not an array of numbers"), ("text", "not an array of numbers"),
    ([1.0, None], "returned None among its numbers"), (10**400, "too large for a float"),
    ([2.0, 10**400], "too large for a float"),
])
def test_a_check_that_computes_gets_numbers_or_says_what_to_return(value, message):
    with pytest.raises(AssertionError, match=message):
        call(lambda: value, floats=True)
    assert call(lambda: [1, 2], floats=True).dtype == np.float64


@pytest.mark.parametrize(("value", "holds"), [
    (np.arange(3, dtype=np.uint8), "0 .. 255 (none below 0"),
    (np.arange(3, dtype=np.int8), "-128 .. 127"),
    (np.arange(3, dtype=np.int16), "-32,768 .. 32,767"),
    (np.arange(3, dtype=np.uint64), "none below 0"),
    ((np.zeros(2), [np.arange(2, dtype=np.uint16)]), "0 .. 65,535"),
    (np.full(2, 0.1, dtype=np.float16), "3 significant digits"),
    ([np.float16(0.1)], "3 significant digits"), (np.uint8(7), "0 .. 255"),
], ids=["uint8", "int8", "int16", "uint64", "nested uint16", "float16", "a float16 scalar",
        "a uint8 scalar"])
def test_numbers_in_a_narrow_type_fail_the_check_saying_what_the_type_holds(value, holds):
    """Token ids in uint8 hold a check's small ids and wrap round the grader's (a vocabulary of
    1,024): make_pairs passed its self-check and failed the hidden cases. Every numpy type
    narrower than the exercises need fails, in words naming the type and what it holds."""
    with pytest.raises(AssertionError, match="numbers of type") as caught:
        call(lambda: value)
    assert holds in str(caught.value) and "int64" in str(caught.value)


@pytest.mark.parametrize(("value", "kind"), [
    (list(range(1_001)), "more than 1,000 items"), ([(102, 103)] * 1_200_000, "more than 1,000"),
    ([np.zeros(2)] * 600, "more than 1,000 items"), (np.zeros(10**6), "more than 500,000 numbers"),
    ([3, 10**5000], "an int of more than 4,000 digits"),
], ids=["1,001 ints", "1,200,000 merges", "600 arrays", "a million numbers", "5,000 digits"])
def test_a_value_far_larger_than_any_answer_fails_saying_so(value, kind):
    """A check's message that shows the value (`got {merges}`) ran to 14 MB for 1,200,000
    merges, and raised Python's own ValueError for an int of 5,000 digits (more than str
    converts)."""
    with pytest.raises(AssertionError) as caught:
        call(lambda: value, ids=True)
    before, after = exercises.TOO_LARGE.split("{kind}")
    message = str(caught.value)
    assert message.startswith(before + kind) and message.endswith(after) and len(message) < 300


@pytest.mark.parametrize("value", [np.arange(3, dtype=np.int32), np.arange(3), np.float32(0.5),
                                   np.zeros(2, dtype=np.float32), np.array([True]),
                                   np.zeros(2, dtype=np.longdouble)],
                         ids=["int32", "int64", "a float32 scalar", "float32", "bool",
                              "longdouble"])
def test_the_types_the_exercises_compute_with_pass(value):
    assert call(lambda: value) is not None


numbers_or_not = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=2), st.builds(lambda power: 10**power, st.integers(300, 400))),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner)), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(numbers_or_not)
def test_a_check_that_computes_gets_the_numbers_or_one_of_call_s_messages(value):
    """Never another error (an int too large for a float raised OverflowError), and None is no
    number (numpy reads it as NaN)."""
    try:
        array = call(lambda: value, floats=True)
    except AssertionError as error:
        assert fills_a_message_of_call(str(error)), str(error)
        return
    assert array.dtype == np.float64 and not np.isnan(array).any()


# ------------------------------------------------------------------ time, errors and libraries


def only_going_on_after_dropped_exceptions(patch: pytest.MonkeyPatch) -> None:
    """An exception a `__del__` drops goes to sys.unraisablehook, and the time limit's next raise
    can land in the hook itself. A kernel's hook prints and goes on; pytest's reports a failure
    of its own (seen in CI), so the tests of the limit use a hook that only goes on."""
    patch.setattr(sys, "unraisablehook", lambda unraisable: None)


@pytest.mark.parametrize("body", ["time.sleep(100)", "while True:\n        pass",
                                  "while True:\n        try:\n            time.sleep(100)\n"
                                  "        except Exception:\n            pass",
                                  "while True:\n        Finalised()"])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped one
def test_a_function_that_never_returns_is_stopped(body, monkeypatch):
    """Stopped within the time limit, even where the limit's exception first lands in a
    `__del__` (the last body's objects), which Python drops."""
    import time

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    only_going_on_after_dropped_exceptions(monkeypatch)
    namespace = {"time": time, "Finalised": type("Finalised", (), {"__del__": lambda self: None})}
    exec(f"def endless():\n    {body}\n", namespace)  # noqa: S102 - the test's own function
    started = time.monotonic()
    with pytest.raises(AssertionError, match="ran for more than"):
        call(namespace["endless"])
    assert time.monotonic() - started < 5


def test_a_timer_running_outside_is_kept():
    import signal

    signal.setitimer(signal.ITIMER_REAL, 50.0)
    try:
        assert call(lambda: 2) == 2
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 40 < remaining <= 50
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_a_huge_error_message_is_printed_cut(capsys):
    def fails():
        raise ValueError("x" * 1_000_000)

    with pytest.raises(AssertionError):
        call(fails)
    printed = capsys.readouterr().out
    assert len(printed) < exercises.MAX_PRINTED + 200 and "more characters" in printed


def test_an_error_whose_message_cannot_be_read_is_named(capsys):
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def fails():
        raise Odd

    with pytest.raises(AssertionError, match="your code raised Odd"):
        call(fails)
    assert "Odd: (its message could not be read)" in capsys.readouterr().out


@pytest.mark.parametrize("replace", [
    "np.allclose = lambda *a, **k: True",
    "np.testing.assert_allclose = lambda *a, **k: None",
    "builtins.isinstance = lambda *a: True",
    "course_lib.losses.softmax = lambda z, axis=-1: z",
])
def test_a_replaced_library_function_is_put_back_and_fails_the_check(replace):
    import builtins

    import course_lib.losses

    originals = (np.allclose, np.testing.assert_allclose, builtins.isinstance,
                 course_lib.losses.softmax)
    namespace = {"np": np, "builtins": builtins, "course_lib": course_lib}

    def cheat():
        exec(replace, namespace)  # noqa: S102 - the test's own cheat
        return 1.0

    with pytest.raises(AssertionError, match="your code replaced"):
        call(cheat)
    assert (np.allclose, np.testing.assert_allclose, builtins.isinstance,
            course_lib.losses.softmax) == originals


def test_a_function_that_prints_megabytes_shows_a_bounded_part(capsys):
    assert call(lambda: print("x" * 5_000_000) or 3) == 3
    printed = capsys.readouterr().out
    assert len(printed) < exercises.MAX_OUTPUT + 100 and "more characters of output" in printed
    assert call(lambda: print("short") or 4) == 4
    assert capsys.readouterr().out == "short\n"


def test_a_function_that_writes_megabytes_to_the_standard_error_shows_a_bounded_part(capsys):
    """The standard error shares the standard output's bound (in a kernel, a warning's text goes
    there too: a warning made to show every time, in a loop, writes megabytes)."""
    assert call(lambda: print("e" * 5_000_000, file=sys.stderr) or 5) == 5
    written = capsys.readouterr()
    assert len(written.out) + len(written.err) < exercises.MAX_OUTPUT + 100
    assert "more characters of output" in written.out


@given(st.sampled_from(exercises.MESSAGES), st.text(max_size=40))
def test_the_feedback_page_shows_every_message_call_can_fail_with(template, field):
    """The grader shows a failed check's message only when it is course text: call's own
    messages are, with what the learner's code put in them shown as "…"."""
    from autograder.grader.judge import FIELD, visible_error
    from autograder.grader.plan import Step

    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    message = template.format(**dict.fromkeys(names, field))
    shown = visible_error(Step("test", "t", "assert ok"), f"AssertionError: {message}")
    assert shown == "AssertionError: " + template.format(**dict.fromkeys(names, FIELD))


# ------------------------------------------------ what the learner's code can do to the check


def fills_a_message_of_call(message: str) -> bool:
    """True if `message` is one of call's own messages, its fields filled with anything."""
    from autograder.grader.judge import fills_template, shared_templates

    return any(fills_template(parts, message) for parts in shared_templates())


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(HOSTILE)), st.sampled_from(sorted(BEHAVIOURS)))
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see below
def test_a_value_whose_reading_runs_the_learner_s_code_fails_in_plain_words(kind, behaviour):
    """Reading the value (its class's own code raising or never returning, or far more data
    than its size) fails the check with one of call's messages, within the time limit (whose
    first exception often lands in hypothesis's garbage-collector callback, which drops it)."""
    import time

    value = HOSTILE[kind](BEHAVIOURS[behaviour])
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exercises, "TIME_LIMIT", 0.2)
        only_going_on_after_dropped_exceptions(patch)
        with pytest.raises(AssertionError) as caught:
            call(lambda: value)
    assert fills_a_message_of_call(str(caught.value)), str(caught.value)
    assert time.monotonic() - started < 5


class LyingError(KeyError, metaclass=LyingMeta):
    pass


class NamelessFunction:
    """A callable whose __name__ raises."""

    __name__ = property(lambda self: 1 / 0)

    def __call__(self):
        return 2.0


def test_a_function_or_an_error_whose_class_lies_about_its_name_is_still_read(capsys):
    assert call(NamelessFunction()) == 2.0

    def fails():
        raise LyingError("no")

    with pytest.raises(AssertionError) as caught:
        call(fails)
    assert str(caught.value) == GENERAL_MEANINGS["KeyError"]
    assert "raised LyingError" in capsys.readouterr().out


@pytest.mark.parametrize("entry", [3, None, "numpy", type("Odd", (types.ModuleType,), {
    "__dict__": property(lambda self: 1 / 0)})("numpy.odd")])
def test_something_else_than_a_module_under_a_watched_name_is_no_error_of_the_check(entry):
    """sys.modules may hold anything under numpy.*, course_lib.* (the learner's code put it
    there): the checks go on, and still find a library function replaced."""
    import sys

    sys.modules["numpy.odd"] = entry
    try:
        assert call(lambda: 1.5) == 1.5
        with pytest.raises(AssertionError, match="your code replaced numpy.allclose"):
            call(lambda: setattr(np, "allclose", lambda *a, **k: True))
    finally:
        del sys.modules["numpy.odd"]


# ---------------------------------------------------------------- the caller's data, in place


def _data(leaves):
    """Arguments as checks pass them: arrays of numbers, lists, tuples and dicts of them."""
    arrays = st.builds(lambda n, seed, dtype: np.random.default_rng(seed).normal(size=n)
                       .astype(dtype), st.integers(1, 5), st.integers(0, 99),
                       st.sampled_from([np.float64, np.float32, np.int64]))  # fmt: skip
    return st.recursive(arrays | leaves, lambda inner: st.lists(inner, min_size=1, max_size=3)
                        | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=2), inner,
                                                                     min_size=1, max_size=3),
                        max_leaves=6)  # fmt: skip


def _mutable_places(value, path=()):
    """Every place in `value` a function could change in place: (path, kind)."""
    if isinstance(value, np.ndarray):
        yield path, "array"
    elif isinstance(value, list):
        yield path, "list"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _mutable_places(item, (*path, i))
    elif isinstance(value, dict):
        yield path, "dict"
        for key, item in value.items():
            yield from _mutable_places(item, (*path, key))


@settings(max_examples=200, deadline=None)
@given(argument=_data(st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=3)),
       pick=st.integers(0, 99), as_keyword=st.booleans())  # fmt: skip
def test_a_function_that_changes_the_data_it_was_given_fails_the_check(argument, pick,
                                                                       as_keyword):
    """Whatever the nesting, a change in place anywhere in an argument fails the check (a check's
    expected values may share that data); reading it and returning a new value passes."""
    places = list(_mutable_places(argument))
    if not places:  # a tuple of immutable values: nothing to change
        return
    path, kind = places[pick % len(places)]

    def change(data):
        for step in path:
            data = data[step]
        if kind == "array":
            data[0] = data[0] + 1 if data.dtype.kind == "i" else np.nan if data[0] == 1 else 1
        elif kind == "list":
            data.append(0)
        else:
            data["changed"] = 0
        return 1

    def read(data):
        return 1

    call_with = (lambda f: call(f, data=argument)) if as_keyword else \
        (lambda f: call(f, argument))  # fmt: skip
    assert call_with(read) == 1
    with pytest.raises(AssertionError, match="changed its (1st|`data`) argument"):
        call_with(lambda data: change(data))


def test_a_check_names_what_a_change_in_place_means_in_its_exercise():
    logits = np.array([2.0, 1.0, 0.1])

    def softmax_in_place(z):
        z -= z.max()
        return np.exp(z) / np.exp(z).sum()

    with pytest.raises(AssertionError, match="^work on a copy: z - z.max"):
        call(softmax_in_place, logits, in_place="work on a copy: z - z.max()")
    logits = np.array([2.0, 1.0, 0.1])
    with pytest.raises(AssertionError, match="changed its 1st argument, the caller's data"):
        call(softmax_in_place, logits)


def test_a_nan_left_as_it_was_is_no_change_and_objects_are_not_compared():
    model = types.SimpleNamespace(weights=np.zeros(2))

    def train(model, data):
        model.weights += 1  # an object's own state: not the check's data to compare
        return float(np.nansum(data[0]))

    assert call(train, model, [np.array([np.nan, 1.0]), float("nan")]) == 1.0


def test_a_function_that_refills_what_it_returned_before_fails_the_check():
    """A list kept between calls and filled again: each check reads its value at once and
    passes, but a caller that holds two results ([f(a), f(b)], as a hidden case may) sees the
    last one twice."""
    kept = []

    def new_tokens(n):
        kept[:] = range(n)
        return kept

    assert call(new_tokens, 2) == [0, 1]
    with pytest.raises(AssertionError) as caught:
        call(new_tokens, 3)
    assert str(caught.value) == exercises.REUSED


def test_only_the_learner_s_code_can_make_a_result_reused():
    """A result that is the caller's own array (returned as given), which the caller then
    changes, or a kept value nobody changes, is no reuse."""
    given = np.arange(3.0)
    constant = [1, 2]
    assert call(np.asarray, given).tolist() == [0.0, 1.0, 2.0]
    given += 1  # the caller's own change, between the calls
    assert call(lambda: constant) == [1, 2]
    assert call(lambda: constant) == [1, 2]


@pytest.mark.parametrize(("value", "kind"), [
    ([3, 1.0], "a float"), ([3, True], "a bool"), ([(102, 103), (261, 103.0)], "a float"),
    ((np.arange(2), np.zeros(2)), "an array of float64"), ([1, None], "None"),
    ({"ids": [1, "2"]}, "a str"),
], ids=["a float", "a bool", "a float in a pair", "a float array", "None", "text in a dict"])
def test_token_ids_that_are_not_ints_fail_the_check_saying_what_they_hold(value, kind):
    """Greedy ids as floats (argmax of an array of floats kept as float) passed Exercise 2.2's
    `out == [3, 1, 2, 4]` and then crashed its check with the tokenizer's own TypeError when it
    decoded them; True for the id 1 passed that check and failed the grader."""
    with pytest.raises(AssertionError) as caught:
        call(lambda: value, ids=True)
    assert str(caught.value) == exercises.NOT_IDS.format(kind=kind)
    with pytest.raises(AssertionError, match="returned None"):
        call(lambda: None, ids=True)
    ids = [(1, 2), np.arange(3), [np.int64(4)], {"a": 5}]
    assert same_plain(call(lambda: ids, ids=True), [(1, 2), np.arange(3), [4], {"a": 5}])


def test_floats_as_lists_larger_than_a_message_shows_are_read_like_an_array():
    """A check that turns the value into an array of floats reads as many items as the grader
    does: Exercise 5.4's logits as nested lists (12,000 numbers) are not 'far more than the
    answer'. A value a check may show as it is stays bounded by MAX_SHOWN."""
    answer = np.arange(2 * 3 * 2000).reshape(2, 3, 2000)
    np.testing.assert_array_equal(exercises.call(lambda: answer.tolist(), floats=True), answer)
    for keyword in ({}, {"ids": True}):
        with pytest.raises(AssertionError, match="far more than this exercise's answer"):
            exercises.call(lambda: answer.tolist(), **keyword)
