"""Stage 3 spam classifier: data, preprocessing spec, PyTorch model, ONNX export, runtime.

One quick training run on the SMS Spam Collection (shipped, the default data) and one on the
written EN/RU messages (for the Russian behaviour) are shared by the whole module; the full runs
on seeds 0-2 against both baselines are ``slow``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from common.bundle.decision import softmax
from common.bundle.runtime import TextClassifierRuntime
from common.bundle.textprep import (
    PAD_ID,
    STANDARD_TEST_TEXTS,
    UNK_ID,
    SpecError,
    TextEncoder,
    TextSpec,
    build_spec,
    check_test_vectors,
    fnv1a32,
    load_spec,
    parse_token_pattern,
    save_spec,
    save_spec_with_vectors,
)
from common.bundle.textprep import test_vectors_path as vectors_path_of  # not a test: no test_ name
from common.summary import validate
from common.training import RaggedBatches, TensorBatches, adam, fit
from stage3_text import sms_data, spam_classifier
from stage3_text.classifier import (
    ClassifierConfig,
    TextClassifier,
    TrainingConfig,
    class_weights,
    encode_ragged,
    encode_tensors,
    load_classifier,
    predict_proba,
    save_classifier,
    sum_pool,
    train_classifier,
)
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx, parity
from stage3_text.sms_data import (
    COLLECTION_SHA256,
    LABELS,
    SHIPPED_COLLECTION_PATH,
    WRITTEN_PATH,
    label_ids,
    load_sms,
    read_sms_file,
    split_sms,
)
from tests.conftest import PROJECT_ROOT, assert_one_line_error, run_lesson

MODULE = "stage3_text.spam_classifier"


@dataclass
class QuickRun:
    code: int
    summary: dict[str, Any]
    out: Path
    model: TextClassifier
    encoder: TextEncoder


def quick(tmp_path_factory: pytest.TempPathFactory, *flags: str) -> QuickRun:
    """The lesson in --quick mode; its saved model and spec reloaded."""
    out = tmp_path_factory.mktemp("spam_classifier")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        code = spam_classifier.main(["--quick", *flags, "--out", str(out), "--json"])
    summary = json.loads(stdout.getvalue().strip().splitlines()[-1])
    encoder = TextEncoder(load_spec(out / "spec.json"))
    return QuickRun(code, summary, out, load_classifier(out / "model.safetensors"), encoder)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """The default data: the shipped SMS Spam Collection."""
    return quick(tmp_path_factory)


@pytest.fixture(scope="module")
def written_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """The EN/RU messages written for the course: the Russian behaviour is learnt from them."""
    return quick(tmp_path_factory, "--data", str(WRITTEN_PATH))


@pytest.fixture(scope="module")
def exported(quick_run: QuickRun) -> Path:
    return export_onnx(quick_run.model, quick_run.out / "model.onnx")


@pytest.fixture(scope="module")
def shipped_texts() -> list[str]:
    return list(read_sms_file(WRITTEN_PATH)["text"])


def variants(texts: list[str]) -> list[str]:
    """A few thousand realistic strings from a few hundred: case, spacing, width, cuts."""
    fullwidth = {ord(c): ord(c) + 0xFEE0 for c in "abcdefghijklmnopqrstuvwxyz0123456789"}
    out = []
    for text in texts:
        out += [text, text.upper(), text.lower(), "  " + text.replace(" ", "   ") + "\t",
                text.translate(fullwidth), text[: len(text) // 2], text[len(text) // 3 :],
                unicodedata.normalize("NFD", text)]
    return out


# %% The quick run: trains below its loss threshold and meets its quality bar
def test_quick_run_trains_below_its_loss_threshold(quick_run: QuickRun) -> None:
    summary = quick_run.summary
    validate(summary)
    assert quick_run.code == 0, summary["failed_checks"]
    assert summary["dataset"] == "sms-spam-collection"
    assert summary["data"] == "data/sms_spam_collection/SMSSpamCollection.gz"
    assert summary["final_loss_split"] == "test"
    assert summary["final_loss"] <= summary["loss_threshold"] == spam_classifier.LOSS_THRESHOLD
    assert summary["metrics"]["f1_spam"] >= spam_classifier.F1_BAR
    for key in ("f1_spam", "precision_spam", "recall_spam", "accuracy", "baseline_f1_spam",
                "svm_baseline_f1_spam", "val_f1_spam"):
        assert 0.0 <= summary["metrics"][key] <= 1.0
    for name in ("confusion_matrix.png", "loss_curve.png", "spec.json", "spec.vectors.json",
                 "model.safetensors", "labels.json"):
        assert (quick_run.out / name).is_file(), name


def test_both_baselines_and_the_svm_recipe_are_reported(quick_run: QuickRun) -> None:
    summary = quick_run.summary
    assert summary["baselines"]["svm"] == spam_classifier.SVM_RECIPE
    assert "char_wb" in summary["baselines"]["svm"] and "LinearSVC" in summary["baselines"]["svm"]
    assert summary["baselines"]["logistic_regression"] == spam_classifier.LR_RECIPE
    assert summary["metrics"]["svm_baseline_f1_spam"] > 0.9  # the collection, not a toy set
    assert summary["decision_threshold"] == 0.5 and "threshold" not in summary["metrics"]


def test_the_written_messages_still_train(written_run: QuickRun) -> None:
    assert written_run.code == 0, written_run.summary["failed_checks"]
    assert written_run.summary["dataset"] == "sms-written"


def test_obvious_spam_and_ham(written_run: QuickRun) -> None:
    quick_run = written_run
    spam = predict_proba(quick_run.model, quick_run.encoder, [
        "WINNER!! You have won a FREE prize of £1000! Call 09061701461 now to claim",
        "Поздравляем! Вы выиграли приз! Перейдите по ссылке http://priz.example чтобы получить",
    ])[:, 1]
    ham = predict_proba(quick_run.model, quick_run.encoder, [
        "Are we still on for lunch tomorrow?", "Мам, я дома, всё хорошо",
    ])[:, 1]
    assert (spam >= 0.5).all(), spam
    assert (ham < 0.5).all(), ham


def test_case_and_extra_spaces_do_not_change_the_label(quick_run: QuickRun,
                                                       shipped_texts: list[str]) -> None:
    texts = shipped_texts[:60]
    changed = [t.upper() for t in texts] + ["  " + t.replace(" ", "    ") + " " for t in texts]
    base = predict_proba(quick_run.model, quick_run.encoder, texts)[:, 1] >= 0.5
    other = predict_proba(quick_run.model, quick_run.encoder, changed)[:, 1] >= 0.5
    assert (np.concatenate([base, base]) == other).all()


# %% Preprocessing: one implementation, the same ids on the PyTorch side and in the runtime
def test_spec_test_vectors_reproduce(quick_run: QuickRun, tmp_path: Path) -> None:
    vectors = quick_run.out / "spec.vectors.json"
    assert vectors == vectors_path_of(quick_run.out / "spec.json")
    assert check_test_vectors(quick_run.encoder, vectors) == []
    document = json.loads(vectors.read_text(encoding="utf-8"))
    document["vectors"][0]["ngram_ids"][0] += 1  # a port that hashes differently must be caught
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    assert check_test_vectors(quick_run.encoder, tampered) == [document["vectors"][0]["text"]]


def test_runtime_preprocessing_matches_the_training_side(quick_run: QuickRun, exported: Path,
                                                         shipped_texts: list[str]) -> None:
    runtime = TextClassifierRuntime.from_files(quick_run.out / "spec.json", exported, LABELS)
    runtime.verify(quick_run.out / "spec.vectors.json")
    texts = [*STANDARD_TEST_TEXTS, *variants(shipped_texts)]
    assert len(texts) > 3000
    training_side = encode_tensors(quick_run.encoder, texts)
    for runtime_ids, torch_ids in zip(runtime.encoder.encode_batch(texts), training_side,
                                      strict=True):
        assert runtime_ids.dtype == np.int64
        np.testing.assert_array_equal(runtime_ids, torch_ids.numpy())


@pytest.mark.parametrize("scope", ["token", "text"])
def test_javascript_tokens_and_ngram_ids_agree(scope: str, shipped_texts: list[str]) -> None:
    """The spec's claim of portability, checked against a real JavaScript engine when present."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    spec = build_spec(shipped_texts, buckets=4093, ngram_scope=scope)
    texts = [*STANDARD_TEST_TEXTS, *variants(shipped_texts[:150])]
    script = r"""
    const {spec, texts} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const re = new RegExp(spec.token_pattern, 'gu');
    const fnv = (s) => { let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      return h; };
    const id = (cps) => 1 + fnv(cps.join('')) % spec.buckets;
    const [open, close] = spec.ngram_boundary;
    const encode = (text) => {
      const tokens = text.normalize(spec.normalization).toLowerCase().match(re) || [];
      const ids = [];
      if (spec.ngram_scope === 'text') {
        const cps = tokens.length ? Array.from(open + tokens.join(' ') + close) : [];
        for (let i = 0; i < cps.length; i++) for (const n of spec.ngram_sizes)
          if (i + n <= cps.length) ids.push(id(cps.slice(i, i + n)));
      } else {
        for (const t of tokens) { const cps = Array.from(open + t + close);
          for (const n of spec.ngram_sizes) for (let i = 0; i + n <= cps.length; i++)
            ids.push(id(cps.slice(i, i + n))); }
      }
      return {tokens, ngram_ids: ids.slice(0, spec.max_ngrams)}; };
    console.log(JSON.stringify(texts.map(encode)));
    """
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60,
                            input=json.dumps({"spec": spec.to_json(), "texts": texts}))
    assert result.returncode == 0, result.stderr
    encoder = TextEncoder(spec)
    for text, js in zip(texts, json.loads(result.stdout), strict=True):
        assert js["tokens"] == encoder.tokens(text), text
        assert js["ngram_ids"] == encoder.encode(text).ngram_ids, text


