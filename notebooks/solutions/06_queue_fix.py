# Solution to lesson 06, exercise 1: get the item first (the producer's feeder thread can then finish
# writing it into the pipe and the process can exit), then join. A timeout on get() keeps the notebook
# from hanging if the producer fails before putting anything.
from multiprocessing import Process, Queue

from helpers import run_with_deadline
from helpers.patterns import check_queue_fix, put_big

queue = Queue()
producer = Process(target=put_big, args=(queue, 10 * 2**20), name="producer")
producer.start()
item = queue.get(timeout=30)
report = run_with_deadline([producer], seconds=1)
check_queue_fix(report, item)
