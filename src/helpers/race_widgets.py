"""Lesson 03's widgets: the race explorer, and progress bars driven by a shared Array.

The race explorer has sliders for workers and increments, a strategy toggle,
a Run button and a plot. Each click runs one experiment (:func:`helpers.races.run_counter`) and adds
it to the plot: expected vs arrived counts on the left, seconds on the right,
for the last few runs. Nothing runs until the button is clicked, so a
notebook that only *shows* the explorer stores the same output every time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from helpers.deadline import DeadlineReport, run_with_deadline, stopped_if_interrupted
from helpers.races import STRATEGIES, RaceResult, run_counter

__all__ = ["HISTORY", "plot_results", "progress_bars", "race_explorer", "watch_progress"]

#: How many runs the plot keeps.
HISTORY = 6


def plot_results(results: list[RaceResult], ax_counts: Any = None, ax_seconds: Any = None) -> Any:
    """Bars of expected vs arrived counts and of seconds, one pair per run; returns the figure."""
    import matplotlib.pyplot as plt

    if ax_counts is None or ax_seconds is None:
        fig, (ax_counts, ax_seconds) = plt.subplots(1, 2, figsize=(9, 3.4))
    fig = ax_counts.figure
    labels = [f"{r.workers}×{r.increments:,}\n{r.strategy}" for r in results]
    xs = range(len(results))
    ax_counts.bar([x - 0.2 for x in xs], [r.expected for r in results], width=0.4, label="expected", color="#bbbbbb")
    ax_counts.bar(
        [x + 0.2 for x in xs],
        [r.arrived for r in results],
        width=0.4,
        label="arrived",
        color=["#d62728" if r.lost else "#2ca02c" for r in results],
    )
    ax_counts.set_title("counts (red: updates were lost)", fontsize=10)
    ax_counts.legend(fontsize=8)
    ax_seconds.bar(list(xs), [r.seconds for r in results], color="#1f77b4")
    ax_seconds.set_title("seconds until the last worker was done", fontsize=10)
    for ax in (ax_counts, ax_seconds):
        ax.set_xticks(list(xs), labels, fontsize=7)
    if results:
        last = results[-1]
        fig.suptitle(f"last run: {last.workers} workers × {last.increments:,} increments, {last.strategy}", fontsize=11)
    fig.tight_layout()
    return fig


def race_explorer(history: list[RaceResult] | None = None) -> Any:
    """Build the explorer widget. ``history`` (a list) collects every run, for a later cell to read."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    runs: list[RaceResult] = history if history is not None else []
    workers = widgets.IntSlider(value=4, min=1, max=8, description="workers")
    increments = widgets.IntSlider(value=20_000, min=1_000, max=100_000, step=1_000, description="increments")
    strategy = widgets.ToggleButtons(options=list(STRATEGIES), value="no lock", description="strategy")
    run = widgets.Button(description="Run", button_style="primary", icon="play")
    status = widgets.Label(value="Choose, then click Run.")
    out = widgets.Output()

    def on_click(_: Any) -> None:
        run.disabled = True
        status.value = "running..."
        try:
            result = run_counter(strategy.value, workers.value, increments.value)
        except Exception as exc:
            status.value = f"failed: {exc}"
            return
        finally:
            run.disabled = False
        runs.append(result)
        with out:
            out.clear_output(wait=True)
            fig = plot_results(runs[-HISTORY:])
            plt.show()
            plt.close(fig)
        status.value = (  # last, so that a new status means a new plot is there
            f"expected {result.expected:,}, arrived {result.arrived:,}"
            + (f": {result.lost:,} updates lost" if result.lost else ": none lost")
        )

    run.on_click(on_click)
    box = widgets.VBox([workers, increments, strategy, widgets.HBox([run, status]), out])
    box.add_class("race-explorer")
    return box


def progress_bars(count: int, steps: int) -> tuple[Any, list[Any]]:
    """``count`` progress bars (0..``steps``) in a VBox; returns the box and the bars."""
    import ipywidgets as widgets

    bars = [widgets.IntProgress(value=0, max=steps, description=f"worker {i}") for i in range(count)]
    return widgets.VBox(bars), bars


def watch_progress(
    processes: Sequence[BaseProcess], progress: Any, bars: Sequence[Any], seconds: float = 30.0, every: float = 0.05
) -> DeadlineReport:
    """Start ``processes`` and, while they run, copy ``progress[i]`` into ``bars[i]`` every ``every`` seconds.

    The workers write their progress into the shared array ``progress``; only
    this (the parent) process touches the widgets. Stops polling when all
    have ended or ``seconds`` have passed, then joins them by that deadline.
    """
    if len(bars) != len(progress):
        raise ValueError(f"one bar per slot of the progress array: {len(bars)} bars, {len(progress)} slots")
    with stopped_if_interrupted(processes):  # Interrupt stops them too
        for p in processes:
            if p.pid is None:
                p.start()
        deadline = time.monotonic() + seconds
        while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
            for bar, done in zip(bars, progress[:], strict=True):
                bar.value = done
            time.sleep(every)
    report = run_with_deadline(list(processes), max(0.1, deadline - time.monotonic()))
    for bar, done in zip(bars, progress[:], strict=True):
        bar.value = done
    return DeadlineReport(float(seconds), report.outcomes)  # the deadline as given, not what was left of it
