"""Tests for helpers.task_costs: lesson 05's cost of each task's message, its claims and exercise 3's check.

The claims the lesson's prose makes from these measurements are checked here with margins, and pass when one of
three measurements shows them: on a busy machine one measurement may be swamped by noise, three in a row are not
(measured under two busy loops beside the tests, on 2 CPUs; the counts are in the lesson's notes).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable

import pytest

from helpers import task_costs
from helpers.task_costs import (
    ROUTES,
    TaskCost,
    check_messaging,
    measure_task_costs,
    message_costs,
    process_cpu_seconds,
    rule_lines,
    task_cost_table,
    tiny_task,
)

ON_314 = sys.version_info >= (3, 14)


def one_of_three(claim: Callable[[], str | None]) -> None:
    """Pass if ``claim()`` returns None (it held) in one of three tries; else fail with the three reasons."""
    reasons = []
    for _ in range(3):
        reason = claim()
        if reason is None:
            return
        reasons.append(reason)
    pytest.fail("the claim failed three times in a row:\n" + "\n".join(reasons))


def test_every_route_runs_the_tasks_and_counts_its_messages() -> None:
    seen: list[float] = []
    records = measure_task_costs(tasks=200, chunksizes=(1, 50), repeats=1, progress=lambda f, label: seen.append(f))
    by = {(r.route, r.chunksize): r for r in records}
    routes = ROUTES if ON_314 else ROUTES[:-1]
    assert set(by) == {(r, c) for r in routes for c in (1, 50)} | {("Pool.map", None)}
    assert by["Pool.map", None].messages == 8, "Pool.map's own chunksize: 200 tasks / (4 * 2 workers) = 25"
    assert all(by[r, 1].messages == 200 and by[r, 50].messages == 4 for r in routes)
    assert all(r.wall_seconds > 0 and r.repeats == 1 and 0 <= r.messaging_share <= 1 for r in records)
    assert seen[0] == 0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert by["Pool.map", 1].as_dict()["measurement"] == "tasks"


def test_one_task_per_message_is_mostly_messaging_and_larger_chunks_are_not() -> None:
    """The lesson's table: with chunksize 1 most of the CPU time is messaging, with 100 far less."""

    def claim() -> str | None:
        records = measure_task_costs(tasks=1000, chunksizes=(1, 100), routes=["Pool.map", "ProcessPoolExecutor.map"])
        by = {(r.route, r.chunksize): r.messaging_share for r in records}
        wrong = [
            f"{route}: chunksize 1 {by[route, 1]:.0%}, chunksize 100 {by[route, 100]:.0%}"
            for route in ("Pool.map", "ProcessPoolExecutor.map")
            if not (by[route, 1] >= 0.4 and by[route, 100] <= by[route, 1] - 0.25)
        ]
        return "; ".join(wrong) or None

    one_of_three(claim)


def test_a_process_pool_executor_message_costs_more_than_a_pools() -> None:
    """The lesson's rule: a few hundred µs of work per message through a ProcessPoolExecutor, tens through a Pool."""

    def claim() -> str | None:
        costs = message_costs(
            measure_task_costs(tasks=1000, chunksizes=(1,), routes=["Pool.map", "ProcessPoolExecutor.map"])
        )
        pool, executor = costs["Pool.map"], costs["ProcessPoolExecutor.map"]
        return (
            None
            if executor > 2 * pool and 2e-6 < pool < 1e-3
            else f"Pool {pool * 1e6:.0f} µs, executor {executor * 1e6:.0f} µs"
        )

    one_of_three(claim)


@pytest.mark.skipif(not ON_314, reason="InterpreterPoolExecutor needs Python 3.14+")
def test_interpreters_are_batched_by_hand() -> None:
    records = measure_task_costs(tasks=100, chunksizes=(1, 25), routes=["InterpreterPoolExecutor.map"], repeats=1)
    assert sorted(r.messages for r in records) == [4, 100]


def record(cpu: float | None, work: float | None, wall: float = 1.0, messages: int = 10) -> TaskCost:
    return TaskCost("Pool.map", 1, 100, messages, wall, cpu, work, 0.5, 0.4)


