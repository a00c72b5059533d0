"""Answers to every exercise, right and wrong, with what each exercise's self-check must say about them.

Each answer is the code a student would leave in the exercise's starter cell (it replaces the starter); the
test runs it in a real kernel, in the lesson's context, then the exercise's own check cell, and reads the check's
lines. A wrong answer must get at least one ✘ line and its hint must contain every fragment listed; a right
answer must get "All N checks pass". The wrong answers are the mistakes the exercises are about and the everyday
slips seen when students took the lessons: a missing join, a wrong size or type code, a view for a copy, a
swapped argument, a forgotten comma.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


@dataclass(frozen=True)
class Answer:
    """One attempt at an exercise."""

    label: str
    code: str
    #: Fragments the check's ✘ hint must contain; empty means this answer is right (every check passes).
    hint: tuple[str, ...] = ()
    #: Seconds after which the attempt is interrupted, as a student stuck in a cell would press Interrupt.
    interrupt_after: float | None = None
    #: Code run after the check, to undo what a wrong answer left running (so it cannot sway the next answers).
    undo: str = ""


@dataclass(frozen=True)
class Exercise:
    """An exercise: where it is, what to run before it, how it is checked, and the answers to try."""

    lesson: str
    number: int
    #: The exercise's check cell, by a piece of its code.
    check: str
    solution: str
    answers: tuple[Answer, ...]
    #: Code run once in the lesson's kernel before this exercise's answers (imports and data the lesson made).
    setup: str = ""
    #: Lesson cells, by a piece of their code, run before ``setup`` (when the exercise needs what they built).
    cells: tuple[str, ...] = field(default=())


def solution_string(name: str, variable: str) -> str:
    """The string literal a solution file assigns to ``variable``: wrong answers are made from it by one edit each."""
    tree = ast.parse((SOLUTIONS / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == variable for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise LookupError(f"{name} assigns no string to {variable}")


#: Lesson 01, exercise 2's right answer: the script with the guard, as its solution file has it.
GUARDED = solution_string("01_main_guard.py", "fixed_script")


def script(text: str) -> str:
    """An answer to lesson 01's exercise 2: the student's script as the string ``fixed_script``."""
    return f"fixed_script = {text!r}"


SQUARES = "p = Process(target=square_into, args=({numbers}, result, {total}))\n{run}"
START_JOIN = "p.start()\np.join()"


def squares(
    result: str,
    square_sum: str = 'Value("i")',
    numbers: str = "[2, 4, 6, 8]",
    total: str = "square_sum",
    run: str = START_JOIN,
) -> str:
    """An answer to lesson 02's exercise 1."""
    return f"result = {result}\nsquare_sum = {square_sum}\n" + SQUARES.format(numbers=numbers, total=total, run=run)


def big_sum(code: str, run: bool = True) -> str:
    """An answer to lesson 02's exercise 2: the Value's type code, and whether the child runs again."""
    child = "\nchild = Process(target=write_sum, args=(BIG_NUMBERS, big_total))\nchild.start()\nchild.join()"
    return f"from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n\nbig_total = Value({code!r})" + (
        child if run else ""
    )


def pool_total(pool: str, tasks: str = "range(1, 101)", total: str = 'Value("i", 0)') -> str:
    """An answer to lesson 02's exercise 3."""
    return f"total = {total}\nwith {pool} as pool:\n    pool.map(add_to_total, {tasks})"


def transfers(p_locks: str, q_locks: str, q_direction: str = "1, 0", seconds: int = 5) -> str:
    """An answer to lesson 03's exercise 2: the locks each process gets, and q's direction."""
    return (
        "lock_0, lock_1 = Lock(), Lock()\nbalances = Array('i', [100, 100])\n"
        f"p = Process(target=transfer_many, args=({p_locks}, balances, 0, 1, 1000), name='p')\n"
        f"q = Process(target=transfer_many, args=({q_locks}, balances, {q_direction}, 1000), name='q')\n"
        f"report = run_with_deadline([p, q], seconds={seconds})"
    )


def normalize(copy: str, row: str = "row", copy_from: str = ", copy_from=data", inside: bool = True) -> str:
    """An answer to lesson 04's exercise 1."""
    keep = f"    result = {copy}\n" if inside else f"result = {copy}\n"
    return (
        "result = None\n"
        f"with shared_array(data.shape{copy_from}) as shared:\n"
        f"    workers = [Process(target=normalize_row, args=(shared.spec, {row})) for row in range(len(data))]\n"
        "    for w in workers:\n        w.start()\n    for w in workers:\n        w.join()\n" + keep
    )


def lifecycle(body: str) -> str:
    """An answer to lesson 04's exercise 2 (the starter's reset line, then the student's code)."""
    return "name = message = None\nshm = shared_memory.SharedMemory(create=True, size=1024)\n" + body


#: Lesson 04's exercise 2 with close and unlink but no ``finally``: an Interrupt after the segment exists skips both.
UNGUARDED_LIFECYCLE = "name = shm.name\nshm.buf[:5] = b'hello'\nmessage = bytes(shm.buf[:5])\nshm.close()\nshm.unlink()"


def amdahl(formula: str, best: str) -> str:
    """An answer to lesson 05's exercise 2."""
    return f"def my_speedup(serial, workers):\n    return {formula}\n\n\nbest_with_5_percent = {best}"


def run_tasks(body: str) -> str:
    """An answer to lesson 05's exercise 3: the student's ``run_tasks``, whose one line is ``body``."""
    return f"def run_tasks(pool, tasks):\n    return {body}"


def queue_fix(body: str) -> str:
    """An answer to lesson 06's exercise 1 (the starter's reset line, a new queue and producer, then the rest)."""
    return (
        "report = item = None\nqueue = Queue()\n"
        "producer = Process(target=put_big, args=(queue, 10 * 2**20), name='producer')\nproducer.start()\n" + body
    )


#: Lesson 03's exercise 2 written whole: the imports, the two locks and the shared balances.
TRANSFERS_CONTEXT = (
    "from multiprocessing import Array, Lock, RLock, Process\n"
    "from helpers import run_with_deadline\n"
    "from helpers.races import transfer_many\n"
    "lock_0, lock_1 = Lock(), Lock()\n"
    "balances = Array('i', [100, 100])\n"
)
#: ... then p and q, both taking lock_0 first, in opposite directions, 1,000 transfers each (the right processes).
TRANSFERS_PQ = (
    TRANSFERS_CONTEXT + "p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000))\n"
    "q = Process(target=transfer_many, args=(lock_0, lock_1, balances, 1, 0, 1000))\n"
)
#: What lesson 04's exercise 1 has from the lesson before its starter cell, as an answer written whole repeats it.
NORMALIZE_CONTEXT = (
    "from multiprocessing import Process\n"
    "from helpers import run_with_deadline\n"
    "from helpers.segments import normalize_row\n"
    "from helpers.shared_arrays import shared_array\n"
    "import numpy as np\n"
    "rng = np.random.default_rng(4)\n"
    "data = rng.normal(loc=[[1.0], [10.0], [-5.0], [0.0]], scale=[[1.0], [3.0], [0.5], [2.0]], size=(4, 250_000))\n"
)
#: Lesson 06's exercise 1, written whole: its imports, then the starter's first lines (see :func:`queue_fix`).
QUEUE_FIX_CONTEXT = (
    "from multiprocessing import Process, Queue\nfrom helpers import run_with_deadline\n"
    "from helpers.patterns import put_big\n" + queue_fix("")
)


def read_before_close(body: str) -> str:
    """An answer to lesson 07's exercise 1 (the starter's reset line, a new queue and interpreter, then the rest)."""
    return (
        "results = worker = None\nresults_queue = interpreters.create_queue()\nworker = interpreters.create()\n"
        "worker.call(put_squares, results_queue, 5)\n" + body
    )


