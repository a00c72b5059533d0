"""helpers.feedback: self-checks say what is right and wrong, and never raise."""

from __future__ import annotations

import collections
import inspect
from typing import ClassVar

import pytest

from helpers.feedback import Feedback, self_check


@self_check("double it")
def check_double(feedback: Feedback, x: int, doubled: int) -> None:
    feedback.expect(doubled == 2 * x, "right", f"{doubled} is not twice {x}")


def test_passing_and_failing_lines() -> None:
    good = check_double(2, 4)
    assert good.passed
    assert str(good) == "Check: double it\n✔ right\nAll 1 checks pass. Well done!"
    bad = check_double(2, 5)
    assert not bad.passed
    assert "✘ 5 is not twice 2" in str(bad)
    assert str(bad).endswith("0 of 1 checks pass; fix the ✘ lines and run the check again.")


def test_an_exception_in_the_check_becomes_a_failed_line() -> None:
    @self_check("crash")
    def check_crash(feedback: Feedback, value: object) -> None:
        feedback.ok("started")
        raise KeyError("missing")

    crashed = check_crash(1)
    assert not crashed.passed
    assert "✔ started" in str(crashed)
    assert "✘ the check stopped on KeyError: 'missing'" in str(crashed)


def test_an_exception_without_message_names_its_type() -> None:
    @self_check("empty")
    def check_empty(feedback: Feedback) -> None:
        raise TimeoutError

    assert "✘ the check stopped on TimeoutError." in str(check_empty())


def test_empty_feedback_does_not_pass() -> None:
    assert not Feedback("nothing").passed


def test_signature_hides_the_feedback_parameter() -> None:
    assert list(inspect.signature(check_double).parameters) == ["x", "doubled"]
    assert check_double.__name__ == "check_double"


def test_the_cell_that_made_a_value_follows_every_rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lesson 04's check reruns the cell that made ``name``. Told by id alone, a new name string that got the freed
    address of the last one passed for it, and the check reran an earlier answer (a wrong answer passed, 3.14)."""
    from helpers import feedback

    class Shell:
        user_ns: ClassVar[dict[str, object]] = {}

    class Cell:
        def __init__(self, source: str) -> None:
            self.raw_cell = source

    monkeypatch.setattr(feedback, "_shell", lambda: Shell)
    monkeypatch.setattr(feedback, "_BOUND", {})
    for record in ("_CELLS", "_CELL_STARTS"):
        monkeypatch.setattr(feedback, record, collections.deque(maxlen=100))
    monkeypatch.setattr(feedback, "_CHILDREN_AT", {})

    def run(source: str, **bind: object) -> None:
        feedback._remember(Cell(source))
        Shell.user_ns.update(bind)
        feedback._note_bindings()

    first = "".join(["psm_", "a" * 8])
    run("first answer", name=first)
    assert feedback.cell_that_made(first) == "first answer"
    assert feedback._BOUND["name"][0][1] is first, "a string is held, so that its address cannot be reused"
    run("reset", name=None)
    assert "name" in feedback._BOUND
    second = "".join(["psm_", "b" * 8])
    run("second answer", name=second)
    assert feedback.cell_that_made(second) == "second answer"
    assert feedback.cell_that_made(first) is None, "no variable holds the first any more"
    del Shell.user_ns["name"]
    feedback._note_bindings()
    assert "name" not in feedback._BOUND, "a deleted variable's value is let go"
