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


def execute(path: Path) -> tuple[float, float]:
    """Execute one notebook in place; return the seconds of its Run All and of the kernel's shutdown.

    Run All runs from the kernel's start to the last cell's output, which is what a student waits for.
    The shutdown is timed apart: ipykernel asks the kernel's children to stop and waits for them, and
    multiprocessing's resource tracker (started by any lesson that uses shared memory) ignores SIGTERM,
    so the shutdown of those kernels takes seconds without anything being left behind.
    """
    nb = nbformat.read(path, as_version=4)
    last_output = 0.0

    def cell_done(**_: object) -> None:
        nonlocal last_output
        last_output = time.perf_counter()

    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        on_cell_executed=cell_done,
    )
    start = time.perf_counter()
    client.execute()
    end = time.perf_counter()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return last_output - start, end - last_output


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or LESSONS
    for path in paths:
        run_all, shutdown = execute(path)
        where = path.relative_to(ROOT)
        print(f"{where}: Run All {run_all:.1f} s (kernel start to last output), kernel shutdown {shutdown:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
