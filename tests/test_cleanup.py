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

    with kernel(shutdown_now=True) as k:
        k.run("mine = 42")
        assert k.run("from helpers.cleanup import release_all\nrelease_all()").error is None
        gone = k.run("mine")
        assert gone.error == "NameError: name 'mine' is not defined", "the notebook's own names are deleted"
        assert "`mine` was deleted by this lesson's Clean up cell" in gone.text
        again = k.run("from helpers.cleanup import release_all\nrelease_all()")
        assert again.error is None, "a second Clean up (students run it again)"
        assert "`mine` was deleted by this lesson's Clean up cell" in k.run("mine").text, "the first's names count"
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

import json  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from multiprocessing import shared_memory  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from helpers.cleanup import (  # noqa: E402
    PROCESS_MARKER,
    Leftovers,
    course_segment_name,
    find_leftovers,
    main,
    reset,
)
from helpers.registry import register_this_process  # noqa: E402

linux = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
as_root = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="chown to another user needs root")
NOBODY = 65534  # another user: files are given to it with os.chown, which needs root


def kill(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


@linux
@as_root
def test_only_this_users_unmapped_course_files_count(tmp_path: Path) -> None:
    """On a shared server another user's live semaphores look orphaned (their maps cannot be read): never touch them."""
    shm = tmp_path / "shm"
    shm.mkdir()
    for name in ("mpcourse_lost", "mpcourse_in_use", "psm_someone", "sem.mp-lost", "sem.mp-theirs", "mpcourse_theirs"):
        (shm / name).write_bytes(b"\0" * 4096)
    for name in ("sem.mp-theirs", "mpcourse_theirs"):
        os.chown(shm / name, NOBODY, NOBODY)
    with open(shm / "mpcourse_in_use", "r+b") as f, mmap.mmap(f.fileno(), 4096):  # mapped by a live process: in use
        found = find_leftovers(shm=shm, registry=tmp_path / "registry")
    assert [p.name for p in found.segments] == ["mpcourse_lost"]
    assert [p.name for p in found.semaphores] == ["sem.mp-lost"]


def test_reset_reports_what_it_may_not_remove_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the user may not remove (EPERM, as in another user's sticky /dev/shm entry) is reported, not raised."""
    refused, removable = tmp_path / "sem.mp-refused", tmp_path / "mpcourse_removable"
    refused.write_text("")
    removable.write_text("")
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == refused:
            raise PermissionError(1, "Operation not permitted", str(self))
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    problems = reset(Leftovers((removable,), (refused,), ()))
    assert problems == [f"could not remove {refused}: Operation not permitted"]
    assert not removable.exists(), "the rest is removed all the same"


KERNEL = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    import helpers  # registers this process, as a kernel's first import of the course does
    fork_child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    spawn_child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    fork_child.start()
    spawn_child.start()
    print(fork_child.pid, spawn_child.pid, flush=True)
    if sys.argv[1] == "crash":
        os._exit(0)  # the kernel dies and leaves its children
    time.sleep(60)
    """
)
REAPER = textwrap.dedent(
    """
    import ctypes, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans below come here, not to PID 1
    kernel = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, text=True)
    print(kernel.pid, kernel.stdout.readline().strip(), flush=True)
    time.sleep(60)
    """
)


def start_kernel_under_a_subreaper(tmp_path: Path, how: str) -> tuple[subprocess.Popen[str], list[int]]:
    """A subreaper (as `systemd --user` is on a desktop) whose child is a course 'kernel' in a folder outside
    notebooks/, with one fork and one spawn child; returns the subreaper and [kernel, fork child, spawn child]."""
    env = {k: v for k, v in os.environ.items() if k != PROCESS_MARKER}  # only the kernel's import sets it
    env["TMPDIR"] = str(tmp_path)  # its registry record goes to tmp_path/mpcourse-UID
    reaper = subprocess.Popen(
        [sys.executable, "-c", REAPER, KERNEL, how], stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    )
    assert reaper.stdout is not None
    pids = [int(p) for p in reaper.stdout.readline().split()]
    assert len(pids) == 3, "the kernel did not start its children"
    return reaper, pids


@linux
def test_orphans_of_a_crashed_kernel_are_found_under_a_subreaper_and_outside_the_course_folder(tmp_path: Path) -> None:
    reaper, (kernel, fork_child, spawn_child) = start_kernel_under_a_subreaper(tmp_path, "crash")
    try:
        deadline = time.monotonic() + 10
        while state(kernel) not in ("Z", "gone") and time.monotonic() < deadline:  # the subreaper never reaps it
            time.sleep(0.05)
        for child in (fork_child, spawn_child):
            assert ppid(child) == reaper.pid, "the orphans went to the subreaper, not to PID 1"
        registry = tmp_path / f"mpcourse-{os.getuid()}"
        found = {pid for pid, _ in find_leftovers(course_dir=None, registry=registry).processes}
        assert {fork_child, spawn_child} <= found, "the fork child has no marker; its command line is the kernel's"
        assert reaper.pid not in found, "the subreaper is not the course's"
        assert reset(Leftovers((), (), tuple((pid, "") for pid in (fork_child, spawn_child)))) == []
    finally:
        kill(fork_child, spawn_child, reaper.pid)
        reaper.wait()


@linux
def test_children_of_a_living_kernel_are_left_alone(tmp_path: Path) -> None:
    reaper, (kernel, fork_child, spawn_child) = start_kernel_under_a_subreaper(tmp_path, "live")
    try:
        registry = tmp_path / f"mpcourse-{os.getuid()}"
        assert json.loads((registry / str(kernel)).read_text())["cmdline"].startswith(sys.executable)
        found = {pid for pid, _ in find_leftovers(registry=registry).processes}
        assert not {kernel, fork_child, spawn_child} & found
    finally:
        kill(kernel, fork_child, spawn_child, reaper.pid)
        reaper.wait()


@linux
def test_the_registry_keeps_only_living_processes(tmp_path: Path) -> None:
    (tmp_path / "999999999").write_text(json.dumps({"start": 1, "cmdline": "gone"}))
    register_this_process(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [str(os.getpid())]


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@linux
def test_a_process_in_the_course_folder_counts_as_the_courses(tmp_path: Path) -> None:
    """Without a marker or a record, a process whose folder is the course's notebooks/ is the course's."""
    orphan = subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(60)' >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != PROCESS_MARKER},
        cwd=tmp_path,
    )
    pid = int(orphan.stdout)
    try:
        time.sleep(0.2)
        found = {p for p, _ in find_leftovers(course_dir=tmp_path, registry=tmp_path / "none").processes}
        elsewhere = {p for p, _ in find_leftovers(course_dir=tmp_path / "x", registry=tmp_path / "none").processes}
        assert pid in found and pid not in elsewhere
    finally:
        kill(pid)


@linux
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


def test_the_command_runs_without_a_warning(tmp_path: Path) -> None:
    """`python -m helpers.cleanup` used to print runpy's RuntimeWarning ("found in sys.modules after import of
    package 'helpers' ... unpredictable behaviour"): `import helpers` imported helpers.cleanup itself."""
    run = subprocess.run(
        [sys.executable, "-m", "helpers.cleanup", "--dry-run", "--course-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", run.stderr


def test_a_dask_cluster_that_fails_its_own_close_is_still_shut_down() -> None:
    """A cluster interrupted while a worker was starting or leaving fails distributed's state check in close();
    its scheduler and loop are then closed by hand (its processes go with the stray children)."""
    pytest.importorskip("distributed")
    from distributed.core import Status

    from helpers.cleanup import _close_dask_cluster

    calls: list[str] = []

    class HalfStopped:
        status = Status.closing

        def close(self) -> None:
            raise AssertionError(Status.closing_gracefully)

        def sync(self, func: object, callback_timeout: float) -> None:
            calls.append(f"sync {func}")

        class _loop_runner:  # the attribute's real name
            @staticmethod
            def stop() -> None:
                calls.append("loop stopped")

        scheduler = type("Scheduler", (), {"close": "scheduler.close"})()

    cluster = HalfStopped()
    _close_dask_cluster(cluster)
    assert cluster.status == Status.closed
    assert calls == ["sync scheduler.close", "loop stopped"]


SEMAPHORE_OWNER = textwrap.dedent(
    """
    import multiprocessing, sys, time
    value = multiprocessing.get_context("spawn").Value("i", 0)
    print(value.get_lock()._semlock.name, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named semaphores live in /dev/shm on Linux")
@pytest.mark.parametrize("killed", ["alone", "with its process group"])
def test_a_dead_owners_semaphore_stays_only_when_its_tracker_dies_too(killed: str) -> None:
    """The module docstring says so: a process killed alone has its named semaphores removed by its resource
    tracker; killed with its process group (as Jupyter kills a kernel that does not stop in time), the tracker
    dies too and they stay, for ``python -m helpers.cleanup``. Measured on 3.11 and 3.14: gone 1.5 s after a lone
    SIGKILL, still there after ``os.killpg``."""
    owner = subprocess.Popen(
        [sys.executable, "-c", SEMAPHORE_OWNER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert owner.stdout is not None
        path = Path("/dev/shm") / ("sem." + owner.stdout.readline().strip().lstrip("/"))
        assert path.exists()
        if killed == "alone":
            owner.kill()
        else:
            os.killpg(owner.pid, 9)
        owner.wait(10)
        deadline = time.monotonic() + 10
        while killed == "alone" and path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if killed != "alone":
            time.sleep(1.0)  # what a surviving tracker would need to remove it
        assert path.exists() == (killed != "alone")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(owner.pid, 9)
        owner.wait(10)
        with contextlib.suppress(NameError, FileNotFoundError):
            path.unlink()
