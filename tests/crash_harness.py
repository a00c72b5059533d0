"""Crash lessons and stop them anywhere, many times, in real kernels: a benchmark that prints counts, not a test.

Two modes, each over random scenarios in lessons 02-07 (07 only on Python 3.14+):

* ``crash``: run a lesson's cells up to a random one, start that one and ``kill -9`` the kernel a random moment
  into it; then run the crash tool (``helpers.crash``) on that kernel's token only, and check that nothing of the
  kernel is left: no process of its tree (this harness is a subreaper, so every orphan comes here), no
  ``/dev/shm`` name with its token, no scratch folder; and that a stranger (a job running in ``notebooks/``, and
  this harness with its shell) still runs.
* ``stop``: run a random subset of a lesson's cells up to a random one, interrupt that one a random moment in (or
  let it finish), then run the lesson's Clean up cell; count the Clean ups that printed a traceback, an "Exception
  ignored" or a ✘, and those after which a child of the kernel or a segment with its token was left.

    PYTHONPATH=src python tests/crash_harness.py crash --runs 20 --seed 1
    PYTHONPATH=src python tests/crash_harness.py stop --runs 30 --seed 1

(COURSE_START_METHOD=fork|spawn|forkserver chooses the kernels' start method, as for the tests.)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402  (the course-test kernelspec: the start method from COURSE_START_METHOD)
from helpers.crash import find_leftovers, reset  # noqa: E402
from helpers.ownership import environ_token, records, scratch_folder, start_time  # noqa: E402
from helpers.release import HELPER_PROCESSES  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
LESSONS = ["02_values_and_arrays", "03_races_and_locks", "04_shared_memory", "05_measuring", "06_patterns_that_scale"]
if sys.version_info >= (3, 14):
    LESSONS.append("07_past_processes")


#: Cells that start processes or create shared resources: the scenarios stop or crash in one of these.
ACTIVE = re.compile(
    r"Pool|Process|Executor|shared_array|SharedMemory|Manager|LocalCluster|Parallel|run_|measure|"
    r"compare|race|interpreters|start|Lock|Value|Array|Queue"
)


#: The cells where the issue saw leftovers survive the crash tool (lesson 02's endless script, lesson 03's workers
#: with their semaphores, lesson 06's workers with the 16 MiB segment or joblib's semaphores): half the scenarios.
HARD = (
    "slip = ",
    "run_until_lost(",
    "costs = {",
    "lesson = ExitStack()",
    "Parallel(",
    "LocalCluster(",
    "measure_speedup(",
)


def pick(rng: random.Random, cells: list[str]) -> int:
    """A cell to stop in: one the issue saw trouble in half the time, else one that starts something, mostly."""
    hard = [i for i, c in enumerate(cells) if i > 0 and any(piece in c for piece in HARD)]
    if hard and rng.random() < 0.5:
        return rng.choice(hard)
    active = [i for i, c in enumerate(cells) if i > 0 and ACTIVE.search(c)]
    return rng.choice(active) if active and rng.random() < 0.85 else rng.randrange(1, len(cells))


def code_cells(lesson: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


class Kernel:
    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name=conftest.KERNEL_NAME, cwd=str(NOTEBOOKS))
        self.pid = int(self.manager.provisioner.pid)  # type: ignore[union-attr]

    def run(self, code: str, timeout: float = 90, interrupt_after: float | None = None) -> tuple[str, str | None]:
        """Run a cell (Interrupt it after ``interrupt_after`` s, and again every 5 s); what it printed, its error."""
        msg_id = self.client.execute(code)
        text, error = "", None
        deadline = time.monotonic() + timeout
        interrupt_at = None if interrupt_after is None else time.monotonic() + interrupt_after
        while time.monotonic() < deadline:
            if interrupt_at is not None and time.monotonic() >= interrupt_at:
                self.manager.interrupt_kernel()
                interrupt_at = time.monotonic() + 5
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text += content["text"]
            elif kind in ("execute_result", "display_data"):
                text += content["data"].get("text/plain", "") + "\n"
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
                text += "\n".join(content.get("traceback", []))
            elif kind == "status" and content["execution_state"] == "idle":
                return text, error
        raise TimeoutError(code[:80])

    def start(self, code: str) -> None:
        self.client.execute(code)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def reap() -> None:
    """Reap the zombies that came to this subreaper."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if state(c) not in ("Z", "gone")]


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        found += kids
        todo += kids
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return ""


def token_of(k: Kernel) -> str:
    out, error = k.run("import os\nimport helpers\nprint(os.environ['MPCOURSE_TOKEN'])")
    assert error is None, error
    return out.strip()


def processes_with(token: str) -> list[int]:
    recorded = {(r.pid, r.start) for r in records() if r.token == token}
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        pid = int(d.name)
        if state(pid) in ("Z", "gone"):
            continue
        if (pid, start_time(pid)) in recorded or environ_token(pid) == token:
            found.append(pid)
    return found


