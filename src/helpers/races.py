"""Lesson 03, races and locks: the workers, the experiments and the exercise checks.

``counter.value += 1`` on a synchronized ``Value`` is three steps: read
(under the lock), add, write (under the lock again). Between the read and the
write another process can write, and its increment is lost. The workers here
add to a shared counter four ways, from wrong to cheapest-correct:

* :func:`add_unlocked`: ``counter.value += 1``; loses updates.
* :func:`add_locked`: the same inside ``with counter.get_lock():``; correct, one lock per increment.
* :func:`add_batched`: counts locally and adds under the lock every ``BATCH`` increments.
* :func:`add_local`: counts locally and adds once, at the end.

Workers never print: the parent reads what they wrote and prints it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from helpers.deadline import DeadlineReport, run_with_deadline
from helpers.evidence import noted, shared_id
from helpers.feedback import Feedback, cell_notes, notebook_variable, self_check

__all__ = [
    "BATCH",
    "STRATEGIES",
    "RaceResult",
    "add_batched",
    "add_local",
    "add_locked",
    "add_unlocked",
    "check_histogram",
    "check_transfers",
    "count_histogram",
    "histogram_local",
    "histogram_locked",
    "histogram_racy",
    "hold_lock",
    "run_counter",
    "run_until_lost",
]

#: Increments per lock in :func:`add_batched`.
BATCH = 1000
#: How long an experiment may run before its processes are terminated.
DEADLINE_SECONDS = 30.0


# ----------------------------------------------------------------------------- counters


def add_unlocked(counter: Any, increments: int, start: Any, ends: Any = None, index: int = 0, cpu: Any = None) -> None:
    """Wait at ``start`` (a Barrier or an Event), then ``counter.value += 1`` ``increments`` times. Racy."""
    start.wait()
    began = time.process_time()
    for _ in range(increments):
        counter.value += 1
    _stamp(ends, index, cpu, began)


def add_locked(counter: Any, increments: int, start: Any, ends: Any = None, index: int = 0, cpu: Any = None) -> None:
    """As :func:`add_unlocked`, but each increment holds ``counter.get_lock()`` from read to write."""
    start.wait()
    began = time.process_time()
    lock = counter.get_lock()
    for _ in range(increments):
        with lock:
            counter.value += 1
    _stamp(ends, index, cpu, began)


def add_batched(counter: Any, increments: int, start: Any, ends: Any = None, index: int = 0, cpu: Any = None) -> None:
    """Count locally; add to ``counter`` under its lock once per :data:`BATCH` increments."""
    start.wait()
    began = time.process_time()
    lock = counter.get_lock()
    done = 0
    while done < increments:
        step = min(BATCH, increments - done)
        local = 0
        for _ in range(step):
            local += 1
        with lock:
            counter.value += local
        done += step
    _stamp(ends, index, cpu, began)


def add_local(counter: Any, increments: int, start: Any, ends: Any = None, index: int = 0, cpu: Any = None) -> None:
    """Count locally, then add the total to ``counter`` once, under its lock."""
    start.wait()
    began = time.process_time()
    local = 0
    for _ in range(increments):
        local += 1
    with counter.get_lock():
        counter.value += local
    _stamp(ends, index, cpu, began)


def _stamp_start(began: Any) -> None:
    """Barrier action of :func:`run_counter`: record when every worker was ready to go."""
    began[0] = time.monotonic()


def _stamp(ends: Any, index: int, cpu: Any = None, began: float = 0.0) -> None:
    """Record when this worker finished (``time.monotonic()`` is one clock for all processes), and the CPU seconds
    it used since ``began`` (its ``time.process_time()`` when it started counting) into ``cpu[index]``."""
    if ends is not None:
        ends[index] = time.monotonic()
    if cpu is not None:
        cpu[index] = time.process_time() - began


#: The strategies by the names the lesson and the race explorer use.
#: Each worker takes (counter, increments, start[, ends, index]).
STRATEGIES: dict[str, Callable[..., None]] = {
    "no lock": add_unlocked,
    "lock per increment": add_locked,
    "lock per batch": add_batched,
    "local sums": add_local,
}


@dataclass(frozen=True)
class RaceResult:
    """What one run of :func:`run_counter` gave."""

    strategy: str
    workers: int
    increments: int
    arrived: int
    seconds: float
    #: CPU seconds the workers used while counting, all together: waiting for a busy CPU or a lock adds none.
    cpu_seconds: float = 0.0

    @property
    def expected(self) -> int:
        """The count if no increment were lost: workers × increments."""
        return self.workers * self.increments

    @property
    def lost(self) -> int:
        """Increments that never arrived."""
        return self.expected - self.arrived


def _positive_int(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ValueError(f"{name} must be a whole number from 1 to {limit}, got {value!r}")
    return value


def run_counter(strategy: str, workers: int = 4, increments: int = 20_000) -> RaceResult:
    """Start ``workers`` processes that each add 1 to a shared counter ``increments`` times by ``strategy``.

    The workers start together (they all wait at one Barrier, with this
    process), so they really compete. ``seconds`` runs from that start until
    the last worker had added its share (process exit not included). Runs
    under a deadline; raises RuntimeError if a worker overran or failed. ``cpu_seconds`` adds up the CPU time
    each worker used while counting: on a busy machine, where waiting for a CPU stretches ``seconds``, it is
    the steadier measure of the work.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {list(STRATEGIES)}")
    workers = _positive_int("workers", workers, 64)
    increments = _positive_int("increments", increments, 10_000_000)
    counter = multiprocessing.Value("q", 0)
    # The workers and this process wait at one Barrier: all ready, then go. Its action runs once, in the last
    # process to arrive, before any is released, so the start stamp is never later than a worker's start.
    began = multiprocessing.RawArray("d", 1)
    start = multiprocessing.Barrier(workers + 1, action=functools.partial(_stamp_start, began))
    ends, cpu = multiprocessing.RawArray("d", workers), multiprocessing.RawArray("d", workers)
    procs = [
        multiprocessing.Process(
            target=STRATEGIES[strategy], args=(counter, increments, start, ends, i, cpu), name=f"adder-{i}"
        )
        for i in range(workers)
    ]
    report = run_with_deadline(procs, DEADLINE_SECONDS, ready=start)  # the clock runs from the start together
    if not report.all_finished or any(code != 0 for code in report.exitcodes.values()):
        raise RuntimeError(f"the {strategy!r} experiment did not finish cleanly: {report}")
    return RaceResult(strategy, workers, increments, counter.value, max(ends[:]) - began[0], sum(cpu[:]))


