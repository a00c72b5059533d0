# Solution to lesson 06, exercise 2: the pool of section 1 attached its workers to the shared array once
# (initializer=init_worker), so a task only needs a row number, and row_sum reads that row from shared memory.
# It uses the lesson's own `pool` and `data`: run section 1 first.
from helpers.patterns import check_pool_sums, row_sum

tasks = list(range(len(data)))  # row numbers, a few bytes each
sums = pool.map(row_sum, tasks)  # row_sum reads row i of the array the workers attached to
check_pool_sums(sums, tasks, data)
