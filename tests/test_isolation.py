"""helpers.isolation: lesson 01's workers, runners and checks."""

from __future__ import annotations

import multiprocessing
import textwrap

import pytest

from helpers import isolation
from helpers.isolation import (
    check_guarded_script,
    check_predictions,
    first_error_line,
    run_capturing_stderr,
    run_script_source,
    square_numbers,
    square_numbers_to_queue,
)

SEED = textwrap.dedent(
    """
    import multiprocessing
    import sys

    result = []


    def square_numbers(numbers):
        for n in numbers:
            result.append(n * n)
        print("Result (in process p1):", result)

    {guard}
    ctx = multiprocessing.get_context(sys.argv[1])
    p1 = ctx.Process(target=square_numbers, args=([5, 10, 15],), name="p1")
    p1.start()
    p1.join()
    print("Result (in main program):", result)
    """
)
UNGUARDED = SEED.format(guard="")
GUARDED = SEED.format(guard='if __name__ == "__main__":').replace("\nctx", "\n    ctx").replace("\np1", "\n    p1")
GUARDED = GUARDED.replace('\nprint("Result (in main', '\n    print("Result (in main')


def test_square_numbers_fills_only_this_process_list(capsys: pytest.CaptureFixture[str]) -> None:
    before = list(isolation.result)
    try:
        square_numbers([5, 10, 15])
        assert isolation.result[-3:] == [25, 100, 225]
        assert "[25, 100, 225]" in capsys.readouterr().out
    finally:
        isolation.result[:] = before


def test_child_list_stays_in_the_child() -> None:
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=square_numbers_to_queue, args=([5, 10, 15], queue))
    child.start()
    assert queue.get(timeout=10) == [25, 100, 225]
    child.join(10)
    assert isolation.result == []


@pytest.mark.parametrize(
    ("stderr", "line"),
    [
        ("Traceback:\n  File x\nAttributeError: Can't get attribute 'cube' on <module '__main__'>\n",
         "AttributeError: Can't get attribute 'cube' on <module '__main__'>"),
        ("RuntimeError: \n        An attempt has been made\n        to start.\n\n        More text\n",
         "RuntimeError: An attempt has been made to start."),
        ("KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("\x1b[1;35mValueError\x1b[0m: \x1b[35mbad\x1b[0m\n", "ValueError: bad"),
        ("all fine\n", ""),
        ("", ""),
    ],
)
def test_first_error_line(stderr: str, line: str) -> None:
    assert first_error_line(stderr) == line


def test_run_capturing_stderr_keeps_a_spawn_childs_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # as in a Jupyter kernel: 3.13 colours tracebacks
    spawn = multiprocessing.get_context("spawn")
    run = run_capturing_stderr(spawn.Process(target=int, args=("x",)))
    assert run.exitcode == 1
    assert run.error == "ValueError: invalid literal for int() with base 10: 'x'"


def test_run_capturing_stderr_refuses_what_it_cannot_capture() -> None:
    with pytest.raises(ValueError, match="needs a spawn process"):
        run_capturing_stderr(multiprocessing.get_context("fork").Process(target=int))
    with pytest.raises(TypeError, match="Process object"):
        run_capturing_stderr("not a process")  # type: ignore[arg-type]


def test_unguarded_script_fails_only_under_spawn() -> None:
    fork = run_script_source(UNGUARDED, "fork")
    assert fork.returncode == 0 and fork.error == ""
    assert fork.stdout.splitlines() == ["Result (in process p1): [25, 100, 225]", "Result (in main program): []"]
    spawn = run_script_source(UNGUARDED, "spawn")
    assert spawn.returncode == 0, "the parent does not notice that its child crashed"
    assert spawn.error.startswith("RuntimeError: An attempt has been made to start a new process")
    assert spawn.stdout.splitlines() == ["Result (in main program): []"]


def test_run_script_source_deadline_and_bad_input() -> None:
    run = run_script_source("import time\nprint('started', flush=True)\ntime.sleep(30)", seconds=1)
    assert run.returncode is None and run.stdout == "started\n"
    with pytest.raises(ValueError, match="text of a Python script"):
        run_script_source("   ")


def test_check_guarded_script() -> None:
    assert check_guarded_script(GUARDED).passed
    unguarded = check_guarded_script(UNGUARDED)
    assert not unguarded.passed and "RuntimeError" in str(unguarded)
    assert not check_guarded_script(None).passed


def test_check_predictions() -> None:
    right = {"fork": True, "spawn": False, "forkserver": False}
    assert check_predictions(right).passed
    wrong = check_predictions({**right, "spawn": True})
    assert not wrong.passed and "spawn: not quite, the child saw []" in str(wrong)
    assert not check_predictions({"fork": None}).passed
    assert not check_predictions("fork").passed
    assert isolation.result == [], "the check restores the parent's list"