# %% ONNX: the exported graph computes what PyTorch computes, at any batch and length
def test_onnx_parity_with_pytorch(quick_run: QuickRun, exported: Path,
                                  shipped_texts: list[str]) -> None:
    assert not list(exported.parent.glob("*.onnx.data")), "the .onnx file must be self-contained"
    for texts in (shipped_texts[:37], shipped_texts[:1], [" ".join(shipped_texts[:40])], [""]):
        words, ngrams = encode_tensors(quick_run.encoder, texts)
        assert parity(quick_run.model, exported, words, ngrams) <= PARITY_TOLERANCE


def test_runtime_predictions_equal_pytorch(quick_run: QuickRun, exported: Path,
                                           shipped_texts: list[str]) -> None:
    runtime = TextClassifierRuntime(quick_run.encoder.spec, exported, LABELS,
                                    positive_label="spam", threshold=0.5, batch_size=64)
    texts = variants(shipped_texts)[:1000]
    torch_spam = predict_proba(quick_run.model, quick_run.encoder, texts)[:, 1]
    predictions = runtime.predict(texts)
    assert [p.label == "spam" for p in predictions] == list(torch_spam >= 0.5)
    np.testing.assert_allclose([p.probabilities["spam"] for p in predictions], torch_spam,
                               atol=1e-5)
    assert runtime.predict([]) == []
    strict = TextClassifierRuntime(quick_run.encoder.spec, exported, LABELS,
                                   positive_label="spam", threshold=0.99)
    assert sum(p.label == "spam" for p in strict.predict(texts)) <= int((torch_spam >= 0.5).sum())


