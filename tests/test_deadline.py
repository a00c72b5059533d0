"""helpers.deadline.run_with_deadline: nothing a demo starts can hang the kernel."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from helpers import deadline
from helpers.deadline import run_with_deadline


def ignore_sigterm_and_sleep(seconds: float, ready=None) -> None:
    """A child that ignores terminate(): only kill() ends it. Sets ``ready`` once it ignores SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if ready is not None:
        ready.set()
    time.sleep(seconds)


def test_processes_that_finish() -> None:
    ps = [multiprocessing.Process(target=time.sleep, args=(0.1,), name=f"nap{i}") for i in range(2)]
    report = run_with_deadline(ps, seconds=10)
    assert report.all_finished and report.overran == []
    assert report.exitcodes == {"nap0": 0, "nap1": 0}
    assert str(report) == "all 2 finished before the 10 s deadline; exit codes: nap0=0, nap1=0"


def test_overrunning_process_is_terminated_quickly() -> None:
    fast = multiprocessing.Process(target=time.sleep, args=(0,), name="fast")
    fast.start()  # and ended before the clock runs: under spawn on a busy machine, starting took more than 0.5 s
    fast.join()
    slow = multiprocessing.Process(target=time.sleep, args=(60,), name="slow")
    start = time.monotonic()
    report = run_with_deadline([fast, slow], seconds=0.5)
    assert time.monotonic() - start < 30, "terminated, not waited for (it would sleep 60 s)"
    assert not report.all_finished and report.overran == ["slow"]
    assert report.exitcodes["slow"] == -signal.SIGTERM and report.exitcodes["fast"] == 0
    assert not slow.is_alive()
    assert str(report) == "1 of 2 still running at the 0.5 s deadline and terminated: slow"


def test_process_that_ignores_terminate_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "TERMINATE_GRACE_SECONDS", 0.3)  # 2 s in the lessons; the logic is the same
    ready = multiprocessing.Event()
    stubborn = multiprocessing.Process(target=ignore_sigterm_and_sleep, args=(60, ready), name="stubborn")
    stubborn.start()
    assert ready.wait(60), "the child never started"  # a fixed sleep was too short on a loaded machine
    report = run_with_deadline([stubborn], seconds=0.1)
    assert report.exitcodes["stubborn"] == -signal.SIGKILL
    assert not stubborn.is_alive()


def set_after(seconds: float, ready) -> None:
    """A child slow to get ready: sets the Event ``ready`` after ``seconds``, then ends at once.

    ``os._exit`` skips the interpreter's shutdown, which took 0.7 s under spawn at a load average of 14.
    """
    time.sleep(seconds)
    ready.set()
    os._exit(0)


def wait_then_sleep(barrier, seconds: float) -> None:
    """A child that waits at ``barrier`` (with the parent), then sleeps."""
    barrier.wait()
    time.sleep(seconds)


def test_the_clock_starts_when_ready_is_set() -> None:
    ready = multiprocessing.Event()
    slow_starter = multiprocessing.Process(target=set_after, args=(1.5, ready), name="slow-starter")
    report = run_with_deadline([slow_starter], seconds=1, ready=ready)
    assert report.all_finished, "1.5 s to get ready, then it ended: within 1 s of the clock's start"


def test_the_clock_starts_when_the_barrier_is_passed() -> None:
    barrier = multiprocessing.Barrier(3)  # two children and the parent
    ps = [multiprocessing.Process(target=wait_then_sleep, args=(barrier, 0), name=f"w{i}") for i in range(2)]
    report = run_with_deadline(ps, seconds=10, ready=barrier)
    assert report.exitcodes == {"w0": 0, "w1": 0}, "nobody got BrokenBarrierError: the parent waited at the barrier"


@pytest.mark.parametrize("kind", ["Event", "Barrier"])
def test_a_process_that_ends_before_it_is_ready_ends_the_wait(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies at start-up never sets ``ready`` or reaches the barrier: the wait ends when it does,
    not after READY_SECONDS (which a notebook cell would sit out in silence); the surviving worker is released by
    the abort. READY_SECONDS is made 40 s here, so that a wait that ignored the dead process cannot pass."""
    monkeypatch.setattr(deadline, "READY_SECONDS", 40.0)
    ready = multiprocessing.Event() if kind == "Event" else multiprocessing.Barrier(3)
    quitter = multiprocessing.Process(target=os._exit, args=(3,), name="quitter")
    others = [] if kind == "Event" else [multiprocessing.Process(target=wait_then_sleep, args=(ready, 0), name="w")]
    started = time.monotonic()
    report = run_with_deadline([quitter, *others], seconds=30, ready=ready)
    assert time.monotonic() - started < 20, "the wait sat out READY_SECONDS after the quitter had ended"
    assert report.exitcodes["quitter"] == 3 and report.all_finished
    if others:
        assert report.exitcodes["w"] == 1, "the waiting worker got BrokenBarrierError from the abort and ended"


def test_ready_must_have_a_wait_method() -> None:
    p = multiprocessing.Process(target=time.sleep, args=(0,))
    with pytest.raises(TypeError, match="Event or a Barrier"):
        run_with_deadline([p], 1, ready=True)
    assert p.pid is None


def interrupt_when(ready: Callable[[], bool]) -> threading.Thread:
    """Press Ctrl-C (SIGINT to this process) from a helper thread once ``ready()`` is true."""

    def press() -> None:
        end = time.monotonic() + 60
        while not ready() and time.monotonic() < end:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=press, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("stage", ["join", "barrier"])
def test_interrupt_stops_the_processes_and_raises(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "TERMINATE_GRACE_SECONDS", 0.3)
    ready: Any
    if stage == "join":  # a child that is ready, then sleeps 60 s (ignoring SIGTERM) past the 30 s deadline
        ready = multiprocessing.Event()
        child = multiprocessing.Process(target=ignore_sigterm_and_sleep, args=(60, ready), name="sleeper")
        pressed = interrupt_when(ready.is_set)
    else:  # a child waiting at a barrier with the parent, which one more party would fill: it never does
        ready = multiprocessing.Barrier(3)
        child = multiprocessing.Process(target=wait_then_sleep, args=(ready, 0), name="waiter")
        pressed = interrupt_when(lambda: ready.n_waiting == 2)
    with pytest.raises(KeyboardInterrupt, match=r"interrupted; stopped 1 process\(es\)"):
        run_with_deadline([child], seconds=30, ready=ready)
    pressed.join()
    assert not child.is_alive() and child.exitcode is not None, "the child was stopped before the exception"


def test_a_single_process_is_accepted() -> None:
    p = multiprocessing.Process(target=time.sleep, args=(0,), name="one")
    assert run_with_deadline(p, 5).all_finished  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("processes", "seconds", "error", "message"),
    [
        ([], 1, TypeError, "non-empty list"),
        (["not a process"], 1, TypeError, "not a multiprocessing Process"),
        (None, 1, TypeError, "non-empty list"),
        ("proc", 1, TypeError, "not a multiprocessing Process"),
    ],
)
def test_bad_processes(processes, seconds, error, message) -> None:
    with pytest.raises(error, match=message):
        run_with_deadline(processes, seconds)


@pytest.mark.parametrize("seconds", [0, -1, "5", True, None])
def test_bad_seconds(seconds) -> None:
    p = multiprocessing.Process(target=time.sleep, args=(0,))
    with pytest.raises(ValueError, match="positive number of seconds"):
        run_with_deadline([p], seconds)
    assert p.pid is None, "nothing is started when the arguments are wrong"
