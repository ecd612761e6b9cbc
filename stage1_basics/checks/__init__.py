"""The checks ``mlcourse check ID`` runs against stage 1's exercises."""
