# Solution to lesson 05, exercise 2: Amdahl's law. The serial part takes the same time whatever
# the number of workers; only the rest is divided among them.
from helpers.measuring import check_amdahl


def my_speedup(serial, workers):
    return 1 / (serial + (1 - serial) / workers)


# With endless workers the parallel part takes no time and the serial part is all that is left:
# the speedup tends to 1 / serial. With 5% serial work, never more than 20x (1000 workers: 19.6x).
best_with_5_percent = 1 / 0.05
check_amdahl(my_speedup, best_with_5_percent)
