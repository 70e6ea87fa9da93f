"""The learners' self-checks and the grader agree, whatever a learner writes.

For every coding exercise of Chapters 1-5, an answer is the instructor's solution with one of
its functions changed the way learners change them (ANSWER_KINDS): right answers in other forms
(a view, a numpy scalar, an int32 array, a small rounding error), wrong values that look right
(every float scaled, an integer array rolled, one entry NaN, a transposed or padded array),
odd objects (ndarray subclasses, masked and object arrays, an array whose comparisons always say
yes), and misbehaving code (raising with a huge message, looping without end, replacing numpy's
functions). ChapterRun runs the exercise's test cell on it in this process, as the grader's
kernel does: its visible checks, then its hidden cases, compared with the solution's values by
the grader's own compare. The properties, over answers hypothesis draws:

- a self-check never passes an answer the hidden cases fail (a learner who sees "passed" keeps
  the points), and the right forms pass both;
- every answer the self-check fails gets an AssertionError with a message of the check's own
  words (never an error the check's own code raised on an odd value), which the feedback page
  shows too (grader.judge.visible_error);
- no answer makes a self-check run longer than course_lib.exercises.TIME_LIMIT per call, or pass
  by lying.

The self-check cannot see what only the hidden cases try (inputs of the grader's own: an answer
right only on the visible examples): its last line says so (test_the_pass_line_says_what_it_did_
not_check). Quiz answers: the answer cell's check and the grader read an answer alike.
"""

from __future__ import annotations

import functools
import itertools
import sys
import time

import chapter_harness as harness
import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wrong_messages import ChapterRun, defined_functions, hidden_verdict

from autograder.grader.judge import visible_error
from autograder.grader.plan import Step
from autograder.protocol import LazyData, as_graded, decode, encode, lazy_kind
from course_lib import exercises
from course_lib.quiz import as_choice

CHAPTERS = ("ch1_base_models", "ch2_autoregression", "ch3_pretraining_objective",
            "ch4_mle_finetuning", "ch5_inside_the_transformer")


@functools.cache
def chapter(name: str) -> tuple:
    """(its ChapterRun, {exercise id: the solution's code}) of a chapter."""
    source = nbformat.read(harness.source_path(name), as_version=4)
    keys = {gid: code for gid, code in harness.answer_keys(source).items() if gid.startswith("ex")}
    return ChapterRun(source), keys


EXERCISES = [(name, exercise) for name in CHAPTERS for exercise in chapter(name)[1]]


@functools.cache
def reference_values(name: str, exercise: str) -> list:
    run, keys = chapter(name)
    verdicts = run.run(exercise, keys[exercise])
    assert verdicts.visible is None, verdicts.visible
    return verdicts.hidden


# ------------------------------------------------------------------ what a learner's value becomes


def each_leaf(value, change):
    """`value` with `change` applied to every array and number in it (containers kept)."""
    if type(value) in (list, tuple):
        return type(value)(each_leaf(item, change) for item in value)
    return change(value)


def floats_scaled(factor: float):
    def change(leaf):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f":
            return leaf * factor
        return leaf * factor if type(leaf) is float else leaf
    return change


def one_entry(replacement: float):
    """The first float entry of the value set to `replacement` (NaN, inf)."""
    def change(leaf):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f" and leaf.size:
            leaf = leaf.copy()
            leaf.flat[0] = replacement
            return leaf
        return replacement if type(leaf) is float else leaf
    return change


def arrays(change):
    return lambda leaf: change(leaf) if isinstance(leaf, np.ndarray) else leaf


class Subclass(np.ndarray):
    """An ndarray subclass that changes nothing."""


class Liar(np.ndarray):
    """An array whose comparisons and numpy functions always say yes."""

    def __eq__(self, other):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True


class AlwaysEqual(float):
    def __eq__(self, other):
        return True


def lying(leaf):
    if isinstance(leaf, np.ndarray):
        return leaf.view(Liar)
    return AlwaysEqual(leaf) if type(leaf) is float else leaf


