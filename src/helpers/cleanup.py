"""Release what a lesson created, so nothing outlives it.

Shared objects hold operating-system resources: a ``Value``, ``Array``,
``Lock``, ``Queue`` or ``Pool`` created under ``spawn`` or ``forkserver``
owns named semaphores (``/dev/shm/sem.mp-*`` on Linux) that are removed
only when the Python object is garbage-collected. When a kernel is stopped
abruptly, they are never removed. Every lesson therefore ends with
:func:`release_all`.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["release_all"]


def release_all() -> None:
    """Delete the notebook's variables and everything that still refers to them, then collect.

    Three things keep objects alive after a notebook is done with them:
    its variables, the output history (``Out``, ``_``), and the last error:
    ``sys.last_value`` and IPython's traceback formatter keep the traceback,
    whose frames keep every local variable of the failed call, such as the
    ``Pool`` whose ``map`` raised. This function clears all three (with
    ``%reset -f`` for the first two), closes matplotlib's figures, and runs
    the garbage collector, so finalizers release shared memory and
    semaphores now. Widgets already shown stay on the page.

    Outside IPython it only clears the last error and collects.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course's environment
        get_ipython = None  # type: ignore[assignment]
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        shell.run_line_magic("reset", "-f")
        formatter = getattr(shell, "InteractiveTB", None)
        if formatter is not None and hasattr(formatter, "tb"):
            formatter.tb = None
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
    gc.collect()
