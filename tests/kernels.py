"""Real Jupyter kernels for tests: start one, run cells in it (or interrupt them), read what they printed.

The kernel is the ``course-test`` kernel the conftest registers (the run's start method, child output
captured as in JupyterLab), started in ``notebooks/`` as a lesson's kernel is. Tests use it where the truth
depends on a kernel: ``%reset``, ``%load``, ``display``, Interrupt, what a student sees after a mistake.

The kernel's own stdout and stderr go to a log file, never to the test run's terminal. ipykernel copies
everything a child process writes to its file descriptors 1 and 2 (a worker's ``RuntimeWarning``, a traceback)
into the cell's output *and* echoes it to the kernel's own stdout or stderr. A kernel started from a thread
(``tests/test_exercises.py`` grades lessons three at a time) inherits whatever pytest's descriptors are at that
moment, often the terminal itself, so those echoes appeared among pytest's progress dots and looked like failures.
The cell's output, which the tests read, holds the same text; the log (``Kernel.log``) keeps the kernel's own
messages for a test that wants to say why a kernel died.
"""

from __future__ import annotations

import queue
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager, start_new_kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL_NAME = "course-test"


@dataclass
class CellRun:
    """What one cell printed: its streams, its displayed values, and its error (``"Name: value"``) if any."""

    stdout: str = ""
    stderr: str = ""
    results: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def text(self) -> str:
        """Everything the student sees, in one string."""
        return "\n".join([self.stdout, self.stderr, *self.results, self.error or ""])


#: Seconds after an Interrupt before a cell still running is interrupted again.
AGAIN_AFTER = 5.0


class Kernel:
    """One running kernel and a client to it."""

    def __init__(self, manager: KernelManager, client: Any, log: Path) -> None:
        self.manager, self.client, self.log_path = manager, client, log

    @property
    def log(self) -> str:
        """What the kernel process itself wrote to its stdout and stderr (with the echo of its children's output)."""
        return self.log_path.read_text(errors="replace")

    def run(self, code: str, timeout: float = 60.0, interrupt_after: float | None = None) -> CellRun:
        """Execute ``code`` as one cell; with ``interrupt_after``, press Interrupt that many seconds in, and again
        every ``AGAIN_AFTER`` seconds while the cell goes on, as a student would.

        Pressing again is sometimes needed: a cell waiting for a pool (``Pool.map``'s result, on a lock) went on
        after 3 of 100 interrupts of a pool whose workers die at start-up, and a second Interrupt ended it every
        time (4 of 4, over two such runs). (Interrupt sends SIGINT to the kernel process; a signal sent to a
        process may be delivered to any of its threads, signal(7), and only one delivered to the main thread wakes
        its wait.)
        """
        msg_id = self.client.execute(code, store_history=True)
        run = CellRun()
        deadline = time.monotonic() + timeout
        interrupt_at = None if interrupt_after is None else time.monotonic() + interrupt_after
        while True:
            if interrupt_at is not None and time.monotonic() >= interrupt_at:
                self.manager.interrupt_kernel()
                interrupt_at = time.monotonic() + AGAIN_AFTER
            wait = 0.05 if interrupt_at is not None else max(0.0, deadline - time.monotonic())
            if time.monotonic() > deadline:
                tail = "\n".join(self.log.splitlines()[-20:])
                message = f"the cell did not finish within {timeout} s:\n{code}\nthe kernel's own log ends:\n{tail}"
                raise TimeoutError(message)
            try:
                msg = self.client.get_iopub_msg(timeout=wait)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    run.stdout += content["text"]
                else:
                    run.stderr += content["text"]
            elif kind in ("execute_result", "display_data"):
                run.results.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                run.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return run

    @property
    def pid(self) -> int:
        """The kernel process's PID."""
        return int(self.manager.provisioner.pid)  # type: ignore[union-attr]

    def close(self, now: bool = False) -> None:
        """Shut the kernel down; ``now`` kills it instead of waiting for it to end its children politely."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=now)


@contextmanager
def kernel(cwd: Path = NOTEBOOKS, shutdown_now: bool = False) -> Iterator[Kernel]:
    """A fresh ``course-test`` kernel in ``cwd`` (``notebooks/``, where ``%load solutions/...`` resolves).

    ``shutdown_now`` kills it at the end (a second or more sooner), for tests that checked what it left
    before that; otherwise it shuts down as JupyterLab shuts a kernel down.
    """
    with tempfile.TemporaryDirectory(prefix="course-kernel-") as folder:
        log = Path(folder) / "kernel.log"
        with log.open("wb") as out:  # the kernel's own descriptors 1 and 2: see the module's docstring
            manager, client = start_new_kernel(
                kernel_name=KERNEL_NAME, cwd=str(cwd), startup_timeout=60, stdout=out, stderr=out
            )
        running = Kernel(manager, client, log)
        try:
            yield running
        finally:
            running.close(now=shutdown_now)
