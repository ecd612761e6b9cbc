"""One-hot vectors vs dense embeddings: what a word id becomes before a network can use it.

A network multiplies numbers, so every token id must become a vector. Three ideas, each shown
with numbers and checked:
  1. memory: a one-hot vector holds one number per vocabulary word (tens of thousands, all but one
     of them zero); a dense embedding holds ``--dim`` numbers, all of them used;
  2. geometry: every two one-hot vectors are equally far apart (distance √2, cosine 0), so one-hot
     says nothing about which words are alike; dense vectors can put "free" next to "prize" (and
     next to "бесплатно");
  3. ``nn.Embedding(ids)`` is exactly ``one_hot(ids) @ W``: a matrix product that skips the zeros,
     and whose gradient reaches only the rows that were looked up.

Run: ``python -m stage3_text.embeddings [--vocab-size N] [--dim D] [--quick]``
"""

# %%
from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from common.bundle.textprep import PAD_ID, UNK_ID
from common.lesson import lesson_main, lesson_parser, positive_int
from common.paths import runs_dir
from common.plots import save_figure
from common.seed import seed_everything
from common.summary import LessonSummary

STAGE, LESSON = "stage3_text", "embeddings"
FIRST_WORD_ID = UNK_ID + 1  # ids 0 and 1 are <pad> and <unk>, as in every vocabulary here
FLOAT_BYTES = torch.finfo(torch.float32).bits // 8
# Dense vectors written by hand, one made-up meaning per axis, to show what a dense space CAN
# express. Nobody writes them by hand in practice: the next lesson (word2vec) learns them from text.
AXES = ("money/offer", "family/home", "time")
TOY_VECTORS: dict[str, tuple[float, float, float]] = {
    "free": (0.9, 0.0, 0.2),
    "prize": (1.0, 0.1, 0.0),
    "бесплатно": (0.9, 0.1, 0.1),
    "приз": (1.0, 0.0, 0.1),
    "mum": (0.0, 1.0, 0.1),
    "мама": (0.1, 0.9, 0.1),
    "home": (0.1, 0.8, 0.3),
    "tonight": (0.1, 0.3, 1.0),
    "сегодня": (0.0, 0.2, 0.9),
}


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    parser.add_argument("--vocab-size", type=positive_int, default=50_000,
                        help="words in the vocabulary (a realistic size for a word-level model)")
    parser.add_argument("--dim", type=positive_int, default=100,
                        help="numbers per dense embedding vector")
    parser.add_argument("--tokens", type=positive_int, default=50,
                        help="tokens per message in the memory and speed comparison")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="messages per batch in the memory comparison")
    return parser


# %% 1. Memory: one number per vocabulary word, or --dim numbers
def memory_table(vocab_size: int, dim: int, tokens: int, batch_size: int) -> dict[str, float]:
    """Bytes of one token, one message and one batch in each form.

    One message is measured on real tensors; a batch is ``batch_size`` such messages.
    """
    message = torch.randint(FIRST_WORD_ID, vocab_size, (tokens,))
    one_hot = F.one_hot(message, vocab_size).float()  # tokens × vocab_size
    dense = nn.Embedding(vocab_size, dim)(message)  # tokens × dim
    per_message = {"ids": message.nbytes, "one-hot": one_hot.nbytes, "dense": dense.nbytes}
    per_token = {name: size / tokens for name, size in per_message.items()}
    print(f"1. Memory (vocabulary {vocab_size:,} words, {dim}-number vectors, float32)")
    print(f"   {'form':<9}{'one token':>14}{'one message':>16}{'a batch':>16}")
    print(f"   {'':<9}{'':>14}{f'({tokens} tokens)':>16}{f'({batch_size} messages)':>16}")
    for name, size in per_message.items():
        print(f"   {name:<9}{_bytes(per_token[name]):>14}{_bytes(size):>16}"
              f"{_bytes(size * batch_size):>16}")
    table = vocab_size * dim * FLOAT_BYTES
    print(f"   The weight matrix W ({vocab_size:,} × {dim}) takes {_bytes(table)} either way: a "
          "Linear layer on one-hot input has exactly the same weights as an embedding table.\n"
          "   What differs is the input: the one-hot batch is "
          f"{per_message['one-hot'] / per_message['dense']:.0f}× the dense one, almost all zeros.")
    return {
        "onehot_to_dense_ratio": per_message["one-hot"] / per_message["dense"],
        "onehot_bytes_per_token": per_token["one-hot"],
        "dense_bytes_per_token": per_token["dense"],
        "onehot_batch_megabytes": per_message["one-hot"] * batch_size / 1e6,
        "dense_batch_megabytes": per_message["dense"] * batch_size / 1e6,
        "table_megabytes": table / 1e6,
    }


