"""Checks of the arguments the helpers take, with errors that say what was wrong."""

from __future__ import annotations


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int of at least 1 (``True`` and ``False`` are not); else raise ValueError.

    The error names the argument and the value given, e.g. ``repeats must be a positive int, got 0``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value
