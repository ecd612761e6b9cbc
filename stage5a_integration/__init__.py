"""Stage 5a: export, a REST and gRPC service, an app that uses it."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
