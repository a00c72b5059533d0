"""Lesson 01, process isolation: workers, runners and exercise checks.

Each process has its own memory. The seed article's first program shows it:
a child appends squares to a global list and prints ``[25, 100, 225]``; the
parent's list, printed afterwards, is still ``[]``. The worker of that program,
:func:`square_numbers`, lives here so that every start method can import it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickletools
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from helpers.deadline import run_with_deadline
from helpers.feedback import Feedback, self_check, summarize
from helpers.machine import START_METHODS, start_methods

__all__ = [
    "ChildRun",
    "ScriptRun",
    "check_guarded_script",
    "check_predictions",
    "count_lines",
    "draw_random",
    "first_error_line",
    "hold_thread_lock",
    "in_children",
    "result",
    "run_capturing_stderr",
    "run_script_source",
    "square_numbers",
    "square_numbers_to_queue",
    "strip_colors",
    "thread_lock_is_free",
    "unguarded_forkserver_as_the_table_says",
    "what_the_child_sees",
    "what_the_pickle_holds",
]

#: The global list of the seed program. Each process has its own copy.
result: list[int] = []


def square_numbers(numbers: list[int]) -> None:
    """Append the square of each number to the global ``result`` and print it.

    This is the seed article's worker. Run it in a child process: the child
    prints the filled list, but the parent's ``result`` stays as it was.
    """
    for n in numbers:
        result.append(n * n)
    print(f"Result (in process {multiprocessing.current_process().name}): {result}", flush=True)


def square_numbers_to_queue(numbers: list[int], queue: Any) -> None:
    """Like :func:`square_numbers`, but send the child's list back through ``queue``."""
    for n in numbers:
        result.append(n * n)
    queue.put(list(result))


#: A lock of this module that a thread of the parent may hold while a child starts (lesson 01, section 2).
THREAD_LOCK = threading.Lock()


def hold_thread_lock(seconds: float) -> threading.Thread:
    """Start a thread of this process that takes :data:`THREAD_LOCK` and holds it ``seconds``; join it afterwards.

    It stands for what every busy program has: a logging handler, an allocator, a library's cache, locked by
    some thread at the moment another thread forks.
    """
    taken = threading.Event()

    def hold() -> None:
        with THREAD_LOCK:
            taken.set()
            time.sleep(seconds)

    holder = threading.Thread(target=hold, name="lock holder", daemon=True)
    holder.start()
    taken.wait(10)
    return holder


def thread_lock_is_free(queue: Any) -> None:
    """Child: report through ``queue`` whether :data:`THREAD_LOCK` can be taken within half a second."""
    got = THREAD_LOCK.acquire(timeout=0.5)
    if got:
        THREAD_LOCK.release()
    queue.put(got)


def draw_random(queue: Any, seed: Any = None) -> None:
    """Child: put one random number on ``queue``: from NumPy's global generator, or from ``default_rng(seed)``.

    ``default_rng`` returns a ``Generator`` unaltered, so a generator passed as ``seed`` is used itself (the child's
    pickled copy of it); a ``SeedSequence`` or an int makes a new one.
    """
    import numpy as np

    queue.put(float(np.random.random() if seed is None else np.random.default_rng(seed).random()))


