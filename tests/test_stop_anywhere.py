"""Stop anywhere, clean up anywhere: a lesson's Clean up cell releases what exists after any subset of cells.

Instructors run out of time and press Interrupt in the middle of a demo; students stop at section 2 and come back
tomorrow. For each lesson, in one real kernel, each scenario below runs some of the lesson's cells (in order, some
skipped, one of them interrupted where the scenario says so), then the lesson's Clean up cell, and checks, before
the kernel is shut down, that nothing the scenario created is left: no new entry in /dev/shm (segments, named
semaphores) and no child process of the kernel but multiprocessing's own resource tracker and fork server.

A scenario names its cells by a piece of their code, so that editing a lesson moves nothing here. The scenarios
stop after the cells that start a process, a pool, a manager or a cluster, or create a segment, and interrupt the
cells that run longest while such things are alive.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from helpers.ownership import records
from helpers.subinterpreters import UNAVAILABLE

sys.path.insert(0, str(Path(__file__).parent))
import leftovers
from kernels import NOTEBOOKS, Kernel, kernel

pytestmark = pytest.mark.deep  # a kernel per lesson, each scenario's cells one after another (python -m pytest --deep)

#: Cells that raise on purpose (the lesson shows the error), by their piece, with the error's name.
RAISES = {
    "pool.map(value_of, [total])": "RuntimeError",
    # its last line prints with segment_exists, imported by a cell that would close the scenario's first segment:
    # the segment and the reader, which are what counts here, come before
    "owned = shared_memory.SharedMemory(create=True, size=1024)\nreader": "NameError",
}

#: lesson -> scenarios; a scenario is a list of (a piece of a code cell, seconds after which to press Interrupt).
SCENARIOS: dict[str, list[list[tuple[str, float | None]]]] = {
    "01_process_isolation": [
        [("from helpers.isolation import square_numbers\n", None), ("square_numbers_to_queue", None)],
    ],
    "02_values_and_arrays": [
        [('result = Array("i", 3)', None), ("pool.map(value_of, [total])", None)],  # the error keeps the pool's frame
    ],
    "03_races_and_locks": [  # two locks left taken by terminated processes, then workers interrupted mid-count
        [
            ("from helpers.races import run_counter, run_until_lost", None),
            ("from multiprocessing import Lock, RLock", None),  # the cells that import what `crossed` uses
            ("from multiprocessing import Barrier, Process, Semaphore, Value", None),
            ("from multiprocessing import Array, Event", None),
            ("crossed = [", None),
            ("costs = {", 0.5),
        ],
    ],
    "04_shared_memory": [
        [  # a segment with a NumPy view on it, rebound by exercise 2's `shm`: its object is gone, its mapping not
            ("shm = shared_memory.SharedMemory(create=True, size=5 * 8)", None),
            ("from helpers.segments import run_python", None),
            ("owned = shared_memory.SharedMemory(create=True, size=1024)\nreader", None),
            ("shm = shared_memory.SharedMemory(create=True, size=1024)\nname = shm.name", None),
        ],
    ],
    "05_measuring": [
        [
            ("from helpers.measuring import (", None),
            ("handoff = measure_handoff(", 1.0),
            ("measure_speedup(", 0.5),
            ("tasks = measure_task_costs(", 0.5),  # a Pool, a ProcessPoolExecutor (and interpreters) under way
            ("return list(pool.imap(tiny_task, tasks))", None),
            ("check_messaging(run_tasks)", 0.3),
        ],
    ],
    "06_patterns_that_scale": [
        [("lesson = ExitStack()", None)],  # the pool and the 16 MiB segment, nothing else
        [  # a stuck task's executor, joblib's workers and folder, a Dask cluster half started
            ("lesson = ExitStack()", None),
            ("from helpers.timing import best_times", None),  # sums_by_number, which the joblib cell times
            ("from concurrent.futures import ProcessPoolExecutor\n", None),
            ("stuck = executor.submit(", 0.2),
            ("scratch = make_scratch_folder(", None),
            ("cluster = LocalCluster(", 0.5),
        ],
    ],
    "07_past_processes": [  # needs Python 3.14+, skipped before
        [  # section 1's interpreter, then the three pools of compare_workers interrupted while they run
            ("interp = interpreters.create()", None),
            ("with InterpreterPoolExecutor(workers) as pool:", None),
            ("times = compare_workers(", 0.8),
        ],
        [  # processes being started and joined, interrupted; then exercise 1's starter, a queue of UNBOUND items
            ("interp = interpreters.create()", None),
            ("start_claims(start_costs())", 0.15),
            ("from helpers.subinterpreters import put_squares", None),
        ],
    ],
}


def code_cells(lesson: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def cell(cells: list[str], piece: str) -> str:
    found = [c for c in cells if piece in c]
    assert len(found) == 1, f"{len(found)} code cells contain {piece!r}; make the scenario's piece unique"
    return found[0]


def stray_children(k: Kernel, wait: float = 10.0) -> dict[int, str]:
    """The kernel's stray children, after up to ``wait`` s for them to go."""
    deadline = time.monotonic() + wait
    while True:
        kids = leftovers.descendants(k.pid)
        if not kids or time.monotonic() > deadline:
            return kids
        time.sleep(0.1)


