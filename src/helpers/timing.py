"""Timing a call: each of several runs, the fastest.

Apart from :mod:`helpers.measuring` because that module imports NumPy, which a subinterpreter cannot load, and
:mod:`helpers.subinterpreters` (lesson 07) times its experiments the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from helpers.arguments import positive_int

__all__ = ["best_time", "best_times", "call_times"]


def call_times(call: Callable[[], Any], repeats: int, clock: Callable[[], float] | None = None) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``call()``, in order, read on ``clock``.

    ``time.perf_counter`` (the default) counts wall-clock time; ``time.process_time`` counts the CPU time this
    process used, which waiting (for a busy CPU, for another process) does not add to.
    """
    clock = clock or time.perf_counter
    times = []
    for _ in range(repeats):
        start = clock()
        call()
        times.append(clock() - start)
    return times


def best_time(call: Callable[[], Any], repeats: int = 3) -> float:
    """Seconds taken by the fastest of ``repeats`` calls of ``call()``.

    For comparing two ways of doing the same thing in one run, as ``timeit`` does: noise from elsewhere on
    the machine (another process, a cgroup's CPU quota running out) only ever adds time, so the fastest call
    is the one closest to the cost of the work itself.
    """
    return min(call_times(call, positive_int("repeats", repeats)))


def best_times(
    calls: Mapping[str, Callable[[], Any]], repeats: int = 5, clock: Callable[[], float] | None = None
) -> dict[str, float]:
    """Seconds taken by the fastest of ``repeats`` calls of each of ``calls``, the calls interleaved (A, B, A, B...).

    For comparing ways of doing one job on a busy machine: a burst of other work that slows a stretch of the
    runs slows the ways alike instead of all the runs of one of them, and the fastest of each is kept
    (:func:`best_time`). With ``clock=time.process_time`` it compares the CPU time this process spent, which
    a busy machine does not stretch (see :func:`call_times`).
    """
    repeats = positive_int("repeats", repeats)
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            best[name] = min(best[name], call_times(call, 1, clock)[0])
    return best
