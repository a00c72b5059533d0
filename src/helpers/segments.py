"""Lesson 04, ``multiprocessing.shared_memory``: workers, lifecycle experiments and exercise checks.

The experiments that could crash a process or confuse the resource tracker
run in a separate Python process (:func:`run_python`), so the notebook's
kernel is never the one that dies, and what they report is a yes/no that
does not change from run to run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from helpers.evidence import noted
from helpers.feedback import (
    Feedback,
    cell_notes,
    cell_that_made,
    child_ints,
    failed_calls,
    in_notebook,
    latest_cell,
    run_again,
    self_check,
)
from helpers.release import unlink_segment
from helpers.shared_arrays import ArraySpec, _untracked, attach_array, mapped_buffer

__all__ = [
    "PythonRun",
    "attach_and_close",
    "check_lifecycle",
    "check_normalized",
    "die_while_attached",
    "double_in_place",
    "normalize_row",
    "run_python",
    "segment_exists",
    "survives_a_pool_worker",
    "touch_a_missing_page",
]

#: The page size; shared memory is mapped and backed page by page.
PAGE = 4096 if not hasattr(os, "sysconf") else os.sysconf("SC_PAGE_SIZE")


def segment_exists(name: str) -> bool:
    """True if a shared memory segment of that name exists (checked by attaching, without the resource tracker)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a segment's name (a str, e.g. shm.name), got {name!r}")
    try:
        with _untracked() as kwargs:
            segment = shared_memory.SharedMemory(name=name, **kwargs)
    except FileNotFoundError:
        return False
    segment.close()
    return True


# ----------------------------------------------------------------------------- workers


def double_in_place(name: str, count: int) -> None:
    """Attach to the segment ``name`` and double the first ``count`` int64 values in it, in place."""
    with _untracked() as kwargs:
        segment = shared_memory.SharedMemory(name=name, **kwargs)
    try:
        values = np.frombuffer(mapped_buffer(segment), dtype=np.int64, count=count)
        values *= 2
        del values  # a view of segment.buf must be gone before close()
    finally:
        segment.close()


def attach_and_close(name: str) -> None:
    """Attach to the segment ``name`` with ``SharedMemory``'s defaults (tracked by the resource tracker), then close.

    What most code does, and the way to meet gh-82300 when this process has a resource tracker of its own.
    """
    shared_memory.SharedMemory(name=name).close()


def survives_a_pool_worker(pool_first: bool, method: str = "fork", wait: float = 1.0) -> bool:
    """Does a segment survive a pool worker that attached with tracking, when the pool was started before or after
    the owner's resource tracker started (at the first segment)? Run as a program of its own; True if it survived.

    The resource tracker starts lazily: at the first registration (a segment; under spawn or forkserver a lock too)
    or the first spawn or forkserver child, so in a fork-only program at the first segment. A pool forked before
    it started has workers without one; the first attach in such a worker starts the worker's own tracker, which
    unlinks the segment when the worker exits.
    """
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    if pool_first:
        pool = ctx.Pool(1)
        segment = shared_memory.SharedMemory(create=True, size=1024)
    else:
        segment = shared_memory.SharedMemory(create=True, size=1024)
        pool = ctx.Pool(1)
    pool.apply(attach_and_close, (segment.name,))
    pool.close()
    pool.join()  # the worker exits; a tracker of its own unlinks what it registered, a moment later
    deadline = time.monotonic() + wait
    while segment_exists(segment.name) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = segment_exists(segment.name)
    segment.close()
    if survived:
        segment.unlink()
    return survived


def die_while_attached(spec: ArraySpec) -> None:
    """Attach to a shared array, write to it, then die abruptly (``os._exit(3)``) without closing anything."""
    with attach_array(spec) as array:
        array[0] = 42
        os._exit(3)


def touch_a_missing_page() -> None:
    """Map a two-page segment, shrink it to nothing, then touch the second page: the process dies of SIGBUS.

    A full ``/dev/shm`` does the same to whoever first touches a page that
    has no memory left behind it. The segment is unlinked before the crash,
    so nothing is left behind. (Linux; macOS cannot shrink shared memory.)
    """
    import faulthandler

    faulthandler.disable()  # a test runner's traceback dump on SIGBUS would only be noise: the death is the point
    segment = shared_memory.SharedMemory(create=True, size=2 * PAGE)
    segment.unlink()
    os.ftruncate(vars(segment)["_fd"], 0)  # the mapping stays two pages long; the memory behind it is gone
    mapped_buffer(segment)[PAGE] = 1  # SIGBUS here


#: How long :func:`normalize_row` works on a row before it writes the row back, as a longer computation would take.
NORMALIZE_SECONDS = 0.3


