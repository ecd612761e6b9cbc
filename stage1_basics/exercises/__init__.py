"""Stage 1's exercises: stubs to copy with ``mlcourse start ID`` and fill in."""
