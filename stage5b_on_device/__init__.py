"""Stage 5b: quantization, pruning, mobile formats, an offline classifier."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
