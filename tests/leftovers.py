"""What a test run can leave behind: /dev/shm entries and stray course processes, its own only.

The conftest takes a :func:`snapshot` when pytest starts; the last test of the
run (``test_leftovers.py``) compares against it with :func:`leftovers_since`.
"""

from __future__ import annotations

import gc
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.ownership import SEGMENT_PREFIX, SEMAPHORE_PREFIX, TOKEN_VAR, environ_token, records, start_time
from helpers.release import HELPER_PROCESSES

SHM = Path("/dev/shm")
PROC = Path("/proc")

#: The test run's token (see helpers.ownership), made by the conftest. Kernels note it as their parent in the
#: registry and name their resources with tokens of their own; workers and scripts inherit it in their
#: environment. So what this run created can be told from what other programs (a student's JupyterLab, another
#: test run) create at the same time: the check below counts only this run's.
RUN_TOKEN_VAR = TOKEN_VAR


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


def run_tokens(token: str | None = None) -> set[str]:
    """This run's token and the tokens of the kernels it started (and of theirs), from the registry."""
    tokens = {token or os.environ.get(TOKEN_VAR, "")} - {""}
    everything = records()
    while True:
        more = {r.token for r in everything if r.owner and r.parent in tokens} - tokens
        if not more:
            return tokens
        tokens |= more


def of_this_run(name: str, tokens: set[str], pids: set[int]) -> bool:
    """A /dev/shm name made by this run: it carries one of its tokens, or (joblib's semaphores) a PID of its."""
    for token in tokens:
        if name.startswith((f"{SEGMENT_PREFIX}{token}_", f"sem.{SEMAPHORE_PREFIX}{token}-")):
            return True
    loky = re.fullmatch(r"sem\.loky-(\d+)-\w+", name)
    return bool(loky) and int(loky.group(1)) in pids


def _is_own_infrastructure(pid: int, me: int) -> bool:
    """The test process's own resource tracker or fork server: they end when it ends."""
    return _ppid(pid) == me and bool(re.search(r"resource_tracker|forkserver", _cmdline(pid)))


def stray_processes(before: Snapshot, tokens: set[str], me: int | None = None) -> dict[int, str]:
    """Processes of this test run, started since ``before``, that nobody ended.

    A process belongs to this run if it is a child of the test process, or its registry record (PID and start
    time) or its environment carries one of the run's tokens.
    """
    me = os.getpid() if me is None else me
    recorded = {(r.pid, r.start) for r in records() if r.token in tokens}
    found = {}
    for pid in pids() - before.pids - {me}:
        if _is_own_infrastructure(pid, me):
            continue
        if _ppid(pid) == me or (pid, start_time(pid)) in recorded or environ_token(pid) in tokens:
            found[pid] = _cmdline(pid)
    return found


def leftovers_since(before: Snapshot, wait: float = 10.0) -> tuple[set[str], dict[int, str]]:
    """New /dev/shm names and stray processes, after waiting up to ``wait`` s for them to go.

    Kernels and their resource trackers take a moment to exit after nbval
    shuts them down, so a leftover counts only if it is still there at the end.
    """
    gc.collect()  # objects of finished tests, freed in this process, release their semaphores
    deadline = time.monotonic() + wait
    while True:
        tokens = run_tokens()
        ours = {r.pid for r in records() if r.token in tokens} | {os.getpid()}
        shm = {name for name in shm_names() - before.shm if of_this_run(name, tokens, ours)}
        procs = stray_processes(before, tokens)
        if (not shm and not procs) or time.monotonic() > deadline:
            return shm, procs
        time.sleep(0.2)


def descendants(pid: int) -> dict[int, str]:
    """The living descendants of process ``pid`` (a kernel), but its resource trackers and fork server (they end
    with it)."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for kid in kids:
                todo.append(kid)
                cmdline = _cmdline(kid)
                helper = parent == pid and HELPER_PROCESSES.search(cmdline)
                if not helper and Path(f"/proc/{kid}").exists() and "(Z)" not in _state(kid):
                    found[kid] = cmdline
    return found


def _state(pid: int) -> str:
    try:
        return "(" + Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] + ")"
    except OSError:
        return "(Z)"
