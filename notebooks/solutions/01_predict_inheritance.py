# Solution to lesson 01, exercise 1.
# fork: the child is a copy of the parent at start(), so it sees the parent's [1, 2, 3].
# spawn and forkserver: the child is a fresh interpreter that imports helpers.isolation anew,
# so its result is the module's initial [].
from helpers.isolation import check_predictions

predictions = {
    "fork": True,
    "spawn": False,
    "forkserver": False,
}
check_predictions(predictions)
