"""What the course's workers did, noted where they ran, for the exercises' self-checks to judge from.

A worker an exercise asks for (``square_into``, ``add_to_total``, ``transfer_many``...) calls :func:`note` with
what it did. The note says where it ran: its process, the process that started it (``multiprocessing`` knows
it under every start method, including forkserver, where the OS parent is the server), and its interpreter.
Notes go to a file of the process that owns the work: the kernel, whether the worker ran in the kernel itself,
in one of its subinterpreters or in a child the kernel started. A check then reads the kernel's notes
(:func:`read_notes`), so it judges what really ran, not how the cell looks or what numbers the parent holds.

Shared objects are named by :func:`shared_id` the same way in every process, so that a note says *which*
``Value``, ``Array`` or lock a worker was given. Files are one line of JSON per note, appended; a kernel's
file is removed when it exits, and files of processes that ended are pruned when a kernel starts.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import itertools
import json
import multiprocessing
import numbers
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from helpers.ownership import registry_dir, start_time

__all__ = [
    "buffer_address",
    "describe",
    "interpreter_id",
    "lock_kind",
    "note",
    "noted",
    "read_notes",
    "shared_id",
    "started_as",
]

P = ParamSpec("P")
R = TypeVar("R")


def interpreter_id() -> int:
    """The id of the interpreter running this code: 0 for a process's main interpreter."""
    if sys.version_info >= (3, 14):
        from concurrent import interpreters

        return int(interpreters.get_current().id)
    return 0


