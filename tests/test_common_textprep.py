"""The text encoder's fast paths give exactly what the plain algorithms give.

``TextEncoder.tokens`` matches the token pattern with one compiled ``re`` built from the Unicode
categories (``TokenMatcher``); before, it walked the text a character at a time. That walk is
kept here as the reference, and hypothesis compares the two on random Unicode text
(surrogates, unassigned, private-use and astral code points included), for the default pattern
and for patterns with literals, two-letter categories and single-character alternatives.
``pad_ids`` is checked the same way against a row-by-row loop, and whole encodings (word ids,
cached n-gram ids, truncation, padding) against the token-by-token computation they replaced.
Text-scope n-grams, hashed for a whole batch in numpy, are checked against hashing each n-gram
on its own, and ``RaggedIds`` against plain lists.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from common.bundle.textprep import (
    DEFAULT_TOKEN_PATTERN,
    PAD_ID,
    UNK_ID,
    CharClass,
    RaggedBuilder,
    RaggedIds,
    TextEncoder,
    TextSpec,
    build_spec,
    fnv1a32,
    pad_ids,
    parse_token_pattern,
)

PATTERNS = (
    DEFAULT_TOKEN_PATTERN,
    r"[\p{L}\p{N}_']+|[\p{P}\p{S}]",
    r"[\p{Lu}]+|[\p{Ll}\p{Nd}]+|[\p{Zs}]|[.#$*]",
    r"[\p{P}]|[\p{L}]|[\p{C}\p{M}]+",
    "[\\p{L}👍]+|[\\p{Nd}\ue001]",  # literals above U+FFFF and among the stand-ins
)
ANY_CODE_POINT = st.characters(codec=None, categories=None, exclude_categories=())
# Mostly the characters real messages hold, with any code point mixed in: emoji and other
# characters above U+FFFF, and the Private Use Area code points the matcher uses as stand-ins.
TEXTS = st.text(st.one_of(st.sampled_from("aZ9 ,.!-_'£👍😀𝔸𝟘ёЁßﬁ\u0301\u00a0\t\ue000\ue001\ue003"),
                          ANY_CODE_POINT), max_size=60)


def reference_tokens(text: str, alternatives: tuple[CharClass, ...]) -> list[str]:
    """The pattern's matches found one character at a time (the encoder's former algorithm)."""
    found, start, end = [], 0, len(text)
    while start < end:
        alternative = next((alt for alt in alternatives if text[start] in alt), None)
        if alternative is None:
            start += 1
            continue
        stop = start + 1
        if alternative.repeat:
            while stop < end and text[stop] in alternative:
                stop += 1
        found.append(text[start:stop])
        start = stop
    return found


ENCODERS = [TextEncoder(TextSpec(token_pattern=p, normalization="none", case="none"))
            for p in PATTERNS]


@settings(max_examples=150, deadline=None)
@given(text=TEXTS, which=st.integers(0, len(PATTERNS) - 1))
def test_compiled_pattern_matches_the_character_walk(text: str, which: int) -> None:
    encoder = ENCODERS[which]
    assert encoder.tokens(text) == reference_tokens(text, parse_token_pattern(PATTERNS[which]))


def test_the_walk_can_tell_the_patterns_apart() -> None:
    """The comparison is not vacuous: the patterns disagree on the same text."""
    text = "Ab.c9 ,x#_y'z👍\ue001"
    results = {tuple(reference_tokens(text, parse_token_pattern(p))) for p in PATTERNS}
    assert len(results) == len(PATTERNS)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.lists(st.integers(1, 2**40), max_size=12), max_size=8))
def test_pad_ids_equals_a_row_by_row_fill(rows: list[list[int]]) -> None:
    expected = np.full((len(rows), max([1, *map(len, rows)])), PAD_ID, dtype=np.int64)
    for index, row in enumerate(rows):
        expected[index, : len(row)] = row
    padded = pad_ids(rows)
    assert padded.dtype == np.int64
    np.testing.assert_array_equal(padded, expected)


def test_token_cache_counts_hits_and_never_holds_texts() -> None:
    encoder = TextEncoder(TextSpec())
    encoder.encode_batch(["free prize now", "free entry now"])
    info = encoder.token_ids.cache_info()
    assert (info.hits, info.misses) == (2, 4)  # "free" and "now" came back once each


def reference_encode(encoder: TextEncoder, text: str) -> tuple[list[int], list[int]]:
    """Word ids and n-gram ids token by token, hashing every n-gram (the former algorithm)."""
    spec = encoder.spec
    tokens = reference_tokens(encoder.normalize(text), parse_token_pattern(spec.token_pattern))
    word_ids = [encoder.word_to_id.get(token, UNK_ID) for token in tokens[: spec.max_words]]
    ngram_ids: list[int] = []
    for token in tokens:
        if len(ngram_ids) >= spec.max_ngrams:
            break
        ngram_ids.extend(1 + fnv1a32(g.encode("utf-8")) % spec.buckets
                         for g in encoder.ngrams(token))
    return word_ids, ngram_ids[: spec.max_ngrams]


SMALL = TextEncoder(build_spec(["free prize call now", "see you at six", "привет мир"],
                               min_freq=1, max_words=5, max_ngrams=17, buckets=101))


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=5))
def test_encoding_equals_the_token_by_token_reference(texts: list[str]) -> None:
    expected = [reference_encode(SMALL, text) for text in texts]
    for text, (word_ids, ngram_ids) in zip(texts, expected, strict=True):
        encoded = SMALL.encode(text)
        assert (encoded.word_ids, encoded.ngram_ids) == (word_ids, ngram_ids)
    words, ngrams = SMALL.encode_batch(texts)
    np.testing.assert_array_equal(words, pad_ids([w for w, _ in expected]))
    np.testing.assert_array_equal(ngrams, pad_ids([n for _, n in expected]))


def reference_text_ngram_ids(encoder: TextEncoder, text: str) -> list[int]:
    """``ngram_scope = "text"`` one n-gram at a time, each hashed on its own (the former code)."""
    spec = encoder.spec
    tokens = reference_tokens(encoder.normalize(text), parse_token_pattern(spec.token_pattern))
    if not tokens:
        return []
    start, end = spec.ngram_boundary
    marked = f"{start}{' '.join(tokens)}{end}"
    grams = [marked[i : i + n] for i in range(len(marked)) for n in spec.ngram_sizes
             if i + n <= len(marked)]
    return [1 + fnv1a32(g.encode("utf-8", "surrogatepass")) % spec.buckets
            for g in grams[: spec.max_ngrams]]


# Unsorted sizes, a size of 1 and a low limit: the order and the truncation are exercised too.
TEXT_SCOPE = [TextEncoder(TextSpec(ngram_scope="text", buckets=buckets, max_ngrams=limit,
                                   ngram_sizes=sizes, token_pattern=pattern))
              for buckets, limit, sizes, pattern in (
                  (1 << 16, 1024, (2, 3, 4, 5), DEFAULT_TOKEN_PATTERN),
                  (97, 23, (5, 1, 3), PATTERNS[3]),  # \p{C} tokens: surrogates get hashed
                  (2**32 - 1, 1024, (4,), PATTERNS[4]))]


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(TEXTS, max_size=6), which=st.integers(0, len(TEXT_SCOPE) - 1))
def test_text_scope_ngrams_hashed_together_equal_one_at_a_time(texts: list[str],
                                                                which: int) -> None:
    encoder = TEXT_SCOPE[which]
    expected = [reference_text_ngram_ids(encoder, text) for text in texts]
    _, ngrams = encoder.encode_ragged(texts)
    assert ngrams.values.dtype == (np.int32 if encoder.spec.buckets < 2**31 else np.int64)
    assert [row.tolist() for row in np.split(ngrams.values, ngrams.offsets[1:-1])] == expected \
        if texts else len(ngrams) == 0


def test_text_scope_hash_is_fnv1a_of_the_utf8_bytes() -> None:
    """Fixed values (from the scalar ``fnv1a32``) for ASCII, two-, three- and four-byte code
    points, so the vectorised hash cannot drift together with a wrong reference."""
    encoder = TextEncoder(TextSpec(ngram_scope="text", ngram_sizes=(1, 2), buckets=2**32 - 1))
    _, ngrams = encoder.encode_ragged(["aё€😀"])  # tokens "aё", "€", "😀"
    marked = "<aё € 😀>"
    grams = [marked[i : i + n] for i in range(len(marked)) for n in (1, 2)
             if i + n <= len(marked)]
    assert ngrams.values.tolist() == [1 + fnv1a32(g.encode()) % (2**32 - 1) for g in grams]
    assert fnv1a32(b"a") == 0xE40C292C  # the published FNV-1a test vector


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.lists(st.integers(1, 2**31 - 1), max_size=6), max_size=8),
       data=st.data())
def test_ragged_ids_take_and_pad_like_lists(rows: list[list[int]], data: st.DataObject) -> None:
    ragged = RaggedIds(np.array([v for row in rows for v in row], dtype=np.int32),
                       np.array([len(row) for row in rows], dtype=np.int64))
    np.testing.assert_array_equal(ragged.padded(), pad_ids(rows))
    indices = data.draw(st.lists(st.integers(0, max(0, len(rows) - 1)),
                                 max_size=10 if rows else 0))
    taken = ragged.take(indices)
    np.testing.assert_array_equal(taken.padded(), pad_ids([rows[i] for i in indices]))


@settings(max_examples=50, deadline=None)
@given(chunks=st.lists(st.lists(st.lists(st.integers(1, 2**16 - 1), max_size=5), max_size=4),
                       max_size=5))
def test_ragged_builder_lays_chunks_end_to_end_in_its_type(chunks: list[list[list[int]]]) -> None:
    builder = RaggedBuilder(np.uint16)
    for rows in chunks:
        builder.append(RaggedIds(np.array([v for row in rows for v in row], dtype=np.int32),
                                 np.array([len(row) for row in rows], dtype=np.int64)))
    built = builder.build()
    every_row = [row for rows in chunks for row in rows]
    assert built.values.dtype == np.uint16  # cast on arrival, not only at the end
    np.testing.assert_array_equal(built.padded(), pad_ids(every_row))
    assert builder.build().lengths.size == 0  # the chunks were handed over, not kept
