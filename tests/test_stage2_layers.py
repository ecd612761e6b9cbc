"""Stage 2: the tour's claims hold, the MLP trains on MNIST-format files or the offline digits."""

from __future__ import annotations

import contextlib
import gzip
import io
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from torchvision.datasets import MNIST

from common import cli
from common.paths import SHIPPED_DATA_DIR
from common.summary import validate
from stage2_layers import layers_tour, mlp_mnist, mnist_data
from stage2_layers.mlp import build_mlp, parse_hidden
from stage2_layers.mnist_data import (
    FALLBACK_NAME,
    MNIST_NAME,
    digits_as_mnist,
    has_mnist,
    normalise,
    pixel_stats,
    read_mnist,
)
from tests.conftest import LessonRun, assert_one_line_error, run_lesson

MLP = "stage2_layers.mlp_mnist"


def lesson_json(run: LessonRun) -> dict[str, Any]:
    document = run.summary
    validate(document)
    return document


def write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's IDX layout, written here independently of the course's own writer."""
    magic = 0x0800 | array.ndim  # zero, zero, type 0x08 (unsigned byte), number of dimensions
    path.write_bytes(struct.pack(f">I{array.ndim}I", magic, *array.shape)
                     + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def idx_root(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """A tiny MNIST in torchvision's layout: scikit-learn digits blown up 3× and padded to 28×28."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    big = np.kron(digits.images, np.ones((3, 3))) * (255 / 16)  # 8×8 → 24×24
    images = np.pad(big, ((0, 0), (2, 2), (2, 2))).round().astype(np.uint8)
    arrays = {
        "train-images-idx3-ubyte": images[:600], "train-labels-idx1-ubyte": digits.target[:600],
        "t10k-images-idx3-ubyte": images[600:700], "t10k-labels-idx1-ubyte": digits.target[600:700],
    }
    root = tmp_path_factory.mktemp("torchvision-root")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(raw / name, array)
    return root, arrays


def run_quietly(module: Any, argv: list[str]) -> LessonRun:
    """``module.main(argv)`` in this process with its output captured (for module fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = module.main(argv)
    return LessonRun(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def fallback_runs(tmp_path_factory) -> list[LessonRun]:
    """Quick one-epoch runs with no data present: seed 0, seed 0 again, then seed 1."""
    folder = tmp_path_factory.mktemp("fallback")
    common = ["--quick", "--epochs", "1", "--data-dir", str(folder / "no-data"),
              "--out", str(folder / "out"), "--json"]
    return [run_quietly(mlp_mnist, [*common, "--seed", seed]) for seed in ("0", "0", "1")]


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory) -> dict[str, Any]:
    """``mlcourse run 2 --quick --json`` once, in this process, writing under a temporary cwd."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("stage2-run"))
        run = run_quietly(cli, ["run", "2", "--quick", "--json"])
    document = run.summary
    validate(document, "stage_run")
    assert run.code == 0, [lesson["failed_checks"] for lesson in document["lessons"]]
    return document


