"""Exercise 4.2 — a train/test split with no duplicate leakage.

The same message often arrives more than once (the SMS collection has 403 exact duplicates). If
one copy lands in training and another in the test set, the test measures memory, not skill.
Split the row indices so that every group of identical texts (compared after ``strip().lower()``)
lands entirely on one side, about ``test_share`` of the rows in the test part, reproducibly for
a ``seed``, and with every label of the data in both parts.

    def split(texts, labels, test_share=0.2, seed=0) -> tuple[list[int], list[int]]

Done when ``mlcourse check 4.2`` passes: every index is in exactly one part, no text (after
``strip().lower()``) is in both, the test part holds ``test_share`` of the rows within 5 points,
both labels appear in each part, and the same seed gives the same split.
"""

from __future__ import annotations

from collections.abc import Sequence


def split(texts: Sequence[str], labels: Sequence[str], test_share: float = 0.2,
          seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, test indices), duplicates of a text always on the same side."""
    raise NotImplementedError
