"""Reference answers to stage 3's exercises (``mlcourse solution ID``)."""
