"""Stage 2: layers, activations and gradients; an MLP on MNIST."""
