# Solution to lesson 02, exercise 3: the initializer gives each worker `total` when it starts.
from multiprocessing import Pool, Value

from helpers.shared_ctypes import add_to_total, check_pool_total, init_total

total = Value("i", 0)
with Pool(2, initializer=init_total, initargs=(total,)) as pool:
    pool.map(add_to_total, range(1, 101))
check_pool_total(total)
