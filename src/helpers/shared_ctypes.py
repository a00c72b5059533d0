"""Lesson 02, ``Value`` and ``Array``: workers and exercise checks.

``multiprocessing.Value`` and ``multiprocessing.Array`` put a C number or a C
array in shared memory, so a write in one process is seen by the others. The
seed article's second program is :func:`square_into`: squares into a shared
``Array('i', 3)``, their sum into a shared ``Value('i')``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Sequence
from typing import Any

from helpers.feedback import Feedback, self_check

__all__ = [
    "add_to_total",
    "check_big_sum",
    "check_pool_total",
    "check_squares",
    "init_total",
    "square_into",
    "type_code",
    "value_of",
    "write_sum",
]


def square_into(numbers: Sequence[int], result: Any, square_sum: Any) -> None:
    """Write the square of each number into the shared ``result`` and their sum into ``square_sum``.

    The seed article's second worker. ``result`` is a shared array at least as
    long as ``numbers``; ``square_sum`` a shared value. Prints what it wrote.
    """
    for i, n in enumerate(numbers):
        result[i] = n * n
    square_sum.value = sum(result[: len(numbers)])
    name = multiprocessing.current_process().name
    print(f"Result (in process {name}): {result[: len(numbers)]}")
    print(f"Sum of squares (in process {name}): {square_sum.value}", flush=True)


def write_sum(numbers: Sequence[int], out: Any) -> None:
    """Store the sum of ``numbers`` in the shared value ``out``."""
    out.value = sum(numbers)


def value_of(shared: Any) -> Any:
    """Return ``shared.value``: a worker that takes a shared Value as its task argument."""
    return shared.value


_total: Any = None


def init_total(total: Any) -> None:
    """Pool initializer: keep the shared ``total`` in this worker's module global.

    ``Pool(initializer=init_total, initargs=(total,))`` hands the shared value
    to each worker once, when the worker process starts, which is the
    inheritance that synchronized objects need.
    """
    global _total
    _total = total


def add_to_total(n: int) -> int:
    """Add ``n`` to the shared total set by :func:`init_total`; return ``n``.

    The addition holds the value's lock: ``+=`` is a read followed by a write,
    and lesson 03 shows what goes wrong without the lock.
    """
    if _total is None:
        raise RuntimeError(
            "no shared total in this worker: create the Pool with initializer=init_total, initargs=(total,)"
        )
    with _total.get_lock():
        _total.value += n
    return n


def type_code(shared: Any) -> str:
    """Return the type code (``'i'``, ``'d'``, ...) of a shared Value, Array, or their Raw form.

    >>> from multiprocessing import Value
    >>> type_code(Value('d'))
    'd'
    """
    obj = shared.get_obj() if hasattr(shared, "get_obj") else shared
    ctype = getattr(type(obj), "_type_", None)
    if isinstance(ctype, type) and issubclass(ctype, ctypes._SimpleCData):  # an Array: its element type
        ctype = getattr(ctype, "_type_", None)
    if not isinstance(ctype, str):
        raise TypeError(
            f"{shared!r} is not a shared Value or Array; create one with "
            "multiprocessing.Value('i') or multiprocessing.Array('i', 3)"
        )
    return ctype


def _is_shared(obj: Any) -> bool:
    return hasattr(obj, "get_obj") or isinstance(obj, (ctypes._SimpleCData, ctypes.Array))


# ---------------------------------------------------------------- exercises


@self_check("squares of [2, 4, 6, 8] through shared memory")
def check_squares(feedback: Feedback, result: Any, square_sum: Any) -> None:
    """Check exercise 1: ``result`` holds [4, 16, 36, 64] and ``square_sum`` holds 120."""
    if not _is_shared(result) or not _is_shared(square_sum):
        feedback.fail("result and square_sum should be a shared Array and a shared Value (they are not yet)")
        return
    feedback.expect(
        type_code(result) in "bhilqBHILQ" and len(result) == 4,
        "result is a shared array of 4 integers",
        f"result should be Array('i', 4); it has type code {type_code(result)!r} and {len(result)} items",
    )
    feedback.expect(
        list(result) == [4, 16, 36, 64],
        "result holds [4, 16, 36, 64]",
        f"result holds {list(result)}; did you start the child with [2, 4, 6, 8] and join it?",
    )
    feedback.expect(
        square_sum.value == 120,
        "square_sum holds 120",
        f"square_sum holds {square_sum.value}; the worker writes the sum, so pass the Value itself",
    )


BIG_NUMBERS = [1_500_000_000, 1_500_000_000]


@self_check("a shared Value with room for 3 billion")
def check_big_sum(feedback: Feedback, total: Any) -> None:
    """Check exercise 2: ``total`` has a type wide enough for 3_000_000_000 and holds it."""
    if not _is_shared(total):
        feedback.fail(f"big_total should be a shared Value, got {type(total).__name__}")
        return
    code = type_code(total)
    bits = 8 * ctypes.sizeof(total.get_obj() if hasattr(total, "get_obj") else total)
    feedback.expect(
        total.value == sum(BIG_NUMBERS),
        f"big_total holds {sum(BIG_NUMBERS):_} (type code {code!r}, {bits} bits)",
        f"big_total holds {total.value:_}, not {sum(BIG_NUMBERS):_}: a {bits}-bit {code!r} wraps around "
        "past its largest value; pick a wider type code and run the child again",
    )


@self_check("a total summed by a Pool")
def check_pool_total(feedback: Feedback, total: Any) -> None:
    """Check exercise 3: the shared ``total`` holds 1 + 2 + ... + 100 = 5050."""
    if not hasattr(total, "get_lock"):
        feedback.fail("total should be a synchronized Value, e.g. Value('i', 0)")
        return
    feedback.expect(
        total.value == 5050,
        "total holds 5050",
        f"total holds {total.value}, expected 5050; did every worker get the Value through initargs?",
    )
