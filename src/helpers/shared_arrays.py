"""NumPy arrays on shared memory that are always cleaned up: a pattern to copy.

The owner (usually the parent) creates the array with :func:`shared_array`;
each worker attaches to it with :func:`attach_array`, given the small,
picklable :class:`ArraySpec` (segment name, shape, dtype) rather than the
data::

    with shared_array((1000, 1000)) as shared:          # parent: create, owns it
        shared.array[:] = 1.0
        p = Process(target=some_worker, args=(shared.spec,))
        ...
    # here the segment is closed and unlinked, even after an error or Ctrl-C

    def some_worker(spec):                                # child: attach, never unlink
        with attach_array(spec) as a:
            a *= 2

Two operations end a segment's life and they are different:

* ``close()`` unmaps the segment from *this* process; every process that
  created or attached to it closes it once.
* ``unlink()`` deletes the segment itself (its name in ``/dev/shm``); the
  owner does it once, and then no new process can attach.

:func:`shared_array` does both when its ``with`` block ends, however it ends.
A NumPy view still held elsewhere (say a notebook variable) keeps the memory
mapped, and Python refuses to ``close()`` under it (``BufferError``); the
segment is then unlinked all the same and the mapping is released when the
last view is deleted. Nothing remains in ``/dev/shm``.

Before creating, :func:`shared_array` checks that the array fits in the free
room of ``/dev/shm``: on Linux a segment that does not fit is created without
complaint and the process dies of a bus error (SIGBUS) when it first touches
the missing pages. Segment names are ``mpcourse_<token>_*``, with the kernel's
token (:mod:`helpers.ownership`), so that ``python -m helpers.cleanup`` can
prove them the course's after a crash.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from helpers.interrupts import GuardedBlock, interrupts_deferred
from helpers.machine import format_bytes, shm_missing, shm_room
from helpers.ownership import course_segment_name

__all__ = ["ArraySpec", "SharedArray", "ShmRoomError", "attach_array", "shared_array"]

#: Fraction of the free room in /dev/shm one array may take.
DEFAULT_HEADROOM = 0.9


class ShmRoomError(MemoryError):
    """The array does not fit in the free room of ``/dev/shm``, or (on Linux) there is no ``/dev/shm`` at all."""


@dataclass(frozen=True)
class ArraySpec:
    """All a worker needs to attach to a shared array: small and picklable."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        """Size of the array's data in bytes."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


class _Segment(shared_memory.SharedMemory):
    """A ``SharedMemory`` whose finalizer stays quiet while NumPy views are alive.

    ``SharedMemory.__del__`` closes the segment and only expects ``OSError``;
    with a view alive, ``close()`` raises ``BufferError``, which Python would
    print as "Exception ignored in ...". Here the mapping then simply stays
    until the last view is gone (the mmap object is freed with it).
    """

    def __del__(self) -> None:
        with contextlib.suppress(OSError, BufferError):
            self.close()
        fd = getattr(self, "_fd", -1)
        if fd >= 0:  # the mapping does not need the descriptor; do not leak it
            with contextlib.suppress(OSError):
                os.close(fd)
            self._fd = -1


def mapped_buffer(segment: shared_memory.SharedMemory) -> memoryview:
    """The segment's buffer, or a clear error once this process has closed it (``buf`` is then None)."""
    if segment.buf is None:
        raise ValueError(f"shared memory segment {segment.name!r} was closed in this process; attach again")
    return segment.buf


def _view(segment: shared_memory.SharedMemory, spec: ArraySpec) -> np.ndarray:
    """A NumPy view of the segment that holds a buffer export on its mmap.

    ``np.frombuffer`` makes a ``memoryview`` of its own from ``segment.buf``
    (the view's ``base``), which keeps the segment's mmap exported while the
    view lives, so ``close()`` refuses (``BufferError: cannot close exported
    pointers exist``, from the mmap) instead of unmapping memory the view
    still points at. ``segment.buf`` itself is not held: the refused
    ``close()`` has already released it and set it to None.
    ``np.ndarray(shape, buffer=segment.buf)`` holds nothing: its base is the
    mmap object, ``close()`` succeeds, and the next access through the view
    reads unmapped memory and crashes the process.
    """
    count = math.prod(spec.shape)
    return np.frombuffer(mapped_buffer(segment), dtype=spec.dtype, count=count).reshape(spec.shape)


def _close_quietly(segment: _Segment) -> bool:
    """Close this process's mapping; False if NumPy views still use it (it is released with them)."""
    try:
        segment.close()
        return True
    except BufferError:
        return False


