"""Lesson 06, patterns that scale: pool workers, failing tasks, manager costs, queue traps, exercise checks.

The same worker functions run in a ``multiprocessing.Pool``, a
``concurrent.futures.ProcessPoolExecutor``, joblib and a Dask cluster: they
are plain importable functions of this module.
"""

from __future__ import annotations

import contextlib
import gc
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
from helpers.deadline import AFTER_TERMINATE, DeadlineReport
from helpers.evidence import noted, read_notes, shared_id
from helpers.feedback import Feedback, cell_notes, child_ints, failed_calls, notebook_variable, self_check, summarize
from helpers.measuring import best_time, ignore_interrupts
from helpers.release import stop_workers
from helpers.shared_arrays import ArraySpec, attach_array

__all__ = [
    "BrokenQueueError",
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


@noted
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

    It first puts back Python's own SIGINT handler and lets SIGINT through, as a
    worker whose clean-up must run on Ctrl-C should. A child inherits how its
    parent treats SIGINT: a blocked SIGINT stays blocked under every start method
    (the signal mask survives exec), a fork child copies the handler of the moment,
    and a spawn or forkserver child starts with SIGINT ignored where its parent
    (or the fork server) ignored it, as a Jupyter kernel does between cells;
    Python then installs no handler (tests/test_patterns.py, 3.11 to 3.15).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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


def take_one(queue: Any, timeout: float, started: Any = None) -> None:
    """Take one item from ``queue``, waiting at most ``timeout`` seconds for it to start arriving.

    Sets the Event ``started``, if given, just before: a deadline then times the ``get()``, not the start-up.
    """
    if started is not None:
        started.set()
    queue.get(timeout=timeout)


@noted
def put_big(queue: Any, nbytes: int, started: Any = None) -> None:
    """Put one ``nbytes``-long bytes object on ``queue``; then set the Event ``started``, if given.

    The queue's feeder thread writes it into a pipe, and the process waits for that thread before it exits.
    Beyond the pipe's buffer (64 KiB on Linux) the write waits for a reader, so the process cannot exit until
    someone reads the item. ``started`` lets a deadline's clock start once the item is on its way, not while the
    process is still starting (under ``forkserver`` on a busy machine that took longer than the lesson's 0.5 s
    deadline: the producer was terminated before it had put anything).
    """
    queue.put(b"x" * nbytes)
    if started is not None:
        started.set()


#: What a pipe holds before a writer waits for a reader (Linux); an item larger than this is cut off when its
#: producer is ended half-way.
PIPE_BUFFER_BYTES = 2**16


class BrokenQueueError(RuntimeError):
    """A queue whose producer was ended half-way through writing an item: reading it would wait forever."""


def _break_queues_of(process: BaseProcess) -> None:
    """After a deadline ended ``process``: make this process's ``get()`` on any queue that ``process`` was
    writing a big item into raise :class:`BrokenQueueError` at once, instead of waiting forever for the rest of
    the item (``get(timeout=...)`` only bounds the wait for its start). Judged from :func:`put_big`'s notes."""
    if process.exitcode is None or process.exitcode >= 0:
        return
    cut = {
        n["args"]["queue"]["id"]
        for n in read_notes("put_big")
        if n["pid"] == process.pid and (n["args"].get("nbytes", {}).get("value") or 0) > PIPE_BUFFER_BYTES
    }
    if not cut:
        return
    from multiprocessing.queues import Queue

    here = os.getpid()

    def broken(original: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: object, **kwargs: object) -> Any:
            if os.getpid() != here:  # a fork child of this process inherits the object: it reads as it always did
                return original(*args, **kwargs)
            raise BrokenQueueError(
                f"{process.name} was ended half-way through writing its item into this queue, so the rest will "
                "never come and get() would wait forever (a timeout only bounds the wait for an item to start). "
                "This queue is broken: make a new Queue, and read the item before you join the process that puts it"
            )

        return read

    for queue in [q for q in gc.get_objects() if isinstance(q, Queue)]:
        if shared_id(queue) in cut:  # this process's side only: a queue sent to a new process is rebuilt there
            queue._poll = broken(queue._poll)  # type: ignore[attr-defined]
            queue._recv_bytes = broken(queue._recv_bytes)  # type: ignore[attr-defined]


AFTER_TERMINATE.append(_break_queues_of)


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
    queue = shared_id(notebook_variable("queue"))  # the starter's queue: notes about another one are older
    puts = [
        n
        for n in cell_notes("put_big", lambda n: queue is None or n["args"].get("queue", {}).get("id") == queue)
        if n["parent"] == os.getpid() and n["pid"] != os.getpid()
    ]
    anywhere = [n for n in cell_notes("put_big") if n["parent"] == os.getpid() and n["pid"] != os.getpid()]
    big_puts = [n for n in puts if n["args"].get("nbytes", {}).get("value") == 10 * 2**20 and not n.get("error")]
    codes = list(report.exitcodes.values())
    if not report.all_finished:  # said first: the report is what the student has in hand
        feedback.fail(
            f"{report}: the producer could not exit; its item was still in the pipe. Get it first, then join."
        )
    elif not puts:
        if not failed_calls(feedback, anywhere, "put_big"):  # a failed call's queue may be no queue: args swapped
            feedback.fail(
                "no process of this notebook ran put_big in your latest cell: start a new producer, "
                "Process(target=put_big, args=(queue, 10 * 2**20))"
            )
    elif failed_calls(feedback, puts, "put_big"):
        pass
    elif not big_puts:
        sizes = sorted({n["args"].get("nbytes", {}).get("value") or 0 for n in puts})
        feedback.fail(
            f"the producer put {' and '.join(map(str, sizes))} bytes, not 10 MiB: a small item fits in the pipe, "
            "so the join never had to wait; put_big(queue, 10 * 2**20) is the item that does not fit"
        )
    elif any(code is not None and code < 0 for code in codes):
        feedback.fail(
            f"{report}: the producer did not end by itself (a negative exit code is the signal that ended it); "
            "get the item first, then run_with_deadline joins a producer that exits on its own"
        )
    elif any(code != 0 for code in codes):
        feedback.fail(
            f"{report}: the producer ended with an error (exit code {max(c or 0 for c in codes)}): its traceback is "
            "in the cell's output above; start it with Process(target=put_big, args=(queue, 10 * 2**20))"
        )
    else:
        feedback.ok("a child ran put_big, and ended by itself (exit code 0) before the deadline")
    if got_item and big_puts and item != b"x" * (10 * 2**20):
        feedback.fail(
            "item is 10 MiB long, but not the bytes put_big put on the queue (it puts b'x' * nbytes): item must be "
            "what queue.get() returned"
        )
        return
    if got_item and not big_puts:
        feedback.fail(
            "item holds 10 MiB, but no producer of your latest cell put 10 MiB on the queue: item must be what "
            "queue.get() returned"
        )
        return
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
    if not np.allclose(values, data.sum(axis=1)):
        feedback.fail(
            "the row sums are right but out of order: sums[i] must be row i's sum, so keep the order of the tasks "
            "(pool.map and pool.imap keep it; imap_unordered does not)"
            if np.allclose(np.sort(values), np.sort(data.sum(axis=1)))
            else "some row sums are wrong: did every worker attach to the same shared array as data?"
        )
        return
    reads = cell_notes("row_sum", answer=sums)
    here = [n for n in reads if n["pid"] == os.getpid()]
    rows = child_ints(reads, "row")
    if not numbers:  # said above; which worker made sums built from rows is beside the point
        feedback.ok("every row sum is right")
        return
    if here or not rows >= set(range(len(data))):
        feedback.fail(
            "every row sum is right, but "
            + (
                "row_sum ran here, in the notebook's own process, not in the pool's workers"
                if here
                else "no pool worker ran row_sum for them: they came from elsewhere (NumPy or a loop here, "
                "or rows sent to the workers)"
                if not rows
                else f"the pool's workers ran row_sum only for rows {summarize(sorted(rows))}"
            )
            + "; map row_sum over the row numbers with the pool, pool.map(row_sum, tasks)"
        )
        return
    feedback.ok("every row sum is right: the pool's workers read each row from the array they attached to")
