"""What a test run can leave behind: /dev/shm entries and stray course processes.

The conftest takes a :func:`snapshot` when pytest starts; the last test of the
run (``test_leftovers.py``) compares against it with :func:`leftovers_since`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

SHM = Path("/dev/shm")
PROC = Path("/proc")

#: Command lines of processes a lesson or test starts: kernels, multiprocessing
#: children (spawn, forkserver, resource tracker) and forked copies of kernels.
COURSE_PROCESS = re.compile(r"ipykernel|multiprocessing|spawn_main|forkserver|resource_tracker|course-script")


@dataclass(frozen=True)
class Snapshot:
    """The /dev/shm names and the PIDs alive at one moment."""

    shm: frozenset[str]
    pids: frozenset[int]


def shm_names() -> set[str]:
    """Names in /dev/shm (shared memory segments and ``sem.*`` named semaphores)."""
    try:
        return {p.name for p in SHM.iterdir()}
    except FileNotFoundError:
        return set()


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def pids() -> set[int]:
    """PIDs of all processes visible in /proc (empty where there is no /proc)."""
    if not PROC.is_dir():
        return set()
    return {int(p.name) for p in PROC.iterdir() if p.name.isdigit()}


def snapshot() -> Snapshot:
    """Record what exists now, to compare with at the end of the run."""
    return Snapshot(frozenset(shm_names()), frozenset(pids()))


def _is_own_infrastructure(pid: int, me: int) -> bool:
    """The test process's own resource tracker or fork server: they end when it ends."""
    return _ppid(pid) == me and bool(re.search(r"resource_tracker|forkserver", _cmdline(pid)))


def stray_processes(before: Snapshot, me: int | None = None) -> dict[int, str]:
    """New processes since ``before`` that a lesson or test started and nobody ended."""
    me = os.getpid() if me is None else me
    found = {}
    for pid in pids() - before.pids - {me}:
        cmd = _cmdline(pid)
        if not cmd or _is_own_infrastructure(pid, me):
            continue
        if COURSE_PROCESS.search(cmd) or _ppid(pid) == me:
            found[pid] = cmd
    return found


def leftovers_since(before: Snapshot, wait: float = 10.0) -> tuple[set[str], dict[int, str]]:
    """New /dev/shm names and stray processes, after waiting up to ``wait`` s for them to go.

    Kernels and their resource trackers take a moment to exit after nbval
    shuts them down, so a leftover counts only if it is still there at the end.
    """
    deadline = time.monotonic() + wait
    while True:
        shm = shm_names() - before.shm
        procs = stray_processes(before)
        if (not shm and not procs) or time.monotonic() > deadline:
            return shm, procs
        time.sleep(0.2)
