"""Self-checks for exercises: say what is right and what is still wrong, never raise.

Every exercise in the course ends with a call such as
``check_squares(result, square_sum)``. It returns a :class:`Feedback`, which
a notebook shows as a few lines::

    Check: squares through a shared Array
    ✔ result is a shared Array of C ints ('i')
    ✘ result holds [0, 0, 0, 0]; expected [4, 16, 36, 64]: did you start and join the process?
    1 of 2 checks pass; fix the ✘ lines and run the check again.

A check never raises at the student: a mistake in the answer, even one that
makes the check itself fail, becomes a ✘ line that says what went wrong.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

__all__ = ["Feedback", "self_check"]

P = ParamSpec("P")


class Feedback:
    """The outcome of one exercise check: a title and a list of ✔/✘ lines."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.lines: list[tuple[bool, str]] = []

    def ok(self, message: str) -> None:
        """Record something the answer gets right."""
        self.lines.append((True, message))

    def fail(self, message: str) -> None:
        """Record something still wrong; the message should say what to do."""
        self.lines.append((False, message))

    def expect(self, condition: bool, right: str, wrong: str) -> bool:
        """Record ``right`` if ``condition`` holds, else ``wrong``; return ``condition``."""
        (self.ok if condition else self.fail)(right if condition else wrong)
        return bool(condition)

    @property
    def passed(self) -> bool:
        """True when there was something to check and all of it is right."""
        return bool(self.lines) and all(good for good, _ in self.lines)

    def __str__(self) -> str:
        out = [f"Check: {self.title}"]
        out += [f"{'✔' if good else '✘'} {message}" for good, message in self.lines]
        n_ok = sum(good for good, _ in self.lines)
        if self.passed:
            out.append(f"All {n_ok} checks pass. Well done!")
        else:
            out.append(f"{n_ok} of {len(self.lines)} checks pass; fix the ✘ lines and run the check again.")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display hook
        printer.text(str(self))


def self_check(title: str) -> Callable[[Callable[Concatenate[Feedback, P], None]], Callable[P, Feedback]]:
    """Turn ``check(feedback, *answer)`` into ``check(*answer) -> Feedback``.

    The wrapped function records ✔/✘ lines on the :class:`Feedback` it is
    given. Any exception it raises (say the student passed a list where a
    shared Array was expected) becomes a ✘ line instead of a traceback.
    """

    def decorate(check: Callable[Concatenate[Feedback, P], None]) -> Callable[P, Feedback]:
        @functools.wraps(check)
        def run(*args: P.args, **kwargs: P.kwargs) -> Feedback:
            feedback = Feedback(title)
            try:
                check(feedback, *args, **kwargs)
            except Exception as exc:
                what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                feedback.fail(
                    f"the check stopped on {what}. Compare your answer with the task and run the check again."
                )
            return feedback

        params = list(inspect.signature(check).parameters.values())[1:]
        run.__signature__ = inspect.Signature(params, return_annotation=Feedback)  # type: ignore[attr-defined]
        return run

    return decorate