def run_until_lost(workers: int = 4, increments: int = 20_000, tries: int = 10) -> tuple[RaceResult, int]:
    """Run the unlocked counter until some updates are lost (at most ``tries`` times); return the result and tries used.

    On several CPUs the first try nearly always loses updates. On one CPU a
    worker must be preempted between its read and its write, which happens
    often but not on every run; hence the retries.
    """
    for attempt in range(1, tries + 1):
        result = run_counter("no lock", workers, increments)
        if result.lost > 0:
            return result, attempt
    return result, tries


# ----------------------------------------------------------------------------- primitives demos


def hold_semaphore(semaphore: Any, barrier: Any, inside: Any, most: Any, seconds: float = 0.05) -> None:
    """Wait for all at the ``barrier``, then enter the ``semaphore`` and record how many are inside at once."""
    barrier.wait()
    with semaphore:
        with inside.get_lock():
            inside.value += 1
            most.value = max(most.value, inside.value)
        time.sleep(seconds)
        with inside.get_lock():
            inside.value -= 1


def stamp_after_signal(go: Any, stamps: Any, index: int) -> None:
    """Wait for the Event ``go``, then write ``time.monotonic()`` into ``stamps[index]``."""
    go.wait()
    stamps[index] = time.monotonic()


def wait_for_level(condition: Any, level: Any, target: int, seen: Any) -> None:
    """Sleep on ``condition`` until ``level.value >= target``; record the value seen on waking in ``seen``."""
    with condition:
        condition.wait_for(lambda: level.value >= target)
        seen.value = level.value


