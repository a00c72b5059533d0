"""Lesson 05, measuring what sharing costs: the measurements, their workers, plots and checks.

Three questions, each answered by timing it on the machine at hand:

* **Handoff**: how long until a worker that is already running (a warm pool)
  has a NumPy array in hand? By pickling it as a task argument, by attaching
  to it in shared memory, by shared memory including the copy into it, and by
  fork inheritance (a freshly forked worker, start-up included) where fork
  exists. See :func:`measure_handoff`.
* **Speedup**: how much faster does CPU-bound work get with 1, 2, ... workers,
  and how does that compare with Amdahl's law? See :func:`measure_speedup`.
* **Start cost**: what does starting an empty process cost per start method?
  See :func:`measure_start_cost`.

Each measurement returns :class:`Record` objects. A handoff or a start keeps
the fastest of several repeats, since noise from elsewhere on the machine only
ever adds time (as ``timeit`` does); a speedup keeps the median of several
rounds' own ratios. Ratios are computed within one run, never against figures
from another machine. ``python -m helpers.bench`` runs the same
measurements outside Jupyter.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import numbers
import statistics
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.arguments import positive_int
from helpers.deadline import run_with_deadline
from helpers.feedback import Feedback, self_check
from helpers.interrupts import GuardedBlock, ignore_interrupts, interrupts_deferred, wait_in_slices
from helpers.machine import describe_machine, format_bytes, quota_binds, shm_room, start_methods, usable_cpus
from helpers.release import terminate_pool
from helpers.shared_arrays import ArraySpec, attach_array, shared_array
from helpers.timing import best_time

__all__ = [
    "HANDOFF_METHODS",
    "MiB",
    "Record",
    "amdahl_speedup",
    "best_time",
    "check_amdahl",
    "check_crossover",
    "default_sizes",
    "largest_size",
    "measure_handoff",
    "measure_speedup",
    "measure_start_cost",
    "plot_handoff",
    "plot_speedup",
    "progress_bar",
    "serial_fraction",
    "speedup_claims",
    "spin",
]

MiB = 2**20
#: Handoff methods, in the order tables and plots show them. ``one_copy`` is the floor under them: no worker,
#: the parent copies the array once in its own memory (``array.copy()``).
HANDOFF_METHODS = ("pickle", "shared_memory", "shared_memory_with_copy", "fork", "one_copy")
#: Never plan an array larger than this fraction of /dev/shm's free room.
SHM_HEADROOM = 0.5
#: ... nor larger than this fraction of the memory available: while a pickled array travels, the parent and the
#: worker each hold it as an array and as pickled bytes at the same moment: several copies at once.
MEMORY_HEADROOM = 0.1

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, label: str) -> None:
    """The default progress callback: do nothing."""


@dataclass(frozen=True)
class Record:
    """One measurement from ``repeats`` timings: the fastest for a handoff or a start, the median for a speedup.

    ``measurement`` is ``"handoff"``, ``"speedup"`` or ``"start"``.
    ``size_bytes`` is set for handoffs, ``workers`` for speedups.
    """

    measurement: str
    method: str
    seconds: float
    repeats: int
    size_bytes: int | None = None
    workers: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, without empty fields."""
        out = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}
        out.update(self.extra)
        return out


# ----------------------------------------------------------------------------- sizes


def available_memory() -> int | None:
    """Bytes of memory this process may still use: MemAvailable, capped by a cgroup v2 limit."""
    limits = []
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        cgroup_max = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        current = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if cgroup_max != "max":
            limits.append(int(cgroup_max) - current)
    return min(limits) if limits else None


