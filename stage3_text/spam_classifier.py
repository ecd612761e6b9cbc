"""SMS spam classifier: word + hashed character n-gram embeddings, pooled, a linear head.

The whole product path of a text model, small enough to read in one sitting:
  1. data: the SMS Spam Collection (shipped with the course), duplicates dropped, a stratified
     train/validation/test split;
  2. preprocessing as data: a JSON spec (NFKC, lower case, a portable token pattern, a vocabulary,
     FNV-1a-hashed character n-grams) with test vectors;
  3. the model (``stage3_text.classifier``): ``nn.Embedding`` + masked pooling + ``nn.Linear``,
     trained one of two ways (``--trainer``):
       * ``svm`` (the default): with its head fixed the model is a linear SVM over its word and
         n-gram features, fitted by L-BFGS to the one minimum of the squared hinge + L2
         (``stage3_text.margin``); tokens are the runs between spaces, as the SVM baseline
         splits, and their character n-grams are taken within each token;
       * ``adam``: cross-entropy, mini-batches, Adam; n-grams across word boundaries
         (``ngram_scope = "text"``), so "call now" and "txt stop" are features too;
  4. every choice on the validation split: the SVM's C and word penalty were compared on the
     validation splits of seeds 0-2 (the guide's table); each run trains on train, reports
     validation and calibrates its probabilities there (Adam: early-stops there); then refits on
     train + validation, so the model sees the same rows as the baselines; the test split is
     read once, at the end;
  5. two scikit-learn baselines on the same rows: TF-IDF words + logistic regression, and the
     strong one, TF-IDF character 2-5-grams + a linear SVM (:data:`SVM_RECIPE`);
  6. precision, recall and F1 of spam (accuracy alone flatters: always "ham" scores ~87%);
  7. export to ONNX, the check that the torch-free runtime agrees with PyTorch, and the size of
     the int8 model a phone would ship.

Run: ``python -m stage3_text.spam_classifier [--data PATH] [--seed S] [--trainer adam] [--quick]``
(``--data data/sms_messages.tsv`` for the short English/Russian set written for the course).
"""

# %%
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from common.bundle.runtime import TextClassifierRuntime
from common.bundle.textprep import (
    DEFAULT_TOKEN_PATTERN,
    NGRAM_SCOPES,
    SpecError,
    TextEncoder,
    TextSpec,
    build_spec,
    parse_token_pattern,
    save_spec_with_vectors,
)
from common.devices import pick_device
from common.errors import UsageError
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
    POOLINGS,
    ClassifierConfig,
    TextClassifier,
    TrainingConfig,
    mean_loss,
    predict_proba,
    save_classifier,
    train_classifier,
)
from stage3_text.int8 import quantize_onnx_int8
from stage3_text.margin import (
    SPACE_SEPARATED,
    SVM_MODEL,
    MarginConfig,
    apply_temperature,
    fit_and_calibrate,
    train_margin_classifier,
)
from stage3_text.onnx_export import PARITY_TOLERANCE, export_onnx, parity
from stage3_text.sms_data import (
    COLLECTION_NAME,
    LABELS,
    POSITIVE_LABEL,
    SmsSplit,
    display_path,
    label_ids,
    load_sms,
    split_sms,
)

STAGE, LESSON = "stage3_text", "spam_classifier"
# The pass bar of the held-out (test) cross-entropy. A model that always answers "ham" with the
# class frequency scores about 0.40 on the collection; trained, it ends far below.
LOSS_THRESHOLD = 0.2
QUICK_EPOCHS, QUICK_BUCKETS = 25, 1 << 12  # --quick: a smaller n-gram table trains in seconds
QUICK_MAX_ITER = 100  # --quick: L-BFGS iterations of the SVM
TRAINERS = ("svm", "adam")
# What each trainer runs with unless a flag says otherwise (checked on validation: the README).
TRAINER_DEFAULTS = {
    "svm": SVM_MODEL,
    "adam": {"embed_dim": 32, "pooling": "mean", "ngram_scope": "text",
             "token_pattern": DEFAULT_TOKEN_PATTERN},
}
# Spam F1 on the test split, on any data (the written EN/RU set's test split holds ~20 spam).
F1_BAR = 0.80
# On the real collection (default run): the model may trail the strong baseline by at most this.
SVM_MARGIN = 0.005
MAX_INT8_BYTES = 5 * 1024 * 1024  # what a phone app may ship for this model
# The strong classic baseline, fixed (scikit-learn): it reproduces 0.952 / 0.969 / 0.977 on
# seeds 0 / 1 / 2 of the deduplicated collection.
SVM_RECIPE = ("TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True, "
              "lowercase=True) + LinearSVC(C=1.0)")