def test_runtime_rejects_a_mismatched_model(quick_run: QuickRun, exported: Path) -> None:
    with pytest.raises(ValueError, match="outputs"):
        TextClassifierRuntime(quick_run.encoder.spec, exported, ["a", "b", "c"])
    with pytest.raises(ValueError, match="positive_label"):
        TextClassifierRuntime(quick_run.encoder.spec, exported, LABELS, positive_label="eggs")


def test_softmax_is_stable() -> None:
    probabilities = softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(probabilities, [[1.0, 0.0], [0.5, 0.5]])


# %% textprep units
def test_fnv1a32_matches_the_reference_values() -> None:
    assert fnv1a32(b"") == 0x811C9DC5
    assert fnv1a32(b"a") == 0xE40C292C
    assert fnv1a32(b"foobar") == 0xBF9CF968


def test_ngram_ids_are_stable() -> None:
    encoder = TextEncoder(TextSpec(buckets=1000))
    assert encoder.ngrams("hi") == ["<h", "hi", "i>", "<hi", "hi>", "<hi>"]
    assert encoder.encode("Hi").ngram_ids == [418, 683, 967, 153, 757, 883]
    assert encoder.encode("привет").ngram_ids[:6] == [819, 170, 973, 792, 841, 734]


def test_text_scope_ngrams_cross_word_boundaries() -> None:
    encoder = TextEncoder(TextSpec(buckets=1000, ngram_sizes=(2, 3), ngram_scope="text"))
    marked = "<hi !>"  # the tokens "hi" and "!" joined by one space, wrapped once
    expected = [1 + fnv1a32(marked[i:i + n].encode()) % 1000
                for i in range(len(marked)) for n in (2, 3) if i + n <= len(marked)]
    assert encoder.encode("HI!").ngram_ids == expected
    assert encoder.encode("  hi   ! ").ngram_ids == expected  # spacing is not a feature
    assert encoder.encode("").ngram_ids == [] and encoder.encode(" \t").ngram_ids == []
    token_scope = TextEncoder(TextSpec(buckets=1000, ngram_sizes=(2, 3)))
    assert token_scope.encode("hi !").ngram_ids != expected  # the default is unchanged
    assert token_scope.encode("Hi").ngram_ids == TextEncoder(
        TextSpec(buckets=1000, ngram_sizes=(2, 3), ngram_scope="token")).encode("Hi").ngram_ids
    capped = TextEncoder(TextSpec(buckets=1000, ngram_sizes=(2, 3), ngram_scope="text",
                                  max_ngrams=3))
    assert capped.encode("hi !").ngram_ids == expected[:3]  # the head of the text is kept
    with pytest.raises(SpecError, match="ngram_scope"):
        TextSpec(ngram_scope="sentence")


