"""What is the course's, proven by a record: a token per kernel, names that carry it, and a registry of processes.

Every kernel (and every test run) that imports ``helpers`` gets a **token**, eight hex digits kept in the
environment variable :data:`TOKEN_VAR`, which every process it starts afterwards inherits. The course's resources
carry that token:

* shared memory segments: ``mpcourse_<token>_<hex>`` (:func:`course_segment_name`), also a ``SharedMemory`` created
  without a name in a course process (Python would call it ``psm_<hex>``);
* ``multiprocessing``'s named semaphores (behind ``Lock``, ``Value``, ``Queue``, ``Pool``): ``sem.mp-<token>-<x>``,
  also after ``import joblib`` (whose loky renames them ``sem.loky-<pid>-<x>``);
* scratch folders (Dask's ``dask-scratch-space``, joblib's memmaps): under ``<tmp>/mpcourse_<token>``.

The **registry** (one small file per process in ``<tmp>/mpcourse-owners-<uid>/``) records each course process by PID and
start time, so that a reused PID is never mistaken for it, with its kernel's token. A kernel's record says it owns
the token; a worker, a ``fork`` child or a script it runs records itself as a member of it. ``python -m
helpers.cleanup`` acts only on what carries the token of a kernel whose owner record no longer matches a living
process. Linux only for the registry (it reads ``/proc``); the names work everywhere.

This module is shared machinery: it imports nothing of the lessons.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import json
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

#: The environment variable that carries the token of the kernel (or test run) a process belongs to.
TOKEN_VAR = "MPCOURSE_TOKEN"
#: Shared memory segments and scratch folders of the course start with this, then the token.
SEGMENT_PREFIX = "mpcourse_"
#: multiprocessing's semaphores are ``/mp-<x>``; the course's are ``/mp-<token>-<x>`` (``sem.mp-...`` in /dev/shm).
SEMAPHORE_PREFIX = "mp-"


def token() -> str:
    """This process's token (:data:`TOKEN_VAR`); a new one is made if it has none yet."""
    value = os.environ.get(TOKEN_VAR, "")
    if not _valid(value):
        value = os.environ[TOKEN_VAR] = secrets.token_hex(4)
    return value


def _valid(value: str) -> bool:
    return len(value) == 8 and all(c in "0123456789abcdef" for c in value)


def course_segment_name() -> str:
    """A fresh name for a shared memory segment of the course: ``mpcourse_<token>_<8 hex digits>``.

    26 characters: short enough for macOS, whose limit is 31 with the leading slash.
    """
    return f"{SEGMENT_PREFIX}{token()}_{secrets.token_hex(4)}"


def scratch_folder(token_: str | None = None) -> Path:
    """The kernel's scratch folder, ``<tmp>/mpcourse_<token>`` (not created here): Dask's and joblib's go inside."""
    return Path(tempfile.gettempdir()) / f"{SEGMENT_PREFIX}{token_ or token()}"


