"""Lesson 05, section 2: what a forked child really shares. Reading Python objects writes to them.

A forked child shares its parent's pages until one of the two writes to a page; then the kernel gives the
writer a private copy of that page (copy-on-write). In CPython, *reading* an object writes to it: every
use changes its reference count, which lives in the object. And a full collection of the cyclic garbage
collector writes to the header of every container it tracks. So a child that only reads a list of half a
million Python ints ends up copying most of the pages that hold them, while a child that sums the same
numbers in a NumPy array (one buffer, which it never writes) copies almost nothing.

:func:`copy_on_write_lines` measures this in a fresh Python process (``python -m helpers.copy_on_write``)
and returns yes/no sentences that hold on every Linux machine and Python 3.11-3.15. A fresh process, because
forking a Jupyter kernel (which runs threads) is a trap of its own (lesson 01), because its memory then holds
nothing but the demo, and because the result must not depend on the course's start method: the demo always
forks, the one method with inherited pages. Each measurement is the child's own ``Private_Dirty`` from
``/proc/self/smaps_rollup`` (Linux 4.14+), before and after the one thing it does.

The data are big ints (10**9 and up), never small ints or interned strings: from 3.12 those are immortal
(PEP 683; strings interned at run time with ``sys.intern`` became mortal again in 3.13 and late 3.12 releases,
gh-113993), so their refcounts are not written and the demo would silently "work" there.

Sources: the ``gc.freeze()`` documentation ("avoid copy-on-write"; added in 3.7 by bpo-31558), PEP 683, and
the discussion in bpo-40255 (gh-84436).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from typing import Any

__all__ = ["DEFAULT_COUNT", "copy_on_write_lines", "private_dirty_bytes"]

#: How many ints the demo's list holds: big enough that the copies dwarf noise (about 15 MiB of objects),
#: small enough that the whole demo takes about a second.
DEFAULT_COUNT = 500_000

#: Bytes per ``int`` object of 10**9 and up, plus its list slot (28 + 8 on 64-bit CPython).
INT_BYTES = 36

#: Bytes per one-item list ``[i]`` with its GC header and its slot in the outer list (at least 64 on 64-bit).
RECORD_BYTES = 64

SMAPS = "/proc/self/smaps_rollup"


def private_dirty_bytes() -> int:
    """This process's private, written memory (``Private_Dirty`` in ``/proc/self/smaps_rollup``), in bytes.

    Raises ``OSError`` where that file does not exist (not Linux, or a Linux older than 4.14).
    """
    with open(SMAPS) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{SMAPS} has no Private_Dirty line; this demo needs Linux 4.14 or newer")


def _child(conn: Any, data: Any, action: str) -> None:
    before = private_dirty_bytes()
    if action == "sum":
        data.sum() if hasattr(data, "sum") else sum(data)
    else:
        gc.collect()
    conn.send(private_dirty_bytes() - before)
    conn.close()


def _copied_by_child(data: Any, action: str, freeze: bool) -> int:
    """Fork a child that does ``action`` ('sum' or 'collect') on ``data``; the bytes it had to copy."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    gc.collect()
    if freeze:
        gc.freeze()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, data, action))
    child.start()
    try:
        if not receive.poll(30):
            raise TimeoutError("the measuring child sent nothing within 30 s")
        return int(receive.recv())
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        gc.unfreeze()


def _measure(count: int) -> list[str]:
    import numpy as np

    numbers = list(range(10**9, 10**9 + count))
    array = np.array(numbers, dtype=np.int64)
    records = [[i] for i in range(count // 2)]
    list_copied = _copied_by_child(numbers, "sum", freeze=False)
    array_copied = _copied_by_child(array, "sum", freeze=False)
    frozen_list_copied = _copied_by_child(numbers, "sum", freeze=True)
    collect_copied = _copied_by_child(records, "collect", freeze=False)
    frozen_collect_copied = _copied_by_child(records, "collect", freeze=True)
    list_bytes, records_bytes = count * INT_BYTES, count // 2 * RECORD_BYTES
    return [
        f"a child that only summed a list of {count:,} ints copied most of it: {list_copied > 0.5 * list_bytes}",
        "a child that summed the same numbers in a NumPy array copied almost nothing: "
        f"{array_copied < 0.25 * array.nbytes}",  # about 0.1 MiB of 3.8: the child's own bookkeeping
        f"gc.freeze() before the fork did not stop the list's copies: {frozen_list_copied > 0.5 * list_bytes}",
        "a gc.collect() in the child, reading nothing, copied most of a list of lists: "
        f"{collect_copied > 0.5 * records_bytes}",
        f"gc.freeze() before the fork stopped the collection's copies: {frozen_collect_copied < 0.1 * records_bytes}",
    ]


def copy_on_write_lines(count: int = DEFAULT_COUNT, timeout: float = 60) -> list[str]:
    """Run the measurement in a fresh Python process; return its sentences (each ends in True or False).

    Where it cannot be measured (no fork, or no ``/proc/self/smaps_rollup``) the one sentence says so.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1000:
        raise ValueError(f"count must be a whole number of at least 1000 (the list's length), not {count!r}")
    if not hasattr(os, "fork") or not os.path.exists(SMAPS):
        return [f"not measured here: the demo needs fork and {SMAPS} (Linux); the lesson's stored lines are from Linux"]
    run = subprocess.run(
        [sys.executable, "-m", "helpers.copy_on_write", str(count)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the copy-on-write demo failed (exit code {run.returncode}):\n{run.stderr}")
    return run.stdout.splitlines()


if __name__ == "__main__":
    for line in _measure(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_COUNT):
        print(line)
