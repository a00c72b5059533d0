"""Release what a lesson created, so nothing outlives it: in the kernel, and after a crash.

Two tools, for two moments, each in its own module:

* ``from helpers.cleanup import release_all`` is every lesson's **Clean up** cell (:mod:`helpers.release`): it
  works from any point of a lesson and says what it released.
* ``python -m helpers.cleanup [--dry-run]`` is for after a **crash**, from a terminal (:mod:`helpers.crash`): it
  removes what a course kernel that has ended left behind, and only that, each thing with the reason it is the
  course's.
"""

from __future__ import annotations

import sys

from helpers.crash import Leftovers, find_leftovers, main, reset
from helpers.ownership import SEGMENT_PREFIX, course_segment_name
from helpers.release import HELPER_PROCESSES, Released, release_all, unlink_segment

__all__ = [
    "HELPER_PROCESSES",
    "SEGMENT_PREFIX",
    "Leftovers",
    "Released",
    "course_segment_name",
    "find_leftovers",
    "main",
    "release_all",
    "reset",
    "unlink_segment",
]

if __name__ == "__main__":
    sys.exit(main())