def integers(dtype):
    """An integer array held in `dtype` instead (wrapped round where its values do not fit, as
    numpy's astype wraps them): the change of a learner who stores ids in a narrow type."""
    return lambda leaf: leaf.astype(dtype) if leaf.dtype.kind in "iu" else leaf


def bools_for_0_and_1(leaf):
    """The ints 0 and 1 as False and True, an integer array of only 0s and 1s as booleans (a
    comparison's result kept as the id: True == 1, but it is no token id)."""
    if type(leaf) is int and leaf in (0, 1):
        return bool(leaf)
    if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "iu" and np.isin(leaf, (0, 1)).all():
        return leaf.astype(bool)
    return leaf


def wrong_sequence(value):
    """A list of ints or pairs with its last item dropped (an off-by-one)."""
    return value[:-1] if type(value) is list and value else value


def same(value, other) -> bool:
    """True if a learner's changed value is the very value it replaced (same types, same
    numbers): a change that changes nothing leaves the right answer."""
    if type(value) is not type(other):
        return False
    if type(value) in (list, tuple):
        return len(value) == len(other) and all(map(same, value, other))
    if isinstance(value, np.ndarray):
        return value.dtype == other.dtype and np.array_equal(value, other, equal_nan=True)
    return value == other or value != value and other != other  # noqa: PLR0124 - NaN


# Each kind of answer: (what the learner's function returns instead of `value`, given the
# grader's relative tolerance for the exercise; whether it is right, so both verdicts must pass,
# wrong, so the self-check must fail (and the grader with it), or either, so only the agreement
# is held). A wrong kind that changes nothing in a value (no float to scale) leaves it right.
RIGHT, WRONG, EITHER = "right", "wrong", "either"
ANSWER_KINDS = {
    "a view of the array": (lambda value, rtol: each_leaf(value, arrays(lambda a: a[...])), RIGHT),
    "a Fortran-ordered array": (lambda value, rtol: each_leaf(value, arrays(np.asfortranarray)),
                                RIGHT),
    "numpy scalars for Python numbers": (lambda value, rtol: each_leaf(
        value, lambda leaf: np.float64(leaf) if type(leaf) is float else leaf), RIGHT),
    "int32 for int64 arrays": (lambda value, rtol: each_leaf(value, arrays(
        lambda a: a.astype(np.int32) if a.dtype.kind == "i" else a)), RIGHT),
    "off by a tenth of the tolerance": (lambda value, rtol: each_leaf(
        value, floats_scaled(1 + rtol / 10)), RIGHT),
    "off by ten times the tolerance": (lambda value, rtol: each_leaf(
        value, floats_scaled(1 + rtol * 10)), EITHER),
    "every float 1% off": (lambda value, rtol: each_leaf(value, floats_scaled(1.01)), WRONG),
    "every float doubled": (lambda value, rtol: each_leaf(value, floats_scaled(2.0)), WRONG),
    "the first float NaN": (lambda value, rtol: each_leaf(value, one_entry(np.nan)), WRONG),
    "the first float infinite": (lambda value, rtol: each_leaf(value, one_entry(np.inf)), WRONG),
    "an ndarray subclass": (lambda value, rtol: each_leaf(
        value, arrays(lambda a: a.view(Subclass))), WRONG),
    "a masked array": (lambda value, rtol: each_leaf(value, arrays(np.ma.masked_array)), WRONG),
    "an array of objects": (lambda value, rtol: each_leaf(
        value, arrays(lambda a: a.astype(object))), WRONG),
    "values that always compare equal": (lambda value, rtol: each_leaf(value, lying), WRONG),
    "None": (lambda value, rtol: None, WRONG),
    "an extra leading axis": (lambda value, rtol: each_leaf(value, arrays(lambda a: a[None])),
                              WRONG),
    "the value and None, as a pair": (lambda value, rtol: (value, None), WRONG),
    "the last item dropped": (lambda value, rtol: wrong_sequence(value), EITHER),
    "lists for arrays": (lambda value, rtol: each_leaf(value, arrays(lambda a: a.tolist())),
                         EITHER),
    "float32 for float64": (lambda value, rtol: each_leaf(value, lambda leaf: (
        leaf.astype(np.float32) if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f"
        else np.float32(leaf) if type(leaf) is float else leaf)), EITHER),
    "a 0-d array for a number": (lambda value, rtol: each_leaf(
        value, lambda leaf: np.array(leaf) if type(leaf) is float else leaf), EITHER),
    "a list for a tuple": (lambda value, rtol: list(value) if type(value) is tuple else value,
                           EITHER),
    "the axes reversed": (lambda value, rtol: each_leaf(value, arrays(lambda a: a.T)), EITHER),
    "an empty array of the same dimensions": (lambda value, rtol: each_leaf(
        value, arrays(lambda a: a[:0] if a.ndim else a)), WRONG),
    "text for numbers": (lambda value, rtol: each_leaf(value, lambda leaf: (
        str(leaf) if type(leaf) in (int, float) else leaf.astype(str)
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "iuf" else leaf)), WRONG),
    "uint8 for int64 arrays": (lambda value, rtol: each_leaf(value, arrays(integers(np.uint8))),
                               WRONG),
    "int16 for int64 arrays": (lambda value, rtol: each_leaf(value, arrays(integers(np.int16))),
                               WRONG),
    "uint64 for int64 arrays": (lambda value, rtol: each_leaf(value, arrays(integers(np.uint64))),
                                WRONG),
    "bools for the ints 0 and 1": (lambda value, rtol: each_leaf(value, bools_for_0_and_1),
                                   EITHER),
    "floats for int ids": (lambda value, rtol: each_leaf(
        value, lambda leaf: float(leaf) if type(leaf) is int else leaf), WRONG),
    "float16 for float64": (lambda value, rtol: each_leaf(value, lambda leaf: (
        leaf.astype(np.float16) if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f"
        else np.float16(leaf) if type(leaf) is float else leaf)), WRONG),
}


