"""helpers.shared_ctypes: lesson 02's workers and checks."""

from __future__ import annotations

import ctypes
import multiprocessing
from multiprocessing import Array, Pool, RawArray, RawValue, Value
from multiprocessing.sharedctypes import Synchronized

import pytest

from helpers import shared_ctypes
from helpers.feedback import new_attempt
from helpers.shared_ctypes import (
    BIG_NUMBERS,
    add_to_total,
    check_big_sum,
    check_pool_total,
    check_squares,
    init_total,
    square_into,
    type_code,
    value_of,
    write_sum,
)


def test_square_into_writes_squares_and_sum(capsys: pytest.CaptureFixture[str]) -> None:
    result, total = Array("i", 3), Value("i")
    square_into([1, 2, 3], result, total)
    assert result[:] == [1, 4, 9] and total.value == 14
    assert "Sum of squares" in capsys.readouterr().out


def test_square_into_in_a_child_is_seen_by_the_parent() -> None:
    result, total = Array("i", 4), Value("i")
    child = multiprocessing.Process(target=square_into, args=([2, 4, 6, 8], result, total))
    child.start()
    child.join(10)
    assert check_squares(result, total).passed


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: Value("d"), "d"),
        (lambda: Value(ctypes.c_int), "i"),
        (lambda: Array("i", 2), "i"),
        (lambda: RawArray("b", 2), "b"),
        (lambda: RawValue("c"), "c"),
    ],
    ids=["Value-d", "Value-c_int", "Array-i", "RawArray-b", "RawValue-c"],
)
def test_type_code(make, code) -> None:
    assert type_code(make()) == code


#: The type codes lesson 02 §2 says Value and Array take: the array module's up to 3.12, and "c" for a byte.
ARRAY_CODES_UP_TO_312 = set("bBuhHiIlLqQfd")


def test_type_codes_are_the_array_modules_up_to_312_and_c() -> None:
    """Lesson 02 §2's claim. array gained 'w' (3.13), 'e', 'Zf' and 'Zd' (3.15); Value refuses them."""
    import array

    for code in ARRAY_CODES_UP_TO_312 | {"c"}:
        RawValue(code)
    for code in set(array.typecodes) - ARRAY_CODES_UP_TO_312:
        with pytest.raises(TypeError):
            RawValue(code)


def test_type_code_bad_input() -> None:
    with pytest.raises(TypeError, match="not a shared Value or Array"):
        type_code([1, 2, 3])


def test_add_to_total_without_initializer_says_what_to_do() -> None:
    shared_ctypes._total = None
    with pytest.raises(RuntimeError, match="initializer=init_total"):
        add_to_total(1)


def test_pool_with_initializer_sums() -> None:
    total = Value("i", 0)
    with Pool(2, initializer=init_total, initargs=(total,)) as pool:
        pool.map(add_to_total, range(1, 101))
    assert check_pool_total(total).passed


def test_pool_refuses_a_synchronized_task_argument() -> None:
    with Pool(1) as pool, pytest.raises(RuntimeError, match="through inheritance"):
        pool.map(value_of, [Value("i")])


def test_write_sum_overflows_a_c_int() -> None:
    small, wide = Value("i"), Value("q")
    write_sum(BIG_NUMBERS, small)
    write_sum(BIG_NUMBERS, wide)
    assert small.value < 0
    assert not check_big_sum(small).passed
    assert "write_sum ran here, in the notebook's own process" in str(check_big_sum(wide))
    new_attempt()  # as the next cell would be: the write here is an earlier attempt
    child = multiprocessing.Process(target=write_sum, args=(BIG_NUMBERS, wide))
    child.start()
    child.join(10)
    multiprocessing.process._children.add(child)  # type: ignore[attr-defined]  # as if never joined
    assert "never joined" in str(check_big_sum(wide))
    multiprocessing.process._children.discard(child)  # type: ignore[attr-defined]
    assert check_big_sum(wide).passed


def test_checks_fail_on_unsolved_starters() -> None:
    assert not check_squares(None, None).passed
    assert not check_squares(Array("i", 4), Value("i")).passed
    assert not check_squares(Array("d", 4), Value("i")).passed
    assert not check_big_sum(None).passed
    assert not check_pool_total(Value("i", 0)).passed
    assert not check_pool_total(RawValue("i", 5050)).passed


def test_clean_up_lets_go_of_a_total_the_notebook_gave_init_total() -> None:
    """A notebook that calls init_total(total) itself (a wrong answer to lesson 02's exercise 3) leaves the Value
    in the module's global; Clean up must let go of it, or its named semaphore outlives the Clean up (under spawn
    and forkserver, 4 wrong answers each left one in the exercises' test, on 3.11 and 3.14)."""
    import multiprocessing

    from helpers import shared_ctypes
    from helpers.release import FORGET

    shared_ctypes.init_total(multiprocessing.Value("i", 0))
    assert shared_ctypes._total is not None
    for forget in FORGET:  # what release_all() calls before its last collection (not called here: in this
        forget()  # process it would also stop the test run's own children)
    assert shared_ctypes._total is None


def init_and_add(total: Synchronized, numbers: range) -> None:
    """A plain Process's target that does a pool worker's job by hand (a reviewer's wrong answer to exercise 3)."""
    init_total(total)
    for n in numbers:
        add_to_total(n)


def test_pool_total_judges_what_kind_of_process_added() -> None:
    """Two plain Processes that add 1 to 100 are not a pool: the notes say what each process was started to run."""
    new_attempt()
    total = Value("i", 0)
    children = [multiprocessing.Process(target=init_and_add, args=(total, range(a, a + 50))) for a in (1, 51)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    assert total.value == 5050
    said = str(check_pool_total(total))
    assert "not in a pool's workers" in said and "init_and_add" in said, said


def test_pool_total_names_the_workers_error() -> None:
    """Workers that never got the total stop on an error; the check names it (the notes record failed calls)."""
    new_attempt()
    total = Value("i", 0)
    with Pool(2) as pool, pytest.raises(RuntimeError):
        pool.map(add_to_total, range(1, 101))
    said = str(check_pool_total(total))
    assert "add_to_total stopped with an error" in said and "RuntimeError: no shared total" in said, said


def test_pool_total_says_who_added_the_rest() -> None:
    """Workers add 1 to 99 and the notebook adds 100: 5050 is right, and the check says where the 100 came from."""
    new_attempt()
    total = Value("i", 0)
    with Pool(2, initializer=init_total, initargs=(total,)) as pool:
        pool.map(add_to_total, range(1, 100))
    with total.get_lock():
        total.value += 100
    said = str(check_pool_total(total))
    assert "the rest was added here" in said and "expected 5050" not in said, said
