"""The course in a real browser: JupyterLab driven by headless Chromium through Playwright.

For each lesson, in a copy of ``notebooks/`` (JupyterLab autosaves, and the
stored outputs must not change): open it, wait for its kernel, clear the
outputs, Run All, and fail on any error output outside a cell tagged
``raises-exception``; check that widget outputs rendered as widgets. A
screenshot of each lesson goes to ``ci-artifacts/screenshots/`` (or the
folder named by ``COURSE_SCREENSHOTS``), which CI keeps.

Chromium comes from the system (Debian: ``apt-get install chromium``), not
from Playwright's own download. Without it the test is skipped on a laptop,
and fails in CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.subinterpreters import UNAVAILABLE

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = Path(os.environ.get("COURSE_SCREENSHOTS", ROOT / "ci-artifacts" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # Chromium would otherwise fill a 64 MB /dev/shm (Binder-sized box)
]

# Open a notebook through JupyterLab's own commands, wait for an idle kernel, then Run All.
OPEN_AND_RUN_ALL = """async (path) => {
    const app = window.jupyterapp;
    await app.commands.execute('application:close-all');
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    window.__lesson = panel;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const idle = () => panel.sessionContext.session?.kernel?.status === 'idle';
    while (!idle()) { await new Promise(r => setTimeout(r, 100)); }
    app.shell.activateById(panel.id);
    await app.commands.execute('notebook:clear-all-cell-outputs');
    await app.commands.execute('notebook:run-all-cells');
}"""
ALL_CELLS_RAN = """() => {
    const panel = window.__lesson;
    const code = panel.context.model.toJSON().cells.filter(c => c.cell_type === 'code');
    return panel.sessionContext.session?.kernel?.status === 'idle' && code.every(c => c.execution_count !== null);
}"""
CLOSE_LESSON = """async () => {
    const panel = window.__lesson;
    await panel.sessionContext.shutdown();
    panel.context.model.dirty = false;
    panel.dispose();
}"""


def chromium_path() -> str | None:
    """The system Chromium: COURSE_CHROMIUM, or chromium / chromium-browser / google-chrome on PATH."""
    named = os.environ.get("COURSE_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def missing(reason: str) -> None:
    """Skip on a laptop; fail in CI, where a missing browser means a broken set-up."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(f"{reason}. To run the browser test: sudo apt-get install chromium (or set COURSE_CHROMIUM)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a free loopback port, serving a copy of the lessons; yields its URL."""
    if chromium_path() is None:
        missing("no Chromium found (looked for COURSE_CHROMIUM, chromium, chromium-browser, google-chrome)")
    base = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", base / "notebooks")
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No news or update notifications covering the page.
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={base / 'notebooks'}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config")}
    log = (base / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(base / 'server.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"{url}/lab?reset&token={token}"
    finally:
        server.send_signal(signal.SIGINT)  # JupyterLab shuts its kernels down on SIGINT
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def page(lab: str):
    """A Chromium page with JupyterLab loaded and ready."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Python package playwright is not installed: python -m pip install -r requirements-dev.txt")
    threads_before = set(threading.enumerate())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(lab)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored")
        yield page
        browser.close()
    # Playwright's event loop leaves its executor threads (asyncio_0, ...) to wind down on their own. Wait for
    # them: a later test that forks this process while they live gets Python 3.12+'s "multi-threaded, use of
    # fork() may lead to deadlocks" DeprecationWarning (seen in CI's 1-CPU box).
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=30)


def run_lesson(page, name: str) -> dict:
    """Run All on one lesson; return its notebook JSON as JupyterLab holds it afterwards."""
    page.evaluate(OPEN_AND_RUN_ALL, name)
    page.wait_for_function(ALL_CELLS_RAN, timeout=120_000, polling=200)
    return page.evaluate("() => window.__lesson.context.model.toJSON()")


def source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_in_jupyterlab(page, lesson: Path) -> None:
    if lesson.name.startswith("07_") and UNAVAILABLE:
        pytest.skip(UNAVAILABLE)
    nb = run_lesson(page, lesson.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for cell in (c for c in nb["cells"] if c["cell_type"] == "code"):
            errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
            tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            assert bool(errors) == tagged, f"{lesson.name}: cell {source(cell)[:80]!r} " + (
                f"raised {errors[0]['ename']}: {errors[0]['evalue']}" if errors else "was expected to raise"
            )
        widget_outputs = sum(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            for c in nb["cells"]
            if c["cell_type"] == "code"
            for o in c["outputs"]
        )
        if widget_outputs:
            widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
            widgets.first.wait_for(state="visible", timeout=30_000)
            assert widgets.count() >= widget_outputs, "every widget output is drawn as a widget"
            widgets.first.scroll_into_view_if_needed()
        assert page.locator("text=Error displaying widget").count() == 0
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"{lesson.stem}.png"))
        page.evaluate(CLOSE_LESSON)


def test_race_explorer_redraws_when_a_learner_moves_a_slider_and_clicks_run(page) -> None:
    """Lesson 03's explorer in the browser: move the workers slider, click Run, and the plot changes."""
    lesson = next((p for p in LESSONS if p.name.startswith("03_")), None)
    if lesson is None:
        pytest.skip("no lesson 03 yet")
    run_lesson(page, lesson.name)
    try:
        explorer = page.locator(".race-explorer")
        explorer.wait_for(state="visible", timeout=30_000)
        explorer.scroll_into_view_if_needed()
        workers = explorer.locator(".widget-slider").first
        readout = workers.locator(".widget-readout")
        # The readout is filled in after the slider is drawn: wait for it rather than read it at once.
        page.wait_for_function("el => el.textContent.trim() !== ''", arg=readout.element_handle(), timeout=30_000)
        assert (readout.text_content() or "").strip() == "4"  # the same property the wait read
        handle = workers.locator(".noUi-handle")
        plot = explorer.locator(".jp-OutputArea-output img")

        def run_with(expected_workers: str, before: str | None) -> str:
            handle.focus()
            handle.press("ArrowRight")
            page.wait_for_function(
                "([el, want]) => el.textContent.trim() === want", arg=[readout.element_handle(), expected_workers]
            )
            explorer.locator("button", has_text="Run").click()
            want = f"expected {int(expected_workers) * 20_000:,}"
            try:
                explorer.locator(".widget-label", has_text=want).wait_for(timeout=60_000)
            except Exception:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                explorer.screenshot(path=str(SCREENSHOTS / "03_race_explorer_FAILED.png"))
                status = explorer.locator(".widget-label").all_inner_texts()
                raise AssertionError(f"no {want!r} within 60 s; the explorer's labels say {status}") from None
            plot.first.wait_for(state="visible", timeout=30_000)
            page.wait_for_function(  # looked up each time: clear_output replaces the img element
                "(before) => { const img = document.querySelector('.race-explorer .jp-OutputArea-output img');"
                " return img !== null && img.getAttribute('src') !== before; }",
                arg=before,
                timeout=30_000,
            )
            return plot.first.get_attribute("src")

        first = run_with("5", None)
        second = run_with("6", first)
        assert first and second and first != second, "the plot was redrawn after the second run"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=str(SCREENSHOTS / "03_race_explorer_after_two_runs.png"))
    finally:
        page.evaluate(CLOSE_LESSON)