def returning(kind: str, rtol: float, changes: list):
    """A wrap for ChapterRun.run: the named function returns its value changed by `kind`;
    `changes` collects whether each call's value changed."""
    change, _ = ANSWER_KINDS[kind]

    def wrap(namespace, name):
        original = namespace[name]

        @functools.wraps(original)
        def changed(*args, **kwargs):
            value = original(*args, **kwargs)
            new = change(value, rtol)
            changes.append(not same(new, value))
            return new
        namespace[name] = changed
    return wrap


def misbehaving(behaviour: str):
    """A wrap: the named function raises with a huge message, loops without end, or replaces
    numpy's comparisons (so that any comparison passes) and returns a wrong value."""
    def wrap(namespace, name):
        original = namespace[name]

        @functools.wraps(original)
        def changed(*args, **kwargs):
            if behaviour == "raises with a huge message":
                raise ValueError("x" * 10_000_000)
            if behaviour == "loops without end":
                while True:
                    time.sleep(0.01)
            np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
            return each_leaf(original(*args, **kwargs), floats_scaled(3.0))
        namespace[name] = changed
    return wrap


MISBEHAVIOURS = ("raises with a huge message", "loops without end", "replaces numpy's checks")


def mutating(first: bool, changes: list):
    """A wrap: the named function changes the caller's first array or list argument in place (1
    added to an array, a list reversed), before (`first`) or after computing its value, which
    it returns; `changes` records whether there was one to change."""
    def wrap(namespace, name):
        original = namespace[name]

        def change(args):
            for argument in args:
                if isinstance(argument, np.ndarray) and argument.flags.writeable:
                    argument += 1
                    return True
                if type(argument) is list and len(argument) > 1:
                    argument.reverse()
                    return True
            return False

        @functools.wraps(original)
        def changed(*args, **kwargs):
            if first:
                changes.append(change(args))
            value = original(*args, **kwargs)
            if not first:
                changes.append(change(args))
            return value
        namespace[name] = changed
    return wrap


