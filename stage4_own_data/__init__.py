"""Stage 4: your own data: a cleaning pipeline, metrics and a model bundle."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
