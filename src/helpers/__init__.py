"""Helpers for the course *Sharing state between Python processes*.

Worker functions live here, not in the notebooks, because ``spawn`` starts a
fresh interpreter for each child and ``forkserver`` forks each child from a
fresh server process: either way the child must *import* the function it runs,
and a function defined in a notebook cannot be imported.

Modules, by what they hold:

``helpers.machine``
    What this machine offers: usable CPUs (cgroup-aware), ``/dev/shm`` room, the
    start method, and the setup report of lesson 00.
``helpers.deadline``
    Run processes under a deadline; terminate and report any that overrun.
``helpers.interrupts``
    ``with`` blocks whose clean-up Ctrl-C cannot skip (segments, pools, interpreters).
``helpers.feedback``
    The self-check machinery behind every exercise.
``helpers.child_output``
    After each cell that made processes: wait until their output reached the notebook, so it stays in its cell.
``helpers.evidence``
    What the exercises' workers did and where (process, interpreter), noted for the checks to judge from.
``helpers.cleanup``
    The Clean up cell's ``release_all`` and the command ``python -m helpers.cleanup``.
``helpers.release``
    Release what a lesson created (the Clean up cell of every lesson, from any point).
``helpers.crash``
    After a crashed kernel: find and remove what it left, and only that (``python -m helpers.cleanup``).
``helpers.ownership``
    What is the course's: each kernel's token, the names that carry it, the registry of course processes.
``helpers.isolation``
    Lesson 01: workers and checks for process isolation.
``helpers.shared_ctypes``
    Lesson 02: workers and checks for ``Value`` and ``Array``.
``helpers.races``
    Lesson 03: counters that race, the fixes, the primitives' demos, exercise checks.
``helpers.race_widgets``
    Lesson 03: the race explorer and progress bars driven by a shared ``Array``.
``helpers.segments``
    Lesson 04: ``SharedMemory`` workers, lifecycle experiments, exercise checks.
``helpers.measuring``
    Lesson 05: handoff, speedup and start-cost measurements, their plots and checks.
``helpers.timing``
    Timing a call: each run, the fastest (NumPy-free, so lesson 07 can use it too).
``helpers.bench``
    ``python -m helpers.bench``: lesson 05's measurements as a command.
``helpers.patterns``
    Lesson 06: pool workers attached once, failing tasks, manager costs, queue traps.
``helpers.shared_arrays``
    NumPy arrays on ``SharedMemory`` that are always closed and unlinked
    (lesson 04's pattern, used by lessons 05 and 06).
``helpers.traps``
    The trap gallery (notebook 90): workers that make each trap happen, and tools that
    run the ones that print, hang or fail in a child under a deadline.
``helpers.diagrams``
    The lessons' diagrams (``notebooks/figures/``), drawn with matplotlib: ``python -m helpers.diagrams``.
``helpers.subinterpreters``
    Lesson 07 (Python 3.14+): subinterpreters and threads beside processes, what
    crosses between interpreters, the traps, exercise checks. It imports on 3.11
    to 3.13 too, and says there what it needs.
"""

from helpers.ownership import join_the_course

# A token for this kernel (or the one it inherits, in a worker), a record of this process, and names that carry
# the token for the segments, semaphores and scratch folders it creates: see helpers.ownership. (The crash tool
# lives in helpers.crash, which this does not import, so that `python -m helpers.cleanup` runs without a warning.)
join_the_course()

from helpers.deadline import DeadlineReport, run_with_deadline  # noqa: E402
from helpers.machine import setup_report, shm_room, start_method, usable_cpus  # noqa: E402

__all__ = [
    "DeadlineReport",
    "run_with_deadline",
    "setup_report",
    "shm_room",
    "start_method",
    "usable_cpus",
]