def refilling(changes: list):
    """A wrap: the named function returns its value's arrays and lists (or the value itself)
    in objects it keeps between calls, filled again at each call when the shape allows (a
    module-level cache); `changes` records whether a kept object was handed out again."""
    def wrap(namespace, name):
        original = namespace[name]
        kept: dict = {}

        def keep(leaf, key):
            """The object kept under `key` filled with `leaf`, if it can hold it; else `leaf`
            (an array copied), kept from now on."""
            held = kept.get(key)
            if isinstance(leaf, np.ndarray) and isinstance(held, np.ndarray) and \
                    (held.shape, held.dtype) == (leaf.shape, leaf.dtype):  # fmt: skip
                held[...] = leaf
            elif type(leaf) is list and type(held) is list:
                held[:] = leaf
            else:
                kept[key] = leaf.copy() if isinstance(leaf, np.ndarray) else leaf
                return kept[key]
            changes.append(True)
            return held

        @functools.wraps(original)
        def changed(*args, **kwargs):
            value = original(*args, **kwargs)
            if type(value) is tuple:
                return tuple(keep(item, position) for position, item in enumerate(value))
            return keep(value, "value")
        namespace[name] = changed
    return wrap


def tolerance(name: str, exercise: str) -> float:
    """The grader's smallest relative tolerance among the exercise's hidden cases."""
    return min(tolerances["rtol"] for _, tolerances in reference_values(name, exercise))


def verdicts_of(name: str, exercise: str, which: int, wrap):
    run, keys = chapter(name)
    code = keys[exercise]
    functions = defined_functions(code)
    target = functions[which % len(functions)]
    return run.run(exercise, code, lambda namespace: wrap(namespace, target)), target


def check_agreement(name, exercise, verdicts, expected, label):
    """The properties of the module's docstring, for one answer: the self-check's verdict is
    the grader's (which also runs the visible checks, so it fails what they fail: the self-check
    must not pass what the hidden cases fail); `expected` RIGHT: both pass; WRONG: the self-check
    fails; every failure is an AssertionError with a message."""
    hidden_passed = hidden_verdict(reference_values(name, exercise), verdicts.hidden)
    visible = verdicts.visible
    where = f"{exercise}, {label}"
    if visible is not None:
        assert type(visible) is AssertionError and str(visible).strip(), (
            f"{where}: the self-check failed with {type(visible).__name__}: {visible!s:.300}, "
            "not an AssertionError saying what was wrong")
        run, _ = chapter(name)
        test_id = "test_" + exercise
        step = Step("test", test_id, run.visible[test_id])
        shown = visible_error(step, f"AssertionError: {visible}")
        assert "run the checks in your notebook" not in shown, (
            f"{where}: the feedback page cannot show the check's message {visible!s:.300}")
    assert visible is not None or hidden_passed, (
        f"{where}: the self-check passes an answer the hidden cases fail")
    if expected == RIGHT:
        assert visible is None and hidden_passed, (
            f"{where}: a right answer fails (self-check: {visible!s:.300}; hidden cases pass: "
            f"{hidden_passed})")
    if expected == WRONG:
        assert visible is not None, f"{where}: the self-check passes a wrong answer"


def check_answer(exercise: tuple[str, str], kind: str, which: int) -> None:
    """Function number `which` of the exercise's solution returns its value changed by `kind`:
    the verdicts agree."""
    name, exercise_id = exercise
    changes: list[bool] = []
    wrap = returning(kind, tolerance(name, exercise_id), changes)
    verdicts, target = verdicts_of(name, exercise_id, which, wrap)
    expected = ANSWER_KINDS[kind][1] if any(changes) else RIGHT
    check_agreement(name, exercise_id, verdicts, expected, f"{target}: {kind}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exercise=st.sampled_from(EXERCISES), kind=st.sampled_from(sorted(ANSWER_KINDS)),
       which=st.integers(0, 2))
def test_a_self_check_and_the_grader_agree_on_any_value(exercise, kind, which):
    check_answer(exercise, kind, which)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("kind", sorted(ANSWER_KINDS))
