"""Tests for helpers.shared_arrays: shared NumPy arrays that are always closed and unlinked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers import shared_arrays
from helpers.cleanup import course_segment_name
from helpers.interrupts import interrupts_deferred
from helpers.machine import ShmRoom
from helpers.shared_arrays import ArraySpec, ShmRoomError, attach_array, shared_array

SHM = Path("/dev/shm")
needs_dev_shm = pytest.mark.skipif(not SHM.is_dir(), reason="needs /dev/shm (Linux)")


def segment_exists(name: str) -> bool:
    return (SHM / name).exists()


@needs_dev_shm
def test_a_write_through_an_attached_view_is_seen_by_the_owner() -> None:
    with shared_array((2, 3), "int32") as shared:
        assert shared.spec == ArraySpec(shared.name, (2, 3), "<i4")
        assert shared.name.startswith("mpcourse_") and segment_exists(shared.name)
        assert shared.array.sum() == 0, "a new segment is zero-filled"
        with attach_array(shared.spec) as other:
            other[1, 2] = 42
            assert other.ctypes.data != shared.array.ctypes.data, "two mappings of the same memory"
        assert shared.array[1, 2] == 42
    assert not segment_exists(shared.name)


@needs_dev_shm
def test_the_segment_is_unlinked_when_the_block_ends_by_an_error_or_an_interrupt() -> None:
    for exc in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), shared_array(10) as shared:
            raise exc
        assert not segment_exists(shared.name)


def test_the_array_cannot_be_used_after_the_block() -> None:
    with shared_array(4, copy_from=[1, 2, 3, 4]) as shared:
        assert shared.array.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(RuntimeError, match="closed and unlinked"):
        _ = shared.array


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )


@needs_dev_shm
def test_a_view_kept_after_the_block_stays_valid_and_nothing_is_printed_or_left() -> None:
    """np.frombuffer holds the buffer, so close() cannot unmap memory a view still uses."""
    result = run_python(
        """
        import gc, os
        from helpers.shared_arrays import shared_array
        with shared_array(5) as shared:
            kept = shared.array
            kept[:] = 7
        print(os.path.exists("/dev/shm/" + shared.name), kept.sum())
        del shared, kept
        gc.collect()
        print("done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "35.0", "done"]
    assert result.stderr == "", "no 'Exception ignored' or resource tracker warning"


@needs_dev_shm
def test_a_frombuffer_view_holds_the_segments_mmap_not_its_buf() -> None:
    """As _view's docstring says: the view's base is a memoryview of its own, so a refused close() drops buf."""
    segment = shared_arrays._Segment(name=course_segment_name(), create=True, size=40)
    try:
        view = shared_arrays._view(segment, ArraySpec(segment.name, (5,), "<i8"))
        view[:] = 7
        base = view.base
        while isinstance(base, np.ndarray):  # past the reshape's view
            base = base.base
        assert isinstance(base, memoryview) and base is not segment.buf
        del base
        assert shared_arrays._close_quietly(segment) is False, "close() must refuse while the view lives"
        assert segment.buf is None, "the refused close() released segment.buf"
        assert view.sum() == 35, "the mmap is still mapped under the view"
        del view
        assert shared_arrays._close_quietly(segment) is True
    finally:
        segment.unlink()


@needs_dev_shm
def test_a_process_that_only_attached_does_not_unlink_the_segment_when_it_exits() -> None:
    """The resource tracker bug of Python < 3.13 (gh-82300) must not bite attach_array."""
    with shared_array(3) as shared:
        result = run_python(
            f"""
            from helpers.shared_arrays import ArraySpec, attach_array
            with attach_array(ArraySpec({shared.name!r}, (3,), "<f8")) as a:
                a[:] = [1, 2, 3]
            """
        )
        assert result.returncode == 0, result.stderr
        assert "leaked" not in result.stderr, result.stderr
        assert segment_exists(shared.name), "the attaching process's exit unlinked the owner's segment"
        assert shared.array.tolist() == [1.0, 2.0, 3.0]


def test_an_array_that_does_not_fit_in_dev_shm_is_refused_before_it_is_created(monkeypatch) -> None:
    monkeypatch.setattr(shared_arrays, "shm_room", lambda: ShmRoom("/dev/shm", 64 * 2**20, 10 * 2**20))
    with (
        pytest.raises(ShmRoomError, match=r"does not fit in /dev/shm \(free: 10.0MiB"),
        shared_array((2**20, 2), "float64"),  # 16 MiB
    ):
        pass
    with shared_array(2**20, "uint8") as shared:  # 1 MiB fits
        assert shared.array.nbytes == 2**20


@pytest.mark.parametrize("shape", [0, (2, 0), -1, (2.0,), "x", (), True])
def test_a_bad_shape_says_what_a_shape_is(shape) -> None:
    with pytest.raises(ValueError, match="shape must be a positive int"), shared_array(shape):
        pass


def test_bad_dtypes_and_data_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="not a NumPy dtype"), shared_array(3, "no-such-type"):
        pass
    with pytest.raises(ValueError, match="Python objects"), shared_array(3, object):
        pass
    with pytest.raises(ValueError, match=r"copy_from has shape \(2,\)"), shared_array(3, copy_from=[1, 2]):
        pass


