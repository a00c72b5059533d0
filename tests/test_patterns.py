"""Tests for helpers.patterns: workers attached once, failing and dying tasks, access costs, queue trap, checks."""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

import numpy as np
import pytest

from helpers import run_with_deadline
from helpers.patterns import (
    BrokenQueueError,
    append_and_store,
    append_in_place,
    check_pool_sums,
    check_queue_fix,
    die_on,
    fail_on,
    init_worker,
    interrupt,
    per_access_seconds,
    put_big,
    row_sum,
    row_sum_in,
    row_sum_of,
    row_sum_shared,
    sleep_until_stopped,
    stop_workers,
    take_one,
)
from helpers.shared_arrays import shared_array

DATA = np.arange(24, dtype=float).reshape(4, 6)


def test_workers_attached_once_sum_rows_by_number() -> None:
    with shared_array(DATA.shape, copy_from=DATA) as big:
        with multiprocessing.Pool(2, initializer=init_worker, initargs=(big.spec,)) as pool:
            assert pool.map(row_sum, range(4)) == DATA.sum(axis=1).tolist()
        assert row_sum_shared(big.spec, 2) == DATA[2].sum()
    assert row_sum_of(DATA[1]) == row_sum_in(DATA, 1) == DATA[1].sum()


def test_row_sum_says_what_to_do_without_an_initializer() -> None:
    import helpers.patterns as patterns

    saved, patterns._shared = patterns._shared, None
    try:
        with pytest.raises(RuntimeError, match="initializer=init_worker"):
            row_sum(0)
    finally:
        patterns._shared = saved


def test_a_failing_task_comes_back_as_its_exception() -> None:
    with multiprocessing.Pool(2) as pool:
        with pytest.raises(ValueError, match="task 3 got bad input"):
            pool.map(partial(fail_on, 3), range(5))
        assert pool.map(partial(fail_on, 3), [1, 2]) == [1, 4], "the pool still works"


def test_a_dying_worker_breaks_the_executor() -> None:
    with ProcessPoolExecutor(max_workers=2) as executor, pytest.raises(BrokenProcessPool):
        list(executor.map(partial(die_on, 2), range(4)))


@pytest.mark.skipif(sys.version_info < (3, 15), reason="Python 3.15 added the dead worker's exit code to the cause")
@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(), reason="needs forkserver")
def test_from_python_3_15_the_broken_pool_names_the_dead_workers_exit_code() -> None:
    """Lesson 06 says so in its prose for forkserver, 3.15's default; here is the evidence, run on 3.15 and later.

    Only forkserver: its server reaps the dead worker before the parent can look, while a fork or spawn worker
    may not be reaped yet when the executor reads exit codes (the cause was missing in 3 of 10 runs of each).
    """
    context = multiprocessing.get_context("forkserver")
    for _ in range(3):
        with ProcessPoolExecutor(2, mp_context=context) as executor, pytest.raises(BrokenProcessPool) as raised:
            list(executor.map(partial(die_on, 2), range(4)))
        assert "terminated abruptly with exit code 1" in str(raised.value.__cause__)


def test_stop_workers_ends_a_stuck_task() -> None:
    with ProcessPoolExecutor(max_workers=2) as executor:
        stuck = executor.submit(time.sleep, 60)
        assert not wait([stuck], timeout=0.5).done
        stop_workers(executor)
        assert isinstance(stuck.exception(timeout=10), BrokenProcessPool)
    with pytest.raises(TypeError, match="ProcessPoolExecutor"):
        stop_workers(multiprocessing.Pool)  # type: ignore[arg-type]


