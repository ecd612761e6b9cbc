"""SMS spam classifier: word + hashed character n-gram embeddings, masked mean, a linear head.

The whole product path of a text model, small enough to read in one sitting:
  1. data: the SMS Spam Collection (or the shipped EN/RU messages), duplicates dropped, a
     stratified train/validation/test split;
  2. preprocessing as data: a JSON spec (NFKC, lower case, a portable token pattern, a vocabulary
     built on the training part only, FNV-1a-hashed character n-grams) with test vectors;
  3. the model (``stage3_text.classifier``): ``nn.Embedding`` + masked mean pooling +
     ``nn.Linear``, trained with class-weighted cross-entropy (spam is the rare class) and early
     stopping on the validation loss;
  4. the scikit-learn baseline on the same split: TF-IDF words + logistic regression;
  5. precision, recall and F1 of spam (accuracy alone flatters: always "ham" scores ~87%);
  6. export to ONNX and the check that the torch-free runtime agrees with PyTorch.

Run: ``python -m stage3_text.spam_classifier [--data PATH] [--seed S] [--epochs N] [--quick]``
(``--data ../shared/data/sms_spam_collection/SMSSpamCollection`` for the real collection).
"""

# %%
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from common.bundle.runtime import TextClassifierRuntime
from common.bundle.textprep import TextEncoder, TextSpec, build_spec, save_spec_with_vectors
from common.devices import pick_device
from common.lesson import (
    dropout_rate,
    lesson_main,
    lesson_parser,
    positive_float,
    positive_int,
    probability,
)
from common.metrics import binary_metrics, confusion
from common.paths import runs_dir
from common.plots import plot_confusion_matrix, plot_loss_curves
from common.seed import seed_everything
from common.summary import LessonSummary
from common.training import log_epoch
from stage3_text.classifier import (
    ClassifierConfig,
    TextClassifier,
    TrainingConfig,
    mean_loss,
    predict_proba,
    save_classifier,
    train_classifier,
)
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx, parity
from stage3_text.sms_data import (
    COLLECTION_NAME,
    LABELS,
    POSITIVE_LABEL,
    SmsSplit,
    label_ids,
    load_sms,
    split_sms,
)

STAGE, LESSON = "stage3_text", "spam_classifier"
# Mean cross-entropy on the training part at the end (unweighted). A model that always answers
# "ham" with the class frequency scores about 0.57 on this data; trained, it ends far below.
LOSS_THRESHOLD = 0.25
QUICK_EPOCHS, QUICK_BUCKETS = 25, 1 << 12  # --quick: a smaller n-gram table trains in seconds
# Spam F1 on the test split. On the real collection each seed must also beat the baseline, and
# the mean over seeds 0-2 is expected >= 0.95 (README); the shipped set's test split holds ~20 spam.
F1_BAR = 0.80
# Minimum functionality, per language; the Russian pair is checked only when the data has Cyrillic.
BEHAVIOUR = {
    "en": {"spam": "WINNER! You have won a £1000 cash prize. Call 09061701461 now to claim",
           "ham": "Are we still meeting for lunch tomorrow?"},
    "ru": {"spam": "Поздравляем! Вы выиграли приз 50 000 руб. Перейдите по ссылке, чтобы получить",
           "ham": "Привет, я задержусь на работе, буду дома к восьми"},
}



def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], epochs=40)
    parser.add_argument("--data", default=None,
                        help="a label<TAB>text file (default: the UCI collection if cached or "
                             "downloadable, else the shipped EN/RU messages)")
    parser.add_argument("--lr", type=positive_float, default=5e-3, help="learning rate of Adam")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="messages per step")
    parser.add_argument("--embed-dim", type=positive_int, default=32,
                        help="numbers per word and per n-gram vector")
    parser.add_argument("--buckets", type=positive_int, default=1 << 15,
                        help="hash buckets for character n-grams")
    parser.add_argument("--dropout", type=dropout_rate, default=0.5,
                        help="dropout on the pooled vectors while training")
    parser.add_argument("--class-weights", choices=("none", "balanced"), default="none",
                        help="weight the loss by inverse class frequency (balanced) or not")
    parser.add_argument("--threshold", type=probability, default=0.5,
                        help="spam when P(spam) >= this")
    parser.add_argument("--word2vec", action="store_true",
                        help="start the word vectors from word2vec trained on the training texts")
    return parser


