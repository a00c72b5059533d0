"""Every lesson follows the anatomy of DESIGN.md, and its stored outputs come from a clean run.

These tests read the notebooks as files; they do not run them (nbval does).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from helpers.machine import SUPPORTED_PYTHONS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: Lessons are numbered 00-89; 9x notebooks are references beside them (the trap gallery), checked apart below.
LESSONS = sorted(NOTEBOOKS.glob("[0-8][0-9]_*.ipynb"))
REFERENCES = sorted(NOTEBOOKS.glob("9[0-9]_*.ipynb"))
GALLERY = NOTEBOOKS / "90_trap_gallery.ipynb"
LOAD = re.compile(r"%load (solutions/[\w./-]+\.py)")
#: Where a notebook may hand its own function to a process: the helper that exists to show,
#: under a deadline and with the child's stderr captured, the error spawn gives for it.
SAFE_DEMO_CALLS = {"run_capturing_stderr"}


def lesson_id(path: Path) -> str:
    return path.stem


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def markdown(nb: nbformat.NotebookNode) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def section(text: str, heading: str) -> str:
    """The markdown between ``## heading`` and the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    return match.group(1) if match else ""


def bullets(text: str) -> list[str]:
    return re.findall(r"^- .+", text, flags=re.M)


def code_source(cell: nbformat.NotebookNode) -> str:
    """A code cell's source with IPython magics blanked, so that ast can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


def test_lessons_exist_and_are_numbered_in_order() -> None:
    assert LESSONS, "no lessons found in notebooks/"
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(len(LESSONS))), f"lessons must be numbered 00, 01, ... without gaps: {numbers}"
    for path in LESSONS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: use lower case, digits and _"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
class TestAnatomy:
    def test_kernel_is_python3(self, path: Path) -> None:
        assert read(path).metadata.get("kernelspec", {}).get("name") == "python3"

    def test_title_promise_and_minutes(self, path: Path) -> None:
        first = read(path).cells[0]
        assert first.cell_type == "markdown"
        assert first.source.startswith(f"# {path.name[:2]} · "), "first line: '# NN · Title'"
        assert re.search(r"^\*\*.+\*\*$", first.source, flags=re.M), "a bold one-line promise"
        assert re.search(r"Teaching: \d+ min · Exercises: \d+ min", first.source), "teaching/exercise minutes"
        assert "Prerequisites:" in first.source

    def test_objectives_and_key_points(self, path: Path) -> None:
        text = markdown(read(path))
        assert 3 <= len(bullets(section(text, "Objectives"))) <= 5, "3-5 objectives"
        key_points = section(text, "Key points")
        assert 3 <= len(bullets(key_points)) <= 5, "3-5 key points"
        if path != LESSONS[-1]:
            assert "**Next:**" in key_points, "key points end with a link to the next lesson"

    def test_exercises_have_a_check_and_a_solution(self, path: Path) -> None:
        nb = read(path)
        text = markdown(nb)
        exercises = re.findall(r"^### Exercise \d+: .+\(\d+ min\)$", text, flags=re.M)
        wanted = 1 if path.name.startswith("00") else 2
        assert wanted <= len(exercises) <= 3, f"expected {wanted}-3 exercises, found {exercises}"
        total = int(re.search(r"Exercises: (\d+) min", nb.cells[0].source).group(1))
        each = [int(m) for m in re.findall(r"\((\d+) min\)$", "\n".join(exercises), flags=re.M)]
        assert sum(each) == total, f"the exercises' minutes {each} do not add up to the {total} the first cell states"
        loads = LOAD.findall(text)
        assert len(set(loads)) == len(exercises), "each exercise names its own solution with %load"
        checks = [c for c in nb.cells if c.cell_type == "code" and re.search(r"^check_\w+\(", c.source, flags=re.M)]
        assert len(checks) >= len(exercises), "each exercise has a check cell"
        for target in loads:
            assert (NOTEBOOKS / target).is_file(), f"%load {target}: no such file"

    def test_ends_by_releasing_what_it_created(self, path: Path) -> None:
        nb = read(path)
        last_code = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        headings = [c.source for c in nb.cells[:last_code] if c.cell_type == "markdown" and c.source.startswith("## ")]
        assert headings and headings[-1].startswith("## Clean up"), "the last code cell is under '## Clean up'"

    def test_outputs_are_from_a_clean_top_to_bottom_run(self, path: Path) -> None:
        code = [c for c in read(path).cells if c.cell_type == "code"]
        counts = [c.execution_count for c in code]
        assert counts == list(range(1, len(code) + 1)), f"execution counts {counts}: run tests/execute_notebooks.py"
        for cell in code:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            expected = "raises-exception" in cell.metadata.get("tags", [])
            assert bool(errors) == expected, (
                f"cell {cell.source[:60]!r}: error output without the tag, or a tag without error"
            )

    def test_no_process_runs_a_function_the_notebook_defines(self, path: Path) -> None:
        defined: set[str] = set()
        for cell in read(path).cells:
            if cell.cell_type != "code":
                continue
            tree = ast.parse(code_source(cell))
            defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            safe: set[int] = set()
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) in SAFE_DEMO_CALLS
                ):
                    safe |= {id(n) for n in ast.walk(node)}
                # A demo of the refusal itself: the call sits in a try whose handler catches the pickling error.
                if isinstance(node, ast.Try) and any(
                    h.type is not None
                    and {"Exception", "PicklingError", "TypeError", "AttributeError"}
                    & {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(h.type)}
                    for h in node.handlers
                ):
                    safe |= {id(n) for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Lambda)}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or id(node) in safe:
                    continue
                handed = [kw.value for kw in node.keywords if kw.arg in ("target", "initializer", "func", "fn")]
                if getattr(node.func, "attr", None) in (
                    "map",
                    "imap",
                    "imap_unordered",
                    "starmap",
                    "apply",
                    "apply_async",
                    "map_async",
                    "submit",
                ):
                    handed += node.args[:1]
                for value in handed:
                    if id(value) in safe:
                        continue
                    assert not (isinstance(value, ast.Lambda) or getattr(value, "id", None) in defined), (
                        f"{path.name}: a process is given {ast.unparse(value)}, defined in the notebook; "
                        "spawn and forkserver cannot import it. Put it in helpers."
                    )


def test_a_lesson_for_a_newer_python_checks_it_first() -> None:
    """Lesson 07 needs Python 3.14+: its first code cell says so, and stops Run All, on an older Python, before any
    import that would fail there. (The tests skip it there, with the reason; this file reads it on every Python.)"""
    first = next(c for c in read(NOTEBOOKS / "07_past_processes.ipynb").cells if c.cell_type == "code")
    assert "require_python_314()" in first.source, "lesson 07's first code cell calls require_python_314()"


def test_every_solution_is_used_by_a_lesson() -> None:
    used = {target for path in LESSONS for target in LOAD.findall(markdown(read(path)))}
    files = {f"solutions/{p.name}" for p in (NOTEBOOKS / "solutions").glob("*.py")}
    assert files == used, f"solution files no lesson loads: {files - used}; loads without a file: {used - files}"


def test_structure_checks_can_fail(tmp_path: Path) -> None:
    """A notebook saved half-run, with a notebook-defined target, breaks the checks above."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def work():\n    pass", execution_count=2),
        nbformat.v4.new_code_cell("Process(target=work).start()", execution_count=1),
    ]
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError):
        TestAnatomy().test_outputs_are_from_a_clean_top_to_bottom_run(path)
    with pytest.raises(AssertionError, match="defined in the notebook"):
        TestAnatomy().test_no_process_runs_a_function_the_notebook_defines(path)
    with pytest.raises(AssertionError):
        TestAnatomy().test_kernel_is_python3(path)


