"""helpers.deadline.run_with_deadline: nothing a demo starts can hang the kernel."""

from __future__ import annotations

import multiprocessing
import signal
import time

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
    slow = multiprocessing.Process(target=time.sleep, args=(60,), name="slow")
    start = time.monotonic()
    report = run_with_deadline([fast, slow], seconds=0.5)
    assert time.monotonic() - start < 5
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
