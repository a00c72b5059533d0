"""Test-run set-up: the kernel nbval uses, the start method, and the leftover check.

It sits at the repository's root, so pytest loads it for every run, whatever
paths are given: ``COURSE_START_METHOD=spawn python -m pytest
notebooks/03_races_and_locks.ipynb`` runs that lesson under spawn in the test
kernel. (In ``tests/`` it was skipped when only a notebook was named, and the
lesson silently ran under the platform's default.) The modules it uses live
in ``tests/``.

* ``COURSE_START_METHOD=fork|spawn|forkserver`` makes that the default start
  method, both in this pytest process (helpers' unit tests) and in the
  kernels that run the lessons, without editing any notebook.
* The lessons run in a kernel named ``course-test``, written to a temporary
  Jupyter path for this run. It is the ordinary ipykernel, started with
  ``PYTEST_CURRENT_TEST`` removed from its environment: ipykernel stops
  capturing the output of ``spawn``/``forkserver`` children when that
  variable is set, so without this a child's ``print`` would be missing under
  nbval but present in JupyterLab, where students run the lessons.
* A lesson that needs a newer Python than this one (lesson 07: 3.14+) is
  skipped under nbval, with the reason, instead of failing cell by cell.
* A snapshot of ``/dev/shm`` and of running processes is taken now; the run
  has a token of its own (``helpers.ownership``), which every kernel it starts
  notes as its parent and every worker inherits; ``test_leftovers.py`` runs
  last and counts what carries this run's tokens.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

# The run's own token (helpers.ownership): one inherited from a kernel (pytest run from a notebook's terminal)
# is not ours, so the first import of helpers, in tests/leftovers.py below, makes a new one.
os.environ.pop("MPCOURSE_TOKEN", None)
sys.path.insert(0, str(Path(__file__).parent / "tests"))
import background
import leftovers
from cell_outputs import describe_outputs

KERNEL_NAME = "course-test"
START_METHOD_VAR = "COURSE_START_METHOD"
SNAPSHOT_KEY = pytest.StashKey[leftovers.Snapshot]()

# Runs inside the kernel process before ipykernel starts.
KERNEL_BOOT = """\
import os, sys
os.environ.pop("PYTEST_CURRENT_TEST", None)
method = os.environ.get("COURSE_START_METHOD")
if method:
    import multiprocessing
    multiprocessing.set_start_method(method, force=True)
if sys.path and sys.path[0] == "":
    del sys.path[0]
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def requested_start_method() -> str | None:
    """The start method named by COURSE_START_METHOD, checked, or None."""
    method = os.environ.get(START_METHOD_VAR) or None
    if method is not None and method not in multiprocessing.get_all_start_methods():
        raise pytest.UsageError(
            f"{START_METHOD_VAR}={method!r} is not a start method on this platform; "
            f"use one of {multiprocessing.get_all_start_methods()}"
        )
    return method


def write_kernelspec(folder: Path) -> None:
    """Write the course-test kernelspec under ``folder/kernels``."""
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        # Each kernel keeps its input history in memory: the tests run up to seven kernels side by side, and in one
        # shared history.sqlite their saving threads wait on each other's writes, while IPython joins that thread
        # before every fork (IPython.core.history registers HistoryManager._stop_thread with os.register_at_fork,
        # and the join has no timeout).
        "argv": [sys.executable, "-c", KERNEL_BOOT, "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"],
        "display_name": "Python 3 (course tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


DEEP_REASON = (
    "a deep test (real kernels, one scenario or answer after another): python -m pytest --deep runs it, as CI does"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--deep",
        action="store_true",
        help="also run the deep tests (marked deep): every exercise answer graded in a real kernel, the crash tool "
        "on killed kernels, Clean up after lessons stopped anywhere. CI runs them; the quick suite stays under 90 s.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"deep: {DEEP_REASON}")
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored; the tests of
        # Ctrl-C (the bench, shared_array's deferred interrupts) and every process they start would inherit that.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.stash[SNAPSHOT_KEY] = leftovers.snapshot()
    method = requested_start_method()
    if method:
        multiprocessing.set_start_method(method, force=True)
    folder = Path(tempfile.mkdtemp(prefix="course-jupyter-"))
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    write_kernelspec(folder)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("JUPYTER_PATH")]))
    option = config.option
    if getattr(option, "nbval_kernel_name", None) is None and not getattr(option, "nbval_current_env", False):
        option.nbval_kernel_name = KERNEL_NAME


def pytest_report_header(config: pytest.Config) -> str:
    from helpers import shm_room, start_method, usable_cpus
    from helpers.machine import format_bytes

    room = shm_room()
    shm = format_bytes(room.free_bytes) + " free" if room else "none"
    return (
        f"course: start method {start_method()} (set {START_METHOD_VAR} to change), "
        f"usable CPUs {usable_cpus()}, /dev/shm {shm}, kernel {config.option.nbval_kernel_name}"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the leftover check after everything else, whatever the collection order; skip, with the reason, the
    cells of a lesson this Python cannot run (lesson 07 needs Python 3.14+; tests/test_structure.py still reads it),
    and the deep tests unless ``--deep`` was given."""
    from helpers.subinterpreters import UNAVAILABLE

    if not config.getoption("deep"):
        for item in items:
            if item.get_closest_marker("deep"):
                item.add_marker(pytest.mark.skip(reason=DEEP_REASON))
    if UNAVAILABLE:
        for item in items:
            if item.path.suffix == ".ipynb" and item.path.name.startswith("07_"):
                item.add_marker(pytest.mark.skip(reason=UNAVAILABLE))
    last = [item for item in items if item.path.name == "test_leftovers.py"]
    items[:] = [item for item in items if item.path.name != "test_leftovers.py"] + last
    mypy = background.executable("mypy")
    if mypy and any(item.name == "test_mypy_finds_nothing_in_the_helpers" for item in items):
        background.start("mypy", mypy)  # beside the lessons; tests/test_lint.py reads the result


def pytest_sessionfinish() -> None:
    background.stop_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Add what a failed lesson cell printed in this run to its report (nbval only says that outputs differ)."""
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)  # set by nbval's cell items once the cell has run
    if report.failed and call.when == "call" and outputs is not None:
        report.sections.append(("what the cell printed in this run", describe_outputs(outputs)))


@pytest.fixture(autouse=True)
def _a_new_attempt() -> None:
    """Each test is a new attempt for the exercises' checks, as a new cell is in a notebook: the notes that workers
    made for earlier tests (helpers.evidence) do not speak for this one's."""
    from helpers.feedback import new_attempt

    new_attempt()


@pytest.fixture
def run_snapshot(request: pytest.FixtureRequest) -> leftovers.Snapshot:
    """The /dev/shm names and PIDs that existed when this pytest run started."""
    return request.config.stash[SNAPSHOT_KEY]
