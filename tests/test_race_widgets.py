"""Tests for helpers.race_widgets: the race explorer runs and redraws on a click; progress bars follow workers."""

from __future__ import annotations

import multiprocessing

import pytest

from helpers.race_widgets import plot_results, progress_bars, race_explorer, watch_progress
from helpers.races import RaceResult, report_progress


def parts(box):
    workers, increments, strategy, row, out = box.children
    run, status = row.children
    return workers, increments, strategy, run, status, out


def test_the_explorer_runs_nothing_until_clicked_then_plots_each_run() -> None:
    history: list[RaceResult] = []
    box = race_explorer(history)
    workers, increments, strategy, run, status, out = parts(box)
    assert [w.description for w in (workers, increments, strategy, run)] == ["workers", "increments", "strategy", "Run"]
    assert history == [] and out.outputs == ()
    workers.value, increments.value, strategy.value = 2, 3_000, "local sums"
    run.click()
    last = history[-1]
    assert last == RaceResult("local sums", 2, 3_000, 6_000, last.seconds, last.cpu_seconds) and last.cpu_seconds > 0
    assert status.value == "expected 6,000, arrived 6,000: none lost"
    assert not run.disabled


def test_the_plot_marks_lost_updates_and_names_the_last_run() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_results([RaceResult("no lock", 4, 1000, 3100, 0.01), RaceResult("local sums", 2, 500, 1000, 0.002)])
    assert fig._suptitle.get_text() == "last run: 2 workers × 500 increments, local sums"
    counts = fig.axes[0]
    arrived = counts.containers[1]
    assert [bar.get_height() for bar in arrived] == [3100, 1000]
    assert arrived[0].get_facecolor() != arrived[1].get_facecolor(), (
        "a run that lost updates is drawn in another colour"
    )


def test_progress_bars_follow_the_shared_array() -> None:
    progress = multiprocessing.Array("i", 2, lock=False)
    _, bars = progress_bars(2, steps=5)
    procs = [multiprocessing.Process(target=report_progress, args=(progress, i, 5, 1000)) for i in range(2)]
    report = watch_progress(procs, progress, bars, seconds=20)
    assert report.all_finished and str(report).startswith("all 2 finished before the 20 s deadline")
    assert [b.value for b in bars] == [5, 5]


def test_watch_progress_needs_a_bar_per_slot() -> None:
    with pytest.raises(ValueError, match="one bar per slot"):
        watch_progress([], multiprocessing.Array("i", 3), progress_bars(2, 5)[1])
