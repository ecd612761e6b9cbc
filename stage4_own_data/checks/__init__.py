"""The checks ``mlcourse check ID`` runs against stage 4's exercises."""
