"""tests/load_harness.py, the benchmark that counts how often the lessons' outputs hold under load, still runs.

It is a maintainer's tool that pytest does not collect, so nothing else would notice when it rots (it once failed at
its start, on a name that tests/leftovers.py no longer had). One run of a two-cell notebook, with one busy loop
beside it: the cell whose stored output is right matches, the one whose stored output is wrong is counted and shown.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.deep


def test_the_load_harness_counts_a_matching_and_a_differing_cell(tmp_path: Path) -> None:
    right = nbformat.v4.new_code_cell("print(6 * 7)", outputs=[nbformat.v4.new_output("stream", text="42\n")])
    wrong = nbformat.v4.new_code_cell("print(2 + 2)", outputs=[nbformat.v4.new_output("stream", text="5\n")])
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[right, wrong]), path)
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests/load_harness.py"), str(path), "--loads", "1", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "tiny.ipynb with 1 busy loop(s):" in run.stdout
    assert "tiny.ipynb: 0 of 1 runs matched the stored outputs" in run.stdout
    assert "1 of 1: code cell 1: [stdout] - 5" in run.stdout, run.stdout
    assert "1 of 1: code cell 1: [stdout] + 4" in run.stdout, run.stdout
    assert "code cell 0:" not in run.stdout.split("runs matched")[1], run.stdout
