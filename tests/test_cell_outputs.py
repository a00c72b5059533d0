"""The text conftest.py adds to a failed cell's report."""

from __future__ import annotations

import pytest
from cell_outputs import describe_outputs


def test_each_kind_of_output_is_named_with_its_text() -> None:
    text = describe_outputs(
        [
            {"output_type": "stream", "name": "stdout", "text": ["ok: ", "True\n"]},
            {"output_type": "stream", "name": "stderr", "text": "distributed.worker - ERROR - heartbeat\n"},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad input", "traceback": []},
            {"output_type": "execute_result", "data": {"text/plain": "14"}, "metadata": {}, "execution_count": 3},
            {"output_type": "display_data", "data": {"image/png": "..."}, "metadata": {}},
        ]
    )
    assert text == (
        "[stdout]\nok: True\n\n"
        "[stderr]\ndistributed.worker - ERROR - heartbeat\n\n"
        "[error] ValueError: bad input\n"
        "[result]\n14\n"
        "[display]\n(no text/plain)"
    )


def test_a_cell_without_output_says_so() -> None:
    assert describe_outputs([]) == "(no output)"


def test_long_text_is_cut_and_the_cut_is_said() -> None:
    text = describe_outputs([{"output_type": "stream", "name": "stderr", "text": "x" * 100}], limit=20)
    assert text == "[stderr]\n" + "x" * 11 + "\n... (89 more characters cut)"


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="positive number of characters"):
        describe_outputs([], limit=0)
