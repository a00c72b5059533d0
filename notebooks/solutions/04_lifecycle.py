# Solution to lesson 04, exercise 2: whatever happens after the segment exists, `finally` closes
# this process's mapping and, as the owner, unlinks the segment.
from multiprocessing import shared_memory

from helpers.segments import check_lifecycle

shm = shared_memory.SharedMemory(create=True, size=1024)
try:
    name = shm.name
    shm.buf[:5] = b"hello"
    message = bytes(shm.buf[:5])
finally:
    shm.close()
    shm.unlink()
check_lifecycle(name, message)
