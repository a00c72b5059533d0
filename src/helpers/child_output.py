"""What child processes print shows in the cell that started them, even on a busy machine.

A ``spawn`` or ``forkserver`` child writes to the file descriptors it inherited, and in a Jupyter kernel those are
pipes that ipykernel reads in a thread of its own and forwards to the notebook, stamped with the cell that is
running *when the thread gets to it*. On a busy machine that thread may get to a child's line only after its cell
has ended: the line then shows in the next cell (seen on 3.14 with forkserver, under a load average near 8).
After every cell that made a ``multiprocessing`` process, :func:`drain` waits, briefly, until the pipes are empty
and the thread has handed on all it read, then sends it, so the child's output stays with its cell.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import multiprocessing.process
import sys
import time
from typing import Any

__all__ = ["drain", "pending_bytes", "processes_made"]

#: The longest a cell's end waits for its children's output to be forwarded.
DRAIN_SECONDS = 2.0


def processes_made() -> int:
    """How many ``multiprocessing`` process objects this process has made so far (pools' workers included)."""
    counter = multiprocessing.process._process_counter  # type: ignore[attr-defined]
    with contextlib.suppress(ValueError, IndexError):
        return int(repr(counter).partition("(")[2].rstrip(")"))  # itertools.count: its repr holds the next number
    return 0


def pending_bytes(fd: int) -> int:
    """Bytes waiting to be read from pipe ``fd`` (0 if that cannot be told, as on Windows)."""
    try:
        import fcntl
        import termios

        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
    except (ImportError, OSError):
        return 0


def _forwarded_pipes() -> list[tuple[Any, int]]:
    """ipykernel's output streams that forward a pipe (its ``_fid``, the read end), with that descriptor."""
    return [
        (stream, fd)
        for stream in (sys.stdout, sys.stderr)
        if isinstance(fd := getattr(stream, "_fid", None), int) and getattr(stream, "_should_watch", False)
    ]


@functools.cache
def _read_lines(stream_type: Any) -> frozenset[int]:
    """The lines of ``stream_type._watch_pipe_fd`` (ipykernel's forwarding thread) where it waits to read."""
    code = getattr(getattr(stream_type, "_watch_pipe_fd", None), "__code__", None)
    try:
        lines, first = inspect.getsourcelines(code) if code is not None else ([], 0)
    except (OSError, TypeError):
        return frozenset()
    return frozenset(n for n, line in enumerate(lines, first) if "os.read(" in line)


def _waiting_to_read(stream: Any) -> bool:
    """Whether the thread that forwards ``stream``'s pipe is waiting for more to read, so that everything it read
    before has been handed on (it reads, hands on, reads again: ipykernel's ``OutStream._watch_pipe_fd``). True
    where that cannot be told (another ipykernel): then only the pipe's emptiness is waited for."""
    thread = getattr(stream, "watch_fd_thread", None)
    reads = _read_lines(stream.__class__)
    if thread is None or not thread.is_alive() or not reads:
        return True
    frame = sys._current_frames().get(thread.ident)  # the frame it runs now, the innermost
    if frame is None:
        return True
    return frame.f_code is type(stream)._watch_pipe_fd.__code__ and frame.f_lineno in reads


def drain(limit: float = DRAIN_SECONDS) -> bool:
    """Wait until ipykernel has read and handed on what was written to this process's stdout and stderr pipes
    (children's output), then flush it to the notebook; at most ``limit`` seconds. Whether it all went (True
    outside a kernel)."""
    pipes = _forwarded_pipes()
    deadline = time.monotonic() + limit
    while True:
        settled = all(pending_bytes(fd) == 0 and _waiting_to_read(stream) for stream, fd in pipes)
        if settled or time.monotonic() >= deadline:
            break
        time.sleep(0.005)
    for stream, _ in pipes:
        with contextlib.suppress(Exception):
            stream.flush()
    return settled