def two_phases(barrier: Any, slots: Any, sums: Any, index: int) -> None:
    """Phase 1: ``index + 1`` into ``slots[index]``. Barrier. Phase 2: the sum of all slots into ``sums[index]``."""
    slots[index] = index + 1
    barrier.wait()
    sums[index] = sum(slots[:])


#: How long a worker holds its first lock before it reaches for the second.
HOLD_SECONDS = 0.1


def take_two_locks(first: Any, second: Any, ready: Any, done: Any, index: int) -> None:
    """Wait until all workers are ready, take ``first``, hold it a moment, take ``second``; set ``done[index]``.

    Two workers given the same two locks in opposite orders deadlock: each
    holds the lock the other needs (the pause makes sure both got their first).
    Given them in the same order, one waits for the other and both finish.
    """
    ready.wait()
    with first:
        time.sleep(HOLD_SECONDS)
        with second:
            done[index] = 1


def hold_lock(lock: Any, taken: Any, seconds: float = 60.0) -> None:
    """Take ``lock``, set the Event ``taken``, and keep the lock ``seconds`` (a process that dies holding it)."""
    lock.acquire()
    taken.set()
    time.sleep(seconds)


def take_two_locks_with_timeout(first: Any, second: Any, ready: Any, done: Any, index: int) -> None:
    """As :func:`take_two_locks`, but if ``second`` is not free within 0.1 s, let go of ``first``, back off, retry."""
    ready.wait()
    for _ in range(100):
        with first:
            time.sleep(HOLD_SECONDS)
            if second.acquire(timeout=0.1):
                try:
                    done[index] = 1
                    return
                finally:
                    second.release()
        time.sleep(0.05 * (index + 1))  # back off, differently per worker, so they do not collide again
    raise TimeoutError("could not get both locks in 100 tries")


def report_progress(progress: Any, index: int, steps: int, work: int = 150_000) -> None:
    """CPU-bound work in ``steps`` steps; after each, write the number of steps done into ``progress[index]``."""
    for step in range(1, steps + 1):
        total = 0
        for i in range(work):
            total += i % 7
        progress[index] = step


# ----------------------------------------------------------------------------- exercise 1: histogram

#: Values whose histogram the exercise counts: 0..9, each exactly 400 times.
HISTOGRAM_VALUES: tuple[int, ...] = tuple(i % 10 for i in range(4000))


def histogram_racy(values: Sequence[int], histogram: Any) -> None:
    """Count each value into ``histogram[value] += 1``, without a lock. Loses counts when run in parallel."""
    for v in values:
        histogram[v] += 1


def histogram_locked(values: Sequence[int], histogram: Any) -> None:
    """Count each value under the histogram's lock: correct, one lock per value."""
    lock = histogram.get_lock()
    for v in values:
        with lock:
            histogram[v] += 1


def histogram_local(values: Sequence[int], histogram: Any) -> None:
    """Count into a private list, then add it to ``histogram`` under its lock once: correct and cheap."""
    local = [0] * len(histogram)
    for v in values:
        local[v] += 1
    with histogram.get_lock():
        for i, n in enumerate(local):
            histogram[i] += n


def count_histogram(worker: Callable[[Sequence[int], Any], None], processes: int = 4) -> Any:
    """Count :data:`HISTOGRAM_VALUES` into a shared ``Array('i', 10)``, ``processes`` processes running ``worker``."""
    histogram = multiprocessing.Array("i", 10)
    chunks = [HISTOGRAM_VALUES[i::processes] for i in range(processes)]
    procs = [
        multiprocessing.Process(target=worker, args=(chunk, histogram), name=f"counter-{i}")
        for i, chunk in enumerate(chunks)
    ]
    report = run_with_deadline(procs, DEADLINE_SECONDS)
    if not report.all_finished or any(code != 0 for code in report.exitcodes.values()):
        raise RuntimeError(f"the counting processes did not finish cleanly: {report}")
    return histogram


