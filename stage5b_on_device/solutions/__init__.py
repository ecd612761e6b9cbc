"""Reference answers to stage 5b's exercises (``mlcourse solution ID``)."""
