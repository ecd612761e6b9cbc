"""Text → tokens → ids, step by step: what a message becomes before a model sees it.

A model reads numbers, not letters. The course turns text into numbers with one preprocessing,
``common.bundle.textprep`` (the same code later runs in the service and the offline app), in steps:
  1. normalise: Unicode NFKC (full-width letters, ligatures and decomposed letters become the
     plain ones) and lower case, so "ＦＲＥＥ", "Free" and "free" are one word;
  2. split into tokens: runs of letters and digits (any script) and single punctuation marks or
     symbols; characters and subwords (BPE) are the other choices, shown too;
  3. a vocabulary: the words seen at least ``--min-freq`` times in the training messages, plus
     ``<pad>`` (id 0) and ``<unk>`` (id 1, every word the vocabulary lacks);
  4. encode to ids and decode back;
  5. pad a batch of messages of different lengths into one rectangle, with a mask.

Run: ``python -m stage3_text.tokens [--data PATH] [--min-freq N] [--text "your message"]``
"""

# %%
from __future__ import annotations

import argparse
import itertools
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from common.bundle.textprep import PAD, PAD_ID, UNK, UNK_ID, TextEncoder, TextSpec, build_spec
from common.lesson import lesson_main, lesson_parser, positive_int
from common.paths import runs_dir
from common.plots import save_figure
from common.summary import LessonSummary
from stage3_text.sms_data import load_sms, split_sms

STAGE, LESSON = "stage3_text", "tokens"
# (what it shows, the raw text): each looks like ordinary text but is not, code point by code point.
NORMALISATION_EXAMPLES = (
    ("full-width letters", "ＦＲＥＥ Ｐｒｉｚｅ"),
    ("ligatures", "ﬁnal oﬀer"),
    ("circled digits, fraction", "①② ½"),
    ("й as и + combining breve", "и\u0306"),
    ("German sharp s", "Straße STRASSE"),
    ("Cyrillic Ё", "ЁЛКА Ёлка елка"),
)
# Pairs that NFKC + lower case must turn into the same tokens.
SAME_AFTER_NORMALISATION = (
    ("ＦＲＥＥ Ｐｒｉｚｅ", "free prize"),
    ("ﬁnal oﬀer", "final offer"),
    ("и\u0306", "й"),
    ("ПРИВЕТ Мир", "привет мир"),
)
EXAMPLES = (
    "Congratulations! You've WON a £900 prize. Call 09061701461 now",
    "Поздравляем! Вы выиграли приз, позвоните сейчас",
    "Sorry, I'll call you later  :)",
    "Мама, я задержусь, буду в 7",
)
UNSEEN_WORD = "zxqvbnm"
BPE_SHOWN_MERGES = 12
QUICK_BPE_MERGES, BPE_MERGES = 60, 200


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    parser.add_argument("--data", default=None,
                        help="an SMS file (label<TAB>text lines, .gz allowed) for the vocabulary; "
                             "default: the SMS Spam Collection shipped in data/")
    parser.add_argument("--min-freq", type=positive_int, default=2,
                        help="a word needs this many uses in the training messages to get an id")
    parser.add_argument("--text", default=None, help="a message of your own to walk through")
    parser.add_argument("--bpe-merges", type=positive_int, default=BPE_MERGES,
                        help="merges learned in the byte-pair-encoding demonstration")
    return parser


# %% 1. Normalisation
def code_points(text: str, shown: int = 6) -> str:
    listed = " ".join(f"U+{ord(char):04X}" for char in text[:shown])
    return listed + (" …" if len(text) > shown else "")