WORKERS = {"histogram_racy": histogram_racy, "histogram_locked": histogram_locked, "histogram_local": histogram_local}


@self_check("a histogram counted by four processes")
def check_histogram(feedback: Feedback, worker: Any, cheapest: Any) -> None:
    """Exercise 1: ``worker`` counts right whatever the timing; ``cheapest`` is the correct one with fewest locks."""
    names = ", ".join(WORKERS)
    if worker not in WORKERS.values():
        feedback.fail(f"worker should be one of {names} (the function itself, not a string), now {worker!r}")
    else:
        name = worker.__name__
        counts = [list(count_histogram(worker)[:]) for _ in range(3)]
        lost = [4000 - sum(c) for c in counts]
        if worker is histogram_racy:
            feedback.fail(
                f"histogram_racy lost {lost} counts in three runs here"
                + (" (none this time: luck, not safety)" if not any(lost) else "")
                + "; `histogram[v] += 1` is a read and a write with room for another process in between"
            )
        else:
            feedback.expect(
                all(c == [400] * 10 for c in counts),
                f"{name} counted all 4,000 values, three runs out of three: correct by construction",
                f"{name} lost counts {lost}; did you change it?",
            )
    if cheapest not in WORKERS.values():
        feedback.fail(f"cheapest should be one of {names}, now {cheapest!r}")
    else:
        feedback.expect(
            cheapest is histogram_local,
            "histogram_local takes the lock once per process instead of once per value",
            f"{cheapest.__name__} is not it: count how many times each worker takes the lock "
            "(read them with histogram_locked?? and histogram_local??), and remember a wrong answer is never cheap",
        )


# ----------------------------------------------------------------------------- exercise 2: transfers


@noted
def transfer_many(first: Any, second: Any, balances: Any, source: int, target: int, times: int) -> None:
    """Move 1 from ``balances[source]`` to ``balances[target]`` ``times`` times, holding ``first`` then ``second``.

    The two locks protect the two accounts. Whether two such workers can
    deadlock depends only on the order of the locks they are given.
    """
    for _ in range(times):
        with first, second:
            balances[source] -= 1
            balances[target] += 1


def _lock_names() -> dict[str | None, str]:
    """The names the notebook's cell gave to its locks, by their shared id, for hints."""
    names = {shared_id(notebook_variable(name)): name for name in ("lock_0", "lock_1")}
    names.pop(None, None)
    return names


