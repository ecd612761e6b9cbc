"""Reference answers to stage 5a's exercises (``mlcourse solution ID``)."""
