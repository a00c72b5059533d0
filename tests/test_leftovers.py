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


#: Another program of the same user, running beside the suite: a kernel with lesson 06 open in JupyterLab. It is no
#: child of the test run and has its own token; it creates a course segment, an unnamed segment, a Lock, and joblib's
#: semaphores, and keeps them while the check looks.
STRANGER = """
import multiprocessing, sys, time
import helpers
from helpers.shared_arrays import shared_array
from multiprocessing import shared_memory
from joblib.externals.loky.backend import get_context
with shared_array((16,)) as array:
    segment = shared_memory.SharedMemory(create=True, size=4096)
    lock = multiprocessing.get_context("spawn").Lock()
    loky_lock = get_context().Lock()
    print("ready", flush=True)
    sys.stdin.readline()
    segment.close()
    segment.unlink()
"""


def test_a_second_kernel_creating_segments_during_the_run_is_not_blamed(run_snapshot: leftovers.Snapshot) -> None:
    """A run beside a kernel that had lesson 06 open used to fail with that kernel's 2 `mpcourse_` segments and
    20 `sem.loky-*` semaphores: the check counted anything new in /dev/shm."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != leftovers.RUN_TOKEN_VAR}  # started by JupyterLab, not by us
    before = leftovers.shm_names()
    stranger = subprocess.Popen(
        [sys.executable, "-c", STRANGER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        assert stranger.stdout is not None and stranger.stdout.readline() == b"ready\n"
        theirs = leftovers.shm_names() - before
        assert len(theirs) >= 4, f"the stranger's segments and semaphores exist: {sorted(theirs)}"
        shm, _ = leftovers.leftovers_since(run_snapshot, wait=0)
        assert not shm & theirs, f"blamed on the suite: {sorted(shm & theirs)}"
    finally:
        stranger.communicate(b"\n", timeout=60)
