"""Slow checks that need no test's help, started as soon as pytest knows it will run them.

mypy takes about 10 s on a fresh checkout (CI's case: no cache yet) and mostly waits on files, so it runs beside
the lessons instead of after them: ``conftest.py`` starts it at collection time when the test that reads it is
selected, ``tests/test_lint.py`` waits for its result, and the session's end stops it if it still runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_running: dict[str, subprocess.Popen[str]] = {}


def executable(name: str) -> str | None:
    """The tool beside this Python (the venv's), or on PATH, or None."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def start(name: str, *command: str) -> None:
    """Start ``command`` in the repository's root, once, its output kept for :func:`result`."""
    if name not in _running:
        _running[name] = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )


def result(name: str, timeout: float = 300) -> tuple[int, str] | None:
    """(exit code, output) of the command started as ``name``, waiting for it; None if it was never started."""
    process = _running.get(name)
    if process is None:
        return None
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def stop_all() -> None:
    """Kill and reap what still runs (a test deselected or interrupted before it read the result)."""
    for process in _running.values():
        if process.poll() is None:
            process.kill()
        process.communicate()
    _running.clear()
