"""Lesson 07, past processes: several interpreters in one process, and threads, beside processes.

Python 3.14 added ``concurrent.interpreters`` (PEP 734): several interpreters in **one** process, each
with its own modules, its own globals and its own GIL, so pure-Python work runs on several CPUs without
starting a process. They share almost nothing: an object crosses between them as a "shareable" value
(made anew on the other side, without pickle; only the runtime's static singletons, such as ``None`` and
small ints, arrive as the same object), as a pickle, or, for a ``memoryview``, as a view of the same memory.
This module holds the lesson's workers, its experiments and its exercise checks:

* :func:`require_python_314`: the lesson's first cell; what to do on an older Python.
* :func:`fill_global_list`, :func:`where_am_i`, :func:`spin`, :func:`fill_squares`, :func:`put_squares`,
  :func:`double_elements`: workers a subinterpreter runs.
* :func:`shareable_table`: which objects are "shareable", and what a queue delivers of each.
* :func:`share_and_write`: a ``memoryview`` of a large ``bytearray``, written in a subinterpreter and
  seen in the main one, against handing over a copy of the same bytes.
* :func:`try_import`, :func:`import_table`: which modules load in a subinterpreter (NumPy does not).
* :func:`compare_workers`: the same pure-Python work on processes, interpreters and threads, in one run.
* :func:`start_costs`, :func:`start_claims`: starting a thread, an interpreter, a process.
* :func:`thread_race`: lesson 03's lost updates, back inside one process, with threads.
* :func:`interrupt_during_exec`: where an interrupt (the stop button) goes while a subinterpreter runs.
* :func:`fork_while_open`, :func:`no_fork_context`: a child forked while a subinterpreter exists
  crashes (CPython issue gh-139759); the process context this module uses instead.
* :func:`check_read_before_close`, :func:`check_shared_fill`: the exercises' self-checks.

It imports on Python 3.11 to 3.13, so that the rest of the course and its tests work there; what needs
3.14 raises ``RuntimeError`` saying so (:data:`UNAVAILABLE` is the reason, or ``""`` on 3.14+).

**This module must stay importable inside a subinterpreter.** A worker that uses this module's globals
(:func:`fill_global_list`) is sent to a subinterpreter *by name*: the subinterpreter imports this module,
and everything it imports at its top. NumPy cannot load in a subinterpreter (``import numpy`` raises
``ImportError``), so neither NumPy nor a helpers module that imports it (``helpers.measuring``,
``helpers.patterns``, ``helpers.shared_arrays``) is imported at the top of this file; the one function
here that needs NumPy runs only in the main interpreter and imports it inside. Workers that use nothing
but their arguments and builtins (:func:`spin`, :func:`fill_squares`, ...) are not pickled at all: their
code is copied, and the subinterpreter imports nothing to run them.

Workers never print: a subinterpreter's ``print`` writes to the process's file descriptor 1, which
JupyterLab shows in the cell but a kernel started with ``PYTEST_CURRENT_TEST`` set (plain nbval) does
not. They return or put their results, and the main interpreter prints.
"""

from __future__ import annotations

import _thread
import contextlib
import multiprocessing
import platform
import re
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from helpers.arguments import positive_int
from helpers.deadline import run_with_deadline
from helpers.evidence import buffer_address, noted
from helpers.feedback import Feedback, cell_notes, latest_cell, notebook_variable, self_check
from helpers.interrupts import GuardedBlock, interrupts_deferred
from helpers.machine import cgroup_cpu_limit, usable_cpus
from helpers.timing import call_times

if sys.version_info >= (3, 14):
    from concurrent import interpreters
    from concurrent.futures import InterpreterPoolExecutor
else:  # Python 3.11-3.13: the module imports; what needs these raises RuntimeError, saying so
    interpreters: Any = None
    InterpreterPoolExecutor: Any = None

__all__ = [
    "UNAVAILABLE",
    "ImportOutcome",
    "InterruptOutcome",
    "ShareResult",
    "Table",
    "ThreadRace",
    "WorkerTimes",
    "check_read_before_close",
    "check_shared_fill",
    "compare_workers",
    "describe_error",
    "double_elements",
    "fill_global_list",
    "fill_squares",
    "fork_while_open",
    "import_table",
    "interrupt_during_exec",
    "no_fork_context",
    "put_squares",
    "require_python_314",
    "result",
    "result_here",
    "share_and_write",
    "shareable_table",
    "spin",
    "spin_timed",
    "start_claims",
    "start_costs",
    "thread_race",
    "try_import",
    "where_am_i",
]

#: Why lesson 07 cannot run on this Python, or ``""`` where it can (Python 3.14 and later).
UNAVAILABLE = (
    ""
    if sys.version_info >= (3, 14)
    else "lesson 07 needs Python 3.14 or later (concurrent.interpreters and InterpreterPoolExecutor are new in "
    f"3.14); this is Python {platform.python_version()}"
)
MiB = 2**20


def _too_old() -> RuntimeError:
    return RuntimeError(f"{UNAVAILABLE}. Run it with Python 3.14 or later")


def require_python_314() -> None:
    """Lesson 07's first cell: print that this Python can run the lesson, or raise ``RuntimeError`` saying what to do.

    The lesson uses ``concurrent.interpreters`` and ``concurrent.futures.InterpreterPoolExecutor``, new in
    Python 3.14. On an older Python the error stops Run All at once, instead of letting every later cell
    fail on an import.
    """
    if sys.version_info < (3, 14):
        raise RuntimeError(
            f"{UNAVAILABLE}. To take it: install Python 3.14 or later (python.org, or `uv python install 3.14`, or "
            "`pyenv install 3.14`), make a virtual environment with it, run `python -m pip install -r "
            "requirements.txt` there, and start JupyterLab from it; or run the course on Binder, whose environment "
            "is Python 3.14 (binder/runtime.txt). Lessons 00 to 06 run on Python 3.11 and later."
        )
    print("Python 3.14 or later ✔: concurrent.interpreters and InterpreterPoolExecutor are here; this lesson runs.")