def test_every_exercise_and_kind_of_answer(exercise, kind):
    """Every pair once, on the exercise's first function (the property above draws the rest)."""
    check_answer(exercise, kind, 0)


NARROW_KINDS = ("uint8 for int64 arrays", "int16 for int64 arrays", "uint64 for int64 arrays",
                "float16 for float64")


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("kind", NARROW_KINDS)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_numbers_in_a_narrow_type_fail_the_self_check_naming_the_type(exercise, kind, which):
    """Token ids in uint8 (wrapped round on the grader's vocabulary of 1,024) or probabilities in
    float16 (3 digits): the self-check says which type, what it holds and what to return
    (exercises.NARROW), rather than passing (make_pairs in uint8) or naming a mistake the learner
    did not make ("each row must sum to 1, got row sums [1. 0.9998 1.]")."""
    name, exercise_id = exercise
    changes: list[bool] = []
    verdicts, target = verdicts_of(name, exercise_id, which,
                                   returning(kind, tolerance(name, exercise_id), changes))
    if any(changes):
        assert type(verdicts.visible) is AssertionError, f"{target}: {kind} passed"
        assert str(verdicts.visible).startswith("your function's value has numbers of type"), (
            f"{target}: {kind}: {verdicts.visible}")


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("first", [True, False], ids=["then computes", "after computing"])
def test_changing_the_callers_input_fails_the_self_check(exercise, first):
    """A function that changes its caller's array or list, before computing its value (a wrong
    value, which a check comparing with a view of that input could take for right) or after:
    the self-check fails it, whatever the hidden cases say (course_lib.exercises.call)."""
    name, exercise_id = exercise
    changes: list[bool] = []
    verdicts, target = verdicts_of(name, exercise_id, 0, mutating(first, changes))
    expected = WRONG if any(changes) else RIGHT
    check_agreement(name, exercise_id, verdicts, expected, f"{target}: changes its input")


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_handing_out_a_kept_result_again_fails_the_self_check(exercise, which):
    """A function that returns lists or arrays it keeps between calls and fills again (a
    module-level cache): each check reads its value at once, but a hidden case holding two
    results, [generate_greedy(model, p, 3) for p in prompts], saw the last one twice (Exercise
    2.2 passed its self-check and lost the case). The self-check fails it in plain words
    (course_lib.exercises.REUSED) when a kept object it read changes; a function that refills
    only what another of the learner's functions reads inside (gelu inside transformer_block)
    may pass both."""
    name, exercise_id = exercise
    changes: list[bool] = []
    verdicts, target = verdicts_of(name, exercise_id, which, refilling(changes))
    expected = EITHER if any(changes) else RIGHT
    check_agreement(name, exercise_id, verdicts, expected, f"{target}: hands out a kept result")
    if verdicts.visible is not None:
        assert str(verdicts.visible) == exercises.REUSED, verdicts.visible


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("behaviour", MISBEHAVIOURS)
def test_misbehaving_code_fails_the_self_check_in_plain_words(exercise, behaviour, monkeypatch):
    """Code that raises with a huge message, loops without end or replaces numpy's comparisons
    fails its self-check with an AssertionError, within the time limit, and loses its points."""
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    name, exercise_id = exercise
    started = time.monotonic()
    verdicts, target = verdicts_of(name, exercise_id, 0, misbehaving(behaviour))
    check_agreement(name, exercise_id, verdicts, WRONG, f"{target}: {behaviour}")
    assert time.monotonic() - started < 30
    assert np.allclose(1.0, 3.0) is False, "numpy's own functions are back"


class LearnersOwnExit(BaseException):
    """An exception outside Exception's family, as a learner may define one."""


def longer_ints(value):
    """`value` with 10**5000 added to every Python int in its lists and tuples; if it holds
    none, [10**5000]."""
    def holds_int(value):
        return type(value) is int or type(value) in (list, tuple) and any(map(holds_int, value))

    if not holds_int(value):
        return [10**5000]
    if type(value) in (list, tuple):
        return type(value)(longer_ints(item) if holds_int(item) else item for item in value)
    return value + 10**5000


