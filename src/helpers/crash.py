"""After a crashed kernel: find what it left, and only that, and remove it (``python -m helpers.cleanup``).

A kernel killed outright (a crash, ``kill -9``, Kernel > Restart while a cell runs) leaves its workers running
and its shared memory segments, named semaphores and scratch folders behind. What is the course's is proven by
a record (see :mod:`helpers.ownership`), never guessed from a folder or a name:

* a **dead kernel** is a token whose owner's record (PID and start time) no longer matches a running process;
* a **process** is its leftover if its registry record (same PID, same start time) or its environment carries
  that token;
* a **segment**, **semaphore** or **scratch folder** is its leftover if its name carries that token (or, for
  joblib's ``sem.loky-<pid>-*``, the PID of a recorded process of that kernel that has ended), and no running
  process has it mapped.

Never touched: this tool's own ancestors (the shell it runs in, a JupyterLab server above it), anything it
cannot tie to a dead kernel that way (a live kernel's processes, a stranger's job in ``notebooks/``), and
anything of another user. Linux only: it reads ``/proc``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.ownership import (
    SEGMENT_PREFIX,
    SEMAPHORE_PREFIX,
    Record,
    ancestors,
    environ_token,
    read_cmdline,
    records,
    registry_dir,
    remove_records,
    scratch_folder,
    start_time,
)

__all__ = ["Leftover", "Leftovers", "find_leftovers", "main", "reset"]

#: How long a process that was asked to stop gets before it is killed.
GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class Leftover:
    """One thing a dead kernel left: what it is, and why it is the course's."""

    kind: str  # "process", "segment", "semaphore", "folder"
    path: Path | None  # the file or folder; None for a process
    pid: int | None  # the process; None for a file
    start: int | None  # the process's start time, checked again before it is stopped
    why: str

    @property
    def name(self) -> str:
        if self.pid is not None:
            return f"process {self.pid}"
        return f"{self.kind} {self.path}"


@dataclass
class Leftovers:
    """What :func:`find_leftovers` found, and the dead kernels' tokens it belongs to."""

    items: list[Leftover] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def of_kind(self, kind: str) -> list[Leftover]:
        return [item for item in self.items if item.kind == kind]

    @property
    def pids(self) -> set[int]:
        return {item.pid for item in self.items if item.pid is not None}

    @property
    def names(self) -> set[str]:
        return {item.path.name for item in self.items if item.path is not None}

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        if not self:
            return "nothing left behind by a course kernel that has ended"
        return "\n".join(f"{item.name}: {item.why}" for item in self.items)


def _kernel_names(everything: list[Record]) -> dict[str, str]:
    """token -> how to name its kernel in a reason ("kernel 1234 (python -m ipykernel_launcher ...)")."""
    names = {}
    for r in everything:
        if r.owner:
            names[r.token] = f"kernel {r.pid} ({r.cmdline[:60]})" if r.cmdline else f"kernel {r.pid}"
    return names


def _mapped_files(proc: Path, shm: Path, leftover_pids: set[int]) -> set[str]:
    """Names of files in ``shm`` that a process we can read has mapped (a segment or semaphore in use), not
    counting the leftover processes themselves (they are stopped before the files are removed)."""
    mapped: set[str] = set()
    pattern = re.compile(re.escape(str(shm)) + r"/(\S+)")
    for maps in proc.glob("[0-9]*/maps"):
        if int(maps.parent.name) in leftover_pids:
            continue
        try:
            text = maps.read_text()
        except OSError:
            continue
        mapped.update(m.group(1).removesuffix(" (deleted)") for m in pattern.finditer(text))
    return mapped


def _owned_by(path: Path, uid: int) -> bool:
    try:
        return path.lstat().st_uid == uid
    except OSError:
        return False