class Table:
    """Rows of text columns, shown aligned: what the lesson's tables are (``rows`` holds the cells)."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.header = [str(h) for h in header]
        self.rows = [[str(cell) for cell in row] for row in rows]
        if any(len(row) != len(self.header) for row in self.rows):
            raise ValueError(f"every row needs {len(self.header)} cells, one per column of {self.header}")

    def __str__(self) -> str:
        lines = [self.header, *self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.header))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
        )

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


# ----------------------------------------------------------------------------- errors, in one line

_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failed)): ?(.*)$")


def _exception_lines(text: str) -> list[str]:
    """``Name: message`` for every exception line of a formatted traceback, in the order shown.

    A chained traceback shows the first cause first. Dotted names lose their module
    (``concurrent.interpreters.NotShareableError`` becomes ``NotShareableError``); empty messages are skipped.
    """
    found = []
    for line in text.splitlines():
        match = _EXCEPTION_LINE.match(line.strip())
        if match and match.group(2).strip():
            found.append(f"{match.group(1)}: {match.group(2).strip()}")
    return found


def describe_error(exc: BaseException) -> str:
    """The first cause of ``exc`` as one line, ``"ExceptionName: message"``, the same on Python 3.14 and 3.15.

    Errors cross interpreters as text: ``ExecutionFailed`` carries the subinterpreter's traceback in its
    ``excinfo``, and a ``NotShareableError`` raised while unpickling has as its ``__cause__`` an
    ``Exception`` whose message is a formatted traceback. This walks to the first cause and returns its
    exception line, e.g. ``ImportError: module numpy._core._multiarray_umath does not support loading in
    subinterpreters`` (NumPy's own longer message, which names the Python version and its path, comes
    later in the chain and is skipped).
    """
    chain = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in reversed(chain):  # the first cause first
        info = getattr(error, "excinfo", None)
        if info is not None:
            text = getattr(info, "errdisplay", None) or getattr(info, "formatted", "") or ""
            lines = _exception_lines(text)
            if lines:
                return lines[0]
            name = getattr(getattr(info, "type", None), "__name__", type(error).__name__)
            return f"{name}: {getattr(info, 'msg', '')}".rstrip(": ")
        lines = _exception_lines(str(error)) if type(error) is Exception else []
        if lines:
            return lines[0]
    first = chain[-1]
    return f"{type(first).__name__}: {first}" if str(first) else type(first).__name__


def _interpreter() -> _Interpreter:
    """A new subinterpreter for one experiment, closed when the ``with`` block ends, however it ends."""
    if sys.version_info < (3, 14):
        raise _too_old()
    return _Interpreter()


class _Interpreter(GuardedBlock[Any]):
    _interp: Any = None

    def _open(self) -> Any:
        with interrupts_deferred():  # never an interpreter without the clean-up in place
            self._interp = interpreters.create()
        return self._interp

    def _close(self) -> None:
        interp, self._interp = self._interp, None
        if interp is not None:
            interp.close()


# ----------------------------------------------------------------------------- workers (importable, NumPy-free)

#: Lesson 01's global list, again: filled in a subinterpreter, it stays empty in the main one.
result: list[int] = []


def fill_global_list(numbers: Sequence[int]) -> int:
    """Worker: append the squares of ``numbers`` to this module's global :data:`result`; return its length.

    It uses a module global, so a subinterpreter gets it by name: it imports ``helpers.subinterpreters``
    for itself, with its own, empty ``result``.
    """
    result.extend(n * n for n in numbers)
    return len(result)


def result_here() -> list[int]:
    """Worker: this interpreter's :data:`result` (a list: pickled on its way back)."""
    return list(result)


def where_am_i() -> tuple[int, int, int]:
    """Worker: (process id, interpreter id, operating-system thread id) of whoever runs it."""
    if sys.version_info < (3, 14):
        raise _too_old()
    import os

    return os.getpid(), interpreters.get_current().id, threading.get_native_id()


def spin(iterations: int) -> int:
    """Worker: CPU-bound pure-Python work, ``iterations`` loop turns (as ``helpers.measuring.spin``).

    It uses nothing but builtins, so a subinterpreter receives its code, not its name, and runs it
    without importing anything.
    """
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


@noted
def fill_squares(view: Any) -> int:
    """Worker: write ``i * i % 256`` into byte ``i`` of ``view`` (a writable buffer of bytes); return how many.

    Given a ``memoryview``, a subinterpreter writes into the caller's memory; given a ``bytearray``, into
    its own copy.
    """
    n = len(view)
    for i in range(n):
        view[i] = i * i % 256
    return n


@noted
def put_squares(queue: Any, count: int) -> None:
    """Worker: put ``i * i`` on ``queue`` for each ``i`` in ``range(count)``, one item each."""
    for i in range(count):
        queue.put(i * i)


def double_elements(view: Any) -> int:
    """Worker: double every element of ``view``, a writable one-dimensional ``memoryview``; return how many.

    Given ``memoryview(array)`` of a NumPy array, it changes the array's own elements: one at a time, in
    pure Python (a subinterpreter cannot import NumPy), read and written as the view's ``format`` says
    (``'d'``, a C double, for float64).
    """
    for i in range(len(view)):
        view[i] *= 2
    return len(view)


def _write_ends(view: Any) -> None:
    """Worker: set the first byte of ``view`` to 7 and the last to 9."""
    view[0] = 7
    view[len(view) - 1] = 9


def _length(data: Any) -> int:
    """Worker: ``len(data)``."""
    return len(data)


def _receive(inbox: Any, main_id: int) -> tuple[bool, str, bool]:
    """Worker: take one item from ``inbox``; (is it the main interpreter's object, its repr, did a write work).

    The write adds 1 to the first byte of a ``memoryview`` or ``bytearray`` that arrives, so that the
    main interpreter can see whether it shares that memory.
    """
    item = inbox.get()
    wrote = False
    if isinstance(item, (memoryview, bytearray)) and len(item) and not getattr(item, "readonly", False):
        item[0] = (item[0] + 1) % 256
        wrote = True
    return id(item) == main_id, repr(item), wrote


# ----------------------------------------------------------------------------- what crosses, and how


