"""Release what a lesson created, so nothing outlives it: in the kernel, and after a crash.

Two tools, for two moments:

* :func:`release_all` is every lesson's **Clean up** cell. It works from any point of a lesson, after any
  subset of its cells or an interrupted one: it stops what is still running (pools, executors, processes,
  managers, Dask clusters, joblib's workers), closes and unlinks the shared memory the notebook holds,
  deletes the notebook's variables, and says what it released.
* ``python -m helpers.cleanup`` (:func:`main`) is for after a **crash**, from a terminal: it finds what a dead
  kernel left behind (the course's segments, orphaned semaphores, orphaned worker processes) and removes it,
  only what belongs to the user who runs it.

Why it matters: a ``Value``, ``Array``, ``Lock``, ``Queue`` or ``Pool`` created under ``spawn`` or
``forkserver`` owns named semaphores (``/dev/shm/sem.mp-*`` on Linux), removed when the Python object is
garbage-collected or when its process exits normally (Kernel > Restart of a kernel that obeys shuts it down
normally). A kernel that dies alone (a crash, SIGKILL to its PID) has them removed by its resource tracker,
which warns of a "leaked semaphore". They stay only when the tracker dies too: Jupyter kills a kernel that does
not shut down in time with its whole process group (``os.killpg``), tracker included. A shared memory segment
lives until someone unlinks it: its creator, that creator's tracker, or this module.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.managers import BaseManager
from multiprocessing.pool import Pool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from helpers import PROCESS_MARKER
from helpers.registry import alive, read_cmdline, registered, registry_dir, start_time

__all__ = [
    "HELPER_PROCESSES",
    "SEGMENT_PREFIX",
    "Leftovers",
    "Released",
    "course_segment_name",
    "find_leftovers",
    "release_all",
    "reset",
    "unlink_segment",
]

#: Shared memory segments and scratch folders the course creates are named with this prefix (see
#: :func:`course_segment_name`), so that the clean-up can tell them from other programs'.
SEGMENT_PREFIX = "mpcourse_"
#: Attributes every module has, which the kernel's ``__main__`` must keep through :func:`release_all`.
MODULE_ATTRIBUTES = frozenset({"__doc__", "__loader__", "__name__", "__package__", "__spec__"})
#: How long a process that was asked to stop gets before it is killed.
GRACE_SECONDS = 3.0


def course_segment_name() -> str:
    """A fresh name for a shared memory segment of the course (``mpcourse_`` + 12 hex digits)."""
    return SEGMENT_PREFIX + secrets.token_hex(6)


# ---------------------------------------------------------------- the Clean up cell


@dataclass
class Released:
    """What :func:`release_all` released, by kind; shown as a few lines in the notebook."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n

    def __str__(self) -> str:
        lines = ["Clean up:"]
        lines += [f"✔ {_plural(n, what)}" for what, n in self.counts.items()]
        lines.append("✔ deleted the notebook's variables (their Values, Arrays, Locks and Queues go with them)")
        lines += [f"✘ {problem}" for problem in self.problems]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


def _plural(n: int, what: str) -> str:
    """``"stopped 2 process pools"`` from ``(2, "stopped {} process pool{s}")``."""
    return what.format(n, s="" if n == 1 else "s", es="" if n == 1 else "es")


def _live(kind: type | tuple[type, ...]) -> list[Any]:
    """Objects of ``kind`` alive in this process: the notebook's variables, the output history, and the frames
    of the last error (an interrupted cell's locals) all hold theirs, and the garbage collector sees them all."""
    return [obj for obj in gc.get_objects() if isinstance(obj, kind)]


def _attempt(released: Released, what: str, action: Callable[[], object]) -> bool:
    """Run one release; a failure becomes a ✘ line that says what could not be released, never a traceback."""
    try:
        action()
    except Exception as exc:  # the clean-up goes on with the rest
        released.problems.append(f"could not {what}: {type(exc).__name__}: {exc}")
        return False
    return True


def _stop_processes(processes: Iterable[BaseProcess]) -> int:
    """Terminate, then kill, the given processes of this one that still run; join all. Returns how many ran."""
    running = [p for p in processes if p.is_alive()]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for p in running:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(GRACE_SECONDS)
    return len(running)