@noted
def normalize_row(spec: ArraySpec, row: int) -> None:
    """Exercise 1's worker: scale row ``row`` of a shared 2-D array to mean 0 and standard deviation 1, in place.

    It takes :data:`NORMALIZE_SECONDS` before it writes the row back, as real work would: a copy the parent makes
    before joining the workers then holds the rows as they were, whatever the machine's speed.
    """
    with attach_array(spec) as array:
        if array.ndim != 2 or not 0 <= row < array.shape[0]:
            raise ValueError(f"row {row} is not a row of an array of shape {array.shape}")
        values = (array[row] - array[row].mean()) / array[row].std()
        time.sleep(NORMALIZE_SECONDS)
        array[row] = values


# ----------------------------------------------------------------------------- separate processes


@dataclass(frozen=True)
class PythonRun:
    """What a separate Python process did: its exit code and what it wrote to stderr."""

    returncode: int
    stderr: str

    @property
    def crashed_by_signal(self) -> str | None:
        """The signal that killed it (e.g. ``"SIGBUS"``), or None if it exited by itself."""
        if self.returncode >= 0:
            return None
        import signal

        return signal.Signals(-self.returncode).name

    @property
    def resource_tracker_warned(self) -> bool:
        """True if the resource tracker warned about leaked shared memory."""
        return "leaked shared_memory" in self.stderr


