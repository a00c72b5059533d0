# Solution to lesson 02, exercise 2: a C int ("i") holds at most 2_147_483_647, so 3 billion
# wrapped around to a negative number. "q" is a 64-bit integer with room for it.
from multiprocessing import Process, Value

from helpers.shared_ctypes import BIG_NUMBERS, check_big_sum, write_sum

big_total = Value("q")
child = Process(target=write_sum, args=(BIG_NUMBERS, big_total))
child.start()
child.join()
check_big_sum(big_total)