def _release_running(released: Released, user_ns: dict[str, Any]) -> None:
    """Stop, close and shut down everything that runs: stacks of contexts, Dask, pools, executors, managers.

    Each step looks for its objects only when its turn comes: closing a stack of contexts may already have
    terminated a pool, which is then not counted twice.
    """
    steps: list[tuple[str, str, Callable[[], list[Any]], Callable[[Any], object]]] = [
        # (the ✔ line, the ✘ line's verb, what is still open, how to release one)
        (  # e.g. lesson 06's `lesson`: a pool, then a shared array
            "closed {} ExitStack{s} (what it held, in reverse order)",
            "close an ExitStack",
            lambda: [v for v in user_ns.values() if isinstance(v, contextlib.ExitStack)],
            _close,
        ),
        ("closed {} Dask client{s}", "close a Dask client", _open_dask_clients, _close),
        (
            "shut down {} Dask cluster{s} (scheduler and workers)",
            "close a Dask cluster",
            _open_dask_clusters,
            _close_dask_cluster,
        ),
        ("shut down {} joblib worker pool{s}", "shut down joblib's workers", _open_loky_executor, _kill_loky),
        (  # a pool that is running or only closed still has its workers
            "terminated {} process pool{s}",
            "terminate a pool",
            lambda: [p for p in _live(Pool) if p._state != "TERMINATE"],
            _terminate,
        ),
        (  # stuck tasks included: its workers are stopped, not waited for
            "stopped {} ProcessPoolExecutor{s}",
            "stop an executor's workers",
            lambda: [e for e in _live(ProcessPoolExecutor) if e._processes],
            _stop_workers,
        ),
        (  # Python 3.14+: its worker threads close their interpreters as they end
            "shut down {} InterpreterPoolExecutor{s} (and closed their interpreters)",
            "shut down an InterpreterPoolExecutor",
            _open_interpreter_pools,
            _shut_interpreter_pool,
        ),
        (  # Python 3.14+: interpreters.create()'s, left open; one running code in another thread cannot be closed
            "closed {} subinterpreter{s}",
            "close a subinterpreter (one that runs code in another thread cannot be: let it finish, or restart "
            "the kernel)",
            _open_interpreters,
            _close,
        ),
        (
            "shut down {} manager{s} (and the segments it tracked)",
            "shut down a manager",
            lambda: [m for m in _live(BaseManager) if getattr(m, "_process", None) and m._process.is_alive()],
            _shutdown,
        ),
    ]
    for done, failed, still_open, release in steps:
        released.add(done, sum(_attempt(released, failed, functools.partial(release, o)) for o in still_open()))
    for pool in _live(Pool):
        _attempt(released, "join a terminated pool", pool.join)
    mine = [p for p in _live(BaseProcess) if getattr(p, "_parent_pid", None) == os.getpid() and p.pid is not None]
    released.add("stopped {} process{es} that still ran", _stop_processes(mine))


def _open_dask_clients() -> list[Any]:
    if "distributed" not in sys.modules:
        return []
    from distributed import Client

    return [c for c in _live(Client) if c.status not in ("closed", "closing")]


def _open_dask_clusters() -> list[Any]:
    if "distributed" not in sys.modules:
        return []
    from distributed.deploy.cluster import Cluster

    return [c for c in _live(Cluster) if c.status.name not in ("closed", "closing")]


