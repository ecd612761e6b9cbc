"""Stage 1: a model is a function, weights are parameters, loss is an error, and the loop."""