def in_children(method: str, target: Callable[..., None], args_for: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Start one ``method`` child per tuple of ``args_for``, each running ``target(queue, *args)``; return what
    they put on the queue, in the order it arrived. Every child is joined under a deadline."""
    ctx: Any = multiprocessing.get_context(method)
    queue = ctx.Queue()
    children = [
        ctx.Process(target=target, args=(queue, *args), name=f"{method}-{i}") for i, args in enumerate(args_for)
    ]
    for child in children:
        child.start()
    try:
        return [queue.get(timeout=30) for _ in children]
    finally:
        run_with_deadline(children, 10)
        queue.close()
        queue.join_thread()


def count_lines(path: str) -> int:
    """Worker: the number of lines in the file at ``path`` (it opens the file itself)."""
    with open(path) as f:
        return sum(1 for _ in f)


def what_the_child_sees(queue: Any) -> None:
    """Send the child's view of the global ``result`` back through ``queue``.

    Under ``fork`` the child starts as a copy of the parent, so it sees what
    the parent had put in ``result`` before ``start()``. Under ``spawn`` and
    ``forkserver`` the child has a fresh import of this module (its own, or
    the fork server's, which never saw the parent's change) and sees ``[]``.
    """
    queue.put(list(result))


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_colors(text: str) -> str:
    """Remove terminal colour codes (Python 3.13 colours tracebacks when FORCE_COLOR is set, as in Jupyter)."""
    return _ANSI.sub("", text)


def first_error_line(stderr: str) -> str:
    """Return ``"ExceptionName: its message"`` for the last exception in a traceback text.

    A message that spans several lines is joined up to its first blank line
    (the longer explanations after it differ between Python versions).
    Returns ``""`` when ``stderr`` holds no exception.
    """
    lines = strip_colors(stderr).splitlines()
    for i in range(len(lines) - 1, -1, -1):
        match = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)):?\s*(.*)$", lines[i])
        if match:
            name, first = match.groups()
            words = [first.strip()] if first.strip() else []
            for line in lines[i + 1 :]:
                if not line.strip():
                    if words:
                        break
                    continue
                words.append(line.strip())
            return f"{name}: {' '.join(words)}" if words else name
    return ""


def what_the_pickle_holds(data: bytes) -> str:
    """Say what a pickle of a function holds: its size, and the only strings in it (module and name).

    ``pickle.dumps(f)`` stores a function by reference: the module to import
    and the name to look up there, never the code. Reading the pickle's
    opcodes (``pickletools``) says so in the same words on every Python; the
    raw bytes begin with the protocol number, 4 up to Python 3.13 and 5 from 3.14.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"pass the bytes pickle.dumps(...) returned, got {type(data).__name__}")
    strings = [arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    if len(strings) != 2:
        return f"{len(data)} bytes, holding the strings {strings}: not just a reference to a function"
    module, name = strings
    return f"{len(data)} bytes, holding only the module {module!r} and the name {name!r}: no code"


@dataclass(frozen=True)
class ChildRun:
    """What a child process left behind: exit code and what it wrote to stderr."""

    exitcode: int | None
    stderr: str

    @property
    def error(self) -> str:
        """The child's exception as one line, or ``""`` if it raised none."""
        return first_error_line(self.stderr)

    @property
    def error_class(self) -> str:
        """The class of the child's exception (e.g. ``"AttributeError"``), or ``""``.

        Its message can change between Python versions (3.14 reworded the one
        for a function pickle could not find); the class does not.
        """
        return self.error.split(":", 1)[0]


def run_capturing_stderr(process: BaseProcess, seconds: float = 10) -> ChildRun:
    """Start a ``spawn`` process under a deadline and capture what it writes to stderr.

    A spawn child is a new interpreter whose file descriptor 2 is inherited
    from the parent at start. This function points descriptor 2 at a
    temporary file for the moment of ``start()``, so the child's traceback,
    if any, is captured instead of being lost or mixed into the notebook.

    Only ``spawn`` processes are accepted: a ``fork`` child writes through the
    parent's Python-level ``sys.stderr`` and a ``forkserver`` child inherits
    the descriptors of the fork server, not ours.
    """
    if not isinstance(process, BaseProcess):
        raise TypeError(f"expected a Process object, got {process!r}")
    if process.pid is not None:
        raise ValueError("the process was already started; pass a new, unstarted Process")
    method = getattr(process, "_start_method", None)
    if method != "spawn":
        raise ValueError(
            f"run_capturing_stderr needs a spawn process, got start method {method!r}; "
            "create it with multiprocessing.get_context('spawn').Process(...)"
        )
    with tempfile.TemporaryFile() as err:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(err.fileno(), 2)
            process.start()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        report = run_with_deadline([process], seconds)
        err.seek(0)
        text = strip_colors(err.read().decode(errors="replace"))
    exitcode = None if report.overran else process.exitcode
    return ChildRun(exitcode, text)


@dataclass(frozen=True)
class ScriptRun:
    """The result of running a script: exit code, its stdout, and its stderr."""

    returncode: int | None
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The first line of the last exception in stderr, or ``""``."""
        return first_error_line(self.stderr)

    @property
    def error_class(self) -> str:
        """The class of the last exception in stderr (e.g. ``"RuntimeError"``), or ``""``."""
        return self.error.split(":", 1)[0]

    def __str__(self) -> str:
        lines = [f"exit code: {self.returncode}"]
        lines += [f"stdout: {line}" for line in self.stdout.splitlines()]
        lines.append(f"error:  {self.error or 'none'}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


#: What a script without the ``__main__`` guard does under forkserver (lesson 01, section 4): from which Python
#: release on, (exit code, the class of the last error in its stderr). The fork server was meant to import the main
#: script once, as it starts, but a renamed key (``main_path``) kept it from doing so until gh-126631 was fixed in
#: 3.13.8 and 3.14.1 (not in 3.14.0, released the same day as 3.13.8, 2025-10-07). Since then the server runs the
#: unguarded script and dies there, so the parent gets ``ConnectionResetError``: at ``start()``, or, on releases
#: before gh-143706 was fixed, at ``sys.argv[1]`` (the server ran the script without the parent's ``sys.argv``).
#: 3.15 ignores a failed preload by default (``set_forkserver_preload(on_error="ignore")``, gh-141860), and the
#: child fails as under spawn.
UNGUARDED_FORKSERVER: tuple[tuple[tuple[int, int, int], tuple[int, str]], ...] = (
    ((3, 11, 0), (0, "RuntimeError")),
    ((3, 13, 8), (1, "ConnectionResetError")),
    ((3, 14, 0), (0, "RuntimeError")),
    ((3, 14, 1), (1, "ConnectionResetError")),
    ((3, 15, 0), (0, "RuntimeError")),
)


def unguarded_forkserver_as_the_table_says(run: ScriptRun, version: tuple[int, int, int] | None = None) -> bool:
    """True if an unguarded script's forkserver ``run`` went as :data:`UNGUARDED_FORKSERVER` says for ``version``.

    ``version`` (major, minor, micro) defaults to this Python's; a newer Python than the table knows is read
    with its last row. Under every version the child never gets to print its squares.
    """
    if not isinstance(run, ScriptRun):
        raise TypeError(f"pass what run_script_source(...) returned, got {type(run).__name__}")
    this = version or (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)
    rows = [outcome for first, outcome in UNGUARDED_FORKSERVER if first <= this]
    if not rows:
        raise ValueError(f"no row for Python {this}: the course supports 3.11 and later")
    code, error_class = rows[-1]
    return run.returncode == code and run.error_class == error_class and "Result (in process p1)" not in run.stdout


def run_script_source(source: str, *args: str, seconds: float = 20, unbuffered: bool = False) -> ScriptRun:
    """Save ``source`` as a script in a temporary folder and run it with this Python.

    ``args`` are passed on its command line (lesson 01 passes a start method).
    A script that runs longer than ``seconds`` is killed and reported with
    ``returncode`` None. The folder is removed afterwards. ``unbuffered``
    writes every print at once, so that ``stdout`` shows the order in which
    the processes printed (a script's output to a pipe is otherwise held in
    a buffer until it fills or the process exits).
    """
    return _run_script(source, list(args), seconds, unbuffered)[0]


#: Runs a script as ``python script.py ARGS`` would, noting each process its main process starts (with the start
#: method that started it) and each ``join()``: what a check judges from, not the script's text.
_OBSERVER = """
import json, os, runpy, sys
from multiprocessing import process
_notes, _main = os.environ.pop("MPCOURSE_SCRIPT_NOTES"), os.getpid()
def _note(**what):
    if os.getpid() == _main:
        with open(_notes, "a") as notes:
            notes.write(json.dumps(what) + "\\n")
_start, _join = process.BaseProcess.start, process.BaseProcess.join
def start(self):
    target = getattr(self._target, "__name__", None)
    _start(self)
    kind = type(self._popen).__module__.rsplit(".", 1)[-1].removeprefix("popen_")
    method = kind.removesuffix("_posix").removesuffix("_win32")
    _note(event="start", name=self.name, pid=self.pid, target=target, method=method)
def join(self, timeout=None):
    at_exit = sys._getframe(1).f_code.co_name == "_exit_function"  # multiprocessing's own, as the script ends
    _join(self, timeout)
    _note(event="join", name=self.name, pid=self.pid, ended=self.exitcode is not None, at_exit=at_exit)
process.BaseProcess.start, process.BaseProcess.join = start, join
class _Tee:
    def __init__(self, stream):
        self._stream = stream
    def write(self, text):
        _note(event="print", text=text)
        return self._stream.write(text)
    def __getattr__(self, name):
        return getattr(self._stream, name)
sys.stdout = _Tee(sys.stdout)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _run_script(
    source: str, args: list[str], seconds: float, unbuffered: bool, observed: bool = False
) -> tuple[ScriptRun, list[dict[str, str]]]:
    """:func:`run_script_source`; with ``observed``, also what the script's main process did with processes."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("source must be the text of a Python script, got an empty or non-string value")
    with tempfile.TemporaryDirectory(prefix="course-script-") as folder:
        path = Path(folder) / "script.py"
        path.write_text(source)
        notes = Path(folder) / "notes.jsonl"
        env = {**os.environ, "PYTHON_COLORS": "0"}  # plain tracebacks on Python 3.13+
        if unbuffered:
            env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, str(path), *args]
        if observed:
            env["MPCOURSE_SCRIPT_NOTES"] = str(notes)
            command[1:1] = ["-c", _OBSERVER]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=seconds, cwd=folder, env=env)
            run = ScriptRun(done.returncode, done.stdout, strip_colors(done.stderr))
        except subprocess.TimeoutExpired as exc:

            def text(data: bytes | str | None) -> str:
                return data.decode(errors="replace") if isinstance(data, bytes) else data or ""

            run = ScriptRun(None, text(exc.stdout), strip_colors(text(exc.stderr)))
        seen = [json.loads(line) for line in notes.read_text().splitlines()] if notes.exists() else []
    return run, seen


# ---------------------------------------------------------------- exercises


def _child_view(method: str, prefill: list[int]) -> list[int]:
    """Run :func:`what_the_child_sees` with ``result`` set to ``prefill`` in the parent."""
    ctx: Any = multiprocessing.get_context(method)  # a concrete context: it has Process
    queue = ctx.Queue()
    saved = list(result)
    result[:] = prefill
    try:
        child = ctx.Process(target=what_the_child_sees, args=(queue,), name=f"{method}-child")
        child.start()
    finally:
        result[:] = saved
    try:
        seen: list[int] = queue.get(timeout=10)
    finally:
        run_with_deadline([child], 10)
        queue.close()
        queue.join_thread()
    return seen


#: Why a child of each start method sees, or does not see, what the parent changed before start().
WHY_IT_SEES = {
    "fork": "fork copies the parent as it is at start(), list included",
    "spawn": "a spawn child is a new interpreter that imports helpers.isolation afresh: it gets no change the "
    "parent made",
    "forkserver": "the fork server is a fresh interpreter, whenever it started, and the child is a copy of the "
    "server, not of the parent: it imports helpers.isolation afresh",
}


@self_check("what does a child see of the parent's list?")
def check_predictions(feedback: Feedback, predictions: dict[str, bool]) -> None:
    """Check ``predictions``: start method -> does the child see the parent's change?

    The check runs the experiment for every start method this platform has:
    the parent appends to ``helpers.isolation.result`` *before* starting a
    child, and the child reports what it sees.
    """
    if not isinstance(predictions, dict):
        feedback.fail(f"predictions should be a dict like {{'fork': True, ...}}, got {type(predictions).__name__}")
        return
    unknown = sorted(str(k) for k in predictions if k not in START_METHODS)
    if unknown:
        feedback.fail(f"predictions has keys that are not start methods: {unknown}; use 'fork', 'spawn', 'forkserver'")
    for method in start_methods():
        guess = predictions.get(method)
        if not isinstance(guess, bool):
            quoted = " (without quotes: the value True, not the text)" if isinstance(guess, str) else ""
            feedback.fail(f"{method}: fill in True or False{quoted}, now {guess!r}")
            continue
        seen = _child_view(method, [1, 2, 3])
        sees_change = seen == [1, 2, 3]
        feedback.expect(
            guess == sees_change,
            f"{method}: right, the child saw {seen}",
            f"{method}: the child saw {seen}, so {not guess}: {WHY_IT_SEES[method]}",
        )


_SQUARES_LINE = "Result (in process p1): [25, 100, 225]"
_PARENT_LINE = "Result (in main program): []"


@self_check("a script that also works under spawn")
def check_guarded_script(feedback: Feedback, source: str) -> None:
    """Run the script ``source`` with the ``spawn`` start method, prints unbuffered, and check what it printed.

    The child should print ``Result (in process p1): [25, 100, 225]``, and then, once,
    the parent ``Result (in main program): []``. Judged from what ran: the script's main process is
    watched (:data:`_OBSERVER`), so the check knows whether it started a process, with which start method
    (it must take spawn from its command line, as the script it started from does), and whether it joined it.
    """
    if not isinstance(source, str) or not source.strip():
        feedback.fail("fixed_script should be the text of the script, with your fix in it")
        return
    run, seen = _run_script(source, ["spawn"], 20, unbuffered=True, observed=True)
    out = run.stdout.splitlines()
    if run.returncode is None:
        feedback.fail("the script did not finish within 20 s; does it start processes in a loop?")
        return
    started = [n for n in seen if n["event"] == "start"]
    if not started:
        if run.error:
            feedback.fail(f"the script's main process started no process, and stopped on {run.error}")
        elif not out:
            feedback.fail(
                "the script printed nothing and started no process: is the guard's condition true when you run "
                'it? if __name__ == "__main__":'
            )
        else:
            feedback.fail(
                "the script's main process started no process: whatever it printed, it computed itself "
                "(p1.run() runs the target in the process that calls it; p1.start() starts a new one)"
            )
        return
    other = sorted({n["method"] for n in started} - {"spawn"})
    if other:
        feedback.fail(
            f"the check ran the script with spawn on its command line (python script.py spawn), but it started its "
            f"process with {' and '.join(other)}: the start method must come from the command line, as in the "
            "script you started from"
        )
        return
    if "bootstrapping phase" in run.stderr:
        feedback.fail(
            "the child's import of the script ran p1.start() again (RuntimeError: ... bootstrapping phase): put "
            'the lines that start the process, join it and print under if __name__ == "__main__":'
        )
    elif run.error_class == "AttributeError" and "square_numbers" in run.error:
        feedback.fail(
            "the child imports the script as __mp_main__ and finds no square_numbers there "
            f"({run.error}): define the function at the top level, outside the guard; only the lines that "
            "start the process go under it"
        )
    elif run.error:
        feedback.fail(f"a process failed with {run.error}")
    elif not out:
        feedback.fail(
            'the script printed nothing: is the guard\'s condition true when you run it? if __name__ == "__main__":'
        )
        return
    else:
        feedback.ok("the child started without an error")
    targets = {n.get("target") for n in started}
    printed_here = "".join(n["text"] for n in seen if n["event"] == "print").splitlines()
    if "square_numbers" not in targets:
        feedback.fail(
            f"the script's child ran {' and '.join(sorted(map(str, targets)))}, not square_numbers: "
            "start it with Process(target=square_numbers, args=([5, 10, 15],))"
        )
    elif out.count(_SQUARES_LINE) <= printed_here.count(_SQUARES_LINE):
        feedback.fail(
            f"the squares line came from the main process, not from the child: the child must print "
            f"{_SQUARES_LINE!r} itself, in square_numbers"
            if _SQUARES_LINE in out
            else f"expected the child to print {_SQUARES_LINE!r}; the script printed {summarize(out)}"
        )
    else:
        feedback.ok("the child ran square_numbers and printed its squares")
    parents = out.count(_PARENT_LINE)
    feedback.expect(
        parents == 1,
        "the parent printed its (empty) list once",
        f"the parent's line came {parents} times; expected once, after the child's",
    )
    joins = [n for n in seen if n["event"] == "join" and not n["at_exit"]]  # the script's own, not the exit's
    joined = {n["pid"] for n in joins if n["ended"]}
    if started:
        feedback.expect(
            all(n["pid"] in joined for n in started),
            "the parent waited for its child with join()",
            (
                "the parent's join() returned before its child had ended (a timeout?)"
                if {n["pid"] for n in joins} & {n["pid"] for n in started if n["pid"] not in joined}
                else "the parent never called join() on its child"
            )
            + ": its line may come after the child's by luck (a sleep, a slow parent), not because it waited; "
            "keep p1.join() before the parent's print",
        )
    if _SQUARES_LINE in out and parents == 1:
        feedback.expect(
            out.index(_SQUARES_LINE) < out.index(_PARENT_LINE),
            "the parent's line came after the child's",
            "the parent printed before the child had finished: keep p1.join() before the parent's print",
        )