def run_python(code: str, *args: str, timeout: float = 60) -> PythonRun:
    """Run ``code`` in a new Python process (``python -c``), ``args`` as ``sys.argv[1:]``; never raises for a crash."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PythonRun(done.returncode, done.stderr)


# ----------------------------------------------------------------------------- exercise checks


def normalized(data: np.ndarray) -> np.ndarray:
    """Each row of ``data`` scaled to mean 0 and standard deviation 1 (the exercise's expected answer)."""
    return (data - data.mean(axis=1, keepdims=True)) / data.std(axis=1, keepdims=True)


@self_check("rows normalized in place by four workers")
def check_normalized(feedback: Feedback, result: object, data: np.ndarray) -> None:
    """Exercise 1: ``result`` is a private copy of the shared array after the workers normalized every row."""
    if not isinstance(result, np.ndarray):
        feedback.fail(
            "result should be a NumPy array (a copy of shared.array made inside the with block), "
            f"not {type(result).__name__}"
        )
        return
    feedback.expect(
        result.flags.owndata,
        "result is a private copy: it owns its data",
        "result is a view of the shared segment, not a copy: after the with block it keeps the unlinked "
        "segment's memory mapped (and counted against /dev/shm) in this process alone; "
        "use result = shared.array.copy() inside the block",
    )
    feedback.expect(
        result.shape == data.shape,
        f"result has the data's shape {data.shape}",
        f"result has shape {result.shape}; expected {data.shape}",
    )
    if result.shape != data.shape:
        return
    if np.isnan(result).any():
        feedback.fail(
            "result holds NaN: a row of zeros has standard deviation 0; did you create the shared array "
            "with copy_from=data?"
        )
        return
    runs = cell_notes("normalize_row", answer=result)
    here = [n for n in runs if n["pid"] == os.getpid()]
    rows = sorted(child_ints(runs, "row"))
    shapes = {tuple(n["args"].get("spec", {}).get("shape") or ()) for n in runs}
    if failed_calls(feedback, runs, "normalize_row"):
        return
    if here:
        feedback.fail(
            "normalize_row ran here, in the notebook's own process, not in child processes: start one "
            "Process(target=normalize_row, args=(shared.spec, row)) per row"
        )
        return
    if not runs:
        feedback.fail(
            "no process ran normalize_row: "
            + (
                "result was computed here, by NumPy in the notebook's process, not by the workers; "
                if np.isclose(result, normalized(data), atol=1e-9).all()
                else ""
            )
            + "start one Process(target=normalize_row, args=(shared.spec, row)) per row and join them all"
        )
        return
    if shapes - {data.shape}:
        feedback.fail(
            f"the workers normalized the rows of a {' or '.join(str(sh) for sh in sorted(shapes - {data.shape}))} "
            f"array, not of data {data.shape}: create the shared array from data, shared_array(data.shape, "
            "data.dtype, copy_from=data), and give each worker shared.spec"
        )
        return
    if rows != list(range(len(data))):
        missed = [r for r in range(len(data)) if r not in rows]
        feedback.fail(
            f"child processes normalized rows {rows}"
            + (f", so rows {missed} are not normalized" if missed else "")
            + f": start one process per row, 0 to {len(data) - 1}"
        )
        return
    feedback.ok(f"{len(rows)} child processes ran normalize_row, one per row")
    right = np.isclose(result, normalized(data), atol=1e-9).all(axis=1)
    untouched = [i for i in range(len(data)) if np.isclose(result[i], data[i]).all()]
    wrong = [i for i in range(len(right)) if not right[i]]
    feedback.expect(
        not wrong,
        "every row has mean 0 and standard deviation 1",
        f"rows {wrong} of {len(data)} are not normalized"
        + (
            f"; rows {untouched} still hold the original data: start one process per row "
            "(normalize_row(shared.spec, row)) and join them all before copying"
            if untouched
            else ""
        ),
    )


class _InterruptedOnFirstUse(shared_memory.SharedMemory):
    """A ``SharedMemory`` whose buffer, the first time any segment's is asked for, raises ``KeyboardInterrupt``:
    what pressing Interrupt between creating a segment and using it does. It notes the segments it creates."""

    created: ClassVar[list[str]] = []
    armed: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("create", args[1] if len(args) > 1 else False):
            type(self).created.append(self.name)

    @property
    def buf(self) -> memoryview | None:  # None once closed, as SharedMemory's own
        if type(self).armed:
            type(self).armed = False
            raise KeyboardInterrupt("injected by the check, between creating the segment and using it")
        return super().buf


#: True while :func:`check_lifecycle` runs the student's cell again (a solution file calls the check at its end).
_REHEARSING = False


@dataclass(frozen=True)
class Rehearsal:
    """What the student's cell did when the check ran it again with an Interrupt at the first use of a segment's
    buffer: the segments it created, whether it used one's buffer (the Interrupt came), and which it left behind."""

    created: tuple[str, ...]
    used: bool
    left: tuple[str, ...]


def _rehearse(source: str) -> Rehearsal | None:
    """Run the cell ``source`` again with an Interrupt at the first use of a segment's buffer (what it left is
    removed here); None outside a notebook, where nothing runs."""
    global _REHEARSING
    fault = _InterruptedOnFirstUse
    fault.created, fault.armed = [], True
    real = shared_memory.SharedMemory
    shared_memory.SharedMemory = fault  # type: ignore[misc]  # what `shared_memory.SharedMemory(...)` finds
    _REHEARSING = True
    try:
        if not in_notebook():
            return None
        run_again(source, {real: fault})  # names the notebook bound to SharedMemory itself, too
    finally:
        shared_memory.SharedMemory = real  # type: ignore[misc]
        _REHEARSING = False
    left = tuple(name for name in fault.created if unlink_segment(name.lstrip("/")))
    return Rehearsal(tuple(fault.created), not fault.armed, left)


@self_check("a segment's whole life: create, use, close, unlink")
def check_lifecycle(feedback: Feedback, name: object, message: object) -> None:
    """Exercise 2: the segment ``name`` carried ``message`` and no longer exists; and when the cell that created it
    is run again with an Interrupt between creating the segment and using it, nothing is left behind either."""
    if _REHEARSING:
        return  # the cell being run again calls this check itself (a solution file does)
    view = isinstance(message, memoryview)
    feedback.expect(
        isinstance(message, bytes) and message == b"hello",
        "the message went through shared memory",
        "message is a memoryview into the segment, not bytes: while a view exists, shm.close() raises BufferError "
        "(a mapping cannot go while something points into it), so nothing after it in your finally: ran. Copy the "
        "bytes out, message = bytes(shm.buf[:5])"
        if view
        else f"message should be the bytes b'hello' read back from the segment, now {message!r}",
    )
    if not isinstance(name, str):
        feedback.fail(f"name should be the segment's name (shm.name), now {name!r}")
        return
    source = cell_that_made(name) or latest_cell("SharedMemory")  # the answer cell, however it is spelled
    rehearsal = _rehearse(source) if source else None  # None outside a notebook: judged from name alone
    if rehearsal is not None and not rehearsal.created:
        feedback.fail(
            "the cell that set name creates no segment when it runs: create one there, "
            "shm = shared_memory.SharedMemory(create=True, size=1024), and set name = shm.name"
        )
        return
    if rehearsal is not None and not rehearsal.used:
        feedback.fail(
            "your cell creates a segment but never writes to or reads its buffer (shm.buf): write the message "
            "into it and read it back from it, message = bytes(shm.buf[:5])"
        )
        return
    left = unlink_segment(name)
    if left:  # removed as the notebook's own handle would have: its tracker forgets the name too
        feedback.fail(
            "the segment was still in shared memory (this check removed it for you): "
            + (
                "close() raised BufferError over the view in message, before unlink() could run"
                if view
                else "your code never unlinked it. Add shm.unlink() where the segment's owner is done with it"
            )
            + "; run both cells again."
        )
    else:
        feedback.ok("the segment is gone: it was unlinked")
    maps = Path("/proc/self/maps")
    if not left and not view and maps.exists():  # Linux: what this process still maps, an unlinked segment too
        feedback.expect(
            f"/dev/shm/{name.lstrip('/')} " not in maps.read_text(),
            "this process no longer maps it: it was closed",
            "the segment is gone from /dev/shm, but this process still maps it: close() never ran, so its memory "
            "stays in use until the SharedMemory object is collected",
        )
    if rehearsal is None:
        return
    if rehearsal.left:
        feedback.fail(
            "the check ran your cell again and pressed Interrupt between creating the segment and writing to it: "
            "the segment stayed in shared memory (removed now). Whatever happens after the segment exists, closing "
            "and unlinking it must still run"
        )
    elif not left:  # claimed only beside what was seen: the segment is gone
        feedback.ok(
            "the check ran your cell again with an Interrupt between creating the segment and writing to it: "
            "nothing was left behind"
        )