def spam_probability(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str]
                     ) -> np.ndarray:
    return predict_proba(model, encoder, texts)[:, LABELS.index(POSITIVE_LABEL)]


def spam_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    scores = binary_metrics(y_true, y_pred)
    return {"f1_spam": scores["f1"], "precision_spam": scores["precision"],
            "recall_spam": scores["recall"], "accuracy": scores["accuracy"]}


# %% The exact scikit-learn baseline: fitted on the whole training part (train + validation)
def baseline_predictions(split: SmsSplit) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(sublinear_tf=True)
    features = vectorizer.fit_transform(split.train_full["text"])
    model = LogisticRegression(C=10, max_iter=1000)
    model.fit(features, label_ids(split.train_full))
    return model.predict(vectorizer.transform(split.test["text"]))


def word2vec_vectors(encoder: TextEncoder, texts: Sequence[str], dim: int, seed: int
                     ) -> torch.Tensor:
    from stage3_text.word2vec import SkipGramConfig, train_word_vectors

    sequences = [encoder.encode(text).word_ids for text in texts]
    print(f"word2vec: skip-gram on {len(sequences)} training messages ({dim}-d vectors)")
    return train_word_vectors(sequences, encoder.spec.vocab_size, SkipGramConfig(dim=dim),
                              seed=seed)


# %% Artefacts: the spec and its test vectors, the weights, the ONNX model, and the runtime check
def export_and_check(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str],
                     torch_spam: np.ndarray, threshold: float, out: Path,
                     summary: LessonSummary) -> list[str]:
    onnx_path = export_onnx(model, out / "model.onnx")
    words, ngrams = encoder.encode_batch(list(texts))
    difference = parity(model, onnx_path, torch.from_numpy(words), torch.from_numpy(ngrams))
    summary.check(f"ONNX logits match PyTorch (max abs diff {difference:.1e} <= "
                  f"{PARITY_TOLERANCE:g})", difference <= PARITY_TOLERANCE)
    runtime = TextClassifierRuntime(encoder.spec, onnx_path, LABELS,
                                    positive_label=POSITIVE_LABEL, threshold=threshold)
    runtime_spam = [p.label == POSITIVE_LABEL for p in runtime.predict(list(texts))]
    agree = float(np.mean(np.asarray(runtime_spam) == (torch_spam >= threshold)))
    summary.check(f"torch-free runtime agrees with PyTorch on {agree:.1%} of the test messages",
                  agree == 1.0)
    print(f"ONNX: max abs logit difference {difference:.2e}; runtime agreement {agree:.1%}")
    return [str(onnx_path)]


