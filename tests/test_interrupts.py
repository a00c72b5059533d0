"""helpers.interrupts: a Ctrl-C never skips a guarded block's clean-up, and is never lost."""

from __future__ import annotations

import os
import signal
import time

import pytest

from helpers.interrupts import GuardedBlock


class Recorder(GuardedBlock[list[str]]):
    """Records what happened; its clean-up takes a Ctrl-C half-way when asked to."""

    def __init__(self, interrupt_while_closing: bool = False) -> None:
        self.log: list[str] = []
        self.interrupt_while_closing = interrupt_while_closing

    def _open(self) -> list[str]:
        self.log.append("opened")
        return self.log

    def _close(self) -> None:
        if self.interrupt_while_closing:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # Python handles the signal here: held back, not raised
        self.log.append("closed")


def test_a_ctrl_c_during_the_clean_up_is_held_until_it_is_done_then_raised() -> None:
    block = Recorder(interrupt_while_closing=True)
    with pytest.raises(KeyboardInterrupt), block:
        pass
    assert block.log == ["opened", "closed"], "the clean-up ran to its end before the KeyboardInterrupt"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the original handler is back"


def test_a_ctrl_c_in_the_block_is_raised_there_and_the_clean_up_still_runs() -> None:
    block = Recorder()
    with pytest.raises(KeyboardInterrupt), block:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        block.log.append("not reached")
    assert block.log == ["opened", "closed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_while_opening_releases_what_was_made() -> None:
    class Failing(Recorder):
        def _open(self) -> list[str]:
            self.log.append("made half")
            raise OSError("no room")

    block = Failing()
    with pytest.raises(OSError, match="no room"), block:
        pass
    assert block.log == ["made half", "closed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