LR_RECIPE = "TfidfVectorizer(sublinear_tf=True) + LogisticRegression(C=10, max_iter=1000)"
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
                        help="a label<TAB>text file, .gz allowed (default: the SMS Spam "
                             "Collection shipped in data/sms_spam_collection/)")
    parser.add_argument("--trainer", choices=TRAINERS, default="svm",
                        help="svm: the model as a linear SVM, squared hinge + L2 by L-BFGS; "
                             "adam: cross-entropy with Adam, epochs by early stopping")
    defaults = MarginConfig()
    parser.add_argument("--c", type=positive_float, default=defaults.c,
                        help="svm: weight of the training errors against small weights")
    parser.add_argument("--word-penalty", type=positive_float, default=defaults.word_penalty,
                        help="svm: how many times an n-gram's L2 penalty a word pays")
    parser.add_argument("--lr", type=positive_float, default=5e-3,
                        help="adam: learning rate")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="adam: messages per step")
    parser.add_argument("--embed-dim", type=positive_int, default=None,
                        help="numbers per word and per n-gram vector (default: svm 1, since a "
                             "linear head makes every width the same model; adam 32)")
    parser.add_argument("--buckets", type=positive_int, default=1 << 16,
                        help="hash buckets for character n-grams")
    parser.add_argument("--token-pattern", type=token_pattern, default=None,
                        help="what a token is, in the spec's portable syntax (default: svm "
                             f"{SPACE_SEPARATED}, the runs between spaces; adam "
                             f"{DEFAULT_TOKEN_PATTERN})")
    parser.add_argument("--ngram-scope", choices=NGRAM_SCOPES, default=None,
                        help="character n-grams within each token, or across the whole text "
                             "(default: svm token, adam text)")
    parser.add_argument("--pooling", choices=POOLINGS, default=None,
                        help="divide the summed vectors by the count (mean) or its square root "
                             "(default: svm sqrt, adam mean)")
    parser.add_argument("--dropout", type=dropout_rate, default=0.5,
                        help="adam: dropout on the pooled vectors while training")
    parser.add_argument("--class-weights", choices=("none", "balanced"), default="none",
                        help="adam: weight the loss by inverse class frequency (balanced)")
    parser.add_argument("--decision-threshold", type=probability, default=0.5,
                        help="spam when P(spam) >= this")
    parser.add_argument("--word2vec", action="store_true",
                        help="start the word vectors from word2vec trained on the training texts")
    return parser


def token_pattern(text: str) -> str:
    """``--token-pattern``: a pattern the spec accepts (one line, not a traceback, if not)."""
    try:
        parse_token_pattern(text)
    except SpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def with_trainer_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The flags left unset take the trainer's defaults (:data:`TRAINER_DEFAULTS`)."""
    for name, value in TRAINER_DEFAULTS[args.trainer].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def spam_probability(model: TextClassifier, encoder: TextEncoder, texts: Sequence[str]
                     ) -> np.ndarray:
    return predict_proba(model, encoder, texts)[:, LABELS.index(POSITIVE_LABEL)]


def spam_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    scores = binary_metrics(y_true, y_pred)
    return {"f1_spam": scores["f1"], "precision_spam": scores["precision"],
            "recall_spam": scores["recall"], "accuracy": scores["accuracy"]}


# %% The two scikit-learn baselines, fitted on the whole training part (train + validation)
def baseline_predictions(split: SmsSplit) -> np.ndarray:
    """:data:`LR_RECIPE`: word TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(sublinear_tf=True)
    features = vectorizer.fit_transform(split.train_full["text"])
    model = LogisticRegression(C=10, max_iter=1000)
    model.fit(features, label_ids(split.train_full))
    return model.predict(vectorizer.transform(split.test["text"]))


def svm_baseline_predictions(split: SmsSplit) -> np.ndarray:
    """:data:`SVM_RECIPE`: character 2-5-gram TF-IDF (within word boundaries) + a linear SVM."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                 lowercase=True)
    features = vectorizer.fit_transform(split.train_full["text"])
    model = LinearSVC(C=1.0)
    model.fit(features, label_ids(split.train_full))
    return model.predict(vectorizer.transform(split.test["text"]))


