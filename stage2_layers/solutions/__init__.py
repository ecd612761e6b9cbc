"""Reference answers to stage 2's exercises (``mlcourse solution ID``)."""
