"""helpers.copy_on_write: lesson 05's copy-on-write demo. The stored lesson output checks the measured lines
(nbval runs it at the default size); these tests check its input errors and its answer where it cannot measure."""

from __future__ import annotations

import pytest

from helpers import copy_on_write
from helpers.copy_on_write import copy_on_write_lines, private_dirty_bytes


@pytest.mark.parametrize("count", [10, 1.5, True, "500000"])
def test_a_bad_count_says_what_it_must_be(count: object) -> None:
    with pytest.raises(ValueError, match="whole number of at least 1000"):
        copy_on_write_lines(count)  # type: ignore[arg-type]


def test_without_smaps_it_says_it_did_not_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copy_on_write, "SMAPS", "/proc/self/no-such-file")
    (line,) = copy_on_write_lines()
    assert line.startswith("not measured here") and not line.endswith(("True", "False"))


def test_private_dirty_grows_when_this_process_writes_new_memory() -> None:
    before = private_dirty_bytes()
    block = bytearray(8 * 2**20)  # zero-filled by the allocator: written pages
    block[::4096] = b"x" * len(block[::4096])
    assert private_dirty_bytes() - before >= 6 * 2**20
