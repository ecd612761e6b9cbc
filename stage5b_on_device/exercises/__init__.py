"""Stage 5b's exercises: stubs to copy with ``mlcourse start ID`` and fill in."""