def show_normalisation(summary: LessonSummary, encoder: TextEncoder) -> None:
    print("1. Normalisation: NFKC, then lower case (what the spec does), vs casefold (it does not)")
    for what, raw in NORMALISATION_EXAMPLES:
        nfkc = unicodedata.normalize("NFKC", raw)
        print(f"   {what}:")
        print(f"     raw      {raw!r:<24} {len(raw)} code points: {code_points(raw)}")
        print(f"     NFKC     {nfkc!r:<24} {len(nfkc)} code points")
        print(f"     lower    {nfkc.lower()!r:<24} casefold {nfkc.casefold()!r}")
    print("   lower() keeps 'straße' ≠ 'strasse' (casefold would merge them, but JavaScript and "
          "Swift\n   have no casefold, and the spec must run there too); 'ё' stays apart from 'е' "
          "— a\n   vocabulary may hold both 'ёлка' and 'елка'.")
    same = all(encoder.tokens(a) == encoder.tokens(b) for a, b in SAME_AFTER_NORMALISATION)
    summary.check("full-width, ligature, decomposed and upper-case forms give the plain tokens",
                  same)


# %% 2. Tokens: words and characters (subwords in section 5)
def show_tokens(encoder: TextEncoder, texts: Sequence[str]) -> None:
    print(f"\n2. Tokens (pattern {encoder.spec.token_pattern}: runs of letters/digits, "
          "single punctuation marks and symbols)")
    for text in texts:
        words = encoder.tokens(text)
        characters = [c for c in encoder.normalize(text) if not c.isspace()]
        print(f"   {text!r}\n     {len(words)} word tokens:      {words}")
        print(f"     {len(characters)} character tokens: {''.join(characters)[:60]!r}...")
    token = encoder.tokens(texts[0])[0]
    print(f"   Words: short sequences but a big vocabulary, and every unseen word is <unk>. "
          f"Characters:\n   a tiny vocabulary, nothing unknown, but long sequences. The classifier "
          f"also hashes\n   character n-grams of each word, e.g. {token!r} → "
          f"{encoder.ngrams(token)[:6]}...")


def merge_pair(symbols: Sequence[str], pair: tuple[str, str]) -> list[str]:
    """Join every adjacent occurrence of ``pair`` into one symbol."""
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


def learn_bpe(word_counts: Counter[str], merges: int) -> list[tuple[str, str]]:
    """Byte-pair encoding, learned: start from characters, join the most frequent pair, repeat."""
    segmented = {word: list(word) for word in word_counts}
    learned: list[tuple[str, str]] = []
    for _ in range(merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, symbols in segmented.items():
            for pair in itertools.pairwise(symbols):
                pairs[pair] += word_counts[word]
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))  # ties broken the same every run
        learned.append(best)
        segmented = {word: merge_pair(symbols, best) for word, symbols in segmented.items()}
    return learned


def apply_bpe(word: str, merges: Sequence[tuple[str, str]]) -> list[str]:
    """Segment a word by replaying the learned merges in order."""
    symbols = list(word)
    for pair in merges:
        symbols = merge_pair(symbols, pair)
    return symbols


def show_subwords(summary: LessonSummary, train_tokens: list[str], test_tokens: list[str],
                  vocabulary: set[str], merges: int) -> dict[str, float]:
    words = Counter(t for t in train_tokens if t.isalpha())
    learned = learn_bpe(words, merges)
    print(f"\n5. Subwords: byte-pair encoding (BPE), {len(learned)} merges learned on the "
          "training words")
    print("   BPE starts from characters and keeps joining the most frequent adjacent pair; "
          "frequent\n   words end up whole, rare ones as a few known pieces, none as <unk>. "
          "WordPiece (BERT)\n   is the same idea with greedy longest-match pieces marked '##'. "
          f"First merges: {['+'.join(p) for p in learned[:BPE_SHOWN_MERGES]]}")
    unseen = sorted({t for t in test_tokens if t.isalpha() and t not in vocabulary},
                    key=lambda t: (-len(t), t))[:6]
    for word in unseen:
        print(f"   unseen word {word!r:<18} → {apply_bpe(word, learned)}")
    test_words = [t for t in test_tokens if t.isalpha()]
    pieces = [apply_bpe(word, learned) for word in test_words]
    summary.check("BPE pieces join back into every test word (lossless, nothing unknown)",
                  all("".join(p) == w for p, w in zip(pieces, test_words, strict=True)))
    per_word = sum(map(len, pieces)) / max(len(pieces), 1)
    characters = sum(map(len, test_words)) / max(len(test_words), 1)
    print(f"   test words: {per_word:.2f} BPE pieces per word vs {characters:.2f} characters")
    return {"bpe_pieces_per_word": per_word, "characters_per_word": characters}


