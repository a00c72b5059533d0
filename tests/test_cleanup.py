"""helpers.cleanup.release_all: the last error's traceback no longer keeps objects alive."""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref

from helpers.cleanup import release_all


class Resource:
    """Stands for a Pool or a shared Value held by a failed call's frame."""


def fail_holding(resource: Resource) -> None:
    raise RuntimeError("boom")


def test_release_all_drops_the_last_error_and_what_its_frames_held() -> None:
    resource = Resource()
    alive = weakref.ref(resource)
    try:
        fail_holding(resource)
    except RuntimeError:
        sys.last_type, sys.last_value, sys.last_traceback = sys.exc_info()
    del resource
    gc.collect()
    assert alive() is not None, "the traceback keeps the object alive"
    release_all()
    assert alive() is None
    assert sys.last_value is None


def test_release_all_in_a_kernel_keeps_what_spawn_needs() -> None:
    """After the Clean up cell a lesson's cells can run again under every start method (the race explorer, an
    exercise): %reset alone also deletes __main__.__spec__, and spawn and forkserver then fail to start anything."""
    from kernels import kernel

    with kernel() as k:
        k.run("mine = 42")
        assert k.run("from helpers.cleanup import release_all\nrelease_all()").error is None
        gone = k.run("mine")
        assert gone.error == "NameError: name 'mine' is not defined", "the notebook's own names are deleted"
        started = k.run(
            "import multiprocessing\n"
            "for method in ('spawn', 'forkserver'):\n"
            "    p = multiprocessing.get_context(method).Process(target=abs, args=(-1,))\n"
            "    p.start(); p.join(30); print(method, p.exitcode)"
        )
        assert started.error is None, started.error
        assert started.stdout.split() == ["spawn", "0", "forkserver", "0"]


def test_release_all_closes_figures() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure()
    release_all()
    assert plt.get_fignums() == []


# ---------------------------------------------------------------- python -m helpers.cleanup

import _multiprocessing  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from multiprocessing import shared_memory  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from helpers.cleanup import PROCESS_MARKER, course_segment_name, find_leftovers, main, reset  # noqa: E402

pytestmark_linux = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and /dev/shm")


def orphan(tmp_path: Path, marked: bool) -> int:
    """Start a sleeping Python whose parent exits at once; return its PID."""
    env = {k: v for k, v in os.environ.items() if k != PROCESS_MARKER}
    if marked:
        env[PROCESS_MARKER] = "1"
    shell = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(60)' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    pid = int(shell.stdout)
    time.sleep(0.3)
    return pid


def ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytestmark_linux
def test_reset_removes_the_course_leftovers_and_nothing_else(tmp_path: Path) -> None:
    ours = shared_memory.SharedMemory(name=course_segment_name(), create=True, size=4096)
    in_use = shared_memory.SharedMemory(name=course_segment_name(), create=True, size=4096)
    other = shared_memory.SharedMemory(create=True, size=4096)  # another program's segment
    ours.close()
    other.close()
    sem_name = "mp-coursetest" + os.urandom(3).hex()
    _multiprocessing.SemLock(1, 1, 1, "/" + sem_name, False)  # created, then closed, never unlinked: orphaned
    course, elsewhere = tmp_path / "course", tmp_path / "elsewhere"
    course.mkdir()
    elsewhere.mkdir()
    stray, bystander = orphan(elsewhere, marked=True), orphan(elsewhere, marked=False)
    course_dir_stray = orphan(course, marked=False)
    try:
        if ppid(stray) != 1:
            pytest.skip("orphans are not adopted by PID 1 here (a subreaper is running)")
        found = find_leftovers(course_dir=course)
        names = {p.name for p in found.segments}
        assert ours.name.lstrip("/") in names
        assert in_use.name.lstrip("/") not in names, "a segment still mapped is in use"
        assert other.name.lstrip("/") not in names, "other programs' segments are not ours"
        assert f"sem.{sem_name}" in {p.name for p in found.semaphores}
        pids = {pid for pid, _ in found.processes}
        assert stray in pids and course_dir_stray in pids and bystander not in pids
        reset(found)
        assert not Path(f"/proc/{stray}").exists() or Path(f"/proc/{stray}/stat").read_text().split()[2] == "Z"
        assert not (Path("/dev/shm") / ours.name.lstrip("/")).exists()
        assert (Path("/dev/shm") / other.name.lstrip("/")).exists()
        assert Path(f"/proc/{bystander}").exists()
    finally:
        for pid in (stray, bystander, course_dir_stray):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for segment in (in_use, other):
            segment.close()
            segment.unlink()
        with contextlib.suppress(FileNotFoundError):
            (Path("/dev/shm") / f"sem.{sem_name}").unlink()
        with contextlib.suppress(FileNotFoundError):
            ours.unlink()


@pytestmark_linux
def test_reset_command_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    segment = shared_memory.SharedMemory(name=course_segment_name(), create=True, size=4096)
    segment.close()
    try:
        assert main(["--dry-run", "--course-dir", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("would remove:") and segment.name.lstrip("/") in out
        assert (Path("/dev/shm") / segment.name.lstrip("/")).exists(), "a dry run removes nothing"
        assert main(["--course-dir", str(tmp_path)]) == 0
        assert not (Path("/dev/shm") / segment.name.lstrip("/")).exists()
    finally:
        with contextlib.suppress(FileNotFoundError):
            segment.unlink()
