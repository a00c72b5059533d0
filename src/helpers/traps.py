"""The trap gallery (notebooks/90_trap_gallery.ipynb): workers and small tools that make each trap happen on purpose.

Every function a child process runs lives here, so that spawn and forkserver can import it. The parent-side
tools (:func:`interleaved_output`, :func:`output_of_a_killed_child`, :func:`put_and_catch_feeder_error`) start
their children under :func:`helpers.deadline.run_with_deadline` and release everything they made, so no demo can
hang the notebook or leave a process or a file behind.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from typing import Any

from helpers.deadline import run_with_deadline

__all__ = [
    "SETTING",
    "STOP",
    "Scaler",
    "add",
    "count_items",
    "divide",
    "interleaved_output",
    "log_from_child",
    "max_overlap",
    "nap",
    "output_of_a_killed_child",
    "print_then_wait",
    "put_and_catch_feeder_error",
    "read_setting",
    "report_pid",
    "scale_row_in_place",
    "scaled_row",
    "use_setting",
    "write_in_turns",
]

#: A module-level setting that pool workers read with :func:`read_setting`. A pool's workers keep the value they
#: had when they started (fork) or imported this module (spawn, forkserver): changing it later in the notebook
#: changes only the notebook's copy.
SETTING = "old"

#: What :func:`count_items` stops at when it is given one.
STOP = "STOP"


# ----------------------------------------------------------------------------- pool and executor workers


def add(a: float, b: float) -> float:
    """``a + b``: a task that takes two arguments (``Pool.map`` gives it one, ``Pool.starmap`` two)."""
    return a + b


def divide(a: float, b: float) -> float:
    """``a / b``: raises ``ZeroDivisionError`` in the worker when ``b`` is 0."""
    return a / b


def read_setting() -> str:
    """The value of :data:`SETTING` in the process that runs this (a pool worker, or the notebook)."""
    return SETTING


def use_setting(value: str) -> None:
    """Pool initializer: set :data:`SETTING` to ``value`` in this worker, before its first task."""
    global SETTING
    SETTING = value


def nap(seconds: float) -> tuple[float, float]:
    """Sleep ``seconds`` and return ``(start, end)`` on ``time.monotonic()``, a clock all processes share here.

    :func:`max_overlap` reads these intervals to say how many tasks ran at the same time.
    """
    if seconds < 0:
        raise ValueError(f"seconds must be 0 or more, got {seconds!r}")
    start = time.monotonic()
    time.sleep(seconds)
    return start, time.monotonic()


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` intervals that were open at one instant.

    >>> max_overlap([(0, 2), (1, 3), (2.5, 4)])
    2
    >>> max_overlap([(0, 1), (1, 2)])
    1
    """
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = most = 0
    for _, change in events:  # at equal times an end (-1) sorts before a start (+1): touching is not overlapping
        open_now += change
        most = max(most, open_now)
    return most


class Scaler:
    """Multiplies by a factor. ``pool.map(scaler.scale, items)`` pickles the whole object with every batch of
    tasks: whatever its attributes hold (a pool, a lock, an open file) must pickle too."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def scale(self, x: float) -> float:
        """``x`` times the factor."""
        return x * self.factor


def scale_row_in_place(array: Any, row: int, factor: float) -> None:
    """Multiply row ``row`` of a NumPy ``array`` by ``factor``, writing into the array the worker was given.

    Under joblib, an array over ``max_nbytes`` (1 MB) arrives as a read-only memory map, and this raises
    ``ValueError: assignment destination is read-only``.
    """
    array[row] = array[row] * factor


def scaled_row(array: Any, row: int, factor: float) -> Any:
    """Row ``row`` of ``array`` times ``factor``, as a new array: the worker returns it, the caller stores it."""
    return array[row] * factor


# ----------------------------------------------------------------------------- process workers


def report_pid(results: Queue[int]) -> None:
    """Put the PID of the process that runs this on ``results``, as evidence of where the work ran."""
    results.put(os.getpid())


def count_items(items: Queue[Any], counted: Queue[int], sentinel: bool) -> None:
    """Take items from ``items`` and put how many there were on ``counted``.

    With ``sentinel=False`` it waits for items forever, as a loop of plain ``get()`` calls does once the
    producer has finished: it never returns. With ``sentinel=True`` it stops at :data:`STOP`.
    """
    n = 0
    while True:
        item = items.get()
        if sentinel and item == STOP:
            break
        n += 1
    counted.put(n)


def log_from_child(report: Queue[tuple[str, list[str]]], records: Queue[Any] | None) -> None:
    """Report the root logger's level and handlers as this process sees them, then log one INFO line.

    With ``records`` given, the child first sends its log records there (a ``QueueHandler`` at INFO), where the
    parent's ``QueueListener`` handles them.
    """
    root = logging.getLogger()
    if records is not None:
        root.addHandler(logging.handlers.QueueHandler(records))
        root.setLevel(logging.INFO)
    report.put((logging.getLevelName(root.level), [type(h).__name__ for h in root.handlers]))
    logging.info("hello from the child")


def write_in_turns(path: str, pieces: Sequence[str], me: int, turns: Barrier) -> None:
    """Write ``pieces`` to the file at ``path``, one ``write`` each, taking turns with the other children.

    Before each piece every child waits at ``turns``; then child 0 writes, all wait again, child 1 writes, and
    so on. The barrier stands in for the scheduler, which can switch processes between any two writes; here it
    does so at every one, the same way every run.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        for piece in pieces:
            for turn in range(turns.parties):
                turns.wait(timeout=10)
                if turn == me:
                    os.write(fd, piece.encode())
    finally:
        os.close(fd)