def _open_loky_executor() -> list[Any]:
    """joblib's reusable pool of workers, if a ``Parallel`` call started one: running, or broken and shut down
    but still holding its named semaphores (pressing Interrupt sends SIGINT to the kernel's workers too)."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    return [executor] if executor is not None else []


def _kill_loky(executor: Any) -> None:
    """Shut joblib's reusable pool down and drop joblib's own reference to it, so that its queues and named
    semaphores (``sem.loky-*``) are freed now; the next ``Parallel`` call starts a new pool."""
    executor.shutdown(wait=True, kill_workers=True)
    loky: Any = sys.modules["joblib.externals.loky.reusable_executor"]
    with loky._executor_lock:
        if loky._executor is executor:
            loky._executor = loky._executor_kwargs = None


def _open_interpreter_pools() -> list[Any]:
    """``InterpreterPoolExecutor``\\ s (Python 3.14+) not shut down yet; none if the notebook never used one."""
    module = sys.modules.get("concurrent.futures.interpreter")
    return [] if module is None else [e for e in _live(module.InterpreterPoolExecutor) if not e._shutdown]


def _shut_interpreter_pool(executor: Any) -> None:
    """Cancel an ``InterpreterPoolExecutor``'s pending tasks and wait a grace period for its running ones.

    Each worker thread closes its interpreter as it ends. A task still running after the grace period is left to
    run (code in an interpreter cannot be interrupted) and reported.
    """
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + GRACE_SECONDS
    for thread in list(executor._threads):
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in executor._threads):
        raise RuntimeError(
            f"a task still ran in one of its interpreters after {GRACE_SECONDS:g} s, and code in an interpreter "
            "cannot be interrupted: let it finish, or restart the kernel"
        )


def _open_interpreters() -> list[Any]:
    """Subinterpreters that ``concurrent.interpreters`` created (Python 3.14+) and that still exist."""
    module = sys.modules.get("concurrent.interpreters")
    if module is None:
        return []
    ours = {module.get_main().id, module.get_current().id}
    return [i for i in module.list_all() if i.id not in ours and i.whence == "_interpreters module"]


def _close(thing: Any) -> None:
    thing.close()


def _close_dask_cluster(cluster: Any) -> None:
    """Close a Dask cluster, also one that an interrupted cell left half started or half stopped.

    While it closes, ``distributed`` asserts that each of its workers has reached a final state; a cluster
    interrupted while a worker was still starting or leaving (``Status.init``, ``Status.closing_gracefully``)
    fails that check with an ``AssertionError`` half-way through. Then its scheduler and event loop are closed
    here, and its worker processes are stopped with the other stray children at the end of ``release_all``.
    """
    try:
        cluster.close()
    except AssertionError:
        from distributed.core import Status

        with contextlib.suppress(Exception):
            if getattr(cluster, "scheduler", None) is not None:
                cluster.sync(cluster.scheduler.close, callback_timeout=GRACE_SECONDS)
        cluster.status = Status.closed
        with contextlib.suppress(Exception):
            cluster._loop_runner.stop()


def _terminate(pool: Any) -> None:
    """``pool.terminate()``, which cannot hang on a worker that died holding the task queue's lock.

    Pressing Interrupt sends SIGINT to the kernel's workers too; one that dies of it while taking a task holds
    the queue's read lock forever, and ``terminate()`` waits for that lock. A plain ``multiprocessing`` lock may be
    released by any process, so a lock still held after a moment is released here first.
    """
    rlock = pool._inqueue._rlock  # free, or held: by an idle worker that waits for a task, or by a dead one
    rlock.acquire(timeout=0.2)
    rlock.release()  # ours, or the holder's: terminate() ends the workers either way
    pool.terminate()


def _shutdown(manager: BaseManager) -> None:
    manager.shutdown()


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    from helpers.patterns import stop_workers  # (helpers.patterns imports NumPy; only needed here)

    stop_workers(executor)


def _release_segments(released: Released) -> None:
    """Close every shared memory segment the notebook holds, and unlink those the resource tracker would.

    Those are the segments this process created, and those it attached to with tracking on (always before
    Python 3.13; from 3.13 unless ``track=False``, tracking being still the default): when the kernel stops, its
    resource tracker unlinks each of them.
    This does it now. A segment can also outlive its ``SharedMemory`` object: a NumPy view made with
    ``np.frombuffer`` keeps the mapping, and the object's finalizer could not close it ("BufferError: cannot
    close exported pointers exist"). On Linux such segments show in this process's memory map; the course's
    (``mpcourse_*``) and Python's unnamed ones (``psm_*``) are unlinked too.
    """
    names = set()
    for segment in _live(shared_memory.SharedMemory):
        if getattr(segment, "_track", True):  # closed or not: closing never removes the segment itself
            names.add(segment.name.lstrip("/"))
        with contextlib.suppress(BufferError):  # a NumPy view still uses it: the mapping goes with the view
            segment.close()
    names |= _mapped_segments(Path("/proc/self/maps"))
    for name in sorted(names):
        if unlink_segment(name):
            released.add("unlinked {} shared memory segment{s} the notebook still held")


def _mapped_segments(maps: Path) -> set[str]:
    """Names of the course's and Python's unnamed shared memory segments that this process has mapped (Linux)."""
    try:
        text = maps.read_text()
    except OSError:
        return set()
    return set(re.findall(r"/dev/shm/((?:" + SEGMENT_PREFIX + r"|psm_)\w+)", text))


def unlink_segment(name: str) -> bool:
    """Unlink the shared memory segment ``name`` if it still exists; True if it did.

    It attaches with the default tracking and unlinks: the attach registers the name with this process's
    resource tracker and the unlink unregisters it, which also drops the registration made when this process
    created it (the tracker keeps a set of names), so the tracker has nothing left to warn about at exit.
    """
    try:
        segment = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return False
    segment.close()
    segment.unlink()
    return True


def _release_scratch(released: Released, user_ns: dict[str, Any]) -> None:
    """Remove the course's scratch folders (``mpcourse_*`` under the temporary folder) the notebook names."""
    tmp = Path(tempfile.gettempdir())
    for value in list(user_ns.values()):
        if isinstance(value, str) and value.startswith(str(tmp / SEGMENT_PREFIX)) and Path(value).is_dir():
            shutil.rmtree(value, ignore_errors=True)
            released.add("removed {} scratch folder{s}")


