"""Stage 2: layers, activations and gradients; an MLP on MNIST."""

from common.errors import quiet_ctrl_c

quiet_ctrl_c()  # before any lesson module imports torch: Ctrl-C then gives one line
