"""helpers.cleanup.release_all: the last error's traceback no longer keeps objects alive."""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref
from dataclasses import dataclass
from typing import Any

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


class FailsToFree:
    """Stands for a SharedMemory a NumPy view still uses, or a BytesIO a pickled buffer still uses: its finalizer
    raises, and Python would print "Exception ignored in ..." with a traceback under the Clean up cell."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.cycle = self  # freed by the garbage collector, inside release_all

    def __del__(self) -> None:
        raise self.error


def test_clean_up_prints_no_traceback_for_a_finalizer_that_fails(capsys: pytest.CaptureFixture[str]) -> None:
    FailsToFree(BufferError("cannot close exported pointers exist"))
    FailsToFree(ValueError("something else"))
    released = release_all()
    assert capsys.readouterr().err == "", "no 'Exception ignored' traceback"
    assert released.problems == ["while freeing an object: ValueError: something else"], "a BufferError is not one"


def test_clean_up_stops_a_pool_interrupted_while_it_started(capsys: pytest.CaptureFixture[str]) -> None:
    """Interrupt during Pool() leaves a pool without its handlers; Clean up said "could not terminate a pool:
    AttributeError '_terminate'" and a ✘ about join, although it was nothing to join."""
    import multiprocessing
    from multiprocessing.pool import Pool

    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    half_built = Pool.__new__(Pool)
    half_built._state = "INIT"
    half_built._pool = [worker]
    released = release_all()
    assert released.problems == [], str(released)
    assert "✔ terminated 1 process pool" in str(released)
    assert not worker.is_alive()
    del half_built


def test_dask_and_joblib_scratch_go_to_the_kernels_folder_and_clean_up_removes_it() -> None:
    """Lesson 06 left /tmp/dask-scratch-space behind: now Dask's scratch space is inside the kernel's scratch
    folder (its name carries the token), which Clean up removes."""
    from helpers.ownership import scratch_folder, token

    folder = scratch_folder()
    assert folder.name == f"mpcourse_{token()}"
    assert os.environ["DASK_TEMPORARY_DIRECTORY"] == str(folder) == os.environ["JOBLIB_TEMP_FOLDER"]
    (folder / "dask-scratch-space" / "worker-1").mkdir(parents=True)
    release_all()
    assert not folder.exists()


# ---------------------------------------------------------------- python -m helpers.cleanup

import json  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from helpers.crash import Leftovers, find_leftovers, main, reset  # noqa: E402
from helpers.ownership import TOKEN_VAR, Record, records, register_this_process  # noqa: E402