def test_readme_outline_matches_the_lessons() -> None:
    """The README's outline lists every lesson with the minutes its first cell states, and adds them up."""
    readme = (ROOT / "README.md").read_text()
    teaching = exercises = 0
    for path in LESSONS:
        minutes = re.search(r"Teaching: (\d+) min · Exercises: (\d+) min", read(path).cells[0].source)
        assert minutes, f"{path.name}: no minutes"
        t, e = map(int, minutes.groups())
        teaching, exercises = teaching + t, exercises + e
        row = rf"^\| \[{path.name[:2]} [^]]+\]\(notebooks/{re.escape(path.name)}\) \| {t} \+ {e} \| .+ \|$"
        assert re.search(row, readme, flags=re.M), f"README outline has no row for {path.name} with {t} + {e} minutes"
    assert f"Total: {teaching} minutes of teaching and {exercises} of exercises." in readme


def readme_block(readme: str, fence: str, after: str) -> list[str]:
    """The lines of the first ``fence`` code block in the README after the text ``after``."""
    rest = readme[readme.index(after) :]
    body = rest[rest.index(f"```{fence}\n") + len(fence) + 4 :]
    return body[: body.index("```")].splitlines()


def test_readme_commands() -> None:
    """Each start block makes a virtual environment, installs requirements.txt into it and opens lesson 00 with the
    course's folder as JupyterLab's root, one command a line (Windows PowerShell 5.1 has no ``&&``); the Linux block
    sits between the markers .ci/readme-start.sh runs it from. The maintainers' test command installs the file built
    on requirements.txt."""
    readme = (ROOT / "README.md").read_text()
    linux = readme_block(readme, "bash", "<!-- start-linux -->")
    assert readme.index("<!-- /start-linux -->") > readme.index("\n".join(linux)), (
        "the Linux block is between the markers"
    )
    windows = readme_block(readme, "powershell", "Windows (PowerShell")
    for block, python, sep in [(linux, ".venv/bin/python", "/"), (windows, ".\\.venv\\Scripts\\python", "\\")]:
        assert block[0].endswith("-m venv .venv"), block
        assert block[1] == f"{python} -m pip install -r requirements.txt", block
        assert block[2] == f"{python} -m jupyterlab --notebook-dir=. notebooks{sep}00_welcome_and_setup.ipynb", block
        assert not any("&&" in line for line in block), block
    assert "python -m pip install -r requirements-dev.txt && python -m pytest" in readme
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev, "requirements-dev.txt builds on the student's requirements.txt"
    student = (ROOT / "requirements.txt").read_text().lower()
    for tool in ("playwright", "ruff", "mypy"):
        assert tool not in student, f"{tool} is for maintainers: it belongs in requirements-dev.txt"


