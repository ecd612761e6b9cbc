"""Stage 4's exercises: stubs to copy with ``mlcourse start ID`` and fill in."""
