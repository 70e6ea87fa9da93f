"""Values whose reading runs a learner's code, or costs far more than their size suggests.

Reading a value as plain data (autograder.protocol.to_jsonable) looks at its type, and for some
types at its class's attributes: a learner's class can answer those looks with its own code
(a property named __class__, a metaclass's __getattr__, an ndarray subclass's _mask), which may
raise anything or never end; a small object can stand for a huge value (an array broadcast to
terabytes, a list whose items are the same list twice, 2**depth leaves in all). Each entry of
HOSTILE builds one such value from `how` (a function of no arguments the learner's code calls:
raise an exception, or sleep), so a property can draw both. The costly ones are bounded by the
protocol's counts of items and numbers (protocol.TooLarge), read before the data they count.
"""

from __future__ import annotations

import time

import numpy as np

NEVER_ENDS = 10**6  # seconds a `sleep` behaviour sleeps


def raising(kind: type[BaseException]):
    """A learner's hook that raises `kind`."""
    def how():
        raise kind("raised by the learner's code")
    return how


def sleeping():
    """A learner's hook that never returns."""
    time.sleep(NEVER_ENDS)


def tuple_with_a_lying_metaclass(how):
    class Meta(type):
        def __getattr__(cls, name):
            how()

    class Pair(tuple, metaclass=Meta):
        pass

    return Pair((1, 2))


def object_whose_class_is_a_property(how):
    class Shifty:
        @property
        def __class__(self):
            how()

    return Shifty()


def object_that_claims_to_be(claimed: type):
    def build(how):
        class Impostor:
            _fields = ("a", "b")

            @property
            def __class__(self):
                return claimed

        return Impostor()
    return build


def array_whose_mask_is_a_property(how):
    class Masked(np.ndarray):
        @property
        def _mask(self):
            how()

    return np.arange(3.0).view(Masked)


def array_broadcast_to_terabytes(how):
    return np.broadcast_to(np.float64(0.0), (10**6, 10**6))


def list_of_aliased_halves(how, depth: int = 30):
    value = [0.0]
    for _ in range(depth):
        value = [value, value]
    return value


HOSTILE = {
    "a tuple subclass whose metaclass answers every attribute": tuple_with_a_lying_metaclass,
    "an object whose __class__ is a property": object_whose_class_is_a_property,
    "an object that says it is a tuple": object_that_claims_to_be(tuple),
    "an object that says it is a numpy array": object_that_claims_to_be(np.ndarray),
    "an ndarray subclass whose _mask is a property": array_whose_mask_is_a_property,
    "an array broadcast to 8 TB": array_broadcast_to_terabytes,
    "a list of 2**30 aliased leaves": list_of_aliased_halves,
}
# what the learner's hooks do: raise an exception of one of these kinds, or never return
BEHAVIOURS = {
    **{f"raises {kind.__name__}": raising(kind)
       for kind in (ValueError, RuntimeError, TypeError, AttributeError, KeyError, MemoryError,
                    RecursionError)},
    "sleeps": sleeping,
}


class LyingMeta(type):
    """A metaclass whose every look at a class's name, bases or attributes raises (for
    exceptions and callables that lie about what they are)."""

    __name__ = __mro__ = property(lambda cls: 1 / 0)

    def __getattr__(cls, name):
        raise RuntimeError(name)
