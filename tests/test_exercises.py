"""Every exercise's self-check, tried as students try it: right answers, the solution, and realistic wrong answers.

For each lesson, in one real kernel started in ``notebooks/`` (as a lesson's kernel is): for each of its exercises,
run what the exercise needs of the lesson, then each answer of ``tests/wrong_answers.py`` as the student's starter
cell, then the exercise's own check cell (its code taken from the notebook). A right answer, and the solution file
(run as ``%load`` leaves it in the cell), must pass every check; a wrong answer must get a ✘ line whose hint names
its mistake. A check must never raise, and an answer that would hang is interrupted, as a student would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from helpers.subinterpreters import UNAVAILABLE

sys.path.insert(0, str(Path(__file__).parent))
from kernels import NOTEBOOKS, CellRun, Kernel, kernel
from wrong_answers import EXERCISES, Answer, Exercise

LESSONS = sorted({e.lesson for e in EXERCISES})
#: Started first, so that no long lesson waits for a free kernel at the end (measured on 3.11: 01 and 06 take about
#: 8 s each, 02 6 s, 03 5 s, the others 2 to 3 s). Only the order of the work depends on it, not what is checked.
LONGEST_FIRST = ("01_process_isolation", "06_patterns_that_scale", "02_values_and_arrays", "03_races_and_locks")
#: Lessons this Python cannot run, with the reason (lesson 07 needs Python 3.14+).
CANNOT_RUN = {lesson: UNAVAILABLE for lesson in LESSONS if lesson.startswith("07_") and UNAVAILABLE}


def code_cell(lesson: str, piece: str) -> str:
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and piece in c.source]
    assert len(found) == 1, f"{lesson}: {len(found)} code cells contain {piece!r}"
    return found[0]


def verdict(run: CellRun) -> str:
    """The check's lines as the student reads them."""
    return run.text.strip()


def judge(exercise: Exercise, label: str, attempt: CellRun, check: CellRun, hint: tuple[str, ...]) -> list[str]:
    """What is wrong with the check's answer to one attempt (empty if the check said the right thing)."""
    where = f"{exercise.lesson} exercise {exercise.number}, {label!r}"
    if check.error:
        return [f"{where}: the check cell raised {check.error}"]
    full = verdict(check)
    if "Check: " not in full:
        return [f"{where}: the check printed no feedback:\n{full}"]
    text = full[full.index("Check: ") :]  # a solution prints what its child printed first
    if not hint:
        return [] if "Well done!" in text and "✘" not in text else [f"{where}: a right answer did not pass:\n{text}"]
    failures = [line for line in text.splitlines() if line.startswith("✘")]
    if not failures:
        return [f"{where}: a wrong answer passed:\n{text}"]
    missing = [f for f in hint if not any(f in line for line in failures)]
    return [f"{where}: the ✘ lines do not say {missing}:\n{text}"] if missing else []


def try_answer(k: Kernel, exercise: Exercise, answer: Answer, check_source: str) -> list[str]:
    attempt = k.run(answer.code, timeout=60, interrupt_after=answer.interrupt_after)
    check = k.run(check_source, timeout=120)
    problems = judge(exercise, answer.label, attempt, check, answer.hint)
    if answer.undo:
        k.run(answer.undo, timeout=60)
    return problems


def grade_lesson(lesson: str) -> list[str]:
    """Every exercise of ``lesson``, every answer, in one kernel; what the checks got wrong (empty if nothing)."""
    problems: list[str] = []
    with kernel(shutdown_now=True) as k:
        for exercise in (e for e in EXERCISES if e.lesson == lesson):
            for piece in exercise.cells:
                ran = k.run(code_cell(lesson, piece), timeout=120)
                if ran.error:
                    return [f"{lesson}: setting up with {piece!r} failed: {ran.error}"]
            if exercise.setup:
                ran = k.run(exercise.setup, timeout=120)
                if ran.error:
                    return [f"{lesson}: the setup of exercise {exercise.number} failed: {ran.error}"]
            check_source = code_cell(lesson, exercise.check)
            solution = (NOTEBOOKS / "solutions" / exercise.solution).read_text()
            problems += judge(exercise, "the solution", CellRun(), k.run(solution, timeout=120), ())
            for answer in exercise.answers:
                problems += try_answer(k, exercise, answer, check_source)
        cleaned = k.run(code_cell(lesson, "release_all()"), timeout=120)
        if cleaned.error or "✘" in cleaned.text:
            problems.append(f"{lesson}: Clean up after the exercises: {cleaned.error or cleaned.text}")
    return problems


@pytest.fixture(scope="module")
def graded(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[list[str]]]]:
    """The lessons this run selected, three at a time, each in its own kernel: most of the time goes into waiting
    (for deadlines, for processes to start), which kernels can do side by side, even on one CPU; more at once only
    crowd the CPUs."""
    selected = {
        item.callspec.params["lesson"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_every_exercise_grades_right_and_wrong_answers"
    }
    rank = {lesson: i for i, lesson in enumerate(LONGEST_FIRST)}
    order = sorted(selected - set(CANNOT_RUN), key=lambda lesson: (rank.get(lesson, len(rank)), lesson))
    with ThreadPoolExecutor(max_workers=3) as pool:
        yield {lesson: pool.submit(grade_lesson, lesson) for lesson in order}


@pytest.mark.deep
@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_grades_right_and_wrong_answers(graded: dict[str, Future[list[str]]], lesson: str) -> None:
    if lesson in CANNOT_RUN:
        pytest.skip(CANNOT_RUN[lesson])
    problems = graded[lesson].result()
    assert not problems, "\n\n".join(problems)


def test_every_exercise_has_a_solution_and_four_wrong_answers() -> None:
    for exercise in EXERCISES:
        assert (NOTEBOOKS / "solutions" / exercise.solution).is_file(), exercise.solution
        wrong = [a for a in exercise.answers if a.hint]
        assert len(wrong) >= 4, f"{exercise.lesson} exercise {exercise.number}: {len(wrong)} wrong answers"
    solutions = {p.name for p in (NOTEBOOKS / "solutions").glob("*.py")}
    assert solutions == {e.solution for e in EXERCISES}, "every solution file belongs to a listed exercise"


def test_a_wrong_answer_that_passes_is_caught() -> None:
    """The judge can fail: a right answer given a hint to find, and a check that says nothing, are both caught."""
    exercise = EXERCISES[0]
    passing = CellRun(results=["Check: x\n✔ fine\nAll 1 checks pass. Well done!"])
    assert judge(exercise, "w", CellRun(), passing, ("some hint",))
    assert judge(exercise, "r", CellRun(), CellRun(stdout="nothing"), ())
    assert judge(exercise, "r", CellRun(), CellRun(error="NameError: name 'x' is not defined"), ())
    wrong = CellRun(results=["Check: x\n✘ the hint\n0 of 1 checks pass"])
    assert not judge(exercise, "w", CellRun(), wrong, ("the hint",))
    assert judge(exercise, "w", CellRun(), wrong, ("another hint",))