def word2vec_vectors(encoder: TextEncoder, texts: Sequence[str], dim: int, seed: int
                     ) -> torch.Tensor:
    from stage3_text.word2vec import SkipGramConfig, train_word_vectors

    sequences = [encoder.encode(text).word_ids for text in texts]
    print(f"word2vec: skip-gram on {len(sequences)} training messages ({dim}-d vectors)")
    return train_word_vectors(sequences, encoder.spec.vocab_size, SkipGramConfig(dim=dim),
                              seed=seed)


# %% Training: choose on validation, then refit on train + validation
@dataclass
class Fitted:
    """A trained model with its preprocessing, and what the run on train + validation chose."""

    model: TextClassifier
    encoder: TextEncoder
    val_spam: np.ndarray  # P(spam) on validation from the model fitted on train (before refit)
    val_loss: float  # that model's cross-entropy on validation
    chosen: dict[str, float]  # what validation settled: Adam's epochs, the SVM's temperature
    curves: dict[str, list[float]]  # the loss plot: a line per name
    curve_title: str


def new_model(args: argparse.Namespace, texts: Sequence[str], buckets: int, seed: int
              ) -> tuple[TextClassifier, TextEncoder]:
    """Preprocessing fitted on ``texts`` only, and a fresh model for it (seeded: repeatable)."""
    spec = build_spec(texts, min_freq=2, buckets=buckets, ngram_scope=args.ngram_scope,
                      token_pattern=args.token_pattern)
    encoder = TextEncoder(spec)
    torch.manual_seed(seed)
    dropout = args.dropout if args.trainer == "adam" else 0.0
    model = TextClassifier(ClassifierConfig.for_spec(
        spec, len(LABELS), embed_dim=args.embed_dim, dropout=dropout, pooling=args.pooling))
    if args.word2vec:
        model.init_word_vectors(word2vec_vectors(encoder, texts, args.embed_dim, seed))
    return model, encoder


def describe_spec(spec: TextSpec, pooling: str) -> None:
    print(f"spec: {spec.vocab_size} words (min frequency {spec.min_freq}), tokens "
          f"{spec.token_pattern}, {spec.buckets} n-gram buckets, n = {list(spec.ngram_sizes)}, "
          f"scope {spec.ngram_scope}; pooling {pooling}")


def fit_svm(args: argparse.Namespace, split: SmsSplit, buckets: int,
            device: torch.device) -> Fitted:
    """The SVM (:mod:`stage3_text.margin`): fit on train, read validation, refit on both."""
    config = MarginConfig(c=args.c, word_penalty=args.word_penalty,
                          max_iter=QUICK_MAX_ITER if args.quick else MarginConfig.max_iter)
    model, encoder = new_model(args, list(split.train["text"]), buckets, args.seed)
    describe_spec(encoder.spec, args.pooling)
    val_texts, y_val = list(split.val["text"]), label_ids(split.val)
    print(f"1. fit the SVM on train (C {config.c:g}, word penalty {config.word_penalty:.3g}), "
          "calibrate on validation:")
    fitted = fit_and_calibrate(model, encoder,
                               (list(split.train["text"]), label_ids(split.train)),
                               (val_texts, y_val), config)
    model.to(device)
    temperature = fitted.temperature
    hinge = float(np.mean(np.maximum(0.0, 1.0 - (2 * np.asarray(y_val) - 1) * fitted.val_scores)))
    val_loss = mean_loss(model, encoder, val_texts, y_val, device=device)
    print(f"   validation: hinge loss {hinge:.4f}; probabilities sigmoid(z / {temperature:.3f}), "
          f"cross-entropy {val_loss:.4f}")
    val_spam = spam_probability(model, encoder, val_texts)
    print(f"2. refit on train + validation ({len(split.train_full)} messages):")
    model, encoder = new_model(args, list(split.train_full["text"]), buckets, args.seed)
    objectives = train_margin_classifier(
        model, encoder, (list(split.train_full["text"]), label_ids(split.train_full)), config)
    model.to(device)
    apply_temperature(model, temperature)  # the temperature validation chose
    print(f"   objective {objectives[0]:.5f} → {objectives[-1]:.5f} in {len(objectives)} "
          "L-BFGS evaluations")
    return Fitted(model.eval(), encoder, val_spam, val_loss,
                  {"c": config.c, "word_penalty": config.word_penalty,
                   "temperature": temperature, "lbfgs_evaluations": float(len(objectives))},
                  {"train + validation (refit)": objectives},
                  "Squared hinge + L2 per L-BFGS evaluation (the refit)")


