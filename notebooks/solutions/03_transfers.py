# Solution to lesson 03, exercise 2: both processes take the locks in the same order (lock_0, then
# lock_1), whichever way their money moves. Then one may wait for the other, but never both for each other.
from multiprocessing import Array, Lock, Process

from helpers import run_with_deadline
from helpers.races import check_transfers, transfer_many

lock_0, lock_1 = Lock(), Lock()  # protect balances[0] and balances[1]
balances = Array("i", [100, 100])

p = Process(target=transfer_many, args=(lock_0, lock_1, balances, 0, 1, 1000), name="0-to-1")
q = Process(target=transfer_many, args=(lock_0, lock_1, balances, 1, 0, 1000), name="1-to-0")
report = run_with_deadline([p, q], seconds=5)
check_transfers(report, balances)
