# Solution to lesson 07, exercise 1: read the queue while the interpreter that filled it is still open, then close
# it. A queue replaces what a closed interpreter put with UNBOUND, so reading after the close gets nothing back.
# The finally block closes the interpreter even if the call or a read raised.
from concurrent import interpreters

from helpers.subinterpreters import check_read_before_close, put_squares

results_queue = interpreters.create_queue()
worker = interpreters.create()
try:
    worker.call(put_squares, results_queue, 5)
    results = [results_queue.get() for _ in range(5)]  # read while worker is open
finally:
    worker.close()  # then close it
check_read_before_close(results, worker)
