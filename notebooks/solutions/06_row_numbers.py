# Solution to lesson 06, exercise 2: the workers attached to the shared array once (initializer), so a
# task only needs a row number, and row_sum reads that row from shared memory.
# The answer is the two lines marked "answer". The lines around them build the same data and attached
# pool as section 1, so that this file also runs on its own (the tests run it that way).
import multiprocessing

import numpy as np

from helpers.patterns import check_pool_sums, init_worker, row_sum
from helpers.shared_arrays import shared_array

data = np.random.default_rng(6).random((64, 2**15))
with (
    shared_array(data.shape, copy_from=data) as big,
    multiprocessing.Pool(2, initializer=init_worker, initargs=(big.spec,)) as pool,
):
    tasks = list(range(len(data)))  # answer: row numbers, a few bytes each
    sums = pool.map(row_sum, tasks)  # answer: row_sum reads row i of the attached array
check_pool_sums(sums, tasks, data)
