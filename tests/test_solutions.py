"""Every solution file passes its own exercise's self-check.

Each file in notebooks/solutions/ is what a student gets with ``%load``. It is
run here as a notebook would run it: in a fresh interpreter, from the
notebooks folder, with the run's start method, its statements executed in
``__main__``; its last statement is the check call, whose Feedback must pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))

RUNNER = """\
import __main__, ast, multiprocessing, os, sys
if os.environ.get("COURSE_START_METHOD"):
    multiprocessing.set_start_method(os.environ["COURSE_START_METHOD"], force=True)
path = sys.argv[1]
tree = ast.parse(open(path).read(), path)
*body, last = tree.body
if not isinstance(last, ast.Expr):
    sys.exit("the last statement of a solution must be its check call")
namespace = __main__.__dict__
exec(compile(ast.Module(body, type_ignores=[]), path, "exec"), namespace)
feedback = eval(compile(ast.Expression(last.value), path, "eval"), namespace)
print(feedback)
sys.exit(0 if getattr(feedback, "passed", False) is True else 1)
"""


def run_solution(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(path)],
        cwd=NOTEBOOKS,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_there_are_solutions() -> None:
    assert SOLUTIONS, "notebooks/solutions/ holds no solution files"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_its_check(path: Path) -> None:
    done = run_solution(path)
    assert done.returncode == 0, f"{path.name} does not pass its check:\n{done.stdout}\n{done.stderr}"
    assert "All " in done.stdout and "✘" not in done.stdout


def test_a_wrong_answer_fails(tmp_path: Path) -> None:
    """The runner can fail: an unsolved starter gives a failing Feedback and exit code 1."""
    starter = tmp_path / "starter.py"
    starter.write_text("from helpers.machine import check_usable_cpus\n\nmy_cpus = None\ncheck_usable_cpus(my_cpus)\n")
    done = run_solution(starter)
    assert done.returncode == 1
    assert "✘" in done.stdout
