"""helpers.timing: repeated calls timed, in turns; the least kept (best_time's own test is in test_measuring.py)."""

from __future__ import annotations

import time

import pytest

from helpers.timing import best_times, call_times


def test_best_times_takes_turns_and_keeps_each_ones_least() -> None:
    ticks = iter([0.0, 0.5, 1.0, 3.0, 3.0, 3.2, 4.0, 4.1])  # a, b, a, b: a 0.5 then 0.2, b 2.0 then 0.1
    order: list[str] = []
    best = best_times({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, 2, clock=lambda: next(ticks))
    assert order == ["a", "b", "a", "b"]
    assert best == pytest.approx({"a": 0.2, "b": 0.1})
    with pytest.raises(ValueError, match="repeats must be a positive int"):
        best_times({"a": lambda: None}, repeats=0)


def test_cpu_time_does_not_count_waiting() -> None:
    (waited,) = call_times(lambda: time.sleep(0.2), 1, clock=time.process_time)
    assert waited < 0.1, "sleeping uses no CPU time"
