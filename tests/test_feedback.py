"""helpers.feedback: self-checks say what is right and wrong, and never raise."""

from __future__ import annotations

import inspect

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
