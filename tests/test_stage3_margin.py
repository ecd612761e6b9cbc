"""Stage 3's SVM trainer: the text classifier fitted as a linear SVM (``stage3_text.margin``).

The claim to test is an equivalence: with its head fixed, the model is a linear SVM over the
features it pools, so L-BFGS on the squared hinge + L2 must land where scikit-learn's exact
solver (liblinear) lands, and the exported-style forward pass must give the fitted scores.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from common.bundle.textprep import TextEncoder, build_spec
from stage3_text.classifier import ClassifierConfig, TextClassifier, predict_logits
from stage3_text.margin import (
    SPACE_SEPARATED,
    MarginConfig,
    apply_temperature,
    fit_temperature,
    margin_scores,
    pooled_features,
    train_margin_classifier,
)
from stage3_text.sms_data import WRITTEN_PATH, label_ids, read_sms_file
from tests.conftest import assert_one_line_error, run_lesson


@pytest.fixture(scope="module")
def messages() -> tuple[list[str], list[int]]:
    frame = read_sms_file(WRITTEN_PATH)
    return list(frame["text"]), label_ids(frame)


def linear_model(texts: list[str], pooling: str = "sqrt", embed_dim: int = 1
                 ) -> tuple[TextClassifier, TextEncoder]:
    encoder = TextEncoder(build_spec(texts, min_freq=1, buckets=1 << 10, ngram_scope="token",
                                     token_pattern=SPACE_SEPARATED))
    model = TextClassifier(ClassifierConfig.for_spec(encoder.spec, 2, embed_dim=embed_dim,
                                                     dropout=0.0, pooling=pooling))
    return model, encoder


def scores(model: TextClassifier, encoder: TextEncoder, texts: list[str]) -> np.ndarray:
    return margin_scores(predict_logits(model, encoder, texts)).numpy()


@pytest.mark.parametrize("pooling", ["sqrt", "mean"])
def test_the_fit_is_liblinears_svm_on_the_same_features(messages, pooling: str) -> None:
    from sklearn.svm import LinearSVC

    texts, labels = messages
    model, encoder = linear_model(texts, pooling)
    train_margin_classifier(model, encoder, (texts, labels), MarginConfig(c=3.0, word_penalty=1.0),
                            progress=False)
    features = pooled_features(encoder, texts, pooling)
    dense = features.to_dense().numpy()
    # intercept_scaling: liblinear penalises its intercept as a weight on a constant feature;
    # a large constant makes that penalty vanish, as in the trainer (its bias is not penalised)
    reference = LinearSVC(C=3.0, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100_000,
                          intercept_scaling=100.0).fit(dense, labels)
    expected = reference.decision_function(dense)
    np.testing.assert_allclose(scores(model, encoder, texts), expected, atol=2e-3)


def test_the_models_forward_gives_the_scores_of_its_features(messages) -> None:
    texts, labels = messages
    model, encoder = linear_model(texts, embed_dim=4)  # any width: the same linear model
    train_margin_classifier(model, encoder, (texts, labels), MarginConfig(), progress=False)
    direction = torch.full((4,), 0.5)  # unit length along each 4-wide table
    weights = torch.cat([model.word_embedding.weight, model.ngram_embedding.weight]) @ direction
    bias = model.head[-1].bias[1] - model.head[-1].bias[0]
    from_features = torch.sparse.mm(pooled_features(encoder, texts, "sqrt").float(),
                                    weights[:, None]).squeeze(1) + bias
    np.testing.assert_allclose(scores(model, encoder, texts), from_features.detach().numpy(),
                               atol=1e-5)
    assert ((scores(model, encoder, texts) >= 0) == np.asarray(labels, dtype=bool)).mean() > 0.95


def test_rows_never_seen_in_training_stay_zero(messages) -> None:
    texts, labels = messages
    model, encoder = linear_model(texts)
    train_margin_classifier(model, encoder, (texts, labels), MarginConfig(), progress=False)
    _, ngrams = encoder.encode_ragged(texts)
    unseen = np.setdiff1d(np.arange(encoder.spec.ngram_rows), ngrams.values)
    assert len(unseen) > 0
    assert torch.count_nonzero(model.ngram_embedding.weight[torch.from_numpy(unseen)]) == 0
    assert torch.count_nonzero(model.ngram_embedding.weight) > 0


def test_the_svm_formulation_refuses_models_it_does_not_fit(messages) -> None:
    texts, labels = messages
    encoder = TextEncoder(build_spec(texts, buckets=1 << 8))
    for options in ({"num_classes": 3}, {"num_classes": 2, "dropout": 0.5},
                    {"num_classes": 2, "hidden_dim": 8}):
        model = TextClassifier(ClassifierConfig.for_spec(encoder.spec, **{"dropout": 0.0,
                                                                         **options}))
        with pytest.raises(ValueError, match="two classes"):
            train_margin_classifier(model, encoder, (texts, labels), MarginConfig(),
                                    progress=False)


def test_the_temperature_calibrates_without_moving_a_decision(messages) -> None:
    texts, labels = messages
    model, encoder = linear_model(texts)
    train_margin_classifier(model, encoder, (texts, labels), MarginConfig(c=1.0),
                            progress=False)
    before = scores(model, encoder, texts)

    def cross_entropy(z: np.ndarray) -> float:
        y = np.asarray(labels)
        return float(np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)))

    temperature = fit_temperature(before, labels)
    apply_temperature(model, temperature)
    after = scores(model, encoder, texts)
    assert temperature > 0
    np.testing.assert_allclose(after, before / temperature, rtol=1e-5, atol=1e-6)
    assert ((after >= 0) == (before >= 0)).all()
    assert cross_entropy(after) <= cross_entropy(before)


def test_bad_trainer_flags_get_one_line(tmp_path, capsys) -> None:
    module = "stage3_text.spam_classifier"
    assert_one_line_error(run_lesson(module, "--quick", "--word2vec", out=tmp_path,
                                     capsys=capsys))
    with pytest.raises(SystemExit) as stop:  # argparse: usage error, exit 2
        run_lesson(module, "--quick", "--token-pattern", "[a-z]+", out=tmp_path, capsys=capsys)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert stop.value.code == 2 and len(errors) == 1 and "unsupported token pattern" in errors[0]
