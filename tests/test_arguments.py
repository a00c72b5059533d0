"""Tests for helpers.arguments: argument checks shared by the helpers."""

from __future__ import annotations

import pytest

from helpers.arguments import positive_int


def test_a_positive_int_is_returned() -> None:
    assert positive_int("repeats", 1) == 1
    assert positive_int("repeats", 7) == 7


@pytest.mark.parametrize("value", [0, -3, 1.0, "5", True, None])
def test_anything_else_is_refused_with_the_name_and_the_value(value) -> None:
    with pytest.raises(ValueError, match=rf"^repeats must be a positive int, got {value!r}$"):
        positive_int("repeats", value)
