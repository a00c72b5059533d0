"""helpers.diagrams: the stored figures are what the code draws, and the lessons show each of them with alt text.

The figures are compared by their text (every ``<text>`` element, in order), not byte for byte: matplotlib releases
write the same drawing with different path data, while the words a reader (and a screen reader) finds must match.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from helpers.diagrams import FIGURES, main, svg_bytes, svg_texts

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
FIGURES_DIR = NOTEBOOKS / "figures"
#: A Markdown image, ``![alt](target)``; the alt text may hold balanced brackets, the target no spaces.
IMAGE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^)\s]+)\)")
#: Fewer words than this is a label, not a description a screen-reader user can follow.
MIN_ALT_WORDS = 12


def image_references(notebooks: Path) -> dict[str, list[tuple[str, str]]]:
    """Every image each notebook's markdown shows: {notebook name: [(alt text, target), ...]}."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(notebooks.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        text = "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
        found[path.name] = IMAGE.findall(text)
    return found


def problems_with_images(notebooks: Path) -> list[str]:
    """What is wrong with the notebooks' images: a target that is missing, alt text that says too little, a figure in
    ``figures/`` that no notebook shows. Empty when all is well."""
    problems = []
    shown = set()
    for name, images in image_references(notebooks).items():
        for alt, target in images:
            shown.add(target)
            if not (notebooks / target).is_file():
                problems.append(f"{name}: image {target} does not exist")
            if len(alt.split()) < MIN_ALT_WORDS:
                problems.append(f"{name}: image {target} has alt text of {len(alt.split())} words: describe it")
    for figure in sorted((notebooks / "figures").glob("*")):
        if f"figures/{figure.name}" not in shown:
            problems.append(f"figures/{figure.name} is shown by no notebook")
    return problems


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_stored_figure_is_what_the_code_draws(name: str) -> None:
    stored = FIGURES_DIR / f"{name}.svg"
    assert stored.is_file(), f"{stored} is missing: run python -m helpers.diagrams"
    drawn = svg_texts(svg_bytes(FIGURES[name]))
    assert len(drawn) >= 10, f"{name}: {len(drawn)} <text> elements; is svg.fonttype still 'none'?"
    assert svg_texts(stored.read_bytes()) == drawn, f"{stored.name} is out of date: run python -m helpers.diagrams"


def test_figures_folder_holds_exactly_the_drawn_figures() -> None:
    files = sorted(p.name for p in FIGURES_DIR.iterdir())
    assert files == sorted(f"{name}.svg" for name in FIGURES), "stray or missing files: run python -m helpers.diagrams"


def test_lessons_show_every_figure_with_alt_text() -> None:
    assert problems_with_images(NOTEBOOKS) == []
    shown_by = {name for name, images in image_references(NOTEBOOKS).items() if images}
    assert {"00", "01", "02", "04"} <= {name[:2] for name in shown_by}, f"the lessons that show figures: {shown_by}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A stale label, a missing file, a two-word alt text and a figure nobody shows are all caught."""
    stored = svg_bytes(FIGURES["01_parent_and_child"])
    title = svg_texts(stored)[0]
    stale = stored.replace(f">{title}<".encode(), b">another title<", 1)
    assert stale != stored and svg_texts(stale) != svg_texts(stored)

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "unused.svg").write_bytes(stored)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("![a figure](figures/missing.svg)"),
        nbformat.v4.new_markdown_cell("![](figures/unused.svg)"),
    ]
    nbformat.write(nb, tmp_path / "99_broken.ipynb")
    problems = problems_with_images(tmp_path)
    assert any("missing.svg does not exist" in p for p in problems), problems
    assert any("missing.svg has alt text of 2 words" in p for p in problems), problems
    assert any("unused.svg has alt text of 0 words" in p for p in problems), problems
    nb.cells.pop()
    nbformat.write(nb, tmp_path / "99_broken.ipynb")
    assert "figures/unused.svg is shown by no notebook" in problems_with_images(tmp_path)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m helpers.diagrams --out DIR`` writes every figure there; a file given as the folder is refused."""
    assert main(["--out", str(tmp_path / "figs")]) == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(f"{name}.svg" for name in FIGURES)
    assert "wrote" in capsys.readouterr().out
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "a_file")])
    assert "is a file: give a folder" in capsys.readouterr().err
