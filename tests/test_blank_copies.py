"""helpers.blank_copies: live-coding copies, written without touching notebooks/."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from helpers.blank_copies import main, write_blank_copies

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())).hexdigest()


def sources(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], c["source"]) for c in nb["cells"]]


def test_blank_copies_clear_outputs_solutions_and_teaching_code(tmp_path: Path) -> None:
    before = digest(NOTEBOOKS)
    written = write_blank_copies(NOTEBOOKS, tmp_path / "live")
    assert digest(NOTEBOOKS) == before, "notebooks/ is only read"
    lessons = NOTEBOOKS.glob("[0-8][0-9]_*.ipynb")  # lessons, not the trap gallery
    assert [p.name for p in written] == sorted(p.name for p in lessons)
    assert not (tmp_path / "live" / "solutions").exists()
    for path in written:
        nb = json.loads(path.read_text())
        original = json.loads((NOTEBOOKS / path.name).read_text())
        assert nb["metadata"]["blank_copy"] is True
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        assert not any("%load solutions/" in src for _, src in sources(nb))
        text = [src for kind, src in sources(nb)]
        exercises = next(i for i, s in enumerate(text) if s.startswith("## Exercises"))
        teaching_code = [src for kind, src in sources(nb)[:exercises] if kind == "code"]
        assert teaching_code and all(src == "" for src in teaching_code), "teaching code is emptied"
        kept = [src for kind, src in sources(nb)[exercises:] if kind == "code"]
        assert any("check_" in src for src in kept), "exercise checks stay"
        assert "release_all()" in kept[-1], "the clean-up cell stays"
        for image in re.findall(r"\]\((figures/[^)\s]+)\)", path.read_text()):
            assert (path.parent / image).is_file(), f"{path.name} shows {image}, not copied beside it"
        assert (
            len([c for c in nb["cells"] if c["cell_type"] == "markdown"])
            >= len([c for c in original["cells"] if c["cell_type"] == "markdown"]) - 3
        ), "the prose stays"


def test_keep_code_and_selected_lessons(tmp_path: Path) -> None:
    (path,) = write_blank_copies(NOTEBOOKS, tmp_path, ["01"], keep_code=True)
    nb = json.loads(path.read_text())
    assert path.name.startswith("01_")
    assert any("square_numbers" in c["source"] for c in nb["cells"] if c["cell_type"] == "code")


def test_refuses_to_write_inside_notebooks_or_overwrite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside the course's notebooks folder"):
        write_blank_copies(NOTEBOOKS, NOTEBOOKS / "blank")
    write_blank_copies(NOTEBOOKS, tmp_path, ["00"])
    with pytest.raises(FileExistsError, match="--force"):
        write_blank_copies(NOTEBOOKS, tmp_path, ["00"])
    write_blank_copies(NOTEBOOKS, tmp_path, ["00"], force=True)
    with pytest.raises(ValueError, match="no lesson starts with"):
        write_blank_copies(NOTEBOOKS, tmp_path, ["42"])


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out"), "02"]) == 0
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(NOTEBOOKS / "x")])
    assert "inside the course's notebooks folder" in capsys.readouterr().err