def _stray_children(me: int) -> list[int]:
    """This process's living descendants, except its own resource tracker and fork server (Linux).

    A fork server's children (the workers it forked) are strays like any other: they carry the server's command
    line, so it is the parent, this process, that tells the server itself apart.
    """
    found, todo = [], [me]
    while todo:
        pid = todo.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                todo += [int(c) for c in (task / "children").read_text().split()]
        infrastructure = pid != me and _ppid(pid) == me and HELPER_PROCESSES.search(read_cmdline(Path(f"/proc/{pid}")))
        if pid != me and not infrastructure and alive(pid):
            found.append(pid)
    return found


#: multiprocessing's (and joblib's loky's) helper processes: they end with the kernel, and a resource tracker is what
#: removes any semaphore or segment that is still registered then.
HELPER_PROCESSES = re.compile(r"multiprocessing\.(resource_tracker|forkserver)|loky\.backend\.resource_tracker")


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _stop_strays(released: Released) -> None:
    """Last safety net: children left by an interrupted start (a cluster half built, a lost pool) are stopped."""
    strays = _stray_children(os.getpid())
    for pid in strays:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for pid in strays:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    released.add("stopped {} stray child process{es} (left by an interrupted cell)", len(strays))


#: The names Clean up cells of this kernel deleted.
_DELETED_NAMES: set[str] = set()


def _explain_deleted_names(deleted: frozenset[str]) -> Callable[..., Any]:
    """An IPython handler for NameError that adds, under the usual traceback, why a name the lesson had is gone."""

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> Any:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        name = getattr(value, "name", None)
        if name in deleted:
            print(
                f"`{name}` was deleted by this lesson's Clean up cell, with the rest of its variables. "
                "Run the lesson from the top to get them back: Run > Run All Above Selected Cell."
            )
        return None

    return handler


