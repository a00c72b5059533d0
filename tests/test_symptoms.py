"""The symptom index (notebooks/SYMPTOMS.md) cannot drift from the lessons.

Every row's first quoted fragment must appear in a stored output of the section of the lesson the row names, so a
reworded message, a moved demo or a renumbered section fails here. The page is linked from the README and lesson 00.
Stored outputs are read from the notebooks, not run, so this holds on every Python (lesson 07's rows too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INDEX = NOTEBOOKS / "SYMPTOMS.md"
ROW = re.compile(r"^\| (?!you see|---)(.+?) \| (.+?) \| \[(\d\d) §(\d+)\]\((\d\d_[a-z0-9_]+\.ipynb)\) \|$", re.M)


@dataclass(frozen=True)
class Entry:
    symptom: str
    cause: str
    lesson: str
    section: int
    notebook: str

    @property
    def quote(self) -> str:
        """The row's first backticked fragment: what the lesson prints."""
        found = re.search(r"`([^`]+)`", self.symptom)
        return found.group(1) if found else ""


def entries(text: str) -> list[Entry]:
    return [Entry(s, c, lesson, int(section), nb) for s, c, lesson, section, nb in ROW.findall(text)]


def output_text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    return output.get("data", {}).get("text/plain", "")


def section_outputs(notebook: Path, section: int) -> str:
    """Everything the cells of section ``section`` (from its '## N.' heading to the next '## ') printed."""
    inside, texts = False, []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    inside = line.startswith(f"## {section}. ")
        elif inside:
            texts += [output_text(o) for o in cell.get("outputs", [])]
    return "\n".join(texts)


def check_entry(entry: Entry) -> None:
    """Raise AssertionError unless the entry names a lesson and section whose stored outputs hold its quote."""
    notebook = NOTEBOOKS / entry.notebook
    assert notebook.is_file(), f"{entry.notebook} does not exist"
    assert entry.notebook.startswith(entry.lesson), f"the link text says {entry.lesson}, the link {entry.notebook}"
    assert entry.quote, f"no quoted message in {entry.symptom!r}"
    assert entry.cause.strip(), f"no cause for {entry.quote!r}"
    printed = section_outputs(notebook, entry.section)
    assert printed, f"{entry.notebook} has no section {entry.section} with outputs"
    assert entry.quote in printed, f"{entry.quote!r} is not in what {entry.notebook} section {entry.section} prints"


ENTRIES = entries(INDEX.read_text(encoding="utf-8"))


def test_the_index_has_entries_for_most_lessons() -> None:
    assert len(ENTRIES) >= 30
    assert {e.lesson for e in ENTRIES} >= {"01", "02", "03", "04", "05", "06"}
    assert len({e.quote for e in ENTRIES}) == len(ENTRIES), "two rows quote the same output"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.lesson}-{e.quote[:40]}")
def test_each_quote_is_printed_by_the_section_it_names(entry: Entry) -> None:
    check_entry(entry)


def test_the_check_catches_a_drifted_row() -> None:
    good = ENTRIES[0]
    drifted = [
        Entry(
            good.symptom.replace(good.quote, good.quote + " (reworded)"),
            good.cause,
            good.lesson,
            good.section,
            good.notebook,
        ),
        Entry(good.symptom, good.cause, good.lesson, good.section + 1, good.notebook),
        Entry(good.symptom, good.cause, good.lesson, good.section, "09_no_such_lesson.ipynb"),
        Entry(good.symptom, " ", good.lesson, good.section, good.notebook),
    ]
    for entry in drifted:
        with pytest.raises(AssertionError):
            check_entry(entry)


def test_every_table_row_is_parsed() -> None:
    """A row whose link is malformed would be skipped silently by the pattern: count table rows too."""
    text = INDEX.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith(("| you see", "| ---"))]
    assert len(rows) == len(ENTRIES), [r for r in rows if not ROW.match(r)]


def test_every_gallery_entry_has_a_row() -> None:
    """Every numbered entry of the trap gallery is found from the index by what it prints."""
    gallery = NOTEBOOKS / "90_trap_gallery.ipynb"
    sources = [c.source for c in nbformat.read(gallery, as_version=4).cells if c.cell_type == "markdown"]
    numbered = {int(m) for text in sources for m in re.findall(r"^## (\d+)\. ", text, flags=re.M)}
    indexed = {e.section for e in ENTRIES if e.notebook == gallery.name}
    assert numbered, "the gallery has no numbered entries"
    assert numbered <= indexed, f"gallery entries without a row in SYMPTOMS.md: {sorted(numbered - indexed)}"


def test_linked_from_the_readme_and_lesson_00() -> None:
    assert "(notebooks/SYMPTOMS.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    welcome = next(NOTEBOOKS.glob("00_*.ipynb"))
    assert "(SYMPTOMS.md)" in welcome.read_text(encoding="utf-8")
