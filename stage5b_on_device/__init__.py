"""Stage 5b: quantization, pruning, mobile formats, an offline classifier."""
