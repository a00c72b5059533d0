"""The lessons' diagrams, drawn from code: what the instructor guide would draw on a whiteboard.

    python -m helpers.diagrams                   # writes every figure to notebooks/figures/*.svg
    python -m helpers.diagrams --out /tmp/figs   # somewhere else (the folder is made if needed)
    python -m helpers.diagrams --png             # also a PNG beside each SVG, to look at

Four figures, each a function that returns a matplotlib ``Figure`` (see :data:`FIGURES`):

- ``00_what_crosses``: the course in one table, each route between processes, what crosses on it and what it costs;
- ``01_parent_and_child``: a child appends to its own copy of the parent's list; what a ``Queue`` carries back;
- ``02_shared_block``: a ``Value`` and an ``Array`` in one block of shared memory that parent and child both map;
- ``04_segment_lifecycle``: a ``SharedMemory`` segment from ``create`` to ``unlink``, and when ``unlink`` is forgotten.

The SVGs keep their text as ``<text>`` elements (``svg.fonttype = 'none'``), so a reader can search and copy it
and ``tests/test_diagrams.py`` can compare it with what this code draws now; a fixed ``svg.hashsalt`` and no date in
the metadata make the same code write the same file. Colours are the Okabe-Ito palette, safe for colour-blind
readers, and no figure says anything by colour alone: every box is labelled. The module imports no lesson module.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

__all__ = [
    "FIGURES",
    "FIGURES_DIR",
    "main",
    "parent_and_child",
    "segment_lifecycle",
    "shared_block",
    "svg_bytes",
    "svg_texts",
    "what_crosses",
    "write_figures",
]

#: Where the lessons find their figures (``![...](figures/NAME.svg)`` in a notebook of ``notebooks/``).
FIGURES_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "figures"

#: Okabe-Ito colours (Okabe and Ito, "Color Universal Design", 2008): told apart with every common colour-vision
#: deficiency. Each has a pale tint for the fill of a box, so black text on it keeps its contrast.
BLUE, ORANGE, GREEN, VERMILION, PURPLE, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#555555"
TINT = {BLUE: "#D9EAF5", ORANGE: "#FBEBCC", GREEN: "#D3EFE6", VERMILION: "#F8DFCF", PURPLE: "#F6E3ED", GREY: "#EEEEEE"}

#: Everything that makes the SVGs readable and the same on every run. The fonts ship with matplotlib, so the layout is
#: the same everywhere; a browser without them shows the SVG's text in its own sans-serif or monospace font.
STYLE: dict[Any, Any] = {  # matplotlib types its keys as a Literal of every rcParam
    "svg.fonttype": "none",
    "svg.hashsalt": "mpcourse-diagrams",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 11,
    "font.monospace": ["DejaVu Sans Mono"],
}
MONO = "monospace"


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches whose axes fill it, in data units of inches, with no frame."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def _box(
    ax: Axes, x: float, y: float, w: float, h: float, colour: str, *, dashed: bool = False, fill: str | None = None
) -> None:
    """A rounded box with its lower left corner at (x, y), edged in ``colour`` and filled with its tint."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            linewidth=1.6,
            linestyle="--" if dashed else "-",
            edgecolor=colour,
            facecolor=fill or TINT.get(colour, "white"),
        )
    )


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    colour: str,
    *,
    both: bool = False,
    dashed: bool = False,
    bend: float = 0.0,
) -> None:
    """An arrow from ``start`` to ``end`` (a double-headed one with ``both``; curved by ``bend``)."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="<|-|>" if both else "-|>",
            mutation_scale=16,
            linewidth=1.8,
            linestyle="--" if dashed else "-",
            color=colour,
            connectionstyle=f"arc3,rad={bend}",
            shrinkA=2,
            shrinkB=2,
        )
    )


def _text(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    *,
    size: float = 11,
    weight: str = "normal",
    mono: bool = False,
    ha: str = "left",
    va: str = "center",
    colour: str = "black",
    style: str = "normal",
) -> None:
    """Text at (x, y); several lines are written as several ``<text>`` elements in the SVG."""
    ax.text(
        x,
        y,
        text,
        fontsize=size,
        fontweight=weight,
        family=MONO if mono else None,
        ha=ha,
        va=va,
        color=colour,
        fontstyle=style,
        linespacing=1.35,
    )


def parent_and_child() -> Figure:
    """Lesson 01: parent and child each hold their own ``result``; the child's appends stay in its copy.

    Top: what the child starts with (a copy under fork, a fresh import under spawn and forkserver). Bottom: what a
    ``Queue`` carries back in section 2 (the list, pickled into bytes, through a pipe, unpickled into a new list).
    """
    fig, ax = _canvas(9.0, 5.0)
    title = "Two processes, two lists: nothing crosses unless it is sent"
    _text(ax, 4.5, 4.75, title, size=13, weight="bold", ha="center")

    # The two processes, each with its own memory and its own helpers.isolation.result.
    for x, colour, title, sub, value, note in [
        (0.2, BLUE, "parent process", "the notebook's kernel", "[]", "stays empty"),
        (5.6, ORANGE, "child process p1", "started by p1.start()", "[25, 100, 225]", "square_numbers appended here"),
    ]:
        _box(ax, x, 1.75, 3.2, 2.55, colour)
        _text(ax, x + 0.15, 4.05, title, size=12, weight="bold")
        _text(ax, x + 0.15, 3.75, sub, size=10, style="italic")
        _box(ax, x + 0.15, 2.0, 2.9, 1.5, colour, fill="white")
        _text(ax, x + 0.25, 3.3, "its own memory", size=9.5, colour=GREY)
        _text(ax, x + 0.25, 2.95, "helpers.isolation.result", mono=True, size=10)
        _text(ax, x + 0.25, 2.6, value, mono=True, size=12, weight="bold")
        _text(ax, x + 0.25, 2.25, note, size=10)

    # What the child starts with.
    _arrow(ax, (3.4, 3.85), (5.6, 3.85), GREY)
    _text(ax, 4.5, 4.35, "at start(), the child gets", size=10, ha="center")
    _text(ax, 4.5, 3.5, "fork: a copy of the\nparent's memory\n(copy-on-write)", size=9.5, ha="center")
    _text(ax, 4.5, 2.6, "spawn, forkserver:\na fresh import, plus\nthe pickled target\nand args", size=9.5, ha="center")

    # What a Queue carries back (section 2).
    _box(ax, 2.3, 0.35, 4.4, 0.8, GREEN)
    _text(ax, 4.5, 0.95, "Queue: a pipe between the processes", size=10.5, weight="bold", ha="center")
    _text(ax, 4.5, 0.58, "the list travels as pickled bytes", size=10, ha="center")
    _arrow(ax, (7.2, 1.75), (6.7, 0.75), GREEN, bend=-0.3)
    _arrow(ax, (2.3, 0.75), (1.8, 1.75), GREEN, bend=-0.3)
    _text(ax, 7.35, 1.2, "child: queue.put(...)\npickles its list", size=9.5)
    _text(ax, 0.1, 1.2, "parent: queue.get()\nunpickles a new list", size=9.5)
    return fig


def shared_block() -> Figure:
    """Lesson 02: parent and child map one block of shared memory holding ``Array("i", 3)`` and ``Value("i")``.

    Each synchronized object has its own lock (an ``RLock``), which lives outside the block. The values are those of
    the lesson's first example: the child wrote the squares of 1, 2, 3 and their sum, and the parent reads them.
    """
    fig, ax = _canvas(9.0, 5.1)
    _text(ax, 4.5, 4.85, "One block of shared memory, mapped by both processes", size=13, weight="bold", ha="center")

    for x, colour, title, lines in [
        (
            0.2,
            BLUE,
            "parent process",
            "created result and square_sum\nreads result[:]  ->  [1, 4, 9]\nsquare_sum.value  ->  14",
        ),
        (5.6, ORANGE, "child process p1", "got both at start()\nwrites result[i] = n * n\nand square_sum.value"),
    ]:
        _box(ax, x, 3.05, 3.2, 1.5, colour)
        _text(ax, x + 0.15, 4.3, title, size=12, weight="bold")
        _text(ax, x + 0.15, 3.55, lines, size=10)

    # The block itself, with the two objects in it.
    _box(ax, 1.7, 0.95, 5.6, 1.75, GREEN)
    _text(ax, 4.5, 2.45, "one block of shared memory (an mmap)", size=11, weight="bold", ha="center")
    _text(ax, 1.9, 2.05, 'result = Array("i", 3)', mono=True, size=9.5)
    for i, value in enumerate((1, 4, 9)):
        ax.add_patch(Rectangle((1.95 + 0.6 * i, 1.4), 0.6, 0.45, facecolor="white", edgecolor="black", linewidth=1.2))
        _text(ax, 2.25 + 0.6 * i, 1.625, str(value), mono=True, size=12, weight="bold", ha="center")
    _text(ax, 1.95, 1.15, "3 C ints, 4 bytes each", size=9, colour=GREY)
    _text(ax, 4.75, 2.05, 'square_sum = Value("i")', mono=True, size=9.5)
    ax.add_patch(Rectangle((4.8, 1.4), 0.6, 0.45, facecolor="white", edgecolor="black", linewidth=1.2))
    _text(ax, 5.1, 1.625, "14", mono=True, size=12, weight="bold", ha="center")
    _text(ax, 4.8, 1.15, "1 C int", size=9, colour=GREY)

    _arrow(ax, (1.8, 3.05), (2.6, 2.7), BLUE, both=True)
    _arrow(ax, (7.2, 3.05), (6.4, 2.7), ORANGE, both=True)
    both = "both map the same\nbytes: a write by\none is seen by the\nother, no copy"
    _text(ax, 4.5, 3.8, both, size=10, ha="center")

    # The locks, beside the block.
    _box(ax, 0.2, 0.1, 8.6, 0.65, PURPLE)
    _text(ax, 0.35, 0.425, "beside it, one lock each:", size=10, weight="bold")
    _text(ax, 2.4, 0.425, "result.get_lock(), square_sum.get_lock()", mono=True, size=9.5)
    _text(ax, 6.3, 0.425, "RLocks: a read or write of one\nelement takes its object's lock", size=9)
    return fig


def segment_lifecycle() -> Figure:
    """Lesson 04: a ``SharedMemory`` segment from create to unlink, in two processes, and the forgotten ``unlink``."""
    fig, ax = _canvas(9.0, 5.6)
    _text(ax, 4.5, 5.35, "A SharedMemory segment's life, on Linux", size=13, weight="bold", ha="center")
    lane_x, step_w, box_w = 1.15, 1.25, 1.12
    lanes = {"owner": 4.1, "other": 2.8}
    steps = [
        ("owner", BLUE, "create", "SharedMemory(\ncreate=True,\nsize=40)"),
        ("other", ORANGE, "attach", "SharedMemory(\nname=name)"),
        ("other", ORANGE, "close()", "its own\nmapping"),
        ("owner", BLUE, "close()", "its own\nmapping"),
        ("owner", BLUE, "unlink()", "once, by\nthe owner"),
    ]
    _text(ax, 0.1, lanes["owner"], "owner\n(parent)", size=10.5, weight="bold")
    _text(ax, 0.1, lanes["other"], "other\nprocess", size=10.5, weight="bold")
    _arrow(ax, (lane_x, 4.95), (8.9, 4.95), GREY)
    _text(ax, 8.85, 4.78, "time", size=9.5, ha="right", colour=GREY)
    corners = []
    for column, (lane, colour, title, detail) in enumerate(steps):
        x, y = lane_x + step_w * column, lanes[lane]
        _box(ax, x, y - 0.5, box_w, 1.0, colour)
        _text(ax, x + 0.08, y + 0.3, title, size=10.5, weight="bold")
        _text(ax, x + 0.08, y - 0.15, detail, size=8.5, mono=detail.startswith("Shared"))
        corners.append((x, y))
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        _arrow(ax, (x0 + box_w, y0), (x1, y1), GREY)

    # The segment itself, as a bar under the lanes.
    seg_y = 1.6
    end = lane_x + step_w * 4 + box_w
    _text(ax, 0.1, seg_y, "/dev/shm/\npsm_...", size=10, weight="bold", mono=True)
    _box(ax, lane_x, seg_y - 0.35, end - lane_x, 0.7, GREEN)
    exists = "the segment exists: its name, and the memory behind it\n(close() leaves it there)"
    _text(ax, lane_x + 0.1, seg_y, exists, size=9.5)
    _box(ax, end + 0.1, seg_y - 0.35, 8.9 - end - 0.1, 0.7, GREY, dashed=True, fill="white")
    _text(ax, end + 0.18, seg_y, "gone: the name at\nonce, the memory at\nthe last close()", size=8.5)

    # Forgetting unlink(), and the other systems.
    _box(ax, 0.1, 0.3, 8.8, 0.8, VERMILION, dashed=True)
    _text(ax, 0.25, 0.7, "unlink() forgotten?", size=10.5, weight="bold")
    _text(
        ax,
        1.85,
        0.7,
        "The segment stays in /dev/shm, holding its memory. When the program ends, the resource\n"
        "tracker unlinks it and warns of a leak; if the tracker is killed too, it stays until removed.",
        size=9,
    )
    _text(
        ax,
        0.1,
        0.12,
        "macOS: the same, with no file to see. Windows: unlink() does nothing; a segment goes at its last close().",
        size=8.5,
        colour=GREY,
    )
    return fig


def what_crosses() -> Figure:
    """The course in one table: each route between processes (and interpreters), what crosses on it, its cost."""
    rows = [
        (
            BLUE,
            "a copy,\nby message",
            "Queue, Pipe, Pool tasks,\nProcess args (spawn and\nforkserver; fork copies them)",
            "the object, pickled into bytes,\nthrough a pipe or a socket; a\nnew object at the other end",
            "pickling and copying on\nevery send, growing with\nthe data",
            "01, 06",
        ),
        (
            ORANGE,
            "shared ctypes",
            "Value, Array,\nRawValue, RawArray",
            "nothing is sent: both map one\nblock of C numbers, handed over\nonly when a process starts",
            "a lock per access (not the\nRaw ones); a fixed size,\nC types only",
            "02, 03",
        ),
        (
            GREEN,
            "a SharedMemory\nsegment",
            "SharedMemory, and a\nNumPy view of its buf",
            "only its name, a short string;\nevery process views the same\nbytes, no copy",
            "nothing per access; you\nclose and unlink it; room\nin /dev/shm",
            "04, 05",
        ),
        (
            PURPLE,
            "a Manager",
            "Manager(): a proxy to\nan object in a server\nprocess",
            "a message per operation: the\nrequest and the answer, pickled,\nto and from the server",
            "a round trip per access\n(lesson 06 times it);\none more process",
            "06",
        ),
        (
            VERMILION,
            "interpreters\n(Python 3.14+)",
            "concurrent.interpreters,\nInterpreterPoolExecutor",
            "one process: shareable values\nmade anew, the rest pickled;\na memoryview shares its buffer",
            "milliseconds to start one;\nno NumPy in them yet",
            "07",
        ),
    ]
    columns = [(0.25, "route"), (1.8, "in Python"), (3.95, "what crosses"), (6.45, "what it costs"), (8.5, "lessons")]
    row_h = 0.92
    height = 0.85 + row_h * len(rows)
    fig, ax = _canvas(9.3, height)
    top = height - 0.2
    _text(ax, 4.65, top - 0.05, "What crosses between processes, and how", size=13, weight="bold", ha="center")
    for x, title in columns:
        _text(ax, x, top - 0.42, title, size=10.5, weight="bold", colour=GREY)
    for i, (colour, route, python, crosses, cost, lessons) in enumerate(rows):
        y = top - 0.6 - row_h * (i + 1) + 0.06
        ax.add_patch(Rectangle((0.1, y), 9.1, row_h - 0.06, facecolor=TINT[colour], edgecolor="none"))
        ax.add_patch(Rectangle((0.1, y), 0.07, row_h - 0.06, facecolor=colour, edgecolor="none"))
        centre = y + (row_h - 0.06) / 2
        for (x, _), text in zip(columns, (route, python, crosses, cost, lessons), strict=True):
            _text(ax, x, centre, text, size=10 if x < 1 else 9, weight="bold" if x < 1 else "normal")
    return fig


#: Every figure the lessons show, by file name (without ``.svg``), and the function that draws it.
FIGURES: dict[str, Callable[[], Figure]] = {
    "00_what_crosses": what_crosses,
    "01_parent_and_child": parent_and_child,
    "02_shared_block": shared_block,
    "04_segment_lifecycle": segment_lifecycle,
}


def svg_bytes(draw: Callable[[], Figure]) -> bytes:
    """Draw a figure with the course's style and return it as SVG: text kept as text, no date, fixed ids."""
    with matplotlib.rc_context(STYLE):
        fig = draw()
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def svg_texts(svg: bytes | str) -> list[str]:
    """The text of every ``<text>`` element of an SVG, in document order (what a reader or a screen reader finds)."""
    root = ET.fromstring(svg)
    return ["".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text")]


def write_figures(folder: Path = FIGURES_DIR, png: bool = False) -> list[Path]:
    """Write every figure of :data:`FIGURES` as ``folder/NAME.svg`` (and ``NAME.png`` with ``png``); return the SVGs."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file: give a folder to write the figures into")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        path = folder / f"{name}.svg"
        path.write_bytes(svg_bytes(draw))
        written.append(path)
        if png:
            with matplotlib.rc_context(STYLE):
                draw().savefig(folder / f"{name}.png", format="png", dpi=110)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the figures (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.diagrams", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=FIGURES_DIR, help=f"folder to write to (default: {FIGURES_DIR})")
    parser.add_argument("--png", action="store_true", help="also write a PNG beside each SVG, to look at")
    args = parser.parse_args(argv)
    try:
        written = write_figures(args.out, png=args.png)
    except NotADirectoryError as exc:
        parser.error(str(exc))
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