# What a learner's function may do instead of returning its value: (what it does, given the
# solution's value) -> what it returns. Each fails the self-check in a short message, and the
# hidden cases too.
ODD_BEHAVIOURS = {
    "calls sys.exit('done')": lambda value: sys.exit("done"),
    "calls sys.exit() with no code": lambda value: sys.exit(),
    "raises GeneratorExit": lambda value: (_ for _ in ()).throw(GeneratorExit),
    "raises a BaseException of its own": lambda value: (_ for _ in ()).throw(LearnersOwnExit()),
    "returns ints of 5,000 digits": longer_ints,
    "returns its value 200,000 times over": lambda value: [value] * 200_000,
    "returns its items 200,000 times over": lambda value: (
        list(value) * 200_000 if type(value) in (list, tuple) else [value] * 200_000),
}
SHORT = 1_000  # characters: a check's message is a sentence or two, with a value of the example


def behaving(behaviour: str, calls: list):
    """A wrap: the named function computes the solution's value, then does `behaviour`;
    `calls` counts its calls."""
    def wrap(namespace, name):
        original = namespace[name]

        @functools.wraps(original)
        def changed(*args, **kwargs):
            calls.append(name)
            return ODD_BEHAVIOURS[behaviour](original(*args, **kwargs))
        namespace[name] = changed
    return wrap


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exercise=st.sampled_from(EXERCISES), behaviour=st.sampled_from(sorted(ODD_BEHAVIOURS)),
       which=st.integers(0, 2))
def test_an_odd_behaviour_fails_the_self_check_in_a_short_message(exercise, behaviour, which):
    """sys.exit() or another exception outside Exception's family (SystemExit escaped call and
    stopped the check cell with the learner's own exception), ints too long to print (a check's
    message showing them raised Python's ValueError "Exceeds the limit (4300 digits)"), or far
    more items than any answer (a check's message showing 1,200,000 merges ran to 14 MB, and
    Exercise 2.2's check ran past the cell's time limit): the self-check fails with an
    AssertionError, its message short, and the hidden cases fail too (protocol.TooLarge)."""
    name, exercise_id = exercise
    calls: list[str] = []
    verdicts, target = verdicts_of(name, exercise_id, which, behaving(behaviour, calls))
    if not calls:  # the check calls this function only inside another one's (Chapter 5)
        return
    check_agreement(name, exercise_id, verdicts, WRONG, f"{target}: {behaviour}")
    message = str(verdicts.visible)
    assert len(message) < SHORT, f"{target}: {behaviour}: a message of {len(message):,} characters"


def items_of(value) -> list:
    """The items a learner would hand out one by one: a list's or tuple's, an array's rows, or
    the value itself."""
    if type(value) in (list, tuple) or isinstance(value, np.ndarray) and value.ndim:
        return list(value)
    return [value]


def yielding(value):
    """`yield` where `return` was meant."""
    yield from items_of(value)


class Countdown:
    """An iterator of the learner's own: __iter__ and __next__."""

    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return self

    def __next__(self):
        if not self.items:
            raise StopIteration
        return self.items.pop()


# What a learner's function may return instead of its value's data: lazy iterables, which hand
# out the items on demand (an iterator, read once) or hold them in a form the grader does not
# read (a range, a dict's view, a set). (what it returns, given the solution's value; whether
# it is an iterator: exercises.LAZY, else exercises.NOT_A_CONTAINER)
LAZY_RETURNS = {
    "yield instead of return": (yielding, True),
    "a generator expression": (lambda value: (item for item in items_of(value)), True),
    "map(...)": (lambda value: map(lambda item: item, items_of(value)), True),
    "zip(...)": (lambda value: zip(items_of(value), items_of(value), strict=True), True),
    "filter(...)": (lambda value: filter(lambda item: True, items_of(value)), True),
    "iter(...) of a list": (lambda value: iter(items_of(value)), True),
    "reversed(...)": (lambda value: reversed(items_of(value)), True),
    "itertools.chain(...)": (lambda value: itertools.chain(items_of(value)), True),
    "an iterator class of its own": (lambda value: Countdown(items_of(value)), True),
    "a generator inside a list": (lambda value: [iter(items_of(value))], True),
    "a range where a list is expected": (lambda value: range(len(items_of(value))), False),
    "a dict's .values()": (lambda value: dict(enumerate(items_of(value))).values(), False),
    "a dict's .items()": (lambda value: dict(enumerate(items_of(value))).items(), False),
    "a frozenset": (lambda value: frozenset(range(len(items_of(value)))), False),
}