def shared_fill(call: str) -> str:
    """An answer to lesson 07's exercise 2 (the starter's reset line, a new buffer, then the student's call)."""
    return f"filled = None\nbuf = bytearray(2**20)\n{call}"


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "00_welcome_and_setup",
        1,
        "check_usable_cpus(my_cpus)",
        "00_usable_cpus.py",
        (
            Answer("the report's number", "from helpers import usable_cpus\nmy_cpus = usable_cpus()"),
            Answer("the starter", "my_cpus = None", ("whole number", "None")),
            Answer(
                "the number as text",
                "from helpers import usable_cpus\nmy_cpus = str(usable_cpus())",
                ("without quotes",),
            ),
            Answer("a float", "from helpers import usable_cpus\nmy_cpus = float(usable_cpus())", ("a fraction",)),
            Answer(
                "one too many", "from helpers import usable_cpus\nmy_cpus = usable_cpus() + 1", ("the report says",)
            ),
            Answer("zero", "my_cpus = 0", ("at least one CPU",)),
            Answer("a bool", "my_cpus = True", ("whole number",)),
            Answer(
                "right: a NumPy integer",
                "import numpy as np\nfrom helpers import usable_cpus\nmy_cpus = np.int64(usable_cpus())",
            ),
        ),
    ),
    Exercise(
        "01_process_isolation",
        1,
        "check_predictions(predictions)",
        "01_predict_inheritance.py",
        (
            Answer(
                "all True",
                "predictions = {'fork': True, 'spawn': True, 'forkserver': True}",
                ("spawn: the child saw [], so False", "new interpreter", "fork server is a fresh interpreter"),
            ),
            Answer(
                "all False",
                "predictions = {'fork': False, 'spawn': False, 'forkserver': False}",
                ("fork: the child saw [1, 2, 3], so True", "copies the parent"),
            ),
            Answer(
                "forkserver taken for fork",
                "predictions = {'fork': True, 'spawn': False, 'forkserver': True}",
                ("forkserver: the child saw [], so False", "copy of the server, not of the parent"),
            ),
            Answer(
                "text for booleans",
                "predictions = {'fork': 'True', 'spawn': 'False', 'forkserver': 'False'}",
                ("without quotes",),
            ),
            Answer(
                "a method left out",
                "predictions = {'fork': True, 'spawn': False}",
                ("forkserver: fill in True or False", "None"),
            ),
            Answer(
                "a capital letter",
                "predictions = {'Fork': True, 'spawn': False, 'forkserver': False}",
                ("not start methods", "'Fork'"),
            ),
            Answer("a list", "predictions = [True, False, False]", ("should be a dict",)),
        ),
        setup="import multiprocessing\nfrom helpers import isolation",
    ),
    Exercise(
        "01_process_isolation",
        2,
        "check_guarded_script(fixed_script)",
        "01_main_guard.py",
        (
            Answer("the guarded seed script", script(GUARDED)),
            Answer(
                "the starter: no guard",
                "fixed_script = unguarded",
                ("bootstrapping phase", "__main__"),
            ),
            Answer("no join", script(GUARDED.replace("    p1.join()\n", "")), ("p1.join()",)),
            Answer(
                "a sleep instead of join",
                script(GUARDED.replace("    p1.join()\n", "    import time\n    time.sleep(1.5)\n")),
                ("never called join()",),
            ),
            Answer(
                "run() instead of start()",
                script(GUARDED.replace("p1.start()", "p1.run()")),
                ("started no process",),
            ),
            Answer(
                "the parent does the work",
                script(
                    GUARDED.replace(
                        "    ctx = multiprocessing.get_context(sys.argv[1])\n"
                        '    p1 = ctx.Process(target=square_numbers, args=([5, 10, 15],), name="p1")\n'
                        "    p1.start()\n    p1.join()\n",
                        "    square_numbers([5, 10, 15])\n    result = []\n",
                    )
                ),
                ("started no process",),
            ),
            Answer(
                "right: the method unpacked from argv",
                script(
                    GUARDED.replace("sys.argv[1]", "method").replace("    ctx =", "    _, method = sys.argv\n    ctx =")
                ),
            ),
            Answer(
                "a child that only sleeps, the squares printed by the parent",
                script(
                    GUARDED.replace("target=square_numbers, args=([5, 10, 15],)", "target=time.sleep, args=(0.1,)")
                    .replace("import sys\n", "import sys\nimport time\n", 1)
                    .replace("    p1.join()\n", '    p1.join()\n    print("Result (in process p1): [25, 100, 225]")\n')
                ),
                ("the script's child ran sleep, not square_numbers",),
            ),
            Answer(
                "another process, named p1 too, joined instead",
                script(
                    GUARDED.replace("import sys\n", "import sys\nimport time\n", 1).replace(
                        "    p1.start()\n    p1.join()\n",
                        '    p2 = ctx.Process(target=time.sleep, args=(0,), name="p1")\n'
                        "    p2.start()\n    p1.start()\n    p2.join()\n    time.sleep(2)\n",
                    )
                ),
                ("never called join() on its child",),
            ),
            Answer(
                "join(timeout=0), which does not wait",
                script(GUARDED.replace("    p1.join()\n", "    p1.join(timeout=0)\n")),
                ("join() returned before its child had ended",),
            ),
            Answer(
                "fork whenever spawn is asked for",
                script(
                    GUARDED.replace(
                        "get_context(sys.argv[1])", 'get_context("fork" if sys.argv[1] == "spawn" else sys.argv[1])'
                    )
                ),
                ("started its process with fork",),
            ),
            Answer(
                "the function under the guard too",
                script(
                    GUARDED.replace("\ndef square_numbers", '\nif __name__ == "__main__":\n  def square_numbers')
                    .replace("\n    for n", "\n      for n")
                    .replace("\n        result", "\n          result")
                    .replace('\n    print("Result (in process', '\n      print("Result (in process')
                ),
                ("__mp_main__", "outside the guard"),
            ),
            Answer("a typo in the guard", script(GUARDED.replace('"__main__"', '"main"')), ("printed nothing",)),
            Answer(
                "the parent's print left outside",
                script(GUARDED.replace('    print("Result (in main program)', 'print("Result (in main program)')),
                ("came 2 times",),
            ),
            Answer(
                "fork chosen in the script",
                script(GUARDED.replace("get_context(sys.argv[1])", 'get_context("fork")  # was sys.argv[1]')),
                ("started its process with fork",),
            ),
        ),
        cells=('unguarded = """',),
    ),
    Exercise(
        "02_values_and_arrays",
        1,
        "check_squares(result, square_sum)",
        "02_squares.py",
        (
            Answer("four ints", squares('Array("i", 4)')),
            Answer("room for three", squares('Array("i", 3)'), ("room for 3 numbers", "IndexError")),
            Answer("a plain list", squares("[0, 0, 0, 0]"), ("result should be shared", "list")),
            Answer("floats for whole numbers", squares('Array("d", 4)'), ("holds fractions",)),
            Answer(
                "the sum's value, not the Value",
                squares('Array("i", 4)', total="square_sum.value"),
                ("the Value itself",),
            ),
            Answer("never started", squares('Array("i", 4)', run=""), ("no child has written into it",)),
            Answer("started, not joined", squares('Array("i", 4)', run="p.start()"), ("join",)),
            Answer(
                "the lesson's numbers",
                squares('Array("i", 4)', numbers="[1, 2, 3, 4]"),
                ("start the child with [2, 4, 6, 8]",),
            ),
        ),
        setup="from multiprocessing import Array, Process, Value\nfrom helpers.shared_ctypes import square_into",
    ),
    Exercise(
        "02_values_and_arrays",
        2,
        "check_big_sum(big_total)",
        "02_big_sum.py",
        (
            Answer("a 64-bit int", big_sum("q")),
            Answer("unsigned 64 bits", big_sum("Q")),
            Answer("the starter's 'i'", big_sum("i"), ("wraps around", "'q'")),
            Answer("a 32-bit float", big_sum("f"), ("32-bit float", "2**24")),
            Answer("a 64-bit float", big_sum("d"), ("64-bit float", "2**53")),
            Answer("unsigned 32 bits", big_sum("I"), ("at most 4_294_967_295",)),
            Answer("the type changed, the child not run again", big_sum("q", run=False), ("run the child again",)),
            Answer(
                "a plain int",
                "from helpers.shared_ctypes import BIG_NUMBERS\nbig_total = sum(BIG_NUMBERS)",
                ("should be a shared Value",),
            ),
        ),
        setup="from multiprocessing import Process, Value",
    ),
    Exercise(
        "02_values_and_arrays",
        3,
        "check_pool_total(total)",
        "02_pool_total.py",
        (
            Answer("initializer and initargs", pool_total("Pool(2, initializer=init_total, initargs=(total,))")),
            Answer(
                "initargs without the comma",
                pool_total("Pool(2, initializer=init_total, initargs=(total))"),
                ("initargs=(total,)", "mind the comma"),
                interrupt_after=1.5,
            ),
            Answer("no initializer", pool_total("Pool(2)"), ("initializer=init_total",)),
            Answer(
                "a pool of one",
                pool_total("Pool(1, initializer=init_total, initargs=(total,))"),
                ("had 1 worker", "a Pool of 2 workers"),
            ),
            Answer("right: a pool of three", pool_total("Pool(3, initializer=init_total, initargs=(total,))")),
            Answer(
                "range(100)",
                pool_total("Pool(2, initializer=init_total, initargs=(total,))", tasks="range(100)"),
                ("1 + ... + 99",),
            ),
            Answer(
                "a raw value",
                pool_total("Pool(2, initializer=init_total, initargs=(total,))", total='RawValue("i", 0)'),
                ("synchronized Value",),
            ),
            Answer(
                "the pool left open",
                "total = Value('i', 0)\n"
                "pool = Pool(2, initializer=init_total, initargs=(total,))\npool.map(add_to_total, range(1, 101))",
                ("still running",),
                undo="pool.terminate()\npool.join()",
            ),
        ),
        setup="from multiprocessing import Pool, RawValue, Value\n"
        "from helpers.shared_ctypes import add_to_total, init_total",
    ),
    Exercise(
        "03_races_and_locks",
        1,
        "check_histogram(worker, cheapest)",
        "03_histogram.py",
        (
            Answer("locked, and local the cheapest", "worker = histogram_locked\ncheapest = histogram_local"),
            Answer("the racy one", "worker = histogram_racy\ncheapest = histogram_local", ("histogram_racy lost",)),
            Answer(
                "names as text",
                "worker = 'histogram_local'\ncheapest = histogram_local",
                ("the function itself, not a string",),
            ),
            Answer(
                "one lock per value as the cheapest",
                "worker = histogram_local\ncheapest = histogram_locked",
                ("histogram_locked is not it", "takes the lock"),
            ),
            Answer("no lock as the cheapest", "worker = histogram_local\ncheapest = histogram_racy", ("never cheap",)),
            Answer("the starter", "worker = ...\ncheapest = ...", ("should be one of",)),
        ),
        setup="from helpers.races import histogram_local, histogram_locked, histogram_racy",
    ),
    Exercise(
        "03_races_and_locks",
        2,
        "check_transfers(report, balances)",
        "03_transfers.py",
        (
            Answer("lock_1 first, for both", transfers("lock_1, lock_0", "lock_1, lock_0")),
            Answer("opposite orders", transfers("lock_0, lock_1", "lock_1, lock_0"), ("opposite orders",)),
            Answer(
                "one lock twice",
                transfers("lock_0, lock_0", "lock_0, lock_1"),
                ("takes lock_0 twice", "not re-entrant"),
            ),
            Answer(
                "both one way",
                transfers("lock_0, lock_1", "lock_0, lock_1", q_direction="0, 1"),
                ("in opposite directions",),
            ),
            Answer(
                "joined by hand",
                "lock_0, lock_1 = Lock(), Lock()\nbalances = Array('i', [100, 100])\n"
                "p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000))\n"
                "q = Process(target=transfer_many, args=(lock_0, lock_1, balances, 1, 0, 1000))\n"
                "p.start(); q.start(); p.join(); q.join()\nreport = None",
                ("report should be",),
            ),
        ),
        setup="from multiprocessing import Array, Lock, Process\nfrom helpers import run_with_deadline\n"
        "from helpers.races import transfer_many",
    ),
    Exercise(
        "04_shared_memory",
        1,
        "check_normalized(result, data)",
        "04_normalize_rows.py",
        (
            Answer("np.array of the view, inside", normalize("np.array(shared.array)")),
            Answer("the view itself", normalize("shared.array"), ("view of the shared segment", ".copy()")),
            Answer("no copy_from", normalize("shared.array.copy()", copy_from=""), ("NaN", "copy_from=data")),
            Answer(
                "every worker on row 0",
                normalize("shared.array.copy()", row="0"),
                ("are not normalized", "one process per row"),
            ),
            Answer(
                "the copy after the block", normalize("shared.array.copy()", inside=False), ("should be a NumPy array",)
            ),
            Answer(
                "the copy before the joins",
                "result = None\n"
                "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    workers = [Process(target=normalize_row, args=(shared.spec, r)) for r in range(len(data))]\n"
                "    for w in workers:\n        w.start()\n"
                "    result = shared.array.copy()\n"
                "    for w in workers:\n        w.join()",
                ("still hold the original data", "join them all before copying"),
            ),
        ),
        setup="import numpy as np\nfrom multiprocessing import Process, shared_memory\n"
        "from helpers.segments import normalize_row\nfrom helpers.shared_arrays import shared_array\n"
        "rng = np.random.default_rng(4)\n"
        "data = rng.normal(loc=[[1.0], [10.0], [-5.0], [0.0]], scale=[[1.0], [3.0], [0.5], [2.0]], size=(4, 250_000))",
    ),
    Exercise(
        "04_shared_memory",
        2,
        "check_lifecycle(name, message)",
        "04_lifecycle.py",
        (
            Answer(
                "try/finally around it all",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5])\n"
                    "finally:\n    shm.close()\n    shm.unlink()"
                ),
            ),
            Answer(
                "the starter: no unlink",
                lifecycle("name = shm.name\nshm.buf[:5] = b'hello'\nmessage = bytes(shm.buf[:5])\nshm.close()"),
                ("never unlinked", "pressed Interrupt"),
            ),
            Answer(
                "unlink, but no finally",
                lifecycle(UNGUARDED_LIFECYCLE),
                ("pressed Interrupt", "the segment stayed in shared memory"),
            ),
            Answer(
                "finally closes only",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5])\n"
                    "finally:\n    shm.close()"
                ),
                ("never unlinked", "shm.unlink()"),
            ),
            Answer(
                "right: ExitStack callbacks",
                "from contextlib import ExitStack\n"
                "name = message = None\n"
                "with ExitStack() as stack:\n"
                "    shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "    stack.callback(shm.unlink)\n"
                "    stack.callback(shm.close)\n"
                "    name = shm.name\n"
                "    shm.buf[:5] = b'hello'\n"
                "    message = bytes(shm.buf[:5])",
            ),
            Answer(
                "right: except BaseException, release, raise",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5])\n"
                    "except BaseException:\n    shm.close()\n    shm.unlink()\n    raise\n"
                    "shm.close()\nshm.unlink()"
                ),
            ),
            Answer(
                "finally unlinks, never closes",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5])\n"
                    "finally:\n    shm.unlink()"
                ),
                ("still maps it", "close() never ran"),
            ),
            Answer(
                "except Exception misses an Interrupt",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5])\n"
                    "except Exception:\n    shm.close()\n    shm.unlink()\n    raise\n"
                    "shm.close()\nshm.unlink()"
                ),
                ("pressed Interrupt", "the segment stayed in shared memory"),
            ),
            Answer(
                "the message as text",
                lifecycle(
                    "try:\n    name = shm.name\n    shm.buf[:5] = b'hello'\n    message = bytes(shm.buf[:5]).decode()\n"
                    "finally:\n    shm.close()\n    shm.unlink()"
                ),
                ("should be the bytes",),
            ),
        ),
        setup="from multiprocessing import shared_memory",
    ),
    Exercise(
        "05_measuring",
        1,
        "check_crossover(small, crossover)",
        "05_crossover.py",
        (
            Answer(
                "the right size as a NumPy integer",
                "import numpy as np\nfrom helpers.measuring import handoff_seconds\n\n"
                "sizes = np.array(sorted({r.size_bytes for r in small}))\n"
                "wins = [handoff_seconds(small, 'shared_memory_with_copy', int(s)) < handoff_seconds(small, 'pickle', "
                "int(s)) for s in sizes]\n"
                "crossover = None\n"
                "for size, won in zip(sizes[::-1], wins[::-1]):\n"
                "    if not won:\n"
                "        break\n"
                "    crossover = size",
            ),
            Answer(
                "right: a dict of wins, and the smallest size from which they all win",
                "from helpers.measuring import handoff_seconds\n"
                "sizes = sorted({r.size_bytes for r in small})\n"
                "wins = {s: handoff_seconds(small, 'shared_memory_with_copy', s) < handoff_seconds(small, 'pickle', s) "
                "for s in sizes}\n"
                "crossover = next((s for s in sizes if all(wins[t] for t in sizes if t >= s)), None)",
            ),
            Answer(
                "records written by hand",
                "from helpers.measuring import Record\n"
                "saved_small = small\n"
                "sizes = [4 * 2**10 * 4**k for k in range(7)]\n"
                "small = [Record('handoff', 'pickle', 1.0, 5, size_bytes=s) for s in sizes] + [\n"
                "    Record('handoff', 'shared_memory_with_copy', 2.0 if s < 2**20 else 0.5, 5, size_bytes=s) "
                "for s in sizes]\n"
                "crossover = 2**20",
                ("were not measured here",),
                undo="small = saved_small",
            ),
            Answer("a size in MiB", "crossover = 1", ("1 MiB is 1048576",)),
            Answer("a size in KiB", "crossover = 4", ("4 KiB is 4096",)),
            Answer("a size not measured", "crossover = 5000", ("one of the 7 sizes you measured",)),
            Answer("a position in the list of sizes", "crossover = 6", ("not a position", "is 16777216")),
            Answer("a size as text", "crossover = '1 MiB'", ("whole number of bytes",)),
            Answer(
                "pickle measured alone",
                "saved_small = small\nsmall = [r for r in small if r.method == 'pickle']\ncrossover = None",
                ("no shared_memory_with_copy measurement",),
                undo="small = saved_small",
            ),
            Answer(
                "only the 3 smallest sizes, where pickling wins",
                "saved_small = small\nsmall = [r for r in small if r.size_bytes <= 64 * 2**10]\ncrossover = None",
                ("from 4.0KiB to 64.0KiB", "to 16.0MiB (or more)"),
                undo="small = saved_small",
            ),
        ),
        setup="from helpers.measuring import check_crossover, measure_handoff\n"
        "small = measure_handoff([4 * 2**10 * 4**k for k in range(7)], repeats=3, "
        "methods=['pickle', 'shared_memory_with_copy'])",
    ),
    Exercise(
        "05_measuring",
        2,
        "check_amdahl(my_speedup, best_with_5_percent)",
        "05_amdahl.py",
        (
            Answer("another right form", amdahl("workers / (serial * workers + 1 - serial)", "20")),
            Answer(
                "right: the limit as an expression",
                amdahl("1.0 / (serial + (1.0 - serial) / workers)", "round(1 / 0.05)"),
            ),
            Answer(
                "the time, not the speedup",
                amdahl("serial + (1 - serial) / workers", "0.05"),
                ("the time with n workers", "serial fraction itself"),
            ),
            Answer(
                "Gustafson's law",
                amdahl("serial + workers * (1 - serial)", "float('inf')"),
                ("Gustafson", "whatever the workers"),
            ),
            Answer(
                "multiplied, not divided",
                amdahl("1 / (serial + (1 - serial) * workers)", "19.6"),
                ("do not multiply", "not the limit"),
            ),
            Answer(
                "serial and parallel swapped",
                amdahl("1 / ((1 - serial) + serial / workers)", "1 / 0.95"),
                ("swapped", "1 / 0.05"),
            ),
            Answer(
                "integer division",
                amdahl("1 // (serial + (1 - serial) / workers)", "20"),
                ("rounds down", "use /"),
            ),
            Answer(
                "all the work divided, not its parallel part",
                amdahl("1 / (serial + 1 / workers)", "20"),
                ("1 - serial", "not all of it"),
            ),
            Answer(
                "parentheses left out",
                amdahl("1 / serial + (1 - serial) / workers", "20"),
                ("parentheses",),
            ),
            Answer(
                "the starter",
                "def my_speedup(serial, workers): ...\n\n\nbest_with_5_percent = ...",
                ("is None", "should be a number"),
            ),
            Answer(
                "a number, not a function",
                "my_speedup = 1 / (0.05 + 0.95 / 4)\nbest_with_5_percent = 20",
                ("pass your function itself",),
            ),
        ),
    ),
    Exercise(
        "05_measuring",
        3,
        "check_messaging(run_tasks)",
        "05_messages.py",
        (
            Answer("imap given a chunksize", run_tasks("list(pool.imap(tiny_task, tasks, chunksize=100))")),
            Answer(
                "two tasks through the pool, every result computed here",
                "def run_tasks(pool, tasks):\n"
                "    pool.map(tiny_task, tasks[:2], chunksize=1)\n"
                "    return [tiny_task(t) for t in tasks]",
                ("tiny_task ran 2000 times here",),
            ),
            Answer(
                "half through the pool, half here",
                "def run_tasks(pool, tasks):\n"
                "    half = len(tasks) // 2\n"
                "    return pool.map(tiny_task, tasks[:half], chunksize=100) + [tiny_task(t) for t in tasks[half:]]",
                ("tiny_task ran 1000 times here",),
            ),
            Answer(
                "batches made by hand",
                "from helpers.task_costs import batches, run_batch\n\n\n"
                + run_tasks("[r for batch in pool.map(run_batch, batches(tasks, 250)) for r in batch]"),
            ),
            Answer(
                "the starter: imap, one task per message",
                run_tasks("list(pool.imap(tiny_task, tasks))"),
                ("2000 messages", "the default of imap"),
            ),
            Answer("chunksize 1", run_tasks("pool.map(tiny_task, tasks, chunksize=1)"), ("one message per task",)),
            Answer(
                "a chunksize larger than the task count",
                run_tasks("pool.map(tiny_task, tasks, chunksize=10_000)"),
                ("in 1 message, to one worker", "leaves workers idle"),
            ),
            Answer(
                "imap taken for map",
                run_tasks("pool.imap(tiny_task, tasks, chunksize=100)"),
                ("not the list of results", "give an iterator"),
            ),
            Answer(
                "imap_unordered, one task per message",
                run_tasks("list(pool.imap_unordered(tiny_task, tasks))"),
                ("one message per task",),
            ),
            Answer(
                "imap_unordered in chunks of 50",  # in order by luck on 3.14 (fe3), out of order on 3.11
                run_tasks("list(pool.imap_unordered(tiny_task, tasks, chunksize=50))"),
                ("imap_unordered",),
            ),
            Answer(
                "a loop here, not in the pool",
                run_tasks("[tiny_task(t) for t in tasks]"),
                ("no task went through the pool",),
            ),
            Answer(
                "a list, not a function",
                "run_tasks = [1, 2, 3]",
                ("pass your function itself",),
            ),
        ),
        setup="from helpers.task_costs import check_messaging, tiny_task",
    ),
    Exercise(
        "06_patterns_that_scale",
        1,
        "check_queue_fix(report, item)",
        "06_queue_fix.py",
        (
            Answer(
                "the starter: join first",
                queue_fix("report = run_with_deadline([producer], seconds=1)"),
                ("still in the pipe", "Get it first"),
            ),
            Answer(
                "a producer that fails",
                "report = item = None\nqueue = Queue()\n"
                "producer = Process(target=put_big, args=(queue, 10, 'not an Event'), name='producer')\n"
                "producer.start()\n"
                "report = run_with_deadline([producer], seconds=5)",
                ("put_big stopped with an error", "no attribute 'set'"),
            ),
            Answer(
                "read after the join",
                queue_fix("report = run_with_deadline([producer], seconds=1)\nitem = queue.get(timeout=10)"),
                ("Get it first",),
                interrupt_after=2.5,  # the get waits forever for the rest of a half-written item
            ),
            Answer(
                "read too soon",
                queue_fix("item = queue.get_nowait()\nreport = run_with_deadline([producer], 5)"),
                ("report should be",),
            ),
            Answer(
                "a plain join",
                queue_fix("producer.join()\nitem = queue.get()"),
                ("report should be",),
                interrupt_after=1.5,
            ),
            Answer(
                "the report not kept",
                queue_fix("item = queue.get()\nrun_with_deadline([producer], seconds=1)"),
                ("report should be", "report = run_with_deadline"),
            ),
        ),
        setup="from multiprocessing import Process, Queue\nfrom helpers import run_with_deadline\n"
        "from helpers.patterns import put_big",
    ),
    Exercise(
        "06_patterns_that_scale",
        2,
        "check_pool_sums(sums, tasks, data)",
        "06_row_numbers.py",
        (
            Answer("a range of row numbers", "tasks = range(len(data))\nsums = pool.map(row_sum, tasks)"),
            Answer(
                "imap_unordered: right sums, any order",
                "tasks = list(range(len(data)))\nsums = list(pool.imap_unordered(row_sum, tasks))\n"
                "sums = sums[1:] + sums[:1]  # the order a busy machine may give",
                ("out of order", "imap_unordered"),
            ),
            Answer(
                "the starter: rows", "tasks = list(data)\nsums = pool.map(row_sum_of, tasks)", ("not the row itself",)
            ),
            Answer(
                "row numbers to the rows' worker",
                "tasks = list(range(len(data)))\nsums = pool.map(row_sum_of, tasks)",
                ("each sum equals its task", "row_sum"),
            ),
            Answer(
                "one row number for all",
                "tasks = [0] * len(data)\nsums = pool.map(row_sum, tasks)",
                ("the 64 row numbers 0 to 63",),
            ),
            Answer(
                "an iterator for a list",
                "tasks = list(range(len(data)))\nsums = pool.imap(row_sum, tasks)",
                ("should be a list of 64 row sums",),
            ),
        ),
        cells=("lesson = ExitStack()",),  # section 1's pool and data
    ),
    # Lesson 07 needs Python 3.14+; tests/test_exercises.py skips it, with the reason, on older Pythons.
    Exercise(
        "07_past_processes",
        1,
        "check_read_before_close(results, worker)",
        "07_read_before_close.py",
        (
            Answer(
                "read, then close",
                read_before_close("results = [results_queue.get() for _ in range(5)]\nworker.close()"),
            ),
            Answer(
                "a loop, then close",
                read_before_close(
                    "results = []\nfor _ in range(5):\n    results.append(results_queue.get())\nworker.close()"
                ),
            ),
            Answer(
                "the starter: close, then read",
                read_before_close("worker.close()\nresults = [results_queue.get() for _ in range(5)]"),
                ("UNBOUND", "Read the queue first"),
            ),
            Answer(
                "never closed",
                read_before_close("results = [results_queue.get() for _ in range(5)]"),
                ("still open", "worker.close()"),
                undo="worker.close()",
            ),
            Answer(
                "one get for all",
                read_before_close("results = results_queue.get()\nworker.close()"),
                ("should be a list", "read all 5"),
            ),
            Answer(
                "a generator, read after the close",
                read_before_close("results = (results_queue.get() for _ in range(5))\nworker.close()"),
                ("generator", "after the close"),
            ),
            Answer(
                "four of five",
                read_before_close("results = [results_queue.get() for _ in range(4)]\nworker.close()"),
                ("4 item(s)", "read all 5"),
            ),
            Answer(
                "the squares made by hand, the queue never read",
                read_before_close("results = [i * i for i in range(5)]\nworker.close()"),
                ("results_queue still holds 5 item(s)", "Read them from the queue"),
            ),
            Answer(
                "a tuple",
                read_before_close("results = tuple(results_queue.get() for _ in range(5))\nworker.close()"),
                ("you read all 5", "make it a list"),
            ),
        ),
        setup="from helpers.subinterpreters import put_squares",
        cells=("interp = interpreters.create()",),  # section 1: imports interpreters
    ),
    Exercise(
        "07_past_processes",
        2,
        "check_shared_fill(buf, filled)",
        "07_share_the_buffer.py",
        (
            Answer("a view of buf", shared_fill("filled = interp.call(fill_squares, memoryview(buf))")),
            Answer(
                "a view, through a pool",
                "from concurrent.futures import InterpreterPoolExecutor\n\n"
                + shared_fill(
                    "with InterpreterPoolExecutor(1) as pool:\n"
                    "    filled = pool.submit(fill_squares, memoryview(buf)).result()"
                ),
            ),
            Answer(
                "the starter: the bytearray itself",
                shared_fill("filled = interp.call(fill_squares, buf)"),
                ("filled a copy", "memoryview(buf)"),
            ),
            Answer(
                "bytes of it",
                shared_fill("filled = interp.call(fill_squares, bytes(buf))"),
                ("the call raised", "memoryview(buf)"),
            ),
            Answer(
                "a view of a copy",
                shared_fill("filled = interp.call(fill_squares, memoryview(buf[:]))"),
                ("another buffer", "memoryview(buf)"),
            ),
            Answer(
                "a view of a copy, copied back",
                shared_fill(
                    "copy = bytearray(buf)\nfilled = interp.call(fill_squares, memoryview(copy))\nbuf[:] = copy"
                ),
                ("another buffer, not of buf",),
            ),
            Answer(
                "right: another subinterpreter of its own",
                shared_fill(
                    "other = interpreters.create()\ntry:\n    filled = other.call(fill_squares, memoryview(buf))\n"
                    "finally:\n    other.close()"
                ),
            ),
            Answer(
                "half a view",
                shared_fill("filled = interp.call(fill_squares, memoryview(buf)[: len(buf) // 2])"),
                ("only the first 524288 bytes", "whole buf"),
            ),
            Answer(
                "filled here, not there",
                shared_fill("filled = fill_squares(memoryview(buf))"),
                ("the main interpreter filled buf itself", "interp.call"),
            ),
            Answer(
                "the result not kept",
                shared_fill("interp.call(fill_squares, memoryview(buf))"),
                ("filled should be what interp.call returned",),
            ),
            Answer(
                "a read-only view",
                shared_fill("filled = interp.call(fill_squares, memoryview(buf).toreadonly())"),
                ("the call raised", "something writable"),
            ),
            Answer(
                "the view, with an argument too many",
                shared_fill("filled = interp.call(fill_squares, memoryview(buf), len(buf))"),
                ("the call raised", "memoryview(buf) is the right thing to send", "last line"),
            ),
            Answer(
                "the right call, after section 1's interp was closed",
                "interp.close()\n" + shared_fill("filled = interp.call(fill_squares, memoryview(buf))"),
                ("interp is closed", "Run section 1's first cell again"),
                undo="interp = interpreters.create()",
            ),
        ),
        setup="from helpers.subinterpreters import fill_squares",
        cells=("interp = interpreters.create()",),  # section 1's interp
    ),
)


