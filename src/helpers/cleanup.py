"""Release what a lesson created, so nothing outlives it.

Shared objects hold operating-system resources: a ``Value``, ``Array``,
``Lock``, ``Queue`` or ``Pool`` created under ``spawn`` or ``forkserver``
owns named semaphores (``/dev/shm/sem.mp-*`` on Linux) that are removed
only when the Python object is garbage-collected. When a kernel is stopped
abruptly, they are never removed. Every lesson therefore ends with
:func:`release_all`.

After a crashed demo, ``python -m helpers.cleanup`` (see :func:`main`) removes
what is left: the course's segments, orphaned semaphores and worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Leftovers", "course_segment_name", "find_leftovers", "release_all", "reset"]

#: Attributes every module has, which the kernel's ``__main__`` must keep through :func:`release_all`.
MODULE_ATTRIBUTES = frozenset({"__doc__", "__loader__", "__name__", "__package__", "__spec__"})


def release_all() -> None:
    """Delete the notebook's variables and everything that still refers to them, then collect.

    Three things keep objects alive after a notebook is done with them:
    its variables, the output history (``Out``, ``_``), and the last error:
    ``sys.last_value`` and IPython's traceback formatter keep the traceback,
    whose frames keep every local variable of the failed call, such as the
    ``Pool`` whose ``map`` raised. This function clears all three (with
    ``%reset -f`` for the first two), closes matplotlib's figures, and runs
    the garbage collector, so finalizers release shared memory and
    semaphores now. Widgets already shown stay on the page.

    Outside IPython it only clears the last error and collects.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        # %reset clears the namespace that is the kernel's __main__ module, and with it __spec__, which spawn and
        # forkserver read whenever they start a process ("module '__main__' has no attribute '__spec__'"
        # afterwards). Keep the module's own attributes; delete only what the notebook defined.
        kept = {k: v for k, v in shell.user_ns.items() if k in MODULE_ATTRIBUTES}
        shell.run_line_magic("reset", "-f")
        shell.user_ns.update(kept)
        formatter = getattr(shell, "InteractiveTB", None)
        if formatter is not None and hasattr(formatter, "tb"):
            formatter.tb = None
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
    gc.collect()


# ---------------------------------------------------------------- reset after a crash

#: Shared memory segments the course creates are named with this prefix (see
#: :func:`course_segment_name`), so :func:`reset` can tell them from other programs'.
SEGMENT_PREFIX = "mpcourse_"
from helpers import PROCESS_MARKER  # noqa: E402  (set in the environment when helpers is imported)


def course_segment_name() -> str:
    """A fresh name for a shared memory segment of the course (``mpcourse_`` + 12 hex digits)."""
    return SEGMENT_PREFIX + secrets.token_hex(6)


@dataclass(frozen=True)
class Leftovers:
    """What :func:`find_leftovers` found: course segments, orphaned semaphores, stray processes."""

    segments: tuple[Path, ...]
    semaphores: tuple[Path, ...]
    processes: tuple[tuple[int, str], ...]

    def __str__(self) -> str:
        if not (self.segments or self.semaphores or self.processes):
            return "nothing left behind by the course"
        lines = [f"shared memory segment {p.name}" for p in self.segments]
        lines += [f"orphaned semaphore {p.name}" for p in self.semaphores]
        lines += [f"process {pid}: {cmd[:100]}" for pid, cmd in self.processes]
        return "\n".join(lines)


def _mapped_shm_files(proc: Path) -> set[str]:
    """Names of /dev/shm files that some live process has mapped (a semaphore in use is mapped)."""
    mapped: set[str] = set()
    for maps in proc.glob("[0-9]*/maps"):
        try:
            text = maps.read_text()
        except OSError:
            continue
        mapped.update(m.group(1) for m in re.finditer(r"/dev/shm/(\S+)", text))
    return mapped


def _process_info(pid_dir: Path) -> tuple[int, str, str, bytes] | None:
    """(ppid, cmdline, cwd, environ) of one process, or None if it is gone or not ours to read."""
    try:
        ppid = int((pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
        cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        cwd = os.readlink(pid_dir / "cwd")
        environ = (pid_dir / "environ").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return ppid, cmd, cwd, environ


def find_leftovers(
    course_dir: str | os.PathLike[str] | None = None,
    shm: str | os.PathLike[str] = "/dev/shm",
    proc: str | os.PathLike[str] = "/proc",
) -> Leftovers:
    """Find what a crashed lesson can leave behind, and nothing else.

    * shared memory segments named ``mpcourse_*`` that no live process has mapped;
    * multiprocessing's named semaphores (``sem.mp-*``) that no live process has
      mapped: nobody can use those any more;
    * orphaned processes (their parent is gone, so PID 1 adopted them) that the
      course started: they carry :data:`PROCESS_MARKER` in their environment, or
      run in the course's ``notebooks`` folder (``course_dir``), as every process a
      lesson's kernel starts does.
    """
    shm, proc = Path(shm), Path(proc)
    mapped = _mapped_shm_files(proc)
    entries = sorted(shm.iterdir()) if shm.is_dir() else []
    segments = tuple(p for p in entries if p.name.startswith(SEGMENT_PREFIX) and p.name not in mapped)
    semaphores = tuple(p for p in entries if p.name.startswith("sem.mp-") and p.name not in mapped)
    marker = f"{PROCESS_MARKER}=1".encode()
    folder = str(Path(course_dir).resolve()) if course_dir else None
    processes = []
    for pid_dir in proc.glob("[0-9]*"):
        info = _process_info(pid_dir)
        if info is None or int(pid_dir.name) == os.getpid():
            continue
        ppid, cmd, cwd, environ = info
        ours = marker in environ.split(b"\0") or (
            folder is not None and (cwd == folder or cwd.startswith(folder + os.sep))
        )
        if ppid == 1 and ours and "python" in cmd:
            processes.append((int(pid_dir.name), cmd))
    return Leftovers(segments, semaphores, tuple(sorted(processes)))


def reset(leftovers: Leftovers, grace: float = 3.0) -> None:
    """Stop the stray processes (SIGTERM, then SIGKILL after ``grace`` s) and remove the files."""
    for pid, _ in leftovers.processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid, _ in leftovers.processes:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for path in leftovers.segments + leftovers.semaphores:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _default_course_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.cleanup [--dry-run]``: remove the course's leftovers after a crash."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.cleanup",
        description="Remove what a crashed lesson left behind: the course's shared memory segments, orphaned "
        "multiprocessing semaphores, and orphaned worker processes started from the course. Touches nothing else.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=_default_course_dir(),
        help="the course's notebooks folder (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not Path("/proc").is_dir():
        print("nothing to do: this system has no /proc (macOS, Windows); restart the kernel instead")
        return 0
    found = find_leftovers(args.course_dir)
    print(
        ("would remove:\n" if args.dry_run and str(found) != "nothing left behind by the course" else "") + str(found)
    )
    if not args.dry_run and (found.segments or found.semaphores or found.processes):
        reset(found)
        print(
            f"removed {len(found.segments)} segment(s), {len(found.semaphores)} semaphore(s); "
            f"stopped {len(found.processes)} process(es)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
