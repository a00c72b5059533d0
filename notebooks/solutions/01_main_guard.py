# Solution to lesson 01, exercise 2: the lines that start a process go under the __main__ guard.
# A spawn child imports the script as __mp_main__, so code under the guard does not run again there.
from helpers.isolation import check_guarded_script

fixed_script = """
import multiprocessing
import sys

result = []


def square_numbers(numbers):
    for n in numbers:
        result.append(n * n)
    print("Result (in process p1):", result)


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    p1 = ctx.Process(target=square_numbers, args=([5, 10, 15],), name="p1")
    p1.start()
    p1.join()
    print("Result (in main program):", result)
"""
check_guarded_script(fixed_script)
