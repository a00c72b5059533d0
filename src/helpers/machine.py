"""What this machine offers the course: CPUs, shared memory room, start method.

``os.cpu_count()`` counts the CPUs the machine *has*. A process may be allowed
fewer: its CPU affinity can exclude some, and a container's cgroup quota (how
mybinder.org gives each user one CPU) caps how much CPU time it gets.
:func:`usable_cpus` takes both into account on Linux (macOS and Windows give
Python neither to read); speedups in this course are measured against it.
"""

from __future__ import annotations

import importlib.metadata
import math
import multiprocessing
import numbers
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.feedback import Feedback, self_check

__all__ = [
    "MIN_SHM_BYTES",
    "START_METHODS",
    "SUPPORTED_PYTHONS",
    "SetupReport",
    "ShmRoom",
    "cgroup_cpu_limit",
    "check_usable_cpus",
    "cpu_model",
    "describe_machine",
    "format_bytes",
    "quota_binds",
    "setup_report",
    "shm_missing",
    "shm_room",
    "start_method",
    "start_methods",
    "usable_cpus",
]

#: The lessons size their shared-memory demos to fit; below this they cannot.
MIN_SHM_BYTES = 32 * 2**20
#: Python versions the course is tested on (major, minor), oldest first. A newer one gets a ⚠ in the
#: setup report (probably fine, not tested); an older one a ✘ (3.10 reached its end of life in October 2026).
SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14), (3, 15))
#: The three start methods, in the order the course always shows them. (From Python 3.14,
#: ``multiprocessing.get_all_start_methods()`` lists the platform's default first, so its order
#: depends on the version; a fixed order keeps what the lessons print the same on every Python.)
START_METHODS = ("fork", "spawn", "forkserver")
#: Packages the lessons import, shown in the setup report.
COURSE_PACKAGES = ("numpy", "matplotlib", "ipywidgets", "ipykernel")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_dirs(base: Path, cgroup_path: str) -> list[Path]:
    """Directories to look in for a limit: the process's own cgroup and its ancestors.

    Inside a container the cgroup file system is often mounted at the
    container's own cgroup, so ``base`` itself is included last.
    """
    parts = [p for p in cgroup_path.strip("/").split("/") if p]
    dirs = [base.joinpath(*parts[:i]) for i in range(len(parts), 0, -1)]
    dirs.append(base)
    return [d for d in dirs if d.is_dir()]


