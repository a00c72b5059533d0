"""Re-run lessons top to bottom in a fresh kernel and store their outputs (maintainer tool).

    python tests/execute_notebooks.py                       # every lesson
    python tests/execute_notebooks.py notebooks/01_*.ipynb  # some lessons

nbval compares what a lesson prints now with the outputs stored in the
notebook, so after editing a lesson run this, read the new outputs against
the prose, and commit them. It prints each lesson's Run All time. Volatile
metadata (execution timestamps) is not stored; the kernel is the default
``python3``, as a student's is.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path) -> float:
    """Execute one notebook in place; return the wall time of its run in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or LESSONS
    for path in paths:
        seconds = execute(path)
        print(f"{path.relative_to(ROOT)}: ran in {seconds:.1f} s (kernel start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
