"""Tests for helpers.traps: the trap gallery's workers make their traps happen, and its tools report them."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading

import numpy as np
import pytest

from helpers import run_with_deadline, traps


def test_add_and_divide() -> None:
    assert traps.add(1, 2) == 3
    assert traps.divide(1, 4) == 0.25
    with pytest.raises(ZeroDivisionError):
        traps.divide(1, 0)


def test_max_overlap_counts_intervals_open_at_once() -> None:
    assert traps.max_overlap([]) == 0
    assert traps.max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # touching is not overlapping
    assert traps.max_overlap([(0, 2), (1, 3), (1.5, 4), (5, 6)]) == 3


def test_nap_reports_when_it_ran() -> None:
    start, end = traps.nap(0.01)
    assert end - start >= 0.01
    with pytest.raises(ValueError, match="0 or more"):
        traps.nap(-1)


def test_apply_in_a_loop_runs_one_task_at_a_time_and_apply_async_two() -> None:
    with multiprocessing.Pool(2) as pool:
        serial = [pool.apply(traps.nap, (0.2,)) for _ in range(2)]
        parallel = [r.get(timeout=10) for r in [pool.apply_async(traps.nap, (0.2,)) for _ in range(2)]]
    assert traps.max_overlap(serial) == 1
    assert traps.max_overlap(parallel) == 2


def test_a_pool_started_before_a_change_keeps_the_old_setting() -> None:
    assert traps.SETTING == "old"
    with multiprocessing.Pool(1) as pool:
        pool.apply(traps.read_setting)  # started and imported
        traps.SETTING = "new"
        try:
            assert pool.apply(traps.read_setting) == "old"
        finally:
            traps.SETTING = "old"
    with multiprocessing.Pool(1, initializer=traps.use_setting, initargs=("new",)) as pool:
        assert pool.apply(traps.read_setting) == "new"


def test_scaler_pickles_only_without_a_pool() -> None:
    scaler = traps.Scaler(3)
    with multiprocessing.Pool(1) as pool:
        assert pool.map(scaler.scale, [1, 2]) == [3, 6]
        scaler.pool = pool  # type: ignore[attr-defined]
        with pytest.raises(NotImplementedError, match="pool objects cannot be passed"):
            pool.map(scaler.scale, [1, 2])


def test_rows_scaled_in_place_or_returned() -> None:
    rows = np.ones((2, 3))
    traps.scale_row_in_place(rows, 1, 2.0)
    assert rows[:, 0].tolist() == [1.0, 2.0]
    assert traps.scaled_row(rows, 1, 2.0).tolist() == [4.0, 4.0, 4.0]
    rows.flags.writeable = False  # as joblib hands over a large array
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        traps.scale_row_in_place(rows, 0, 2.0)


def test_report_pid_says_where_the_work_ran() -> None:
    pids: multiprocessing.Queue[int] = multiprocessing.Queue()
    traps.report_pid(pids)
    assert pids.get(timeout=5) == os.getpid()
    child = multiprocessing.Process(target=traps.report_pid, args=(pids,))
    assert run_with_deadline([child], 10).all_finished
    assert pids.get(timeout=5) not in (os.getpid(), None)


@pytest.mark.parametrize("sentinel", [False, True])
def test_count_items_ends_only_at_its_sentinel(sentinel: bool) -> None:
    items: multiprocessing.Queue[object] = multiprocessing.Queue()
    counted: multiprocessing.Queue[int] = multiprocessing.Queue()
    consumer = multiprocessing.Process(target=traps.count_items, args=(items, counted, sentinel), name="consumer")
    consumer.start()
    for n in range(3):
        items.put(n)
    if sentinel:
        items.put(traps.STOP)
    report = run_with_deadline([consumer], 0.5 if not sentinel else 10)
    assert report.all_finished is sentinel
    if sentinel:
        assert counted.get(timeout=5) == 3


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_fresh_child_has_no_logging_set_up_unless_it_sets_it(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    report, records = ctx.Queue(), ctx.Queue()
    child = ctx.Process(target=traps.log_from_child, args=(report, None), name="child")
    assert run_with_deadline([child], 20).all_finished
    assert report.get(timeout=5) == ("WARNING", [])
    child = ctx.Process(target=traps.log_from_child, args=(report, records), name="child")
    assert run_with_deadline([child], 20).all_finished
    assert report.get(timeout=5) == ("INFO", ["QueueHandler"])
    record = records.get(timeout=5)
    assert (record.levelname, record.processName, record.getMessage()) == ("INFO", "child", "hello from the child")


def test_pieces_written_in_turns_interleave_and_whole_lines_do_not() -> None:
    mixed = traps.interleaved_output([["a: ", "1\n"], ["b: ", "2\n"]])
    assert mixed == "a: b: 1\n2\n"
    assert traps.interleaved_output([["a: 1\n"], ["b: 2\n"]]) == "a: 1\nb: 2\n"
    with pytest.raises(ValueError, match="same number of pieces"):
        traps.interleaved_output([["a"], ["b", "c"]])
    with pytest.raises(ValueError, match="two or more"):
        traps.interleaved_output([["a"]])


def test_a_killed_child_loses_its_unflushed_print() -> None:
    assert traps.output_of_a_killed_child(flush=False) == ""
    assert traps.output_of_a_killed_child(flush=True) == "hello from the child\n"


def test_a_queue_drops_what_it_cannot_pickle_and_says_so_on_stderr() -> None:
    q: multiprocessing.Queue[object] = multiprocessing.Queue()
    said = traps.put_and_catch_feeder_error(q, {"lock": threading.Lock()})
    assert said == "TypeError: cannot pickle '_thread.lock' object"
    with pytest.raises(queue.Empty):
        q.get(timeout=0.5)
    with pytest.raises(RuntimeError, match="no error"):
        traps.put_and_catch_feeder_error(q, {"total": 42}, seconds=0.3)
    assert q.get(timeout=5) == {"total": 42}
    q.close()
    q.join_thread()
