"""Stage 4: your own data: a cleaning pipeline, metrics and a model bundle."""
