"""Checks for exercise 3.1: special ids, frequency cut-off and order, encode/decode round trips."""

from __future__ import annotations

from types import ModuleType

from common.checks import check, expect

CORPUS = [["free", "prize", "call", "now"], ["call", "me", "now"], ["free", "call"],
          ["see", "you", "now"], ["b", "a", "b", "a"]]
# counts: call 3, now 3, free 2, a 2, b 2; prize, me, see, you once


@check("<pad> is 0, <unk> is 1, and only tokens seen min_freq times get an id",
       hint="start from {'<pad>': 0, '<unk>': 1} and keep tokens whose count >= min_freq")
def special_ids_and_cut_off(learner: ModuleType) -> None:
    vocab = learner.build_vocab(CORPUS, 2)
    expect(vocab.get("<pad>") == 0 and vocab.get("<unk>") == 1,
           expected="'<pad>' → 0 and '<unk>' → 1",
           seen=f"'<pad>' → {vocab.get('<pad>')}, '<unk>' → {vocab.get('<unk>')}")
    words = set(vocab) - {"<pad>", "<unk>"}
    expect(words == {"call", "now", "free", "a", "b"},
           expected="ids for call, now, free, a, b (each seen twice or more)",
           seen=f"ids for {', '.join(sorted(words))}")


@check("ids go to the most frequent tokens first, ties alphabetically",
       hint="sort by (-count, token): Counter.most_common alone leaves ties in the order seen")
def frequency_order(learner: ModuleType) -> None:
    vocab = learner.build_vocab(CORPUS, 2)
    order = sorted((token for token in vocab if token not in ("<pad>", "<unk>")), key=vocab.get)
    expect(order == ["call", "now", "a", "b", "free"] and sorted(vocab.values()) == list(
        range(len(vocab))), expected="call 2, now 3, a 4, b 5, free 6 (ids 0..6, no gaps)",
        seen=", ".join(f"{token} {vocab[token]}" for token in order))


@check("encode gives exactly `length` ids; unknown tokens get <unk>'s id 1",
       hint="unknown words get <unk>'s id (1), never 0: 0 is padding; cut with [:length] and "
            "pad with 0s up to length")
def encodes(learner: ModuleType) -> None:
    vocab = learner.build_vocab(CORPUS, 2)
    short = learner.encode(["call", "zebra", "now"], vocab, 5)
    expected = [vocab["call"], 1, vocab["now"], 0, 0]
    expect(list(short) == expected, expected=f"{expected} for ['call', 'zebra', 'now'], "
           "length 5", seen=f"{list(short)}")
    long = learner.encode(["free"] * 9, vocab, 4)
    expect(list(long) == [vocab["free"]] * 4, expected=f"{[vocab['free']] * 4} (cut to 4)",
           seen=f"{list(long)}")


@check("decode(encode(tokens)) gives the tokens back, without padding",
       hint="invert the vocabulary ({id: token}) and skip id 0")
def round_trip(learner: ModuleType) -> None:
    vocab = learner.build_vocab(CORPUS, 2)
    tokens = ["free", "a", "zebra", "call"]
    back = learner.decode(learner.encode(tokens, vocab, 7), vocab)
    expected = ["free", "a", "<unk>", "call"]
    expect(list(back) == expected, expected=f"{expected}", seen=f"{list(back)}")
