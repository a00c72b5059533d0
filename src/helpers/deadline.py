"""Run processes under a deadline, so that a demo that can hang never hangs the kernel.

A child that deadlocks, waits forever on a queue or never starts properly
would block ``Process.join()`` forever, and with it the notebook. The
helper here joins every process by one deadline and terminates (then kills)
those still running, and reports what happened in words that do not change
from run to run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from helpers.interrupts import interrupts_deferred

__all__ = ["DeadlineReport", "ProcessOutcome", "run_with_deadline", "stop", "stopped_if_interrupted", "wait_ready"]

#: How long a terminated process gets to exit before it is killed.
TERMINATE_GRACE_SECONDS = 2.0
#: How long one wait lasts before the next: Interrupt ends a wait within about this time.
SLICE_SECONDS = 0.25
#: How long :func:`run_with_deadline` waits for its ``ready`` Event or Barrier before it starts the clock anyway.
READY_SECONDS = 30.0
#: Called with each process the deadline ended, once it is gone (a lesson module that knows what such a
#: process leaves half done adds a function here: see ``helpers.patterns``).
AFTER_TERMINATE: list[Callable[[BaseProcess], None]] = []


@dataclass(frozen=True)
class ProcessOutcome:
    """What became of one process: its name, exit code and whether it overran; its PID, for the checks that
    ask which processes one run covered (never printed: PIDs change from run to run)."""

    name: str
    exitcode: int | None
    overran: bool
    pid: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DeadlineReport:
    """The result of :func:`run_with_deadline`.

    ``str(report)`` is a stable sentence (no PIDs, no timings), safe to print
    in a notebook whose outputs are compared on every run.
    """

    seconds: float
    outcomes: tuple[ProcessOutcome, ...]

    @property
    def all_finished(self) -> bool:
        """True if every process ended by itself before the deadline."""
        return not any(o.overran for o in self.outcomes)

    @property
    def overran(self) -> list[str]:
        """Names of the processes that were still running at the deadline."""
        return [o.name for o in self.outcomes if o.overran]

    @property
    def exitcodes(self) -> dict[str, int | None]:
        """Exit code per process name (negative: ended by that signal)."""
        return {o.name: o.exitcode for o in self.outcomes}

    def __str__(self) -> str:
        n = len(self.outcomes)
        if self.all_finished:
            codes = ", ".join(f"{o.name}={o.exitcode}" for o in self.outcomes)
            return f"all {n} finished before the {self.seconds:g} s deadline; exit codes: {codes}"
        late = ", ".join(self.overran)
        return f"{len(self.overran)} of {n} still running at the {self.seconds:g} s deadline and terminated: {late}"

    def __repr__(self) -> str:
        return f"DeadlineReport({self})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


def run_with_deadline(processes: Sequence[BaseProcess], seconds: float, ready: Any = None) -> DeadlineReport:
    """Start (if needed) and join ``processes``, all by one deadline ``seconds`` from now.

    Processes still alive at the deadline are terminated (SIGTERM), then
    killed if they do not exit within a short grace period, and joined, so
    nothing is left running. Give processes a ``name=`` so the report says
    which one overran.

    ``ready``, if given, is an ``Event`` a process sets, or a ``Barrier`` the processes wait at with this one
    (made with one party more than the processes that wait at it): the deadline's clock starts once it is set
    or passed, not before, so that the deadline measures the demo and not how long the processes took to start
    (under ``spawn`` or ``forkserver`` on a busy machine that can be more than a second). If it is not set or
    passed within :data:`READY_SECONDS`, or a process ends before it is (it died at start, say), the clock starts
    anyway, and the report says which process ended how.

    The joins wait in slices of :data:`SLICE_SECONDS`, so that Interrupt (Ctrl-C) ends the wait within about
    that time; the processes are then stopped as at the deadline, and ``KeyboardInterrupt`` is raised.

    >>> import multiprocessing, time
    >>> p = multiprocessing.Process(target=time.sleep, args=(0,), name="nap")
    >>> print(run_with_deadline([p], seconds=5))
    all 1 finished before the 5 s deadline; exit codes: nap=0
    """
    if isinstance(processes, BaseProcess):
        processes = [processes]
    if not isinstance(processes, Sequence) or not processes:
        raise TypeError(
            "run_with_deadline needs a non-empty list of Process objects, "
            f"got {processes!r}; e.g. run_with_deadline([p1, p2], seconds=5)"
        )
    for p in processes:
        if not isinstance(p, BaseProcess):
            raise TypeError(
                f"run_with_deadline got {p!r}, which is not a multiprocessing Process; "
                "pass the Process objects themselves"
            )
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"seconds must be a positive number of seconds, got {seconds!r}")
    if ready is not None and not callable(getattr(ready, "wait", None)):
        raise TypeError(f"ready should be an Event or a Barrier (something with a wait method), got {ready!r}")

    with stopped_if_interrupted(processes):
        for p in processes:
            if p.pid is None:
                p.start()
        if ready is not None:
            wait_ready(ready, READY_SECONDS, processes)
        deadline = time.monotonic() + seconds
        for p in processes:
            while p.is_alive() and (left := deadline - time.monotonic()) > 0:
                p.join(min(SLICE_SECONDS, left))
    late = [p for p in processes if p.is_alive()]
    stop(late)
    late_set = set(map(id, late))
    outcomes = tuple(ProcessOutcome(p.name, p.exitcode, id(p) in late_set, p.pid) for p in processes)
    return DeadlineReport(float(seconds), outcomes)


def wait_ready(ready: Any, timeout: float, processes: Sequence[BaseProcess] = ()) -> bool:
    """Wait up to ``timeout`` s for the Event ``ready`` to be set or the Barrier ``ready`` to be passed, in slices
    that Interrupt can end (a Barrier is waited for in a helper thread, and aborted on Interrupt); whether it was.

    If one of ``processes`` ends before that, it can no longer set or reach ``ready``: the wait stops there (a
    Barrier is aborted, which releases the others waiting at it) instead of lasting ``timeout``.
    """
    end = time.monotonic() + timeout

    def one_ended() -> bool:
        return any(p.pid is not None and not p.is_alive() for p in processes)

    if hasattr(ready, "abort"):  # a Barrier: its wait cannot be cut into slices, a thread's can
        passed: list[bool] = []

        def wait() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                ready.wait(timeout)
                passed.append(True)

        waiter = threading.Thread(target=wait, name="wait-ready", daemon=True)
        waiter.start()
        try:
            while waiter.is_alive():
                waiter.join(SLICE_SECONDS)
                if waiter.is_alive() and one_ended():
                    waiter.join(SLICE_SECONDS)  # it may have passed just as a quick worker ended
                    if waiter.is_alive():
                        ready.abort()
        except BaseException:
            ready.abort()  # releases the thread and the processes waiting there
            raise
        waiter.join()
        return bool(passed)
    while (left := end - time.monotonic()) > 0:
        if ready.wait(min(SLICE_SECONDS, left)):
            return True
        if one_ended():
            return bool(ready.wait(0))
    return False


def stop(processes: Sequence[BaseProcess]) -> None:
    """Terminate the processes still alive, kill those still alive :data:`TERMINATE_GRACE_SECONDS` later; join all."""
    late = [p for p in processes if p.pid is not None and p.is_alive()]
    for p in late:
        p.terminate()
    for p in late:
        p.join(TERMINATE_GRACE_SECONDS)
        if p.is_alive():
            p.kill()
            p.join()
        for then in AFTER_TERMINATE:
            then(p)


@contextlib.contextmanager
def stopped_if_interrupted(processes: Sequence[BaseProcess]) -> Iterator[None]:
    """On Ctrl-C (Interrupt) in the block, stop ``processes`` (:func:`stop`), then raise a ``KeyboardInterrupt``
    that says so, without the traceback of the wait it ended."""
    try:
        yield
    except KeyboardInterrupt:
        with interrupts_deferred():  # a second Interrupt must not leave them half stopped
            stop(processes)
        raise KeyboardInterrupt(f"interrupted; stopped {len(processes)} process(es)") from None