def release_all() -> Released:
    """Release everything the notebook created, from any point of a lesson, and say what was released.

    In this order: contexts kept open across cells (``ExitStack``), Dask clients and clusters, joblib's
    workers, ``multiprocessing`` pools, ``ProcessPoolExecutor``\\ s (stuck tasks included),
    ``InterpreterPoolExecutor``\\ s and the subinterpreters still open (Python 3.14+), managers, and
    processes this kernel started that still run; then the shared memory segments the notebook holds (closed,
    and unlinked where the resource tracker would unlink them when the kernel stops); the course's scratch
    folders; the notebook's variables, the output history and the last error (``%reset -f``; a traceback
    keeps alive every object its frames used); matplotlib's figures. Last, any child process still running
    (one an interrupted cell left half started) is stopped. A garbage collection then frees the named
    semaphores behind ``Value``, ``Array``, ``Lock`` and ``Queue``. Widgets already shown stay on the page.

    A cell run afterwards that needs a deleted variable gets, under its ``NameError``, a line that says so and
    how to get the variables back (run the lesson from the top).

    Nothing here raises: what cannot be released is reported as a ✘ line. Outside IPython the variables are
    left alone.
    """
    released = Released()
    gc.collect()  # objects nobody refers to any more are finalized first, and not counted below
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    user_ns: dict[str, Any] = shell.user_ns if shell is not None else {}
    _release_running(released, user_ns)
    _release_segments(released)
    _release_scratch(released, user_ns)
    if shell is not None:
        # %reset clears the namespace that is the kernel's __main__ module, and with it __spec__, which spawn and
        # forkserver read whenever they start a process ("module '__main__' has no attribute '__spec__'"
        # afterwards). Keep the module's own attributes; delete only what the notebook defined.
        kept = {k: v for k, v in shell.user_ns.items() if k in MODULE_ATTRIBUTES}
        hidden = getattr(shell, "user_ns_hidden", {})
        _DELETED_NAMES.update(k for k in shell.user_ns if k not in hidden and not k.startswith("_"))
        shell.run_line_magic("reset", "-f")
        shell.user_ns.update(kept)
        # every Clean up run so far: run twice, the second deletes nothing, and the names of the first still count
        shell.set_custom_exc((NameError,), _explain_deleted_names(frozenset(_DELETED_NAMES)))
        formatter = getattr(shell, "InteractiveTB", None)
        if formatter is not None and hasattr(formatter, "tb"):
            formatter.tb = None
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
    gc.collect()
    if Path("/proc/self/task").is_dir():
        _stop_strays(released)
    return released


# ---------------------------------------------------------------- after a crash: python -m helpers.cleanup


@dataclass(frozen=True)
class _Process:
    """What /proc tells about one process of this user."""

    pid: int
    ppid: int
    cmdline: str
    cwd: str
    environ: frozenset[bytes]