def returning_lazily(lazy: str, direct: list):
    """A wrap: the named function returns its value as `lazy`; `direct` records, for each call,
    whether the check's `call` made it (its value then read by call, not by the learner's own
    code)."""
    make, _ = LAZY_RETURNS[lazy]

    def wrap(namespace, name):
        original = namespace[name]

        @functools.wraps(original)
        def changed(*args, **kwargs):
            direct.append(sys._getframe(1).f_code is exercises.call.__code__)
            return make(original(*args, **kwargs))
        namespace[name] = changed
    return wrap


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exercise=st.sampled_from(EXERCISES), lazy=st.sampled_from(sorted(LAZY_RETURNS)),
       which=st.integers(0, 2))
def test_a_lazy_iterable_returned_fails_the_self_check_naming_it(exercise, lazy, which):
    check_lazy_return(exercise, lazy, which)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("lazy", sorted(LAZY_RETURNS))
def test_every_exercise_and_lazy_return(exercise, lazy):
    """Every pair once, on the exercise's first function (the property above draws the rest)."""
    check_lazy_return(exercise, lazy, 0)


def check_lazy_return(exercise: tuple[str, str], lazy: str, which: int) -> None:
    """A function that returns a generator (`yield` for `return`, (x for x in ...)), map, zip,
    filter, any iterator, or a range, a dict's view or a set where a list is meant: the
    self-check's message names the kind and says what to return (exercises.LAZY,
    NOT_A_CONTAINER: it said "not plain data", with no hint), and the grader reads the same
    value alike: it never passes a hidden case the check fails, nor the reverse. Where another
    of the learner's functions reads the value (Chapter 5's blocks), that function may well
    consume it: either verdict, but the same."""
    name, exercise_id = exercise
    direct: list[bool] = []
    verdicts, target = verdicts_of(name, exercise_id, which, returning_lazily(lazy, direct))
    if not direct:  # the hidden cases alone call it, inside another function
        return
    called_by_check = direct[0]  # the visible checks run first, and stop at the first failure
    check_agreement(name, exercise_id, verdicts, WRONG if called_by_check else EITHER,
                    f"{target}: returns {lazy}")
    if called_by_check:
        message = str(verdicts.visible)
        template = exercises.LAZY if LAZY_RETURNS[lazy][1] else exercises.NOT_A_CONTAINER
        assert message.startswith(template.partition("{kind}")[0]), f"{target}: {lazy}: {message}"
        assert template.partition("{kind}")[2] in message, f"{target}: {lazy}: {message}"


def test_lazy_and_plain_values_are_read_alike_by_check_and_grader():
    """The protocol refuses a lazy iterable at any depth, in the grader's reading as in the
    check's (exact), and names the type; the containers it reads, and their subclasses, are no
    lazy kind."""
    for lazy, (make, iterator) in LAZY_RETURNS.items():
        for exact in (False, True):
            with pytest.raises(LazyData) as raised:
                as_graded(make(np.arange(3.0)), exact=exact)
            assert raised.value.iterator == iterator, lazy
    for plain in ("abc", b"ab", [1], (1,), {"a": 1}, np.arange(2), np.float64(1), 1, None):
        assert lazy_kind(type(plain)) is None


