"""Exercise 3.1 — a vocabulary: tokens to ids and back, with ``<unk>`` and ``<pad>``.

Write three functions, the same conventions as the course's ``common.bundle.textprep``:

- ``build_vocab(token_lists, min_freq)``: ``<pad>`` gets id 0, ``<unk>`` id 1, then every token
  seen at least ``min_freq`` times over all lists gets the next id, most frequent first, ties in
  alphabetical order.
- ``encode(tokens, vocab, length)``: one id per token (a token not in the vocabulary gets
  ``<unk>``'s id), cut to ``length`` ids or padded with ``<pad>``'s id up to ``length``.
- ``decode(ids, vocab)``: the tokens back, without the padding.

Done when ``mlcourse check 3.1`` passes: the special ids are 0 and 1, ``min_freq`` and the order
are respected, unknown words become 1 (never 0: that is padding), every encoding has exactly
``length`` ids, and decoding an encoding gives the tokens back (unknown ones as ``<unk>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PAD, UNK = "<pad>", "<unk>"


def build_vocab(token_lists: Iterable[Sequence[str]], min_freq: int = 2) -> dict[str, int]:
    """``{token: id}`` with ``<pad>`` 0, ``<unk>`` 1, then frequent tokens, most frequent first."""
    raise NotImplementedError


def encode(tokens: Sequence[str], vocab: dict[str, int], length: int) -> list[int]:
    """Exactly ``length`` ids: unknown tokens as ``<unk>``, cut or padded with ``<pad>``."""
    raise NotImplementedError


def decode(ids: Sequence[int], vocab: dict[str, int]) -> list[str]:
    """The tokens of ``ids``, padding left out."""
    raise NotImplementedError
