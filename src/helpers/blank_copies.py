"""Blank copies of the lessons, for an instructor to live-code into.

    python -m helpers.blank_copies ~/workshop            # every lesson
    python -m helpers.blank_copies ~/workshop 01 03      # some lessons
    python -m helpers.blank_copies ~/workshop --keep-code

Each copy keeps all the prose, loses every output, and has the code cells of
its teaching sections emptied, ready to be typed in front of the room. The
exercises (starter and check cells) and the clean-up cell stay as they are,
for learners to run; the lines pointing at solutions are removed, and the
solutions folder is not copied; the figures folder is, so the diagrams show.
``--keep-code`` keeps the teaching code too.
The course's ``notebooks/`` folder is only read.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

__all__ = ["blank_notebook", "main", "write_blank_copies"]

SOLUTION_LINE = re.compile(r"^.*%load solutions/.*$\n?", flags=re.M)
KEPT_SECTIONS = ("## Exercises", "## Clean up")
#: The lessons' diagrams (``helpers.diagrams``), copied beside the blank copies so that their images show.
FIGURES = "figures"


def blank_notebook(nb: dict[str, Any], keep_code: bool = False) -> dict[str, Any]:
    """Return a blank copy of a notebook (as loaded JSON): no outputs, no solution lines, teaching code emptied."""
    cells = []
    kept_section = False
    for cell in nb["cells"]:
        cell = json.loads(json.dumps(cell))  # a deep copy
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if source.startswith("## "):
                kept_section = source.startswith(KEPT_SECTIONS)
            source = SOLUTION_LINE.sub("", source).rstrip("\n")
            if not source.strip():
                continue
        elif cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if not (keep_code or kept_section):
                source = ""
        cell["source"] = source
        cells.append(cell)
    metadata = {**nb.get("metadata", {}), "blank_copy": True}
    metadata.pop("widgets", None)  # stored widget state belongs to the outputs that were removed
    return {**nb, "cells": cells, "metadata": metadata}


def write_blank_copies(
    source: Path, dest: Path, lessons: list[str] | None = None, keep_code: bool = False, force: bool = False
) -> list[Path]:
    """Write blank copies of the lessons in ``source`` into ``dest``; return the files written."""
    source, dest = source.resolve(), dest.resolve()
    if dest == source or source in dest.parents:
        raise ValueError(f"{dest} is inside the course's notebooks folder; choose a folder outside {source}")
    paths = sorted(source.glob("[0-8][0-9]_*.ipynb"))  # lessons; 9x notebooks are references (the trap gallery)
    if not paths:
        raise FileNotFoundError(f"no lessons (NN_name.ipynb) in {source}; pass --source with the notebooks folder")
    if lessons:
        unknown = [n for n in lessons if not any(p.name.startswith(n) for p in paths)]
        if unknown:
            raise ValueError(f"no lesson starts with {unknown}; lessons are {[p.name[:2] for p in paths]}")
        paths = [p for p in paths if any(p.name.startswith(n) for n in lessons)]
    targets = [dest / p.name for p in paths]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} file(s) exist in {dest}, e.g. {existing[0].name}; use --force to overwrite"
        )
    dest.mkdir(parents=True, exist_ok=True)
    for path, target in zip(paths, targets, strict=True):
        blank = blank_notebook(json.loads(path.read_text()), keep_code=keep_code)
        target.write_text(json.dumps(blank, indent=1, ensure_ascii=False) + "\n")
    if (source / FIGURES).is_dir():  # the lessons show their diagrams from figures/, beside them
        shutil.copytree(source / FIGURES, dest / FIGURES, dirs_exist_ok=True)
    return targets


def _default_source() -> Path:
    return Path(__file__).resolve().parents[2] / "notebooks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.blank_copies", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder to write the blank copies into (created if needed)")
    parser.add_argument("lessons", nargs="*", help="lesson numbers, e.g. 01 03 (default: all)")
    parser.add_argument("--keep-code", action="store_true", help="keep the teaching code, clear only outputs")
    parser.add_argument("--force", action="store_true", help="overwrite copies already in DEST")
    parser.add_argument("--source", type=Path, default=_default_source(), help="the course's notebooks folder")
    args = parser.parse_args(argv)
    try:
        written = write_blank_copies(args.source, args.dest, args.lessons, args.keep_code, args.force)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        parser.error(str(exc))
    for path in written:
        print(f"wrote {path}")
    print(f"Open them with: python -m jupyter lab {args.dest} (helpers is installed, so they run from any folder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
