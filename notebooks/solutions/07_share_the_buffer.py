# Solution to lesson 07, exercise 2: a bytearray is not shareable, so call() pickled it and the subinterpreter filled
# its own copy. A memoryview is shareable: the subinterpreter gets a view of buf's own memory and writes into it.
# It uses section 1's `interp`: run section 1 first.
from helpers.subinterpreters import check_shared_fill, fill_squares

buf = bytearray(2**20)
filled = interp.call(fill_squares, memoryview(buf))  # a view of buf, not a copy
check_shared_fill(buf, filled)
