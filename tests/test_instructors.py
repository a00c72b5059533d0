"""The instructor guide's timed outline adds up to the lessons' own minutes, and covers every lesson."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "INSTRUCTORS.md"
LESSONS = sorted((ROOT / "notebooks").glob("[0-8][0-9]_*.ipynb"))  # 9x: references (the trap gallery), not timed
ROW = re.compile(r"^\| (\d{1,2}):(\d\d) \| (.+?) \| ?(\d*) ?\| ?(.*?) ?\|$", flags=re.M)
HALF_DAY_MINUTES = 4 * 60


def lesson_minutes(path: Path) -> tuple[int, int, list[int]]:
    """Teaching and exercise minutes from the first cell, and each exercise heading's minutes."""
    nb = nbformat.read(path, as_version=4)
    teaching, exercises = map(
        int, re.search(r"Teaching: (\d+) min · Exercises: (\d+) min", nb.cells[0].source).groups()
    )
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    each = [int(m) for m in re.findall(r"^### Exercise \d+: .+\((\d+) min\)$", text, flags=re.M)]
    return teaching, exercises, each


def outline_rows(text: str) -> list[tuple[int, str, int, str]]:
    """(start minute of the day, what, first minutes column, second column) for each row of the outline table."""
    return [(int(h) * 60 + int(m), what, int(t or 0), ex) for h, m, what, t, ex in ROW.findall(text)]


def days(rows: list[tuple[int, str, int, str]]) -> list[list[tuple[int, str, int, str]]]:
    """The outline's rows split into days: each day's table ends with an End row."""
    split: list[list[tuple[int, str, int, str]]] = [[]]
    for row in rows:
        split[-1].append(row)
        if row[1] == "End":
            split.append([])
    return [day for day in split if day]


def check_outline(text: str) -> None:
    """Raise AssertionError unless the outline lists every lesson in order with its own minutes and adds up,
    day by day, each day at most half a day long."""
    rows = outline_rows(text)
    lessons = [r for r in rows if re.match(r"\[\d\d ", r[1])]
    assert [r[1][1:3] for r in lessons] == [p.name[:2] for p in LESSONS], "one row per lesson, in order"
    for (_, what, teaching, exercises), path in zip(lessons, LESSONS, strict=True):
        assert f"(notebooks/{path.name})" in what, f"{what}: link the lesson's notebook"
        t, e, each = lesson_minutes(path)
        assert teaching == t, f"{path.name}: the guide says {teaching} min of teaching, the lesson {t}"
        parts = [int(x) for x in re.findall(r"\d+", exercises)]
        assert parts and parts[0] == e, f"{path.name}: the guide says {exercises!r} of exercises, the lesson {e}"
        assert parts[1:] == each, f"{path.name}: per-exercise minutes {parts[1:]} differ from the headings' {each}"
    assert rows and rows[-1][1] == "End", "the outline ends with an End row"
    total = 0
    for day in days(rows):
        assert day[-1][1] == "End", "every day's table ends with an End row"
        for (start, what, teaching, exercises), (next_start, *_) in itertools.pairwise(day):
            minutes = teaching + int(re.match(r"\d*", exercises).group() or 0)
            assert next_start == start + minutes, (
                f"{what} starts at {start // 60}:{start % 60:02} and lasts {minutes} min"
            )
        length = day[-1][0] - day[0][0]
        assert length <= HALF_DAY_MINUTES, f"a day of the workshop takes {length} min, more than half a day"
        total += length - sum(r[2] for r in day if r[1] == "Break")
    assert total == sum(sum(lesson_minutes(p)[:2]) for p in LESSONS)


def test_the_guide_is_linked_from_the_readme() -> None:
    assert GUIDE.is_file(), "INSTRUCTORS.md is missing"
    assert "(INSTRUCTORS.md)" in (ROOT / "README.md").read_text()


def test_the_outline_matches_the_lessons_and_adds_up_to_a_half_day() -> None:
    check_outline(GUIDE.read_text())


def test_the_outline_check_can_fail() -> None:
    """A wrong minute count, a shifted end, or a missing lesson is caught."""
    text = GUIDE.read_text()
    start, what, teaching, _ = outline_rows(text)[0]
    row = f"| {start // 60}:{start % 60:02} | {what} | {teaching} |"
    broken = [
        text.replace(row, f"| {start // 60}:{start % 60:02} | {what} | {teaching + 1} |"),
        re.sub(r"^\| (\d+):(\d\d) \| End \|", r"| \1:59 | End |", text, count=1, flags=re.M),
        "\n".join(line for line in text.splitlines() if "(notebooks/01_" not in line),
    ]
    for bad in broken:
        assert bad != text
        with pytest.raises(AssertionError):
            check_outline(bad)


def test_every_lesson_has_notes_on_where_learners_get_stuck() -> None:
    text = GUIDE.read_text()
    for path in LESSONS:
        section = re.search(rf"^### {path.name[:2]} .+?$(.*?)(?=^### |^## |\Z)", text, flags=re.M | re.S)
        assert section, f"no '### {path.name[:2]} ...' section in the guide"
        assert len(re.findall(r"^- ", section.group(1), flags=re.M)) >= 2, f"{path.name}: at least two stuck points"