def largest_size(cap: int = 64 * MiB) -> int:
    """The largest array (a power of two of bytes, at most ``cap``) this machine has room for.

    Limited by ``/dev/shm``'s free room (half of it) and by available memory
    (a tenth: pickling a large array briefly holds several copies).
    """
    limit = cap
    room = shm_room()
    if room is not None:
        limit = min(limit, int(room.free_bytes * SHM_HEADROOM))
    memory = available_memory()
    if memory is not None:
        limit = min(limit, int(memory * MEMORY_HEADROOM))
    if limit < MiB:
        raise MemoryError(
            f"less than 1 MiB of room for the measurements ({format_bytes(max(limit, 0))}); "
            "free some memory or shared memory (python -m helpers.cleanup) and try again"
        )
    return 2 ** int(math.log2(limit))


def default_sizes(cap: int = 64 * MiB) -> list[int]:
    """Sizes from 1 MiB up to :func:`largest_size`, each four times the one before (and the largest)."""
    top = largest_size(cap)
    sizes = [MiB * 4**k for k in range(20) if MiB * 4**k <= top]
    if sizes[-1] != top:
        sizes.append(top)
    return sizes


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    sizes = list(sizes)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 8 for s in sizes):
        raise ValueError(f"sizes must be a non-empty list of byte counts, each at least 8, got {sizes!r}")
    return sizes


# ----------------------------------------------------------------------------- workers


def first_and_last(array: np.ndarray) -> float:
    """Worker: read the first and last element of an array it was given (by pickling)."""
    return float(array.flat[0]) + float(array.flat[-1])


def first_and_last_shared(spec: ArraySpec) -> float:
    """Worker: attach to a shared array by name and read its first and last element."""
    with attach_array(spec) as array:
        return float(array.flat[0]) + float(array.flat[-1])


_inherited: np.ndarray | None = None


def first_and_last_inherited(expected: float) -> None:
    """Worker for fork inheritance: exit 0 if the inherited module global holds the array, else 1."""
    ok = _inherited is not None and float(_inherited.flat[0]) + float(_inherited.flat[-1]) == expected
    sys.exit(0 if ok else 1)


def spin(iterations: int) -> int:
    """Worker: CPU-bound pure-Python work, ``iterations`` loop turns (the GIL is held throughout)."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


# ----------------------------------------------------------------------------- timings


def _start_and_join(ctx: Any, target: Callable[..., Any], args: tuple[Any, ...], what: str) -> None:
    """Start one process and wait for it (60 s at most); raise if it did not exit with code 0."""
    exitcode = run_with_deadline([ctx.Process(target=target, args=args)], seconds=60).outcomes[0].exitcode
    if exitcode != 0:
        raise RuntimeError(
            f"{what} ended with exit code {exitcode}. Under spawn and forkserver a new process first imports "
            "your main module: in a script, put the code that starts processes under "
            '`if __name__ == "__main__":` (lesson 01, section 4); a script read from stdin cannot be imported'
        )


def _expect(value: float, expected: float, method: str) -> None:
    if value != expected:
        raise RuntimeError(f"the {method} worker read {value}, expected {expected}: the handoff is broken")


@contextlib.contextmanager
def _forking_beside_pool_threads() -> Iterator[None]:
    """Silence Python 3.12+'s warning that forking while other threads run may deadlock the child.

    A forked child deadlocks if it needs a lock that another thread of the parent held at the fork. The
    threads running here belong to warm pools (their task, result and worker handlers), and the children
    forked beside them, a new pool's workers or the ``fork`` handoff's reader, use none of those pools'
    locks: only their own queues, created before the fork. Everywhere else the warning stays on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
        yield


def warm_pool(workers: int, context: Any = None) -> _WarmPool:
    """A ``multiprocessing`` pool whose workers have all started and run one task; terminated when the ``with``
    block ends, however it ends (:class:`helpers.interrupts.GuardedBlock`)."""
    return _WarmPool(workers, context or multiprocessing.get_context())


