"""Stage 5a's exercises: stubs to copy with ``mlcourse start ID`` and fill in."""
