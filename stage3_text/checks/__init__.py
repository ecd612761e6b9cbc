"""The checks ``mlcourse check ID`` runs against stage 3's exercises."""