def crash_once(rng: random.Random, lesson: str, strangers: list[int]) -> dict[str, Any]:
    cells = code_cells(lesson)[:-1]  # not the Clean up cell
    k = Kernel()
    token = token_of(k)
    at = pick(rng, cells)
    delay = rng.uniform(0.05, 1.5)
    for source in cells[:at]:
        k.run(source)
    k.start(cells[at])
    time.sleep(delay)
    tree = descendants(k.pid)
    os.kill(k.pid, signal.SIGKILL)
    k.client.stop_channels()
    time.sleep(0.3)
    reap()
    found = find_leftovers(only={token})
    problems = reset(found)
    time.sleep(0.5)
    reap()
    left_procs = [p for p in processes_with(token) if p != os.getpid()]
    # every orphan came to this subreaper: what is still a child here, but the strangers, was missed
    orphans = [p for p in children_of(os.getpid()) if p not in strangers]
    left_shm = [n for n in os.listdir("/dev/shm") if token in n]
    left_scratch = scratch_folder(token).exists()
    stranger_killed = [p for p in strangers if state(p) in ("Z", "gone")]
    k.manager.cleanup_resources()
    return {
        "lesson": lesson,
        "cell": at,
        "delay": round(delay, 2),
        "tree": len(tree),
        "stopped": len(found.pids),
        "removed": len(found.items) - len(found.pids),
        "left": left_procs + orphans,
        "left_cmd": [cmdline(p) for p in left_procs + orphans],
        "left_shm": left_shm,
        "left_scratch": left_scratch,
        "stranger_killed": stranger_killed,
        "problems": problems,
    }


BAD = ("Traceback", "Exception ignored", "✘", "Error")


def stop_once(rng: random.Random, lesson: str) -> dict[str, Any]:
    cells = code_cells(lesson)
    clean_up = cells[-1]
    k = Kernel()
    try:
        token = token_of(k)
        at = pick(rng, cells[:-1])
        chosen = [c for c in cells[:at] if rng.random() > 0.25]
        interrupt = rng.uniform(0.05, 2.0) if rng.random() < 0.7 else None
        for source in chosen:
            k.run(source)
        k.run(cells[at], interrupt_after=interrupt)
        text, error = k.run(clean_up)
        deadline = time.monotonic() + 10
        while (kids := [p for p in descendants(k.pid) if not HELPER_PROCESSES.search(cmdline(p))]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        left_shm = [n for n in os.listdir("/dev/shm") if token in n]
        bad = [word for word in BAD if word in text] or ([error] if error else [])
        return {
            "lesson": lesson,
            "cells": len(chosen) + 1,
            "stopped_in": at,
            "interrupt": None if interrupt is None else round(interrupt, 2),
            "bad": bad,
            "clean_up": text if bad else "",
            "kids": [cmdline(p) for p in kids],
            "left_shm": left_shm,
        }
    finally:
        k.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["crash", "stop"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lessons", nargs="*")
    args = parser.parse_args()
    args.lessons = args.lessons or (LESSONS if args.mode == "crash" else ["01_process_isolation", *LESSONS])
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: still stop the strangers below
    spec_folder = Path(tempfile.mkdtemp(prefix="course-jupyter-"))
    conftest.write_kernelspec(spec_folder)
    os.environ["JUPYTER_PATH"] = str(spec_folder)
    rng = random.Random(args.seed)
    strangers = []
    if args.mode == "crash":  # a terminal job in notebooks/ and a JupyterLab-like server there: never touched
        env = {k: v for k, v in os.environ.items() if k != "MPCOURSE_TOKEN"}
        strangers = [
            subprocess.Popen(["sleep", "3600"], cwd=NOTEBOOKS, env=env).pid,
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], cwd=NOTEBOOKS, env=env).pid,
        ]
    failures = 0
    try:
        for i in range(args.runs):
            lesson = args.lessons[i % len(args.lessons)]
            if args.mode == "crash":
                result = crash_once(rng, lesson, strangers)
                failed = bool(
                    result["left"] or result["left_shm"] or result["left_scratch"] or result["stranger_killed"]
                )
                failed |= bool(result["problems"])
            else:
                result = stop_once(rng, lesson)
                failed = bool(result["bad"] or result["kids"] or result["left_shm"])
            failures += failed
            print(("FAIL " if failed else "ok   ") + repr(result), flush=True)
    finally:
        for pid in strangers:
            os.kill(pid, signal.SIGKILL)
        reap()
        shutil.rmtree(spec_folder, ignore_errors=True)
    print(
        f"{args.mode}: {args.runs} scenarios, {failures} failed ({sys.version.split()[0]}, "
        f"start method {os.environ.get('COURSE_START_METHOD') or 'default'})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
