"""helpers.machine: usable CPUs (cgroup-aware), /dev/shm room, start method, setup report."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import machine
from helpers.machine import (
    MIN_SHM_BYTES,
    ShmRoom,
    cgroup_cpu_limit,
    check_usable_cpus,
    format_bytes,
    setup_report,
    shm_room,
    start_method,
    usable_cpus,
)

SANITIZE_CFG = Path(__file__).with_name("nbval_sanitize.cfg")


def fake_cgroup(tmp_path: Path, proc_line: str, files: dict[str, str]) -> tuple[Path, Path]:
    """Write a fake /proc/self/cgroup and a fake /sys/fs/cgroup tree."""
    proc = tmp_path / "cgroup"
    proc.write_text(proc_line + "\n")
    root = tmp_path / "sys"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return proc, root


def test_cgroup_v2_quota_of_one_cpu(tmp_path: Path) -> None:
    proc, root = fake_cgroup(tmp_path, "0::/user/binder", {"user/binder/cpu.max": "100000 100000"})
    assert cgroup_cpu_limit(proc, root) == 1.0


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    proc, root = fake_cgroup(tmp_path, "0::/", {"cpu.max": "max 100000"})
    assert cgroup_cpu_limit(proc, root) is None


def test_cgroup_v2_tightest_ancestor_wins(tmp_path: Path) -> None:
    proc, root = fake_cgroup(tmp_path, "0::/a/b", {"a/cpu.max": "50000 100000", "a/b/cpu.max": "200000 100000"})
    assert cgroup_cpu_limit(proc, root) == 0.5


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    proc, root = fake_cgroup(
        tmp_path,
        "4:memory:/x\n3:cpu,cpuacct:/docker/abc",
        {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"},
    )
    assert cgroup_cpu_limit(proc, root) == 1.5


def test_cgroup_v1_no_quota_and_container_root(tmp_path: Path) -> None:
    # Inside a container the cgroup path names the host's cgroup, but the files are mounted at the root.
    proc, root = fake_cgroup(
        tmp_path, "1:cpu:/docker/abc", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}
    )
    assert cgroup_cpu_limit(proc, root) is None


def test_no_cgroups_at_all(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "missing", tmp_path) is None


def test_usable_cpus_respects_quota_affinity_and_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "cgroup_cpu_limit", lambda: 1.0)
    assert usable_cpus() == 1
    monkeypatch.setattr(machine, "cgroup_cpu_limit", lambda: 1.2)
    assert usable_cpus() == min(2, os.cpu_count() or 1, len(os.sched_getaffinity(0)))
    monkeypatch.setattr(machine, "cgroup_cpu_limit", lambda: None)
    assert usable_cpus() == min(os.cpu_count() or 1, len(os.sched_getaffinity(0)))


def test_usable_cpus_is_cpu_count_where_there_is_no_affinity_or_cgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The docstring and lesson 00 say so for macOS and Windows: no sched_getaffinity, no cgroups."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(machine, "cgroup_cpu_limit", lambda: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    assert usable_cpus() == 12


def test_shm_room(tmp_path: Path) -> None:
    room = shm_room(tmp_path)
    assert room is not None and 0 < room.free_bytes <= room.total_bytes
    assert shm_room(tmp_path / "missing") is None


def test_shm_fits_and_bad_input() -> None:
    room = ShmRoom("/dev/shm", 64 * 2**20, 64 * 2**20)
    assert room.fits(32 * 2**20) and not room.fits(33 * 2**20)
    assert room.fits(60 * 2**20, headroom=1.0)
    with pytest.raises(ValueError, match="nbytes"):
        room.fits(-1)
    with pytest.raises(ValueError, match="headroom"):
        room.fits(1, headroom=2)


def test_format_bytes() -> None:
    assert format_bytes(512) == "512B"
    assert format_bytes(64 * 2**20) == "64.0MiB"
    assert format_bytes(1.5 * 2**30) == "1.5GiB"
    with pytest.raises(ValueError, match="negative"):
        format_bytes(-1)


def test_start_method_is_the_default_context() -> None:
    assert start_method() == multiprocessing.get_context().get_start_method()
    if os.environ.get("COURSE_START_METHOD"):
        assert start_method() == os.environ["COURSE_START_METHOD"]


def test_setup_report_ready_here() -> None:
    report = setup_report()
    assert report.ready, str(report)
    assert str(report).endswith("Ready: every lesson of the course can run here.")


def test_setup_report_says_what_to_fix() -> None:
    report = setup_report(
        python_version=(3, 9, 1), shm=ShmRoom("/dev/shm", 2**20, 2**20), packages=("no-such-package-xyz",)
    )
    text = str(report)
    assert not report.ready
    assert "✘ Python         3.9.1" in text and "install Python 3.11 to 3.15" in text
    assert "--shm-size" in text
    assert "✘ no-such-package-xyz missing" in text and "pip install -r requirements.txt" in text
    assert text.endswith("then run this cell again.")


@pytest.mark.parametrize("version", [(3, 10, 14), (3, 11, 0), (3, 15, 2), (3, 16, 0)])
def test_setup_report_python_line(version: tuple[int, int, int]) -> None:
    """Older than 3.11 is ✘ with what to do; 3.11-3.15 ✔; newer ⚠, and the student may go on."""
    report = setup_report(python_version=version, shm=ShmRoom("/dev/shm", 2**30, 2**30), packages=())
    line = str(report).splitlines()[0]
    if version < (3, 11):
        assert line.startswith("✘ Python") and "install Python 3.11 to 3.15" in line and not report.ready
    elif version < (3, 16):
        assert line.startswith("✔ Python") and "tested on 3.11 to 3.15" in line and report.ready
    else:
        assert line.startswith("⚠ Python") and "newer than the course was tested on" in line
        assert report.ready and str(report).endswith("Ready, with the ⚠ lines above to keep in mind.")


def test_setup_report_without_dev_shm() -> None:
    """macOS and Windows need no /dev/shm; Linux cannot make a lock or a segment without one."""
    for system in ("Darwin", "Windows"):
        row = setup_report(shm=None, system=system).rows[3]
        assert (row.value, row.ok) == ("none", True) and system in row.comment
    linux = setup_report(shm=None, system="Linux")
    assert (linux.rows[3].value, linux.rows[3].ok) == ("missing", False) and not linux.ready
    assert "--shm-size" in linux.rows[3].comment
    with pytest.raises(TypeError, match="ShmRoom"):
        setup_report(shm=42)  # type: ignore[arg-type]


def test_setup_report_says_what_its_cpu_count_counts() -> None:
    """Affinity and the cgroup quota are read on Linux only; elsewhere the count is os.cpu_count()."""
    rows = {system: setup_report(shm=None, system=system, cpus=8).rows[2] for system in ("Linux", "Darwin", "Windows")}
    assert "affinity and cgroup quota" in rows["Linux"].comment
    for system in ("Darwin", "Windows"):
        assert "os.cpu_count()" in rows[system].comment and system in rows[system].comment


NO_DEV_SHM = """
import multiprocessing
from helpers import setup_report
from helpers.shared_arrays import ShmRoomError, shared_array
print(str(setup_report()).splitlines()[3])
try:
    multiprocessing.Lock()
