"""Run processes under a deadline, so that a demo that can hang never hangs the kernel.

A child that deadlocks, waits forever on a queue or never starts properly
would block ``Process.join()`` forever, and with it the notebook. The
helper here joins every process by one deadline and terminates (then kills)
those still running, and reports what happened in words that do not change
from run to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ["DeadlineReport", "ProcessOutcome", "run_with_deadline"]

#: How long a terminated process gets to exit before it is killed.
TERMINATE_GRACE_SECONDS = 2.0
#: Called with each process the deadline ended, once it is gone (a lesson module that knows what such a
#: process leaves half done adds a function here: see ``helpers.patterns``).
AFTER_TERMINATE: list[Callable[[BaseProcess], None]] = []


@dataclass(frozen=True)
class ProcessOutcome:
    """What became of one process: its name, exit code and whether it overran."""

    name: str
    exitcode: int | None
    overran: bool


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


def run_with_deadline(processes: Sequence[BaseProcess], seconds: float) -> DeadlineReport:
    """Start (if needed) and join ``processes``, all by one deadline ``seconds`` from now.

    Processes still alive at the deadline are terminated (SIGTERM), then
    killed if they do not exit within a short grace period, and joined, so
    nothing is left running. Give processes a ``name=`` so the report says
    which one overran.

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

    for p in processes:
        if p.pid is None:
            p.start()
    deadline = time.monotonic() + seconds
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    late = [p for p in processes if p.is_alive()]
    for p in late:
        p.terminate()
    for p in late:
        p.join(TERMINATE_GRACE_SECONDS)
        if p.is_alive():
            p.kill()
            p.join()
        for then in AFTER_TERMINATE:
            then(p)
    late_set = set(map(id, late))
    outcomes = tuple(ProcessOutcome(p.name, p.exitcode, id(p) in late_set) for p in processes)
    return DeadlineReport(float(seconds), outcomes)
