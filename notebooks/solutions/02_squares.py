# Solution to lesson 02, exercise 1: four C ints for the squares, one for their sum.
from multiprocessing import Array, Process, Value

from helpers.shared_ctypes import check_squares, square_into

result = Array("i", 4)
square_sum = Value("i")
child = Process(target=square_into, args=([2, 4, 6, 8], result, square_sum))
child.start()
child.join()
check_squares(result, square_sum)
