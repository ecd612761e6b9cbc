"""Stage 3 lessons: tokens, embeddings, word2vec (offline, quick mode, the shipped collection)."""

from __future__ import annotations

import importlib
import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from common.bundle.textprep import PAD_ID, UNK_ID
from common.summary import validate
from stage3_text import tokens, word2vec
from stage3_text.word2vec import (
    QUICK_LOSS_THRESHOLD_SHARE,
    SkipGram,
    SkipGramConfig,
    keep_probabilities,
    negative_sampling_loss,
    noise_distribution,
    skipgram_pairs,
    train_word_vectors,
    word_counts,
)
from tests.conftest import LessonRun, assert_one_line_error, run_lesson

LESSONS = ("stage3_text.tokens", "stage3_text.embeddings", "stage3_text.word2vec")
TOPICS, WORDS_PER_TOPIC = 2, 10


@pytest.mark.parametrize("module", LESSONS)
def test_quick_run_passes_and_reports_valid_json(module, tmp_path, capsys):
    run = run_lesson(module, "--quick", out=tmp_path, capsys=capsys)
    summary = run.summary
    validate(summary)
    assert run.code == 0, summary["failed_checks"]
    assert summary["passed"] and summary["failed_checks"] == []
    if module != "stage3_text.embeddings":
        assert summary["dataset"] == "sms-spam-collection"  # offline: the shipped collection
    for path in summary["outputs"]:
        assert (tmp_path / path.rsplit("/", 1)[-1]).stat().st_size > 0
    if module == "stage3_text.word2vec":
        negatives = SkipGramConfig().negatives
        assert summary["loss_threshold"] == pytest.approx(
            QUICK_LOSS_THRESHOLD_SHARE * (1 + negatives) * math.log(2))
        assert summary["final_loss"] <= summary["loss_threshold"]
        assert summary["metrics"]["neighbour_agreement"] > summary["metrics"]["chance_agreement"]


def run_rejected(module: str, argv: list[str], tmp_path, capsys) -> LessonRun:
    """Run ``main`` in-process; argparse rejects bad flags with SystemExit(2)."""
    lesson = importlib.import_module(module)
    try:
        code = lesson.main([*argv, "--out", str(tmp_path)])
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return LessonRun(code, captured.out, captured.err)


@pytest.mark.parametrize(("module", "argv"), [
    ("stage3_text.tokens", ["--min-freq", "0"]),
    ("stage3_text.tokens", ["--data", "no/such/file.tsv"]),
    ("stage3_text.embeddings", ["--vocab-size", "many"]),
    ("stage3_text.word2vec", ["--epochs", "0"]),
    ("stage3_text.word2vec", ["--subsample", "-1"]),
    ("stage3_text.word2vec", ["--data", "no/such/file.tsv"]),
])
def test_bad_flags_and_missing_data_exit_2_with_one_line(module, argv, tmp_path, capsys):
    assert_one_line_error(run_rejected(module, argv, tmp_path, capsys))


# Embeddings ------------------------------------------------------------------------------------
def test_one_hot_times_weight_equals_the_embedding_lookup():
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(1000, 16)
    ids = torch.randint(0, 1000, (4, 7))
    assert torch.equal(F.one_hot(ids, 1000).float() @ embedding.weight, embedding(ids))


# Tokens: the byte-pair-encoding demonstration ----------------------------------------------------
def test_bpe_learns_frequent_pairs_and_segments_losslessly():
    counts = Counter({"low": 5, "lower": 2, "newest": 6, "widest": 3})
    merges = tokens.learn_bpe(counts, 10)
    assert merges[0] == ("s", "t")  # 9 uses, tied with e+s and broken the same way every run
    assert ("e", "st") in merges  # then the new symbol merges again: "est"
    for word in ("lowest", "newer", "unknown"):
        pieces = tokens.apply_bpe(word, merges)
        assert "".join(pieces) == word
    assert tokens.apply_bpe("lowest", merges) == ["low", "est"]


def test_merge_pair_joins_only_adjacent_occurrences():
    assert tokens.merge_pair(["a", "b", "a", "b", "b"], ("a", "b")) == ["ab", "ab", "b"]
    assert tokens.merge_pair(["b", "a"], ("a", "b")) == ["b", "a"]