def fit_adam(args: argparse.Namespace, split: SmsSplit, epochs: int, buckets: int,
             device: torch.device) -> Fitted:
    """Cross-entropy with Adam: early-stop on validation, refit for the epochs it chose."""
    training = TrainingConfig(epochs=epochs, lr=args.lr, batch_size=args.batch_size,
                              balanced=args.class_weights == "balanced")
    model, encoder = new_model(args, list(split.train["text"]), buckets, args.seed)
    describe_spec(encoder.spec, args.pooling)
    print("1. train on train, stop on the validation loss:")
    choice = train_classifier(
        model, encoder, (list(split.train["text"]), label_ids(split.train)),
        (list(split.val["text"]), label_ids(split.val)), training,
        generator=torch.Generator().manual_seed(args.seed), device=device, on_epoch=log_epoch)
    val_spam = spam_probability(model, encoder, list(split.val["text"]))
    best = choice.best_epoch or len(choice.records)
    print(f"2. refit on train + validation ({len(split.train_full)} messages) for the "
          f"{best} epochs validation chose:")
    model, encoder = new_model(args, list(split.train_full["text"]), buckets, args.seed)
    train_classifier(model, encoder,
                     (list(split.train_full["text"]), label_ids(split.train_full)), None,
                     replace(training, epochs=best),
                     generator=torch.Generator().manual_seed(args.seed), device=device,
                     on_epoch=log_epoch)
    weighted = " (class-weighted)" if args.class_weights == "balanced" else ""
    return Fitted(model.eval(), encoder, val_spam, min(choice.val_losses),
                  {"best_epoch": float(best)},
                  {"train": choice.train_losses, "validation": choice.val_losses},
                  f"Cross-entropy{weighted} per epoch, choosing the epochs")


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
    int8_path = quantize_onnx_int8(onnx_path, out / "model.int8.onnx")
    int8_bytes = int8_path.stat().st_size
    summary.metrics["onnx_bytes"] = float(onnx_path.stat().st_size)
    summary.metrics["int8_onnx_bytes"] = float(int8_bytes)
    summary.check(f"int8 model {int8_bytes / 2**20:.2f} MB <= {MAX_INT8_BYTES / 2**20:g} MB",
                  int8_bytes <= MAX_INT8_BYTES)
    print(f"ONNX: max abs logit difference {difference:.2e}; runtime agreement {agree:.1%}; "
          f"{onnx_path.stat().st_size / 2**20:.2f} MB fp32, {int8_bytes / 2**20:.2f} MB int8 "
          "(ONNX Runtime dynamic int8 of MatMul/Gemm/Gather)")
    return [str(onnx_path), str(int8_path)]


def save_artifacts(model: TextClassifier, spec: TextSpec, threshold: float, out: Path
                   ) -> list[str]:
    spec_path, vectors_path = save_spec_with_vectors(spec, out / "spec.json",
                                                     extra_texts=[t for pair in BEHAVIOUR.values()
                                                                  for t in pair.values()])
    weights = save_classifier(model, out / "model.safetensors")
    labels = out / "labels.json"
    labels.write_text(json.dumps({"labels": list(LABELS), "positive_label": POSITIVE_LABEL,
                                  "decision_threshold": threshold}, indent=1) + "\n",
                      encoding="utf-8")
    return [str(spec_path), str(vectors_path), str(weights), str(labels)]


def print_comparison(rows: dict[str, dict[str, float]]) -> None:
    print(f"\ntest split{'':<26}{'F1 spam':>9}{'precision':>11}{'recall':>8}{'accuracy':>10}")
    for name, row in rows.items():
        print(f"{name:<36}{row['f1_spam']:>9.4f}{row['precision_spam']:>11.4f}"
              f"{row['recall_spam']:>8.4f}{row['accuracy']:>10.4f}")
    print(f"  SVM baseline: {SVM_RECIPE}")