def _boot_time() -> float:
    """When this machine booted (seconds since the epoch), to turn a start time in clock ticks into a date."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def find_leftovers(
    shm: str | os.PathLike[str] = "/dev/shm",
    proc: str | os.PathLike[str] = "/proc",
    registry: str | os.PathLike[str] | None = None,
    uid: int | None = None,
    tmp: str | os.PathLike[str] | None = None,
    only: set[str] | None = None,
) -> Leftovers:
    """What course kernels that have ended left behind, each with the reason it is theirs; nothing else.

    ``only`` limits it to those kernels' tokens (a test harness that crashed a kernel of its own uses it, so that
    it never touches what other kernels of the user left).
    """
    shm, proc = Path(shm), Path(proc)
    uid = os.getuid() if uid is None else uid
    everything = records(Path(registry) if registry is not None else None)
    running = {r.token for r in everything if r.owner and r.running}
    dead = {r.token for r in everything if r.owner} - running
    if only is not None:
        dead &= only
    kernel = _kernel_names(everything)
    found = Leftovers(tokens=dead)
    if not dead:
        return found

    # processes: by their record first (same PID and start time), else by the token in their environment
    by_process = {(r.pid, r.start): r for r in everything}
    mine = {os.getpid()} | ancestors()
    for pid_dir in sorted(proc.glob("[0-9]*"), key=lambda p: int(p.name)):
        pid = int(pid_dir.name)
        if pid in mine or not _owned_by(pid_dir, uid):
            continue
        start = start_time(pid)
        record = by_process.get((pid, start)) if start is not None else None
        token: str | None
        if record is not None:
            token, how = record.token, "registered itself as a process of"
        else:
            token, how = environ_token(pid), "carries in its environment the token of"
        if token in dead:
            why = f"{how} {kernel[token]}, which has ended: {read_cmdline(pid_dir)[:80]}"
            found.items.append(Leftover("process", None, pid, start, why))

    # files in /dev/shm: the token in their name, or (joblib's semaphores) a dead course process's PID
    mapped = _mapped_files(proc, shm, found.pids)
    ended_pids = {r.pid: r for r in everything if r.token in dead and not r.running}
    boot = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for path in sorted(shm.iterdir()) if shm.is_dir() else []:
        if path.name in mapped or not _owned_by(path, uid):
            continue
        for token in dead:
            why = f"its name carries the token of {kernel[token]}, which has ended"
            if path.name.startswith(f"{SEGMENT_PREFIX}{token}_"):
                found.items.append(Leftover("segment", path, None, None, why))
            elif path.name.startswith(f"sem.{SEMAPHORE_PREFIX}{token}-"):
                found.items.append(Leftover("semaphore", path, None, None, why))
        loky = re.fullmatch(r"sem\.loky-(\d+)-\w+", path.name)
        if loky and int(loky.group(1)) in ended_pids and start_time(loky.group(1)) is None:
            r = ended_pids[int(loky.group(1))]
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= boot + r.start / ticks - 1:  # made by that process, not an earlier one
                    why = f"joblib made it in process {r.pid}, which belonged to {kernel[r.token]} and has ended"
                    found.items.append(Leftover("semaphore", path, None, None, why))

    # scratch folders
    for token in sorted(dead):
        folder = scratch_folder(token) if tmp is None else Path(tmp) / f"{SEGMENT_PREFIX}{token}"
        if folder.is_dir() and _owned_by(folder, uid):
            why = f"the scratch folder of {kernel[token]}, which has ended"
            found.items.append(Leftover("folder", folder, None, None, why))
    return found


def reset(leftovers: Leftovers, grace: float = GRACE_SECONDS, registry: Path | None = None) -> list[str]:
    """Stop the processes (SIGTERM, then SIGKILL after ``grace`` s) and remove the files and folders; then forget
    the dead kernels' records if all went. Returns what could not be done, one line each; it never raises."""
    problems = []
    processes = [item for item in leftovers.items if item.pid is not None]
    for item in processes:
        if start_time(item.pid) != item.start:  # type: ignore[arg-type]
            continue  # ended meanwhile, and its PID may be someone else's now
        try:
            os.kill(item.pid, signal.SIGTERM)  # type: ignore[arg-type]
        except ProcessLookupError:
            pass
        except OSError as exc:
            problems.append(f"could not stop process {item.pid}: {exc.strerror}")
    deadline = time.monotonic() + grace
    for item in processes:
        while start_time(item.pid) == item.start and time.monotonic() < deadline:  # type: ignore[arg-type]
            time.sleep(0.05)
        if start_time(item.pid) == item.start:  # type: ignore[arg-type]
            with contextlib.suppress(OSError):
                os.kill(item.pid, signal.SIGKILL)  # type: ignore[arg-type]
    for item in leftovers.items:
        if item.path is None:
            continue
        try:
            if item.kind == "folder":
                shutil.rmtree(item.path)
            else:
                item.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"could not remove {item.path}: {exc.strerror}")
    if not problems:
        folder = registry_dir() if registry is None else registry
        remove_records(folder, [r for r in records(folder) if r.token in leftovers.tokens and not r.running])
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.cleanup [--dry-run]``: remove what course kernels that have ended left behind."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.cleanup",
        description="Remove what a crashed course kernel left behind: its worker processes, shared memory "
        "segments, semaphores and scratch folders, each proven the course's by the kernel's token or the "
        "registry's record. Nothing of a kernel that still runs, of a process it cannot tie to an ended kernel, "
        "of another user, or this command's own shell. Linux only (it reads /proc): elsewhere, restart the kernel.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed, and why")
    args = parser.parse_args(argv)
    if not Path("/proc").is_dir():
        print("nothing to do: this system has no /proc (macOS, Windows); restart the kernel instead")
        return 0
    found = find_leftovers()
    if not found:
        print(found)
        return 0
    verb = "would stop or remove" if args.dry_run else "stopping or removing"
    print(f"{verb}:\n{found}")
    if args.dry_run:
        return 0
    problems = reset(found)
    counts = {kind: len(found.of_kind(kind)) for kind in ("process", "segment", "semaphore", "folder")}
    print(
        f"stopped {counts['process']} process(es); removed {counts['segment']} segment(s), "
        f"{counts['semaphore']} semaphore(s), {counts['folder']} scratch folder(s)"
    )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
