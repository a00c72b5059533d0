"""helpers.isolation: lesson 01's workers, runners and checks."""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import textwrap

import pytest

from helpers import isolation
from helpers.isolation import (
    ChildRun,
    ScriptRun,
    check_guarded_script,
    check_predictions,
    first_error_line,
    run_capturing_stderr,
    run_script_source,
    square_numbers,
    square_numbers_to_queue,
    unguarded_forkserver_as_the_table_says,
    what_the_pickle_holds,
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
        (
            "Traceback:\n  File x\nAttributeError: Can't get attribute 'cube' on <module '__main__'>\n",
            "AttributeError: Can't get attribute 'cube' on <module '__main__'>",
        ),
        (
            "RuntimeError: \n        An attempt has been made\n        to start.\n\n        More text\n",
            "RuntimeError: An attempt has been made to start.",
        ),
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


def test_unguarded_script_under_forkserver_goes_as_the_lessons_table_says() -> None:
    """Lesson 01 prints whether this run matches its table of what each Python does; the table must be right."""
    run = run_script_source(UNGUARDED, "forkserver")
    assert "Result (in process p1)" not in run.stdout, "the child never gets to run its target"
    assert unguarded_forkserver_as_the_table_says(run), str(run)


def test_the_forkserver_table_can_say_false() -> None:
    spawn_like = ScriptRun(0, "Result (in main program): []\n", "RuntimeError: An attempt has been made\n")
    server_died = ScriptRun(1, "", "ConnectionResetError: [Errno 104] Connection reset by peer\n")
    for version, died in [
        ((3, 11, 7), False),
        ((3, 13, 7), False),
        ((3, 13, 8), True),
        ((3, 14, 0), False),
        ((3, 14, 10), True),
        ((3, 15, 2), False),
        ((3, 16, 0), False),
    ]:
        assert unguarded_forkserver_as_the_table_says(server_died if died else spawn_like, version), version
        assert not unguarded_forkserver_as_the_table_says(spawn_like if died else server_died, version), version
    printed = ScriptRun(0, "Result (in process p1): [25, 100, 225]\n", "")
    assert not unguarded_forkserver_as_the_table_says(printed, (3, 11, 7)), "a child that printed is in no row"
    with pytest.raises(ValueError, match=r"3\.11 and later"):
        unguarded_forkserver_as_the_table_says(spawn_like, (3, 10, 14))
    with pytest.raises(TypeError, match="run_script_source"):
        unguarded_forkserver_as_the_table_says("exit code 0")  # type: ignore[arg-type]


def test_a_guarded_scripts_top_level_runs_in_every_spawn_child_and_once_in_the_fork_server() -> None:
    """Lesson 01's prose: every spawn child re-runs the top level; forkserver does so up to 3.13.7 and in 3.14.0,
    later releases run it once in the server (gh-126631)."""
    script = (
        'import multiprocessing, sys\nprint("top", flush=True)\ndef work():\n    pass\n'
        'if __name__ == "__main__":\n    ctx = multiprocessing.get_context(sys.argv[1])\n'
        "    cs = [ctx.Process(target=work) for _ in range(2)]\n"
        "    [c.start() for c in cs]\n    [c.join() for c in cs]\n"
    )
    assert run_script_source(script, "spawn").stdout.count("top") == 3
    server_preloads = sys.version_info >= (3, 14, 1) or (3, 13, 8) <= sys.version_info < (3, 14)
    assert run_script_source(script, "forkserver").stdout.count("top") == (2 if server_preloads else 3)


def test_what_the_pickle_holds() -> None:
    text = what_the_pickle_holds(pickle.dumps(square_numbers))
    assert text.endswith("holding only the module 'helpers.isolation' and the name 'square_numbers': no code")
    assert "not just a reference" in what_the_pickle_holds(pickle.dumps({"a": "b", "c": "d", "e": 1}))
    with pytest.raises(TypeError, match=r"pickle\.dumps"):
        what_the_pickle_holds("square_numbers")  # type: ignore[arg-type]


def test_child_error_class_is_the_same_on_every_python() -> None:
    old = ChildRun(1, "AttributeError: Can't get attribute 'cube' on <module '__main__' (built-in)>\n")
    new = ChildRun(1, "AttributeError: module '__main__' has no attribute 'cube'\n")
    assert old.error_class == new.error_class == "AttributeError"
    assert ChildRun(0, "").error_class == ""


def test_run_script_source_deadline_and_bad_input() -> None:
    # 2.5 s: the test needs the first print, and start-up is slower under load (a bare interpreter, which is all
    # this script starts, took 0.04-0.12 s to print in 5 runs here at a load average of 4; 20x that is the margin)
    run = run_script_source("import time\nprint('started', flush=True)\ntime.sleep(30)", seconds=2.5)
    assert run.returncode is None and run.stdout == "started\n"
    with pytest.raises(ValueError, match="text of a Python script"):
        run_script_source("   ")


def test_check_guarded_script() -> None:
    assert check_guarded_script(GUARDED).passed
    unguarded = check_guarded_script(UNGUARDED)
    assert not unguarded.passed and "RuntimeError" in str(unguarded)
    assert not check_guarded_script(None).passed


@pytest.mark.deep  # two scripts under spawn; the same answers run in a kernel in tests/wrong_answers.py
def test_the_guard_check_judges_what_the_child_ran_and_which_process_was_joined() -> None:
    """Two of a reviewer's answers passed: a child that only sleeps while the parent prints the squares line, and
    a join of another process with the child's name. The observed script's notes now say each started process's
    target and pid, what the main process printed, and which joins saw their process end."""
    head = GUARDED.split('if __name__ == "__main__":')[0] + 'if __name__ == "__main__":\n'
    sleeper = head + textwrap.indent(
        textwrap.dedent(
            """
            import time
            ctx = multiprocessing.get_context(sys.argv[1])
            p1 = ctx.Process(target=time.sleep, args=(0.1,), name="p1")
            p1.start()
            p1.join()
            print("Result (in process p1): [25, 100, 225]")
            print("Result (in main program):", result)
            """
        ),
        "    ",
    )
    said = str(check_guarded_script(sleeper))
    assert "the script's child ran sleep, not square_numbers" in said, said
    namesake = head + textwrap.indent(
        textwrap.dedent(
            """
            import time
            ctx = multiprocessing.get_context(sys.argv[1])
            p1 = ctx.Process(target=square_numbers, args=([5, 10, 15],), name="p1")
            p2 = ctx.Process(target=time.sleep, args=(0,), name="p1")
            p2.start(); p1.start()
            p2.join()
            time.sleep(2)
            print("Result (in main program):", result)
            """
        ),
        "    ",
    )
    said = str(check_guarded_script(namesake))
    assert "never called join() on its child" in said, said


def test_check_predictions() -> None:
    right = {"fork": True, "spawn": False, "forkserver": False}
    assert check_predictions(right).passed
    wrong = check_predictions({**right, "spawn": True})
    assert not wrong.passed and "spawn: the child saw [], so False" in str(wrong)
    assert not check_predictions({"fork": None}).passed
    assert not check_predictions("fork").passed
    assert isolation.result == [], "the check restores the parent's list"


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_generator_passed_to_children_is_copied_under_every_start_method(method: str) -> None:
    """Lesson 01 shows it under spawn and says so of every start method."""
    import numpy as np

    from helpers.isolation import draw_random, in_children

    rng = np.random.default_rng(7)
    drawn = in_children(method, draw_random, [(rng,)] * 2)
    assert drawn == [rng.random()] * 2, "each child draws from its copy of the generator itself"
    seeds = np.random.SeedSequence(7).spawn(2)
    assert len(set(in_children(method, draw_random, [(s,) for s in seeds]))) == 2
