"""``python -m helpers.bench``: lesson 05's measurements as a command, outside Jupyter.

    python -m helpers.bench                     # a readable table, with the machine named
    python -m helpers.bench --json              # a JSON list of records
    python -m helpers.bench --sizes 1,16,64 --repeats 7 --only handoff --methods pickle,shared_memory
    python -m helpers.bench --only tasks          # what each task's message costs, by route and chunksize

Every JSON record has ``measurement`` ("handoff", "speedup", "start" or
"tasks"), ``method``, ``seconds`` (the fastest of the repeats; for speedups the median over rounds) and
``repeats``; handoff records add ``size_bytes`` (method ``one_copy`` is the
floor: the same bytes copied once in memory, no worker), speedup records
``workers`` and ``speedup``, task records ``chunksize``, ``tasks``,
``messages``, ``cpu_seconds`` and ``messaging_share``. Ctrl-C (or
SIGTERM) stops it cleanly: its pool is terminated and its shared memory
unlinked before it exits with status 130.

Only the standard library is imported at the top of this file: under spawn
and forkserver a worker re-imports the main module, and it need not load
NumPy for that.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

PARTS = ("handoff", "speedup", "start", "tasks")


def _sizes(text: str) -> list[int]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"sizes are positive numbers of MiB separated by commas, e.g. 1,4,16,64; got {text!r}"
        )
    return [max(8, int(v * 2**20)) for v in values]


def _parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise argparse.ArgumentTypeError(f"--only takes some of {','.join(PARTS)}; got {text!r}")
    return parts


def _methods(text: str) -> list[str]:
    from helpers.measuring import HANDOFF_METHODS

    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in HANDOFF_METHODS]
    if not methods or unknown:
        raise argparse.ArgumentTypeError(f"--methods takes some of {','.join(HANDOFF_METHODS)}; got {text!r}")
    return methods


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m helpers.bench",
        description="Measure what sharing costs on this machine: handing an array to a warm worker "
        "(pickle vs shared memory vs fork, beside one copy in memory), speedup of CPU-bound work vs workers, "
        "process start cost, and what each task's message costs by route and chunksize.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of records instead of tables")
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        metavar="MIB,...",
        help="array sizes in MiB (default: 1, 4, 16, 64, or less where /dev/shm or memory is small)",
    )
    p.add_argument(
        "--methods",
        type=_methods,
        default=None,
        metavar="METHOD,...",
        help="handoff methods (default: pickle,shared_memory,shared_memory_with_copy,fork where fork exists,one_copy)",
    )
    p.add_argument(
        "--repeats",
        type=_positive,
        default=5,
        help="timings per point; the fastest is kept (speedup: rounds, the median kept) (default 5)",
    )
    p.add_argument(
        "--workers", type=_positive, default=None, help="speedup up to this many workers (default: usable CPUs + 1)"
    )
    p.add_argument(
        "--only", type=_parts, default=list(PARTS), metavar="PART,...", help=f"measure only some of {','.join(PARTS)}"
    )
    return p


def _progress(fraction: float, label: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{fraction:4.0%} {label:<50}")
        sys.stderr.flush()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"


def format_tables(records: Sequence[Any], machine: str) -> str:
    """The records as readable tables under a line naming the machine."""
    from helpers.machine import format_bytes
    from helpers.measuring import HANDOFF_METHODS

    out = [f"Machine: {machine}"]
    handoff = [r for r in records if r.measurement == "handoff"]
    if handoff:
        methods = [m for m in HANDOFF_METHODS if any(r.method == m for r in handoff)]
        by = {(r.method, r.size_bytes): r.seconds for r in handoff}
        out += ["", f"Handing an array to a warm worker (fastest of {handoff[0].repeats}):"]
        ratios = [
            (a, b) for a, b in (("pickle", "shared_memory"), ("pickle", "one_copy")) if a in methods and b in methods
        ]
        out.append(
            f"{'size':>9} "
            + " ".join(f"{m:>24}" for m in methods)
            + "".join(f" {a + ' / ' + b:>23}" for a, b in ratios)
        )
        for size in sorted({r.size_bytes for r in handoff}):
            cells = [_ms(by[(m, size)]).rjust(24) if (m, size) in by else " " * 24 for m in methods]
            ratio_cells = [
                f" {by[(a, size)] / by[(b, size)]:22.1f}x" if (a, size) in by and (b, size) in by else " " * 24
                for a, b in ratios
            ]
            out.append(f"{format_bytes(size):>9} " + " ".join(cells) + "".join(ratio_cells))
    speedup = [r for r in records if r.measurement == "speedup"]
    if speedup:
        out += ["", f"CPU-bound work on 1..{len(speedup)} warm workers (median of {speedup[0].repeats} rounds):"]
        out.append(f"{'workers':>9} {'seconds':>12} {'speedup':>8}")
        out += [f"{r.workers:>9} {r.seconds:12.3f} {r.extra['speedup']:7.2f}x" for r in speedup]
    start = [r for r in records if r.measurement == "start"]
    if start:
        out += ["", f"Starting and joining an empty process (fastest of {start[0].repeats}):"]
        out += [f"{r.method:>11} {_ms(r.seconds)}" for r in start]
    tasks = [r for r in records if r.measurement == "tasks"]
    if tasks:
        from helpers.task_costs import ROUTES, rule_lines, task_cost_table

        out += ["", task_cost_table(tasks, ROUTES), *rule_lines(tasks)]
    return "\n".join(out)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    from helpers.machine import describe_machine
    from helpers.measuring import HANDOFF_METHODS, measure_handoff, measure_speedup, measure_start_cost

    records: list[Any] = []
    try:
        if "handoff" in args.only:
            methods = args.methods or HANDOFF_METHODS
            records += measure_handoff(args.sizes, repeats=args.repeats, methods=methods, progress=_progress)
        if "speedup" in args.only:
            records += measure_speedup(args.workers, repeats=min(args.repeats, 3), progress=_progress)
        if "start" in args.only:
            records += measure_start_cost(repeats=args.repeats, progress=_progress)
        if "tasks" in args.only:
            from helpers.task_costs import measure_task_costs

            records += measure_task_costs(repeats=min(args.repeats, 3), progress=_progress)
    except KeyboardInterrupt:
        print("\ninterrupted: workers stopped and shared memory released", file=sys.stderr)
        return 130
    except (MemoryError, ValueError) as exc:
        print(f"python -m helpers.bench: {exc}", file=sys.stderr)
        return 2
    finally:
        _progress(1.0, "")
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 56 + "\r")
    text = (
        json.dumps([r.as_dict() for r in records], indent=1)
        if args.json
        else format_tables(records, describe_machine())
    )
    try:
        print(text, flush=True)
    except BrokenPipeError:  # e.g. piped into `head`: not an error
        sys.stdout = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
