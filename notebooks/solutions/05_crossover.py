# Solution to lesson 05, exercise 1: read the crossover off the measurements rather than the plot.
# Walk from the largest size down; the crossover is the last size reached while shared memory
# (with the copy) still wins. If it loses at the largest size, there is no crossover: None.
from helpers.measuring import check_crossover, handoff_seconds, measure_handoff

small_sizes = [4 * 2**10 * 4**k for k in range(7)]  # 4 KiB, 16 KiB, ..., 16 MiB
small = measure_handoff(small_sizes, repeats=5, methods=["pickle", "shared_memory_with_copy"])

crossover = None
for size in sorted(small_sizes, reverse=True):
    if handoff_seconds(small, "shared_memory_with_copy", size) >= handoff_seconds(small, "pickle", size):
        break
    crossover = size
print("shared memory (with the copy) wins from", crossover, "bytes on")
check_crossover(small, crossover)
