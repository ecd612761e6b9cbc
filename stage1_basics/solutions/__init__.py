"""Reference answers to stage 1's exercises (``mlcourse solution ID``)."""
