"""Stage 1: the loop learns the true line, hand gradients equal autograd, the pitfalls show."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from common.summary import validate
from stage1_basics import linear_regression, manual_gradients
from stage1_basics.linear_regression import (
    LOSS_THRESHOLD,
    NOISE_STD,
    PARAMETER_TOLERANCE,
    TRUE_BIAS,
    TRUE_WEIGHT,
)
from tests.conftest import assert_one_line_error, run_lesson, run_module


@pytest.fixture(scope="module")
def linear_data():
    return linear_regression.make_linear_data(500, torch.Generator().manual_seed(0))


def test_linear_regression_learns_the_true_line(tmp_path, capsys):
    run = run_lesson("stage1_basics.linear_regression", "--quick", out=tmp_path, capsys=capsys)
    summary = run.summary
    validate(summary)
    assert run.code == 0 and summary["passed"]
    assert LOSS_THRESHOLD == pytest.approx(1.2 * NOISE_STD**2)
    assert summary["final_loss"] <= LOSS_THRESHOLD
    assert abs(summary["metrics"]["weight"] - TRUE_WEIGHT) <= PARAMETER_TOLERANCE
    assert abs(summary["metrics"]["bias"] - TRUE_BIAS) <= PARAMETER_TOLERANCE
    assert (tmp_path / "loss_curve.png").stat().st_size > 0
    assert (tmp_path / "fit.png").stat().st_size > 0


def test_same_seed_gives_identical_losses(tmp_path):
    parser = linear_regression.build_parser()
    first = linear_regression.run(parser.parse_args(["--quick", "--out", str(tmp_path)]))
    second = linear_regression.run(parser.parse_args(["--quick", "--out", str(tmp_path)]))
    other = linear_regression.run(parser.parse_args(["--quick", "--seed", "1",
                                                     "--out", str(tmp_path)]))
    assert first.final_loss == second.final_loss
    assert first.metrics == second.metrics
    assert other.final_loss != first.final_loss


def test_the_hand_written_loop_and_fit_give_identical_losses(linear_data):
    """Stage 2's ``fit`` is stage 1's loop lifted into a function: same seed, same losses."""
    from torch import nn

    from common.training import TensorBatches, fit

    losses = {}
    for name in ("by hand", "fit"):
        torch.manual_seed(0)
        model = nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
        batches = TensorBatches(linear_data.x, linear_data.y, batch_size=32, shuffle=True,
                                generator=torch.Generator().manual_seed(0))
        if name == "by hand":
            losses[name] = linear_regression.train(model, nn.MSELoss(), optimizer, batches, 5,
                                                   progress=False)
        else:
            losses[name] = fit(model, nn.MSELoss(), optimizer, batches, epochs=5,
                               device=torch.device("cpu"), progress=False).train_losses
        losses[name].append(model.weight.item())
    assert losses["by hand"] == losses["fit"]


def test_the_lesson_judges_the_model_on_held_out_points(tmp_path):
    summary = linear_regression.run(linear_regression.build_parser().parse_args(
        ["--quick", "--out", str(tmp_path)]))
    assert summary.final_loss == summary.metrics["held_out_mse"]
    assert summary.final_loss != summary.metrics["train_mse_last_epoch"]
    generator = torch.Generator().manual_seed(0)
    train, held_out = linear_regression.split_held_out(
        linear_regression.make_linear_data(1000, generator), generator)
    assert (len(train.x), len(held_out.x)) == (800, 200)
    assert not set(train.x.flatten().tolist()) & set(held_out.x.flatten().tolist())


def test_the_lesson_writes_its_loop_out():
    source = Path(linear_regression.__file__).read_text(encoding="utf-8")
    loop = source[source.index("def train("):source.index("def mean_squared_error")]
    order = [loop.index(call) for call in ("model(x)", "loss_fn(prediction, y)",
                                           "optimizer.zero_grad()", "loss.backward()",
                                           "optimizer.step()")]
    assert order == sorted(order)
    assert "common.training import TensorBatches\n" in source  # not fit: the loop is here


def test_manual_gradients_prints_the_stability_limit(linear_data):
    limit = manual_gradients.largest_stable_learning_rate(linear_data.x.numpy())
    assert manual_gradients.LEARNING_RATES["converges"] < limit < \
        manual_gradients.LEARNING_RATES["too large"]
    assert not manual_gradients.train_with_lr(linear_data, 0.95 * limit, 100)[1]
    assert manual_gradients.train_with_lr(linear_data, 1.2 * limit, 300)[1]


def test_hand_derived_gradients_equal_autograd(linear_data):
    x, y = linear_data.x.double().numpy(), linear_data.y.double().numpy()
    for w, b in [(0.0, 0.0), (0.3, -0.2), (5.0, 3.0)]:
        hand = manual_gradients.mse_gradients_numpy(x, y, w, b)
        auto = manual_gradients.mse_gradients_autograd(linear_data, w, b)
        assert hand == pytest.approx(auto, abs=1e-6)


def test_forgetting_zero_grad_accumulates_gradients(linear_data):
    assert manual_gradients.accumulated_gradient_ratio(linear_data) == pytest.approx(2.0)


def test_a_hand_written_step_equals_optimizer_step(linear_data):
    assert manual_gradients.compare_update_steps(linear_data) == 0.0


def test_learning_rates_crawl_converge_and_diverge(linear_data):
    small, small_diverged = manual_gradients.train_with_lr(linear_data, 1e-4, 30)
    good, good_diverged = manual_gradients.train_with_lr(linear_data, 0.1, 30)
    large, large_diverged = manual_gradients.train_with_lr(linear_data, 1.0, 100)
    assert not small_diverged and not good_diverged and large_diverged
    assert good[-1] < 1.2 * NOISE_STD**2 < small[-1]
    assert len(large) < 100


@pytest.mark.parametrize("lesson", ["manual_gradients", "autograd_tour"])
def test_tours_pass_their_checks(lesson, tmp_path, capsys):
    run = run_lesson(f"stage1_basics.{lesson}", "--quick", out=tmp_path, capsys=capsys)
    validate(run.summary)
    assert run.code == 0, run.summary["failed_checks"]
    assert run.summary["passed"]


def test_bad_values_exit_2_with_one_line_in_a_real_process(tmp_path):
    for argv in (["--epochs", "-1"], ["--device", "tpu"]):
        run = run_module("stage1_basics.linear_regression", *argv, cwd=tmp_path)
        assert_one_line_error(run)
