"""Release what a lesson created, so nothing outlives it: every lesson's **Clean up** cell (:func:`release_all`).

It works from any point of a lesson, after any subset of its cells or an interrupted one: it stops what is still
running (pools, executors, processes, managers, Dask clusters, joblib's workers), closes and unlinks the shared
memory the notebook holds, removes the kernel's scratch folder, deletes the notebook's variables, and says what it
released. It never prints a traceback: what it cannot release is one ✘ line.

Why it matters: a ``Value``, ``Array``, ``Lock``, ``Queue`` or ``Pool`` created under ``spawn`` or
``forkserver`` owns named semaphores (``/dev/shm/sem.mp-*`` on Linux), removed when the Python object is
garbage-collected or when its process exits normally (Kernel > Restart of a kernel that obeys shuts it down
normally). A kernel that dies alone (a crash, SIGKILL to its PID) has them removed by its resource tracker,
which warns of a "leaked semaphore". They stay only when the tracker dies too: Jupyter kills a kernel that does
not shut down in time with its whole process group (``os.killpg``), tracker included; ``python -m
helpers.cleanup`` then removes them (see :mod:`helpers.crash`). A shared memory segment lives until someone
unlinks it: its creator, that creator's tracker, or this module.

Shared machinery: it imports no lesson module (:mod:`helpers.patterns` takes :func:`stop_workers` from here).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing.util
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.managers import BaseManager
from multiprocessing.pool import Pool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from helpers.ownership import SEGMENT_PREFIX, TOKEN_VAR, alive, parent_pid, read_cmdline, scratch_folder

__all__ = [
    "FORGET",
    "GRACE_SECONDS",
    "HELPER_PROCESSES",
    "Released",
    "release_all",
    "stop_workers",
    "terminate_pool",
    "unlink_segment",
]

#: Called by :func:`release_all` before its last garbage collection: each lets go of what a lesson module keeps
#: of the notebook's objects in its own globals (a module below this one adds its function here, as
#: :mod:`helpers.shared_ctypes` does for the ``Value`` that ``init_total`` keeps when a notebook calls it itself).
#: Otherwise such an object, and its named semaphore, would outlive the Clean up.
FORGET: list[Callable[[], None]] = []

#: Attributes every module has, which the kernel's ``__main__`` must keep through :func:`release_all`.
MODULE_ATTRIBUTES = frozenset({"__doc__", "__loader__", "__name__", "__package__", "__spec__"})
#: How long a process that was asked to stop gets before it is killed.
GRACE_SECONDS = 3.0


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
            lambda: [p for p in _live(Pool) if getattr(p, "_state", None) != "TERMINATE"],
            terminate_pool,
        ),
        (  # stuck tasks included: its workers are stopped, not waited for
            "stopped {} ProcessPoolExecutor{s}",
            "stop an executor's workers",
            lambda: [e for e in _live(ProcessPoolExecutor) if e._processes],
            stop_workers,
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
        if _fully_built(pool):
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


def terminate_pool(pool: Any) -> None:
    """``pool.terminate()``, which cannot hang on a lock that a worker held when it died.

    Two locks can stay taken by a dead worker, and ``terminate()`` then waits forever (signals held back in a
    clean-up cannot end that wait either):

    * the task queue's read lock: pressing Interrupt sends SIGINT to the kernel's workers too, and one that dies of
      it while taking a task keeps it; ``terminate()`` waits for it first, to empty the queue;
    * the result queue's write lock: ``terminate()`` ends the workers with SIGTERM, and one that was putting a result
      at that moment keeps it; the pool's task handler then waits for it to put its last sentinel, and
      ``terminate()`` joins the task handler (seen 1 in 40 times when lesson 05's task measurement, thousands of
      tiny results, was interrupted, with two busy loops beside it).

    A plain ``multiprocessing`` lock may be released by any process. While ``terminate()`` runs, a watcher releases
    either lock once another process has held it for a whole second: a living worker holds the read lock only until
    the sentinels that ``terminate()`` sends reach it, and the write lock for one result. A lock that a thread of this
    process holds (``terminate()`` keeps the read lock while it empties the queue) is never touched: releasing the
    read lock of a living idle worker lets two workers read at once, and tears messages (seen in tests).
    """
    if not _fully_built(pool):  # interrupted in Pool(): no handler threads to stop, perhaps some workers
        pool._state = "TERMINATE"
        _stop_processes(getattr(pool, "_pool", []))
        return
    done = threading.Event()
    watcher = threading.Thread(
        target=_free_locks_of_the_dead,
        args=([pool._inqueue._rlock, pool._outqueue._wlock], done),
        name="free-locks-of-the-dead",
        daemon=True,
    )
    watcher.start()
    try:
        pool.terminate()
    finally:
        done.set()
        watcher.join()


def _free_locks_of_the_dead(locks: list[Any], done: threading.Event, after: float = 1.0) -> None:
    """Until ``done``: release each lock that another process has held for ``after`` seconds without a break."""
    held_since: dict[int, float] = {}
    while not done.wait(0.2):
        for lock in locks:
            if lock is None:  # a SimpleQueue's write lock on Windows
                continue
            if lock._semlock._count() > 0:  # a thread of this process holds it
                held_since.pop(id(lock), None)
            elif lock.acquire(block=False):
                lock.release()
                held_since.pop(id(lock), None)
            elif time.monotonic() - held_since.setdefault(id(lock), time.monotonic()) >= after:
                with contextlib.suppress(ValueError):  # released by its holder after all
                    lock.release()
                held_since.pop(id(lock), None)


def _fully_built(pool: Any) -> bool:
    """``Pool()`` ran to its end: an Interrupt during it leaves an object without its handlers and finalizer."""
    return all(hasattr(pool, name) for name in ("_terminate", "_worker_handler", "_inqueue"))


def _shutdown(manager: BaseManager) -> None:
    manager.shutdown()


def stop_workers(executor: ProcessPoolExecutor, kill: bool = False) -> None:
    """Stop every worker of a ``ProcessPoolExecutor`` now, stuck tasks included.

    ``shutdown(cancel_futures=True)`` cancels the tasks not yet handed to the
    workers but waits for running ones, forever if one is stuck. Python 3.14
    added ``terminate_workers()`` (SIGTERM) and ``kill_workers()`` (SIGKILL);
    this calls them, or does the same by hand on older Pythons. Both first
    call ``shutdown(wait=False, cancel_futures=True)``, so afterwards the
    executor is broken and its unfinished futures end two ways: those already
    handed to the workers (the running ones, and a few queued for them)
    raise ``BrokenProcessPool``, the rest were cancelled and raise
    ``CancelledError``.
    """
    if not isinstance(executor, ProcessPoolExecutor):
        raise TypeError(f"stop_workers needs a ProcessPoolExecutor, got {type(executor).__name__}")
    if sys.version_info >= (3, 14):
        if kill:
            executor.kill_workers()
        else:
            executor.terminate_workers()
        return
    processes = list((executor._processes or {}).values())  # what 3.14 does, before 3.14
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ProcessLookupError, ValueError):
            if kill:
                process.kill()
            else:
                process.terminate()


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


def _scratch_folders(user_ns: dict[str, Any]) -> list[Path]:
    """The course's scratch folders (``mpcourse_*`` under the temporary folder) the notebook names."""
    tmp = str(scratch_folder().parent / SEGMENT_PREFIX)
    return [Path(v) for v in user_ns.values() if isinstance(v, str) and v.startswith(tmp)]