#: Lesson 01, exercise 2's guarded script in its parts: what comes before the guard, the guard, and its body.
GUARD = 'if __name__ == "__main__":\n'
BODY, MAIN = GUARDED.split(GUARD)


#: Answers from issue 22's fresh-eyes round: written by someone who had not read the ones above, run in real
#: kernels on 3.11 (fork) and 3.14 (forkserver) before they were added. Right answers in styles other than the
#: solution's (comprehensions, helpers, kwargs, Raw values, other pools and locks); wrong ones that do the work
#: outside the mechanism taught (in the parent, in a thread, in another interpreter, by NumPy here).
FRESH_EYES: dict[tuple[str, int], tuple[Answer, ...]] = {
    ("00_welcome_and_setup", 1): (
        Answer("os.cpu_count()+1", "import os\nmy_cpus = os.cpu_count() + 1", ("but the report says",)),
        Answer(
            "the function itself",
            "from helpers import usable_cpus\nmy_cpus = usable_cpus",
            ("should be a whole number",),
        ),
        Answer("a float", "from helpers import usable_cpus\nmy_cpus = usable_cpus() + 0.5", ("a fraction",)),
        Answer("right: usable_cpus()", "from helpers import usable_cpus\nmy_cpus = usable_cpus()"),
        Answer(
            "right: sched_getaffinity",
            ("import os\nfrom helpers import usable_cpus\nmy_cpus = min(len(os.sched_getaffinity(0)), usable_cpus())"),
        ),
    ),
    ("01_process_isolation", 1): (
        Answer(
            "swapped",
            'predictions = {"fork": False, "spawn": True, "forkserver": True}',
            ("fork: the child saw [1, 2, 3], so True",),
        ),
        Answer("right: dict()", "predictions = dict(fork=True, spawn=False, forkserver=False)"),
        Answer("right: comprehension", 'predictions = {m: m == "fork" for m in ("fork", "spawn", "forkserver")}'),
    ),
    ("01_process_isolation", 2): (
        Answer(
            "guard negated",
            script(GUARDED.replace('__name__ == "__main__"', '__name__ != "__main__"')),
            ("printed nothing",),
        ),
        Answer(
            "a guard that guards nothing",
            script(BODY + textwrap.dedent(MAIN) + "\n" + GUARD + "    pass\n"),
            ("bootstrapping phase",),
        ),
        Answer(
            "parent prints the child's result (joins, then squares in parent too)",
            script(
                GUARDED.replace(
                    '    print("Result (in main', '    square_numbers([5, 10, 15])\n    print("Result (in main'
                )
            ),
            ("the parent's line came 0 times",),
        ),
        Answer("right: main() function", script(BODY + "def main():\n" + MAIN + "\n\n" + GUARD + "    main()\n")),
        Answer(
            "right: reversed comparison", script(GUARDED.replace('__name__ == "__main__"', '"__main__" == __name__'))
        ),
    ),
    ("02_values_and_arrays", 1): (
        Answer(
            "target=square_into(...)",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "p = Process(target=square_into([2, 4, 6, 8], result, square_sum))\n"
                "p.start()\n"
                "p.join()"
            ),
            ("square_into ran here",),
        ),
        Answer(
            "p.run()",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "p = Process(target=square_into, args=([2, 4, 6, 8], result, square_sum))\n"
                "p.run()"
            ),
            ("square_into ran here",),
        ),
        Answer(
            "no process",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "square_into([2, 4, 6, 8], result, square_sum)"
            ),
            ("square_into ran here",),
        ),
        Answer(
            "a thread",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "import threading\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "t = threading.Thread(target=square_into, args=([2, 4, 6, 8], result, square_sum))\n"
                "t.start()\n"
                "t.join()"
            ),
            ("square_into ran here",),
        ),
        Answer(
            "parent writes, child on other arrays",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "other, other_sum = Array('i', 4), Value('i')  # kept: a spawn child opens them after start()\n"
                "p = Process(target=square_into, args=([2, 4, 6, 8], other, other_sum))\n"
                "p.start()\n"
                "p.join()\n"
                "result[:] = [4, 16, 36, 64]\n"
                "square_sum.value = 120"
            ),
            ("the notebook wrote it itself",),
        ),
        Answer(
            "sleep instead of join",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "import time\n"
                "result = Array('i', 4)\n"
                "square_sum = Value('i')\n"
                "p = Process(target=square_into, args=([2, 4, 6, 8], result, square_sum))\n"
                "p.start()\n"
                "time.sleep(1)"
            ),
            ("never joined",),
        ),
        Answer(
            "right: list comprehension, Raw*",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "result = RawArray('i', 4)\n"
                "square_sum = RawValue('i')\n"
                "procs = [Process(target=square_into, args=([2, 4, 6, 8], result, square_sum)) for _ in range(1)]\n"
                "for p in procs:\n"
                "    p.start()\n"
                "for p in procs:\n"
                "    p.join()"
            ),
        ),
        Answer(
            "right: helper and kwargs",
            (
                "from multiprocessing import Array, Process, Value, RawArray, RawValue\n"
                "from helpers.shared_ctypes import square_into\n"
                "def run_child(**kw):\n"
                "    p = Process(target=square_into, kwargs=kw)\n"
                "    p.start()\n"
                "    p.join()\n"
                "    return p\n"
                "\n"
                "result, square_sum = Array('q', 4), Value('l')\n"
                "run_child(numbers=[2, 4, 6, 8], result=result, square_sum=square_sum)"
            ),
        ),
    ),
    ("02_values_and_arrays", 2): (
        Answer(
            "a child sums [1, 2], the notebook sets the value",
            (
                "from multiprocessing import Process, Value\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "child = Process(target=write_sum, args=([1, 2], big_total))\n"
                "child.start()\n"
                "child.join()\n"
                "big_total.value = 3_000_000_000"
            ),
            ("the notebook set it",),
        ),
        Answer(
            "the arguments in another order",
            (
                "from multiprocessing import Process, Value\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "child = Process(target=write_sum, args=(big_total, BIG_NUMBERS))\n"
                "child.start()\n"
                "child.join()"
            ),
            ("write_sum stopped with an error",),
        ),
        Answer(
            "q, no join",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "child = Process(target=write_sum, args=(BIG_NUMBERS, big_total))\n"
                "child.start()\n"
                "print(f'{BIG_NUMBERS} -> {big_total.value:_}')"
            ),
            ("join",),
        ),
        Answer(
            "q, run()",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "child = Process(target=write_sum, args=(BIG_NUMBERS, big_total))\n"
                "child.run()"
            ),
            ("write_sum ran here",),
        ),
        Answer(
            "q, set in parent",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "big_total.value = sum(BIG_NUMBERS)"
            ),
            ("no child ran write_sum",),
        ),
        Answer(
            "q, child on another value",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = Value('q')\n"
                "other = Value('q')  # kept: a spawn child opens it after start()\n"
                "child = Process(target=write_sum, args=(BIG_NUMBERS, other))\n"
                "child.start()\n"
                "child.join()\n"
                "big_total.value = 3_000_000_000"
            ),
            ("no child ran write_sum with this big_total",),
        ),
        Answer(
            "right: c_int64",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "import ctypes\n"
                "big_total = Value(ctypes.c_int64)\n"
                "child = Process(target=write_sum, args=(BIG_NUMBERS, big_total))\n"
                "child.start()\n"
                "child.join()"
            ),
        ),
        Answer(
            "right: RawValue Q, kwargs",
            (
                "from multiprocessing import Process, Value, RawValue\n"
                "from helpers.shared_ctypes import BIG_NUMBERS, write_sum\n"
                "big_total = RawValue('Q')\n"
                "child = Process(target=write_sum, kwargs={'numbers': BIG_NUMBERS, 'out': big_total})\n"
                "child.start()\n"
                "child.join()"
            ),
        ),
    ),
    ("02_values_and_arrays", 3): (
        Answer(
            "initializer=init_total(total)",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "with Pool(2, initializer=init_total(total)) as pool:\n"
                "    pool.map(add_to_total, range(1, 101))"
            ),
            ("initializer=init_total",),
            interrupt_after=20,
        ),
        Answer(
            "init_total in parent, no initializer",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "init_total(total)\n"
                "with Pool(2) as pool:\n"
                "    pool.map(add_to_total, range(1, 101))"
            ),
            ("initializer=init_total",),
            interrupt_after=20,
        ),
        Answer(
            "loop in parent",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "init_total(total)\n"
                "for n in range(1, 101):\n"
                "    add_to_total(n)"
            ),
            ("add_to_total ran 100 time(s) here",),
        ),
        Answer(
            "range(1, 100)",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "with Pool(2, initializer=init_total, initargs=(total,)) as pool:\n"
                "    pool.map(add_to_total, range(1, 100))"
            ),
            ("1 + ... + 99",),
        ),
        Answer(
            "parent sets value",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "total.value = sum(range(1, 101))"
            ),
            ("add_to_total never added to it",),
        ),
        Answer(
            "apply in parent via map builtin",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "init_total(total)\n"
                "list(map(add_to_total, range(1, 101)))"
            ),
            ("add_to_total ran 100 time(s) here",),
        ),
        Answer(
            "right: ProcessPoolExecutor",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "from concurrent.futures import ProcessPoolExecutor\n"
                "total = Value('i', 0)\n"
                "with ProcessPoolExecutor(2, initializer=init_total, initargs=(total,)) as ex:\n"
                "    list(ex.map(add_to_total, range(1, 101)))"
            ),
        ),
        Answer(
            "right: positional, imap_unordered, close/join",
            (
                "from multiprocessing import Pool, Value\n"
                "from helpers.shared_ctypes import add_to_total, init_total\n"
                "total = Value('i', 0)\n"
                "pool = Pool(2, init_total, [total])\n"
                "for _ in pool.imap_unordered(add_to_total, range(1, 101), chunksize=7):\n"
                "    pass\n"
                "pool.close()\n"
                "pool.join()"
            ),
        ),
    ),
    ("03_races_and_locks", 1): (
        Answer(
            "strings",
            (
                "from helpers.races import histogram_local, histogram_locked, histogram_racy\n"
                "worker = 'histogram_locked'\n"
                "cheapest = 'histogram_local'"
            ),
            ("not a string",),
        ),
        Answer(
            "a lambda",
            (
                "from helpers.races import histogram_local, histogram_locked, histogram_racy\n"
                "worker = lambda values, h: histogram_local(values, h)\n"
                "cheapest = histogram_local"
            ),
            ("should be one of",),
        ),
        Answer(
            "right: both local via module",
            ("from helpers import races\nworker = races.histogram_local\ncheapest = races.histogram_local"),
        ),
        Answer(
            "right: locked",
            (
                "from helpers.races import histogram_local, histogram_locked, histogram_racy\n"
                "worker, cheapest = histogram_locked, histogram_local"
            ),
        ),
    ),
    ("03_races_and_locks", 2): (
        Answer(
            "100 each",
            (
                TRANSFERS_CONTEXT + "p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 100))\n"
                "q = Process(target=transfer_many, args=(lock_0, lock_1, balances, 1, 0, 100))\n"
                "report = run_with_deadline([p, q], seconds=5)"
            ),
            ("the task asks 1,000 each",),
        ),
        Answer(
            "same lock twice",
            (
                TRANSFERS_CONTEXT + "p = Process(target=transfer_many, args=(lock_0, lock_0, balances, 0, 1, 1000))\n"
                "q = Process(target=transfer_many, args=(lock_0, lock_0, balances, 1, 0, 1000))\n"
                "report = run_with_deadline([p, q], seconds=5)"
            ),
            ("takes lock_0 twice",),
        ),
        Answer(
            "one in the parent",
            (
                TRANSFERS_CONTEXT + "p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000))\n"
                "report = run_with_deadline([p], seconds=5)\n"
                "transfer_many(lock_0, lock_1, balances, 1, 0, 1000)"
            ),
            ("transfer_many ran here",),
        ),
        Answer(
            "own locks each",
            (
                TRANSFERS_CONTEXT
                + "a, b, c, d = Lock(), Lock(), Lock(), Lock()  # kept: a spawn child opens them after start()\n"
                "p = Process(target=transfer_many, args=(a, b, balances, 0, 1, 1000))\n"
                "q = Process(target=transfer_many, args=(c, d, balances, 1, 0, 1000))\n"
                "report = run_with_deadline([p, q], seconds=5)"
            ),
            ("share no lock",),
        ),
        Answer(
            "only p",
            (
                TRANSFERS_CONTEXT + "p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000))\n"
                "report = run_with_deadline([p], seconds=5)"
            ),
            ("start two",),
        ),
        Answer(
            "one after the other",
            (TRANSFERS_PQ + "run_with_deadline([p], seconds=5)\nreport = run_with_deadline([q], seconds=5)"),
            ("covers only one of the 2 processes", "run_with_deadline([p, q], seconds=5)"),
        ),
        Answer(
            "a report of another run",
            (
                TRANSFERS_PQ + "run_with_deadline([p, q], seconds=5)\n"
                "report = run_with_deadline([Process(target=print, args=('done',))], seconds=5)"
            ),
            ("covers neither of the 2 processes",),
        ),
        Answer(
            "right: comprehension",
            (
                TRANSFERS_CONTEXT
                + "procs = [Process(target=transfer_many, args=(lock_0, lock_1, balances, s, t, 1000)) for "
                "s, t in ((0, 1), (1, 0))]\n"
                "report = run_with_deadline(procs, seconds=5)"
            ),
        ),
        Answer(
            "right: variables, one RLock",
            (
                TRANSFERS_CONTEXT + "both = RLock()\n"
                "forward = (both, both, balances, 0, 1, 1000)\n"
                "back = (both, both, balances, 1, 0, 1000)\n"
                "p, q = Process(target=transfer_many, args=forward), Process(target=transfer_many, args=back)\n"
                "report = run_with_deadline([p, q], seconds=5)"
            ),
        ),
        Answer(
            "right: helper with kwargs",
            (
                TRANSFERS_CONTEXT + "def make(source, target):\n"
                "    return Process(target=transfer_many, kwargs=dict(first=lock_0, second=lock_1, "
                "balances=balances, source=source, target=target, times=1000))\n"
                "report = run_with_deadline([make(0, 1), make(1, 0)], seconds=5)"
            ),
        ),
    ),
    ("04_shared_memory", 1): (
        Answer(
            "NumPy in the parent",
            (
                NORMALIZE_CONTEXT
                + "result = (data - data.mean(axis=1, keepdims=True)) / data.std(axis=1, keepdims=True)"
            ),
            ("by NumPy in the notebook's process",),
        ),
        Answer(
            "normalize_row in the parent",
            (
                NORMALIZE_CONTEXT + "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    for row in range(4):\n"
                "        normalize_row(shared.spec, row)\n"
                "    result = shared.array.copy()"
            ),
            ("normalize_row ran here",),
        ),
        Answer(
            "three rows",
            (
                NORMALIZE_CONTEXT + "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    ps = [Process(target=normalize_row, args=(shared.spec, r)) for r in range(3)]\n"
                "    [p.start() for p in ps]\n"
                "    [p.join() for p in ps]\n"
                "    result = shared.array.copy()"
            ),
            ("rows [3] are not normalized",),
        ),
        Answer(
            "children, then parent redoes with NumPy",
            (
                NORMALIZE_CONTEXT + "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    ps = [Process(target=normalize_row, args=(shared.spec, r)) for r in range(2)]\n"
                "    [p.start() for p in ps]\n"
                "    [p.join() for p in ps]\n"
                "    result = shared.array.copy()\n"
                "result = (data - data.mean(axis=1, keepdims=True)) / data.std(axis=1, keepdims=True)"
            ),
            ("rows [2, 3] are not normalized",),
        ),
        Answer(
            "right: run_with_deadline",
            (
                NORMALIZE_CONTEXT + "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    report = run_with_deadline([Process(target=normalize_row, args=(shared.spec, r)) for "
                "r in range(len(data))], seconds=30)\n"
                "    result = np.array(shared.array)"
            ),
        ),
        Answer(
            "right: Pool.starmap",
            (
                NORMALIZE_CONTEXT + "from multiprocessing import Pool\n"
                "with shared_array(data.shape, copy_from=data) as shared, Pool(2) as pool:\n"
                "    pool.starmap(normalize_row, [(shared.spec, r) for r in range(4)])\n"
                "    result = shared.array.copy()"
            ),
        ),
        Answer(
            "workers on a dummy segment, result by NumPy",
            (
                NORMALIZE_CONTEXT + "from helpers.segments import normalized\n"
                "with shared_array((4, 8), data.dtype, copy_from=np.ones((4, 8)) * np.arange(8)) as dummy:\n"
                "    ws = [Process(target=normalize_row, args=(dummy.spec, r)) for r in range(4)]\n"
                "    for w in ws:\n        w.start()\n"
                "    for w in ws:\n        w.join()\n"
                "result = normalized(data)"
            ),
            ("rows of a (4, 8) array, not of data (4, 250000)",),
        ),
        Answer(
            "the SharedArray for its spec",
            (
                NORMALIZE_CONTEXT + "with shared_array(data.shape, copy_from=data) as shared:\n"
                "    ws = [Process(target=normalize_row, args=(shared, r)) for r in range(4)]\n"
                "    for w in ws:\n        w.start()\n"
                "    for w in ws:\n        w.join()\n"
                "    result = shared.array.copy()"
            ),
            ("normalize_row stopped with an error", "TypeError"),
        ),
    ),
    ("04_shared_memory", 2): (
        Answer(
            "memoryview kept",
            (
                "from multiprocessing import shared_memory\n"
                "name = message = None\n"
                "shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "try:\n"
                "    name = shm.name\n"
                "    shm.buf[:5] = b'hello'\n"
                "    message = shm.buf[:5]\n"
                "finally:\n"
                "    shm.close()\n"
                "    shm.unlink()"
            ),
            ("BufferError",),
        ),
        Answer(
            "except instead of finally",
            (
                "from multiprocessing import shared_memory\n"
                "shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "try:\n"
                "    name = shm.name\n"
                "    shm.buf[:5] = b'hello'\n"
                "    message = bytes(shm.buf[:5])\n"
                "except Exception:\n"
                "    shm.close()\n"
                "    shm.unlink()\n"
                "shm.close()\n"
                "shm.unlink()"
            ),
            ("pressed Interrupt",),
        ),
        Answer(
            "unlink only in try",
            (
                "from multiprocessing import shared_memory\n"
                "shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "try:\n"
                "    name = shm.name\n"
                "    shm.buf[:5] = b'hello'\n"
                "    message = bytes(shm.buf[:5])\n"
                "    shm.unlink()\n"
                "finally:\n"
                "    shm.close()"
            ),
            ("pressed Interrupt", "the segment stayed in shared memory"),
        ),
        Answer(
            "right: nested try",
            (
                "from multiprocessing import shared_memory\n"
                "shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "try:\n"
                "    try:\n"
                "        name = shm.name\n"
                "        shm.buf[:5] = b'hello'\n"
                "        message = bytes(shm.buf[:5])\n"
                "    finally:\n"
                "        shm.close()\n"
                "finally:\n"
                "    shm.unlink()"
            ),
        ),
        Answer(
            "right: copy with tobytes",
            (
                "from multiprocessing import shared_memory\n"
                "shm = shared_memory.SharedMemory(create=True, size=1024)\n"
                "name = shm.name\n"
                "try:\n"
                "    shm.buf[:5] = b'hello'\n"
                "    message = shm.buf[:5].tobytes()\n"
                "finally:\n"
                "    shm.close()\n"
                "    shm.unlink()"
            ),
        ),
        Answer(
            "a name, and no segment at all",
            "name = 'psm_never_made'\nmessage = b'hello'",
            ("creates no segment",),
        ),
        Answer(
            "no finally, the arguments in another order",
            (
                "from multiprocessing import shared_memory\n"
                "shm = shared_memory.SharedMemory(size=1024, create=True)\n" + UNGUARDED_LIFECYCLE
            ),
            ("pressed Interrupt", "the segment stayed in shared memory"),
        ),
        Answer(
            "no finally, SharedMemory under another name",
            (
                "from multiprocessing import shared_memory\n"
                "SM = shared_memory.SharedMemory\n"
                "shm = SM(create=True, size=1024)\n" + UNGUARDED_LIFECYCLE
            ),
            ("pressed Interrupt", "the segment stayed in shared memory"),
        ),
    ),
    ("06_patterns_that_scale", 1): (
        Answer(
            "the item read, then an item of zeros made here",
            (
                QUEUE_FIX_CONTEXT + "got = queue.get(timeout=30)\n"
                "report = run_with_deadline([producer], seconds=5)\n"
                "item = bytes(len(got))"
            ),
            ("not the bytes put_big put",),
        ),
        Answer(
            "parent makes item",
            (QUEUE_FIX_CONTEXT + "report = run_with_deadline([producer], seconds=1)\nitem = b'x' * (10 * 2**20)"),
            ("Get it first",),
        ),
        Answer(
            "join with timeout, then get",
            (
                QUEUE_FIX_CONTEXT + "producer.join(timeout=1)\n"
                "item = queue.get(timeout=5)\n"
                "report = run_with_deadline([producer], seconds=1)"
            ),
        ),
        Answer(
            "right: helper",
            (
                QUEUE_FIX_CONTEXT + "def collect(q, p):\n"
                "    got = q.get(timeout=20)\n"
                "    return got, run_with_deadline([p], seconds=5)\n"
                "item, report = collect(queue, producer)"
            ),
        ),
        Answer(
            "right: poll loop",
            (
                QUEUE_FIX_CONTEXT + "import queue as q_\n"
                "while True:\n"
                "    try:\n"
                "        item = queue.get(timeout=0.5)\n"
                "        break\n"
                "    except q_.Empty:\n"
                "        pass\n"
                "report = run_with_deadline([producer], seconds=2)"
            ),
        ),
        Answer(
            "a 1 MiB item",
            (
                "from multiprocessing import Process, Queue\n"
                "from helpers import run_with_deadline\n"
                "from helpers.patterns import put_big\n"
                "report = item = None\n"
                "queue = Queue()\n"
                "producer = Process(target=put_big, args=(queue, 2**20), name='producer')\n"
                "producer.start()\n"
                "item = queue.get(timeout=10)\n"
                "report = run_with_deadline([producer], seconds=5)"
            ),
            ("10 MiB",),
        ),
        Answer(
            "a small put, the 10 MiB item made here",
            (
                "from multiprocessing import Process, Queue\n"
                "from helpers import run_with_deadline\n"
                "from helpers.patterns import put_big\n"
                "report = item = None\n"
                "queue = Queue()\n"
                "producer = Process(target=put_big, args=(queue, 1000), name='producer')\n"
                "producer.start()\n"
                "queue.get(timeout=30)\n"
                "report = run_with_deadline([producer], seconds=5)\n"
                "item = b'x' * (10 * 2**20)"
            ),
            ("the producer put 1000 bytes", "no producer of your latest cell put 10 MiB"),
        ),
        Answer(
            "the arguments swapped",
            (
                "from multiprocessing import Process, Queue\n"
                "from helpers import run_with_deadline\n"
                "from helpers.patterns import put_big\n"
                "report = item = None\n"
                "queue = Queue()\n"
                "producer = Process(target=put_big, args=(10 * 2**20, queue), name='producer')\n"
                "producer.start()\n"
                "report = run_with_deadline([producer], seconds=5)"
            ),
            ("put_big stopped with an error", "AttributeError"),
        ),
    ),
    ("06_patterns_that_scale", 2): (
        Answer(
            "NumPy in the parent",
            "tasks = list(range(len(data)))\nsums = list(data.sum(axis=1))",
            ("no pool worker ran row_sum",),
        ),
        Answer(
            "numbers, but the rows' sums from row_sum_of in the parent",
            "tasks = list(range(len(data)))\nsums = [row_sum_of(data[i]) for i in tasks]",
            ("no pool worker ran row_sum",),
        ),
        Answer(
            "half the rows",
            "tasks = list(range(len(data) // 2))\nsums = pool.map(row_sum, tasks)",
            ("the 64 row numbers",),
        ),
        Answer(
            "builtin sum in parent",
            "tasks = list(range(len(data)))\nsums = [float(sum(data[i])) for i in tasks]",
            ("no pool worker ran row_sum",),
        ),
        Answer(
            "right: imap over range",
            (
                "from helpers.patterns import row_sum\n"
                "tasks = range(data.shape[0])\n"
                "sums = list(pool.imap(row_sum, tasks))"
            ),
        ),
        Answer(
            "right: numpy int tasks, map_async",
            (
                "from helpers.patterns import row_sum\n"
                "tasks = np.arange(len(data))\n"
                "sums = pool.map_async(row_sum, tasks).get(timeout=30)"
            ),
        ),
    ),
    ("07_past_processes", 1): (
        Answer(
            "section 1's interp puts",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import put_squares\n"
                "results = worker = None\n"
                "results_queue = interpreters.create_queue()\n"
                "worker = interpreters.create()\n"
                "interp.call(put_squares, results_queue, 5)\n"
                "results = [results_queue.get() for _ in range(5)]\n"
                "worker.close()"
            ),
            ("section 1's interp",),
        ),
        Answer(
            "main makes results",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import put_squares\n"
                "results = worker = None\n"
                "results_queue = interpreters.create_queue()\n"
                "worker = interpreters.create()\n"
                "worker.close()\n"
                "results = [i * i for i in range(5)]"
            ),
            ("not by worker",),
        ),
        Answer(
            "put_squares in main",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import put_squares\n"
                "results = worker = None\n"
                "results_queue = interpreters.create_queue()\n"
                "worker = interpreters.create()\n"
                "put_squares(results_queue, 5)\n"
                "results = [results_queue.get() for _ in range(5)]\n"
                "worker.close()"
            ),
            ("the main interpreter",),
        ),
        Answer(
            "right: loop with try/finally",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import put_squares\n"
                "results = worker = None\n"
                "results_queue = interpreters.create_queue()\n"
                "worker = interpreters.create()\n"
                "try:\n"
                "    worker.call(put_squares, results_queue, 5)\n"
                "    results = []\n"
                "    while len(results) < 5:\n"
                "        results.append(results_queue.get(timeout=5))\n"
                "finally:\n"
                "    worker.close()"
            ),
        ),
        Answer(
            "right: call_in_thread and join",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import put_squares\n"
                "results = worker = None\n"
                "results_queue = interpreters.create_queue()\n"
                "worker = interpreters.create()\n"
                "t = worker.call_in_thread(put_squares, results_queue, 5)\n"
                "t.join()\n"
                "results = [results_queue.get() for _ in range(5)]\n"
                "worker.close()"
            ),
        ),
    ),
    ("07_past_processes", 2): (
        Answer(
            "view of a copy",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "filled = interp.call(fill_squares, memoryview(bytearray(buf)))"
            ),
            ("another buffer",),
        ),
        Answer(
            "main computes bytes",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "buf[:] = bytes(i * i % 256 for i in range(len(buf)))\n"
                "filled = len(buf)"
            ),
            ("no call of fill_squares wrote it",),
        ),
        Answer(
            "copy in, then copy back by main",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "filled = interp.call(fill_squares, buf)\n"
                "buf[:] = bytes(i * i % 256 for i in range(len(buf)))"
            ),
            ("on its own copy",),
        ),
        Answer(
            "right: new interpreter",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "other = interpreters.create()\n"
                "try:\n"
                "    view = memoryview(buf)\n"
                "    filled = other.call(fill_squares, view)\n"
                "finally:\n"
                "    other.close()"
            ),
        ),
        Answer(
            "right: call_in_thread? no - view variable with interp",
            (
                "from concurrent import interpreters\n"
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "view = memoryview(buf)\n"
                "filled = interp.call(fill_squares, view)\n"
                "del view"
            ),
        ),
        Answer(
            "right: two calls, each on half a view",
            (
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "half = len(buf) // 2\n"
                "view = memoryview(buf)\n"
                "filled = interp.call(fill_squares, view[:half]) + interp.call(fill_squares, view[half:])"
            ),
        ),
        Answer(
            "half by the subinterpreter, half here",
            (
                "from helpers.subinterpreters import fill_squares\n"
                "filled = None\n"
                "buf = bytearray(2**20)\n"
                "half = len(buf) // 2\n"
                "filled = interp.call(fill_squares, memoryview(buf)[:half])\n"
                "buf[half:] = bytes(i * i % 256 for i in range(half))\n"
                "filled = len(buf)"
            ),
            ("wrote 524288 of buf's 1048576 bytes",),
        ),
    ),
}
EXERCISES = tuple(replace(e, answers=e.answers + FRESH_EYES.get((e.lesson, e.number), ())) for e in EXERCISES)
