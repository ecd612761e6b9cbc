"""Stage 1: a model is a function, weights are parameters, loss is an error, and the loop."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
