"""Tests for ``python -m helpers.bench``: its table, its JSON, its errors, and a clean stop when interrupted."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.ownership import SEGMENT_PREFIX


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpers.bench", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_json_is_a_list_of_records_with_method_size_and_seconds() -> None:
    result = bench("--json", "--sizes", "1,2", "--repeats", "2", "--only", "handoff")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    handoff = {(r["method"], r["size_bytes"]) for r in records}
    assert {("pickle", 2**20), ("shared_memory", 2**20), ("pickle", 2**21), ("shared_memory", 2**21)} <= handoff
    assert all(r["seconds"] > 0 and r["measurement"] == "handoff" for r in records)


def test_the_table_names_the_machine_and_every_measurement() -> None:
    result = bench("--sizes", "1", "--repeats", "1", "--workers", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Machine: ") and "usable CPU" in out.splitlines()[0]
    for heading in ("Handing an array to a warm worker", "CPU-bound work on 1..2 warm workers", "Starting and joining"):
        assert heading in out
    assert "pickle / shared_memory" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "x"], "sizes are positive numbers of MiB"),
        (["--only", "magic"], "--only takes some of"),
        (["--repeats", "0"], "positive whole number"),
        (["--methods", "carrier-pigeon"], "--methods takes some of"),
    ],
)
def test_bad_options_are_refused_with_a_reason(args, message) -> None:
    result = bench(*args)
    assert result.returncode == 2 and message in result.stderr


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def mapped_course_segments(pid: int) -> set[str]:
    """The course's segments that process ``pid`` has mapped (another test run's segments are not among them)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return set(re.findall(r"/dev/shm/(" + SEGMENT_PREFIX + r"\w+)", maps))


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or not Path("/dev/shm").is_dir(), reason="reads /proc and /dev/shm (Linux)"
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_bench_leaves_no_worker_and_no_segment(sig) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpers.bench",
            "--sizes",
            "16",
            "--repeats",
            "100000",
            "--only",
            "handoff",
            "--methods",
            "shared_memory",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        segments: set[str] = set()
        while not segments and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)  # wait until it is timing the shared memory handoff
            segments = mapped_course_segments(proc.pid)
        assert segments, "the bench never created its shared memory segment"
        workers = children(proc.pid)
        assert workers, "the bench has a warm worker"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted: workers stopped and shared memory released" in err
    assert "Traceback" not in err, err
    assert not [name for name in segments if (Path("/dev/shm") / name).exists()], "a segment outlived the bench"
    # The pool worker, and the resource tracker (which exits once the bench's end closes its pipe).
    deadline = time.monotonic() + 10
    while [w for w in workers if alive(w)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)], "a child of the bench outlived it"


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_tasks_alone_are_records_of_routes_and_chunksizes_and_the_floor_sits_beside_the_handoff() -> None:
    result = bench("--json", "--only", "tasks,handoff", "--sizes", "1", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    tasks = [r for r in records if r["measurement"] == "tasks"]
    assert {(r["method"], r["chunksize"]) for r in tasks} >= {("Pool.map", None), ("ProcessPoolExecutor.map", 1)}
    assert all(r["messages"] >= 1 and 0 <= r["messaging_share"] <= 1 for r in tasks)
    assert any(r["measurement"] == "handoff" and r["method"] == "one_copy" for r in records)
    table = bench("--only", "tasks,handoff", "--sizes", "1", "--repeats", "1").stdout
    assert "pickle / one_copy" in table and "The share of the CPU time that went into messages" in table
    assert "a message costs about" in table
