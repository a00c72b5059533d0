"""Tests for helpers.races: lost updates, the correct strategies, the primitives' workers and the checks."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from helpers import run_with_deadline
from helpers.feedback import new_attempt
from helpers.races import (
    STRATEGIES,
    check_histogram,
    check_transfers,
    count_histogram,
    histogram_local,
    histogram_locked,
    histogram_racy,
    run_counter,
    run_until_lost,
    take_two_locks,
    take_two_locks_with_timeout,
    transfer_many,
)


def test_the_unlocked_counter_loses_updates() -> None:
    result, tries = run_until_lost(workers=4, increments=20_000)
    assert result.lost > 0 and 1 <= tries <= 10


@pytest.mark.parametrize("strategy", ["lock per increment", "lock per batch", "local sums"])
def test_the_correct_strategies_lose_nothing(strategy: str) -> None:
    result = run_counter(strategy, workers=3, increments=2_345)
    assert (result.expected, result.arrived, result.lost) == (7_035, 7_035, 0)
    assert result.seconds > 0


def test_every_strategy_has_a_worker() -> None:
    assert list(STRATEGIES) == ["no lock", "lock per increment", "lock per batch", "local sums"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "optimism"}, "unknown strategy"),
        ({"strategy": "local sums", "workers": 0}, "workers must be"),
        ({"strategy": "local sums", "increments": 2.5}, "increments must be"),
    ],
)
def test_bad_experiments_say_what_to_change(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        run_counter(**kwargs)


def crossed(worker, first_order=True, seconds=3.0):
    a, b = multiprocessing.Lock(), multiprocessing.Lock()
    ready, done = multiprocessing.Barrier(3), multiprocessing.Array("i", 2)  # the two and the parent
    second = (a, b) if first_order else (b, a)
    procs = [
        multiprocessing.Process(target=worker, args=(a, b, ready, done, 0), name="p"),
        multiprocessing.Process(target=worker, args=(*second, ready, done, 1), name="q"),
    ]
    return run_with_deadline(procs, seconds=seconds, ready=ready), done[:]  # the clock runs once both are up


def test_opposite_lock_orders_deadlock_and_the_fixes_do_not() -> None:
    report, done = crossed(take_two_locks, first_order=False, seconds=1)  # each holds one lock after 0.1 s
    assert report.overran == ["p", "q"] and done == [0, 0]
    report, done = crossed(take_two_locks, first_order=True)
    assert report.all_finished and done == [1, 1]
    report, done = crossed(take_two_locks_with_timeout, first_order=False)
    assert report.all_finished and done == [1, 1]


def test_the_histogram_workers() -> None:
    assert list(count_histogram(histogram_locked)[:]) == [400] * 10
    assert list(count_histogram(histogram_local)[:]) == [400] * 10


def test_the_histogram_check() -> None:
    assert check_histogram(histogram_local, histogram_local).passed
    assert not check_histogram(histogram_locked, histogram_locked).passed
    assert not check_histogram(histogram_racy, histogram_local).passed
    assert not check_histogram("histogram_local", histogram_local).passed


def transfers(same_order: bool):
    lock_0, lock_1 = multiprocessing.Lock(), multiprocessing.Lock()
    balances = multiprocessing.Array("i", [100, 100])
    q_locks = (lock_0, lock_1) if same_order else (lock_1, lock_0)
    p = multiprocessing.Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000), name="p")
    q = multiprocessing.Process(target=transfer_many, args=(*q_locks, balances, 1, 0, 1000), name="q")
    return run_with_deadline([p, q], seconds=5), balances


def test_the_transfer_check_passes_ordered_locks() -> None:
    report, balances = transfers(same_order=True)
    assert check_transfers(report, balances).passed


def test_the_transfer_check_fails_a_deadlock_or_no_report() -> None:
    lock_0, lock_1 = multiprocessing.Lock(), multiprocessing.Lock()
    balances = multiprocessing.Array("i", [100, 100])
    args = [(lock_0, lock_1, balances, 0, 1, 1000), (lock_0, lock_1, balances, 1, 0, 1000)]
    with lock_0:  # held here: both wait for it past the deadline
        report = run_with_deadline([multiprocessing.Process(target=transfer_many, args=a) for a in args], 0.5)
    feedback = check_transfers(report, balances)
    assert not feedback.passed and "still running at the 0.5 s deadline" in str(feedback)
    assert not check_transfers(None, multiprocessing.Array("i", [100, 100])).passed


def test_the_transfer_check_judges_what_the_processes_were_given() -> None:
    """From transfer_many's notes: opposite orders, 100 transfers, a run in the parent, unshared locks. Each
    attempt gets locks of its own: a process the deadline ends while it holds a lock leaves it taken for good (the
    opposite orders deadlock when the timing is unlucky), and a later attempt with that lock would wait forever."""

    def fresh_locks() -> tuple[Any, Any]:
        return multiprocessing.Lock(), multiprocessing.Lock()

    def attempt(*pairs: tuple[object, object, int, int, int], seconds: float = 5) -> str:
        new_attempt()
        balances = multiprocessing.Array("i", [100, 100])
        procs = [
            multiprocessing.Process(target=transfer_many, args=(f, s, balances, a, b, n)) for f, s, a, b, n in pairs
        ]
        return str(check_transfers(run_with_deadline(procs, seconds=seconds), balances))

    lock_0, lock_1 = fresh_locks()  # deadlocked or not, the check names the orders: no need to wait 5 s for it
    opposite = attempt((lock_0, lock_1, 0, 1, 1000), (lock_1, lock_0, 1, 0, 1000), seconds=1)
    assert "opposite orders deadlock" in opposite
    lock_0, lock_1 = fresh_locks()
    assert "the task asks 1,000 each" in attempt((lock_0, lock_1, 0, 1, 100), (lock_0, lock_1, 1, 0, 100))
    lock_0, lock_1 = fresh_locks()
    assert "share no lock" in attempt((lock_0, lock_1, 0, 1, 1000), (*fresh_locks(), 1, 0, 1000))
    both = multiprocessing.RLock()
    assert "Well done" in attempt((both, both, 0, 1, 1000), (both, both, 1, 0, 1000))
    new_attempt()
    lock_0, lock_1 = fresh_locks()
    balances = multiprocessing.Array("i", [100, 100])
    report = run_with_deadline(
        [multiprocessing.Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000))], seconds=5
    )
    transfer_many(lock_0, lock_1, balances, 1, 0, 1000)
    assert "transfer_many ran here" in str(check_transfers(report, balances))
