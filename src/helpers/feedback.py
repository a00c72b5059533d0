"""Self-checks for exercises: say what is right and what is still wrong, never raise.

Every exercise in the course ends with a call such as
``check_squares(result, square_sum)``. It returns a :class:`Feedback`, which
a notebook shows as a few lines::

    Check: squares through a shared Array
    ✔ result is a shared Array of C ints ('i')
    ✘ result holds [0, 0, 0, 0]; expected [4, 16, 36, 64]: did you start and join the process?
    1 of 2 checks pass; fix the ✘ lines and run the check again.

A check never raises at the student: a mistake in the answer, even one that
makes the check itself fail, becomes a ✘ line that says what went wrong.
"""

from __future__ import annotations

import ast
import collections
import functools
import gc
import inspect
import multiprocessing.process
import os
import time
import weakref
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any, Concatenate, ParamSpec

from helpers import child_output

__all__ = [
    "Feedback",
    "cell_notes",
    "cell_that_made",
    "child_ints",
    "child_outcome",
    "child_process",
    "failed_calls",
    "in_notebook",
    "latest_cell",
    "latest_child",
    "new_attempt",
    "parses",
    "run_again",
    "self_check",
    "summarize",
]

P = ParamSpec("P")


class Feedback:
    """The outcome of one exercise check: a title and a list of ✔/✘ lines."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.lines: list[tuple[bool, str]] = []

    def ok(self, message: str) -> None:
        """Record something the answer gets right."""
        self.lines.append((True, message))

    def fail(self, message: str) -> None:
        """Record something still wrong; the message should say what to do."""
        self.lines.append((False, message))

    def expect(self, condition: bool, right: str, wrong: str) -> bool:
        """Record ``right`` if ``condition`` holds, else ``wrong``; return ``condition``."""
        (self.ok if condition else self.fail)(right if condition else wrong)
        return bool(condition)

    @property
    def passed(self) -> bool:
        """True when there was something to check and all of it is right."""
        return bool(self.lines) and all(good for good, _ in self.lines)

    def __str__(self) -> str:
        out = [f"Check: {self.title}"]
        out += [f"{'✔' if good else '✘'} {message}" for good, message in self.lines]
        n_ok = sum(good for good, _ in self.lines)
        if self.passed:
            out.append(f"All {n_ok} checks pass. Well done!")
        else:
            out.append(f"{n_ok} of {len(self.lines)} checks pass; fix the ✘ lines and run the check again.")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


def self_check(title: str) -> Callable[[Callable[Concatenate[Feedback, P], None]], Callable[P, Feedback]]:
    """Turn ``check(feedback, *answer)`` into ``check(*answer) -> Feedback``.

    The wrapped function records ✔/✘ lines on the :class:`Feedback` it is
    given. Any exception it raises (say the student passed a list where a
    shared Array was expected) becomes a ✘ line instead of a traceback.
    """

    def decorate(check: Callable[Concatenate[Feedback, P], None]) -> Callable[P, Feedback]:
        @functools.wraps(check)
        def run(*args: P.args, **kwargs: P.kwargs) -> Feedback:
            feedback = Feedback(title)
            try:
                check(feedback, *args, **kwargs)
            except Exception as exc:
                what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                feedback.fail(
                    f"the check stopped on {what}. Compare your answer with the task and run the check again."
                )
            return feedback

        params = list(inspect.signature(check).parameters.values())[1:]
        run.__signature__ = inspect.Signature(params, return_annotation=Feedback)  # type: ignore[attr-defined]
        return run

    return decorate


# ---------------------------------------------------------------- what a check can look at


def _started_at(pid: int | None) -> float:
    """When process ``pid`` started, as ``time.time()`` would have said (Linux); 0 where that cannot be read."""
    from helpers.ownership import start_time

    ticks = start_time(pid) if pid is not None else None
    try:
        with open("/proc/stat") as stat:
            boot = next(int(line.split()[1]) for line in stat if line.startswith("btime"))
    except (OSError, StopIteration, ValueError):
        return 0.0
    return 0.0 if ticks is None else boot + ticks / os.sysconf("SC_CLK_TCK")


def latest_child(since: float | None = None) -> BaseProcess | None:
    """The process this one started most recently (``multiprocessing`` numbers them), or None; with ``since``
    (``time.time()``), only one started after it (the OS clock of process starts counts in 1/100 s: 1 s of slack).

    A check run right after an exercise's cell looks at it for what that cell started: whether it ended
    well and was joined. (Which function it ran, and with what, cannot be read back from it: ``start()`` drops the
    target and arguments; the course's workers note that themselves, see :func:`cell_notes`.)
    """
    gc.collect()  # a process object nothing refers to any more is not the student's current attempt
    found = [
        p
        for p in gc.get_objects()
        if isinstance(p, BaseProcess) and p.pid is not None and getattr(p, "_parent_pid", None) == os.getpid()
    ]
    if since is not None:
        earlier = _CHILDREN_AT.get(since, frozenset())  # started before that cell, by its own record
        found = [p for p in found if p.pid not in earlier and _started_at(p.pid) >= since - 1]
    return max(found, key=lambda p: p._identity, default=None)


def child_outcome(process: BaseProcess) -> str | None:
    """What went wrong with a student's child process, in words, or None if it ended well and was joined.

    Says whether it is still running, ended by a signal or with an exit code other than 0 (its traceback
    is then printed above the check), or ended but was never joined.
    """
    # Asked first: is_alive() forgets a finished child that was never joined (join() is what should).
    unjoined = process in multiprocessing.process._children  # type: ignore[attr-defined]
    if process.is_alive():
        return "the child is still running: join it (p.join()) before reading what it wrote"
    code = process.exitcode
    if code is not None and code < 0:
        return f"the child was killed by signal {-code}"
    if code:
        return f"the child failed (exit code {code}); its error is printed above, in the cell that started it"
    if unjoined:
        return "the child ended, but your cell never joined it: without p.join() the parent may read too early"
    return None


#: The sources of the last cells this kernel ran, newest last, for checks that read how code is written.
_CELLS: collections.deque[str] = collections.deque(maxlen=100)
#: When each of those cells started (``time.time()``), to tell which cell a worker's note comes from.
_CELL_STARTS: collections.deque[float] = collections.deque(maxlen=100)


#: For each of those starts: the PIDs of the children started before it and not yet joined. The OS clock of
#: process starts is coarse (1 s of slack in :func:`latest_child`), so a child an earlier cell left running, under
#: spawn still starting up, could otherwise pass for one of the new cell's.
_CHILDREN_AT: dict[float, frozenset[int]] = {}


def _cell_starts_now() -> None:
    now = time.time()
    _CELL_STARTS.append(now)
    children = multiprocessing.process._children  # type: ignore[attr-defined]
    _CHILDREN_AT[now] = frozenset(p.pid for p in list(children) if p.pid is not None)
    for old in [t for t in _CHILDREN_AT if t < _CELL_STARTS[0]]:
        del _CHILDREN_AT[old]


#: How many multiprocessing processes had been made when the running cell started (see :func:`_after_cell`).
_MADE_AT_START = [0]


def _remember(info: Any) -> None:
    _CELLS.append(str(getattr(info, "raw_cell", "")))
    _cell_starts_now()
    _MADE_AT_START[0] = child_output.processes_made()


def _after_cell(*_: Any) -> None:
    """At a cell's end: note what the notebook binds; if the cell made processes, let their output reach it."""
    _note_bindings()
    if child_output.processes_made() != _MADE_AT_START[0]:
        child_output.drain()


#: Immutable values without buffers of their own: held by :data:`_BOUND` itself, which keeps nothing else alive.
_HELD_TYPES = (str, bytes, int, float, complex, bool, type(None))


def _handle(value: object) -> tuple[Any, ...]:
    """What tells whether a variable still holds ``value`` (the very object), never keeping alive anything that
    could hold a buffer or a resource: a small immutable value itself, else a weak reference, else (lists, dicts)
    the id and type. An id alone is not enough: the next string of the same length often gets the address the
    last one freed (``name = shm.name``, answer after answer)."""
    if type(value) in _HELD_TYPES:
        return ("held", value)
    try:
        return ("weak", weakref.ref(value))
    except TypeError:
        return ("id", id(value), type(value))


def _holds(handle: tuple[Any, ...], value: object) -> bool:
    if handle[0] == "held":
        return handle[1] is value
    if handle[0] == "weak":
        return handle[1]() is value
    return handle[1] == id(value) and handle[2] is type(value)


#: For each notebook variable: a handle on its value (see :func:`_handle`) and when the cell that bound it started.
_BOUND: dict[str, tuple[tuple[Any, ...], float]] = {}


def _note_bindings(*_: Any) -> None:
    shell = _shell()
    began = _CELL_STARTS[-1] if _CELL_STARTS else 0.0
    names = shell.user_ns if shell is not None else {}
    for name in [n for n in _BOUND if n not in names]:  # deleted: let go of what the handle holds
        del _BOUND[name]
    for name, value in list(names.items()):
        if not name.startswith("_") and not (name in _BOUND and _holds(_BOUND[name][0], value)):
            _BOUND[name] = (_handle(value), began)


def new_attempt() -> None:
    """Outside a notebook (a test, a script): start a new "cell", so that checks judge only notes made from now on.

    In a notebook every cell is one, on its own.
    """
    _cell_starts_now()


def made_in(value: object) -> tuple[float, float] | None:
    """When the cell that bound a notebook variable to ``value`` (this very object) started, and when the next
    cell started (infinity if none yet): the time the student's answer was made. None outside a notebook, or
    if no variable holds ``value``."""
    shell = _shell()
    if shell is None or not _CELL_STARTS:
        return None
    names = [n for n, v in list(shell.user_ns.items()) if v is value and not n.startswith("_")]
    if not names:
        return None
    began = min(_BOUND[n][1] if n in _BOUND and _holds(_BOUND[n][0], value) else _CELL_STARTS[-1] for n in names)
    return began, min((t for t in _CELL_STARTS if t > began), default=float("inf"))


def cell_notes(
    worker: str, where: Callable[[dict[str, Any]], bool] | None = None, answer: object = None, same_cell: bool = False
) -> list[dict[str, Any]]:
    """The notes ``worker`` made (see :mod:`helpers.evidence`) that ``where`` accepts, during the latest cell
    that made any, oldest first: what the student's latest attempt really ran, wherever it ran.

    With ``answer`` (a value the check was given), only notes made since the cell that made it count, or with
    ``same_cell`` only notes made during that cell: notes of an earlier attempt, or of the lesson's own cells,
    never speak for it. Outside a notebook, where there are no cells, the notes made since :func:`new_attempt`
    count (every note of this process if it was never called).
    """
    from helpers.evidence import read_notes

    window = made_in(answer) if answer is not None else None
    since, until = window or (0.0, float("inf"))
    if _shell() is None and _CELL_STARTS:  # outside a notebook: notes before the latest new_attempt() are older
        since = max(since, _CELL_STARTS[-1])
    if not same_cell:
        until = float("inf")
    found = [n for n in read_notes(worker, since) if n["time"] < until and (where is None or where(n))]
    if not found:
        return []
    latest = max(n["time"] for n in found)
    began = max((t for t in _CELL_STARTS if t <= latest), default=0.0)
    return [n for n in found if n["time"] >= began]


def child_process(pid: int) -> BaseProcess | None:
    """The ``multiprocessing`` process object this process started with PID ``pid``, or None.

    None means it has ended and was let go: ``multiprocessing`` keeps every child it started until a ``join()``
    (or a later ``start()``) sees it end.
    """
    gc.collect()
    found = [
        p
        for p in gc.get_objects()
        if isinstance(p, BaseProcess) and p.pid == pid and getattr(p, "_parent_pid", None) == os.getpid()
    ]
    return found[-1] if found else None


def _shell() -> Any:
    """The running IPython shell, or None (outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        return None
    return get_ipython()


def _listen_to_cells() -> None:
    """Have IPython hand every cell's source to :data:`_CELLS` before it runs (in a notebook; else nothing).

    IPython's own input history misses cells run without storing history (as nbval runs them), so the
    course keeps its own short record, from the first ``import helpers`` on.
    """
    shell = _shell()
    if shell is not None and _remember not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _remember)
        shell.events.register("post_run_cell", _after_cell)
        _note_bindings()  # what the notebook holds already was made before


_listen_to_cells()


def latest_cell(containing: str) -> str | None:
    """The source of the latest notebook cell that contains ``containing``, or None (outside a notebook).

    To find the cell a check runs again (:func:`run_again`), or for a hint about how the code is written; never to
    decide a verdict in place of what ran.
    The current cell counts too: a solution file calls its check at its end.
    """
    for source in reversed(_CELLS):
        if containing in source:
            return source
    return None


def in_notebook() -> bool:
    """Whether this runs in IPython (a notebook's kernel), where cells are recorded and can be run again."""
    return _shell() is not None


def cell_that_made(value: object) -> str | None:
    """The source of the cell that bound a notebook variable to ``value`` (this very object), or None (outside a
    notebook, or no variable holds it): the student's answer cell, however its code is spelled."""
    window = made_in(value)
    if window is None:
        return None
    for start, source in zip(reversed(_CELL_STARTS), reversed(_CELLS), strict=False):
        if start == window[0]:
            return source
    return None


def child_ints(notes: Sequence[dict[str, Any]], arg: str) -> set[int]:
    """The whole numbers that calls in this process's children were given as ``arg`` (the rows the workers took,
    say), from their ``notes`` (see :func:`cell_notes`)."""
    return {
        v for n in notes if n["parent"] == os.getpid() and isinstance(v := n["args"].get(arg, {}).get("value"), int)
    }


def failed_calls(feedback: Feedback, notes: Sequence[dict[str, Any]], worker: str) -> bool:
    """Say on ``feedback`` that calls of ``worker`` stopped on an error, naming the first error, if any of
    ``notes`` (its calls, see :func:`cell_notes`) did; whether any did. A check then judges nothing more: the work
    was not done, and the error says why better than any guess."""
    failed = [n for n in notes if n.get("error")]
    if failed:
        feedback.fail(
            f"{worker} stopped with an error in {len(failed)} of its {len(notes)} call(s): {failed[0]['error']}. "
            "Fix what it says and run your cell again"
        )
    return bool(failed)


def run_again(source: str, swap: dict[object, object] | None = None) -> BaseException | None:
    """Run a cell's ``source`` once more, quietly, in a copy of the notebook's namespace; what it raised, or None.

    For a check that must see what an answer does when something goes wrong (lesson 04's segment, with an
    Interrupt injected), which the student's own run, where nothing went wrong, cannot show. In the copy, every
    name bound to a key of ``swap`` (by identity: a class, a function) is bound to its value instead; the
    notebook's own variables are left as they were, and what the cell prints is dropped. Outside IPython nothing
    runs: the result is None.
    """
    import contextlib
    import io

    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        return None
    shell = get_ipython()
    if shell is None:
        return None
    swapped = {id(old): new for old, new in (swap or {}).items()}
    namespace = {name: swapped.get(id(value), value) for name, value in shell.user_ns.items()}
    quiet = io.StringIO()
    try:
        code = compile(shell.transform_cell(source), "<your cell, run again by the check>", "exec")
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            exec(code, namespace)  # the student's own cell, run again on purpose
    except BaseException as exc:  # what the cell raised is the evidence, KeyboardInterrupt included
        return exc
    return None


def notebook_variable(name: str) -> object:
    """The notebook's variable ``name``, or None when it has none (or outside IPython).

    For checks that must look at what an answer left behind beside the values it was given (a queue it
    should have emptied).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns.get(name)


def parses(source: str) -> ast.Module | None:
    """The syntax tree of ``source`` with IPython's magics blanked, or None if it is not Python."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def summarize(values: Sequence[Any], limit: int = 6) -> str:
    """A short, complete description of a sequence: all of it if short, else its length, first and last items."""
    items = list(values)
    if len(items) <= limit:
        return repr(items)
    return f"{len(items)} items, from {items[0]!r} to {items[-1]!r}"