def print_then_wait(path: str, flush: bool, printed: Event) -> None:
    """``print`` a line with ``sys.stdout`` sent to the file at ``path``, set ``printed``, then wait to be killed.

    A file, like the pipe behind a child's stdout in Jupyter or under a pipeline, is block-buffered: without
    ``flush=True`` the line stays in this process's buffer, and is lost when the process is terminated.
    """
    with open(path, "w", encoding="utf-8") as out:
        sys.stdout = out
        print("hello from the child", flush=flush)
        printed.set()
        time.sleep(60)


# ----------------------------------------------------------------------------- parent-side tools


def interleaved_output(pieces_per_child: Sequence[Sequence[str]], seconds: float = 10) -> str:
    """What several children wrote to one output when each wrote its pieces in turn (see :func:`write_in_turns`).

    Child ``i`` writes ``pieces_per_child[i]``, one ``write`` per piece. Every child must have the same number
    of pieces. The output is a temporary file, read back and removed; the children run under a deadline.
    """
    counts = {len(p) for p in pieces_per_child}
    if len(pieces_per_child) < 2 or len(counts) != 1:
        raise ValueError(
            f"give two or more children the same number of pieces each, got {[list(p) for p in pieces_per_child]!r}"
        )
    fd, path = tempfile.mkstemp(prefix="mpcourse_output_")
    os.close(fd)
    try:
        turns = multiprocessing.Barrier(len(pieces_per_child))
        children = [
            multiprocessing.Process(target=write_in_turns, args=(path, pieces, i, turns), name=f"child {i}")
            for i, pieces in enumerate(pieces_per_child)
        ]
        report = run_with_deadline(children, seconds)
        if not report.all_finished or any(report.exitcodes.values()):
            raise RuntimeError(f"the writing children did not finish: {report}")
        with open(path, encoding="utf-8") as f:
            return f.read()
    finally:
        os.unlink(path)


def output_of_a_killed_child(flush: bool, seconds: float = 10) -> str:
    """What reached the output of a child that printed a line and was then terminated (see :func:`print_then_wait`).

    The child is terminated as soon as it reports that its ``print`` has returned, so the answer depends only on
    ``flush``: ``""`` without it (the line died in the child's buffer), the line with it.
    """
    fd, path = tempfile.mkstemp(prefix="mpcourse_output_")
    os.close(fd)
    try:
        printed = multiprocessing.Event()
        child = multiprocessing.Process(target=print_then_wait, args=(path, flush, printed), name="printer")
        child.start()
        if not printed.wait(seconds):
            run_with_deadline([child], 0.1)
            raise RuntimeError(f"the child did not print within {seconds} s")
        run_with_deadline([child], 0.1)  # it sleeps: terminated at the deadline, and joined
        with open(path, encoding="utf-8") as f:
            return f.read()
    finally:
        os.unlink(path)


def put_and_catch_feeder_error(queue: Queue[Any], obj: object, seconds: float = 5) -> str:
    """``queue.put(obj)`` for an ``obj`` that cannot be pickled; return the error its feeder thread printed.

    ``multiprocessing.Queue.put`` returns at once; a background thread pickles ``obj`` later, and when that
    fails it prints the traceback to ``sys.stderr`` and drops the item (gh-84376). This catches that report
    (waiting up to ``seconds`` for it) and returns the line that names the error, the same on every Python
    (3.14 adds notes below it, such as ``when serializing dict item 'lock'``). Raises ``RuntimeError`` if no
    report came: ``obj`` could be pickled after all.
    """
    caught = io.StringIO()
    with contextlib.redirect_stderr(caught):
        queue.put(obj)
        deadline = time.monotonic() + seconds
        while not _complete_report(caught.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.01)
    report = caught.getvalue()
    if not _complete_report(report):
        raise RuntimeError(f"the queue's feeder thread reported no error within {seconds} s for {obj!r}")
    return next(line for line in report.splitlines() if _EXCEPTION_LINE.match(line))


#: The line of a traceback that names the exception (3.14 may add notes after it, "when serializing ...").
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")


def _complete_report(text: str) -> bool:
    """True once ``text`` holds a whole traceback: a line names the exception, and the text ends a line."""
    return text.endswith("\n") and "Traceback" in text and any(_EXCEPTION_LINE.match(x) for x in text.splitlines())
