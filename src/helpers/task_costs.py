"""Lesson 05, what each task costs: the same work split into many small tasks, through every kind of pool.

A pool sends every task to a worker as a message and every result back as another: pickled, written into a
pipe (or a queue between interpreters), read and unpickled. :func:`measure_task_costs` runs the same tasks
(:func:`tiny_task`, a short pure-Python loop each) through ``Pool.map``, ``Pool.imap``, ``Pool.imap_unordered``,
``ProcessPoolExecutor.map`` and, on Python 3.14+, ``InterpreterPoolExecutor.map``, several tasks to a message
(the ``chunksize``), and in a plain loop in this process. It counts **CPU time**, of this process and of every
worker, rather than wall time alone: the CPU time the tasks cost beyond the loop's is what the messages cost,
and it does not change when other programs share the CPUs (wall time does, by a factor of two or three with
two busy loops beside it on 2 CPUs).

This module imports no NumPy, even indirectly at its top: ``InterpreterPoolExecutor`` imports it in each
subinterpreter to find :func:`tiny_task`, and NumPy cannot load there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import multiprocessing
import multiprocessing.pool
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from types import FrameType
from typing import Any, ClassVar

from helpers.arguments import positive_int
from helpers.feedback import Feedback, self_check
from helpers.interrupts import GuardedBlock, ignore_interrupts, interrupts_deferred, wait_in_slices
from helpers.release import terminate_pool

__all__ = [
    "ROUTES",
    "TaskCost",
    "check_messaging",
    "measure_task_costs",
    "message_costs",
    "plot_task_costs",
    "run_batch",
    "task_cost_table",
    "tiny_task",
]

#: The routes, in the order tables and plots show them. The last needs Python 3.14+.
ROUTES = ("Pool.map", "Pool.imap", "Pool.imap_unordered", "ProcessPoolExecutor.map", "InterpreterPoolExecutor.map")
#: Loop turns in one task: a few microseconds of work (about 4 µs on the course's test machine).
TASK_TURNS = 200
#: Workers in every pool measured here: fixed, so that the counts of messages are the same on every machine.
WORKERS = 2
#: The exercise's bound on the share of the CPU time that goes into messages.
EXERCISE_SHARE = 0.2
#: Tasks in the exercise.
EXERCISE_TASKS = 2000

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, label: str) -> None:
    """The default progress callback: do nothing."""


# ----------------------------------------------------------------------------- workers


def tiny_task(turns: int) -> int:
    """Worker: one small task, ``turns`` turns of a pure-Python loop (a few microseconds for a few hundred)."""
    total = 0
    for i in range(turns):
        total += i * i % 7
    return total


def run_batch(batch: Sequence[int]) -> list[int]:
    """Worker: run :func:`tiny_task` on every item of ``batch``; one message carries the whole batch."""
    return [tiny_task(turns) for turns in batch]


def batches(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of ``size`` items (the last may be shorter)."""
    size = positive_int("size", size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# ----------------------------------------------------------------------------- CPU time of other processes


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds process ``pid`` has used so far (Linux's ``/proc/PID/schedstat``, in nanoseconds), or None
    where the system does not say (``/proc/PID/stat`` counts in 10 ms ticks only: too coarse here).

    The kernel brings a process's count up to date when it stops running, so a worker still running (for
    a moment after it sent its last result) is waited for, up to 20 ms; its count could lag by milliseconds.
    """
    try:
        for _ in range(40):
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "R":
                    break
            time.sleep(0.0005)
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _cpu_clock(pids: Sequence[int]) -> Callable[[], float | None]:
    """A clock of the CPU seconds used by this process and by ``pids`` together (None if unknown)."""

    def now() -> float | None:
        total = time.process_time()
        for pid in pids:
            used = process_cpu_seconds(pid)
            if used is None:
                return None
            total += used
        return total

    return now


# ----------------------------------------------------------------------------- the pools


class _Recorded:
    """An ``imap_unordered`` iterator that notes each result it hands back, in the order it hands them."""

    def __init__(self, results: Any, seen: list[Any]) -> None:
        self._results, self._seen = results, seen

    def __iter__(self) -> _Recorded:
        return self

    def __next__(self) -> Any:
        value = next(self._results)  # an IMapIterator, or a generator over its chunks when chunksize > 1
        self._seen.append(value)
        return value


class _CountingPool(multiprocessing.pool.Pool):
    """A ``multiprocessing`` pool that counts the messages its task handler sends to the workers.

    The count is made where the messages leave: the task handler's ``put``. A ``map`` with a chunksize of
    100 over 1,000 tasks sends 10 messages; ``imap`` without a chunksize sends one per task.
    """

    messages = 0
    #: Set by exercise 3's check (never while measuring: it costs the parent time per result): what each
    #: ``imap_unordered`` call then handed back, in the order it came, which is the tasks' order only by luck.
    record_unordered = False
    unordered: list[list[Any]]

    def imap_unordered(self, *args: Any, **kwargs: Any) -> Any:
        results = super().imap_unordered(*args, **kwargs)
        if not self.record_unordered:
            return results
        seen: list[Any] = []
        self.unordered.append(seen)
        return _Recorded(results, seen)

    def _setup_queues(self) -> None:
        self.unordered = []
        super()._setup_queues()  # type: ignore[misc]
        send = self._quick_put  # type: ignore[has-type]

        def counted(message: Any) -> None:
            if message is not None:  # None is the sentinel that stops a worker, not a task
                self.messages += 1
            send(message)

        self._quick_put = counted

    @property
    def worker_pids(self) -> list[int]:
        return [p.pid for p in self._pool]  # type: ignore[attr-defined]


class _Pools(GuardedBlock["_Pools"]):
    """Every pool a measurement needs, started and warmed; all of them stopped when the ``with`` block ends."""

    def __init__(self, routes: Sequence[str], workers: int) -> None:
        self.routes, self.workers = list(routes), workers
        self.pool: _CountingPool | None = None
        self.executors: dict[str, Executor] = {}

    def _open(self) -> _Pools:
        warm = [TASK_TURNS] * (self.workers * 4)
        if any(r.startswith("Pool.") for r in self.routes):
            with interrupts_deferred():  # never a pool without the clean-up in place
                self.pool = _CountingPool(self.workers, ignore_interrupts, context=multiprocessing.get_context())
            wait_in_slices(self.pool.map_async(tiny_task, warm, chunksize=1))
        if "ProcessPoolExecutor.map" in self.routes:
            with interrupts_deferred():
                self.executors["ProcessPoolExecutor.map"] = ProcessPoolExecutor(
                    self.workers, initializer=ignore_interrupts
                )
        if "InterpreterPoolExecutor.map" in self.routes:
            from concurrent.futures import InterpreterPoolExecutor  # type: ignore[attr-defined,unused-ignore]

            with interrupts_deferred():
                self.executors["InterpreterPoolExecutor.map"] = InterpreterPoolExecutor(self.workers)
        for executor in self.executors.values():  # every worker started and has run both kinds of task once
            list(executor.map(tiny_task, warm))
            list(executor.map(run_batch, batches(warm, 2)))
        return self

    def _close(self) -> None:
        pool, self.pool = self.pool, None
        executors, self.executors = self.executors, {}
        if pool is not None:
            terminate_pool(pool)  # not pool.terminate(): a worker it ends while putting a result would hang it
            pool.join()
        for executor in executors.values():
            processes = dict(getattr(executor, "_processes", None) or {})
            for process in processes.values():  # a map still running stops now, not when its tasks are done
                process.terminate()
            executor.shutdown(wait=True, cancel_futures=True)

    def pids(self, route: str) -> list[int]:
        """The processes besides this one that do the route's work (none for interpreters: they are threads here)."""
        if route.startswith("Pool."):
            return self.pool.worker_pids if self.pool else []
        if route == "ProcessPoolExecutor.map":
            return list(getattr(self.executors[route], "_processes", None) or {})
        return []

    def run(self, route: str, items: Sequence[int], chunksize: int | None) -> tuple[list[int], int]:
        """Run :func:`tiny_task` on ``items`` by ``route``; the results and the number of messages sent."""
        if route.startswith("Pool."):
            assert self.pool is not None
            before = self.pool.messages
            size = chunksize or 1
            if route == "Pool.map":
                results = wait_in_slices(self.pool.map_async(tiny_task, items, chunksize))
            elif route == "Pool.imap":
                results = list(self.pool.imap(tiny_task, items, size))
            else:
                results = sorted(self.pool.imap_unordered(tiny_task, items, size))
            return results, self.pool.messages - before
        executor = self.executors[route]
        if route == "InterpreterPoolExecutor.map":  # its map ignores chunksize: batches make the messages
            parts = batches(items, chunksize or 1)
            return [r for part in executor.map(run_batch, parts) for r in part], len(parts)
        results = list(executor.map(tiny_task, items, chunksize=chunksize or 1))
        return results, math.ceil(len(items) / (chunksize or 1))


def available_routes() -> tuple[str, ...]:
    """The routes this Python has (``InterpreterPoolExecutor`` from 3.14 on)."""
    return ROUTES if sys.version_info >= (3, 14) else ROUTES[:-1]


# ----------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class TaskCost:
    """The same ``tasks`` tasks through one ``route`` with one ``chunksize``: the best of several rounds.

    ``chunksize`` None means the route's own choice (``Pool.map`` picks one; the others send one task per
    message). ``cpu_seconds`` counts this process and the workers (None where the system does not say).
    The reference is the same tasks through the same pool in as few messages as keep every worker busy,
    one each, measured right before: ``work_cpu_seconds`` and ``work_wall_seconds``. ``loop_cpu_seconds``
    is what the tasks took in a plain loop in this process.
    """

    measurement: ClassVar[str] = "tasks"
    route: str
    chunksize: int | None
    tasks: int
    messages: int
    wall_seconds: float
    cpu_seconds: float | None
    work_cpu_seconds: float | None
    work_wall_seconds: float
    loop_cpu_seconds: float
    repeats: int = 1

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, in the shape of ``python -m helpers.bench --json``'s records."""
        return {
            "measurement": "tasks",
            "method": self.route,
            "seconds": self.wall_seconds,
            "repeats": self.repeats,
            "chunksize": self.chunksize,
            "tasks": self.tasks,
            "messages": self.messages,
            "cpu_seconds": self.cpu_seconds,
            "messaging_share": self.messaging_share,
        }

    @property
    def wall_per_task(self) -> float:
        """Seconds from the first task sent to the last result back, per task."""
        return self.wall_seconds / self.tasks

    @property
    def cpu_per_task(self) -> float | None:
        """CPU seconds per task, of all the processes and threads involved."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.tasks

    @property
    def messaging_share(self) -> float:
        """The share of the time that went into messages, not work: 1 - the reference's CPU time / this one's.

        The reference, the same work in one message per worker, is measured in the same pool (so two workers
        that slow each other down, sharing a CPU core, slow both alike), right before (so both met the same
        load). Where the workers' CPU time is unknown, wall times stand in.
        """
        if self.cpu_seconds is not None and self.work_cpu_seconds is not None:
            return min(1.0, max(0.0, 1 - self.work_cpu_seconds / self.cpu_seconds))
        return min(1.0, max(0.0, 1 - self.work_wall_seconds / self.wall_seconds))

    @property
    def cpu_per_message(self) -> float | None:
        """CPU seconds beyond the work, per message."""
        if self.cpu_seconds is None or self.work_cpu_seconds is None or not self.messages:
            return None
        return max(0.0, self.cpu_seconds - self.work_cpu_seconds) / self.messages


def _timed(call: Callable[[], Any], cpu_clock: Callable[[], float | None]) -> tuple[Any, float, float | None]:
    """Run ``call()``; its result, wall seconds and CPU seconds (by ``cpu_clock``)."""
    cpu0, wall0 = cpu_clock(), time.perf_counter()
    result = call()
    wall, cpu1 = time.perf_counter() - wall0, cpu_clock()
    return result, wall, (None if cpu0 is None or cpu1 is None else cpu1 - cpu0)


def measure_task_costs(
    tasks: int = 1000,
    chunksizes: Sequence[int | None] = (1, 10, 100, 1000),
    routes: Sequence[str] | None = None,
    repeats: int = 2,
    turns: int = TASK_TURNS,
    progress: Progress = _no_progress,
) -> list[TaskCost]:
    """Run ``tasks`` tasks of ``turns`` loop turns through every route and chunksize, and in a loop; the best of
        ``repeats`` rounds for each (noise from elsewhere on the machine only ever adds time).

        Every round measures every (route, chunksize) once, each right after the reference: the same tasks
        through the same pool in one message per worker. Interleaved pairs, so that both met the same load. Each
        record keeps the pair with the median messaging share over the rounds, and the fastest wall time.
        ``Pool.map`` is also measured with its own choice of chunksize (``None``), and the tasks once in a plain
        loop here (``loop_cpu_seconds``). Results are checked against the loop's: a
    route that lost or reordered a result is an error, not a timing.
    """
    tasks = positive_int("tasks", tasks)
    repeats = positive_int("repeats", repeats)
    turns = positive_int("turns", turns)
    routes = list(available_routes() if routes is None else routes)
    unknown = set(routes) - set(ROUTES)
    if unknown or not routes:
        raise ValueError(f"unknown routes {sorted(unknown)}; choose from {', '.join(available_routes())}")
    missing = set(routes) - set(available_routes())
    if missing:
        raise ValueError(f"{', '.join(sorted(missing))} needs Python 3.14 or later")
    sizes = [positive_int("chunksize", c) for c in chunksizes if c is not None]
    plan = [(r, c) for r in routes for c in ([None] if r == "Pool.map" else []) + sizes]
    items = [turns] * tasks
    expected = [tiny_task(turns)] * tasks
    rounds: dict[tuple[str, int | None], list[TaskCost]] = {}
    fewest = math.ceil(tasks / WORKERS)  # one message per worker: the reference, all work and almost no messages
    loop_cpu = min(_timed(lambda: [tiny_task(t) for t in items], time.process_time)[2] or math.inf for _ in range(3))
    with _Pools(routes, WORKERS) as pools:
        for round_ in range(repeats):
            for i, (route, chunksize) in enumerate(plan):
                progress((round_ * len(plan) + i) / (repeats * len(plan)), f"{route}, chunksize {chunksize}")
                clock = _cpu_clock(pools.pids(route))
                _, ref_wall, ref_cpu = _timed(functools.partial(pools.run, route, items, fewest), clock)
                (results, messages), wall, cpu = _timed(functools.partial(pools.run, route, items, chunksize), clock)
                if results != expected:
                    raise RuntimeError(
                        f"{route} with chunksize {chunksize} returned wrong results: the route is broken"
                    )
                rounds.setdefault((route, chunksize), []).append(
                    TaskCost(route, chunksize, tasks, messages, wall, cpu, ref_cpu, ref_wall, loop_cpu, repeats)
                )
    progress(1.0, "task costs: done")
    return [_typical(measured) for measured in rounds.values()]


def _typical(rounds: list[TaskCost]) -> TaskCost:
    """The round with the median messaging share (one odd round, either way, cannot move it), with the
    fastest wall time of all rounds."""
    middle = sorted(rounds, key=lambda r: r.messaging_share)[(len(rounds) - 1) // 2]
    return dataclasses.replace(middle, wall_seconds=min(r.wall_seconds for r in rounds))


# ----------------------------------------------------------------------------- reading results


def _label(chunksize: int | None) -> str:
    return "its own" if chunksize is None else str(chunksize)


def task_cost_table(records: Sequence[TaskCost], routes: Sequence[str] = ROUTES[:-1]) -> str:
    """The share of the CPU time that went into messages, one row per route of ``routes``, one column per
    chunksize (and ``Pool.map``'s own pick, with its chunksize).

    The lesson prints the process routes only, so that the table has the same rows on every Python; the plot
    and ``python -m helpers.bench --only tasks`` show ``InterpreterPoolExecutor`` too.
    """
    if not records:
        raise ValueError("no task-cost records; run measure_task_costs() first")
    first = records[0]
    sizes = sorted({r.chunksize for r in records if r.chunksize is not None})
    by = {(r.route, r.chunksize): r for r in records}
    out = [
        f"{first.tasks} tasks of {first.loop_cpu_seconds / first.tasks * 1e6:.1f} µs of work each "
        f"(CPU time in a loop here), on {WORKERS} workers.",
        "The share of the CPU time that went into messages, by tasks per message (chunksize):",
        f"{'chunksize':<24}" + "".join(f"{c:>7}" for c in sizes),
    ]
    for route in (r for r in ROUTES if r in routes and any(key[0] == r for key in by)):
        cells = "".join(f"{by[route, c].messaging_share:>7.0%}" if (route, c) in by else " " * 7 for c in sizes)
        own = by.get((route, None))
        if own is not None:
            cells += f"   its own pick, {math.ceil(own.tasks / own.messages)}: {own.messaging_share:.0%}"
        out.append(f"{route:<24}{cells}")
    return "\n".join(out)


def message_costs(records: Sequence[TaskCost]) -> dict[str, float]:
    """CPU seconds one message costs beyond its work, per route, read from the records with one task per message
    (chunksize 1), where the messages' cost outweighs everything else."""
    costs: dict[str, float] = {}
    for r in records:
        if r.chunksize == 1 and r.cpu_per_message is not None and r.route not in costs:
            costs[r.route] = r.cpu_per_message
    return costs


def rule_lines(records: Sequence[TaskCost], share: float = 0.1) -> list[str]:
    """The rule that follows, in this machine's numbers: what a message costs, and how much work per message
    keeps the messaging under ``share`` of the CPU time."""
    costs = message_costs(records)
    work = records[0].loop_cpu_seconds / records[0].tasks
    lines = []
    for route in ("Pool.map", "ProcessPoolExecutor.map"):
        if route in costs:
            need = costs[route] * (1 - share) / share  # work w per message with cost/(cost + w) = share
            lines.append(
                f"{route}: a message costs about {costs[route] * 1e6:.0f} µs of CPU; under {share:.0%} of messaging "
                f"takes {need * 1e6:.0f} µs of work per message, a chunksize of {math.ceil(need / work)} or more here"
            )
    return lines


def plot_task_costs(records: Sequence[TaskCost], ax: Any = None) -> Any:
    """CPU µs per task against the chunksize, one line per route, above the loop's floor; returns the axes."""
    import matplotlib.pyplot as plt

    from helpers.machine import describe_machine

    if not records:
        raise ValueError("no task-cost records to plot; run measure_task_costs() first")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    per_task = "cpu_per_task" if all(r.cpu_seconds is not None for r in records) else "wall_per_task"
    for route in ROUTES:
        points = sorted((r.chunksize, getattr(r, per_task)) for r in records if r.route == route and r.chunksize)
        if points:
            ax.loglog([c for c, _ in points], [s * 1e6 for _, s in points], marker="o", label=route)
    for r in records:
        if r.route == "Pool.map" and r.chunksize is None:
            ax.plot(
                math.ceil(r.tasks / r.messages), getattr(r, per_task) * 1e6, "k*", ms=12, label="Pool.map's own pick"
            )
    work = records[0].loop_cpu_seconds / records[0].tasks * 1e6
    ax.axhline(work, color="grey", linestyle="--", label="the work itself, in a loop")
    ax.set_xlabel("chunksize (tasks per message)")
    ax.set_ylabel("CPU µs per task, all processes" if per_task == "cpu_per_task" else "µs per task (wall)")
    ax.set_title(f"{records[0].tasks} tiny tasks on {WORKERS} workers\n{describe_machine()}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


# ----------------------------------------------------------------------------- the exercise


def measure_message_cost(pool: _CountingPool, tasks: Sequence[int], probes: int = 3) -> tuple[float, float]:
    """CPU seconds one message of ``pool`` costs beyond its work, and the CPU seconds of the work of ``tasks``.

    Each probe times all of ``tasks`` sent one per message and the same in one message per worker, right after
    each other; the medians of ``probes`` are kept. A worker's count can lag by milliseconds
    (:func:`process_cpu_seconds`), and a probe of a quarter of the exercise's 2,000 tasks differed by only about
    7 ms: once, on 3.14 under load, the median read as 0 and the starter's 2,000 messages passed as "0% of the CPU
    time". All 2,000 differ by about 30 ms.
    """
    clock = _cpu_clock(pool.worker_pids)
    probe = list(tasks) if len(tasks) >= WORKERS else list(tasks) * WORKERS
    costs, works = [], []
    for _ in range(positive_int("probes", probes)):
        ref = _timed(lambda: wait_in_slices(pool.map_async(tiny_task, probe, math.ceil(len(probe) / WORKERS))), clock)
        one = _timed(lambda: wait_in_slices(pool.map_async(tiny_task, probe, 1)), clock)
        ref_cpu, one_cpu = (ref[2], one[2]) if ref[2] is not None and one[2] is not None else (ref[1], one[1])
        costs.append(max(0.0, one_cpu - ref_cpu) / (len(probe) - WORKERS))
        works.append(ref_cpu * len(tasks) / len(probe))
    return statistics.median(costs), statistics.median(works)


def exercise_tasks() -> list[int]:
    """The exercise's tasks: :data:`EXERCISE_TASKS` tasks of about :data:`TASK_TURNS` loop turns, not all alike
    (so that results out of order can be told from results in order)."""
    return [TASK_TURNS - 10 + i % 20 for i in range(EXERCISE_TASKS)]


@contextlib.contextmanager
def _exercise_pool() -> Iterator[_CountingPool]:
    with _Pools(["Pool.map"], WORKERS) as pools:
        assert pools.pool is not None
        pools.pool.record_unordered = True
        yield pools.pool


@contextlib.contextmanager
def _calls_here(function: Callable[..., Any]) -> Iterator[list[int]]:
    """Count the calls of ``function`` that this thread makes in the block (a profile hook: what ran here, not in
    a worker); the count is the list's one item."""
    code, count = function.__code__, [0]
    previous = sys.getprofile()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is code:
            count[0] += 1

    sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(previous)


@self_check("fewer, larger messages")
def check_messaging(feedback: Feedback, run_tasks: Callable[[Any, list[int]], Any]) -> None:
    """Exercise 3: ``run_tasks(pool, tasks)`` runs :func:`tiny_task` on every task through ``pool`` (a
    ``multiprocessing`` pool of 2 workers) and returns the results in order, with messaging under
    :data:`EXERCISE_SHARE` of the CPU time.

    The check gives ``run_tasks`` a pool of its own that counts the messages it sends, and measures on that
    pool what one message costs in CPU time (:func:`measure_message_cost`) and what the work costs in as few
    messages as keep both workers busy. The share is the student's messages times that cost, against the
    work. (Measured directly, the CPU time of a run with few messages moved by up to 30 points of share
    under two busy loops on 2 CPUs, while the work is a few milliseconds; the cost of a message, measured
    over hundreds of them, moves far less.)
    """
    if not callable(run_tasks):
        feedback.fail("pass your function itself: check_messaging(run_tasks), without calling it")
        return
    tasks = exercise_tasks()
    expected = [tiny_task(t) for t in tasks]
    with _exercise_pool() as pool:
        before, unordered_before = pool.messages, len(pool.unordered)
        try:
            with _calls_here(tiny_task) as here:
                results = run_tasks(pool, list(tasks))
        except Exception as exc:  # the student's code may raise anything
            feedback.fail(f"run_tasks(pool, tasks) raised {type(exc).__name__}: {exc}")
            return
        messages = pool.messages - before
        lucky = any(seen == expected for seen in pool.unordered[unordered_before:])
        cost, work = measure_message_cost(pool, tasks) if isinstance(results, list) and messages else (0.0, 1.0)
    share = min(1.0, messages * cost / (messages * cost + work))
    costs = f"your {messages} messages cost about {share:.0%} of the CPU time"
    each = f"a message costs about {cost * 1e6:.0f} µs of CPU here"
    if not isinstance(results, list):
        what = type(results).__name__
        feedback.fail(
            f"run_tasks returned a {what}, not the list of results: imap and imap_unordered give an iterator that "
            "hands the results back one at a time, as they come (map returns the whole list); wrap it in list(...)"
            if "Iterator" in what or "generator" in what
            else f"run_tasks returned a {what}, not the list of results"
        )
        return
    if results == expected and lucky:
        feedback.fail(
            "run_tasks returned what imap_unordered handed back, as it came: the results come as they finish, and "
            "they came in order this time by luck (another run, or another start method, mixes them); use map "
            "or imap, which keep the order of the tasks"
        )
    else:
        feedback.expect(
            results == expected,
            f"run_tasks returned all {len(tasks)} results, in order",
            f"run_tasks returned {len(results)} results; expected the {len(tasks)} results of tiny_task, in the "
            "order of the tasks"
            + (" (imap_unordered returns them as they finish)" if sorted(results) == sorted(expected) else ""),
        )
    if messages == 0:
        feedback.fail("no task went through the pool you were given: run them with pool.map (or imap), not here")
        return
    if here[0]:
        feedback.fail(
            f"tiny_task ran {here[0]} times here, in the notebook's process, not in the pool's workers: those "
            "results were computed here. Send every task through the pool, pool.map(tiny_task, tasks, chunksize=...)"
        )
        return
    per_message = len(tasks) / messages
    feedback.expect(
        messages >= WORKERS,
        f"{messages} messages, so each of the {WORKERS} workers got work",
        f"all {len(tasks)} tasks went in {messages} message, to one worker, while the other waited: a chunksize "
        f"larger than half the task count leaves workers idle; aim for at least {WORKERS} messages",
    )
    if share <= EXERCISE_SHARE:
        feedback.ok(f"{costs} (at most {EXERCISE_SHARE:.0%}; {each})")
        return
    hint = (
        "one message per task: that is a chunksize of 1, the default of imap, imap_unordered and "
        "ProcessPoolExecutor.map (only Pool.map picks a larger one itself)"
        if per_message < 1.5
        else f"about {per_message:.0f} tasks per message is still too few"
    )
    feedback.fail(
        f"{costs}, the goal is at most {EXERCISE_SHARE:.0%} ({each}): {hint}; send more tasks per message "
        "(chunksize=...)"
    )