class _WarmPool(GuardedBlock[Any]):
    def __init__(self, workers: int, context: Any) -> None:
        self._workers, self._context = workers, context
        self._pool: Any = None

    def _open(self) -> Any:
        with interrupts_deferred():  # never a pool without the clean-up in place
            self._pool = self._context.Pool(self._workers, initializer=ignore_interrupts)
        wait_in_slices(self._pool.map_async(spin, [1] * (self._workers * 4)))
        return self._pool

    def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            terminate_pool(pool)  # not pool.terminate(): a worker it ends while putting a result would hang it
            pool.join()


#: The handoff records :func:`measure_handoff` made in this process, by id: what a check tells from records
#: written by hand (weak: a record nobody holds goes).
_MEASURED_HERE: weakref.WeakValueDictionary[int, Record] = weakref.WeakValueDictionary()


def measure_handoff(
    sizes: Sequence[int] | None = None,
    repeats: int = 5,
    methods: Sequence[str] = HANDOFF_METHODS,
    progress: Progress = _no_progress,
) -> list[Record]:
    """Time giving an array of each size to one warm worker, for each method; the fastest of ``repeats``.

    Every method ends when the worker has read the array's first and last
    element (checked), so all of them do the same work after the handoff.

    * ``pickle``: the array is a task argument: pickled, sent through a pipe, unpickled.
    * ``shared_memory``: the data already lives in shared memory; the task
      argument is its name, the worker attaches (``attach_array``).
    * ``shared_memory_with_copy``: as above, but the time includes creating
      the segment and copying the array into it.
    * ``fork``: a new worker forked after the array was made reads its
      inherited copy (start-up included; only where fork exists).
    * ``one_copy``: no worker at all; the array copied once in this process's memory. The floor under every
      route that copies: pickling sits several copies above it, attaching to shared memory below it.
    """
    sizes = _check_sizes(sizes if sizes is not None else default_sizes())
    repeats = positive_int("repeats", repeats)
    unknown = set(methods) - set(HANDOFF_METHODS)
    if unknown or not methods:
        raise ValueError(f"unknown handoff methods {sorted(unknown)}; choose from {HANDOFF_METHODS}")
    methods = [m for m in HANDOFF_METHODS if m in methods]
    if "fork" in methods and "fork" not in multiprocessing.get_all_start_methods():
        methods.remove("fork")
    room = shm_room()
    for size in sizes:
        if room is not None and not room.fits(size, SHM_HEADROOM):
            raise ValueError(
                f"{format_bytes(size)} does not fit in half of /dev/shm's free room ({format_bytes(room.free_bytes)}); "
                "use smaller sizes (helpers.measuring.default_sizes() picks ones that fit)"
            )
    records: list[Record] = []
    steps, done = len(sizes) * len(methods), 0
    with warm_pool(1) as pool:
        for size in sizes:
            array = np.arange(size // 8, dtype=np.float64)
            expected = first_and_last(array)
            for method in methods:
                progress(done / steps, f"handoff: {method}, {format_bytes(size)}")
                seconds = _time_handoff(method, array, expected, pool, repeats)
                record = Record("handoff", method, seconds, repeats, size_bytes=array.nbytes)
                _MEASURED_HERE[id(record)] = record
                records.append(record)
                done += 1
            del array
    progress(1.0, "handoff: done")
    return records


def _time_handoff(method: str, array: np.ndarray, expected: float, pool: Any, repeats: int) -> float:
    if method == "pickle":

        def call() -> None:
            _expect(wait_in_slices(pool.apply_async(first_and_last, (array,))), expected, method)

        return best_time(call, repeats)
    if method == "shared_memory":
        with shared_array(array.shape, array.dtype, copy_from=array) as shared:
            spec = shared.spec
            return best_time(
                lambda: _expect(wait_in_slices(pool.apply_async(first_and_last_shared, (spec,))), expected, method),
                repeats,
            )
    if method == "shared_memory_with_copy":

        def call() -> None:
            with shared_array(array.shape, array.dtype, copy_from=array) as shared:
                _expect(wait_in_slices(pool.apply_async(first_and_last_shared, (shared.spec,))), expected, method)

        return best_time(call, repeats)
    if method == "fork":
        global _inherited
        ctx = multiprocessing.get_context("fork")
        _inherited = array
        try:
            # This child only reads the inherited array and exits, under a deadline.
            with _forking_beside_pool_threads():
                return best_time(
                    lambda: _start_and_join(ctx, first_and_last_inherited, (expected,), "the forked worker"), repeats
                )
        finally:
            _inherited = None
    if method == "one_copy":

        def copy() -> None:
            _expect(first_and_last(array.copy()), expected, method)

        return best_time(copy, repeats)
    raise ValueError(f"unknown handoff method {method!r}; choose from {HANDOFF_METHODS}")


#: How much longer :func:`measure_speedup` makes its work where a cgroup quota, not the CPUs, limits this process
#: (a Binder box: 1 CPU of quota on a machine with more). The quota is a budget per 100 ms period, so for a moment
#: the workers run on more CPUs than the quota gives: with the default work (about 0.2 s on one worker) two workers
#: in a 1-CPU box showed a speedup above 1.25 (in one of this session's box runs, 3.14). Three times the work makes that
#: moment a small part of each measurement.
QUOTA_STRETCH = 3


def measure_speedup(
    max_workers: int | None = None,
    work: int = 4_000_000,
    repeats: int = 3,
    progress: Progress = _no_progress,
    budget: float | None = 8.0,
) -> list[Record]:
    """Time the same CPU-bound work (:func:`spin`, ``work`` loop turns in all) on 1..``max_workers`` warm workers.

    ``max_workers`` defaults to one more than :func:`usable_cpus`, so the last
    point shows what a worker without a CPU of its own adds: little or
    nothing. All pools are started first; then each of ``repeats`` rounds
    times every worker count once. A record's ``seconds`` is the median over the rounds
    and its ``extra["speedup"]`` the median of the rounds' ratios
    time with 1 worker / time with n.

    No new round starts once the rounds have taken ``budget`` seconds (the first always runs): on an idle
    2-CPU machine a round takes about a second, but with two busy loops and other test runs beside it,
    3.5 to 4 s (Python 3.14, load average 19), and three of them made the cell run past nbval's 60 s twice
    in 20 runs. A record's ``repeats`` says how many rounds ran.
    """
    top = usable_cpus() + 1 if max_workers is None else positive_int("max_workers", max_workers)
    if isinstance(work, bool) or not isinstance(work, int) or work < 1000:
        raise ValueError(f"work must be an int of at least 1000 loop turns, got {work!r}")
    repeats = positive_int("repeats", repeats)
    if quota_binds():
        work *= QUOTA_STRETCH
    counts = range(1, top + 1)
    chunks = {n: [work // (4 * n)] * (4 * n) for n in counts}  # 4 tasks per worker, to balance the load
    times: dict[int, list[float]] = {n: [] for n in counts}
    with contextlib.ExitStack() as stack:
        with _forking_beside_pool_threads():  # each pool's workers are forked beside the earlier pools' threads
            pools = {n: stack.enter_context(warm_pool(n)) for n in counts}
        # Rounds, not one worker count after the other: a burst of noise from elsewhere on the
        # machine then slows one round of every count, and the per-round ratios stay honest.
        for round_ in range(repeats):
            if round_ and budget is not None and sum(map(sum, times.values())) > budget:
                break
            progress(round_ / repeats, f"speedup: round {round_ + 1} of {repeats}")
            for n in counts:
                start = time.perf_counter()
                wait_in_slices(pools[n].map_async(spin, chunks[n], chunksize=1))
                times[n].append(time.perf_counter() - start)
    progress(1.0, "speedup: done")
    return [
        Record(
            "speedup",
            "pool",
            statistics.median(times[n]),
            len(times[n]),
            workers=n,
            extra={"speedup": statistics.median(one / t for one, t in zip(times[1], times[n], strict=True))},
        )
        for n in counts
    ]


def measure_start_cost(repeats: int = 5, progress: Progress = _no_progress) -> list[Record]:
    """Time starting and joining an empty process (``time.sleep(0)``) with each start method available.

    The records come in the order fork, spawn, forkserver (those the platform has), on every Python.
    """
    repeats = positive_int("repeats", repeats)
    methods = start_methods()
    records = []
    for i, method in enumerate(methods):
        progress(i / len(methods), f"start cost: {method}")
        start_and_join = functools.partial(
            _start_and_join, multiprocessing.get_context(method), time.sleep, (0,), f"an empty {method} process"
        )
        start_and_join()  # the first forkserver start also starts the server: not counted
        records.append(Record("start", method, best_time(start_and_join, repeats), repeats))
    progress(1.0, "start cost: done")
    return records


def progress_bar(title: str) -> tuple[Any, Progress]:
    """An ipywidgets progress bar and the callback that moves it, for measurements that take seconds.

    Display the widget first, then pass the callback as ``progress=``::

        bar, report = progress_bar("handoff")
        display(bar)
        records = measure_handoff(progress=report)
    """
    import ipywidgets as widgets

    bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=title)
    step = widgets.Label(value="starting")
    box = widgets.HBox([bar, step])

    def report(fraction: float, label: str) -> None:
        bar.value = fraction
        step.value = label

    return box, report


# ----------------------------------------------------------------------------- reading results


def handoff_seconds(records: Sequence[Record], method: str, size_bytes: int) -> float:
    """The seconds (the fastest of its repeats) of one handoff ``method`` at ``size_bytes``."""
    for r in records:
        if r.measurement == "handoff" and r.method == method and r.size_bytes == size_bytes:
            return r.seconds
    raise KeyError(f"no handoff record for {method!r} at {size_bytes} bytes")


def amdahl_speedup(serial: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` CPUs of work whose fraction ``serial`` cannot run in parallel."""
    if not 0 <= serial <= 1:
        raise ValueError(f"serial is a fraction between 0 and 1, got {serial!r}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    return 1 / (serial + (1 - serial) / workers)


def serial_fraction(speedup: float, workers: int) -> float:
    """The serial fraction Amdahl's law implies for a measured ``speedup`` on ``workers`` CPUs (Karp-Flatt).

    Clipped to [0, 1]: noise can make a measured speedup exceed ``workers``.
    """
    if workers < 2:
        raise ValueError("a serial fraction needs a measurement with at least 2 workers on at least 2 CPUs")
    fraction = (1 / speedup - 1 / workers) / (1 - 1 / workers)
    return min(1.0, max(0.0, fraction))


#: How far a speedup may stray from what the CPUs allow before a claim calls it false. A cloud VM shares
#: its host: the time a vCPU really gets varies by a fifth or more from one second to the next.
NOISE = 0.25


def speedup_claims(records: Sequence[Record], cpus: int | None = None) -> list[str]:
    """Statements about a speedup measurement that read the same on 1 CPU and on many, each ending True/False.

    1. No speedup beats the number of usable CPUs by more than :data:`NOISE`.
    2. The worker beyond the usable CPUs (if measured) gained less than a CPU of its own would have
       given: ``(cpus + 1) / cpus`` times the speedup with ``cpus`` workers, give or take :data:`NOISE`. (Without
       that allowance it failed once in CI's forkserver stage, 2 CPUs: a round where the 2 workers were slowed
       makes the third look like a CPU of its own.)
    """
    cpus = usable_cpus() if cpus is None else cpus
    by_workers = {r.workers: r.extra["speedup"] for r in records if r.measurement == "speedup"}
    if not by_workers:
        raise ValueError("no speedup records; run measure_speedup() first")
    best = max(by_workers.values())
    claims = [
        f"the best speedup is at most the number of usable CPUs (give or take {NOISE:.0%} of noise): "
        f"{best <= cpus * (1 + NOISE)}"
    ]
    if cpus + 1 in by_workers and cpus in by_workers:
        gain = by_workers[cpus + 1] / by_workers[cpus]
        own_cpu = (cpus + 1) / cpus
        claims.append(
            f"a worker beyond the usable CPUs gained less than a CPU of its own would (give or take {NOISE:.0%} of "
            f"noise): {gain < own_cpu * (1 + NOISE)}"
        )
    return claims


def plot_handoff(records: Sequence[Record], ax: Any = None) -> Any:
    """Log-log plot of seconds vs array size, one line per handoff method; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    for method in HANDOFF_METHODS:
        points = sorted((r.size_bytes, r.seconds) for r in records if r.measurement == "handoff" and r.method == method)
        if points:
            sizes, seconds = zip(*points, strict=True)
            style = {"color": "black", "linestyle": "--", "marker": "."} if method == "one_copy" else {"marker": "o"}
            label = "one copy in memory (the floor)" if method == "one_copy" else method
            ax.loglog([s / MiB for s in sizes], seconds, label=label, **style)
    ax.set_xlabel("array size (MiB)")
    ax.set_ylabel("seconds until the worker has it (fastest of repeats)")
    ax.set_title(f"Handing an array to a warm worker\n{describe_machine()}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def plot_speedup(records: Sequence[Record], cpus: int | None = None, ax: Any = None) -> Any:
    """Measured speedup vs workers, with the ideal line and Amdahl's curve for the measured serial fraction."""
    import matplotlib.pyplot as plt

    cpus = usable_cpus() if cpus is None else cpus
    points = sorted(
        (r.workers, r.extra["speedup"]) for r in records if r.measurement == "speedup" and r.workers is not None
    )
    if not points:
        raise ValueError("no speedup records to plot; run measure_speedup() first")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    workers = [w for w, _ in points]
    ax.plot(workers, [s for _, s in points], marker="o", label="measured")
    ax.plot(workers, [min(w, cpus) for w in workers], linestyle=":", color="grey", label=f"ideal on {cpus} CPU(s)")
    at_cpus = dict(points).get(cpus)
    if cpus >= 2 and at_cpus is not None:
        serial = serial_fraction(at_cpus, cpus)
        more = list(range(1, max(8, workers[-1]) + 1))
        ax.plot(
            more,
            [amdahl_speedup(serial, n) for n in more],
            linestyle="--",
            label=f"Amdahl if you had n CPUs, serial fraction {serial:.2f}",
        )
    ax.axvline(cpus, color="grey", alpha=0.3)
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup over 1 worker")
    ax.set_title(f"CPU-bound work on {cpus} usable CPU(s)\n{describe_machine()}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


# ----------------------------------------------------------------------------- exercise checks


#: Exercise 1's sizes, the smallest and the largest (its cell's ``small_sizes``): the records must span them.
_CROSSOVER_RANGE = (4 * 2**10, 16 * MiB)


@self_check("where shared memory starts to win")
def check_crossover(feedback: Feedback, records: Sequence[Record], crossover: int | None) -> None:
    """Exercise 1: ``crossover`` is the smallest measured size from which shared memory
    (with the copy) beats pickling at that size and every larger one, or None if it never does."""
    if not records or not all(isinstance(r, Record) for r in records):
        feedback.fail("records should be the list measure_handoff(...) returned; run the measuring cell first")
        return
    made = [r for r in records if r.measurement == "handoff" and _MEASURED_HERE.get(id(r)) is not r]
    if made:
        feedback.fail(
            f"{len(made)} of your {len(records)} records were not measured here: measure_handoff made none of them "
            "in this kernel. records should be the list measure_handoff(...) returned (or some of its items)"
        )
        return
    sizes = sorted({r.size_bytes for r in records if r.measurement == "handoff" and r.size_bytes is not None})
    missing = [
        m for m in ("pickle", "shared_memory_with_copy") if not any(r.method == m for r in records if r.size_bytes)
    ]
    if missing:
        feedback.fail(
            f"records hold no {' and no '.join(missing)} measurement: the crossover compares the two, so measure both "
            "(methods=['pickle', 'shared_memory_with_copy'], or all methods)"
        )
        return
    wins = {
        s: handoff_seconds(records, "shared_memory_with_copy", s) < handoff_seconds(records, "pickle", s) for s in sizes
    }
    expected = None
    for s in reversed(sizes):
        if not wins[s]:
            break
        expected = s
    if len(sizes) < 3 or sizes[0] > _CROSSOVER_RANGE[0] or sizes[-1] < _CROSSOVER_RANGE[1]:
        feedback.fail(
            f"you measured {len(sizes)} size(s), from {format_bytes(sizes[0])} to {format_bytes(sizes[-1])}: "
            f"measure from {format_bytes(_CROSSOVER_RANGE[0])} (or less) to {format_bytes(_CROSSOVER_RANGE[1])} "
            "(or more), as small_sizes in the cell does, so that the crossover, wherever it is, lies among them"
        )
        return
    feedback.ok(f"you measured {len(sizes)} sizes, from {format_bytes(sizes[0])} to {format_bytes(sizes[-1])}")
    if crossover is None:
        feedback.expect(
            expected is None,
            "in your measurements shared memory with the copy never wins from some size on: None is right",
            f"in your records shared memory with the copy wins from {format_bytes(expected or 0)} on; "
            "crossover should be that size in bytes",
        )
        return
    if isinstance(crossover, (bool, np.bool_)) or not isinstance(crossover, numbers.Integral):
        feedback.fail(f"crossover should be a whole number of bytes (or None), now {crossover!r}")
        return
    crossover = int(crossover)  # a NumPy integer (read from an array of sizes, say) is a whole number too
    if crossover not in wins:
        units = [f"{crossover} {unit} is {crossover * size}" for unit, size in (("KiB", 1024), ("MiB", MiB))]
        meant = [text for text, size in zip(units, (1024, MiB), strict=True) if crossover * size in wins]
        if meant:
            feedback.fail(f"crossover is a number of bytes: {' and '.join(meant)}")
            return
        if 0 <= crossover < len(sizes):
            feedback.fail(
                f"crossover is a number of bytes, not a position in the list of sizes: the size at position "
                f"{crossover} is {sizes[crossover]}"
            )
            return
    feedback.expect(
        crossover in wins,
        f"{crossover} is one of the sizes you measured",
        f"crossover should be one of the {len(sizes)} sizes you measured, from {sizes[0]} to {sizes[-1]} bytes, "
        "or None if shared memory with the copy does not win from some size on",
    )
    if crossover in wins:
        if not wins[crossover]:
            detail = f" (at {format_bytes(crossover)} pickling is faster)"
        elif expected is not None and crossover > expected:
            detail = f" (it also wins at every size from {format_bytes(expected)}, which is smaller)"
        else:
            detail = " (at a larger size pickling is faster again)"
        feedback.expect(
            crossover == expected,
            f"from {format_bytes(crossover)} on, shared memory with the copy beats pickling at every size you measured",
            "look again: crossover is the smallest size from which shared_memory_with_copy is faster "
            "than pickle at that size and at every larger one" + detail,
        )


#: Wrong formulas learners write for Amdahl's law, by what they compute, with the hint for each.
_AMDAHL_SLIPS: list[tuple[Callable[[float, int], float], str]] = [
    (
        lambda s, n: s + (1 - s) / n,
        "that is the time with n workers, not the speedup: the speedup is 1 divided by it",
    ),
    (
        lambda s, n: s + n * (1 - s),
        "that is Gustafson's law (a problem that grows with the workers); Amdahl's keeps the work fixed: "
        "1 / (serial + (1 - serial) / n)",
    ),
    (lambda s, n: 1 / (s + (1 - s) * n), "the parallel part shrinks with n workers: divide it by n, do not multiply"),
    (lambda s, n: 1 / ((1 - s) + s / n), "serial and parallel are swapped: the serial part is the one n cannot divide"),
    (lambda s, n: 1 // (s + (1 - s) / n), "// rounds down to a whole number; a speedup has fractions: use /"),
    (
        lambda s, n: 1 / (s + 1 / n),
        "the part that n workers divide is the rest of the work, 1 - serial, not all of it: (1 - serial) / n",
    ),
    (
        lambda s, n: 1 / s + (1 - s) / n,
        "1 / serial + ... divides by serial alone: put the whole time in parentheses, 1 / (serial + (1 - serial) / n)",
    ),
]


@self_check("Amdahl's law")
def check_amdahl(feedback: Feedback, speedup: Callable[[float, int], float], best_with_5_percent: float) -> None:
    """Exercise 2: ``speedup(serial, workers)`` implements Amdahl's law, and ``best_with_5_percent``
    is the best speedup any number of workers gives when 5% of the work is serial."""
    if not callable(speedup):
        feedback.fail("pass your function itself: check_amdahl(my_speedup, ...), without calling it")
        return
    cases = [(0.0, 4), (1.0, 8), (0.1, 1), (0.1, 10), (0.05, 1000)]
    got: dict[tuple[float, int], object] = {}
    for serial, workers in cases:
        try:
            got[serial, workers] = speedup(serial, workers)
        except Exception as exc:  # a student's function may divide by zero and more
            got[serial, workers] = exc
    wrong = [case for case, value in got.items() if not _same(value, amdahl_speedup, case)]
    slip = next(
        (
            hint
            for formula, hint in _AMDAHL_SLIPS
            if wrong and all(_same(got[c], formula, c) for c in got if c[0] not in (0.0, 1.0))
        ),
        None,
    )
    first = wrong[0] if wrong else None
    feedback.expect(
        not wrong,
        "perfectly parallel work (serial 0) scales with the workers; fully serial work (serial 1) never speeds up",
        (
            f"my_speedup({first[0]}, {first[1]}) is {got[first]!r}, expected {amdahl_speedup(*first):.4g}; "
            + (
                slip
                or "hint: with 1 worker the work takes 1 unit of time; with n, the serial part still takes `serial`, "
                "the rest is divided by n; the speedup is 1 divided by that time"
            )
        )
        if first
        else "",
    )
    if not _is_number(best_with_5_percent):
        feedback.fail(
            f"best_with_5_percent should be a number, now {best_with_5_percent!r}: let the workers grow without "
            "end; what is left of the time is the serial part alone"
        )
        return
    if math.isinf(best_with_5_percent):
        feedback.fail(
            "best_with_5_percent is inf: the serial part alone still takes 5% of the time, whatever the workers"
        )
        return
    hints = {
        0.05: "that is the serial fraction itself; the best speedup is 1 divided by the time that cannot shrink",
        0.95: "that is the parallel fraction; what is left of the time with endless workers is the serial part",
        1 / 0.95: "that is 1 / 0.95; with endless workers what is left is the serial part, 0.05: 1 / 0.05",
    }
    if 19 <= best_with_5_percent < 19.8:
        hints[best_with_5_percent] = "that is the speedup with many workers, not the limit: let n grow without end"
    feedback.expect(
        math.isclose(best_with_5_percent, 20, rel_tol=0.01),
        "with 5% serial work no number of workers gets past 20x: the serial part alone takes 1/20 of the time",
        f"best_with_5_percent is {best_with_5_percent!r}: "
        + next(
            (h for v, h in hints.items() if math.isclose(best_with_5_percent, v, rel_tol=0.01)),
            "let the workers grow without end; what is left of the time is the serial part alone",
        ),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(value: object, formula: Callable[[float, int], float], case: tuple[float, int]) -> bool:
    """True if ``value``, what a student's function gave for ``case``, is what ``formula`` gives."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isclose(value, formula(*case), rel_tol=1e-6)
    except ZeroDivisionError:
        return False
