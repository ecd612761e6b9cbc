"""Word2vec: skip-gram with negative sampling, written in PyTorch and trained on SMS text.

The idea: a word is known by the company it keeps. Skip-gram turns running text into a
classification task that needs no labels: for every word (the *center*) and a word near it (a
*context*), tell the real pair from pairs made with random *negative* words. Solving that task
well forces words used in similar places to get similar vectors.

The pieces, each a few lines below:
  two ``nn.Embedding`` tables (center vectors, the ones we keep, and context vectors);
  the score of a pair = the dot product of the two vectors; the loss = logistic loss of "real
  pair" (label 1) vs each of K "noise pairs" (label 0): -log σ(s₊) - Σ log σ(-s₋);
  negatives drawn from the unigram distribution raised to the power 0.75 (rare words a bit more
  often than their frequency); frequent words ("the", "и") randomly dropped (subsampling), so they
  do not dominate; each center looks at a random window of 1..``--window`` words on each side.

Run: ``python -m stage3_text.word2vec [--data PATH] [--epochs N] [--quick]``
(the SMS Spam Collection shipped with the course by default; ``--data data/sms_messages.tsv``
for the short English/Russian set).
"""

# %%
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from common.bundle.textprep import PAD_ID, UNK_ID, TextEncoder, build_spec
from common.devices import pick_device
from common.errors import UsageError
from common.lesson import lesson_main, lesson_parser, positive_float, positive_int
from common.paths import runs_dir
from common.plots import plot_loss_curves, save_figure
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import EpochRecord, History, TensorBatches, fit, log_epoch
from stage3_text.sms_data import POSITIVE_LABEL, load_sms

STAGE, LESSON = "stage3_text", "word2vec"
FIRST_WORD_ID = UNK_ID + 1  # <pad> and <unk> never enter a skip-gram pair
NOISE_POWER = 0.75
# A model that knows nothing scores every pair 0, so its loss is (1 + K)·ln 2 (4.16 for K = 5).
# The bar: the training loss of the last epoch falls to this share of that starting loss.
LOSS_THRESHOLD_SHARE = 0.6
QUICK_LOSS_THRESHOLD_SHARE = 0.65
QUICK_EPOCHS = 5
QUICK_MESSAGES = 2000  # --quick trains on the first this many unique messages
# Neighbours should share a word's leaning (mostly-spam or mostly-ham words) clearly more often
# than neighbours picked at random would.
AGREEMENT_MARGIN = 0.1
AGREEMENT_MIN_COUNT, NEIGHBOURS = 5, 5
PROBE_WORDS = ("free", "prize", "call", "txt", "love", "tomorrow",
               "бесплатно", "приз", "завтра", "мама")


@dataclass(frozen=True)
class SkipGramConfig:
    """The knobs of skip-gram with negative sampling (defaults suit a few thousand SMS)."""

    dim: int = 50  # numbers per word vector
    window: int = 3  # context words on each side, at most
    negatives: int = 5  # noise words per real pair
    subsample: float = 1e-3  # words more frequent than this are randomly dropped
    epochs: int = 10
    batch_size: int = 128  # small batches: many steps even on a few hundred messages
    lr: float = 0.01  # Adam


# %% Counting: how often each word occurs, and the two distributions built from it
def concatenated(sequences: Sequence[Sequence[int]]) -> torch.Tensor:
    """The ids of all sequences laid end to end."""
    return torch.cat([torch.as_tensor(s, dtype=torch.long) for s in sequences])


def word_counts(sequences: Sequence[Sequence[int]], vocab_size: int) -> torch.Tensor:
    counts = torch.bincount(concatenated(sequences), minlength=vocab_size).float()
    counts[:FIRST_WORD_ID] = 0  # <pad> and <unk> are not words to learn
    return counts


def noise_distribution(counts: torch.Tensor) -> torch.Tensor:
    """Unigram frequencies to the power 0.75: flatter than the raw counts, so rare words get
    drawn as negatives a little more often than their share of the text."""
    weights = counts.pow(NOISE_POWER)
    return weights / weights.sum()


