"""Lesson 07's timing claims, run again and again beside busy loops: how often each held, and by what margin.

    PYTHONPATH=src python3.14 tests/claims_subinterpreters.py --runs 20 --loads 0,1,2

A stored claim that rests on a timing must hold on a busy machine (DESIGN.md, "Claims that survive load"). This is
a benchmark, not a test: it prints counts and figures and asserts nothing (pytest does not collect it). For each
load (0, 1, 2 busy loops, ``python -c "while True: pass"``, beside it) it runs, ``--runs`` times each, in this
process, the experiments whose claims lesson 07 stores: :func:`compare_workers`, :func:`start_costs` and
:func:`interrupt_during_exec`. For every claim it prints in how many runs it held; for every figure behind a claim
its lowest and highest value, so that a margin can be set above the noise measured.

Lesson 07 calls them in a Jupyter kernel; here they run in a plain process, which starts interpreters and
processes a little faster (no kernel threads, a smaller ``sys.modules``): check the lesson itself with strict nbval
too (``tests/load_harness.py``, or a loop of ``python -m pytest notebooks/07_past_processes.ipynb``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

from load_harness import busy_loops  # tests/, beside this script

from helpers.machine import cgroup_cpu_limit, usable_cpus
from helpers.subinterpreters import (
    UNAVAILABLE,
    compare_workers,
    interrupt_during_exec,
    start_claims,
    start_costs,
)


def one_run(figures: dict[str, list[float]], held: dict[str, int], only: str, repeats: int | None) -> None:
    """Each experiment once: its claims counted in ``held``, the figures behind them appended to ``figures``."""
    claims: list[str] = []
    if only in ("all", "compare"):
        times = compare_workers() if repeats is None else compare_workers(repeats=repeats)
        for kind in ("processes", "interpreters", "threads"):
            figures[f"compare_workers: CPUs kept busy by {kind}"].append(times.busy(kind))
            figures[f"compare_workers: speedup of {kind}"].append(times.speedup(kind))
        figures["compare_workers: interpreters / processes, CPUs kept busy (busy_ratio)"].append(
            times.busy_ratio("interpreters", "processes")
        )
        claims += times.claims()
    if only in ("all", "start"):
        start_figures(figures, claims)
    if only in ("all", "interrupt"):
        claims += interrupt_during_exec().claims()
    for claim in claims:
        text, _, verdict = claim.rpartition(": ")
        held[text] += verdict == "True"


def start_figures(figures: dict[str, list[float]], claims: list[str]) -> None:
    costs = start_costs()
    figures["start_costs: spawn / interpreter"].append(costs["spawn"] / costs["interpreter"])
    figures["start_costs: interpreter / thread"].append(costs["interpreter"] / costs["thread"])
    if "forkserver" in costs:
        figures["start_costs: interpreter / forkserver"].append(costs["interpreter"] / costs["forkserver"])
    for kind, seconds in costs.items():
        figures[f"start_costs: {kind}, ms"].append(seconds * 1000)
    claims += start_claims(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per load (default 10)")
    parser.add_argument("--loads", default="0,2", help="busy loops beside it, comma-separated (default 0,2)")
    parser.add_argument("--only", choices=("all", "compare", "start", "interrupt"), default="all")
    parser.add_argument("--repeats", type=int, default=None, help="compare_workers's rounds (default: its own)")
    args = parser.parse_args()
    if UNAVAILABLE:
        sys.exit(UNAVAILABLE)
    print(
        f"Python {sys.version.split()[0]}, usable CPUs {usable_cpus()}, CPU quota {cgroup_cpu_limit()}, "
        f"{args.runs} runs per load"
    )
    for load in (int(n) for n in args.loads.split(",")):
        figures: dict[str, list[float]] = defaultdict(list)
        held: dict[str, int] = defaultdict(int)
        start = time.monotonic()
        with busy_loops(load):
            for _ in range(args.runs):
                one_run(figures, held, args.only, args.repeats)
        print(f"\n{load} busy loop(s) beside it ({time.monotonic() - start:.0f} s):")
        for text, count in held.items():
            print(f"  held {count:3} of {args.runs}: {text}")
        for name, values in figures.items():
            print(f"  {name}: {min(values):.3g} to {max(values):.3g}")


if __name__ == "__main__":
    main()
