"""Tests for helpers.segments: lesson 04's workers, separate-process experiments and exercise checks."""

from __future__ import annotations

import multiprocessing
from multiprocessing import shared_memory

import numpy as np
import pytest

from helpers import run_with_deadline
from helpers.segments import (
    check_lifecycle,
    check_normalized,
    die_while_attached,
    double_in_place,
    normalize_row,
    normalized,
    run_python,
    segment_exists,
    touch_a_missing_page,
)
from helpers.shared_arrays import shared_array


def test_a_child_doubles_what_the_parent_sees() -> None:
    shm = shared_memory.SharedMemory(create=True, size=24)
    try:
        values = np.frombuffer(shm.buf, dtype=np.int64, count=3)
        values[:] = [1, 2, 3]
        p = multiprocessing.Process(target=double_in_place, args=(shm.name, 3))
        assert run_with_deadline([p], 10).all_finished
        assert values.tolist() == [2, 4, 6]
        del values
    finally:
        shm.close()
        shm.unlink()
    assert not segment_exists(shm.name)


def test_segment_exists_needs_a_name() -> None:
    with pytest.raises(TypeError, match="segment's name"):
        segment_exists(None)  # type: ignore[arg-type]


def test_a_dead_worker_does_not_stop_the_owner_from_cleaning_up() -> None:
    with shared_array(10, "int64") as shared:
        report = run_with_deadline(
            [multiprocessing.Process(target=die_while_attached, args=(shared.spec,), name="d")], 10
        )
        assert report.exitcodes == {"d": 3} and shared.array[0] == 42
    assert not segment_exists(shared.name)


def test_touching_a_missing_page_is_a_bus_error_in_the_child_only() -> None:
    report = run_with_deadline([multiprocessing.Process(target=touch_a_missing_page, name="t")], 10)
    assert report.exitcodes == {"t": -7}


def test_run_python_reports_crashes_and_tracker_warnings() -> None:
    crash = run_python("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert crash.crashed_by_signal == "SIGSEGV"
    fine = run_python("import sys; sys.exit(sys.argv[1] == 'x')", "y")
    assert (fine.returncode, fine.crashed_by_signal, fine.resource_tracker_warned) == (0, None, False)


def test_normalize_row_and_its_check() -> None:
    data = np.arange(12, dtype=float).reshape(3, 4) ** 2
    with shared_array(data.shape, copy_from=data) as shared:
        procs = [multiprocessing.Process(target=normalize_row, args=(shared.spec, r)) for r in range(3)]
        assert run_with_deadline(procs, 10).all_finished
        result = shared.array.copy()
    assert np.allclose(result, normalized(data))
    assert check_normalized(result, data).passed
    half = result.copy()
    half[1] = data[1]
    feedback = check_normalized(half, data)
    assert not feedback.passed and "rows [1] of 3 are not normalized" in str(feedback)
    assert not check_normalized(None, data).passed


def test_normalize_row_refuses_a_row_that_does_not_exist() -> None:
    with shared_array((2, 3)) as shared, pytest.raises(ValueError, match="row 5 is not a row"):
        normalize_row(shared.spec, 5)


def test_the_lifecycle_check_finds_and_removes_a_leak() -> None:
    shm = shared_memory.SharedMemory(create=True, size=16)
    shm.close()
    feedback = check_lifecycle(shm.name, b"hello")
    assert not feedback.passed and "never unlinked it" in str(feedback)
    assert not segment_exists(shm.name), "the check removed the leftover"
    assert check_lifecycle(shm.name, b"hello").passed
    assert not check_lifecycle(shm.name, "hello").passed


def test_the_resource_tracker_starts_at_the_first_segment_only_in_a_fork_only_program() -> None:
    """survives_a_pool_worker's docstring and lesson 04, section 3: a fork lock or queue registers nothing, so the
    first segment starts the tracker; a forkserver (or spawn) lock registers its semaphore and starts it at once."""
    code = """
        import multiprocessing, sys
        from multiprocessing import resource_tracker, shared_memory
        def running():
            return resource_tracker._resource_tracker._pid is not None
        ctx = multiprocessing.get_context(sys.argv[1])
        lock, queue = ctx.Lock(), ctx.Queue()
        before = running()
        shm = shared_memory.SharedMemory(create=True, size=8)
        after = running()
        shm.close()
        shm.unlink()
        sys.exit(before * 2 + after)
    """
    fork = run_python(code, "fork")
    assert fork.returncode == 1, f"fork: tracker before/after the first segment: {divmod(fork.returncode, 2)}"
    forkserver = run_python(code, "forkserver")
    assert forkserver.returncode == 3, f"forkserver: {divmod(forkserver.returncode, 2)} {forkserver.stderr}"


# spawn hands its workers the owner's tracker exactly as forkserver does; checking it too would add 3 s, no coverage.
@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_pool_worker_unlinks_the_owners_segment_only_if_forked_before_its_tracker(method: str) -> None:
    """Lesson 04, section 3: with fork, a pool started before the first segment has workers without the owner's
    tracker, and their own unlinks the segment; forkserver (and spawn) workers are safe in either order."""
    code = (
        "import sys\nfrom helpers.segments import survives_a_pool_worker\n"
        f"sys.exit(int(survives_a_pool_worker(True, {method!r}, wait=0.4)) * 2"
        f" + int(survives_a_pool_worker(False, {method!r}, wait=0.4)))"
    )
    run = run_python(code)
    pool_first, segment_first = divmod(run.returncode, 2)
    assert segment_first == 1, run.stderr
    assert pool_first == (0 if method == "fork" else 1), run.stderr


def test_the_normalize_check_judges_the_workers_segment_and_their_errors() -> None:
    """Workers that normalized another array, or that stopped on an error, are told apart from workers that did the
    work (two of a reviewer's answers: a dummy segment with a NumPy result, and the SharedArray for its spec)."""
    from helpers.feedback import new_attempt

    data = np.arange(12, dtype=float).reshape(3, 4) ** 2
    new_attempt()
    with shared_array((3, 8), copy_from=np.ones((3, 8)) * np.arange(8)) as dummy:
        procs = [multiprocessing.Process(target=normalize_row, args=(dummy.spec, r)) for r in range(3)]
        assert run_with_deadline(procs, 10).all_finished
    said = str(check_normalized(normalized(data), data))
    assert "rows of a (3, 8) array, not of data (3, 4)" in said, said
    new_attempt()
    with shared_array(data.shape, copy_from=data) as shared:
        procs = [multiprocessing.Process(target=normalize_row, args=(shared, r)) for r in range(3)]
        run_with_deadline(procs, 10)
        result = shared.array.copy()
    said = str(check_normalized(result, data))
    assert "normalize_row stopped with an error in 3 of its 3 call(s): TypeError" in said, said
    assert "ran normalize_row" not in said, said
