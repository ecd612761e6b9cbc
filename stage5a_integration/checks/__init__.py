"""The checks ``mlcourse check ID`` runs against stage 5a's exercises."""
