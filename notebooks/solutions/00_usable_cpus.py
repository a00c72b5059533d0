# Solution to lesson 00, exercise 1. The report's "usable CPUs" line comes from usable_cpus(),
# which takes CPU affinity and the cgroup quota into account on Linux; os.cpu_count() does neither.
from helpers import usable_cpus
from helpers.machine import check_usable_cpus

my_cpus = usable_cpus()
check_usable_cpus(my_cpus)
