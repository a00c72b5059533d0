# Solution to lesson 05, exercise 3: fewer, larger messages.
# Pool.map picks a chunksize itself: the tasks divided by 4 times the workers, rounded up (500 tasks per message
# here, 8 messages in all). imap would do as well given a chunksize, wrapped in list() since it returns an
# iterator: list(pool.imap(tiny_task, tasks, chunksize=100)). Any chunksize from a few dozen up to half the tasks
# keeps the messaging small and both workers busy.
from helpers.task_costs import check_messaging, tiny_task


def run_tasks(pool, tasks):
    return pool.map(tiny_task, tasks)


check_messaging(run_tasks)