def test_training_pools_like_the_exported_graph() -> None:
    """Training sums with embedding_bag; eval (and every export) sums the plain lookup."""
    for pooling in ("mean", "sqrt"):
        torch.manual_seed(0)
        model = TextClassifier(ClassifierConfig(40, 60, 2, embed_dim=8, dropout=0.0,
                                                pooling=pooling))
        words = torch.tensor([[2, 5, 7, 0], [3, 0, 0, 0], [0, 0, 0, 0]])
        ngrams = torch.tensor([[3, 9, 11, 4, 0], [5, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        trained = model.train()(words, ngrams)
        exported = model.eval()(words, ngrams)
        torch.testing.assert_close(trained, exported)
    with torch.no_grad():
        vectors = model.ngram_embedding(ngrams[:1, :4])
        by_hand = vectors.sum(dim=1) / 2.0  # sqrt pooling: four n-grams, divided by sqrt(4)
        torch.testing.assert_close(sum_pool(model.ngram_embedding, ngrams[:1], "sqrt"), by_hand)


def test_padding_rows_stay_zero_through_training() -> None:
    """The eval-mode sum skips no position: it relies on both tables' padding rows being zero.
    Adam with weight decay, word2vec-style initial vectors and a few epochs leave them zero."""
    spec = build_spec(["free prize now", "see you soon", "call now free"], min_freq=1,
                      buckets=64, ngram_scope="text")
    model = TextClassifier(ClassifierConfig.for_spec(spec, 2, embed_dim=4))
    model.init_word_vectors(torch.randn(spec.vocab_size, 4))
    train_classifier(model, TextEncoder(spec), (["free prize now", "see you soon"] * 4,
                                                [1, 0] * 4), None,
                     TrainingConfig(epochs=3, batch_size=2, weight_decay=0.1),
                     generator=torch.Generator().manual_seed(0), device=torch.device("cpu"),
                     progress=False)
    for table in (model.word_embedding, model.ngram_embedding):
        assert table.weight[PAD_ID].abs().max().item() == 0.0
        assert table.weight[1:].abs().max().item() > 0.0  # the rest did train


def test_ragged_batches_train_exactly_like_padded_tensors() -> None:
    """The large-data path (ids kept flat in a small type, each batch padded to its own longest
    row) trains the same model as the whole set padded once: same losses, same weights."""
    texts = [f"{word} order {i} {'refund please ' * (i % 4)}" for i, word in
             enumerate(["hello", "привет", "win", "help", "card", "parcel", "login"] * 6)]
    labels = torch.tensor([i % 2 for i in range(len(texts))])
    encoder = TextEncoder(build_spec(texts, min_freq=1, buckets=300, ngram_scope="text"))
    words, ngrams = encode_ragged(encoder, texts)
    assert ngrams.values.dtype == np.uint16 and words.values.dtype == np.uint8
    np.testing.assert_array_equal(ngrams.padded(), encoder.encode_batch(texts)[1])
    cpu = torch.device("cpu")
    results = []
    for make in (TensorBatches, RaggedBatches):
        inputs = encode_tensors(encoder, texts) if make is TensorBatches else (words, ngrams)
        batches = make(*inputs, labels, batch_size=8, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
        torch.manual_seed(0)
        model = TextClassifier(ClassifierConfig.for_spec(encoder.spec, 2, embed_dim=8))
        history = fit(model, torch.nn.CrossEntropyLoss(),
                      adam(model.parameters(), lr=1e-2, device=cpu), batches, epochs=3,
                      device=cpu, progress=False)
        results.append((history.train_losses, model.state_dict()))
    (padded_losses, padded_state), (ragged_losses, ragged_state) = results
    torch.testing.assert_close(ragged_losses, padded_losses, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ragged_state, padded_state, rtol=1e-6, atol=1e-7)


def test_tokens_english_russian_and_normalisation() -> None:
    encoder = TextEncoder(TextSpec())
    assert encoder.tokens("HELLO   World!!") == ["hello", "world", "!", "!"]
    assert encoder.tokens("ПРИВЕТ, Мир") == ["привет", ",", "мир"]
    assert encoder.tokens("Ｆｒｅｅ ﬁnal") == ["free", "final"]  # NFKC
    assert encoder.tokens("£900 👍") == ["£", "900", "👍"]


@pytest.mark.parametrize("text", ["", "   ", "\t\n \u00a0"])
def test_empty_and_whitespace_strings(text: str) -> None:
    encoder = TextEncoder(build_spec(["hello world"], min_freq=1))
    encoded = encoder.encode(text)
    assert encoded.word_ids == [] and encoded.ngram_ids == []
    words, ngrams = encoder.encode_batch([text, text])
    assert words.shape == ngrams.shape == (2, 1)
    assert (words == PAD_ID).all() and (ngrams == PAD_ID).all()


def test_vocabulary_unk_and_round_trip() -> None:
    spec = build_spec(["the cat sat", "the cat ran", "кот спит", "кот ест"], min_freq=2)
    assert spec.vocabulary == ("<pad>", "<unk>", "cat", "the", "кот")  # by count, then a→я
    encoder = TextEncoder(spec)
    assert encoder.encode("The CAT flew").word_ids == [3, 2, UNK_ID]
    assert encoder.decode(encoder.encode("the cat кот").word_ids) == "the cat кот"
    assert encoder.decode([3, UNK_ID, PAD_ID]) == "the <unk>"


def test_truncation_keeps_the_head() -> None:
    encoder = TextEncoder(build_spec(["a b c d e"], min_freq=1, max_words=3, max_ngrams=4))
    encoded = encoder.encode("a b c d e")
    assert encoder.decode(encoded.word_ids) == "a b c"
    assert encoded.ngram_ids == encoder.encode("a b").ngram_ids[:4]


def test_spec_json_round_trip(tmp_path: Path) -> None:
    spec = build_spec(["Привет мир", "hello world"], min_freq=1, ngram_sizes=(3, 4), buckets=97,
                      ngram_scope="text")
    path = save_spec(spec, tmp_path / "spec.json")
    assert load_spec(path) == spec
    assert TextSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    document = spec.to_json()
    for broken in ({**document, "surprise": 1}, {**document, "version": 99},
                   {**document, "case": "upper"}, {**document, "buckets": "many"},
                   {**document, "token_pattern": r"\w+"}):
        with pytest.raises(SpecError):
            TextSpec.from_json(broken)


def test_spec_writes_vectors_for_the_standard_strings(tmp_path: Path) -> None:
    spec_path, vectors_path = save_spec_with_vectors(TextSpec(), tmp_path / "spec.json", ["extra"])
    vectors = json.loads(vectors_path.read_text(encoding="utf-8"))["vectors"]
    assert [v["text"] for v in vectors] == [*STANDARD_TEST_TEXTS, "extra"]
    assert check_test_vectors(TextEncoder(load_spec(spec_path)), vectors_path) == []


def test_token_patterns_accept_only_the_portable_subset() -> None:
    words, marks = parse_token_pattern(r"[\p{L}\p{N}_']+|[\p{P}\p{S}]")
    assert words.repeat and not marks.repeat and "_" in words and "я" in words and "!" in marks
    for pattern in (r"\w+", "[a-z]+", r"[^\p{L}]+", r"[\p{L}]*", r"[\p{L}]+|"):
        with pytest.raises(SpecError):
            parse_token_pattern(pattern)


# %% The PyTorch model
def test_padding_does_not_change_the_logits() -> None:
    torch.manual_seed(0)
    model = TextClassifier(ClassifierConfig(vocab_size=20, ngram_rows=50, num_classes=3)).eval()
    words, ngrams = torch.tensor([[2, 5, 7]]), torch.tensor([[3, 9, 11, 4]])
    padded = (torch.nn.functional.pad(words, (0, 6)), torch.nn.functional.pad(ngrams, (0, 9)))
    with torch.no_grad():
        torch.testing.assert_close(model(words, ngrams), model(*padded))
        assert model(words, ngrams).shape == (1, 3)


def test_save_and_load_keep_the_model(tmp_path: Path) -> None:
    model = TextClassifier(ClassifierConfig(30, 40, 4, embed_dim=8, hidden_dim=16)).eval()
    loaded = load_classifier(save_classifier(model, tmp_path / "m.safetensors"))
    assert loaded.config == model.config
    ids = (torch.tensor([[2, 3], [4, 0]]), torch.tensor([[5, 6, 7], [8, 0, 0]]))
    with torch.no_grad():
        torch.testing.assert_close(loaded(*ids), model(*ids))


def test_class_weights_balance_the_classes() -> None:
    weights = class_weights([0, 0, 0, 1], 2)
    torch.testing.assert_close(weights, torch.tensor([4 / 6, 4 / 2]))
    with pytest.raises(ValueError, match="class 2"):
        class_weights([0, 1], 3)


# %% Data
def test_split_drops_duplicates_and_keeps_parts_disjoint() -> None:
    frame = load_sms(WRITTEN_PATH, announce=lambda _: None).frame
    split = split_sms(frame, seed=0)
    assert split.duplicates_dropped == len(frame) - frame["text"].nunique() > 0
    parts = [set(part["text"]) for part in (split.train, split.val, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(split.test) == round(0.2 * frame["text"].nunique())
    assert set(split.train_full.index) == set(split.train.index) | set(split.val.index)
    assert 0.15 < np.mean(label_ids(split.test)) < 0.4


def test_reader_keeps_quotes_inside_messages(tmp_path: Path) -> None:
    path = tmp_path / "sms.tsv"
    path.write_text('ham\t"Hi\nspam\tWIN "big" now\n\nham\tok"\n', encoding="utf-8")
    frame = read_sms_file(path)
    assert list(frame["text"]) == ['"Hi', 'WIN "big" now', 'ok"']
    assert list(frame["label"]) == ["ham", "spam", "ham"]


@pytest.mark.parametrize("content", [None, b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
                                     b"label,text\nham,hello\n", b"ham\thi\nham\tthere\n"])
def test_bad_data_is_one_line_exit_2(content: bytes | None, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "sms.tsv"
    if content is not None:
        path.write_bytes(content)
    result = run_lesson(MODULE, "--quick", "--data", str(path), out=tmp_path / "out",
                        capsys=capsys)
    assert_one_line_error(result)


# %% The shipped collection: where it comes from, and what is checked on loading
def test_default_data_is_the_shipped_collection_checked_by_sha256(tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("MLCOURSE_CACHE", str(tmp_path / "empty-cache"))
    dataset = load_sms(announce=lambda _: None)
    assert dataset.name == "sms-spam-collection" and dataset.source == SHIPPED_COLLECTION_PATH
    assert len(dataset.frame) == 5574 and (dataset.frame["label"] == "spam").sum() == 747
    assert split_sms(dataset.frame, 0).duplicates_dropped == 403


def test_a_valid_cached_download_comes_before_the_shipped_copy(tmp_path: Path,
                                                               monkeypatch) -> None:
    import gzip

    monkeypatch.setenv("MLCOURSE_CACHE", str(tmp_path))
    cached = sms_data.collection_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(gzip.decompress(SHIPPED_COLLECTION_PATH.read_bytes()))
    assert load_sms(announce=lambda _: None).source == cached
    cached.write_bytes(b"ham\tnot the collection\n")  # a corrupt cache is passed over
    assert load_sms(announce=lambda _: None).source == SHIPPED_COLLECTION_PATH


@pytest.mark.parametrize("damage", ["missing", "truncated", "changed"])
def test_a_missing_or_corrupt_shipped_copy_downloads_then_falls_back(
        damage: str, tmp_path: Path, monkeypatch) -> None:
    import gzip

    copy = tmp_path / "SMSSpamCollection.gz"
    original = SHIPPED_COLLECTION_PATH.read_bytes()
    if damage == "truncated":
        copy.write_bytes(original[: len(original) // 2])
    elif damage == "changed":
        copy.write_bytes(gzip.compress(gzip.decompress(original).replace(b"ham", b"spam", 1)))
    monkeypatch.setattr(sms_data, "SHIPPED_COLLECTION_PATH", copy)
    monkeypatch.setenv("MLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MLCOURSE_OFFLINE", "1")  # the download is tried and refused
    said: list[str] = []
    dataset = load_sms(announce=said.append)
    assert any("missing or corrupt" in line for line in said)
    assert any("offline fallback" in line for line in said)
    assert dataset.name == "sms-written" and dataset.source == WRITTEN_PATH


def test_the_shipped_copy_is_the_published_file() -> None:
    import gzip
    import hashlib

    payload = gzip.decompress(SHIPPED_COLLECTION_PATH.read_bytes())
    assert hashlib.sha256(payload).hexdigest() == COLLECTION_SHA256
    readme = (SHIPPED_COLLECTION_PATH.parent / "README.md").read_text(encoding="utf-8")
    for attribution in ("Almeida", "Gómez Hidalgo", "CC BY 4.0", "UCI", COLLECTION_SHA256):
        assert attribution in readme


def test_a_gzip_data_file_is_read_and_a_broken_one_is_one_line(tmp_path: Path,
                                                              capsys) -> None:
    import gzip

    path = tmp_path / "mine.tsv.gz"
    path.write_bytes(gzip.compress(b"ham\thello there\nspam\tWIN a prize\n"))
    assert list(read_sms_file(path)["label"]) == ["ham", "spam"]
    path.write_bytes(b"not gzip at all")
    assert_one_line_error(run_lesson(MODULE, "--quick", "--data", str(path),
                                     out=tmp_path / "out", capsys=capsys))


def test_no_learner_facing_text_points_outside_the_repository() -> None:
    for path in [*PROJECT_ROOT.glob("stage*/**/*.py"), *PROJECT_ROOT.glob("stage*/**/*.md"),
                 *PROJECT_ROOT.glob("common/**/*.py"), *PROJECT_ROOT.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/data" not in text, path


# %% The bars on the real collection, seeds 0-2 (slow: three full runs)
@pytest.mark.slow
@pytest.mark.parametrize(("seed", "expected"), [(0, 0.924), (1, 0.942), (2, 0.949)])
def test_baseline_reproduces_the_published_figures(seed: int, expected: float) -> None:
    split = split_sms(load_sms(announce=lambda _: None).frame, seed)
    predicted = spam_classifier.baseline_predictions(split)
    f1 = spam_classifier.spam_metrics(label_ids(split.test), predicted)["f1_spam"]
    assert f1 == pytest.approx(expected, abs=5e-4)


@pytest.mark.slow
def test_the_model_matches_the_svm_baseline_on_seeds_0_1_2(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    published = {0: 0.952, 1: 0.969, 2: 0.977}
    model, svm = {}, {}
    for seed in published:
        result = run_lesson(MODULE, "--seed", str(seed), out=tmp_path / str(seed), capsys=capsys)
        summary = result.summary
        validate(summary)
        assert result.code == 0, summary["failed_checks"]
        assert summary["dataset"] == "sms-spam-collection"
        model[seed] = summary["metrics"]["f1_spam"]
        svm[seed] = summary["metrics"]["svm_baseline_f1_spam"]
        assert svm[seed] == pytest.approx(published[seed], abs=0.01)
        assert model[seed] >= svm[seed] - spam_classifier.SVM_MARGIN
        assert model[seed] >= summary["metrics"]["baseline_f1_spam"]
        assert summary["metrics"]["int8_onnx_bytes"] <= spam_classifier.MAX_INT8_BYTES
    assert np.mean(list(model.values())) >= np.mean(list(svm.values()))


def test_config_is_plain_data_for_a_manifest() -> None:
    spec = replace(TextSpec(), buckets=10)
    config = ClassifierConfig.for_spec(spec, num_classes=5, embed_dim=16)
    assert (config.vocab_size, config.ngram_rows, config.num_classes) == (2, 11, 5)
    assert ClassifierConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