class _Point:
    """A small class of this module: its instances pickle by reference to ``helpers.subinterpreters``."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def _examples() -> list[tuple[str, Any]]:
    import numpy as np  # main interpreter only

    return [
        ("None", None),
        ("True", True),
        ("42", 42),
        ("()", ()),
        ("3.5", 3.5),
        ("'text'", "text"),
        ("b'bytes'", b"bytes"),
        ("(1, 'a', None)", (1, "a", None)),
        ("(1, [2])", (1, [2])),
        ("memoryview(bytearray(8))", memoryview(bytearray(8))),
        ("bytearray(8)", bytearray(8)),
        ("[1, 2]", [1, 2]),
        ("{'a': 1}", {"a": 1}),
        ("a class instance", _Point(1, 2)),
        ("np.zeros(3)", np.zeros(3)),
        ("threading.Lock()", threading.Lock()),
    ]


def _prepare(interp: Any, obj: Any) -> str:
    """Whether ``prepare_main`` (which never pickles) accepts ``obj``: ``"yes"`` or ``"refused"``."""
    if sys.version_info < (3, 14):
        raise _too_old()
    try:
        interp.prepare_main(item=obj)
    except interpreters.NotShareableError:
        return "refused"
    interp.exec("del item")
    return "yes"


def _travel(interp: Any, obj: Any) -> str:
    """What a queue delivers of ``obj`` to ``interp``, measured, in a few words."""
    if sys.version_info < (3, 14):
        raise _too_old()
    queue = interpreters.create_queue()
    try:
        queue.put(obj)
    except Exception as exc:  # any refusal is the answer
        return f"refused: {type(exc).__name__}"
    before = bytes(obj[:1]) if isinstance(obj, (memoryview, bytearray)) else None
    try:
        same, text, wrote = interp.call(_receive, queue, id(obj))
    except interpreters.ExecutionFailed as exc:
        return f"pickled, fails there: {describe_error(exc).split(':')[0]}"
    if before is not None and wrote and isinstance(obj, (memoryview, bytearray)):
        changed = bytes(obj[:1]) != before
        obj[0] = before[0]  # undo the write
        if changed:
            return "shared: a view of the same memory"
    if _prepare(interp, obj) == "refused":
        return "pickled: a copy"
    if same:
        return "shared: the same object"
    return "shared: a new, equal object" if text == repr(obj) else "shared: a new object"


def shareable_table(examples: Sequence[tuple[str, Any]] | None = None) -> Table:
    """A table of objects: "shareable" or not, and what ``prepare_main`` and a queue make of each, measured.

    ``examples`` is a list of (label, object) pairs; by default a row for each of None, True, a small int,
    the empty tuple, a float, str, bytes, tuples, a memoryview, a bytearray, a list, a dict, a class
    instance, a NumPy array and a lock. Every cell after the first two is what happened when the object
    was sent to a new subinterpreter: ``prepare_main`` takes shareable objects only, never pickles (and
    refuses a tuple holding a list, which ``is_shareable`` accepts: it looks at the type, not at the
    items); a queue shares what it can and pickles the rest, which may then fail to load on the other
    side. "the same object" means the subinterpreter got the very object of the main interpreter (``id``
    is the same: one process, one address space); "a view of the same memory" that a byte written there
    changed here.
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    rows = []
    with _interpreter() as interp:
        for label, obj in _examples() if examples is None else examples:
            shareable = "yes" if interpreters.is_shareable(obj) else "no"
            rows.append((label, shareable, _prepare(interp, obj), _travel(interp, obj)))
    return Table(["object", "is_shareable", "prepare_main", "what a queue delivers to the subinterpreter"], rows)


# ----------------------------------------------------------------------------- one memory, two interpreters


@dataclass(frozen=True)
class ShareResult:
    """What :func:`share_and_write` measured."""

    nbytes: int
    seen_in_main: bool
    share_seconds: float
    copy_seconds: float

    @property
    def copy_over_share(self) -> float:
        """How many times longer handing over a copy of the bytes took than handing over the view."""
        return self.copy_seconds / self.share_seconds

    def claims(self, factor: float = 10) -> list[str]:
        """Statements that read the same on every machine, each ending True or False."""
        return [
            f"the subinterpreter's writes are seen in the main interpreter: {self.seen_in_main}",
            f"handing over the view was at least {factor:g}x faster than handing over a copy: "
            f"{self.copy_over_share >= factor}",
        ]


def share_and_write(nbytes: int = 64 * MiB, repeats: int = 3) -> ShareResult:
    """Hand a ``memoryview`` of a ``bytearray`` of ``nbytes`` to a subinterpreter, write in it there, read here.

    Timed (the fastest of ``repeats``): a call that hands over the view and writes its first and last byte
    in the subinterpreter, against a call that hands over ``bytes`` of the same size (shareable too, but
    made anew there: a copy) and takes their length. The view costs the same at any size: no byte is
    copied.
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    nbytes = positive_int("nbytes", nbytes)
    repeats = positive_int("repeats", repeats)
    if nbytes < 2:
        raise ValueError(f"nbytes must be at least 2 (a first and a last byte), got {nbytes}")
    buf = bytearray(nbytes)
    data = bytes(nbytes)
    share, copy = [], []
    with _interpreter() as interp:
        for _ in range(repeats):
            with memoryview(buf) as view:
                start = time.perf_counter()
                interp.call(_write_ends, view)
                share.append(time.perf_counter() - start)
            start = time.perf_counter()
            interp.call(_length, data)
            copy.append(time.perf_counter() - start)
    return ShareResult(nbytes, buf[0] == 7 and buf[-1] == 9, min(share), min(copy))


# ----------------------------------------------------------------------------- which modules load


@dataclass(frozen=True)
class ImportOutcome:
    """The outcome of ``import <module>`` in a new subinterpreter."""

    module: str
    error: str = ""

    @property
    def ok(self) -> bool:
        """True if the import worked."""
        return not self.error

    def __str__(self) -> str:
        return f"import {self.module}: " + ("works" if self.ok else f"fails, {self.error}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def try_import(module: str) -> ImportOutcome:
    """Import ``module`` in a new subinterpreter (closed afterwards); report the first cause of any error.

    Safe: the failure stays in that subinterpreter, and the main interpreter is not affected (NumPy keeps
    working here). ``try_import("numpy")`` gives
    ``ImportError: module numpy._core._multiarray_umath does not support loading in subinterpreters``.
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    if not isinstance(module, str) or not _MODULE_NAME.match(module):
        raise ValueError(f"module must be a module name such as 'json' or 'xml.etree', got {module!r}")
    with _interpreter() as interp:
        try:
            interp.exec(f"import {module}")
        except interpreters.ExecutionFailed as exc:
            return ImportOutcome(module, describe_error(exc))
    return ImportOutcome(module)


def import_table(modules: Sequence[str] = ("json", "decimal", "ctypes", "sqlite3", "numpy")) -> Table:
    """:func:`try_import` for each of ``modules``: a table of what loads in a subinterpreter."""
    if isinstance(modules, str):
        raise ValueError(f"modules must be a list of module names, got the single string {modules!r}")
    rows = []
    for name in modules:
        outcome = try_import(name)
        rows.append((name, "yes" if outcome.ok else "no", outcome.error))
    return Table(["module", "loads", "error"], rows)


# ----------------------------------------------------------------------------- three ways to run the same work