def test_attach_needs_a_spec_of_a_live_segment() -> None:
    with pytest.raises(TypeError, match="needs the ArraySpec"), attach_array("mpcourse_x"):  # type: ignore[arg-type]
        pass
    with pytest.raises(FileNotFoundError, match="unlinked already"), attach_array(ArraySpec("mpcourse_0", (1,), "<f8")):
        pass


def test_spec_size() -> None:
    assert ArraySpec("x", (10, 4), "<f4").nbytes == 160
    assert np.dtype(ArraySpec("x", (1,), np.dtype("int16").str).dtype) == np.int16


def test_ctrl_c_while_a_segment_is_created_is_held_back_until_its_cleanup_is_in_place() -> None:
    import signal
    import time

    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # Python runs the handler here: recorded, not raised
        reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the original handler is back"


@needs_dev_shm
def test_ctrl_c_at_any_moment_of_a_block_leaves_no_segment_while_its_traceback_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A KeyboardInterrupt handled just after the segment was filled (in a generator-based context manager's
    __enter__) or on __exit__'s first line escaped every clean-up: the segment stayed in /dev/shm as long as the
    traceback did, as in a notebook after an interrupted cell (seen in lesson 05, 1 interrupt in 12; here, 8 of
    10 blocks before the fix). Ctrl-C is sent at a random moment of each block, which copies 8 MiB. Only the
    segments these blocks named are looked for: a kernel open beside the suite makes segments of its own."""
    import random
    import time

    names: list[str] = []

    def recorded_name() -> str:
        names.append(name := course_segment_name())
        return name

    monkeypatch.setattr(shared_arrays, "course_segment_name", recorded_name)

    data = np.ones(2**20)
    started = time.perf_counter()
    with shared_array(data.shape, copy_from=data):
        pass
    block = time.perf_counter() - started
    caught: list[BaseException] = []  # kept alive, as a kernel keeps the last traceback
    left, interrupted = [], 0
    for _ in range(25):
        sent = threading.Event()
        timer = threading.Timer(random.uniform(0, block), _interrupt_this_process, (sent,))
        try:
            timer.start()
            with shared_array(data.shape, copy_from=data):
                pass
            sent.wait(5)
            time.sleep(0.001)  # the handler runs here if the block was done before the signal came
        except KeyboardInterrupt as error:
            caught.append(error)
            interrupted += 1
        while True:  # the signal may come after the block: wait for it here, where nothing is held
            try:
                sent.wait(5)
                timer.join()
                time.sleep(0.001)
                break
            except KeyboardInterrupt as error:
                caught.append(error)
        left += [name for name in names if (SHM / name).exists()]
        caught.clear()
    assert interrupted >= 5, "too few interrupts landed inside a block to test anything"
    assert not left, f"segments left while the traceback lived: {left}"


def _interrupt_this_process(sent: threading.Event) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    sent.set()