def cached(calls: list):
    """A wrap: the named function under @functools.lru_cache (as a learner may speed it up),
    through a spy that records each call's TypeError message, or None."""
    def wrap(namespace, name):
        cache = functools.lru_cache(namespace[name])

        @functools.wraps(namespace[name])
        def spied(*args, **kwargs):
            try:
                value = cache(*args, **kwargs)
            except TypeError as error:
                calls.append(str(error))
                raise
            calls.append(None)
            return value
        namespace[name] = spied
    return wrap


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e for _, e in EXERCISES])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_cached_function_given_an_array_fails_saying_so(exercise, which):
    """A function under @functools.lru_cache, given an array or a list, raises "unhashable
    type": the self-check said what a TypeError means in the exercise ("a list where an array
    is needed", "None from a function that forgot to return"), a mistake the learner did not
    make; it names the cache and says what to do (exercises.UNHASHABLE). Given only hashable
    arguments, the function is right: both verdicts agree either way."""
    name, exercise_id = exercise
    calls: list = []
    verdicts, target = verdicts_of(name, exercise_id, which, cached(calls))
    check_agreement(name, exercise_id, verdicts, EITHER, f"{target}: cached")
    if calls and calls[0] is not None and calls[0].startswith("unhashable type"):
        assert verdicts.visible is not None, f"{target}: cached, its TypeError passed"
        assert str(verdicts.visible).startswith(exercises.UNHASHABLE.partition("{kind}")[0]), (
            f"{target}: cached: {verdicts.visible}")


def test_the_pass_line_says_what_it_did_not_check(capsys):
    """An answer right only on the visible examples passes its self-check (no check can see
    the grader's own inputs), so the check's last line says the grader tries inputs of its
    own."""
    exercises.passed("Exercise 1.1")
    line = capsys.readouterr().out
    assert "inputs of its own" in line and "course_lib's version" in line


# ------------------------------------------------------------------ quizzes


QUIZ_CHECK = 'assert as_choice(answer_q) in {"A", "B", "C", "D"}, "answer_q must be one of ..."'

letters = st.sampled_from("ABCDabcd")
spellings = st.one_of(
    letters,
    st.builds(lambda pad, l, r, letter: f"{pad}{l}{letter}{r}{pad}",
              st.sampled_from(["", " ", "\t", "\n"]), st.sampled_from(["", "(", "[", "'", '"']),
              st.sampled_from(["", ")", "]", ".", ":", "'", '"', ","]), letters),
    st.text(max_size=12),
    st.sampled_from(["AB", "A, B", "b) two", "option B", "", "True", "false", "1", "½"]),
    st.booleans(), st.integers(-3, 3), st.none(), st.floats(allow_nan=True),
    st.builds(np.str_, st.one_of(letters, st.text(max_size=4))), st.builds(np.bool_, st.booleans()),
)


@settings(max_examples=400, deadline=None)
@given(answer=spellings, key=st.sampled_from("ABCD"))
def test_a_quiz_answer_is_read_alike_by_its_check_and_the_grader(answer, key):
    """The answer cell's check reads the answer with as_choice, as the grader does before its
    checks: whatever the learner typed, the check passes exactly when the grader's reading is
    one of the options, and the grader scores exactly the answers whose reading is the key."""
    def check_passes(namespace):
        try:
            exec(QUIZ_CHECK, namespace)  # noqa: S102 - the shape of every quiz's check
        except AssertionError:
            return False
        return True

    in_notebook = check_passes({"as_choice": as_choice, "answer_q": answer})
    graded = as_choice(answer)  # the grader's step before the checks (grader.execute)
    in_grader = check_passes({"as_choice": as_choice, "answer_q": graded})
    assert in_notebook == in_grader
    assert in_grader == (graded in {"A", "B", "C", "D"})
    if in_grader:  # the hidden case then sends it: a valid choice is plain data, read as itself
        assert decode(encode(graded)) == graded
    if isinstance(answer, str) and answer.strip(" \t\n()[]'\".:,").upper() == key:
        assert graded == key, f"{answer!r} is read as {graded!r}, not as the choice {key}"
