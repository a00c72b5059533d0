"""Timing a call: each of several runs, the fastest, the median.

Apart from :mod:`helpers.measuring` because that module imports NumPy, which a subinterpreter cannot load, and
:mod:`helpers.subinterpreters` (lesson 07) times its experiments the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from helpers.arguments import positive_int

__all__ = ["best_time", "call_times", "median_time"]


def call_times(call: Callable[[], Any], repeats: int) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``call()``, in order."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def best_time(call: Callable[[], Any], repeats: int = 3) -> float:
    """Seconds taken by the fastest of ``repeats`` calls of ``call()``.

    For comparing two ways of doing the same thing in one run, as ``timeit`` does: noise from elsewhere on
    the machine (another process, a cgroup's CPU quota running out) only ever adds time, so the fastest call
    is the one closest to the cost of the work itself.
    """
    return min(call_times(call, positive_int("repeats", repeats)))


def median_time(call: Callable[[], Any], repeats: int) -> float:
    """Seconds taken by the median of ``repeats`` calls of ``call()``."""
    return statistics.median(call_times(call, repeats))