def _bytes(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


# %% 2. Geometry: one-hot vectors are all equally far apart
def pairwise(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance and cosine similarity between every two rows."""
    distance = torch.cdist(vectors, vectors)
    unit = F.normalize(vectors, dim=1)
    return distance, unit @ unit.T


def print_matrix(title: str, words: Sequence[str], matrix: torch.Tensor) -> None:
    width = max(len(word) for word in words) + 1
    print(f"   {title}")
    print("   " + " " * width + "".join(f"{word[:7]:>8}" for word in words))
    for word, row in zip(words, matrix.tolist(), strict=True):
        print(f"   {word:<{width}}" + "".join(f"{value:>8.2f}" for value in row))


def geometry(summary: LessonSummary, vocab_size: int) -> dict[str, torch.Tensor]:
    words = list(TOY_VECTORS)
    ids = torch.arange(FIRST_WORD_ID, FIRST_WORD_ID + len(words))
    one_hot = F.one_hot(ids, vocab_size).float()
    dense = torch.tensor(list(TOY_VECTORS.values()))
    onehot_distance, onehot_cosine = pairwise(one_hot)
    _, dense_cosine = pairwise(dense)

    print(f"\n2. Geometry of {len(words)} words")
    print_matrix(f"one-hot ({vocab_size:,} numbers each): Euclidean distance", words,
                 onehot_distance)
    print_matrix("one-hot: cosine similarity", words, onehot_cosine)
    print(f"   dense, written by hand on {len(AXES)} axes {AXES}:")
    print_matrix("dense: cosine similarity", words, dense_cosine)

    off_diagonal = ~torch.eye(len(words), dtype=torch.bool)
    summary.check(
        "every two different one-hot vectors are √2 apart with cosine 0",
        torch.allclose(onehot_distance[off_diagonal], torch.tensor(math.sqrt(2)))
        and bool((onehot_cosine[off_diagonal] == 0).all()),
    )
    index = {word: i for i, word in enumerate(words)}

    def cos(matrix: torch.Tensor, a: str, b: str) -> float:
        return matrix[index[a], index[b]].item()

    print(f"   one-hot: cos(free, prize) = {cos(onehot_cosine, 'free', 'prize'):.2f} = "
          f"cos(free, mum) = {cos(onehot_cosine, 'free', 'mum'):.2f}; "
          f"dense: {cos(dense_cosine, 'free', 'prize'):.2f} vs "
          f"{cos(dense_cosine, 'free', 'mum'):.2f}, and cos(free, бесплатно) = "
          f"{cos(dense_cosine, 'free', 'бесплатно'):.2f}")
    summary.check(
        "dense vectors can say 'free' is closer to 'prize' and 'бесплатно' than to 'mum'",
        cos(dense_cosine, "free", "prize") > cos(dense_cosine, "free", "mum")
        and cos(dense_cosine, "free", "бесплатно") > cos(dense_cosine, "free", "mum"),
    )
    return {"one-hot": onehot_cosine, "dense (hand-made)": dense_cosine}


def plot_similarities(words: Sequence[str], matrices: dict[str, torch.Tensor], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(5.2 * len(matrices), 4.6))
    for ax, (name, matrix) in zip(axes, matrices.items(), strict=True):
        image = ax.imshow(matrix.numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(words)), words, rotation=60, ha="right")
        ax.set_yticks(range(len(words)), words)
        ax.set_title(f"cosine similarity: {name}")
    fig.colorbar(image, ax=axes[-1], fraction=0.046, pad=0.04)
    fig.suptitle("One-hot: every word alone.  Dense: similar words close.")
    return save_figure(fig, path)


# %% 3. nn.Embedding is one_hot(ids) @ W, without the zeros
def lookup_equals_product(summary: LessonSummary, vocab_size: int, dim: int, tokens: int,
                          generator: torch.Generator) -> None:
    embedding = nn.Embedding(vocab_size, dim)
    ids = torch.randint(FIRST_WORD_ID, vocab_size, (tokens,), generator=generator)
    looked_up = embedding(ids)
    product = F.one_hot(ids, vocab_size).float() @ embedding.weight
    difference = (looked_up - product).abs().max().item()
    print(f"\n3. nn.Embedding({vocab_size:,}, {dim}) on {tokens} ids vs one_hot(ids) @ W: "
          f"largest difference {difference:g}")
    summary.check("nn.Embedding(ids) equals one_hot(ids) @ W exactly",
                  torch.equal(looked_up, product))

    # Backward: the same gradient both ways, and only the looked-up rows receive any.
    upstream = torch.randn(tokens, dim, generator=generator)
    (lookup_grad,) = torch.autograd.grad((looked_up * upstream).sum(), embedding.weight)
    (product_grad,) = torch.autograd.grad((product * upstream).sum(), embedding.weight)
    rows_touched = int((lookup_grad.abs().sum(dim=1) > 0).sum())
    distinct = int(ids.unique().numel())
    print(f"   gradient of W: the same both ways; {rows_touched} of {vocab_size:,} rows are "
          f"non-zero, one per distinct id ({distinct}) — a step moves only the words it saw")
    summary.check("the gradient of W is the same both ways and touches only the looked-up rows",
                  torch.allclose(lookup_grad, product_grad) and rows_touched == distinct)

    # padding_idx: the row of <pad> is all zeros and never learns, so padding adds nothing.
    padded = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
    batch = torch.tensor([[5, 9, PAD_ID, PAD_ID], [7, 3, 8, 2]])
    (pad_grad,) = torch.autograd.grad(padded(batch).sum(), padded.weight)
    print(f"   with padding_idx={PAD_ID}: the <pad> row is {padded.weight[PAD_ID, :3].tolist()}... "
          f"and its gradient is {pad_grad[PAD_ID].abs().sum().item():g}")
    summary.check("the <pad> row (padding_idx) is zero and gets no gradient",
                  not padded.weight[PAD_ID].any() and not pad_grad[PAD_ID].any())


def time_per_call(function: Callable[[], torch.Tensor], repeats: int) -> float:
    function()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats


def speed(vocab_size: int, dim: int, tokens: int, repeats: int) -> dict[str, float]:
    """The product does vocab_size multiply-adds per number; the lookup copies one row."""
    embedding = nn.Embedding(vocab_size, dim).requires_grad_(False)
    ids = torch.randint(FIRST_WORD_ID, vocab_size, (tokens,))
    product = time_per_call(lambda: F.one_hot(ids, vocab_size).float() @ embedding.weight,
                            repeats)
    lookup = time_per_call(lambda: embedding(ids), repeats)
    print(f"   one message of {tokens} tokens: one_hot @ W {product * 1e3:.2f} ms, "
          f"lookup {lookup * 1e3:.3f} ms ({product / lookup:.0f}× faster; timings vary)")
    return {"onehot_matmul_ms": product * 1e3, "lookup_ms": lookup * 1e3}


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    summary = LessonSummary(STAGE, LESSON, "tour", dataset="toy-words")
    summary.metrics.update(memory_table(args.vocab_size, args.dim, args.tokens, args.batch_size))
    similarities = geometry(summary, args.vocab_size)
    lookup_equals_product(summary, args.vocab_size, args.dim, args.tokens, generator)
    summary.metrics.update(speed(args.vocab_size, args.dim, args.tokens,
                                 repeats=3 if args.quick else 20))
    out = runs_dir(STAGE, LESSON, args.out)
    path = plot_similarities(list(TOY_VECTORS), similarities, out / "similarity.png")
    summary.outputs.append(str(path))
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