def keep_probabilities(counts: torch.Tensor, threshold: float) -> torch.Tensor:
    """Chance to keep each occurrence of a word: √(t/f) + t/f, capped at 1 (word2vec's formula).

    A word with frequency f well above t is mostly dropped: "the" stops crowding every window.
    """
    frequency = counts / counts.sum()
    ratio = threshold / frequency.clamp_min(1e-12)
    return (ratio.sqrt() + ratio).clamp(max=1.0)


# %% Pairs: every (center, context) inside a window, after subsampling
def skipgram_pairs(
    sequences: Sequence[Sequence[int]], keep: torch.Tensor, window: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All (center, context) id pairs of one pass over the text.

    Subsampling and the per-center window size are drawn afresh on every call (every epoch), as
    in the original word2vec. Works on the whole corpus at once: the tokens of all messages laid
    end to end, with the message number of each token so that windows never cross messages.
    """
    tokens = concatenated(sequences)
    message = torch.cat([torch.full((len(s),), i) for i, s in enumerate(sequences)])
    kept = (tokens >= FIRST_WORD_ID) & (torch.rand(len(tokens), generator=generator)
                                        < keep[tokens])
    tokens, message = tokens[kept], message[kept]
    reach = torch.randint(1, window + 1, (len(tokens),), generator=generator)
    centers, contexts = [], []
    for offset in range(1, window + 1):
        same_message = message[:-offset] == message[offset:]
        right = same_message & (reach[:-offset] >= offset)  # center i, context i + offset
        left = same_message & (reach[offset:] >= offset)  # center i + offset, context i
        centers += [tokens[:-offset][right], tokens[offset:][left]]
        contexts += [tokens[offset:][right], tokens[:-offset][left]]
    return torch.cat(centers), torch.cat(contexts)


class SkipGramBatches:
    """Batches of (center, context, negatives, labels) for :func:`common.training.fit`.

    Each pass is one epoch: fresh pairs (subsampling, windows), shuffled and cut by
    :class:`TensorBatches`, and ``negatives`` fresh noise words per pair. The labels say which
    score belongs to the real pair: 1 for column 0, 0 for the K noise columns.
    """

    def __init__(self, sequences: Sequence[Sequence[int]], counts: torch.Tensor,
                 config: SkipGramConfig, generator: torch.Generator) -> None:
        self.sequences = sequences
        self.keep = keep_probabilities(counts, config.subsample)
        self.noise = noise_distribution(counts)
        self.config = config
        self.generator = generator
        self.pairs_last_epoch = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        center, context = skipgram_pairs(self.sequences, self.keep, self.config.window,
                                         self.generator)
        self.pairs_last_epoch = len(center)
        k = self.config.negatives
        for center_batch, context_batch in TensorBatches(
            center, context, batch_size=self.config.batch_size, shuffle=True,
            generator=self.generator,
        ):
            n = len(center_batch)
            negatives = torch.multinomial(self.noise, n * k, replacement=True,
                                          generator=self.generator).view(n, k)
            labels = torch.zeros(n, 1 + k)
            labels[:, 0] = 1.0
            yield center_batch, context_batch, negatives, labels


# %% The model and its loss
class SkipGram(nn.Module):
    """Two embedding tables; the score of (center, word) is the dot product of their vectors."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.center = nn.Embedding(vocab_size, dim)  # the word vectors we keep
        self.context = nn.Embedding(vocab_size, dim)  # a word's vector as somebody's neighbour
        # word2vec's start: small random center vectors, zero context vectors (every score 0).
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, center: torch.Tensor, context: torch.Tensor,
                negatives: torch.Tensor) -> torch.Tensor:
        """Scores (B × (1+K)): column 0 for the real pair, then one per negative."""
        c = self.center(center)  # B × D
        candidates = torch.cat([context.unsqueeze(1), negatives], dim=1)  # B × (1+K)
        return torch.einsum("bd,bkd->bk", c, self.context(candidates))


