"""The checks ``mlcourse check ID`` runs against stage 5b's exercises."""
