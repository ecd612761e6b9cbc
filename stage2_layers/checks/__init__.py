"""The checks ``mlcourse check ID`` runs against stage 2's exercises."""