def make_scratch_folder(prefix: str) -> str:
    """A new folder for a lesson's scratch files, inside the kernel's scratch folder (so that it carries the token)."""
    parent = scratch_folder()
    parent.mkdir(mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


# ---------------------------------------------------------------- names that carry the token


def _semaphore_name() -> str:
    from multiprocessing.synchronize import SemLock

    return f"/{SEMAPHORE_PREFIX}{token()}-{next(SemLock._rand)}"  # type: ignore[attr-defined]


def _shared_memory_name() -> str:
    return "/" + course_segment_name()


def name_resources_with_the_token() -> None:
    """From now on, this process's new semaphores and unnamed ``SharedMemory`` segments carry its token.

    ``import joblib`` replaces the semaphores' naming with loky's (``/loky-<pid>-<x>``) when it loads loky; an
    import hook puts the course's back right after (see :class:`_AfterLoky`).
    """
    from multiprocessing import shared_memory, synchronize

    synchronize.SemLock._make_name = staticmethod(_semaphore_name)  # type: ignore[attr-defined]
    loky = sys.modules.get(_AfterLoky.SEMLOCK)  # loky's own SemLock class, behind joblib's worker pool
    if loky is not None:
        loky.SemLock._make_name = staticmethod(_semaphore_name)
    if os.name == "posix":  # Windows names its segments differently, and has no /dev/shm to clean
        shared_memory._make_filename = _shared_memory_name  # type: ignore[attr-defined]
    if not any(isinstance(f, _AfterLoky) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterLoky())


class _AfterLoky:  # a meta path finder (not importlib.abc's subclass: importing that costs ~40 ms in every worker)
    """Runs :func:`name_resources_with_the_token` again once loky's backend (which renames multiprocessing's
    semaphores) or loky's own semaphore class is loaded."""

    SEMLOCK = "joblib.externals.loky.backend.synchronize"
    TARGETS = ("joblib.externals.loky.backend", SEMLOCK)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.TARGETS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader = spec.loader
        real_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            real_exec(module)
            name_resources_with_the_token()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def put_scratch_in_the_course_folder() -> None:
    """Dask's scratch space (``dask-scratch-space``) and joblib's memmaps go to the kernel's scratch folder."""
    folder = str(scratch_folder())
    os.environ["DASK_TEMPORARY_DIRECTORY"] = folder
    os.environ["JOBLIB_TEMP_FOLDER"] = folder
    config = sys.modules.get("dask.config")
    if config is not None:  # read from the environment only when dask is imported
        with contextlib.suppress(Exception):
            config.set({"temporary-directory": folder})


# ---------------------------------------------------------------- facts from /proc


def start_time(pid: int | str) -> int | None:
    """When a process started (clock ticks since boot, /proc/<pid>/stat field 22), to tell it from a later one
    with its PID; None if there is no such process (or no /proc)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def parent_pid(pid: int | str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def read_cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """The process runs (exists and is not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def ancestors(pid: int | str = "self") -> set[int]:
    """The PIDs of a process's parent, its parent's parent, and so on up to PID 1."""
    found: set[int] = set()
    current = parent_pid(pid)
    while current and current not in found:
        found.add(current)
        current = parent_pid(current)
    return found


def environ_token(pid: int) -> str | None:
    """The token in a process's environment as it was started (fork children show their parent's), if any."""
    try:
        entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    prefix = f"{TOKEN_VAR}=".encode()
    for entry in entries:
        if entry.startswith(prefix):
            value = entry[len(prefix) :].decode(errors="replace")
            return value if _valid(value) else None
    return None


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Record:
    """One course process: PID and start time (together they name it), its kernel's token, and its role."""

    pid: int
    start: int
    token: str
    owner: bool  # it made the token (a kernel, a test run); otherwise a worker, fork child or script of one
    parent: str | None = None  # the token of the test run that started this kernel, if any
    cmdline: str = ""

    @property
    def running(self) -> bool:
        """The very process recorded still runs (same PID, same start time, not a zombie)."""
        return start_time(self.pid) == self.start and alive(self.pid)

    @property
    def file_name(self) -> str:
        return f"{self.pid}-{self.start}.json"


def registry_dir() -> Path:
    """Where course processes record themselves: one folder per user, in the temporary folder. (Not
    ``mpcourse-<uid>``, where the registry of earlier versions kept records of another format.)"""
    return Path(tempfile.gettempdir()) / f"mpcourse-owners-{os.getuid()}"


def _write(record: Record, folder: Path) -> None:
    """One small file, written with a single call (a fork child must start fast; a reader that finds it half
    written skips it)."""
    data = {"token": record.token, "owner": record.owner, "parent": record.parent, "cmdline": record.cmdline}
    path = os.path.join(folder, record.file_name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except FileNotFoundError:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)


def records(folder: Path | None = None) -> list[Record]:
    """Every record in the registry (of processes alive or not)."""
    folder = registry_dir() if folder is None else folder
    found = []
    for entry in folder.glob("*-*.json") if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            pid, start = (int(part) for part in entry.stem.split("-"))
            data: dict[str, Any] = json.loads(entry.read_text())
            found.append(Record(pid, start, data["token"], bool(data["owner"]), data.get("parent"), data["cmdline"]))
    return found


def remove_records(folder: Path, dead: Iterator[Record] | list[Record]) -> None:
    for record in dead:
        with contextlib.suppress(OSError):
            (folder / record.file_name).unlink()


def _is_a_kernel() -> bool:
    """This process is a running Jupyter kernel (not a child of one: those have a multiprocessing parent or no
    initialized kernel application of their own)."""
    import multiprocessing

    app = sys.modules.get("ipykernel.kernelapp")
    return bool(app and app.IPKernelApp.initialized() and multiprocessing.parent_process() is None)


def claim_token(folder: Path | None = None, parent: str | None = None) -> str:
    """Make a new token for this process and record it as its owner (a kernel, a test run); returns the token."""
    os.environ[TOKEN_VAR] = secrets.token_hex(4)
    register_this_process(folder, owner=True, parent=parent)
    with contextlib.suppress(OSError):
        prune_finished_tokens(registry_dir() if folder is None else folder)
    return os.environ[TOKEN_VAR]


def prune_finished_tokens(folder: Path, shm: Path = Path("/dev/shm")) -> None:
    """Forget tokens whose processes have all ended and that left nothing in ``shm`` or the temporary folder
    (a kernel shut down normally): their records are of no use to the crash tool any more. A token that a running
    process carries in its environment (a worker that never imported helpers) is kept."""
    everything = records(folder)
    running = {r.token for r in everything if r.running}
    if {r.token for r in everything} - running:
        running |= {environ_token(int(p.name)) for p in Path("/proc").glob("[0-9]*")} - {None}  # type: ignore[arg-type]
    names = "\n".join(p.name for p in shm.iterdir()) if shm.is_dir() else ""
    finished = [
        r
        for r in everything
        if r.token not in running and r.token not in names and not scratch_folder(r.token).exists()
    ]
    remove_records(folder, finished)


def register_this_process(folder: Path | None = None, owner: bool = False, parent: str | None = None) -> None:
    """Record this process in the registry under its token (Linux only; never raises: the record serves the
    crash tool, and a kernel must start without it). An owner also prunes the records of members that have ended
    (a member only writes its own: a fork child must start fast)."""
    start = start_time("self")
    if start is None:
        return
    folder = registry_dir() if folder is None else folder
    with contextlib.suppress(OSError):
        cmdline = read_cmdline(Path("/proc/self"))[:200] if owner else ""  # a member's is its kernel's, or its env's
        _write(Record(os.getpid(), start, token(), owner, parent, cmdline), folder)
        if owner:
            remove_records(folder, [r for r in records(folder) if not r.owner and not r.running])


def _record_fork_child() -> None:
    """In a ``fork`` child: record it as a member (a fork child shows its parent's command line and start
    environment, nothing else of its own). SIGINT is held meanwhile, so that an Interrupt pressed at this moment
    reaches the child's own code, not this record's."""
    if TOKEN_VAR not in os.environ:
        return
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, OSError, ValueError):
        blocked = None
    try:
        register_this_process()
    except Exception:  # pragma: no cover - never break a fork for a record
        pass
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def join_the_course() -> None:
    """Called once by ``import helpers``: give this process its token, record it, and name its resources.

    A Jupyter kernel, and a process started without a token (a script run from a terminal), owns a new token;
    a kernel started by a test run notes the run's token as its parent. Any other process that inherited a
    token (a spawn or forkserver worker, a script a lesson runs, joblib's and Dask's workers) is a member.
    """
    inherited = os.environ.get(TOKEN_VAR, "")
    if not _valid(inherited) or _is_a_kernel():
        claim_token(parent=inherited if _valid(inherited) else None)
    else:
        register_this_process()
    name_resources_with_the_token()
    put_scratch_in_the_course_folder()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_record_fork_child)
