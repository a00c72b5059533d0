"""Lesson 02, ``Value`` and ``Array``: workers and exercise checks.

``multiprocessing.Value`` and ``multiprocessing.Array`` put a C number or a C
array in shared memory, so a write in one process is seen by the others. The
seed article's second program is :func:`square_into`: squares into a shared
``Array('i', 3)``, their sum into a shared ``Value('i')``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

from helpers.evidence import noted, read_notes, shared_id
from helpers.feedback import (
    Feedback,
    cell_notes,
    child_outcome,
    child_process,
    failed_calls,
    latest_child,
    made_in,
    self_check,
    summarize,
)
from helpers.release import FORGET

__all__ = [
    "add_to_total",
    "check_big_sum",
    "check_pool_total",
    "check_squares",
    "init_total",
    "square_into",
    "type_code",
    "value_of",
    "write_sum",
]


@noted
def square_into(numbers: Sequence[int], result: Any, square_sum: Any) -> None:
    """Write the square of each number into the shared ``result`` and their sum into ``square_sum``.

    The seed article's second worker. ``result`` is a shared array at least as
    long as ``numbers``; ``square_sum`` a shared value. Prints what it wrote.
    """
    for i, n in enumerate(numbers):
        result[i] = n * n
    square_sum.value = sum(result[: len(numbers)])
    name = multiprocessing.current_process().name
    print(f"Result (in process {name}): {result[: len(numbers)]}")
    print(f"Sum of squares (in process {name}): {square_sum.value}", flush=True)


@noted
def write_sum(numbers: Sequence[int], out: Any) -> None:
    """Store the sum of ``numbers`` in the shared value ``out``."""
    out.value = sum(numbers)


def value_of(shared: Any) -> Any:
    """Return ``shared.value``: a worker that takes a shared Value as its task argument."""
    return shared.value


_total: Any = None


def init_total(total: Any) -> None:
    """Pool initializer: keep the shared ``total`` in this worker's module global.

    ``Pool(initializer=init_total, initargs=(total,))`` hands the shared value
    to each worker once, when the worker process starts, which is the
    inheritance that synchronized objects need.
    """
    global _total
    _total = total


def _forget_total() -> None:
    """Let go of the total a notebook handed to :func:`init_total` in its own process (Clean up calls this)."""
    global _total
    _total = None


FORGET.append(_forget_total)


def add_to_total(n: int) -> int:
    """Add ``n`` to the shared total set by :func:`init_total`; return ``n``.

    The addition holds the value's lock: ``+=`` is a read followed by a write,
    and lesson 03 shows what goes wrong without the lock.
    """
    if _total is None:
        raise RuntimeError(
            "no shared total in this worker: create the Pool with initializer=init_total, initargs=(total,)"
        )
    with _total.get_lock():
        _total.value += n
    return n


# Noted for the exercises' checks (helpers.evidence) here rather than with @noted above them: lesson 02 prints the
# two functions' source, and a reader there should see only what they do.
init_total = noted(init_total)
add_to_total = noted(add_to_total)


def type_code(shared: Any) -> str:
    """Return the type code (``'i'``, ``'d'``, ...) of a shared Value, Array, or their Raw form.

    >>> from multiprocessing import Value
    >>> type_code(Value('d'))
    'd'
    """
    obj = shared.get_obj() if hasattr(shared, "get_obj") else shared
    ctype = getattr(type(obj), "_type_", None)
    if isinstance(ctype, type) and issubclass(ctype, ctypes._SimpleCData):  # an Array: its element type
        ctype = getattr(ctype, "_type_", None)
    if not isinstance(ctype, str):
        raise TypeError(
            f"{shared!r} is not a shared Value or Array; create one with "
            "multiprocessing.Value('i') or multiprocessing.Array('i', 3)"
        )
    return ctype


def _is_shared(obj: Any) -> bool:
    return hasattr(obj, "get_obj") or isinstance(obj, (ctypes._SimpleCData, ctypes.Array))


# ---------------------------------------------------------------- exercises

#: Type codes of whole numbers, and their width in bits on this platform ('l' is 32 bits on Windows).
INTEGER_CODES = "bBhHiIlLqQ"


def _bits(shared: Any) -> int:
    return 8 * ctypes.sizeof(shared.get_obj() if hasattr(shared, "get_obj") else shared)


def _child_not_at_work(answer: Any) -> str | None:
    """What is wrong with the child that the cell which made ``answer`` started, if no worker's note shows it at
    work yet (still starting, dead at start-up, never joined): there is nothing else to judge it by. None if that
    cell started no child, or its child ended well and was joined."""
    window = made_in(answer)
    started = latest_child(since=window[0] if window else None)
    return None if started is None else child_outcome(started)


@self_check("squares of [2, 4, 6, 8] through shared memory")
def check_squares(feedback: Feedback, result: Any, square_sum: Any) -> None:
    """Check exercise 1: ``result`` holds [4, 16, 36, 64] and ``square_sum`` holds 120, written by a joined child."""
    plain = {n: v for n, v in (("result", result), ("square_sum", square_sum)) if not _is_shared(v)}
    if plain:
        what = ", ".join(f"{n} is {type(v).__name__}" for n, v in plain.items())
        feedback.fail(
            f"{' and '.join(plain)} should be shared ({what}): a child fills its own copy of anything else; "
            "use Array('i', 4) and Value('i')"
        )
        return
    code = type_code(result)
    feedback.expect(
        code in INTEGER_CODES and len(result) >= 4,
        "result is a shared array with room for 4 whole numbers",
        f"result is Array({code!r}, {len(result)}): "
        + (
            f"it has room for {len(result)} numbers and [2, 4, 6, 8] needs 4 (the child fails with IndexError)"
            if len(result) < 4
            else f"type code {code!r} holds fractions; the squares are whole numbers: 'i'"
        ),
    )
    values = list(result[:4])
    runs = cell_notes("square_into", lambda n: n["args"].get("result", {}).get("id") == shared_id(result), result)
    if not runs and failed_calls(feedback, cell_notes("square_into", answer=result), "square_into"):
        return  # e.g. the arguments in another order: the child's own error says which
    if not runs and (problem := _child_not_at_work(result)) is not None:
        feedback.fail(problem)
        return
    if not runs:
        feedback.fail(
            f"result holds {values}, but no square_into was given this result: the notebook wrote it itself"
            if any(values)
            else "no child has written into it yet: a child must run square_into, Process(target=square_into, "
            "args=([2, 4, 6, 8], result, square_sum)), and the cell must join it before the check reads result"
        )
        return
    if any(n["pid"] == os.getpid() for n in runs):
        feedback.fail(
            "square_into ran here, in the notebook's own process, not in a child: give Process the function "
            "itself and its arguments apart, Process(target=square_into, args=(...)), and call p.start() "
            "(p.run() and target=square_into(...) both run it here)"
        )
        return
    children = [n for n in runs if n["parent"] == os.getpid()]
    if not children:
        feedback.fail("square_into ran in a process that this notebook did not start: start it with Process")
        return
    run = children[-1]
    numbers = run["args"]["numbers"].get("value")
    if numbers != [2, 4, 6, 8]:
        feedback.fail(
            f"the child squared {numbers or run['args']['numbers']['type']}: start the child with [2, 4, 6, 8]"
        )
        return
    child = child_process(run["pid"])
    if values == [4, 16, 36, 64] and square_sum.value != 120 and child is not None and child.exitcode:
        feedback.fail(
            "the child filled result, then failed at the sum: pass square_sum, the Value itself, not square_sum.value"
        )
        return
    problem = None if child is None else child_outcome(child)  # gone: ended, and let go
    if problem is not None:
        feedback.fail(problem)
        return
    feedback.ok("a child process, not this notebook's, ran square_into([2, 4, 6, 8], result, square_sum) and ended")
    feedback.expect(
        values == [4, 16, 36, 64],
        "result holds [4, 16, 36, 64]",
        f"result holds {values}: the child wrote something else; run the cell again from new result and square_sum",
    )
    feedback.expect(
        square_sum.value == 120,
        "square_sum holds 120",
        f"square_sum holds {square_sum.value}, not 120; pass the Value itself, as the third argument",
    )


BIG_NUMBERS = [1_500_000_000, 1_500_000_000]


@self_check("a shared Value with room for 3 billion")
def check_big_sum(feedback: Feedback, total: Any) -> None:
    """Check exercise 2: ``total`` is a 64-bit whole-number Value and holds 3_000_000_000.

    The type is judged, not only the value: 'f' (a 32-bit float) happens to hold 3_000_000_000 exactly,
    and 'I' (an unsigned 32-bit int) only just, but neither has room for what a sum can grow to.
    """
    if not _is_shared(total):
        feedback.fail(f"big_total should be a shared Value, got {type(total).__name__}")
        return
    code, bits, want = type_code(total), _bits(total), sum(BIG_NUMBERS)
    if code in "fd":
        feedback.fail(
            f"big_total is Value({code!r}), a {bits}-bit float: it holds whole numbers exactly only up to "
            f"2**{24 if code == 'f' else 53} and rounds the rest; a sum of whole numbers needs a whole-number "
            "type: the 64-bit 'q'"
        )
        return
    if code in INTEGER_CODES and bits < 64:
        reason = (
            f"holds at most {2**bits - 1:_}: enough for this sum, not for a bigger one"
            if code.isupper() and total.value == want
            else "wraps around past its largest value"
        )
        feedback.fail(f"big_total is Value({code!r}), {bits} bits: it {reason}; pick the 64-bit 'q'")
        return
    runs = cell_notes("write_sum", lambda n: n["args"].get("out", {}).get("id") == shared_id(total), total)
    children = [n for n in runs if n["parent"] == os.getpid() and n["pid"] != os.getpid()]
    if not runs and failed_calls(feedback, cell_notes("write_sum", answer=total), "write_sum"):
        return  # e.g. the arguments in another order: the child's own error says which
    if any(n["pid"] == os.getpid() for n in runs):
        feedback.fail(
            "write_sum ran here, in the notebook's own process: start it in the child, "
            "Process(target=write_sum, args=(BIG_NUMBERS, big_total)), and call start(), not run()"
        )
        return
    if not children and (problem := _child_not_at_work(total)) is not None:
        feedback.fail(problem)
        return
    if not children:
        feedback.fail(
            f"big_total holds {total.value:_}, but no child ran write_sum with this big_total: run the child again, "
            "Process(target=write_sum, args=(BIG_NUMBERS, big_total)), and join it"
        )
        return
    child = child_process(children[-1]["pid"])
    problem = None if child is None else child_outcome(child)  # gone: ended, and let go
    if problem is not None:
        feedback.fail(problem)
        return
    given = children[-1]["args"].get("numbers", {}).get("value")
    if isinstance(given, list) and sum(given) != want and total.value == want:
        feedback.fail(
            f"the child wrote the sum of {given}, {sum(given):_}, yet big_total holds {want:_}: the notebook set it "
            "itself. Let the child write it, Process(target=write_sum, args=(BIG_NUMBERS, big_total))"
        )
        return
    feedback.expect(
        total.value == want,
        f"a child ran write_sum with big_total and ended; big_total holds {want:_}, in {bits} bits",
        f"big_total holds {total.value:_} in {bits} bits, not {want:_}: run the child again after changing the type",
    )


def _pool_size(workers: set[int]) -> int | None:
    """How many workers the pool had whose workers include ``workers`` (PIDs), from the Pool object; None if gone.

    Not how many did work: with 100 tiny tasks one worker may take them all, and under spawn the second may not
    have started before the pool ends.
    """
    for pool in _live_pools():
        if workers & {w.pid for w in getattr(pool, "_pool", [])}:
            return int(pool._processes)
    return None


#: What the workers of a ``multiprocessing.Pool`` and of a ``ProcessPoolExecutor`` were started to run (see
#: :func:`helpers.evidence.started_as`); both take an initializer.
POOL_WORKERS = frozenset({"multiprocessing.pool.worker", "concurrent.futures.process._process_worker"})


@self_check("a total summed by a Pool")
def check_pool_total(feedback: Feedback, total: Any) -> None:
    """Check exercise 3: the shared ``total`` holds 1 + 2 + ... + 100 = 5050, and the pool is closed."""
    if not hasattr(total, "get_lock"):
        feedback.fail(
            f"total should be a synchronized Value, e.g. Value('i', 0), now {type(total).__name__}: "
            "add_to_total takes its lock"
        )
        return
    value = total.value
    given = {n["pid"]: n["args"].get("total", {}).get("id") for n in read_notes("init_total")}  # in each process
    adds = cell_notes("add_to_total", lambda n: given.get(n["pid"], shared_id(total)) == shared_id(total), total)
    here = [n for n in adds if n["pid"] == os.getpid()]
    inherited = [n for n in adds if n["pid"] != os.getpid() and n["pid"] not in given]
    not_pooled = {n["started_as"] for n in adds if n["pid"] != os.getpid() and n.get("started_as") not in POOL_WORKERS}
    failed = [n for n in adds if n.get("error")]
    if failed and not here and os.getpid() in given and not set(given) - {os.getpid()}:
        feedback.fail(
            f"the workers stopped on {failed[0]['error'].split(':')[0]}: init_total ran here, in the notebook's "
            "process, and never in them. A worker gets the total only if the Pool runs init_total in it: pass the "
            "function and its arguments apart, initializer=init_total, initargs=(total,) "
            "(initializer=init_total(total) would call it right away, here)"
        )
    elif failed_calls(feedback, [n for n in adds if n["pid"] != os.getpid()], "add_to_total"):
        pass
    elif not_pooled and not here:
        feedback.fail(
            f"add_to_total ran in processes started to run {', '.join(sorted(map(str, not_pooled)))}, not in a "
            "pool's workers: the task is a Pool, with Pool(2, initializer=init_total, initargs=(total,)) as pool"
        )
    elif here:
        feedback.fail(
            f"add_to_total ran {len(here)} time(s) here, in the notebook's own process, not in the pool's workers: "
            "map it with the pool, pool.map(add_to_total, range(1, 101))"
        )
    elif inherited:
        feedback.fail(
            "the workers added to a total they never received: init_total did not run in them, they found the "
            "global it set here, in the notebook's process, and fork copied it (initializer=init_total(total) "
            "calls it right away, here). Pass the function and its arguments apart: initializer=init_total, "
            "initargs=(total,)"
        )
    elif not adds:
        feedback.fail(
            "total holds 0, expected 5050; no worker added anything: did every worker get the Value through "
            "initializer=init_total and initargs=(total,)? initargs is a tuple: mind the comma"
            if value == 0
            else f"total holds {value}, but add_to_total never added to it: the notebook wrote it itself; "
            "map add_to_total over range(1, 101) with the pool"
        )
    else:
        numbers = sorted(n["args"]["n"].get("value") or 0 for n in adds)
        workers = {n["pid"] for n in adds}
        strangers = {n["pid"] for n in adds if n["parent"] != os.getpid()}
        hints = {
            4950: "that is 1 + ... + 99: range(1, 101) stops before 101, so it includes 100",
            10100: "that is 5050 twice: the cell must start again from Value('i', 0)",
        }
        if strangers:
            feedback.fail("add_to_total ran in processes this notebook did not start: use a Pool of 2 workers")
        elif numbers != list(range(1, 101)) and value == 5050:
            feedback.fail(
                f"total holds 5050, but the workers added only {summarize(numbers)}: the rest was added here, in "
                "the notebook's process; let the pool's workers add it all, pool.map(add_to_total, range(1, 101))"
            )
        elif numbers != list(range(1, 101)) or value != 5050:
            feedback.fail(
                f"the workers added {summarize(numbers)} and total holds {value}, expected 5050; "
                + hints.get(value, "map add_to_total over range(1, 101), once")
            )
        elif (size := _pool_size(workers)) is not None and size < 2:
            feedback.fail(
                f"the pool that did the adding had {size} worker: the task asks for a Pool of 2 workers, so that "
                "two processes share the Value"
            )
        else:
            took = f"{len(workers)} pool worker(s)" if size is None else f"a pool of {size}: {len(workers)} worker(s)"
            feedback.ok(
                f"{took} added 1 to 100 into total, each given it by init_total in itself; total holds 5050"
                + (" (with 100 tiny tasks, one worker may take them all)" if len(workers) < (size or 0) else "")
            )
    running = [p for p in _live_pools() if p._state == "RUN"]
    feedback.expect(
        not running,
        "the pool is closed",
        f"{len(running)} pool(s) still running: create it with `with Pool(...) as pool:` (or call pool.close() "
        "and pool.join()), so its workers end",
    )


def _live_pools() -> list[Any]:
    import gc
    from multiprocessing.pool import Pool

    return [obj for obj in gc.get_objects() if isinstance(obj, Pool)]
