"""What a lesson's cell printed in this test run, as text for a failure report.

nbval says *that* a cell's outputs differ from the stored ones ("Unexpected
output fields from running code: {'stderr'}") but not what the cell printed.
``conftest.py`` adds this text to the report of every failed cell, so a CI
log shows the message itself: a warning, a child's traceback, a claim that
came out False.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Longest text kept per report; the start of a message is the part that names it.
LIMIT = 4000


def describe_outputs(outputs: Iterable[Mapping[str, Any]], limit: int = LIMIT) -> str:
    """One block per output: ``[stdout]``/``[stderr]`` text, ``[error]`` name and value, or ``[result]`` text.

    ``outputs`` are nbformat output dicts, as nbval collects them when it runs a cell.
    Text past ``limit`` characters is cut, and the cut is said.
    """
    if limit < 1:
        raise ValueError(f"limit must be a positive number of characters, got {limit!r}")
    blocks = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            blocks.append(f"[{output.get('name', 'stream')}]\n{_text(output.get('text', ''))}")
        elif kind == "error":
            blocks.append(f"[error] {output.get('ename', '?')}: {output.get('evalue', '')}")
        else:
            plain = output.get("data", {}).get("text/plain")
            blocks.append(
                f"[{'result' if kind == 'execute_result' else 'display'}]\n{_text(plain or '(no text/plain)')}"
            )
    text = "\n".join(blocks) if blocks else "(no output)"
    if len(text) > limit:
        text = text[:limit] + f"\n... ({len(text) - limit} more characters cut)"
    return text


def _text(value: str | list[str]) -> str:
    """nbformat text is a string or a list of lines."""
    return value if isinstance(value, str) else "".join(value)