# %% 3. The vocabulary
MinFreqRow = tuple[int, int, float]  # (min_freq, vocabulary entries, test <unk> share)


def show_vocabulary(train_texts: Sequence[str], test_texts: Sequence[str],
                    min_freq: int) -> tuple[TextSpec, list[MinFreqRow]]:
    print("\n3. Vocabulary: the training words seen at least min_freq times, most frequent first")
    print(f"   {'min_freq':>8} {'entries':>8} {'test tokens that are <unk>':>28}")
    specs = {value: build_spec(train_texts, min_freq=value)
             for value in sorted({1, 2, 3, 5, 10, min_freq})}
    rows = []
    for value, candidate in specs.items():
        unknown = unknown_share(TextEncoder(candidate), test_texts)
        print(f"   {value:>8} {candidate.vocab_size:>8} {unknown:>28.1%}")
        rows.append((value, candidate.vocab_size, unknown))
    spec = specs[min_freq]
    print(f"   min_freq {min_freq}: ids {PAD_ID} = {PAD}, {UNK_ID} = {UNK}, then "
          f"{list(enumerate(spec.vocabulary))[2:10]} ...")
    print("   A higher min_freq gives a smaller table and fewer rare-word vectors to learn from "
          "one or\n   two examples, at the price of more <unk> in new text.")
    return spec, rows


def plot_vocabulary(token_counts: Counter[str], rows: Sequence[MinFreqRow], path: Path) -> Path:
    """Left: Zipf's law (few words are frequent, most are rare). Right: what min_freq trades."""
    import matplotlib.pyplot as plt

    fig, (zipf, trade) = plt.subplots(1, 2, figsize=(11, 4))
    frequencies = sorted(token_counts.values(), reverse=True)
    zipf.loglog(range(1, len(frequencies) + 1), frequencies, ".", markersize=3)
    once = sum(1 for count in frequencies if count == 1)
    zipf.set(title=f"Token frequency by rank ({once} of {len(frequencies)} seen once)",
             xlabel="rank (1 = most frequent)", ylabel="times seen in training")
    zipf.grid(alpha=0.3)
    values = [str(value) for value, _, _ in rows]
    trade.bar(values, [entries for _, entries, _ in rows], color="tab:blue", alpha=0.7)
    trade.set(title="min_freq: vocabulary size vs <unk> in test",
              xlabel="min_freq", ylabel="vocabulary entries")
    unknown = trade.twinx()
    unknown.plot(values, [100 * share for _, _, share in rows], "o-", color="tab:red")
    unknown.set_ylabel("test tokens that are <unk> (%)", color="tab:red")
    return save_figure(fig, path)


def unknown_share(encoder: TextEncoder, texts: Sequence[str]) -> float:
    ids = [i for text in texts for i in encoder.encode(text).word_ids]
    return ids.count(UNK_ID) / max(len(ids), 1)


# %% 4. Encode and decode
def expected_decoding(encoder: TextEncoder, text: str) -> str:
    """What decode(encode(text)) must give: the tokens, unknown ones as <unk>, truncated."""
    tokens = encoder.tokens(text)[: encoder.spec.max_words]
    return " ".join(t if t in encoder.word_to_id else UNK for t in tokens)