# Word2vec mechanics -----------------------------------------------------------------------------
def test_pairs_stay_inside_messages_and_skip_special_ids():
    keep_all = torch.ones(10)
    center, context = skipgram_pairs([[2, 3, UNK_ID, 4], [5, 6]], keep_all, window=1,
                                     generator=torch.Generator().manual_seed(0))
    pairs = set(zip(center.tolist(), context.tolist(), strict=True))
    # <unk> is dropped before windows are taken, so 3 and 4 become neighbours.
    assert pairs == {(2, 3), (3, 2), (3, 4), (4, 3), (5, 6), (6, 5)}


def test_frequent_words_are_subsampled_and_noise_is_flattened():
    counts = word_counts([[2] * 90 + [3] * 9 + [4], [UNK_ID, PAD_ID]], vocab_size=5)
    assert counts.tolist() == [0, 0, 90, 9, 1]
    keep = keep_probabilities(counts, threshold=0.01)
    assert keep[2] < keep[3] <= keep[4] == 1.0
    noise = noise_distribution(counts)
    assert noise.sum().item() == pytest.approx(1.0)
    assert noise[:2].tolist() == [0.0, 0.0]
    assert noise[4] > counts[4] / counts.sum()  # rare words drawn more often than their share


def test_loss_is_the_negative_sampling_formula_and_starts_at_k_plus_1_ln2():
    scores = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 0.1, -2.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0]] * 2)
    by_hand = -(F.logsigmoid(scores[:, 0]) + F.logsigmoid(-scores[:, 1:]).sum(1)).mean()
    assert negative_sampling_loss(scores, labels).item() == pytest.approx(by_hand.item())
    model = SkipGram(vocab_size=20, dim=8)  # context vectors start at zero: every score is 0
    k = 5
    start = model(torch.tensor([2, 3]), torch.tensor([4, 5]), torch.randint(2, 20, (2, k)))
    assert negative_sampling_loss(start, torch.tensor([[1.0] + [0.0] * k] * 2)).item() == (
        pytest.approx((1 + k) * math.log(2)))


def topic_corpus(seed: int = 0) -> list[list[int]]:
    """Sentences whose words all come from one of two topics (ids 2–11 or 12–21)."""
    generator = torch.Generator().manual_seed(seed)
    sentences = []
    for index in range(300):
        first = 2 + (index % TOPICS) * WORDS_PER_TOPIC
        sentences.append((first + torch.randint(0, WORDS_PER_TOPIC, (8,),
                                                generator=generator)).tolist())
    return sentences


@pytest.fixture(scope="module")
def topic_vectors() -> torch.Tensor:
    config = SkipGramConfig(dim=16, epochs=4, batch_size=256, subsample=1.0)
    return train_word_vectors(topic_corpus(), 2 + TOPICS * WORDS_PER_TOPIC, config, seed=0)


def test_word_vectors_are_deterministic_and_pad_is_zero(topic_vectors):
    again = train_word_vectors(topic_corpus(), 2 + TOPICS * WORDS_PER_TOPIC,
                               SkipGramConfig(dim=16, epochs=4, batch_size=256, subsample=1.0),
                               seed=0)
    assert topic_vectors.shape == (2 + TOPICS * WORDS_PER_TOPIC, 16)
    assert torch.equal(topic_vectors, again)
    assert not topic_vectors[PAD_ID].any()


def test_words_of_one_topic_end_up_closer_than_words_of_two(topic_vectors):
    unit = F.normalize(topic_vectors[2:], dim=1)
    similarity = unit @ unit.T
    topic = torch.arange(TOPICS * WORDS_PER_TOPIC) // WORDS_PER_TOPIC
    same = topic.unsqueeze(0) == topic.unsqueeze(1)
    off_diagonal = ~torch.eye(len(topic), dtype=torch.bool)
    within = similarity[same & off_diagonal].mean().item()
    across = similarity[~same].mean().item()
    assert within > across + 0.5, (within, across)


def test_nearest_leaves_out_the_word_itself_and_special_ids(topic_vectors):
    unit = word2vec.unit_vectors(topic_vectors)
    found = word2vec.nearest(unit, 2, k=5)
    ids = [i for i, _ in found]
    assert 2 not in ids and PAD_ID not in ids and UNK_ID not in ids
    assert all(2 <= i < 2 + WORDS_PER_TOPIC for i in ids)  # its own topic
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
