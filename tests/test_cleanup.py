"""helpers.cleanup.release_all: the last error's traceback no longer keeps objects alive."""

from __future__ import annotations

import gc
import sys
import weakref

from helpers.cleanup import release_all


class Resource:
    """Stands for a Pool or a shared Value held by a failed call's frame."""


def fail_holding(resource: Resource) -> None:
    raise RuntimeError("boom")


def test_release_all_drops_the_last_error_and_what_its_frames_held() -> None:
    resource = Resource()
    alive = weakref.ref(resource)
    try:
        fail_holding(resource)
    except RuntimeError:
        sys.last_type, sys.last_value, sys.last_traceback = sys.exc_info()
    del resource
    gc.collect()
    assert alive() is not None, "the traceback keeps the object alive"
    release_all()
    assert alive() is None
    assert sys.last_value is None


def test_release_all_closes_figures() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure()
    release_all()
    assert plt.get_fignums() == []
