"""Seeding, so the same seed on the same machine gives the same losses."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for shuffling.

    A dedicated generator keeps batch order independent of any other random draws a lesson makes.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (libraries such as scikit-learn draw from it)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