def test_the_messaging_share_is_the_cpu_time_beyond_the_reference() -> None:
    assert record(cpu=4.0, work=1.0).messaging_share == 0.75
    assert record(cpu=1.0, work=1.2).messaging_share == 0.0, "noise below the reference is clipped"
    assert record(cpu=None, work=None, wall=2.0).messaging_share == 0.75, "wall time stands in without /proc"
    assert math.isclose(record(cpu=4.0, work=1.0).cpu_per_message or 0, 0.3)
    assert record(cpu=None, work=None).cpu_per_message is None


def test_the_table_and_the_rule_read_the_records() -> None:
    records = [
        TaskCost("Pool.map", None, 1000, 8, 0.01, 0.0055, 0.005, 0.005, 0.005),
        TaskCost("Pool.map", 1, 1000, 1000, 0.1, 0.025, 0.005, 0.005, 0.005),
        TaskCost("ProcessPoolExecutor.map", 1, 1000, 1000, 0.2, 0.085, 0.005, 0.005, 0.005),
    ]
    table = task_cost_table(records)
    assert "1000 tasks of 5.0 µs of work each" in table
    assert "80%   its own pick, 125: 9%" in table
    assert "ProcessPoolExecutor.map" in table and "InterpreterPoolExecutor" not in table
    pool, executor = rule_lines(records)
    assert pool.startswith("Pool.map: a message costs about 20 µs of CPU")
    assert "takes 180 µs of work per message, a chunksize of 36 or more here" in pool
    assert "ProcessPoolExecutor.map: a message costs about 80 µs" in executor
    with pytest.raises(ValueError, match="run measure_task_costs"):
        task_cost_table([])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"routes": ["carrier pigeon"]}, "unknown routes"),
        ({"chunksizes": (0,)}, "chunksize must be a positive int"),
        ({"tasks": 0}, "tasks must be a positive int"),
    ],
)
def test_bad_requests_say_what_to_change(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        measure_task_costs(**kwargs)


@pytest.mark.skipif(ON_314, reason="InterpreterPoolExecutor exists here")
def test_interpreters_before_314_are_refused_with_the_version() -> None:
    with pytest.raises(ValueError, match=r"needs Python 3\.14 or later"):
        measure_task_costs(routes=["InterpreterPoolExecutor.map"])


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="Linux's /proc/PID/schedstat")
def test_the_cpu_time_of_a_process_is_read_to_the_microsecond() -> None:
    before, own = process_cpu_seconds(os.getpid()), time.process_time()
    tiny_task(300_000)
    used, own_used = (process_cpu_seconds(os.getpid()) or 0) - (before or 0), time.process_time() - own
    assert used > 0 and math.isclose(used, own_used, rel_tol=0.5, abs_tol=0.005)
    assert process_cpu_seconds(2**22 + 1) is None, "no such process"


def test_the_check_passes_few_large_messages_and_names_one_per_task() -> None:
    def right(pool, tasks):
        return pool.map(tiny_task, tasks)

    def one_per_task(pool, tasks):
        return pool.map(tiny_task, tasks, chunksize=1)

    one_of_three(lambda: None if check_messaging(right).passed else str(check_messaging(right)))
    wrong = str(check_messaging(one_per_task))
    assert "✘ your 2000 messages cost about" in wrong and "one message per task" in wrong, wrong
    assert "without calling it" in str(check_messaging([1, 2]))
    broken = str(check_messaging(lambda pool, tasks: 1 / 0))
    assert "raised ZeroDivisionError" in broken


def test_the_pools_of_a_measurement_are_gone_after_it(monkeypatch) -> None:
    """However a measurement ends: here a route that returns wrong results."""
    monkeypatch.setattr(task_costs._Pools, "run", lambda self, route, items, chunksize: ([-1] * len(items), 1))
    with pytest.raises(RuntimeError, match="the route is broken"):
        measure_task_costs(tasks=20, chunksizes=(5,), routes=["Pool.map", "ProcessPoolExecutor.map"], repeats=1)
    assert not multiprocessing.active_children()