def _owner() -> int:
    """The process whose work this is: the one that started this process, if ``multiprocessing`` did, else this one."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid is not None else os.getpid()


def _file(owner: int) -> Path:
    return registry_dir() / "notes" / f"{owner}-{start_time(owner)}.jsonl"


#: This process's open notes file, (pid, fd): one open per process, so that a note costs one write.
_open: tuple[int, int] | None = None


def _write(line: bytes) -> None:
    global _open
    if _open is None or _open[0] != os.getpid():  # a fork child inherits its parent's: open its own
        path = _file(_owner())
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if interpreter_id() != 0:  # a subinterpreter's globals go with it: keep no file open there
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            return
        _open = (os.getpid(), fd)
    os.write(_open[1], line)  # one write in append mode: notes of workers running at once do not mix


#: What this process was started to run, (pid, name): see :func:`started_as`.
_started: tuple[int, str | None] | None = None


def started_as() -> str | None:
    """What ``multiprocessing`` started this process to run, as ``module.name`` (``multiprocessing.pool.worker`` in
    a ``Pool``'s worker, ``concurrent.futures.process._process_worker`` in an executor's, a ``Process``'s target),
    or None in a process ``multiprocessing`` did not start. The process object keeps its target under every start
    method (spawn and forkserver send it to the child), so a note says what kind of process did the work."""
    global _started
    if _started is None or _started[0] != os.getpid():
        target = getattr(multiprocessing.current_process(), "_target", None)
        name = None
        if target is not None:
            name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"
        _started = (os.getpid(), name)
    return _started[1]


def note(worker: str, **facts: Any) -> None:
    """Record that ``worker`` ran here and did ``facts`` (JSON-able values). Never raises: a note is evidence
    for a check, and a worker must do its work even where no note can be written."""
    parent = multiprocessing.parent_process()
    record = {
        "worker": worker,
        "pid": os.getpid(),
        "parent": None if parent is None else parent.pid,
        "interp": interpreter_id(),
        "started_as": started_as(),
        "time": time.time(),
        **facts,
    }
    with contextlib.suppress(OSError, ValueError, TypeError):
        _write((json.dumps(record) + "\n").encode())


def buffer_address(buffer: memoryview | bytearray) -> int | None:
    """Where a writable buffer's bytes are in memory; None for a read-only or empty one.

    The same in every interpreter of a process for a shared ``memoryview`` (measured on 3.14): what tells a view of
    the caller's buffer from a view of a copy.
    """
    import ctypes

    try:
        return ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    except (TypeError, ValueError):
        return None


def describe(value: Any) -> dict[str, Any]:
    """What a note says of one argument: its type, its :func:`shared_id`, lock kind, small value, length."""
    if type(value) in (int, float, str, bool) or value is None:  # the common case, quickly: a note is per call
        return {"type": type(value).__name__, "id": None, "lock": None, "value": value}
    found: dict[str, Any] = {"type": type(value).__name__, "id": shared_id(value), "lock": lock_kind(value)}
    if found["lock"] == "Semaphore":
        with contextlib.suppress(Exception):  # macOS cannot tell how many a semaphore lets in now
            found["lock"] = f"Semaphore({value.get_value()})"
    if isinstance(value, (bool, str)) or value is None:
        found["value"] = value
    elif isinstance(value, numbers.Integral):  # NumPy's integers too
        found["value"] = int(value)
    elif isinstance(value, numbers.Real):
        found["value"] = float(value)
    elif isinstance(value, (list, tuple)) and len(value) <= 16 and all(isinstance(v, int) for v in value):
        found["value"] = list(value)
    with contextlib.suppress(Exception):
        found["len"] = len(value)
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):  # an ArraySpec's, a NumPy array's
        found["shape"] = list(shape)
    if isinstance(value, (memoryview, bytearray)):
        found["address"] = buffer_address(value)
    if found["id"] is None and type(value).__module__.startswith("concurrent.interpreters"):
        found["id"] = f"interpreters-queue:{getattr(value, 'id', None)}"
    if found["id"] is None and isinstance(getattr(value, "name", None), str):  # a segment, or a spec of one
        found["id"] = f"segment:{value.name}"
    return found


#: Numbers this process's (and interpreter's) calls of noted workers, so that a call's failure names its note.
_calls = itertools.count()


def noted(worker: Callable[P, R]) -> Callable[P, R]:
    """Decorate a worker so that every call notes where it ran and what it was given, by parameter name (see
    :func:`describe`), before it runs: the evidence the exercises' self-checks judge from. A call that raises
    notes that too (:func:`read_notes` gives its note an ``error``), so a check can tell a worker that did the
    work from one that stopped on an error at its first line."""

    signature = inspect.signature(worker)
    names = list(signature.parameters)

    @functools.wraps(worker)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if not kwargs and len(args) == len(names):  # the common case, quickly: a note is per call
            given = dict(zip(names, args, strict=True))
        else:
            try:
                given = signature.bind(*args, **kwargs).arguments
            except TypeError:  # the call itself fails the same way, just below
                given = {}
        call = next(_calls)
        note(worker.__name__, call=call, args={name: describe(value) for name, value in given.items()})
        try:
            return worker(*args, **kwargs)
        except BaseException as exc:  # noted, then raised as before (KeyboardInterrupt too: the call did not end)
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            note(worker.__name__, call=call, failed=what[:300])
            raise

    return run


def _call_key(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    return record.get("pid"), record.get("interp"), record.get("call")


def read_notes(worker: str, since: float = 0.0) -> list[dict[str, Any]]:
    """The notes of ``worker`` about this process's work, made at or after ``since`` (``time.time()``), oldest first.

    Each is a call's note, with ``error``: ``"TypeError: ..."`` if that call raised, else None (a note written by
    :func:`note` itself, or a call still running, has None).
    """
    try:
        lines = _file(os.getpid()).read_text().splitlines()
    except OSError:
        return []
    found, failed = [], {}
    for line in lines:
        with contextlib.suppress(ValueError, TypeError):
            record = json.loads(line)
            if record.get("worker") != worker:
                continue
            if "failed" in record:
                failed[_call_key(record)] = record["failed"]
            elif record.get("time", 0) >= since:
                found.append(record)
    for record in found:
        record["error"] = failed.get(_call_key(record)) if "call" in record else None
    return found


def shared_id(obj: Any) -> str | None:
    """A name for a shared object that is the same in every process that has it, or None for anything else.

    A ``Value``/``Array`` (or its ``Raw`` form) is named by the file behind its heap block and the block's
    offset; a lock or semaphore by its named semaphore (or, under fork, where it has no name, by its address,
    which a fork child shares); a ``multiprocessing`` queue by the pipe under it.
    """
    with contextlib.suppress(Exception):
        semlock = getattr(obj, "_semlock", None)
        if semlock is not None:
            return f"sem:{semlock.name or semlock.handle}"
        reader = getattr(obj, "_reader", None)  # a multiprocessing Queue: the pipe under it
        if reader is not None and hasattr(reader, "fileno"):
            info = os.fstat(reader.fileno())
            return f"pipe:{info.st_dev}:{info.st_ino}"
        inner = obj.get_obj() if hasattr(obj, "get_obj") else obj
        wrapper = getattr(inner, "_wrapper", None)
        if wrapper is not None:
            (arena, start, _stop), _size = wrapper._state
            info = os.fstat(arena.fd)
            return f"heap:{info.st_dev}:{info.st_ino}:{start}"
    return None


def lock_kind(obj: Any) -> str | None:
    """'Lock', 'RLock' or 'Semaphore' for a ``multiprocessing`` lock or semaphore, else None."""
    semlock = getattr(obj, "_semlock", None)
    if semlock is None:
        return None
    if semlock.kind == 0:  # RECURSIVE_MUTEX
        return "RLock"
    return "Lock" if semlock.maxvalue == 1 else "Semaphore"


def _prune() -> None:
    """Remove the note files of processes that have ended (a kernel that crashed could not remove its own)."""
    with contextlib.suppress(OSError):
        for path in (registry_dir() / "notes").glob("*.jsonl"):
            pid, _, started = path.stem.partition("-")
            with contextlib.suppress(OSError, ValueError):
                if started != str(start_time(int(pid))):
                    path.unlink()


def _remove_own() -> None:
    with contextlib.suppress(OSError):
        _file(os.getpid()).unlink()


if multiprocessing.parent_process() is None and interpreter_id() == 0:
    _prune()
    atexit.register(_remove_own)
