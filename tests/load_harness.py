"""Load harness: run lessons again and again beside busy loops, and count what came out different (a benchmark).

    python tests/load_harness.py notebooks/03_races_and_locks.ipynb --loads 0,2 --runs 10
    python tests/load_harness.py notebooks/06_patterns_that_scale.ipynb --loads 2 --runs 1 --interrupt

A stored claim that rests on a timing must hold on a busy machine (DESIGN.md, "Claims that survive load"); this is
how the course measures that, outside the test suite (it prints counts, it asserts nothing; pytest does not collect
it). Each run of a lesson is a fresh ``course-test`` kernel (the one ``conftest.py`` writes: the start method from
``COURSE_START_METHOD``, children's output captured as in JupyterLab) that runs the lesson's code cells in order,
as nbval does. Every cell's output is compared with the stored one after the sanitizers of
``tests/nbval_sanitize.cfg``, as strict nbval compares them. ``--loads 0,1,2`` runs all of that with 0, then 1,
then 2 busy loops (``python -c "while True: pass"``) beside it. For each lesson and load it prints how many runs
matched, each line that differed (``-`` stored, ``+`` this run) with the number of runs it differed in, and the
slowest cell.

``--interrupt`` instead presses Interrupt at a random moment in every cell that took 0.5 s or more in a first,
uninterrupted run: for each such cell, a fresh kernel runs the cells before it, then the cell, interrupted (and
interrupted again every ``kernels.AGAIN_AFTER`` s while it goes on), then the Clean up cell (the lesson's last). It
prints how long each cell went on after the first Interrupt, how many Interrupts it took, and what Clean up left:
children of the kernel (but multiprocessing's resource tracker and fork server) and new names in ``/dev/shm``
(which, on a machine shared with other test runs, may be theirs: rerun alone to be sure).

Kernels inherit the environment: run it with ``PYTHONPATH=src`` where the editable install points elsewhere.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import leftovers  # noqa: E402
from kernels import CellRun, Kernel, kernel  # noqa: E402

from conftest import write_kernelspec  # noqa: E402

SANITIZERS = re.findall(r"^regex: (.*)$\n^replace: (.*)$", (ROOT / "tests/nbval_sanitize.cfg").read_text(), re.M)
#: Cells that took at least this long in an uninterrupted run are interrupted by ``--interrupt``.
SLOW_CELL = 0.5
#: A cell still running after this many seconds ends its run (nbval's --nbval-cell-timeout is 60 s).
CELL_TIMEOUT = 60.0


def sanitize(text: str) -> str:
    for regex, replace in SANITIZERS:
        text = re.sub(regex, replace, text)
    return text


def stored(cell: Any) -> CellRun:
    """A code cell's stored outputs in the shape :meth:`kernels.Kernel.run` gives them (streams joined)."""
    run = CellRun()
    for out in cell.outputs:
        if out.output_type == "stream":
            if out.name == "stdout":
                run.stdout += out.text
            else:
                run.stderr += out.text
        elif out.output_type in ("execute_result", "display_data"):
            run.results.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            run.error = f"{out.ename}: {out.evalue}"
    return run


def differences(cell: Any, got: CellRun) -> list[str]:
    """The lines in which ``got`` differs from the cell's stored outputs, after the sanitizers."""
    want = stored(cell)
    lines = []
    for name in ("stdout", "stderr", "results", "error"):
        a, b = getattr(want, name), getattr(got, name)
        a, b = (
            sanitize("\n".join(a) if isinstance(a, list) else a or ""),
            sanitize("\n".join(b) if isinstance(b, list) else b or ""),
        )
        if a != b:
            diff = difflib.ndiff(a.splitlines(), b.splitlines())
            lines += [f"[{name}] {d}" for d in diff if d[:2] in ("- ", "+ ")]
    return lines


def code_cells(path: Path) -> list[Any]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def first_line(cell: Any) -> str:
    return next((line for line in cell.source.splitlines() if line.strip()), "")[:70]


@contextmanager
def busy_loops(n: int) -> Iterator[None]:
    """``n`` processes that spin on a CPU until the block ends."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


def run_lesson(path: Path) -> tuple[list[str], list[float]]:
    """One run in a fresh kernel: the differing lines (``code cell N: ...``) and each code cell's seconds."""
    diffs: list[str] = []
    seconds: list[float] = []
    with kernel() as k:
        for i, cell in enumerate(code_cells(path)):
            start = time.perf_counter()
            try:
                got = k.run(cell.source, timeout=CELL_TIMEOUT)
            except Exception as error:  # the cell timed out, the kernel died: the rest of the run would tell nothing
                seconds.append(time.perf_counter() - start)
                return [
                    *diffs,
                    f"code cell {i}: [harness] {type(error).__name__}: {str(error).splitlines()[0]}",
                ], seconds
            seconds.append(time.perf_counter() - start)
            diffs += [f"code cell {i}: {line}" for line in differences(cell, got)]
    return diffs, seconds


