"""Mutated reference answers: each must fail its check with the intended hint."""
