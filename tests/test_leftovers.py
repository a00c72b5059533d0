"""Nothing left behind: runs last (see conftest), after every lesson and test.

Every process a lesson starts must be joined or terminated, every shared
memory segment unlinked by its owner, every named semaphore (behind Value,
Array, Lock, Queue, Pool under spawn and forkserver) released.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing import shared_memory

import leftovers
import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /dev/shm and /proc, which only Linux has")


def test_detector_sees_a_segment_and_a_process(run_snapshot: leftovers.Snapshot) -> None:
    """The check below can fail: a segment and a child that exist right now are reported."""
    import subprocess

    segment = shared_memory.SharedMemory(create=True, size=4096)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    # An orphan: its parent (the shell) exits at once, so only the run marker ties it to us.
    shell = subprocess.run(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    orphan = int(shell.stdout)
    try:
        shm, procs = leftovers.leftovers_since(run_snapshot, wait=0)
        assert segment.name.lstrip("/") in shm
        assert child.pid in procs
        assert orphan in procs
    finally:
        child.kill()
        child.wait()
        os.kill(orphan, signal.SIGKILL)
        segment.close()
        segment.unlink()


def test_nothing_left_behind(run_snapshot: leftovers.Snapshot) -> None:
    shm, procs = leftovers.leftovers_since(run_snapshot)
    assert not shm, f"/dev/shm entries created during the run and never removed: {sorted(shm)}"
    assert not procs, f"processes started during the run and still alive: {procs}"
