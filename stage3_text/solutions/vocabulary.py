"""Exercise 3.1, a reference answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK = "<pad>", "<unk>"


def build_vocab(token_lists: Iterable[Sequence[str]], min_freq: int = 2) -> dict[str, int]:
    """``{token: id}`` with ``<pad>`` 0, ``<unk>`` 1, then frequent tokens, most frequent first."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = sorted((token for token, count in counts.items() if count >= min_freq),
                  key=lambda token: (-counts[token], token))
    return {PAD: 0, UNK: 1, **{token: index for index, token in enumerate(kept, start=2)}}


def encode(tokens: Sequence[str], vocab: dict[str, int], length: int) -> list[int]:
    """Exactly ``length`` ids: unknown tokens as ``<unk>``, cut or padded with ``<pad>``."""
    ids = [vocab.get(token, vocab[UNK]) for token in tokens][:length]
    return ids + [vocab[PAD]] * (length - len(ids))


def decode(ids: Sequence[int], vocab: dict[str, int]) -> list[str]:
    """The tokens of ``ids``, padding left out."""
    tokens = {index: token for token, index in vocab.items()}
    return [tokens[index] for index in ids if index != vocab[PAD]]