class SharedArray:
    """A NumPy array on a shared memory segment this process owns.

    Made by :func:`shared_array`; use it inside the ``with`` block only.

    Attributes:
        spec: what to give a worker so it can :func:`attach_array`.
    """

    def __init__(self, segment: _Segment, spec: ArraySpec) -> None:
        self.spec = spec
        self._array: np.ndarray | None = _view(segment, spec)

    @property
    def array(self) -> np.ndarray:
        """The NumPy view of the segment: reads and writes go to shared memory."""
        if self._array is None:
            raise RuntimeError(
                f"shared array {self.spec.name} was closed and unlinked when its `with shared_array(...)` "
                "block ended; use it inside the block, or np.array(shared.array) there to keep a private copy"
            )
        return self._array

    def _release(self) -> None:
        self._array = None

    @property
    def name(self) -> str:
        """The segment's name, as in ``/dev/shm/<name>`` on Linux."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"SharedArray(shape={self.spec.shape}, dtype={self.spec.dtype!r}, {format_bytes(self.spec.nbytes)})"


def _normalize_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
        raise ValueError(
            f"shape must be a positive int or a tuple of positive ints, got {shape!r}; "
            "e.g. shared_array(1000) or shared_array((100, 100))"
        )
    return tuple(int(d) for d in dims)


def shared_array(
    shape: int | Sequence[int],
    dtype: DTypeLike = "float64",
    *,
    copy_from: ArrayLike | None = None,
    headroom: float = DEFAULT_HEADROOM,
) -> _SharedArrayBlock:
    """Create a zero-filled NumPy array on new shared memory; close and unlink it when the block ends.

    Use it in a ``with`` block: ``with shared_array(1000) as shared: shared.array[:] = ...``.

    Args:
        shape: the array's shape, e.g. ``1000`` or ``(100, 100)``.
        dtype: any NumPy dtype; ``"float64"`` by default.
        copy_from: optional data of the same shape to copy in.
        headroom: the largest fraction of ``/dev/shm``'s free room the array may take.

    Raises:
        ValueError: the shape or dtype is not valid, or ``copy_from`` has another shape.
        ShmRoomError: the array would not fit in ``/dev/shm``; touching it would kill the process.
    """
    dims = _normalize_shape(shape)
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype {dtype!r} is not a NumPy dtype; use e.g. 'float64', 'int32' or np.uint8") from exc
    if dt.hasobject:
        raise ValueError(
            f"dtype {dt} holds Python objects (pointers into one process's memory) and cannot be shared; "
            "use a numeric dtype"
        )
    data = None
    if copy_from is not None:
        data = np.asarray(copy_from)
        if data.shape != dims:
            raise ValueError(f"copy_from has shape {data.shape}, but the shared array has shape {dims}")
    spec = ArraySpec(course_segment_name(), dims, dt.str)
    room = shm_room()
    if shm_missing(room=room):
        raise ShmRoomError(
            "this Linux system has no /dev/shm, so no shared memory can be created here; in Docker, run the "
            "container with --shm-size=256m (or mount a tmpfs at /dev/shm)"
        )
    if room is not None and not room.fits(spec.nbytes, headroom):
        raise ShmRoomError(
            f"{format_bytes(spec.nbytes)} does not fit in {room.path} (free: {format_bytes(room.free_bytes)}; "
            f"this helper uses at most {headroom:.0%} of it). Use a smaller array, free shared memory "
            "(python -m helpers.cleanup), or give the container more (docker run --shm-size=1g)."
        )
    return _SharedArrayBlock(spec, data)


class _SharedArrayBlock(GuardedBlock[SharedArray]):
    """The ``with`` block of :func:`shared_array`: creates the segment on entry, unlinks and closes it on exit,
    however a Ctrl-C comes (:class:`helpers.interrupts.GuardedBlock`)."""

    def __init__(self, spec: ArraySpec, data: np.ndarray | None) -> None:
        self._spec, self._data = spec, data
        self._segment: _Segment | None = None
        self._shared: SharedArray | None = None

    def _open(self) -> SharedArray:
        with interrupts_deferred():  # never a segment in /dev/shm without the clean-up in place
            self._segment = _Segment(name=self._spec.name, create=True, size=self._spec.nbytes)
            self._shared = SharedArray(self._segment, self._spec)
        if self._data is not None:
            self._shared.array[...] = self._data
        self._data = None
        return self._shared

    def _close(self) -> None:
        segment, shared = self._segment, self._shared
        self._segment = self._shared = self._data = None
        if segment is None:
            return
        # Unlink first: whatever happens next, the name leaves /dev/shm now.
        with contextlib.suppress(FileNotFoundError):
            segment.unlink()
        if shared is not None:
            shared._release()  # drop the view we handed out, so that close() can succeed
        _close_quietly(segment)


@contextlib.contextmanager
def _untracked() -> Iterator[dict[str, bool]]:
    """Keyword arguments (and, before 3.13, a patch) to attach without the resource tracker.

    With the default arguments every ``SharedMemory(name=...)`` registers the
    segment with the resource tracker, on every Python (3.15 included), and
    the tracker unlinks it when the attaching process exits if that process
    does not share the owner's tracker (gh-82300). Python 3.13 added
    ``track=False`` to skip the registration; before 3.13 it is skipped by
    replacing ``resource_tracker.register`` for the duration of the call.
    """
    if sys.version_info >= (3, 13):
        yield {"track": False}
        return
    from multiprocessing import resource_tracker

    original = resource_tracker.register

    def register(name: Sized, rtype: str) -> None:
        if rtype != "shared_memory":
            original(name, rtype)

    resource_tracker.register = register
    try:
        yield {}
    finally:
        resource_tracker.register = original


@contextlib.contextmanager
def attach_array(spec: ArraySpec) -> Iterator[np.ndarray]:
    """Attach to a shared array created elsewhere; close (never unlink) this process's mapping at the end.

    Use it in worker functions, in any process. The segment is attached
    without registering it with the resource tracker (``track=False`` on
    Python 3.13+, the same by hand before), so a process that only attached
    never unlinks the owner's segment when it exits (see lesson 04).

    Raises:
        TypeError: ``spec`` is not an :class:`ArraySpec`.
        FileNotFoundError: no segment has that name (the owner already unlinked it?).
    """
    if not isinstance(spec, ArraySpec):
        raise TypeError(f"attach_array needs the ArraySpec of a shared array (shared.spec), got {spec!r}")
    try:
        with _untracked() as kwargs:
            segment = _Segment(name=spec.name, **kwargs)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"no shared memory segment named {spec.name!r}: was it unlinked already? "
            "Attach while the owner's `with shared_array(...)` block is still running."
        ) from exc
    try:
        if segment.size < spec.nbytes:
            raise ValueError(f"segment {spec.name!r} has {segment.size} bytes, too small for {spec}")
        yield _view(segment, spec)  # the caller's view; close() waits for it to go (see _close_quietly)
    finally:
        _close_quietly(segment)