linux = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
as_root = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="chown to another user needs root")
NOBODY = 65534  # another user: files are given to it with os.chown, which needs root
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def kill(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_until(condition: Any, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def course_env(tmp_path: Path) -> dict[str, str]:
    """A process started as JupyterLab starts a kernel: no token of its own yet, its registry in tmp_path."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    env["TMPDIR"] = str(tmp_path)  # registry in tmp_path/mpcourse-UID, scratch in tmp_path/mpcourse_TOKEN
    return env


#: A course "kernel" (a process that imports helpers without a token: it owns a new one). It starts what a lesson
#: starts: a fork and a spawn worker, a script that imports helpers and runs a worker of its own (lesson 02's
#: endless script), a course segment and a Lock; then, with "crash", it is killed mid-cell (SIGKILL).
KERNEL = textwrap.dedent(
    """
    import multiprocessing, os, signal, subprocess, sys, time
    import helpers
    from multiprocessing import shared_memory
    fork_child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    spawn_child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    fork_child.start()
    spawn_child.start()
    script = subprocess.Popen([sys.executable, "-c", sys.argv[2]])
    segment = shared_memory.SharedMemory(create=True, size=4096)
    lock = multiprocessing.get_context("spawn").Lock()
    scratch = helpers.ownership.scratch_folder()
    scratch.mkdir()
    print(os.environ["MPCOURSE_TOKEN"], fork_child.pid, spawn_child.pid, script.pid, segment.name.lstrip("/"),
          "sem." + lock._semlock.name.lstrip("/"), flush=True)
    time.sleep(1.0)  # the script's worker starts
    if sys.argv[1] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)
    """
)
SCRIPT = textwrap.dedent(
    """
    import multiprocessing, time
    import helpers  # records this script as a member of the kernel's token, not as an owner
    if __name__ == "__main__":
        multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,)).start()
        while True:
            time.sleep(1)
    """
)
#: A subreaper (as `systemd --user` on a desktop, or a JupyterLab server's process tree) that starts the kernel.
SERVER = textwrap.dedent(
    """
    import ctypes, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans below come here, not to PID 1
    kernel = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], stdout=subprocess.PIPE,
                              text=True)
    print(kernel.pid, kernel.stdout.readline().strip(), flush=True)
    time.sleep(60)
    """
)


@dataclass
class Crash:
    server: subprocess.Popen[str]
    kernel: int
    token: str
    workers: list[int]  # fork child, spawn child, the script
    segment: str
    semaphore: str

    def all_pids(self) -> list[int]:
        return [self.kernel, *self.workers, *descendants(self.server.pid)]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            with contextlib.suppress(OSError):
                kids = [int(c) for c in (task / "children").read_text().split()]
                found += [kid for kid in kids if state(kid) not in ("Z", "gone")]
                todo += kids
    return found


def start_a_kernel(tmp_path: Path, how: str, cwd: Path | None = None) -> Crash:
    """A server (in ``cwd``, a subreaper) whose kernel starts a lesson's processes and resources; "crash" kills
    the kernel once they exist."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, KERNEL, how, SCRIPT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd or tmp_path,
        env=course_env(tmp_path),
    )
    assert server.stdout is not None
    kernel, token, *rest = server.stdout.readline().split()
    fork_child, spawn_child, script, segment, semaphore = rest
    crash = Crash(server, int(kernel), token, [int(fork_child), int(spawn_child), int(script)], segment, semaphore)
    if how == "crash":
        assert wait_until(lambda: state(crash.kernel) in ("Z", "gone")), "the kernel did not die"
    return crash


def stop(crash: Crash) -> None:
    kill(*crash.all_pids(), crash.server.pid)
    crash.server.communicate()
    for name in (crash.segment, crash.semaphore):
        with contextlib.suppress(FileNotFoundError):
            (Path("/dev/shm") / name).unlink()


@linux
@pytest.mark.deep
def test_a_crashed_kernels_workers_and_script_are_found_and_removed(tmp_path: Path) -> None:
    """The kernel's workers and the script it ran import helpers and record themselves: as members of the kernel's
    token, so when the kernel dies they are its leftovers (they used to record themselves as owners, and were
    skipped with everything under them: lesson 02's endless script, lesson 03's and 06's workers)."""
    crash = start_a_kernel(tmp_path, "crash")
    try:
        registry = tmp_path / f"mpcourse-owners-{os.getuid()}"
        assert wait_until(lambda: len(descendants(crash.server.pid)) >= 4), "the script's worker did not start"
        expected = set(descendants(crash.server.pid))
        for pid in crash.workers:
            assert ppid(pid) == crash.server.pid, "the orphans went to the subreaper"
        found = find_leftovers(registry=registry, tmp=tmp_path)
        assert expected <= found.pids, (expected - found.pids, str(found))
        assert crash.server.pid not in found.pids, "the server is not the kernel's"
        assert {crash.segment, crash.semaphore, f"mpcourse_{crash.token}"} <= found.names, str(found)
        assert all(crash.token in item.why or "kernel" in item.why for item in found.items)
        assert reset(found, registry=registry) == []
        assert not [pid for pid in expected if state(pid) not in ("Z", "gone")]
        assert not (Path("/dev/shm") / crash.segment).exists()
        assert not (Path("/dev/shm") / crash.semaphore).exists()
        assert not (tmp_path / f"mpcourse_{crash.token}").exists()
        assert not find_leftovers(registry=registry, tmp=tmp_path)
        assert crash.server.poll() is None, "the server still runs"
    finally:
        stop(crash)


@linux
def test_a_living_kernels_processes_are_left_alone(tmp_path: Path) -> None:
    crash = start_a_kernel(tmp_path, "live")
    try:
        registry = tmp_path / f"mpcourse-owners-{os.getuid()}"
        owners = [r for r in records(registry) if r.owner]
        assert [(r.pid, r.token) for r in owners] == [(crash.kernel, crash.token)]
        assert not find_leftovers(registry=registry, tmp=tmp_path)
    finally:
        stop(crash)