def test_binder_reuses_the_one_requirements_file() -> None:
    """binder/requirements.txt reuses requirements.txt; beyond it, it may only lift packages that Binder's base
    environment already holds (its notebook 7.4.7 would refuse our JupyterLab), never add a second list."""
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries[0] == "-r ../requirements.txt", entries
    binder_base = {"jupyterlab", "notebook", "jupyter_server", "ipykernel", "ipywidgets", "jupyterhub"}
    for entry in entries[1:]:
        name = re.split(r"[<>=!~ ]", entry)[0]
        assert name in binder_base, f"binder/requirements.txt: {entry!r} is not a package of Binder's base environment"
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    tested = [f"python-{major}.{minor}" for major, minor in SUPPORTED_PYTHONS]
    assert runtime in tested, f"binder/runtime.txt: {runtime!r} is not a tested Python ({tested})"
    assert re.search(r"^-e \.$", (ROOT / "requirements.txt").read_text(), flags=re.M), (
        "requirements.txt installs helpers"
    )


def test_ci_runs_the_suite_on_every_supported_python() -> None:
    """The README and the setup report say the course is tested on each supported Python: CI must have a stage
    that makes a venv of each and runs the suite in it (3.12 had none for a while, issue 25)."""
    ci = (ROOT / ".ci" / "run").read_text()
    venvs = {
        f"{major}.{minor}": name
        for name, major, minor in re.findall(r"^make(?:_sid)?_venv (\S+) (?:python)?(\d)\.(\d+) ", ci, flags=re.M)
    }
    for major, minor in SUPPORTED_PYTHONS:
        version = f"{major}.{minor}"
        assert version in venvs, f".ci/run makes no venv of Python {version}"
        assert re.search(rf'^run(?:_sid)?_suite "[^"]+" {venvs[version]}\b', ci, flags=re.M), (
            f".ci/run never runs the suite in its Python {version} venv ({venvs[version]})"
        )


def test_references_are_the_trap_gallery() -> None:
    """The only 9x notebook is the gallery; a new one needs its own checks here."""
    assert REFERENCES == [GALLERY], f"unexpected reference notebooks: {[p.name for p in REFERENCES]}"


class TestGallery:
    """The trap gallery is run and checked like a lesson (kernel, clean outputs, workers from helpers, a Clean up
    cell last), but it has no minutes, objectives or exercises: it is a list of entries, each a numbered section
    with the symptom run, one line of why, and the fix run."""

    def test_checked_like_a_lesson(self) -> None:
        anatomy = TestAnatomy()
        anatomy.test_kernel_is_python3(GALLERY)
        anatomy.test_ends_by_releasing_what_it_created(GALLERY)
        anatomy.test_outputs_are_from_a_clean_top_to_bottom_run(GALLERY)
        anatomy.test_no_process_runs_a_function_the_notebook_defines(GALLERY)

    def test_title_and_no_minutes(self) -> None:
        first = read(GALLERY).cells[0]
        assert first.source.startswith("# 90 · "), "first line: '# 90 · Title'"
        assert "Teaching:" not in first.source, "a reference states no minutes"

    def test_each_entry_shows_symptom_why_and_fix(self) -> None:
        check_gallery_entries(read(GALLERY))

    def test_the_check_fails_on_an_entry_without_its_fix(self) -> None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_markdown_cell("## 1. A trap"),
            nbformat.v4.new_code_cell("symptom()"),
            nbformat.v4.new_markdown_cell("**Why:** because."),
        ]
        with pytest.raises(AssertionError, match="A trap"):
            check_gallery_entries(nb)

    def test_linked_from_the_readme(self) -> None:
        assert f"(notebooks/{GALLERY.name})" in (ROOT / "README.md").read_text()


def check_gallery_entries(nb: nbformat.NotebookNode) -> None:
    """Each ``## N.`` section: a code cell (the symptom), markdown with **Why:** and **Fix:**, a code cell (the fix);
    sections numbered 1, 2, ... in order."""
    entries: list[tuple[str, list[nbformat.NotebookNode]]] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            entries.append((cell.source.splitlines()[0], []))
        elif entries:
            entries[-1][1].append(cell)
    numbered = [(title, cells) for title, cells in entries if re.match(r"## \d+\. ", title)]
    assert numbered, "no numbered entries"
    assert [int(re.match(r"## (\d+)\.", t).group(1)) for t, _ in numbered] == list(range(1, len(numbered) + 1))
    for title, cells in numbered:
        kinds = [c.cell_type for c in cells]
        assert kinds == ["code", "markdown", "code"], f"{title}: symptom code, why/fix markdown, fix code; got {kinds}"
        assert "**Why:**" in cells[1].source and "**Fix:**" in cells[1].source, f"{title}: say why and the fix"