def compare(path: Path, runs: int) -> list[float]:
    """Run ``path`` ``runs`` times; print the counts; return the cells' seconds of the first run."""
    matched, lines, slowest, first = 0, Counter[str](), (0.0, 0), []
    for r in range(runs):
        diffs, seconds = run_lesson(path)
        first = first or seconds
        matched += not diffs
        lines.update(set(diffs))
        slow = max(range(len(seconds)), key=seconds.__getitem__)
        slowest = max(slowest, (seconds[slow], slow))
        print(
            f"    run {r + 1}: {'matched' if not diffs else f'{len(diffs)} lines differ'}, "
            f"Run All {sum(seconds):.1f} s",
            flush=True,
        )
        for line in diffs[:3]:  # the first is usually the cause; an interrupted harness still shows it
            print(f"      {line}", flush=True)
    cells = code_cells(path)
    print(f"  {path.name}: {matched} of {runs} runs matched the stored outputs")
    for line, n in sorted(lines.items(), key=lambda item: (int(item[0].split()[2].rstrip(":")), -item[1])):
        print(f"    {n} of {runs}: {line}")
    print(f"  slowest cell: {slowest[0]:.1f} s, code cell {slowest[1]} ({first_line(cells[slowest[1]])})")
    return first


def interrupt(path: Path, seconds: list[float]) -> None:
    """Interrupt every cell of ``path`` that took :data:`SLOW_CELL` s or more; print what each did after it."""
    cells = code_cells(path)
    clean_up = cells[-1]
    for i, cell in enumerate(cells[:-1]):
        if seconds[i] < SLOW_CELL:
            continue
        at = random.uniform(0.05, seconds[i])
        shm_before = leftovers.shm_names()
        with kernel(shutdown_now=True) as k:
            for before in cells[:i]:
                k.run(before.source, timeout=CELL_TIMEOUT)
            got, pressed, went_on = interrupted(k, cell.source, at)
            released = k.run(clean_up.source, timeout=CELL_TIMEOUT)
            kids = children(k)
        time.sleep(1)
        left = sorted(leftovers.shm_names() - shm_before)
        ended = "ended by itself first" if pressed == 0 else f"went on {went_on:.2f} s after the first Interrupt"
        print(
            f"  code cell {i} ({first_line(cell)}), {seconds[i]:.1f} s, Interrupt at {at:.2f} s: {ended}, "
            f"{pressed} Interrupt(s); error: {got.error or 'none'}"
        )
        if released.error or "✘" in released.text or kids or left:
            print(f"    Clean up: error {released.error}; children alive {kids}; new in /dev/shm {left}")
        else:
            print("    Clean up left nothing (no child alive, nothing new in /dev/shm)")


def interrupted(k: Kernel, code: str, at: float) -> tuple[CellRun, int, float]:
    """Run ``code``, pressing Interrupt ``at`` s in and again every ``kernels.AGAIN_AFTER`` s: (what it printed,
    Interrupts pressed, seconds from the first to the cell's end)."""
    presses: list[float] = []
    manager = k.manager
    press = manager.interrupt_kernel

    def counted() -> None:
        presses.append(time.monotonic())
        press()

    manager.interrupt_kernel = counted  # type: ignore[method-assign]
    try:
        got = k.run(code, timeout=CELL_TIMEOUT, interrupt_after=at)
    finally:
        manager.interrupt_kernel = press  # type: ignore[method-assign]
    return got, len(presses), (time.monotonic() - presses[0]) if presses else 0.0


def children(k: Kernel, wait: float = 5.0) -> dict[int, str]:
    """The kernel's children still alive after up to ``wait`` s, but its resource tracker and fork server."""
    deadline = time.monotonic() + wait
    while (kids := leftovers.descendants(k.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return kids


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="+", type=Path)
    parser.add_argument("--loads", default="0", help="busy loops beside the lessons, e.g. 0,1,2 (default 0)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each lesson at each load (default 5)")
    parser.add_argument("--interrupt", action="store_true", help="interrupt each slow cell; see the docstring")
    args = parser.parse_args(argv)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background: kernels would inherit it
        signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="course-jupyter-") as folder:
        write_kernelspec(Path(folder))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [folder, os.environ.get("JUPYTER_PATH")]))
        print(
            f"Python {sys.version.split()[0]}, start method {os.environ.get('COURSE_START_METHOD', 'default')}, "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        for load in [int(n) for n in args.loads.split(",")]:
            with busy_loops(load):
                for path in args.lessons:
                    print(f"{path.name} with {load} busy loop(s):", flush=True)
                    seconds = compare(path.resolve(), 1 if args.interrupt else args.runs)
                    if args.interrupt:
                        for _ in range(args.runs):
                            interrupt(path.resolve(), seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