# %%
def run(args: argparse.Namespace) -> LessonSummary:
    args = with_trainer_defaults(args)
    if args.word2vec and args.trainer != "adam":
        raise UsageError("--word2vec starts the word vectors Adam trains: add --trainer adam")
    seed_everything(args.seed)
    device = pick_device(args.device)
    epochs = min(args.epochs, QUICK_EPOCHS) if args.quick else args.epochs
    buckets = min(args.buckets, QUICK_BUCKETS) if args.quick else args.buckets
    dataset = load_sms(args.data)
    split = split_sms(dataset.frame, args.seed)
    print(f"split: {split.duplicates_dropped} exact duplicate messages dropped; "
          f"train {len(split.train)}, validation {len(split.val)}, test {len(split.test)} "
          f"(spam share {np.mean(label_ids(split.train_full)):.1%})")

    fitted = fit_svm(args, split, buckets, device) if args.trainer == "svm" else \
        fit_adam(args, split, epochs, buckets, device)
    model, encoder, threshold = fitted.model, fitted.encoder, args.decision_threshold
    val_scores = spam_metrics(label_ids(split.val), (fitted.val_spam >= threshold).astype(int))

    # The test split, once: the model and both baselines on the same rows.
    test_texts, y_test = list(split.test["text"]), label_ids(split.test)
    spam = spam_probability(model, encoder, test_texts)
    y_pred = (spam >= threshold).astype(int)
    test_loss = mean_loss(model, encoder, test_texts, y_test, device=device)
    metrics = spam_metrics(y_test, y_pred)
    baseline = spam_metrics(y_test, baseline_predictions(split))
    svm = spam_metrics(y_test, svm_baseline_predictions(split))
    metrics.update({
        "baseline_f1_spam": baseline["f1_spam"], "baseline_accuracy": baseline["accuracy"],
        "svm_baseline_f1_spam": svm["f1_spam"], "svm_baseline_accuracy": svm["accuracy"],
        "val_f1_spam": val_scores["f1_spam"], "val_loss": fitted.val_loss, **fitted.chosen,
    })
    print_comparison({"classifier (this lesson)": metrics, "TF-IDF words + logistic reg.": baseline,
                      "TF-IDF char 2-5 + linear SVM": svm})

    out = runs_dir(STAGE, LESSON, args.out)
    outputs = [
        str(plot_confusion_matrix(confusion(y_test, y_pred, len(LABELS)), LABELS,
                                  out / "confusion_matrix.png",
                                  title=f"Test split, decision threshold {threshold:.2f}")),
        str(plot_loss_curves(fitted.curves, out / "loss_curve.png", title=fitted.curve_title)),
    ]
    summary = LessonSummary(STAGE, LESSON, "train", dataset=dataset.name, final_loss=test_loss,
                            loss_threshold=LOSS_THRESHOLD, metrics=metrics,
                            extras={"data": display_path(dataset.source),
                                    "final_loss_split": "test",
                                    "decision_threshold": threshold,
                                    "baselines": {"logistic_regression": LR_RECIPE,
                                                  "svm": SVM_RECIPE},
                                    "model": {**model.config.to_json(),
                                              "trainer": args.trainer,
                                              "token_pattern": encoder.spec.token_pattern,
                                              "ngram_scope": encoder.spec.ngram_scope,
                                              **fitted.chosen}})
    outputs += save_artifacts(model, encoder.spec, threshold, out)
    if not args.quick:  # the export takes seconds; the tests cover it in quick runs
        outputs += export_and_check(model, encoder, test_texts, spam, threshold, out, summary)
    summary.outputs = outputs
    summary.check(f"spam F1 {metrics['f1_spam']:.4f} >= {F1_BAR}", metrics["f1_spam"] >= F1_BAR)
    if dataset.name == COLLECTION_NAME and not args.quick:
        summary.check(f"spam F1 >= the logistic-regression baseline's {baseline['f1_spam']:.4f}",
                      metrics["f1_spam"] >= baseline["f1_spam"])
        summary.check(f"spam F1 within {SVM_MARGIN} of the SVM baseline's {svm['f1_spam']:.4f}",
                      metrics["f1_spam"] >= svm["f1_spam"] - SVM_MARGIN)
    cyrillic = dataset.frame["text"].str.contains("[а-яё]", case=False).any()
    check_behaviour(model, encoder, threshold, ("en", "ru") if cyrillic else ("en",), summary)
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