def test_stop_workers_breaks_the_tasks_handed_out_and_cancels_the_rest() -> None:
    """Its docstring and lesson 06 say so: ``cancel_futures=True`` comes first, so only the tasks already handed to
    the workers (the running ones, and at most ``max_workers + 1`` queued for them) raise ``BrokenProcessPool``; the
    others are cancelled. With 8 sleeping tasks on 2 workers, 3 or 4 broke (3.11 to 3.15)."""
    with ProcessPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(time.sleep, 60) for _ in range(8)]
        assert not wait(futures[:2], timeout=0.5).done
        stop_workers(executor)
        outcomes = ["cancelled" if f.cancelled() else type(f.exception(timeout=10)).__name__ for f in futures]
    assert set(outcomes) == {"BrokenProcessPool", "cancelled"}, outcomes
    assert 2 <= outcomes.count("BrokenProcessPool") <= 5, outcomes
    assert outcomes[-1] == "cancelled", "the last task was never handed to a worker"


@pytest.mark.parametrize("how", ["interrupt", "terminate"])
def test_interrupt_lets_a_worker_clean_up_and_terminate_does_not(how: str) -> None:
    ready, cleaned = multiprocessing.Event(), multiprocessing.Value("b", 0)
    worker = multiprocessing.Process(target=sleep_until_stopped, args=(ready, cleaned))
    worker.start()
    assert ready.wait(10)
    interrupt(worker) if how == "interrupt" else worker.terminate()
    report = run_with_deadline([worker], seconds=10)
    assert report.all_finished
    assert (worker.exitcode, bool(cleaned.value)) == ((0, True) if how == "interrupt" else (-15, False))


@pytest.mark.parametrize("inherited", ["ignored", "blocked"])
def test_the_stuck_worker_cleans_up_on_interrupt_whatever_its_parent_did_with_sigint(inherited: str) -> None:
    """A child inherits how its parent treats SIGINT: with it ignored (a Jupyter kernel between cells) or blocked,
    every start method's child ignores or blocks it too (without the fix: 4 of 4 failed, fork and spawn, 3.11).
    sleep_until_stopped puts Python's
    handler back and unblocks it, so lesson 06's demo shows the clean-up wherever it runs (once, on CI, Python 3.12,
    fork, the sleeper ended only by the deadline's SIGTERM, exit code -15, without cleaning up)."""
    ready, cleaned = multiprocessing.Event(), multiprocessing.Value("b", 0)
    worker = multiprocessing.Process(target=sleep_until_stopped, args=(ready, cleaned))
    if inherited == "ignored":
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        worker.start()
    finally:
        if inherited == "ignored":
            signal.signal(signal.SIGINT, previous)
        else:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    assert ready.wait(10)
    interrupt(worker)
    report = run_with_deadline([worker], seconds=10)
    assert report.all_finished and (worker.exitcode, bool(cleaned.value)) == (0, True), report


def test_interrupt_needs_a_started_process() -> None:
    with pytest.raises(ValueError, match="started multiprocessing Process"):
        interrupt(multiprocessing.Process(target=time.sleep, args=(0,)))


def test_access_costs_are_positive_and_kinds_are_checked() -> None:
    for kind in ("manager dict", "Value", "shared memory"):
        assert per_access_seconds(kind, accesses=50) > 0
    with pytest.raises(ValueError, match="unknown kind"):
        per_access_seconds("carrier pigeon")
    with pytest.raises(ValueError, match="positive int"):
        per_access_seconds("Value", accesses=0)
    with pytest.raises(ValueError, match="repeats must be a positive int"):
        per_access_seconds("Value", repeats=0)


def test_the_full_queue_trap_and_its_fix() -> None:
    queue, started = multiprocessing.Queue(), multiprocessing.Event()
    stuck = multiprocessing.Process(target=put_big, args=(queue, 10 * 2**20, started), name="p")
    report = run_with_deadline([stuck], seconds=0.5, ready=started)  # the clock starts once its item is on its way
    assert report.overran == ["p"]
    assert not check_queue_fix(report, None).passed
    began = time.monotonic()
    with pytest.raises(BrokenQueueError, match="ended half-way through writing its item"):
        queue.get(timeout=1)  # without the deadline's notice: waits forever for the rest of the item
    assert time.monotonic() - began < 1
    waiting = multiprocessing.Event()  # set by the reader just before its get()
    reader = multiprocessing.Process(target=take_one, args=(queue, 0.2, waiting), name="reader")
    report = run_with_deadline([reader], seconds=0.5, ready=waiting)
    assert report.overran == ["reader"], "a new process reads the queue as it is"
    queue = multiprocessing.Queue()
    fine = multiprocessing.Process(target=put_big, args=(queue, 10 * 2**20), name="p")
    fine.start()
    item = queue.get(timeout=30)
    report = run_with_deadline([fine], seconds=10)
    assert check_queue_fix(report, item).passed


