"""Lesson 06, patterns that scale: pool workers, failing tasks, manager costs, queue traps, exercise checks.

The same worker functions run in a ``multiprocessing.Pool``, a
``concurrent.futures.ProcessPoolExecutor``, joblib and a Dask cluster: they
are plain importable functions of this module.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from helpers.arguments import positive_int
from helpers.deadline import DeadlineReport
from helpers.feedback import Feedback, self_check, summarize
from helpers.measuring import best_time, ignore_interrupts
from helpers.release import stop_workers
from helpers.shared_arrays import ArraySpec, attach_array

__all__ = [
    "append_and_store",
    "append_in_place",
    "check_pool_sums",
    "check_queue_fix",
    "die_on",
    "fail_on",
    "init_worker",
    "interrupt",
    "per_access_seconds",
    "put_big",
    "row_sum",
    "row_sum_in",
    "row_sum_of",
    "row_sum_shared",
    "sleep_until_stopped",
    "stop_workers",
    "take_one",
]

# ----------------------------------------------------------------------------- pool workers

_stack = contextlib.ExitStack()
_shared: np.ndarray | None = None


def init_worker(spec: ArraySpec) -> None:
    """Pool initializer: attach this worker to the shared array once, for all its tasks; ignore Ctrl-C.

    The mapping stays open for the worker's life; the operating system
    releases it when the worker exits. Interrupt in Jupyter (like Ctrl-C in a
    terminal) sends SIGINT to the kernel's whole process group, its workers
    included: a worker that took it as a ``KeyboardInterrupt`` could die
    holding the lock of the pool's task queue, and the pool would then hang
    on every later ``map`` and on ``terminate()``. The parent alone gets it.
    """
    global _shared
    ignore_interrupts()
    _stack.close()
    _shared = _stack.enter_context(attach_array(spec))


def row_sum(row: int) -> float:
    """Sum of row ``row`` of the array :func:`init_worker` attached. The task is just a row number."""
    if _shared is None:
        raise RuntimeError(
            "row_sum needs the pool's workers attached first: Pool(initializer=init_worker, initargs=(spec,))"
        )
    return float(_shared[row].sum())


def row_sum_of(row_data: np.ndarray) -> float:
    """Sum of a row given as data: the row is pickled into every task (the pattern to avoid for big data)."""
    return float(np.asarray(row_data).sum())


def row_sum_in(array: np.ndarray, row: int) -> float:
    """Sum of row ``row`` of ``array``, which the caller passes whole (joblib memory-maps it when it is large)."""
    return float(array[row].sum())


def row_sum_shared(spec: ArraySpec, row: int) -> float:
    """Sum of row ``row`` of a shared array, attaching for this one task (for executors without initializers)."""
    with attach_array(spec) as array:
        return float(array[row].sum())


def fail_on(bad: int, x: int) -> int:
    """Return ``x * x``, but raise ValueError when ``x == bad``: a task that fails."""
    if x == bad:
        raise ValueError(f"task {x} got bad input")
    return x * x


def die_on(bad: int, x: int) -> int:
    """Return ``x * x``, but end the whole worker process abruptly (``os._exit(1)``) when ``x == bad``."""
    if x == bad:
        os._exit(1)
    return x * x


def sleep_until_stopped(ready: Any, cleaned: Any, seconds: float = 60.0) -> None:
    """Set the Event ``ready``, then sleep (a stuck task) until stopped; set ``cleaned.value = 1`` on the way out.

    The ``finally`` block is where a real worker would close files and
    segments. A ``KeyboardInterrupt`` (SIGINT, :func:`interrupt`) lets it run
    and the worker ends normally, exit code 0; SIGTERM (``terminate()``) and
    SIGKILL end the process before it runs.
    """
    try:
        ready.set()  # inside the try: a signal may arrive as soon as the parent sees it set
        time.sleep(seconds)
    except KeyboardInterrupt:
        pass  # asked to stop: clean up below and end normally
    finally:
        cleaned.value = 1


def interrupt(process: BaseProcess) -> None:
    """Send a running process SIGINT, as Ctrl-C would: ``Process.interrupt()``, new in Python 3.14 (POSIX only).

    Python raises ``KeyboardInterrupt`` in the process, so its ``finally``
    blocks and ``with`` exits run, unlike ``terminate()`` (SIGTERM) or
    ``kill()`` (SIGKILL). Before 3.14 the same is ``os.kill(pid, SIGINT)``.
    SIGINT is a POSIX signal: Windows cannot send it to another process on any
    Python (gh-131913: "Behavior on Windows is undefined"), so there this raises.
    """
    if not isinstance(process, BaseProcess) or process.pid is None:
        raise ValueError(f"interrupt needs a started multiprocessing Process, got {process!r}")
    if os.name != "posix":  # pragma: no cover - Windows
        raise NotImplementedError(
            "interrupting a process sends SIGINT, which Windows cannot send to another process; use terminate()"
        )
    if sys.version_info >= (3, 14):
        process.interrupt()
    else:
        os.kill(process.pid, signal.SIGINT)


# ----------------------------------------------------------------------------- costs and traps


def per_access_seconds(kind: str, accesses: int = 1000, repeats: int = 5) -> float:
    """Seconds per read-modify-write of one shared number, kept in ``kind`` of storage, timed in this process.

    ``kind`` is ``"manager dict"`` (a ``Manager().dict()`` proxy: every access is a message to the manager's
    server process), ``"Value"`` (a synchronized ``Value`` under its lock) or ``"shared memory"`` (a NumPy
    array on a ``SharedMemory`` segment, no lock). The loop of ``accesses`` updates is timed ``repeats``
    times and the fastest kept, as ``timeit`` does: noise from elsewhere only ever adds time.
    """
    accesses, repeats = positive_int("accesses", accesses), positive_int("repeats", repeats)

    def fastest(update: Callable[[], None]) -> float:
        def loop() -> None:
            for _ in range(accesses):
                update()

        return best_time(loop, repeats) / accesses

    if kind == "manager dict":
        with multiprocessing.Manager() as manager:
            store = manager.dict(count=0)

            def update_store() -> None:
                store["count"] += 1

            return fastest(update_store)
    if kind == "Value":
        value = multiprocessing.Value("q", 0)

        def update_value() -> None:
            with value.get_lock():
                value.value += 1

        return fastest(update_value)
    if kind == "shared memory":
        from helpers.shared_arrays import shared_array

        with shared_array(1, "int64") as shared:
            array = shared.array

            def update_array() -> None:
                array[0] += 1

            seconds = fastest(update_array)
            del array, update_array
            return seconds
    raise ValueError(f"unknown kind {kind!r}; choose 'manager dict', 'Value' or 'shared memory'")


def take_one(queue: Any, timeout: float) -> None:
    """Take one item from ``queue``, waiting at most ``timeout`` seconds for it to start arriving."""
    queue.get(timeout=timeout)


def put_big(queue: Any, nbytes: int) -> None:
    """Put one ``nbytes``-long bytes object on ``queue``.

    The queue's feeder thread writes it into a pipe, and the process waits for that thread before it exits.
    Beyond the pipe's buffer (64 KiB on Linux) the write waits for a reader, so the process cannot exit until
    someone reads the item.
    """
    queue.put(b"x" * nbytes)


# ----------------------------------------------------------------------------- manager workers


def append_in_place(store: Any, key: str, item: Any) -> None:
    """Worker: ``store[key].append(item)`` on a manager dict ``store``: the trap of section 3.

    ``store[key]`` asks the manager for the value and gets a copy of the list; the append changes that copy,
    which is then thrown away. Only a nested proxy (``manager.list()``) as the value makes this work.
    """
    store[key].append(item)


def append_and_store(store: Any, lock: Any, key: str, item: Any) -> None:
    """Worker: the fix for a plain list in a manager dict: read it, append, store it back, under ``lock``.

    Without the lock two workers can read the same list and the second store drops the first one's item.
    """
    with lock:
        items = store[key]
        items.append(item)
        store[key] = items


# ----------------------------------------------------------------------------- exercise checks


@self_check("a queue read before the join")
def check_queue_fix(feedback: Feedback, report: DeadlineReport, item: object) -> None:
    """Exercise 1: the producer finished by itself and its 10 MiB item arrived."""
    if not isinstance(report, DeadlineReport):
        feedback.fail(
            "report should be what run_with_deadline(...) returned"
            + (
                ", now None: keep it, report = run_with_deadline(...); if the cell above stopped with an error, "
                "that error comes first"
                if report is None
                else f", now {type(report).__name__}"
            )
        )
        return
    got_item = isinstance(item, bytes) and len(item) == 10 * 2**20
    feedback.expect(
        report.all_finished,
        "the producer finished before the deadline",
        f"{report}: the producer could not exit; its item was still in the pipe. Get it first, then join.",
    )
    feedback.expect(
        got_item,
        "the 10 MiB item arrived",
        f"item should be the 10 MiB bytes object from the queue, now {type(item).__name__}"
        + (f" of {len(item)} bytes" if isinstance(item, (bytes, str)) else ""),
    )


@self_check("row sums by workers attached once")
def check_pool_sums(feedback: Feedback, sums: object, tasks: Iterable[object], data: np.ndarray) -> None:
    """Exercise 2: ``sums`` are the row sums of ``data``, computed from ``tasks`` that were row numbers.

    ``tasks`` may be any sequence of ints: a list, a ``range`` or an integer NumPy array.
    """
    items: list[Any] | None
    try:
        items = list(tasks)
    except TypeError:
        items = None
    numbers = items is not None and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in items)
    feedback.expect(
        numbers,
        "each task is a row number: a few bytes to pickle, whatever the size of a row",
        "each task should be a row number (an int), not the row itself: rows are pickled into every task. "
        "Set tasks to the row numbers and map over tasks",
    )
    if numbers and items is not None and sorted(int(t) for t in items) != list(range(len(data))):
        feedback.fail(f"tasks should be the {len(data)} row numbers 0 to {len(data) - 1}, now {summarize(items)}")
    if not isinstance(sums, (list, tuple, np.ndarray)) or len(sums) != len(data):
        size = f"{len(sums)} items" if isinstance(sums, (list, tuple, np.ndarray)) else type(sums).__name__
        feedback.fail(f"sums should be a list of {len(data)} row sums, now {size}")
        return
    values = np.asarray(sums, dtype=float)
    if numbers and items is not None and np.allclose(values, np.asarray(items, dtype=float)):
        feedback.fail(
            "each sum equals its task: row_sum_of sums what it is given, and a row number sums to itself; "
            "map row_sum, which reads the row from the array the workers attached to"
        )
        return
    feedback.expect(
        np.allclose(values, data.sum(axis=1)),
        "every row sum is right",
        "some row sums are wrong: did every worker attach to the same shared array as data?",
    )