def _gil_enabled() -> bool:
    """Whether the GIL is on in this process (always, before Python 3.13 and on standard builds)."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def spin_timed(iterations: int) -> tuple[int, float]:
    """Worker: :func:`spin`, and the CPU seconds the thread that ran it spent on it (``time.thread_time()``).

    The worker's own record of the work it did, made where it ran (a process, an interpreter, a thread):
    :func:`compare_workers` adds these up to say how many CPUs each way kept busy.
    """
    start = time.thread_time()
    total = spin(iterations)
    return total, time.thread_time() - start


@dataclass(frozen=True)
class WorkerTimes:
    """The same pure-Python tasks, round by round: serial, and on ``workers`` processes, interpreters and threads.

    ``seconds[kind][i]`` is the wall time of round ``i`` for ``kind``; ``cpu_seconds[kind][i]`` the CPU time its
    tasks reported spending (each task's :func:`spin_timed`, added up).
    """

    workers: int
    cpus: int
    gil: bool
    seconds: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: dict[str, list[float]] = field(default_factory=dict)

    def _check(self, kind: str) -> None:
        if kind not in self.seconds or kind == "serial":
            raise ValueError(f"kind must be one of {[k for k in self.seconds if k != 'serial']}, got {kind!r}")

    def speedup(self, kind: str) -> float:
        """``kind``'s speedup over serial (``"processes"``, ``"interpreters"`` or ``"threads"``).

        The median over the rounds of serial seconds / ``kind``'s seconds in the same round. On a machine
        busy with other work it says as much about the other work as about ``kind``: :meth:`busy` does not.
        """
        self._check(kind)
        return statistics.median(s / t for s, t in zip(self.seconds["serial"], self.seconds[kind], strict=True))

    def _busy(self, kind: str) -> list[float]:
        self._check(kind)
        return [cpu / wall for cpu, wall in zip(self.cpu_seconds[kind], self.seconds[kind], strict=True)]

    def busy(self, kind: str) -> float:
        """How many CPUs ``kind``'s workers kept busy: the CPU seconds their tasks spent / the wall seconds they took.

        The median over the rounds. Threads that take turns on one GIL keep at most one CPU busy, however many
        CPUs there are; processes and interpreters as many as they have workers, CPUs free for them, and quota.
        Other programs on the machine lower it for processes and interpreters alike.
        """
        return statistics.median(self._busy(kind))

    def busy_ratio(self, kind: str, other: str) -> float:
        """How many times as many CPUs ``kind`` kept busy as ``other``: the median over the rounds of the ratio
        within each round (ways timed one right after the other meet the same load on the machine)."""
        return statistics.median(a / b for a, b in zip(self._busy(kind), self._busy(other), strict=True))

    def claims(self, margin: float = 0.4, one_cpu: float = 1.1) -> list[str]:
        """Statements that hold on 1 CPU and on many, under a CPU quota and beside busy programs, each ending
        True or False.

        1. With the GIL, threads kept at most one CPU busy (:meth:`busy` at most ``one_cpu``: the GIL's hand-overs
           cost a little CPU time of their own). Without it, on a free-threaded build, the line says instead
           whether threads kept about as many CPUs busy as interpreters, give or take ``margin``.
        2. Interpreters kept about as many CPUs busy as processes, give or take ``margin`` (of the larger).

        They compare CPU time, not wall time: a busy loop beside the run slows processes, interpreters and
        threads in ways that swing their speedups (the wall-time claims this replaced, "interpreters ran at
        least as fast as threads", failed in 5 of 10 runs of the lesson on a machine shared with other test runs),
        while threads on one GIL never keep more than one CPU busy. How many CPUs processes and interpreters get
        depends on the rest of the machine, alike for both but not exactly: on the course's 2-vCPU machine with a
        load average of 8 to 20, the ratio of interpreters to processes (:meth:`busy_ratio`) ranged from 0.77 to
        1.32 over 62 runs, and one run in ten of the lesson came out below 0.75; hence ``margin`` 40%, which still
        tells apart interpreters that keep 2 CPUs busy from ones that keep 1 (a ratio of about 0.5).
        """
        if self.gil:
            threads = f"threads, taking turns on one GIL, kept at most one CPU busy: {self.busy('threads') <= one_cpu}"
        else:
            threads = (
                f"threads, with no GIL on this build, kept about as many CPUs busy as interpreters (give or take "
                f"{margin:.0%}): {_about(self.busy_ratio('threads', 'interpreters'), margin)}"
            )
        return [
            threads,
            f"interpreters kept about as many CPUs busy as processes (give or take {margin:.0%}): "
            f"{_about(self.busy_ratio('interpreters', 'processes'), margin)}",
        ]

    def __str__(self) -> str:
        """This run's figures, e.g. ``CPUs kept busy: processes 1.9, ...`` and ``speedup over serial: ...``."""
        kinds = ("processes", "interpreters", "threads")
        return (
            "CPUs kept busy: " + ", ".join(f"{kind} {self.busy(kind):.1f}" for kind in kinds) + f" (of {self.cpus})\n"
            "speedup over serial: " + ", ".join(f"{kind} {self.speedup(kind):.1f}x" for kind in kinds)
        )


def _about(ratio: float, margin: float) -> bool:
    """Whether two figures whose ratio is ``ratio`` differ by at most ``margin`` of the larger."""
    return min(ratio, 1 / ratio) >= 1 - margin


#: A pause longer than a CPU quota's period (100 ms, the Linux default that Docker and Kubernetes keep).
QUOTA_REFILL_SECONDS = 0.11

#: How long a wait for workers blocks at most before the main thread looks at its signals again (seconds).
WAIT_SLICE_SECONDS = 0.05


def _wait_for_a_full_quota() -> None:
    time.sleep(QUOTA_REFILL_SECONDS)


def _gather(futures: Sequence[Future[Any]]) -> list[Any]:
    """The results of ``futures``, in order, waited for in slices of :data:`WAIT_SLICE_SECONDS`.

    A wait that blocks on a lock wakes for Ctrl-C (Kernel → Interrupt) only if the signal reaches the main thread
    itself, and a signal sent to a process may go to any of its threads; a wait in short slices returns to
    Python often, and Python then handles a signal that arrived anywhere. So Interrupt ends the wait within a
    slice. Futures not yet done are cancelled when the wait ends with an error.
    """
    pending = set(futures)
    try:
        while pending:
            _, pending = wait(pending, timeout=WAIT_SLICE_SECONDS)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [future.result() for future in futures]


def _shut_down(pool: Executor) -> None:
    pool.shutdown(wait=True, cancel_futures=True)  # after an interrupt: queued tasks never start


def compare_workers(work: int = 1_500_000, workers: int | None = None, repeats: int = 7) -> WorkerTimes:
    """Run :func:`spin_timed` on ``work`` loop turns in all (4 tasks per worker), four ways, round by round.

    ``serial`` in this thread; ``processes`` on a ``ProcessPoolExecutor``, ``interpreters`` on an
    ``InterpreterPoolExecutor``, ``threads`` on a ``ThreadPoolExecutor``, each with ``workers`` workers
    (default: the usable CPUs, at least 2), started and warmed up first. The processes come from
    :func:`no_fork_context` (a process forked while a subinterpreter exists crashes) and ignore Ctrl-C, which a
    kernel's Interrupt sends to them too. Then each of ``repeats`` rounds times every way once, in the order serial,
    threads, processes, interpreters, and backwards in every other round, so that processes and interpreters always
    meet the same load on the machine. Each way's wall time is kept, and the CPU time its tasks reported
    (:meth:`WorkerTimes.busy`). Waits are cut into short slices (:func:`_gather`), and every task is short (20 ms
    or so), so Interrupt ends the call within a fraction of a second; every pool is shut down before this returns.

    Under a CPU quota (Binder, a container) each timing starts after a pause of one quota period: a quota is CPU
    time per period, and processes or interpreters that ran on 2 CPUs spend it early, so whatever is timed next
    would start throttled (in a 1-CPU box the interpreters, timed after the processes in most rounds, once
    came out slower than the threads: 1 run in 16 without the pause).
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    cpus = usable_cpus()
    quota = cgroup_cpu_limit() is not None
    workers = max(2, cpus) if workers is None else positive_int("workers", workers)
    repeats = positive_int("repeats", repeats)
    if isinstance(work, bool) or not isinstance(work, int) or work < 1000:
        raise ValueError(f"work must be an int of at least 1000 loop turns, got {work!r}")
    tasks = [work // (4 * workers)] * (4 * workers)
    kinds = ["serial", "threads", "processes", "interpreters"]  # processes and interpreters side by side
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu_times: dict[str, list[float]] = {kind: [] for kind in kinds}
    with contextlib.ExitStack() as stack:
        pools: dict[str, Executor] = {}
        for kind in kinds[1:]:
            if kind == "processes":  # they ignore Ctrl-C, which Interrupt sends to the kernel's children too
                pools[kind] = ProcessPoolExecutor(
                    workers, no_fork_context(), initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN)
                )
            else:
                pools[kind] = (InterpreterPoolExecutor if kind == "interpreters" else ThreadPoolExecutor)(workers)
            stack.callback(_shut_down, pools[kind])
        for pool in pools.values():  # start every worker
            _gather([pool.submit(spin_timed, 10_000) for _ in range(4 * workers)])
        for round_ in range(repeats):
            for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
                if quota:
                    _wait_for_a_full_quota()
                start = time.perf_counter()
                if kind == "serial":
                    done = [spin_timed(n) for n in tasks]
                else:
                    done = _gather([pools[kind].submit(spin_timed, n) for n in tasks])
                times[kind].append(time.perf_counter() - start)
                cpu_times[kind].append(sum(cpu for _, cpu in done))
    return WorkerTimes(workers, cpus, _gil_enabled(), times, cpu_times)


# ----------------------------------------------------------------------------- start costs


def _nothing() -> None:
    """Worker: do nothing (an empty thread or process)."""


def no_fork_context() -> Any:
    """A ``multiprocessing`` context that never forks this process: ``forkserver`` where it exists, else ``spawn``.

    While a subinterpreter exists, a child made by ``fork`` crashes at once (SIGSEGV, exit code -11),
    before it runs any of its code: CPython issue gh-139759, open for 3.14 and 3.15. ``forkserver`` forks
    its children from its server, a separate process with no subinterpreters, and ``spawn`` starts a new
    program. Use it whatever the default start method is.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@contextlib.contextmanager
def _no_core_dumps() -> Iterator[None]:
    """Children started in the block write no core file when they crash (Unix; elsewhere nothing changes)."""
    try:
        import resource
    except ImportError:  # Windows
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


@contextlib.contextmanager
def _quiet_fork_warning() -> Iterator[None]:
    """Silence 3.12+'s warning about forking a multi-threaded process: the empty child takes no lock."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
        yield


def fork_while_open() -> int | None:
    """Fork an empty child with ``multiprocessing``'s ``fork`` context while a subinterpreter exists; its exit code.

    The child crashes with SIGSEGV (exit code -11) on Python 3.14 and 3.15 (CPython issue gh-139759)
    before it runs any of its code; it writes no core file (its core-size limit is 0) and no fault
    report (``faulthandler`` is off while it starts). It is joined under a 10 s deadline and killed if it
    hangs instead (the exit code is then None). None too where there is no ``fork`` (Windows).
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    import faulthandler

    was_enabled = faulthandler.is_enabled()
    with _interpreter(), _quiet_fork_warning(), _no_core_dumps():
        child = multiprocessing.get_context("fork").Process(target=_nothing, name="forked-beside-a-subinterpreter")
        faulthandler.disable()
        try:
            child.start()
        finally:
            if was_enabled:
                faulthandler.enable()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
            return None
        return child.exitcode


#: How many times :func:`start_costs` starts a thread in each round (the fastest is kept).
THREAD_STARTS = 10


def start_costs(repeats: int = 5) -> dict[str, float]:
    """Seconds to start and finish an empty thread, an interpreter, and a process per start method.

    ``thread``: start and join a thread. ``interpreter``: ``create()`` then ``close()``. ``forkserver`` and
    ``spawn`` (those this platform has): start and join a process that runs ``time.sleep(0)``, as lesson 05
    did (a standard-library target, so the child imports nothing of the course); the first ``forkserver``
    start, which may also start the server, is not counted. ``fork`` is not measured: a process forked while
    a subinterpreter exists crashes (see :func:`fork_while_open`).

    Timed in ``repeats`` interleaved rounds (thread, interpreter, forkserver, spawn, thread, interpreter, ...),
    and the fastest of each kind kept: a burst of other work on the machine slows whatever runs during it, and
    interleaving spreads that over every kind alike instead of landing on the one timed then. A thread, which
    takes a few hundredths of a millisecond, is started :data:`THREAD_STARTS` times in each round: one wait for
    a CPU, a millisecond or more on a busy machine, is many times its cost. (With one start per round, in a
    kernel on 3.14 with two busy loops and a test run beside it, all five starts of a run waited so in 4 of 20
    runs, and the interpreter was then only 4.5 to 9.1 times slower; with 10 per round, 12.6 times at the least.)
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    repeats = positive_int("repeats", repeats)

    def thread() -> None:
        t = threading.Thread(target=_nothing)
        t.start()
        t.join()

    def interpreter() -> None:
        interpreters.create().close()

    starts: dict[str, Callable[[], None]] = {"thread": thread, "interpreter": interpreter}
    for method in ("forkserver", "spawn"):
        if method not in multiprocessing.get_all_start_methods():
            continue

        context = multiprocessing.get_context(method)

        def process(ctx: Any = context, method: str = method) -> None:
            exitcode = run_with_deadline([ctx.Process(target=time.sleep, args=(0,))], seconds=60).outcomes[0].exitcode
            if exitcode != 0:
                raise RuntimeError(f"an empty {method} process ended with exit code {exitcode}")

        if method == "forkserver":
            process()  # the server starts here, if it did not run yet
        starts[method] = process
    rounds = [
        {kind: min(call_times(start, THREAD_STARTS if kind == "thread" else 1)) for kind, start in starts.items()}
        for _ in range(repeats)
    ]
    return {kind: min(r[kind] for r in rounds) for kind in starts}


def start_claims(costs: dict[str, float]) -> list[str]:
    """Statements about :func:`start_costs` that read the same on every machine, each ending True or False.

    Measured on the course's 2-vCPU machine with Python 3.14, in a plain process (tests/claims_subinterpreters.py,
    52 runs, with other engineers' test runs on the machine, load average 8 to 20, and 0, 1 or 2 busy loops beside
    it, or in a 1-CPU quota): a spawn process took 11 to 99 times as long as an interpreter, and an interpreter 39
    to 521 times as long as a thread, so both claims held in every run by a wide margin. A process from a running
    forkserver took 0.17 to 2.0 times as long as an interpreter there: a forkserver start waits for three processes
    to be scheduled, which on a busy machine can cost more than an interpreter's set-up, so that is no claim (on a
    quiet machine, in a kernel, it took 2.5 to 6 ms and an interpreter 16 to 27 ms; the lesson's prose says so).
    In a kernel (what the lesson runs in), with two busy loops beside it, an interpreter took 82 to 360 times as
    long as the fastest of a round's :data:`THREAD_STARTS` thread starts (30 runs, 3.14.10); with one start per
    round it had fallen to 4.5 (see :func:`start_costs`).
    """
    for kind in ("thread", "interpreter", "spawn"):
        if kind not in costs:
            raise ValueError(f"costs has no {kind!r} time; pass what start_costs() returned")
    return [
        f"a new interpreter starts faster than a spawn process: {costs['spawn'] > costs['interpreter']}",
        f"a thread starts at least 10x faster than a new interpreter: {costs['interpreter'] >= 10 * costs['thread']}",
    ]


# ----------------------------------------------------------------------------- races, back in one process


class _Box:
    """A counter that threads share: one attribute, ``value``."""

    def __init__(self) -> None:
        self.value = 0


def _plus_one(x: int) -> int:
    return x + 1


def _add_plain(box: _Box, increments: int, start: threading.Barrier, lock: Any) -> None:
    start.wait()
    for _ in range(increments):
        box.value += 1


def _add_through_call(box: _Box, increments: int, start: threading.Barrier, lock: Any) -> None:
    start.wait()
    for _ in range(increments):
        box.value = _plus_one(box.value)  # read, call (a thread switch may happen on entry), write


def _add_locked(box: _Box, increments: int, start: threading.Barrier, lock: Any) -> None:
    start.wait()
    for _ in range(increments):
        with lock:
            box.value = _plus_one(box.value)


_THREAD_WORKERS: dict[str, Callable[[_Box, int, threading.Barrier, Any], None]] = {
    "+= 1": _add_plain,
    "read, call, write": _add_through_call,
    "read, call, write, locked": _add_locked,
}


@dataclass(frozen=True)
class ThreadRace:
    """What the last run of :func:`thread_race` gave."""

    strategy: str
    threads: int
    increments: int
    arrived: int
    runs: int = 1

    @property
    def expected(self) -> int:
        """The count if no increment were lost: threads × increments."""
        return self.threads * self.increments

    @property
    def lost(self) -> int:
        """Increments that never arrived."""
        return self.expected - self.arrived


def thread_race(
    strategy: str = "read, call, write",
    threads: int = 4,
    increments: int = 200_000,
    switch_interval: float = 1e-4,
    tries: int = 3,
) -> ThreadRace:
    """Start ``threads`` threads that each add 1 to one shared counter ``increments`` times, by ``strategy``.

    Runs again, up to ``tries`` runs in all, while no update was lost, and returns the last run (its
    ``runs`` says how many there were): whether a run loses updates depends on where the threads happened
    to switch. Measured on 2 CPUs (3.14 and 3.15) with the defaults: ``"read, call, write"`` lost updates in
    every one of 160 single runs; ``"+= 1"`` never, in 40 million increments.

    Strategies: ``"+= 1"`` (``box.value += 1``), ``"read, call, write"`` (``box.value =
    plus_one(box.value)``), and the same under a ``threading.Lock``. The threads share the counter: no
    pickling, no ``Value``, one object. With the GIL, a thread switch happens only where the interpreter
    checks for one (on this build: on entry to a Python function and at a loop's jump back), never in the
    middle of ``box.value += 1``, so that line loses nothing here, by luck of the implementation rather than
    by any promise; a call between the read and the write opens lesson 03's gap. ``switch_interval``
    (seconds; ``sys.setswitchinterval``, 0.005 by default) is lowered during the run so that switches are
    frequent, as on a busy machine, and restored afterwards.
    """
    if strategy not in _THREAD_WORKERS:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {list(_THREAD_WORKERS)}")
    threads = positive_int("threads", threads)
    increments = positive_int("increments", increments)
    tries = positive_int("tries", tries)
    if (
        isinstance(switch_interval, bool)
        or not isinstance(switch_interval, (int, float))
        or not 0 < switch_interval <= 1
    ):
        raise ValueError(f"switch_interval is in seconds, more than 0 and at most 1, got {switch_interval!r}")
    race = _one_thread_race(strategy, threads, increments, switch_interval, 1)
    for run in range(2, tries + 1):
        if race.lost:
            break
        race = _one_thread_race(strategy, threads, increments, switch_interval, run)
    return race


def _one_thread_race(strategy: str, threads: int, increments: int, switch_interval: float, run: int) -> ThreadRace:
    box, lock = _Box(), threading.Lock()
    start = threading.Barrier(threads)
    workers = [
        threading.Thread(target=_THREAD_WORKERS[strategy], args=(box, increments, start, lock), name=f"adder-{i}")
        for i in range(threads)
    ]
    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return ThreadRace(strategy, threads, increments, box.value, run)


# ----------------------------------------------------------------------------- interrupts


@dataclass(frozen=True)
class InterruptOutcome:
    """Where an interrupt went while a subinterpreter ran a loop of ``loop_seconds`` in the main thread.

    Each field is a record made where it happened: the loop set a byte of a shared buffer when it began and
    another when it ended, and the main interpreter read them when it sent the interrupt and when the
    ``KeyboardInterrupt`` reached it.
    """

    loop_seconds: float
    sent_after: float
    sent_while_looping: bool
    raised: bool
    loop_ended_before_raise: bool
    loop_finished: bool

    def claims(self) -> list[str]:
        """Statements that read the same on every machine, each ending True or False."""
        return [
            f"Interrupt was pressed while the subinterpreter's loop ran: {self.sent_while_looping}",
            f"the subinterpreter's loop ran to its end: {self.loop_finished}",
            "KeyboardInterrupt reached the main interpreter only after the loop ended: "
            f"{self.raised and self.loop_ended_before_raise}",
        ]


#: The bytes of :func:`interrupt_during_exec`'s shared flags: the loop began, the loop ended.
_BEGAN, _ENDED = 0, 1


def interrupt_during_exec(loop_seconds: float = 0.5, sent_after: float = 0.1) -> InterruptOutcome:
    """Run a busy loop of ``loop_seconds`` in a subinterpreter from this thread; interrupt it ``sent_after`` in.

    The interrupt is ``_thread.interrupt_main()``, what a kernel interrupt (the stop button, Ctrl-C) does
    to the main thread: it raises ``KeyboardInterrupt`` in the *main interpreter*, which handles it only
    once the subinterpreter's code has returned. It is sent ``sent_after`` seconds after the loop has begun,
    as the loop itself says (it sets a byte in a ``memoryview`` shared with this interpreter), so a slow start
    on a busy machine cannot make it arrive before the loop. The ``KeyboardInterrupt`` is caught here and
    reported.
    """
    if sys.version_info < (3, 14):
        raise _too_old()
    for name, value in (("loop_seconds", loop_seconds), ("sent_after", sent_after)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not 0 < sent_after < loop_seconds <= 10:
        raise ValueError(
            f"need 0 < sent_after < loop_seconds <= 10, got sent_after={sent_after!r}, loop_seconds={loop_seconds!r}"
        )
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("interrupt_during_exec must run in the main thread, where interrupts arrive")
    code = (
        "import time\n"
        f"end = time.monotonic() + {float(loop_seconds)!r}\n"
        f"flags[{_BEGAN}] = 1\n"
        "while time.monotonic() < end:\n"
        "    pass\n"
        f"flags[{_ENDED}] = 1\n"
    )
    flags = bytearray(2)
    sent: list[bool] = []
    stop = threading.Event()

    def press_interrupt() -> None:  # in a thread of the main interpreter, which runs while the loop does
        while not flags[_BEGAN]:
            if stop.wait(0.001):
                return
        if not stop.wait(sent_after):
            sent.append(not flags[_ENDED])
            _thread.interrupt_main()

    raised = ended_at_raise = False
    with _interpreter() as interp, memoryview(flags) as view:
        interp.prepare_main(flags=view)
        presser = threading.Thread(target=press_interrupt, name="interrupt-presser")
        try:
            presser.start()
            interp.exec(code)
            presser.join(loop_seconds + 10)  # the interrupt, if sent, is handled at once after this
            time.sleep(WAIT_SLICE_SECONDS)  # were it lost, it would have time to arrive here
        except KeyboardInterrupt:
            raised, ended_at_raise = True, bool(flags[_ENDED])
        finally:
            stop.set()
            presser.join()
        interp.exec("del flags")  # the view is released before this interpreter closes
    return InterruptOutcome(
        loop_seconds, sent_after, bool(sent) and sent[0], raised, ended_at_raise, bool(flags[_ENDED])
    )


# ----------------------------------------------------------------------------- exercise checks


def _is_unbound(item: object) -> bool:
    """Whether ``item`` is the marker a queue gives for an item whose interpreter was closed."""
    return type(item).__name__ == "UnboundQueueItem" or "UNBOUND" in repr(item)


def _items_left(queue: object) -> int:
    """How many items a subinterpreters queue still holds (0 for anything else)."""
    qsize = getattr(queue, "qsize", None) if type(queue).__module__.startswith("concurrent.interpreters") else None
    return qsize() if callable(qsize) else 0


def _is_open(interp: object) -> bool:
    if sys.version_info < (3, 14):
        raise _too_old()
    return getattr(interp, "id", None) in {i.id for i in interpreters.list_all()}


def _put_by(worker: object) -> str | None:
    """None if ``worker`` ran put_squares in the latest cell that ran it, else who did, in words."""
    queue = getattr(notebook_variable("results_queue"), "id", None)  # the starter's: notes about others are older
    puts = cell_notes(
        "put_squares", lambda n: queue is None or n["args"].get("queue", {}).get("id") == f"interpreters-queue:{queue}"
    )
    ran_in = {n["interp"] for n in puts}
    if getattr(worker, "id", None) in ran_in:
        return None
    if not ran_in:
        return "no interpreter running put_squares (the list was made some other way)"
    if 0 in ran_in:
        return "the main interpreter (put_squares ran here, not in worker)"
    interp = notebook_variable("interp")
    if getattr(interp, "id", None) in ran_in:
        return "section 1's interp"
    return f"another interpreter (id {min(ran_in)})"


@self_check("results read before the interpreter closed")
def check_read_before_close(feedback: Feedback, results: object, worker: object, count: int = 5) -> None:
    """Exercise 1: ``results`` holds the ``count`` squares a subinterpreter put on a queue, read before
    ``worker``, that subinterpreter, was closed; and ``worker`` is closed."""
    if sys.version_info < (3, 14):
        raise _too_old()
    expected = [i * i for i in range(count)]
    if results is None and worker is None:
        feedback.fail(
            "results and worker are still None: the cell above stopped before it set them (its error is above). "
            "After the Clean up cell, run the lesson from the top first: Run > Run All Above Selected Cell"
        )
        return
    if not isinstance(results, list):
        kind = type(results).__name__
        if kind == "generator":
            hint = (
                ": a generator reads nothing until it is used, and that was after the close; make it a list, "
                f"[results_queue.get() for _ in range({count})]"
            )
        elif isinstance(results, tuple) and len(results) == count:
            hint = f": you read all {count}; make it a list, [results_queue.get() for _ in range({count})]"
        else:
            hint = f": read all {count} items, [results_queue.get() for _ in range({count})]"
        feedback.fail(f"results should be a list of the {count} items you read from the queue, now {kind}{hint}")
    else:
        unbound = sum(_is_unbound(r) for r in results)
        if unbound:
            feedback.fail(
                f"{unbound} item(s) came back as UNBOUND: the interpreter that put them was closed before you read "
                "them, and a queue replaces what a closed interpreter put with UNBOUND. Read the queue first, then "
                "close the interpreter"
            )
        elif len(results) != count:
            feedback.fail(f"results has {len(results)} item(s); the interpreter put {count}: read all {count}")
        elif results != expected:
            feedback.fail(f"results should be {expected}, now {results!r:.80}")
        elif left := _items_left(notebook_variable("results_queue")):
            feedback.fail(
                f"results_queue still holds {left} item(s): results holds the right numbers, but not the ones the "
                f"interpreter put there. Read them from the queue, [results_queue.get() for _ in range({count})]"
            )
        elif (where := _put_by(worker)) is not None:
            feedback.fail(
                f"the squares were put on the queue by {where}, not by worker: ask worker to put them, "
                f"worker.call(put_squares, results_queue, {count}), and read them before worker.close()"
            )
        else:
            feedback.ok(f"worker put the {count} squares on the queue, and all {count} arrived, in order")
    if not isinstance(worker, interpreters.Interpreter):
        feedback.fail(f"worker should be the interpreter you created, interpreters.create(), now {worker!r:.60}")
    else:
        feedback.expect(
            not _is_open(worker),
            "worker is closed: nothing left behind",
            "worker is still open: close it (worker.close()) once you have read the queue",
        )


def _bytes_written_into(buf: bytearray, fills: list[dict[str, Any]]) -> int:
    """How many of ``buf``'s bytes subinterpreters' calls of :func:`fill_squares` (their notes ``fills``) wrote
    through views of ``buf``'s own memory, by each view's address and length (views of halves count too)."""
    start = buffer_address(buf)
    if start is None:
        return 0
    spans = sorted(
        (address - start, address - start + (n["args"]["view"].get("len") or 0))
        for n in fills
        if n["interp"] != 0 and not n.get("error") and isinstance(address := n["args"]["view"].get("address"), int)
        if start <= address < start + len(buf)
    )
    covered, reach = 0, 0
    for begin, end in spans:
        end = min(end, len(buf))
        if end > reach:
            covered += end - max(begin, reach)
            reach = end
    return covered


@self_check("a subinterpreter filling your buffer")
def check_shared_fill(feedback: Feedback, buf: object, filled: object) -> None:
    """Exercise 2: every byte ``i`` of ``buf`` (a bytearray) is ``i * i % 256``, written by :func:`fill_squares`
    in a subinterpreter through a view of ``buf``; ``filled`` is what that call returned."""
    if sys.version_info < (3, 14):
        raise _too_old()
    if not isinstance(buf, bytearray) or not buf:
        feedback.fail(f"buf should be the bytearray the starter made, bytearray(2**20), now {type(buf).__name__}")
        return
    source = latest_cell("fill_squares")
    want = bytes(i * i % 256 for i in range(len(buf)))
    if not any(buf):
        interp = notebook_variable("interp")
        if filled is None and not (isinstance(interp, interpreters.Interpreter) and _is_open(interp)):
            feedback.fail(
                "buf is still all zeros and filled is None: interp is "
                + ("closed" if isinstance(interp, interpreters.Interpreter) else "not defined")
                + ", so the call raised (its error is above). Run section 1's first cell again (it makes interp), "
                "then this exercise"
            )
        elif filled is None and source is not None and re.search(r"memoryview\(\s*buf\s*\)(?!\s*[.\[])", source):
            feedback.fail(
                "buf is still all zeros and filled is None: the call raised (its error is above), though "
                "memoryview(buf) is the right thing to send; read the error's last line"
            )
        elif filled is None:
            feedback.fail(
                "buf is still all zeros and filled is None: the call raised (its error is above). fill_squares "
                "writes into what it gets, so give it something writable that is buf itself: memoryview(buf)"
            )
        elif source is not None and "memoryview(" in source:
            feedback.fail(
                "buf is still all zeros: the subinterpreter wrote into another buffer, not buf. A view of a copy "
                "(buf[:] and bytes(buf) make copies) shares the copy's memory; pass memoryview(buf)"
            )
        else:
            feedback.fail(
                "buf is still all zeros: the subinterpreter filled a copy. A bytearray is not shareable, so it "
                "was pickled on its way; a memoryview of it is shared. Pass memoryview(buf)"
            )
        return
    if bytes(buf) != want:
        end = len(buf.rstrip(b"\0"))  # bytes after the last one written are still zero
        feedback.fail(
            f"only the first {end} bytes hold i * i % 256, the rest are still zero: fill_squares fills what it is "
            "given; give it a view of the whole buf, memoryview(buf)"
            if buf[:end] == want[:end]
            else "some bytes are not i * i % 256: give fill_squares a view of the whole buf, memoryview(buf), and "
            "run the starter's cell again (it makes a new buf)"
        )
        return
    fills = cell_notes("fill_squares", answer=buf)
    if not fills or any(n["interp"] == 0 for n in fills):
        feedback.fail(
            "the main interpreter filled buf itself: run fill_squares in the subinterpreter, "
            "interp.call(fill_squares, memoryview(buf))"
            if fills
            else "buf holds i * i % 256, but no call of fill_squares wrote it: run fill_squares in the "
            "subinterpreter, interp.call(fill_squares, memoryview(buf))"
        )
        return
    if not any(n["args"]["view"]["type"] == "memoryview" for n in fills):
        feedback.fail(
            "a subinterpreter ran fill_squares, but on its own copy (it was given a "
            f"{fills[-1]['args']['view']['type']}, which crosses as a copy): the bytes in buf were written here. "
            "Give it a view of buf, interp.call(fill_squares, memoryview(buf))"
        )
        return
    written = _bytes_written_into(buf, fills)
    if not written:
        feedback.fail(
            "a subinterpreter ran fill_squares on a view, but of another buffer, not of buf: the bytes in buf "
            "were written here, in the main interpreter. Give it a view of buf itself, so that it writes into "
            "your memory"
        )
        return
    if written < len(buf):
        feedback.fail(
            f"the subinterpreter wrote {written} of buf's {len(buf)} bytes through views of it; the rest were "
            "written here. Give it a view of the whole buf, interp.call(fill_squares, memoryview(buf))"
        )
        return
    feedback.ok("every byte holds i * i % 256: a subinterpreter ran fill_squares on a view of your memory")
    feedback.expect(
        filled == len(buf),
        f"filled is {len(buf)}, the number of bytes the call wrote",
        f"filled should be what interp.call returned, {len(buf)} (the bytes written), now {filled!r:.40}: "
        "keep it, filled = interp.call(...)",
    )