def _sums_by_workers(tasks: Any) -> list[float]:
    """The row sums of DATA, each read by row_sum in a pool worker attached to a shared copy: what the workers
    note is the evidence the check judges from."""
    with (
        shared_array(DATA.shape, copy_from=DATA) as big,
        multiprocessing.Pool(2, initializer=init_worker, initargs=(big.spec,)) as pool,
    ):
        return pool.map(row_sum, tasks)


def test_the_pool_sums_check() -> None:
    assert check_pool_sums(_sums_by_workers(range(4)), list(range(4)), DATA).passed
    assert not check_pool_sums(DATA.sum(axis=1).tolist(), list(DATA), DATA).passed
    assert not check_pool_sums([0.0] * 4, list(range(4)), DATA).passed
    assert not check_pool_sums(None, list(range(4)), DATA).passed


def test_the_pool_sums_check_refuses_sums_made_in_the_parent() -> None:
    """Right numbers made by NumPy here, with no worker reading a row, get a ✘ that says no worker made them."""
    text = str(check_pool_sums(DATA.sum(axis=1).tolist(), list(range(4)), DATA))
    assert "✘ every row sum is right, but no pool worker ran row_sum" in text
    assert "no pool worker ran row_sum for them" in text


def test_pool_sums_check_takes_any_sequence_of_row_numbers() -> None:
    right = _sums_by_workers(range(4))
    assert check_pool_sums(right, range(4), DATA).passed
    assert check_pool_sums(right, np.arange(4), DATA).passed
    assert not check_pool_sums(right, [True, False, True, False], DATA).passed
    assert not check_pool_sums(right, 4, DATA).passed  # not a sequence at all


def test_a_list_in_a_manager_dict_changes_only_through_the_proxy() -> None:
    """Lesson 06, section 3: appends to ``store[key]`` are lost; stored back under a lock, or nested, they arrive."""
    with multiprocessing.Manager() as manager, multiprocessing.Pool(2) as pool:
        store = manager.dict(plain=[], fixed=[], nested=manager.list())
        lock = manager.Lock()
        pool.starmap(append_in_place, [(store, "plain", n) for n in range(4)])
        pool.starmap(append_and_store, [(store, lock, "fixed", n) for n in range(4)])
        pool.starmap(append_in_place, [(store, "nested", n) for n in range(4)])
        assert store["plain"] == []
        assert sorted(store["fixed"]) == [0, 1, 2, 3]
        assert sorted(store["nested"]) == [0, 1, 2, 3]


@pytest.mark.deep  # two producers and a 10 MiB item; the same answers run in a kernel in tests/wrong_answers.py
def test_the_queue_fix_check_wants_the_10_mib_put_by_the_producer() -> None:
    """A small put with a 10 MiB item made here, and swapped arguments, are named for what they are."""
    from helpers.feedback import new_attempt

    new_attempt()
    queue = multiprocessing.Queue()
    small = multiprocessing.Process(target=put_big, args=(queue, 1000), name="producer")
    small.start()
    queue.get(timeout=30)
    report = run_with_deadline([small], seconds=10)
    said = str(check_queue_fix(report, b"x" * (10 * 2**20)))
    assert "the producer put 1000 bytes, not 10 MiB" in said and "no producer of your latest cell put" in said, said
    new_attempt()
    swapped = multiprocessing.Process(target=put_big, args=(10 * 2**20, queue), name="producer")
    report = run_with_deadline([swapped], seconds=10)
    said = str(check_queue_fix(report, None))
    assert "put_big stopped with an error in 1 of its 1 call(s): AttributeError" in said, said