def _processes(proc: Path, uid: int) -> dict[int, _Process]:
    """Every process of user ``uid`` that /proc lets us read."""
    found = {}
    for pid_dir in proc.glob("[0-9]*"):
        try:
            if pid_dir.stat().st_uid != uid:
                continue
            ppid = int((pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cwd = os.readlink(pid_dir / "cwd")
            environ = frozenset((pid_dir / "environ").read_bytes().split(b"\0"))
        except (OSError, ValueError, IndexError):
            continue
        found[int(pid_dir.name)] = _Process(int(pid_dir.name), ppid, read_cmdline(pid_dir), cwd, environ)
    return found


@dataclass(frozen=True)
class Leftovers:
    """What :func:`find_leftovers` found: course segments, orphaned semaphores, stray processes."""

    segments: tuple[Path, ...]
    semaphores: tuple[Path, ...]
    processes: tuple[tuple[int, str], ...]

    def __bool__(self) -> bool:
        return bool(self.segments or self.semaphores or self.processes)

    def __str__(self) -> str:
        if not self:
            return "nothing left behind by the course"
        lines = [f"shared memory segment {p.name}" for p in self.segments]
        lines += [f"orphaned semaphore {p.name}" for p in self.semaphores]
        lines += [f"process {pid}: {cmd[:100]}" for pid, cmd in self.processes]
        return "\n".join(lines)


def _mapped_files(proc: Path, shm: Path) -> set[str]:
    """Names of files in ``shm`` that some process we can read has mapped (a semaphore in use is mapped)."""
    mapped: set[str] = set()
    pattern = re.compile(re.escape(str(shm)) + r"/(\S+)")
    for maps in proc.glob("[0-9]*/maps"):
        try:
            text = maps.read_text()
        except OSError:
            continue
        mapped.update(m.group(1) for m in pattern.finditer(text))
    return mapped


def find_leftovers(
    course_dir: str | os.PathLike[str] | None = None,
    shm: str | os.PathLike[str] = "/dev/shm",
    proc: str | os.PathLike[str] = "/proc",
    registry: str | os.PathLike[str] | None = None,
    uid: int | None = None,
) -> Leftovers:
    """Find what a crashed lesson of this user can leave behind, and nothing else.

    Only files and processes owned by ``uid`` (this user) are considered:

    * shared memory segments named ``mpcourse_*`` that no process of this user has mapped;
    * ``multiprocessing``'s named semaphores (``sem.mp-*``) that no process of this user has mapped;
    * orphaned course processes: processes of the course (they carry :data:`PROCESS_MARKER` in their
      environment, as every process started after ``import helpers`` does; or they have the command line of a
      kernel or script that used the course, as its ``fork`` children do; or they run in ``course_dir``) with
      no living course kernel or script among their ancestors. That holds wherever the orphan went: to PID 1,
      or to a subreaper such as ``systemd --user`` on a desktop.

    Limits: another user's files and processes are never looked at (run it as that user); a course process
    whose kernel never imported ``helpers`` is not recognized unless it runs in ``course_dir``.
    """
    shm, proc = Path(shm), Path(proc)
    uid = os.getuid() if uid is None else uid
    mine = [p for p in (sorted(shm.iterdir()) if shm.is_dir() else []) if _owned_by(p, uid)]
    mapped = _mapped_files(proc, shm)
    segments = tuple(p for p in mine if p.name.startswith(SEGMENT_PREFIX) and p.name not in mapped)
    semaphores = tuple(p for p in mine if p.name.startswith("sem.mp-") and p.name not in mapped)

    records = registered(Path(registry) if registry is not None else registry_dir())
    owners = {pid for pid, record in records.items() if start_time(pid) == record.get("start")}
    owner_cmdlines = {record.get("cmdline") for record in records.values()} - {None, ""}
    marker = f"{PROCESS_MARKER}=1".encode()
    folder = str(Path(course_dir).resolve()) if course_dir else None
    table = _processes(proc, uid)

    def of_the_course(p: _Process) -> bool:
        in_folder = folder is not None and (p.cwd == folder or p.cwd.startswith(folder + os.sep))
        return marker in p.environ or p.cmdline in owner_cmdlines or in_folder

    def has_a_living_owner(p: _Process) -> bool:
        seen, pid = set(), p.ppid
        while pid > 1 and pid not in seen:
            if pid in owners:
                return True
            seen.add(pid)
            parent = table.get(pid)
            pid = parent.ppid if parent else 0  # a parent we cannot read (another user's) ends the walk
        return False

    processes = [
        (p.pid, p.cmdline)
        for p in table.values()
        if p.pid != os.getpid() and p.pid not in owners and of_the_course(p) and not has_a_living_owner(p)
    ]
    return Leftovers(segments, semaphores, tuple(sorted(processes)))


def _owned_by(path: Path, uid: int) -> bool:
    try:
        return path.lstat().st_uid == uid
    except OSError:
        return False


def reset(leftovers: Leftovers, grace: float = GRACE_SECONDS) -> list[str]:
    """Stop the stray processes (SIGTERM, then SIGKILL after ``grace`` s) and remove the files.

    Returns what could not be done, one line each (a file or a process that is not ours to remove, say);
    it never raises for those.
    """
    problems = []
    for pid, _ in leftovers.processes:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        except OSError as exc:
            problems.append(f"could not stop process {pid}: {exc.strerror}")
    deadline = time.monotonic() + grace
    for pid, _ in leftovers.processes:
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for path in leftovers.segments + leftovers.semaphores:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"could not remove {path}: {exc.strerror}")
    return problems


def _default_course_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.cleanup [--dry-run]``: remove the course's leftovers after a crash."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.cleanup",
        description="Remove what a crashed lesson left behind: the course's shared memory segments, orphaned "
        "multiprocessing semaphores, and orphaned worker processes of the course. Only what belongs to the user "
        "who runs it; nothing else. Linux only (it reads /proc): elsewhere, restart the kernel.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=_default_course_dir(),
        help="processes running in this folder count as the course's (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not Path("/proc").is_dir():
        print("nothing to do: this system has no /proc (macOS, Windows); restart the kernel instead")
        return 0
    found = find_leftovers(args.course_dir)
    print(("would remove:\n" if args.dry_run and found else "") + str(found))
    if not args.dry_run and found:
        problems = reset(found)
        print(
            f"removed {len(found.segments)} segment(s), {len(found.semaphores)} semaphore(s); "
            f"stopped {len(found.processes)} process(es)"
        )
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