CRASH_AND_TOOL = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    import helpers  # a course kernel
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # carries the token
    shell = subprocess.Popen(["sh", "-c", sys.argv[1]], cwd=sys.argv[2])  # a terminal opened from the kernel
    print(worker.pid, shell.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@linux
# the dry run makes the same decision; --deep also acts on it
@pytest.mark.parametrize("dry_run", [True, pytest.param(False, marks=pytest.mark.deep)])
def test_the_tool_run_from_a_shell_in_notebooks_spares_the_shell_and_a_server_there(
    tmp_path: Path, dry_run: bool
) -> None:
    """Run from a shell in notebooks/ (even one that carries a dead kernel's token), beside a JupyterLab-like
    server started there: it stops the dead kernel's worker, and never the shell, the server or a stranger's job
    in notebooks/ (it used to kill the shell, exit -15, and list the server)."""
    output = tmp_path / "tool.out"
    tool = f"sleep 1; {sys.executable} -m helpers.cleanup {'--dry-run' if dry_run else ''} >{output} 2>&1; echo $?"
    server = subprocess.Popen(  # jupyter lab, started in notebooks/: not the course's
        [sys.executable, "-c", "import time; time.sleep(60)"], cwd=NOTEBOOKS, env=course_env(tmp_path)
    )
    stranger = subprocess.Popen(["sleep", "60"], cwd=NOTEBOOKS, env=course_env(tmp_path))  # a terminal job there
    kernel = subprocess.Popen(
        [sys.executable, "-c", CRASH_AND_TOOL, tool, str(NOTEBOOKS)],
        stdout=subprocess.PIPE,
        text=True,
        env=course_env(tmp_path),
        cwd=NOTEBOOKS,
    )
    assert kernel.stdout is not None
    worker, shell = (int(p) for p in kernel.stdout.readline().split())
    try:
        assert wait_until(lambda: state(shell) in ("Z", "gone"), 30), "the shell did not end"
        text = output.read_text()
        assert f"process {worker}:" in text, text
        for pid in (shell, server.pid, stranger.pid):
            assert f"process {pid}:" not in text, text
        assert server.poll() is None and stranger.poll() is None
        if not dry_run:
            assert state(worker) in ("Z", "gone")
    finally:
        kill(worker, shell, server.pid, stranger.pid)
        server.wait()
        stranger.wait()
        kernel.communicate()


@linux
def test_a_process_that_cannot_be_tied_to_a_dead_kernel_is_never_listed(tmp_path: Path) -> None:
    """A dead kernel's token in the registry, and an orphan without a record or that token (in notebooks/, as a
    student's own job would be): not the course's."""
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "999999999-1.json").write_text(json.dumps({"token": "deadbeef", "owner": True, "cmdline": "k"}))
    orphan = subprocess.run(
        ["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        env=course_env(tmp_path),
        cwd=NOTEBOOKS,
    )
    pid = int(orphan.stdout)
    try:
        found = find_leftovers(registry=registry, tmp=tmp_path)
        assert found.tokens == {"deadbeef"}
        assert pid not in found.pids
    finally:
        kill(pid)


@linux
@as_root
def test_only_this_users_unmapped_files_of_a_dead_kernel_count(tmp_path: Path) -> None:
    """On a shared server another user's live semaphores look orphaned (their maps cannot be read): never touch
    them; nor a file in use, nor one without a dead kernel's token."""
    shm = tmp_path / "shm"
    shm.mkdir()
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "999999999-1.json").write_text(json.dumps({"token": "deadbeef", "owner": True, "cmdline": "k"}))
    names = ["mpcourse_deadbeef_lost", "mpcourse_deadbeef_in_use", "psm_someone", "mpcourse_0badcafe_other"]
    names += ["sem.mp-deadbeef-lost", "sem.mp-deadbeef-theirs", "mpcourse_deadbeef_theirs", "sem.mp-old"]
    for name in names:
        (shm / name).write_bytes(b"\0" * 4096)
    for name in ("sem.mp-deadbeef-theirs", "mpcourse_deadbeef_theirs"):
        os.chown(shm / name, NOBODY, NOBODY)
    with open(shm / "mpcourse_deadbeef_in_use", "r+b") as f, mmap.mmap(f.fileno(), 4096):
        found = find_leftovers(shm=shm, registry=registry, tmp=tmp_path)
    assert sorted(found.names) == ["mpcourse_deadbeef_lost", "sem.mp-deadbeef-lost"]