def save_artifacts(model: TextClassifier, spec: TextSpec, threshold: float, out: Path
                   ) -> list[str]:
    spec_path, vectors_path = save_spec_with_vectors(spec, out / "spec.json",
                                                     extra_texts=[t for pair in BEHAVIOUR.values()
                                                                  for t in pair.values()])
    weights = save_classifier(model, out / "model.safetensors")
    labels = out / "labels.json"
    labels.write_text(json.dumps({"labels": list(LABELS), "positive_label": POSITIVE_LABEL,
                                  "threshold": threshold}, indent=1) + "\n", encoding="utf-8")
    return [str(spec_path), str(vectors_path), str(weights), str(labels)]


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    generator = seed_everything(args.seed)
    device = pick_device(args.device)
    epochs = min(args.epochs, QUICK_EPOCHS) if args.quick else args.epochs
    dataset = load_sms(args.data)
    split = split_sms(dataset.frame, args.seed)
    print(f"split: {split.duplicates_dropped} exact duplicate messages dropped; "
          f"train {len(split.train)}, validation {len(split.val)}, test {len(split.test)} "
          f"(spam share {np.mean(label_ids(split.train_full)):.1%})")

    # Preprocessing is fitted on the training part only: the vocabulary must not peek at the test.
    buckets = min(args.buckets, QUICK_BUCKETS) if args.quick else args.buckets
    spec = build_spec(split.train["text"], min_freq=2, buckets=buckets)
    encoder = TextEncoder(spec)
    print(f"spec: {spec.vocab_size} words (min frequency {spec.min_freq}), "
          f"{spec.buckets} n-gram buckets, n = {list(spec.ngram_sizes)}")

    model = TextClassifier(ClassifierConfig.for_spec(spec, len(LABELS), embed_dim=args.embed_dim,
                                                     dropout=args.dropout))
    if args.word2vec:
        model.init_word_vectors(word2vec_vectors(encoder, list(split.train["text"]),
                                                 args.embed_dim, args.seed))
    train = (list(split.train["text"]), label_ids(split.train))
    val = (list(split.val["text"]), label_ids(split.val))
    training = TrainingConfig(epochs=epochs, lr=args.lr, batch_size=args.batch_size,
                              balanced=args.class_weights == "balanced")
    history = train_classifier(model, encoder, train, val, training, generator=generator,
                               device=device, on_epoch=log_epoch)
    final_loss = mean_loss(model, encoder, *train, device=device)

    test_texts, y_test = list(split.test["text"]), label_ids(split.test)
    spam = spam_probability(model, encoder, test_texts)
    y_pred = (spam >= args.threshold).astype(int)
    metrics = spam_metrics(y_test, y_pred)
    baseline = spam_metrics(y_test, baseline_predictions(split))
    metrics["baseline_f1_spam"] = baseline["f1_spam"]
    metrics["baseline_accuracy"] = baseline["accuracy"]
    metrics["best_epoch"] = float(history.best_epoch or len(history.records))
    print(f"\n{'':<24}{'F1 spam':>9}{'precision':>11}{'recall':>8}{'accuracy':>10}")
    for name, row in (("classifier", metrics), ("TF-IDF + logistic reg.", baseline)):
        print(f"{name:<24}{row['f1_spam']:>9.4f}{row['precision_spam']:>11.4f}"
              f"{row['recall_spam']:>8.4f}{row['accuracy']:>10.4f}")

    out = runs_dir(STAGE, LESSON, args.out)
    outputs = [
        str(plot_confusion_matrix(confusion(y_test, y_pred, len(LABELS)), LABELS,
                                  out / "confusion_matrix.png",
                                  title=f"Test split, threshold {args.threshold:g}")),
        str(plot_loss_curves({"train (weighted)": history.train_losses,
                              "validation (weighted)": history.val_losses},
                             out / "loss_curve.png", title="Cross-entropy per epoch")),
    ]
    summary = LessonSummary(STAGE, LESSON, "train", dataset=dataset.name, final_loss=final_loss,
                            loss_threshold=LOSS_THRESHOLD, metrics=metrics,
                            extras={"data": str(dataset.source)})
    outputs += save_artifacts(model, spec, args.threshold, out)
    if not args.quick:  # the export takes seconds; the tests cover it in quick runs
        outputs += export_and_check(model, encoder, test_texts, spam, args.threshold, out,
                                    summary)
    summary.outputs = outputs
    summary.check(f"spam F1 {metrics['f1_spam']:.4f} >= {F1_BAR}", metrics["f1_spam"] >= F1_BAR)
    if dataset.name == COLLECTION_NAME and not args.quick:
        summary.check(f"spam F1 >= the baseline's {baseline['f1_spam']:.4f}",
                      metrics["f1_spam"] >= baseline["f1_spam"])
    cyrillic = dataset.frame["text"].str.contains("[а-яё]", case=False).any()
    check_behaviour(model, encoder, args.threshold, ("en", "ru") if cyrillic else ("en",),
                    summary)
    return summary


def check_behaviour(model: TextClassifier, encoder: TextEncoder, threshold: float,
                    languages: Sequence[str], summary: LessonSummary) -> None:
    """Minimum functionality: obvious spam is spam and obvious ham is ham, in each language."""
    for language in languages:
        for label, text in BEHAVIOUR[language].items():
            spam = float(spam_probability(model, encoder, [text])[0])
            summary.check(f"obvious {label} ({language}) is {label} (P(spam) = {spam:.2f})",
                          (spam >= threshold) == (label == POSITIVE_LABEL))


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