def show_encoding(summary: LessonSummary, encoder: TextEncoder, texts: Sequence[str],
                  test_texts: Sequence[str]) -> None:
    print("\n4. Encode (tokens → ids) and decode (ids → tokens)")
    for text in texts:
        ids = encoder.encode(text).word_ids
        print(f"   {text!r}\n     ids     {ids}\n     decoded {encoder.decode(ids)!r}")
    summary.check(
        f"decode(encode(text)) gives the tokens back, unseen words as {UNK}, "
        f"for all {len(test_texts)} test messages",
        all(encoder.decode(encoder.encode(t).word_ids) == expected_decoding(encoder, t)
            for t in test_texts),
    )
    unseen = encoder.encode(f"{UNSEEN_WORD} прівет").word_ids
    print(f"   unseen words {UNSEEN_WORD!r} and 'прівет' (Ukrainian і) → {unseen}")
    summary.check(f"words the vocabulary lacks map to {UNK} (id {UNK_ID})",
                  unseen == [UNK_ID, UNK_ID])
    empty = [encoder.encode(text).word_ids for text in ("", "   \t\n ")]
    print(f"   empty and whitespace-only strings → {empty}")
    summary.check("empty and whitespace-only strings give no ids", empty == [[], []])


# %% 6. Padding and batching
def show_batch(summary: LessonSummary, encoder: TextEncoder, texts: Sequence[str]) -> None:
    words, _ = encoder.encode_batch(texts)
    lengths = np.array([len(encoder.encode(text).word_ids) for text in texts])
    mask = words != PAD_ID
    print(f"\n6. Padding: {len(texts)} messages of {lengths.tolist()} ids → one "
          f"{words.shape[0]}×{words.shape[1]} int64 matrix, {PAD} ({PAD_ID}) on the right")
    width = max(len(str(row.tolist())) for row in words)
    for row, row_mask in zip(words, mask, strict=True):
        print(f"   {row.tolist()!s:<{width}}  mask {row_mask.astype(int).tolist()}")
    print("   The mask says which positions are real: pooling averages over them only, so "
          "padding\n   never changes a prediction. torch.from_numpy(matrix) hands it to a model.")
    rows_ok = all(mask[i, :n].all() and not words[i, n:].any() for i, n in enumerate(lengths))
    summary.check("each padded row holds its ids, then only padding; mask sums are the lengths",
                  rows_ok and (mask.sum(axis=1) == lengths).all())
    short = TextEncoder(replace(encoder.spec, max_words=5))
    cut = short.encode(texts[0]).word_ids
    print(f"   truncation (max_words 5): the first 5 ids are kept: {cut}")
    summary.check("truncation keeps the first max_words ids",
                  cut == encoder.encode(texts[0]).word_ids[:5])


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    dataset = load_sms(args.data)
    split = split_sms(dataset.frame, args.seed)
    train_texts, test_texts = list(split.train_full["text"]), list(split.test["text"])
    print(f"vocabulary from the {len(train_texts)} training messages, tried on the "
          f"{len(test_texts)} test messages ({split.duplicates_dropped} duplicates dropped)\n")
    summary = LessonSummary(STAGE, LESSON, "tour", dataset=dataset.name)
    examples = [*EXAMPLES, *([args.text] if args.text else [])]

    tokenizer = TextEncoder(TextSpec())  # normalisation and tokens need no vocabulary
    show_normalisation(summary, tokenizer)
    show_tokens(tokenizer, examples)
    spec, rows = show_vocabulary(train_texts, test_texts, args.min_freq)
    encoder = TextEncoder(spec)
    show_encoding(summary, encoder, examples, test_texts)
    train_tokens = [t for text in train_texts for t in encoder.tokens(text)]
    test_tokens = [t for text in test_texts for t in encoder.tokens(text)]
    plot = plot_vocabulary(Counter(train_tokens), rows,
                           runs_dir(STAGE, LESSON, args.out) / "vocabulary.png")
    summary.outputs.append(str(plot))
    merges = min(args.bpe_merges, QUICK_BPE_MERGES) if args.quick else args.bpe_merges
    bpe = show_subwords(summary, train_tokens, test_tokens, set(spec.vocabulary), merges)
    show_batch(summary, encoder, examples)
    unknown = next(share for value, _, share in rows if value == args.min_freq)
    summary.metrics.update({"vocab_size": spec.vocab_size, "test_unknown_share": unknown,
                            "train_tokens": len(train_tokens), **bpe})
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
