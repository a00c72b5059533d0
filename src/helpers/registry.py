"""Which processes use the course: a record per process, kept so that ``python -m helpers.cleanup`` can tell the
course's leftovers after a crash from everything else this user runs (Linux only; it reads ``/proc``).

``import helpers`` records the process that imports it. This module is apart from :mod:`helpers.cleanup` so that
``python -m helpers.cleanup`` does not find its own module imported already (runpy warns then).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any


def registry_dir() -> Path:
    """Where processes that use the course record themselves: one folder per user, in the temporary folder."""
    return Path(tempfile.gettempdir()) / f"mpcourse-{os.getuid()}"


def start_time(pid: int | str) -> int | None:
    """When a process started (clock ticks since boot, from /proc), to tell it from a later one with its PID."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def read_cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def register_this_process(registry: Path | None = None) -> None:
    """Record that this process uses the course: its PID, start time and command line (Linux only).

    ``import helpers`` calls it in every kernel or script that is not itself a ``multiprocessing`` child, so
    that ``python -m helpers.cleanup`` can recognize the processes it leaves behind after a crash, even a
    ``fork`` child, which carries its parent's command line and nothing else of the course. Records of
    processes that have ended are pruned here. Never raises: the record is a convenience for the clean-up.
    """
    if not Path("/proc/self/stat").exists() or multiprocessing.parent_process() is not None:
        return
    folder = registry or registry_dir()
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, exist_ok=True)
        for entry in folder.glob("[0-9]*"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # a record in another format
                if start_time(entry.name) != json.loads(entry.read_text())["start"]:
                    entry.unlink()
        record = {"start": start_time("self"), "cmdline": read_cmdline(Path("/proc/self"))}
        (folder / str(os.getpid())).write_text(json.dumps(record))


def registered(registry: Path) -> dict[int, dict[str, Any]]:
    records = {}
    for entry in registry.glob("[0-9]*") if registry.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            records[int(entry.name)] = json.loads(entry.read_text())
    return records