@self_check("two transfers that cannot deadlock")
def check_transfers(feedback: Feedback, report: DeadlineReport, balances: Any) -> None:
    """Exercise 2: the two transfer processes take their locks in one order, finished, and no money was lost.

    Judged from the notes each process made as it began (which locks it was given, in which order, which way
    and how many times it moves money), not from one run's outcome: opposite orders deadlock only when the
    timing is unlucky, and often it is not.
    """
    if not isinstance(report, DeadlineReport):
        feedback.fail("report should be what run_with_deadline(...) returned")
        return
    runs = [
        {k: v.get("value") for k, v in n["args"].items()}
        | {
            "pid": n["pid"],
            "parent": n["parent"],
            "locks": [n["args"][k]["id"] for k in ("first", "second")],
            "kinds": [n["args"][k]["lock"] for k in ("first", "second")],
        }
        for n in cell_notes(
            "transfer_many", lambda n: n["args"].get("balances", {}).get("id") == shared_id(balances), balances
        )
        if len(n["args"]) == 6
    ]
    if any(n["pid"] == os.getpid() for n in runs):
        feedback.fail(
            "transfer_many ran here, in the notebook's own process: run it in the two processes p and q, "
            "Process(target=transfer_many, args=(...)), started by run_with_deadline"
        )
        return
    runs = [n for n in runs if n["parent"] == os.getpid()]
    if len(runs) != 2 and not (report.all_finished and all(c == 0 for c in report.exitcodes.values())):
        feedback.fail(
            f"{report}: only {len(runs)} of them began transfer_many, so there is nothing else to judge; "
            "a process that failed printed its error above (a lock made in the args and dropped by the cell "
            "is gone before a spawn or forkserver child opens it), one that was slow to start needs more seconds"
        )
        return
    if len(runs) != 2:
        feedback.fail(
            f"{len(runs)} process(es) of this notebook ran transfer_many with balances in your latest cell; "
            "start two, p and q"
        )
        return
    names = _lock_names()
    for n, who in zip(runs, ("the first process", "the second process"), strict=True):
        n["who"] = who
        n["names"] = [names.setdefault(i, f"a lock of its own (#{len(names) - 1})") for i in n["locks"]]
    for n in runs:
        kinds, first = n["kinds"], n["names"][0]
        if None in kinds:
            feedback.fail(
                f"{n['who']} was given something that is not a multiprocessing lock: give it two Locks, "
                "lock_0 and lock_1"
            )
            return
        if any(k.startswith("Semaphore(") and k != "Semaphore(1)" and k != "Semaphore(0)" for k in kinds):
            feedback.fail(f"{n['who']} was given a Semaphore that lets more than one process in: use Locks")
            return
        if n["locks"][0] == n["locks"][1] and kinds[0] != "RLock":
            feedback.fail(
                f"{n['who']} takes {first} twice: a Lock is not re-entrant, so it waits for itself forever; "
                "give each process the two different locks"
            )
            return
    covered = {o.pid for o in report.outcomes}
    if not all(n["pid"] in covered for n in runs):
        feedback.fail(
            "your report covers only one of the 2 processes that ran transfer_many: run both under one deadline, "
            "run_with_deadline([p, q], seconds=5), so that they run at the same time and a deadlock between them "
            "is caught"
            if any(n["pid"] in covered for n in runs)
            else "your report covers neither of the 2 processes that ran transfer_many: store what "
            "run_with_deadline([p, q], seconds=5) returned in report"
        )
        return
    p, q = runs
    if {(p["source"], p["target"]), (q["source"], q["target"])} != {(0, 1), (1, 0)}:
        feedback.fail(
            f"{p['who']} moves from account {p['source']} to {p['target']}, {q['who']} from {q['source']} to "
            f"{q['target']}: they should move money in opposite directions, p from 0 to 1 and q back, from 1 to 0"
        )
        return
    if p["times"] != 1000 or q["times"] != 1000:
        feedback.fail(
            f"{p['who']} moved 1 {p['times']:,} times and {q['who']} {q['times']:,} times: the task asks 1,000 each"
        )
        return
    feedback.ok("two processes of this notebook began transfer_many, 1,000 transfers each, in opposite directions")
    if not set(p["locks"]) & set(q["locks"]):
        feedback.fail(
            f"{p['who']} takes {' and '.join(p['names'])}, {q['who']} {' and '.join(q['names'])}: they share no "
            "lock, so both change the balances at once; give both lock_0 and lock_1"
        )
    elif p["locks"][0] != p["locks"][1] and p["locks"] == q["locks"][::-1]:
        feedback.fail(
            f"{p['who']} takes {p['names'][0]}, then {p['names'][1]}; {q['who']} takes {q['names'][0]}, then "
            f"{q['names'][1]}: opposite orders deadlock as soon as each holds its first lock (even if this run was "
            "lucky); give both the same order"
        )
    else:
        feedback.ok(
            f"both take {p['names'][0]}, then {p['names'][1]}: one may wait for the other, never both for each other"
            if p["locks"] == q["locks"]
            else "they share a lock and cannot hold what the other waits for: one may wait, never both"
        )
    feedback.expect(
        report.all_finished and all(code == 0 for code in report.exitcodes.values()),
        "both processes finished before the deadline",
        f"{report}",
    )
    values = list(balances[:])
    feedback.expect(
        values == [100, 100],
        "the balances are back to [100, 100]",
        f"the balances are {values} (in all {sum(values)}, not 200)"
        if sum(values) != 200
        else f"the balances are {values}: each process should move 1 a thousand times, in opposite directions",
    )