def _release_scratch(released: Released, folders: list[Path]) -> None:
    """Remove the scratch folders the notebook named (counted), then the kernel's own scratch folder, where Dask's
    scratch space (``dask-scratch-space``) and joblib's memmaps go (see :mod:`helpers.ownership`), once nothing
    that writes there runs any more."""
    for folder in dict.fromkeys(folders):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            released.add("removed {} scratch folder{s}")
    if os.environ.get(TOKEN_VAR):
        shutil.rmtree(scratch_folder(), ignore_errors=True)


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
        cmdline = read_cmdline(Path(f"/proc/{pid}"))
        infrastructure = pid != me and parent_pid(pid) == me and HELPER_PROCESSES.search(cmdline)
        if pid != me and not infrastructure and alive(pid):
            found.append(pid)
    return found


#: multiprocessing's (and joblib's loky's) helper processes: they end with the kernel, and a resource tracker is what
#: removes any semaphore or segment that is still registered then.
HELPER_PROCESSES = re.compile(r"multiprocessing\.(resource_tracker|forkserver)|loky\.backend\.resource_tracker")


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
    semaphores behind ``Value``, ``Array``, ``Lock`` and ``Queue``; those that objects out of the notebook's reach
    still hold (a Dask cluster interrupted while it started) are unlinked. Widgets already shown stay on the page.

    A cell run afterwards that needs a deleted variable gets, under its ``NameError``, a line that says so and
    how to get the variables back (run the lesson from the top).

    Nothing here raises: what cannot be released is reported as a ✘ line. Outside IPython the variables are
    left alone.
    """
    released = Released()
    with _quiet_finalizers(released):
        _release_everything(released)
    return released


@contextlib.contextmanager
def _quiet_finalizers(released: Released) -> Iterator[None]:
    """While Clean up frees objects, their finalizers' errors become a ✘ line at most, never a traceback.

    A ``SharedMemory`` whose buffer a NumPy view still uses cannot close (``BufferError: cannot close exported
    pointers exist``), nor a ``BytesIO`` that a pickled buffer still uses resize: the memory goes with the last
    view, which Clean up deletes too, so those are not reported at all. Python prints any other such error as
    ``Exception ignored in ...`` with a traceback; here it becomes one line.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, BufferError):
            exc = unraisable.exc_value
            released.problems.append(f"while freeing an object: {type(exc).__name__}: {exc}")

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _release_everything(released: Released) -> None:
    gc.collect()  # objects nobody refers to any more are finalized first, and not counted below
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    user_ns: dict[str, Any] = shell.user_ns if shell is not None else {}
    _release_running(released, user_ns)
    _release_segments(released)
    scratch = _scratch_folders(user_ns)
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
    for forget in FORGET:
        forget()
    gc.collect()
    if Path("/proc/self/task").is_dir():
        _stop_strays(released)
    _release_held_semaphores(released)
    _release_orphan_semaphores(released)
    _release_scratch(released, scratch)


