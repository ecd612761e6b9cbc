"""A plausible wrong answer: it splits rows, so copies of a text leak across.

Mutated from stage4_own_data/solutions/leak_free_split.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.model_selection import StratifiedGroupKFold


def split(texts: Sequence[str], labels: Sequence[str], test_share: float = 0.2,
          seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, test indices), duplicates of a text always on the same side."""
    keys = [text.strip().lower() for text in texts]
    folds = StratifiedGroupKFold(n_splits=round(1 / test_share), shuffle=True, random_state=seed)
    train, test = next(folds.split(keys, labels, groups=range(len(keys))))
    return sorted(int(i) for i in train), sorted(int(i) for i in test)