except FileNotFoundError:
    print("multiprocessing.Lock(): FileNotFoundError")
try:
    with shared_array(10):
        pass
except ShmRoomError as exc:
    print("shared_array:", exc)
"""


def private_mount_namespace() -> bool:
    """True if this process may make a private mount namespace (Linux, root, util-linux's unshare, and a root
    that is a mount point: inside a plain chroot it is not)."""
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not private_mount_namespace(), reason="needs a private mount namespace (Linux, root, unshare)")
def test_a_linux_box_without_dev_shm_is_not_ready() -> None:
    """In a private mount namespace whose /dev is an empty tmpfs, as in a container without /dev/shm."""
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f'mount -t tmpfs tmpfs /dev && exec "{sys.executable}" -c "$0"', NO_DEV_SHM],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stdout.splitlines()
    assert lines and lines[0].startswith("✘ /dev/shm       missing"), done.stdout + done.stderr
    assert "multiprocessing.Lock(): FileNotFoundError" in lines
    assert any(line.startswith("shared_array: this Linux system has no /dev/shm") for line in lines)


def test_start_method_leaves_the_default_free_to_set() -> None:
    """Lesson 00's report must observe the start method, not fix it: set_start_method still works afterwards."""
    code = (
        "import multiprocessing\nfrom helpers import setup_report, start_method\n"
        "before = start_method(); str(setup_report())\n"
        "multiprocessing.set_start_method('spawn')\n"
        "print(before == multiprocessing.get_all_start_methods()[0], multiprocessing.get_start_method())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "spawn"], done.stderr


def sanitize(text: str) -> str:
    """Apply the nbval sanitizers of tests/nbval_sanitize.cfg, as nbval does."""
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE_CFG.read_text(), flags=re.M)
    assert pairs, "no sanitizers found"
    for regex, replace in pairs:
        text = re.sub(regex, replace, text)
    return text


def test_report_reads_the_same_on_every_supported_machine_after_sanitizing() -> None:
    """Lesson 00's stored report must match a Binder box, a laptop and CI once values are normalized."""
    here = str(setup_report())
    binder = str(setup_report(python_version=(3, 12, 9), method="spawn", cpus=1, shm=ShmRoom("/dev/shm", 2**26, 2**26)))
    mac = str(setup_report(python_version=(3, 15, 2), method="forkserver", cpus=12, shm=ShmRoom("/x", 2**40, 2**39)))
    assert sanitize(here) == sanitize(binder) == sanitize(mac)
    broken = str(setup_report(python_version=(3, 9, 0)))
    assert sanitize(broken) != sanitize(here), "the sanitizer must not hide a ✘"


def test_check_usable_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_usable_cpus(usable_cpus()).passed
    wrong = check_usable_cpus(usable_cpus() + 1)
    assert not wrong.passed and "the report says" in str(wrong)
    monkeypatch.setattr(machine, "usable_cpus", lambda: 1)  # as on Binder: a quota of 1 on a bigger machine
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert "that is os.cpu_count()" in str(check_usable_cpus(16))
    assert not check_usable_cpus(None).passed
    assert not check_usable_cpus(True).passed
    assert MIN_SHM_BYTES <= 64 * 2**20, "the course must fit Binder's 64 MB /dev/shm"