def run_scenarios(lesson: str) -> list[str]:
    """Every scenario of ``lesson`` in one kernel, each followed by Clean up; what was wrong (empty if nothing).

    The /dev/shm check is the caller's: lessons run side by side (each name carries its kernel's token, but the
    fixture looks once, after all of them).
    """
    cells = code_cells(lesson)
    clean_up = cells[-1]
    if "release_all()" not in clean_up:
        return [f"{lesson}: the last code cell is not the Clean up cell"]
    problems: list[str] = []
    with kernel(shutdown_now=True) as k:  # what it leaves is checked before; no need to wait for a polite shutdown
        for scenario in SCENARIOS[lesson]:
            ran = []
            for piece, interrupt_after in scenario:
                source = cell(cells, piece)
                run = k.run(source, timeout=90, interrupt_after=interrupt_after)
                ran.append(f"{piece!r}" + (f" interrupted after {interrupt_after} s" if interrupt_after else ""))
                expected = RAISES.get(piece)
                if interrupt_after is None and (run.error or "").split(":")[0] != (expected or ""):
                    # a scenario that did not set up what it says proves nothing about Clean up
                    what = f"failed: {run.error}" if run.error else f"did not raise {expected}"
                    problems.append(f"{lesson}: {piece!r} {what}")
            released = k.run(clean_up, timeout=90)
            if released.error is not None:
                problems.append(f"{lesson}, after {ran}: Clean up raised {released.error}")
            elif "✘" in released.text:
                problems.append(f"{lesson}, after {ran}: {released.text}")
            kids = stray_children(k)
            if kids:
                problems.append(f"{lesson}, after {ran} and Clean up: still running: {kids}")
    return problems


@pytest.fixture(scope="module")
def stopped(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, Future[list[str]]], set[str]]]:
    """The lessons this run selected, three at a time, each in its own kernel (they mostly wait, as in
    tests/test_exercises.py); then what is new in /dev/shm once all of them have cleaned up."""
    selected = {
        item.callspec.params["lesson"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_clean_up_releases_everything_from_any_point"
    }
    if UNAVAILABLE:
        selected.discard("07_past_processes")
    before = leftovers.shm_names()
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {lesson: pool.submit(run_scenarios, lesson) for lesson in sorted(selected)}
    deadline = time.monotonic() + 5
    while (left := ours(leftovers.shm_names() - before)) and time.monotonic() < deadline:
        time.sleep(0.1)
    yield futures, left


def ours(names: set[str]) -> set[str]:
    """The names this run's kernels made (their tokens, see helpers.ownership): another program's are not ours."""
    tokens = leftovers.run_tokens()
    pids = {r.pid for r in records() if r.token in tokens}
    return {name for name in names if leftovers.of_this_run(name, tokens, pids)}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("lesson", sorted(SCENARIOS))
def test_clean_up_releases_everything_from_any_point(
    stopped: tuple[dict[str, Future[list[str]]], set[str]], lesson: str
) -> None:
    if lesson.startswith("07_") and UNAVAILABLE:
        pytest.skip(UNAVAILABLE)
    futures, left = stopped
    problems = futures[lesson].result()
    assert not problems, "\n\n".join(problems)
    assert not left, (
        f"still in /dev/shm after Clean up: {sorted(left)} (the lessons {sorted(futures)} ran side by side; "
        f"run one alone, with -k {lesson}, to see whose it is)"
    )