def negative_sampling_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-log σ(s₊) - Σₖ log σ(-sₖ), averaged over pairs: logistic regression, real vs noise."""
    return F.binary_cross_entropy_with_logits(scores, labels, reduction="none").sum(1).mean()


def train_skipgram(
    sequences: Sequence[Sequence[int]], vocab_size: int, config: SkipGramConfig, *,
    generator: torch.Generator, device: torch.device, progress: bool = True,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> tuple[SkipGram, History, SkipGramBatches]:
    """Train skip-gram on id sequences through the course's one loop, :func:`fit`."""
    counts = word_counts(sequences, vocab_size)
    batches = SkipGramBatches(sequences, counts, config, generator)
    model = SkipGram(vocab_size, config.dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = fit(model, negative_sampling_loss, optimizer, batches, epochs=config.epochs,
                  device=device, progress=progress, desc=LESSON, on_epoch=on_epoch)
    return model, history, batches


def train_word_vectors(
    sequences: Sequence[Sequence[int]], vocab_size: int, config: SkipGramConfig | None = None,
    *, seed: int = 0, device: torch.device | str = "cpu", progress: bool = False,
) -> torch.Tensor:
    """Word vectors (``vocab_size × dim``, on the CPU) for the ids of an existing vocabulary.

    For initialising another model's ``nn.Embedding`` (e.g. the spam classifier's): row ``i`` is
    the vector of id ``i``. The ``<pad>`` row is zero; ``<unk>`` and words that never occur keep
    their tiny random start.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model, _, _ = train_skipgram(sequences, vocab_size, config or SkipGramConfig(),
                                 generator=generator, device=torch.device(device),
                                 progress=progress)
    vectors = model.center.weight.detach().cpu().clone()
    vectors[PAD_ID] = 0.0
    return vectors


# %% What the vectors learned
def unit_vectors(vectors: torch.Tensor) -> torch.Tensor:
    """Rows scaled to length 1: their dot products are then cosine similarities."""
    return F.normalize(vectors.detach().cpu(), dim=1)


def nearest(unit: torch.Tensor, word_id: int, k: int, allowed: torch.Tensor | None = None
            ) -> list[tuple[int, float]]:
    """The ``k`` words most cosine-similar to ``word_id``, among the ``allowed`` ones if given
    (the word itself and the special ids are always left out)."""
    similarity = unit @ unit[word_id]
    if allowed is not None:
        similarity[~allowed] = -math.inf
    similarity[:FIRST_WORD_ID] = -math.inf
    similarity[word_id] = -math.inf
    best = similarity.topk(min(k, int(torch.isfinite(similarity).sum())))
    return list(zip(best.indices.tolist(), best.values.tolist(), strict=True))


def spam_share(sequences: Sequence[Sequence[int]], is_spam: Sequence[bool],
               counts: torch.Tensor) -> torch.Tensor:
    """For each word, the share of its occurrences that are in spam messages."""
    spam = [sequence for sequence, spam in zip(sequences, is_spam, strict=True) if spam]
    in_spam = torch.bincount(concatenated([[], *spam]), minlength=len(counts)).float()
    return in_spam / counts.clamp_min(1)


def neighbour_agreement(unit: torch.Tensor, counts: torch.Tensor, share: torch.Tensor
                        ) -> tuple[float, float, int]:
    """How often a word's nearest neighbours lean the same way (spam or ham) as the word.

    Word2vec never sees a label, so agreement above chance means it found the topics of spam on
    its own. Returns (agreement, the agreement of randomly picked neighbours, words compared).
    """
    words = torch.nonzero(counts >= AGREEMENT_MIN_COUNT).flatten()
    if len(words) <= NEIGHBOURS:
        raise UsageError(f"too little text: only {len(words)} words occur at least "
                         f"{AGREEMENT_MIN_COUNT} times")
    spammy = share[words] > 0.5
    similarity = unit[words] @ unit[words].T
    similarity.fill_diagonal_(-math.inf)
    neighbours = similarity.topk(NEIGHBOURS, dim=1).indices
    agreement = (spammy[neighbours] == spammy.unsqueeze(1)).float().mean().item()
    p = spammy.float().mean().item()
    return agreement, p * p + (1 - p) * (1 - p), len(words)


def plot_projection(unit: torch.Tensor, vocabulary: Sequence[str], counts: torch.Tensor,
                    share: torch.Tensor, top: int, seed: int, path: Path) -> Path:
    """The ``top`` most frequent words projected to 2-D by PCA, coloured by their spam share."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    words = counts.argsort(descending=True)[:top]
    points = PCA(n_components=2, random_state=seed).fit_transform(unit[words].numpy())
    fig, ax = plt.subplots(figsize=(9, 7))
    dots = ax.scatter(points[:, 0], points[:, 1], c=share[words].numpy(), cmap="coolwarm",
                      vmin=0, vmax=1, s=18)
    for (x, y), word in zip(points, words.tolist(), strict=True):
        ax.annotate(vocabulary[word], (x, y), fontsize=8, xytext=(2, 2),
                    textcoords="offset points")
    fig.colorbar(dots, ax=ax, label="share of the word's uses that are in spam")
    ax.set(title=f"Word vectors of the {len(words)} most frequent words (PCA to 2-D)",
           xlabel="first principal component", ylabel="second principal component")
    return save_figure(fig, path)


# %%
def build_parser() -> argparse.ArgumentParser:
    defaults = SkipGramConfig()
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=defaults.epochs)
    parser.add_argument("--data", default=None,
                        help="an SMS file (label<TAB>text lines, .gz allowed); default: the SMS "
                             "Spam Collection shipped in data/")
    parser.add_argument("--dim", type=positive_int, default=defaults.dim,
                        help="numbers per word vector")
    parser.add_argument("--window", type=positive_int, default=defaults.window,
                        help="context words on each side, at most")
    parser.add_argument("--negatives", type=positive_int, default=defaults.negatives,
                        help="noise words per real pair (K)")
    parser.add_argument("--subsample", type=positive_float, default=defaults.subsample,
                        help="frequency above which words are randomly dropped")
    parser.add_argument("--min-count", type=positive_int, default=2,
                        help="words seen fewer times become <unk> and are skipped")
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                        help="pairs per step")
    parser.add_argument("--lr", type=positive_float, default=defaults.lr,
                        help="learning rate of Adam")
    parser.add_argument("--words", default=",".join(PROBE_WORDS),
                        help="comma-separated words whose nearest neighbours are shown")
    parser.add_argument("--plot-words", type=positive_int, default=80,
                        help="most frequent words shown in the 2-D projection")
    return parser