def lesson_of(stage_run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(lesson for lesson in stage_run["lessons"] if lesson["lesson"] == name)


# ------------------------------------------------------------------------------ the whole stage
def test_quick_stage_run_passes_in_under_20_seconds(stage_run):
    assert stage_run["passed"]
    assert [lesson["lesson"] for lesson in stage_run["lessons"]] == ["layers_tour", "mlp_mnist"]
    assert stage_run["seconds"] < 20


def test_mlp_trains_below_its_loss_threshold(stage_run):
    summary = lesson_of(stage_run, "mlp_mnist")
    assert summary["kind"] == "train" and summary["passed"]
    assert summary["loss_threshold"] == mlp_mnist.QUICK_LOSS_THRESHOLD
    assert summary["final_loss"] <= mlp_mnist.QUICK_LOSS_THRESHOLD
    assert summary["metrics"]["test_accuracy"] >= mlp_mnist.QUICK_ACCURACY_BAR
    history = summary["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    names = {Path(path).name for path in summary["outputs"]}
    assert names == {"loss_curves.png", "confusion_matrix.png", "misclassified.png",
                     "mlp_mnist.safetensors"}


def test_saved_weights_rebuild_the_model(stage_run):
    path = next(Path(p) for p in lesson_of(stage_run, "mlp_mnist")["outputs"]
                if p.endswith(".safetensors"))
    model = build_mlp(tuple(lesson_of(stage_run, "mlp_mnist")["model"]["hidden"]),
                      dropout=mlp_mnist.DEFAULT_DROPOUT)
    model.load_state_dict(load_file(str(path)))  # strict: every name and shape must match


def test_tour_passes_every_claim(stage_run):
    summary = lesson_of(stage_run, "layers_tour")
    assert summary["kind"] == "tour" and summary["passed"], summary["failed_checks"]
    metrics = summary["metrics"]
    assert metrics["relu_moons_accuracy"] >= layers_tour.MOONS_MLP_BAR
    assert metrics["linear_moons_accuracy"] <= layers_tour.MOONS_LINEAR_CEILING
    assert metrics["first_layer_grad_ratio"] < layers_tour.vanishing_bar(layers_tour.DEEP_DEPTH)
    assert len(summary["gradient_norms"]["sigmoid"]) == layers_tour.DEEP_DEPTH + 1


# ------------------------------------------------------------------------------------ the tour
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_vanish_through_sigmoids_but_not_relus(seed):
    x, y = layers_tour.digits_batch()
    sigmoid = layers_tour.gradient_norms(nn.Sigmoid, x, y, seed=seed)
    relu = layers_tour.gradient_norms(nn.ReLU, x, y, seed=seed)
    assert sigmoid[0] < layers_tour.vanishing_bar(layers_tour.DEEP_DEPTH) * relu[0]
    assert sigmoid[0] < 1e-3 * sigmoid[-1]  # it shrinks on the way back to the input
    assert max(relu) / min(relu) <= layers_tour.RELU_SPREAD


@pytest.mark.parametrize("depth", [4, 30])
def test_the_vanishing_bar_follows_the_depth_a_learner_tries(depth):
    x, y = layers_tour.digits_batch()
    sigmoid = layers_tour.gradient_norms(nn.Sigmoid, x, y, depth=depth)
    relu = layers_tour.gradient_norms(nn.ReLU, x, y, depth=depth)
    assert sigmoid[0] / relu[0] < layers_tour.vanishing_bar(depth)
    assert max(relu) / min(relu) <= layers_tour.RELU_SPREAD


def test_activation_slopes_match_their_formulas():
    z = torch.linspace(-4, 4, 81)
    curves = layers_tour.activation_curves(z)
    relu = curves["ReLU"].slopes
    assert torch.equal(relu[z < 0], torch.zeros_like(relu[z < 0]))
    assert torch.equal(relu[z > 0], torch.ones_like(relu[z > 0]))
    sigmoid = torch.sigmoid(z)
    assert torch.allclose(curves["sigmoid"].slopes, sigmoid * (1 - sigmoid), atol=1e-6)
    assert torch.allclose(curves["tanh"].slopes, 1 - torch.tanh(z) ** 2, atol=1e-6)


def test_stacked_linear_layers_collapse_to_one_linear_map():
    model = build_mlp((8, 8), in_features=2, classes=2, activation=nn.Identity)
    first, _, second, _, third = list(model)[1:]
    weight = third.weight @ second.weight @ first.weight
    bias = third.weight @ (second.weight @ first.bias + second.bias) + third.bias
    x = torch.randn(5, 2)
    assert torch.allclose(model(x), x @ weight.T + bias, atol=1e-5)


# ------------------------------------------------------------------------------------ the data
def test_fallback_is_taken_and_reported_without_data(fallback_runs):
    run = fallback_runs[0]
    summary = lesson_json(run)
    assert summary["dataset"] == FALLBACK_NAME
    assert "offline fallback" in run.stdout
    assert summary["data"]["test"] == 360
    assert summary["data"]["train"] + summary["data"]["validation"] == 1437


def test_fallback_digits_look_like_mnist():
    data = digits_as_mnist()
    assert data.train.images.shape == (1437, 28, 28) and data.test.images.shape == (360, 28, 28)
    assert data.train.images.dtype == torch.uint8 and int(data.train.images.max()) == 255
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False
    assert int(data.train.images[:, border].max()) == 0  # digits sit in the central 20×20 box
    assert torch.bincount(data.test.labels).min() >= 35  # a stratified test split
    assert torch.equal(digits_as_mnist().test.labels, data.test.labels)  # and a fixed one


def test_torchvision_reads_the_idx_fixture_exactly(idx_root):
    root, arrays = idx_root
    assert has_mnist(root)
    data = read_mnist(root)
    assert data.name == MNIST_NAME
    assert np.array_equal(data.train.images.numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(data.test.labels.numpy(), arrays["t10k-labels-idx1-ubyte"])


def test_download_tries_every_mirror_with_md5_and_unpacks(idx_root, tmp_path, monkeypatch):
    source, arrays = idx_root
    requests = []

    def fake_download(urls, dest, *, checksum):
        requests.append((dest.name, urls, checksum))
        raw = (source / "MNIST" / "raw" / dest.name.removesuffix(".gz")).read_bytes()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(gzip.compress(raw))
        return dest

    monkeypatch.setattr(mnist_data, "download", fake_download)
    data = mnist_data.load_digit_data(tmp_path)
    assert data.name == MNIST_NAME
    assert sorted(name for name, _, _ in requests) == sorted(name for name, _ in MNIST.resources)
    for name, urls, checksum in requests:
        assert urls == [mirror + name for mirror in MNIST.mirrors]
        assert checksum == "md5:" + dict(MNIST.resources)[name]
    assert np.array_equal(data.train.images.numpy(), arrays["train-images-idx3-ubyte"])
    assert not [path for path in (tmp_path / "MNIST" / "raw").iterdir() if path.name[0] == "."]


def test_mlp_reports_mnist_when_torchvision_read_the_files(idx_root, tmp_path, capsys):
    root, _ = idx_root
    run = run_lesson(MLP, "--quick", "--epochs", "2", "--data-dir", str(root), out=tmp_path,
                     capsys=capsys)
    summary = lesson_json(run)
    assert summary["dataset"] == MNIST_NAME
    assert "offline fallback" not in run.stdout
    assert summary["data"]["train"] + summary["data"]["validation"] == 600
    assert summary["data"]["test"] == 100


def test_normalisation_uses_training_statistics():
    images = torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8)
    mean, std = pixel_stats(images)
    x = normalise(images, mean, std)
    assert x.shape == (50, 1, 28, 28) and x.dtype == torch.float32
    assert abs(x.mean().item()) < 1e-4 and abs(x.std().item() - 1) < 1e-4


def test_same_seed_gives_identical_losses(fallback_runs):
    def losses(run: LessonRun) -> list[float]:
        summary = lesson_json(run)
        return [record["train_loss"] for record in summary["history"]] + [summary["final_loss"]]

    first, again, other_seed = (losses(run) for run in fallback_runs)
    assert again == first
    assert other_seed != first


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("flags", [["--epochs", "-1"], ["--hidden", "abc"], ["--device", "tpu"],
                                   ["--dropout", "1"], ["--hidden", "256,,128"]])
def test_bad_flags_exit_2_with_one_line(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        mlp_mnist.main([*flags, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert_one_line_error(LessonRun(stopped.value.code, captured.out, captured.err))


def test_unreadable_mnist_files_exit_2(tmp_path, capsys):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not an IDX file")
    run = run_lesson(MLP, "--quick", "--data-dir", str(tmp_path), out=tmp_path, capsys=capsys)
    assert_one_line_error(run)
    assert "unreadable" in run.stderr


def test_data_dir_that_is_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    run = run_lesson(MLP, "--quick", "--data-dir", str(tmp_path / "file"), out=tmp_path,
                     capsys=capsys)
    assert_one_line_error(run)


def test_mnist_bar_follows_the_training_set_size():
    """98% at full size; an 8,000-image root (7,200 after validation) that reaches 96.25% passes."""
    assert mlp_mnist.mnist_accuracy_bar(54_000) == pytest.approx(0.98)
    assert mlp_mnist.mnist_accuracy_bar(60_000) == pytest.approx(0.98)
    assert 0.95 < mlp_mnist.mnist_accuracy_bar(7_200) <= 0.9625
    assert mlp_mnist.mnist_accuracy_bar(1_000) < mlp_mnist.mnist_accuracy_bar(7_200)


def test_a_small_real_format_mnist_root_gets_the_bar_of_its_size(tmp_path, capsys):
    """8,000 training images in MNIST's files: the lesson measures against its size's bar."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(digits.target), size=10_000)
    big = np.kron(digits.images[picks], np.ones((3, 3))) * (255 / 16)  # 8×8 → 24×24
    images = np.zeros((len(picks), 28, 28))
    for index, (dy, dx) in enumerate(rng.integers(0, 3, size=(len(picks), 2))):
        images[index, dy:dy + 24, dx:dx + 24] = big[index]  # shifted copies, not repeats
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, part in (("train", slice(0, 8_000)), ("t10k", slice(8_000, None))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[part].round())
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", digits.target[picks[part]])
    run = run_lesson(MLP, "--data-dir", str(tmp_path / "root"), "--epochs", "5",
                     out=tmp_path / "out", capsys=capsys)
    summary = lesson_json(run)
    assert summary["dataset"] == MNIST_NAME and summary["data"]["train"] == 7_200
    assert summary["accuracy_bar"] == pytest.approx(mlp_mnist.mnist_accuracy_bar(7_200))
    assert summary["metrics"]["test_accuracy"] >= summary["accuracy_bar"]
    assert run.code == 0 and summary["passed"], summary["failed_checks"]


def test_hidden_widths_parse():
    assert parse_hidden("256") == (256,)
    assert parse_hidden("512, 256") == (512, 256)
    for bad in ("", "0", "1,,2", "-3", "2.5"):
        with pytest.raises(Exception, match="layer widths"):
            parse_hidden(bad)


# ------------------------------------------------------------------------ slow: real MNIST, bench
@pytest.mark.slow
def test_full_mnist_reaches_98_percent(tmp_path, capsys):
    if not has_mnist(SHIPPED_DATA_DIR):
        pytest.skip(f"MNIST is not in {SHIPPED_DATA_DIR}/MNIST/raw "
                    "(run python -m stage2_layers.mlp_mnist online once to download it)")
    run = run_lesson(MLP, out=tmp_path, capsys=capsys)
    summary = lesson_json(run)
    assert summary["dataset"] == MNIST_NAME
    assert summary["metrics"]["test_accuracy"] >= summary["accuracy_bar"] == pytest.approx(0.98)
    assert run.code == 0 and summary["passed"], summary["failed_checks"]


@pytest.mark.bench
def test_in_memory_batches_beat_the_dataloader(tmp_path, capsys):
    from stage2_layers import bench_loading

    run = run_lesson("stage2_layers.bench_loading", out=tmp_path, capsys=capsys)
    summary = lesson_json(run)
    print(run.stdout)  # make bench runs with -s: show the table
    assert summary["images"] >= 60_000 and summary["repeats"] >= 3
    assert summary["metrics"]["speedup_vs_dataloader"] >= bench_loading.SPEEDUP_BAR
    assert summary["metrics"]["ratio_to_compute_floor"] <= bench_loading.FLOOR_RATIO_BAR
    assert run.code == 0
