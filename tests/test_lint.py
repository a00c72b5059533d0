"""The code stays clean: ruff (lint and format, the lessons' cells included) and mypy on the helpers.

Both are configured in ``pyproject.toml`` and installed by ``requirements-dev.txt``. Without them (a student's
install from ``requirements.txt``) these tests are skipped; in CI (``CI=true``) a missing tool is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import background

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The tool's executable beside this Python (the venv's), or on PATH; skip or fail when it is missing."""
    found = background.executable(name)
    if found is None:
        message = f"{name} is not installed: python -m pip install -r requirements-dev.txt"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    done = run(tool("ruff"), "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_changes_nothing() -> None:
    done = run(tool("ruff"), "format", "--no-cache", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing_in_the_helpers() -> None:
    started = background.result("mypy")  # conftest.py started it at collection, to run beside the lessons
    if started is None:
        done = run(tool("mypy"))
        started = done.returncode, done.stdout + done.stderr
    returncode, output = started
    assert returncode == 0, output


def test_the_lint_test_can_fail(tmp_path: Path) -> None:
    """The commands above really check: a file with an unused import and a type error fails both."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x: int) -> str:\n    return x\n")
    assert run(tool("ruff"), "check", "--no-cache", "--isolated", "--select", "F", str(bad)).returncode == 1
    assert run(tool("mypy"), "--no-incremental", str(bad)).returncode == 1
