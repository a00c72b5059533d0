"""helpers.child_output: a child's print stays in the cell that started it, however late ipykernel forwards it."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from pathlib import Path

import pytest

from helpers import child_output

sys.path.insert(0, str(Path(__file__).parent))
from kernels import kernel


def test_processes_made_counts_every_process_object() -> None:
    before = child_output.processes_made()
    multiprocessing.Process(target=print)
    assert child_output.processes_made() == before + 1


def test_pending_bytes_reads_what_a_pipe_holds() -> None:
    read, write = os.pipe()
    try:
        assert child_output.pending_bytes(read) == 0
        os.write(write, b"hello")
        assert child_output.pending_bytes(read) == 5
    finally:
        os.close(read)
        os.close(write)


def test_outside_a_kernel_there_is_nothing_to_wait_for() -> None:
    assert child_output.drain(limit=0.1)


#: A kernel whose forwarding thread takes 1 s to hand on each piece it reads, as on a very busy machine: the
#: ``os`` its function sees (ipykernel.iostream's) sleeps after each read in that thread.
SLOW_FORWARDING = """
import sys, threading, time
_watcher = sys.stdout.watch_fd_thread
_globals = _watcher._target.__func__.__globals__
_real_os = _globals["os"]
class _SlowOS:
    def __getattr__(self, name):
        return getattr(_real_os, name)
    def read(self, fd, n):
        data = _real_os.read(fd, n)
        if threading.current_thread() is _watcher:
            time.sleep(1.0)
        return data
_globals["os"] = _SlowOS()
_real_os.write(1, b"from now on, slow\\n")  # ends the read the thread was already waiting in: its next one is slow
"""

#: A spawn child (it writes to the kernel's descriptor 1, which ipykernel forwards) that prints the article's line.
CHILD_PRINTS = """
import multiprocessing
from helpers.isolation import square_numbers
p1 = multiprocessing.get_context("spawn").Process(target=square_numbers, args=([5, 10, 15],), name="p1")
p1.start()
p1.join()
"""


@pytest.mark.deep
@pytest.mark.parametrize("drained", [True, False])
def test_a_childs_line_shows_in_its_own_cell_even_when_forwarding_is_slow(drained: bool) -> None:
    """With the drain, the child's line is in its cell; without it (the control), it lands in a later one."""
    with kernel(shutdown_now=True) as k:
        k.run(SLOW_FORWARDING + "import helpers.feedback\nfrom helpers import child_output")
        if not drained:
            k.run("child_output.drain = lambda limit=0.0: True")
        started = time.monotonic()
        first = k.run(CHILD_PRINTS, timeout=60)
        k.run("import time; time.sleep(2.5)")
        line = "Result (in process p1): [25, 100, 225]"
        assert (line in first.stdout) is drained, first.stdout
        if drained:
            assert time.monotonic() - started < 2 * child_output.DRAIN_SECONDS + 10, "the wait is bounded"
        k.run('_globals["os"] = _real_os')  # the kernel forwards at its own pace again, then is shut down
