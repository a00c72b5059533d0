"""tests/kernels.py: what a lesson's child processes write reaches the cell, never the test run's terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from kernels import kernel

# A child that warns (as a wrong answer's worker does: RuntimeWarning from NumPy) and one that writes to its
# descriptors 1 and 2 directly, started with the run's start method (fork, spawn or forkserver).
NOISY_CHILDREN = """\
import multiprocessing, os, warnings
for target, args in [(warnings.warn, ("a child's warning", RuntimeWarning)), (os.write, (1, b"a child's stdout\\n")),
                     (os.write, (2, b"a child's stderr\\n"))]:
    child = multiprocessing.Process(target=target, args=args)
    child.start()
    child.join()
"""


def test_children_write_into_the_cell_and_not_onto_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    """The kernel is started while ``capfd`` holds this process's descriptors 1 and 2, as a kernel started between
    two tests holds the terminal's: what it echoes of its children would land there."""
    with kernel(shutdown_now=True) as k:
        cell = k.run(NOISY_CHILDREN)
        log = k.log
    assert "RuntimeWarning: a child's warning" in cell.stderr and "a child's stderr" in cell.stderr, cell.text
    assert "a child's stdout" in cell.stdout, cell.text
    seen = capfd.readouterr()
    assert "a child's" not in seen.out + seen.err, f"the terminal would show: {seen.out + seen.err}"
    assert "a child's stderr" in log, "the kernel's own echo of its children goes to its log instead"