def test_reset_reports_what_it_may_not_remove_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the user may not remove (EPERM, as in another user's sticky /dev/shm entry) is reported, not raised."""
    from helpers.crash import Leftover

    refused, removable = tmp_path / "sem.mp-deadbeef-refused", tmp_path / "mpcourse_deadbeef_removable"
    refused.write_text("")
    removable.write_text("")
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == refused:
            raise PermissionError(1, "Operation not permitted", str(self))
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    found = Leftovers([Leftover(k, p, None, None, "test") for k, p in (("segment", removable), ("semaphore", refused))])
    problems = reset(found, registry=tmp_path / "registry")
    assert problems == [f"could not remove {refused}: Operation not permitted"]
    assert not removable.exists(), "the rest is removed all the same"


@linux
def test_the_registry_keys_processes_by_pid_and_start_time(tmp_path: Path) -> None:
    """A record whose PID now belongs to another process (another start time) is not that process's; records of
    members that have ended are pruned."""
    me = Record(os.getpid(), 1, "deadbeef", owner=False)
    (tmp_path / me.file_name).write_text(json.dumps({"token": "deadbeef", "owner": False, "cmdline": "old"}))
    assert not me.running, "same PID, another start time: another process"
    register_this_process(tmp_path, owner=True)
    assert [(r.pid, r.running) for r in records(tmp_path)] == [(os.getpid(), True)]


def test_the_command_runs_without_a_warning(tmp_path: Path) -> None:
    """`python -m helpers.cleanup` used to print runpy's RuntimeWarning ("found in sys.modules after import of
    package 'helpers' ... unpredictable behaviour"): `import helpers` imported helpers.cleanup itself."""
    run = subprocess.run(
        [sys.executable, "-m", "helpers.cleanup", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=course_env(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", run.stderr
    assert run.stdout == "nothing left behind by a course kernel that has ended\n"


@linux
def test_main_lists_then_removes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--dry-run lists each thing with its reason and changes nothing; without it, the same is removed."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    registry = tmp_path / f"mpcourse-owners-{os.getuid()}"
    registry.mkdir()
    (registry / "999999999-1.json").write_text(json.dumps({"token": "deadbeef", "owner": True, "cmdline": "k"}))
    segment = Path("/dev/shm") / f"mpcourse_deadbeef_{os.getpid()}"
    segment.write_bytes(b"\0" * 64)
    try:
        assert main(["--dry-run"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("would stop or remove:") and f"segment {segment}: its name carries the token" in out
        assert segment.exists(), "a dry run removes nothing"
        assert main([]) == 0
        assert not segment.exists()
        assert records(registry) == [], "the dead kernel's records go once all it left is gone"
    finally:
        segment.unlink(missing_ok=True)


def test_a_dask_cluster_that_fails_its_own_close_is_still_shut_down() -> None:
    """A cluster interrupted while a worker was starting or leaving fails distributed's state check in close();
    its scheduler and loop are then closed by hand (its processes go with the stray children)."""
    pytest.importorskip("distributed")
    from distributed.core import Status

    from helpers.release import _close_dask_cluster

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


@linux
def test_a_dead_kernels_records_stay_while_a_process_carries_its_token(tmp_path: Path) -> None:
    """Records of a kernel that has ended are forgotten only once nothing of it is left: a worker that never
    imported helpers (no record of its own) still ties to it by the token in its environment."""
    from helpers.ownership import prune_finished_tokens

    (tmp_path / "999999999-1.json").write_text(json.dumps({"token": "deadbeef", "owner": True, "cmdline": "k"}))
    worker = subprocess.Popen(["sleep", "60"], env={**course_env(tmp_path), TOKEN_VAR: "deadbeef"})
    try:
        assert wait_until(lambda: Path(f"/proc/{worker.pid}/environ").read_bytes().count(b"deadbeef") == 1)
        prune_finished_tokens(tmp_path, shm=tmp_path / "no-shm")
        assert [r.token for r in records(tmp_path)] == ["deadbeef"]
    finally:
        worker.kill()
        worker.wait()
    prune_finished_tokens(tmp_path, shm=tmp_path / "no-shm")
    assert records(tmp_path) == [], "nothing left of it: forgotten"


#: What a Dask cluster interrupted while it started keeps in its event loop: out of the notebook's reach.
_OUT_OF_REACH: list[Any] = []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named semaphores live in /dev/shm on Linux")
def test_clean_up_unlinks_semaphores_that_objects_out_of_reach_hold() -> None:
    """CI's stop 30: lesson 06's LocalCluster interrupted 0.5 s in left its nannies' two spawn Queues alive in Dask's
    loop; their six semaphores outlived Clean up, and the killed kernel (and its tracker) left them in /dev/shm."""
    import multiprocessing

    queue = multiprocessing.get_context("spawn").Queue()
    _OUT_OF_REACH.append(queue)
    names = [lock._semlock.name for lock in (queue._rlock, queue._wlock, queue._sem)]
    assert all(Path("/dev/shm", f"sem.{n.lstrip('/')}").exists() for n in names)
    released = release_all()
    assert "✔ unlinked 3 named semaphores that objects out of reach still held" in str(released), str(released)
    assert not any(Path("/dev/shm", f"sem.{n.lstrip('/')}").exists() for n in names)
    assert queue._rlock.acquire(timeout=1), "the semaphore itself still works for whoever holds it"
    queue._rlock.release()
    assert release_all().problems == [], "nothing is unlinked twice"
    _OUT_OF_REACH.clear()


def _make_a_lock_and_die(names: Any) -> None:
    """A child that makes a named semaphore and is ended before it can remove it (no finalizer runs)."""
    import multiprocessing

    lock = multiprocessing.get_context("spawn").Lock()
    names.put(lock._semlock.name)
    time.sleep(0.2)  # the queue's feeder thread sends the name
    os._exit(0)


@pytest.mark.deep  # a spawn child: about 1 s of the quick suite's 90
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named semaphores live in /dev/shm on Linux")
def test_clean_up_unlinks_a_semaphore_an_ended_child_left() -> None:
    """Seen in two of three whole 3.15 suites: one `sem.mp-<token>-*` of a stop-anywhere kernel left after Clean up;
    only a child can have made it. A name with this process's token that no object here holds is removed; no other
    is touched."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    names = spawn.Queue()
    child = spawn.Process(target=_make_a_lock_and_die, args=(names,))
    child.start()
    name = names.get(timeout=30)
    child.join(30)
    left = Path("/dev/shm", f"sem.{name.lstrip('/')}")
    stranger = Path("/dev/shm", "sem.mp-00000000-not-ours")
    stranger.write_bytes(b"\0" * 32)
    try:
        assert left.exists(), "the child ended without removing its semaphore"
        released = str(release_all())
        assert "✔ unlinked 1 named semaphore that an ended child of this kernel had left" in released, released
        assert not left.exists() and stranger.exists()
    finally:
        stranger.unlink(missing_ok=True)


def _take_and_die(lock: Any) -> None:
    """A pool worker killed while it put a result: it holds the result queue's write lock, and ends."""
    lock.acquire()
    os._exit(0)


@pytest.mark.parametrize("lock", ["the result queue's write lock", "the task queue's read lock"])
def test_terminate_pool_does_not_hang_on_a_lock_a_dead_worker_held(lock: str) -> None:
    """Lesson 05's task measurement, interrupted: pool.terminate() ended a worker that was putting a result, and
    then joined the task handler, which waited forever for that worker's write lock (1 in 40 runs, under load).
    A worker killed while it waits for a task (an Interrupt reaches the kernel's workers too) keeps the task queue's
    read lock, which terminate() waits for, and the pool's new workers wait for it too."""
    import multiprocessing
    import signal
    import threading

    from helpers.release import terminate_pool

    pool = multiprocessing.Pool(2)
    pool.map(abs, range(4))  # both workers are up, and one of them holds the read lock while it waits for a task
    if "write" in lock:
        holder = multiprocessing.Process(target=_take_and_die, args=(pool._outqueue._wlock,))
        holder.start()
        holder.join()
    else:
        for worker in list(pool._pool):
            os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.5)  # the pool replaces them; the new ones wait for the lock the dead one kept
    ended = threading.Thread(target=lambda: (terminate_pool(pool), pool.join()), daemon=True)
    began = time.monotonic()
    ended.start()
    ended.join(20)
    assert not ended.is_alive(), "terminate_pool waited for a lock that a dead process held"
    assert time.monotonic() - began < 10
