"""Reference answers to stage 4's exercises (``mlcourse solution ID``)."""