def _release_orphan_semaphores(released: Released, shm: Path = Path("/dev/shm")) -> None:
    """Unlink the named semaphores that carry this kernel's token and that no object of this process holds.

    By now every child was stopped, and every semaphore an object of this process holds has been unlinked above
    (:func:`_release_held_semaphores`). A name with this kernel's token that is still in ``/dev/shm`` was made by a
    child (its processes share the token, :mod:`helpers.ownership`) that was ended before it could remove it: a
    Dask nanny's queue under a cluster interrupted while it started, say. It was seen in two of three whole 3.15
    suites (one `sem.mp-<token>-*`, left after Clean up in the stop-anywhere test). The name is the record: only
    this kernel's token is touched.
    """
    if not shm.is_dir():
        return
    from multiprocessing.synchronize import SemLock

    from helpers.ownership import SEMAPHORE_PREFIX, token

    prefix = f"sem.{SEMAPHORE_PREFIX}{token()}-"
    names = [f"/{entry.name[len('sem.') :]}" for entry in shm.iterdir() if entry.name.startswith(prefix)]
    cleanup = SemLock._cleanup  # type: ignore[attr-defined]  # sem_unlink, and the resource tracker forgets it
    unlinked = sum(_attempt(released, "unlink an orphaned semaphore", functools.partial(cleanup, n)) for n in names)
    released.add("unlinked {} named semaphore{s} that an ended child of this kernel had left", unlinked)


def _release_held_semaphores(released: Released) -> None:
    """Unlink the named semaphores that objects still alive after the garbage collection hold.

    A ``SemLock`` made under ``spawn`` or ``forkserver`` registers a finalizer that unlinks its name when the object
    is collected or the process exits normally. An object that something out of the notebook's reach still holds is
    not collected: a Dask cluster interrupted while it started keeps its nannies' queues (two ``Queue``\\ s, six
    semaphores) in its event loop's state. Their finalizers, which ``multiprocessing.util`` keeps in a registry of
    this process, are run here, once each: the names go, and nothing is unlinked twice at exit. The semaphores
    themselves stay valid for whoever has them open; every child that could still open one by name was stopped
    above.
    """
    pending = [
        f
        for f in list(getattr(multiprocessing.util, "_finalizer_registry", {}).values())
        if getattr(getattr(f, "_callback", None), "__qualname__", "").endswith("SemLock._cleanup") and f.still_active()
    ]
    unlinked = sum(_attempt(released, "unlink a named semaphore", finalizer) for finalizer in pending)
    released.add("unlinked {} named semaphore{s} that objects out of reach still held", unlinked)
