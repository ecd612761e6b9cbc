"""Exercise 3.4, a reference answer: TF-IDF of character 2–5-grams and a linear SVM."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC


def train_spam_filter(texts: Sequence[str], labels: Sequence[str]
                      ) -> Callable[[list[str]], list[str]]:
    """Learn from ``texts`` and their ``labels`` ("spam"/"ham"); return a labelling function."""
    # char_wb n-grams survive typos and obfuscation ("FR33 pr1ze") that split words apart.
    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                          sublinear_tf=True), LinearSVC())
    model.fit(list(texts), list(labels))
    return lambda batch: [str(label) for label in model.predict(list(batch))]