def loss_threshold(negatives: int, quick: bool) -> float:
    share = QUICK_LOSS_THRESHOLD_SHARE if quick else LOSS_THRESHOLD_SHARE
    return share * (1 + negatives) * math.log(2)


def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    device = pick_device(args.device)
    dataset = load_sms(args.data)
    unique = dataset.frame.drop_duplicates("text", keep="first")
    print(f"dropped {len(dataset.frame) - len(unique)} exact duplicate messages "
          f"(repeats would count their pairs twice); {len(unique)} left")
    if args.quick and len(unique) > QUICK_MESSAGES:
        unique = unique.iloc[:QUICK_MESSAGES]
        print(f"--quick: the first {QUICK_MESSAGES} of them")

    # Text → ids with the course's one preprocessing (common.bundle.textprep); no labels here.
    spec = build_spec(unique["text"], min_freq=args.min_count)
    encoder = TextEncoder(spec)
    sequences = [encoder.encode(text).word_ids for text in unique["text"]]
    tokens = sum(len(s) for s in sequences)
    unknown = sum(s.count(UNK_ID) for s in sequences)
    print(f"vocabulary: {spec.vocab_size} entries (words seen >= {args.min_count} times); "
          f"{tokens} tokens, {unknown} of them <unk> ({unknown / max(tokens, 1):.1%}, skipped)")
    if not any(sum(i >= FIRST_WORD_ID for i in s) >= 2 for s in sequences):
        raise UsageError("no skip-gram pairs: no message has two words seen "
                         f">= {args.min_count} times")

    config = SkipGramConfig(
        dim=args.dim, window=args.window, negatives=args.negatives, subsample=args.subsample,
        epochs=min(args.epochs, QUICK_EPOCHS) if args.quick else args.epochs,
        batch_size=args.batch_size, lr=args.lr,
    )
    start_loss = (1 + config.negatives) * math.log(2)
    print(f"a model that knows nothing scores every pair 0: loss (1 + {config.negatives})·ln 2 = "
          f"{start_loss:.3f}")
    model, history, batches = train_skipgram(sequences, spec.vocab_size, config,
                                             generator=generator, device=device,
                                             on_epoch=log_epoch)
    print(f"{batches.pairs_last_epoch} (center, context) pairs in the last epoch")

    unit = unit_vectors(model.center.weight)
    vocabulary = spec.vocabulary
    counts = word_counts(sequences, spec.vocab_size)
    frequent = counts >= AGREEMENT_MIN_COUNT
    print(f"\nnearest neighbours (cosine similarity of the {config.dim}-number vectors), among "
          f"the {int(frequent.sum())} words seen >= {AGREEMENT_MIN_COUNT} times (rarer words "
          "have noisy vectors):")
    probes = [word.strip() for word in args.words.split(",") if word.strip()]
    for word in probes:
        tokens_of_word = encoder.tokens(word)
        word_id = encoder.word_to_id.get(tokens_of_word[0]) if len(tokens_of_word) == 1 else None
        if word_id is None or word_id < FIRST_WORD_ID:
            print(f"  {word:<12} not in the vocabulary of this dataset")
            continue
        shown = ", ".join(f"{vocabulary[i]} {s:.2f}"
                          for i, s in nearest(unit, word_id, NEIGHBOURS, frequent))
        print(f"  {word:<12} {shown}")

    is_spam = (unique["label"] == POSITIVE_LABEL).tolist()
    share = spam_share(sequences, is_spam, counts)
    agreement, chance, compared = neighbour_agreement(unit, counts, share)
    print(f"\nthe {NEIGHBOURS} nearest neighbours of {compared} words (each seen >= "
          f"{AGREEMENT_MIN_COUNT} times) share the word's spam/ham leaning {agreement:.1%} of "
          f"the time; random neighbours would {chance:.1%} (word2vec never saw a label)")

    out = runs_dir(STAGE, LESSON, args.out)
    threshold = loss_threshold(config.negatives, args.quick)
    outputs = [
        plot_loss_curves({"train (mean over epoch)": history.train_losses},
                         out / "loss_curve.png", title="Skip-gram negative-sampling loss",
                         threshold=threshold),
        plot_projection(unit, vocabulary, counts, share, args.plot_words, args.seed,
                        out / "projection.png"),
    ]
    summary = LessonSummary(
        STAGE, LESSON, "train", dataset=dataset.name,
        final_loss=history.final_train_loss, loss_threshold=threshold,
        # no held-out pairs yet: the loss figure is the last epoch's training loss, and says so
        extras={"final_loss_split": "train"},
        metrics={"neighbour_agreement": agreement, "chance_agreement": chance,
                 "vocab_size": spec.vocab_size, "tokens": tokens,
                 "pairs_per_epoch": batches.pairs_last_epoch, "start_loss": start_loss},
        outputs=[str(path) for path in outputs],
    )
    summary.check(f"neighbours agree on spam/ham leaning >= chance + {AGREEMENT_MARGIN}",
                  agreement >= chance + AGREEMENT_MARGIN)
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