def cgroup_cpu_limit(
    proc_cgroup: str | os.PathLike[str] = "/proc/self/cgroup",
    cgroup_root: str | os.PathLike[str] = "/sys/fs/cgroup",
) -> float | None:
    """Return the CPU quota of this process's cgroup in CPUs, or None if unlimited.

    Reads cgroup v2 (``cpu.max``) and v1 (``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``), for this process's cgroup and each ancestor, and
    returns the tightest limit. On systems without cgroups (macOS, Windows)
    it returns None.

    The two paths are parameters so the function can be tested on a fake tree.
    """
    text = _read_text(Path(proc_cgroup))
    if not text:
        return None
    root = Path(cgroup_root)
    limits: list[float] = []
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            # cgroup v2: "0::/path"; a file "cpu.max" holds "max 100000" or "50000 100000".
            for d in _cgroup_dirs(root, path):
                quota, _, period = (_read_text(d / "cpu.max") or "").partition(" ")
                if quota and quota != "max" and period:
                    limits.append(int(quota) / int(period))
        elif "cpu" in controllers.split(","):
            # cgroup v1: the cpu controller may be mounted as cpu, cpu,cpuacct or cpuacct,cpu.
            for mount in (controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu"):
                mount_dir = root / mount
                if mount_dir.is_dir():
                    break
            else:
                continue
            for d in _cgroup_dirs(mount_dir, path):
                quota_text = _read_text(d / "cpu.cfs_quota_us")
                period_text = _read_text(d / "cpu.cfs_period_us")
                if quota_text and period_text and int(quota_text) > 0:
                    limits.append(int(quota_text) / int(period_text))
    return min(limits) if limits else None


def usable_cpus() -> int:
    """Return how many CPUs this process can use: the most workers worth starting for CPU-bound work.

    On Linux, the smallest of: the CPUs the machine has (``os.cpu_count()``),
    the CPUs this process's affinity allows (``os.sched_getaffinity``;
    ``os.process_cpu_count()`` from Python 3.13 counts the same), and the
    cgroup CPU quota rounded up. macOS and Windows have no cgroups and
    Python offers no ``os.sched_getaffinity`` there, so this is
    ``os.cpu_count()`` (``os.process_cpu_count()`` is an alias of it there).
    Always at least 1.

    A quota limits CPU *time*, not how many processes run at once: under a
    quota of 1 CPU, two workers run at the same moment on two CPUs until
    the period's budget (one CPU's worth of time) is spent, then both wait
    for the next period; over more than a period they go no faster than one.
    Under 1.5 CPUs, reported as 2, speedups stop near 1.5
    (:func:`cgroup_cpu_limit` gives the exact quota).

    >>> usable_cpus() >= 1
    True
    """
    quota = cgroup_cpu_limit()
    count = _cpus_to_run_on() if quota is None else min(_cpus_to_run_on(), math.ceil(quota))
    return max(1, count)


def _cpus_to_run_on() -> int:
    """The CPUs this process may run on at the same moment: the machine's, or fewer by affinity (Linux)."""
    count = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        count = min(count, len(os.sched_getaffinity(0)))
    return count


def quota_binds() -> bool:
    """Whether a cgroup CPU quota, not the CPUs this process may run on, sets :func:`usable_cpus` (a Binder box:
    1 CPU of quota on a machine with more). Work then runs for a moment on more CPUs than the quota gives (see
    :func:`usable_cpus`), and a measurement shorter than a few quota periods can show it."""
    quota = cgroup_cpu_limit()
    return quota is not None and quota < _cpus_to_run_on()


@dataclass(frozen=True)
class ShmRoom:
    """Room for POSIX shared memory in ``path`` (``/dev/shm`` on Linux)."""

    path: str
    total_bytes: int
    free_bytes: int

    def fits(self, nbytes: int, headroom: float = 0.5) -> bool:
        """True if ``nbytes`` fits in ``headroom`` (a fraction) of the free room."""
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        if not 0 < headroom <= 1:
            raise ValueError(f"headroom is a fraction in (0, 1], got {headroom}")
        return nbytes <= self.free_bytes * headroom


def shm_room(path: str | os.PathLike[str] = "/dev/shm") -> ShmRoom | None:
    """Return the size and free room of the shared-memory file system.

    Returns None where there is no such directory: on macOS (POSIX shared
    memory lives in the kernel, limited by RAM) and Windows (segments are
    backed by the paging file), and on a Linux box without ``/dev/shm`` (some
    containers), where ``multiprocessing`` cannot create a lock or a segment
    at all (:func:`shm_missing` tells that case apart). In Docker and on
    mybinder.org ``/dev/shm`` is often only 64 MB: a segment larger than the
    free room can be *created*, but touching its pages then kills the process
    with a bus error. Lessons size their demos with this.
    """
    try:
        usage = shutil.disk_usage(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return ShmRoom(str(path), usage.total, usage.free)


def shm_missing(system: str | None = None, room: ShmRoom | str | None = "measure") -> bool:
    """True on Linux without a ``/dev/shm``: there, ``multiprocessing.Lock()``, ``Value``, ``Queue`` and
    ``SharedMemory(create=True)`` all fail with ``FileNotFoundError``. (macOS and Windows need none.)"""
    system = system or platform.system()
    return system == "Linux" and (shm_room() if room == "measure" else room) is None


def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` on Linux), or what ``platform`` knows."""
    cpuinfo = _read_text(Path("/proc/cpuinfo")) or ""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_machine() -> str:
    """One line naming the machine a measurement ran on: CPU, usable CPUs, OS, Python, start method.

    >>> "usable CPU" in describe_machine()
    True
    """
    cpus = usable_cpus()
    return (
        f"{cpu_model()}, {cpus} usable CPU{'s' if cpus != 1 else ''} (of {os.cpu_count()}), "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"start method {start_method()}"
    )


def start_method() -> str:
    """Return the start method ``multiprocessing`` uses by default in this process, without fixing it.

    ``fork`` is the default on Linux (and every POSIX system but macOS) up to
    Python 3.13, ``forkserver`` from 3.14; macOS (since 3.8) and Windows use
    ``spawn``. Asking changes nothing:
    ``multiprocessing.set_start_method(...)`` still works afterwards (unlike
    after ``multiprocessing.get_start_method()``, which fixes the default).
    ``get_all_start_methods()`` lists the platform's default first on every
    supported Python (documented from 3.14; so built before).
    """
    return multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]


def start_methods() -> list[str]:
    """The start methods this platform offers, always in the order fork, spawn, forkserver.

    Linux and macOS offer all three, Windows only ``spawn``.

    >>> start_methods()[-1] in ("forkserver", "spawn")
    True
    """
    available = multiprocessing.get_all_start_methods()
    return [method for method in START_METHODS if method in available]


def format_bytes(nbytes: float) -> str:
    """Format a byte count with a binary unit, e.g. ``64.0MiB``."""
    if nbytes < 0:
        raise ValueError(f"a byte count cannot be negative, got {nbytes}")
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f}{unit}" if unit == "B" else f"{nbytes:.1f}{unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SetupRow:
    """One line of the setup report: what was checked, what was found, is it fine.

    ``ok`` False is a ✘ (the course cannot run as it should); ``warning`` marks
    a line that is fine to go on with but worth reading (⚠).
    """

    label: str
    value: str
    ok: bool
    comment: str
    warning: bool = False

    @property
    def mark(self) -> str:
        """✘ for a problem, ⚠ for a line to read, ✔ for a line that is fine."""
        return "✘" if not self.ok else "⚠" if self.warning else "✔"


@dataclass(frozen=True)
class SetupReport:
    """The result of :func:`setup_report`; displays as a small table."""

    rows: tuple[SetupRow, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        """True when every row is fine."""
        return all(row.ok for row in self.rows)

    def __str__(self) -> str:
        lines = [f"{r.mark} {r.label:<14} {r.value:<12} {r.comment}" for r in self.rows]
        if self.ready and any(r.warning for r in self.rows):
            lines.append("Ready, with the ⚠ lines above to keep in mind.")
        elif self.ready:
            lines.append("Ready: every lesson of the course can run here.")
        else:
            lines.append("Not ready: fix the lines marked ✘ (each says how), then run this cell again.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


def _python_row(version: tuple[int, ...]) -> SetupRow:
    """✔ for a tested Python, ⚠ for a newer one (go on, untested), ✘ for an older one."""
    oldest, newest = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    tested = f"{oldest[0]}.{oldest[1]} to {newest[0]}.{newest[1]}"
    text = ".".join(map(str, version))
    if tuple(version[:2]) in SUPPORTED_PYTHONS:
        return SetupRow("Python", text, True, f"supported (tested on {tested})")
    if tuple(version[:2]) > newest:
        return SetupRow(
            "Python",
            text,
            True,
            f"newer than the course was tested on ({tested}): go on; if a lesson's output differs, "
            "that is worth reporting",
            warning=True,
        )
    return SetupRow("Python", text, False, f"too old: install Python {tested}, or open the course on Binder")


def _package_row(name: str) -> SetupRow:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return SetupRow(name, "missing", False, "run: python -m pip install -r requirements.txt")
    return SetupRow(name, version, True, "installed")


def setup_report(
    *,
    python_version: tuple[int, int, int] | None = None,
    method: str | None = None,
    cpus: int | None = None,
    shm: ShmRoom | str | None = "measure",
    packages: tuple[str, ...] = COURSE_PACKAGES,
    system: str | None = None,
) -> SetupReport:
    """Check whether this machine is ready for the course (lesson 00).

    Every argument defaults to measuring this machine; pass a value to see
    how the report reads elsewhere (the tests do this).
    """
    py = python_version or sys.version_info[:3]
    method = method or start_method()
    system = system or platform.system()
    rows = [
        _python_row(tuple(py)),
        SetupRow(
            "start method",
            method,
            method in ("fork", "spawn", "forkserver"),
            "default for new processes; lesson 01 compares all three",
        ),
        SetupRow(
            "usable CPUs",
            str(cpus if cpus is not None else usable_cpus()),
            True,
            (
                "CPUs this process may use: affinity and cgroup quota (rounded up) counted"
                if system == "Linux"
                else f"os.cpu_count(): {system} gives Python no affinity or cgroup quota to count"
            ),
        ),
    ]
    room = shm_room() if shm == "measure" else shm
    if room is None and shm_missing(system, room):
        rows.append(
            SetupRow(
                "/dev/shm",
                "missing",
                False,
                "multiprocessing's locks, queues and shared memory need it: in Docker, run with --shm-size=256m "
                "(or mount a tmpfs at /dev/shm)",
            )
        )
    elif room is None:
        where = "the paging file backs its segments" if system == "Windows" else "its kernel keeps shared memory in RAM"
        rows.append(SetupRow("/dev/shm", "none", True, f"not needed on {system}: {where}"))
    elif isinstance(room, ShmRoom):
        ok = room.free_bytes >= MIN_SHM_BYTES
        rows.append(
            SetupRow(
                "/dev/shm free",
                format_bytes(room.free_bytes),
                ok,
                "room for shared memory; demos size themselves to it"
                if ok
                else f"need {format_bytes(MIN_SHM_BYTES)}: free space in /dev/shm or start Docker with --shm-size=256m",
            )
        )
    else:
        raise TypeError(f"shm must be a ShmRoom, None or 'measure', got {shm!r}")
    rows.extend(_package_row(name) for name in packages)
    return SetupReport(tuple(rows))


@self_check("how many workers can run at the same time here?")
def check_usable_cpus(feedback: Feedback, my_cpus: object) -> None:
    """Check lesson 00's exercise: ``my_cpus`` is the number of usable CPUs."""
    if isinstance(my_cpus, str):
        feedback.fail(f"my_cpus is the text {my_cpus!r}: write the number itself, without quotes")
        return
    if isinstance(my_cpus, bool) or not isinstance(my_cpus, numbers.Integral):  # a NumPy integer is one too
        kind = "a fraction" if isinstance(my_cpus, float) else type(my_cpus).__name__
        feedback.fail(f"my_cpus should be a whole number, now it is {my_cpus!r} ({kind}); read the report above")
        return
    my_cpus = int(my_cpus)
    actual = usable_cpus()
    if my_cpus != actual and my_cpus == os.cpu_count():
        hint = "that is os.cpu_count(), the CPUs the machine has; this process may use fewer (affinity, quota)"
    elif my_cpus < 1:
        hint = "a process can always use at least one CPU"
    else:
        hint = "read the 'usable CPUs' line of the report above"
    feedback.expect(
        my_cpus == actual,
        f"right: {actual} worker process(es) can compute at the same time here",
        f"my_cpus is {my_cpus}, but the report says {actual}: {hint}",
    )
