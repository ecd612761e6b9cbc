"""The exercises keep their promises: solutions pass, stubs fail, wrong answers fail with a hint.

Checks run in this process (importing torch once, not per check); a few tests go through the
real ``mlcourse`` command in a subprocess, as a learner would, for the time limit and progress.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common import cli
from common.checks import CheckResult, checks_of, run_checks
from common.registry import STAGES, exercises, find_exercise
from tests.conftest import PROJECT_ROOT, assert_one_line_error, require, run_module

MUTANTS = PROJECT_ROOT / "tests" / "exercise_mutants"
NEEDS_SERVE = {"5a.1"}
# mutant file → (exercise, the check that must fail, words its hint must contain)
WRONG_ANSWERS = {
    "s1_training_loop_no_zero_grad.py": ("1.1", "zeroes_before_backward", "zero_grad()"),
    "s1_training_loop_step_before_backward.py": ("1.1", "steps_after_backward",
                                                 "optimizer.step() called after"),
    "s1_mse_gradients_no_factor_2.py": ("1.2", "equals_autograd_flat", "mind the 2"),
    "s1_sgd_step_no_clear.py": ("1.3", "clears_gradients", "p.grad = None"),
    "s1_learning_rate_nan_converges.py": ("1.4", "lesson_data", "math.isfinite"),
    "s2_relu_function_unmasked.py": ("2.1", "backward_masks_gradient", "(x > 0)"),
    "s2_digits_mlp_no_relu.py": ("2.2", "not_linear", "nn.ReLU()"),
    "s2_vanishing_gradients_no_root.py": ("2.3", "depths_4_to_12", "root"),
    "s3_vocabulary_unknown_is_padding.py": ("3.1", "encodes", "never 0"),
    "s3_one_hot_embedding_short_one_hot.py": ("3.2", "unused_rows", "num_classes"),
    "s3_masked_mean_counts_padding.py": ("3.3", "equals_masked_mean", "real words"),
    "s3_spam_filter_always_ham.py": ("3.4", "beats_the_f1_bar", "F1 0"),
    "s4_row_accounting_silent_duplicates.py": ("4.1", "exact_accounting", "also the duplicates"),
    "s4_leak_free_split_rows_not_groups.py": ("4.2", "no_leakage", "split the groups"),
    "s4_precision_recall_swapped_axes.py": ("4.3", "three_classes", "whole column"),
    "s4_recall_threshold_lowest.py": ("4.4", "highest", "k-th"),
    "s5a_predict_endpoint_accepts_empty.py": ("5a.1", "refuses_blank_text", "min_length=1"),
    "s5a_onnx_export_fixed_batch.py": ("5a.2", "dynamic_batch", "dynamic_shapes"),
    "s5a_business_case_false_positive_share.py": ("5a.3", "error_counts", "flagged − true"),
    "s5b_int8_quantization_no_gather.py": ("5b.1", "smaller", "'Gather'"),
    "s5b_magnitude_pruning_by_value.py": ("5b.2", "by_magnitude", "weight.abs()"),
    "s5b_offline_classifier_uses_torch.py": ("5b.3", "torch_free", "import only numpy"),
}
IDS = [ref.id for ref in exercises()]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small models on a shared machine: one thread is several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def module_path(module: str) -> Path:
    return Path(importlib.import_module(module).__file__)


def checked(exercise_id: str, path: Path, seconds: float = 60) -> dict[str, CheckResult]:
    if exercise_id in NEEDS_SERVE:
        require("fastapi", "serve")
        require("httpx", "serve")
    ref = find_exercise(exercise_id)
    return {result.name: result for result in run_checks(ref.module("checks"), path,
                                                         seconds=seconds)}


def test_at_least_20_exercises_and_3_per_stage_with_unique_ids():
    assert len(IDS) >= 20 and len(set(IDS)) == len(IDS)
    for stage in STAGES:
        assert len(stage.exercises) >= 3, stage.package
    for ref in exercises():
        checks = checks_of(importlib.import_module(ref.module("checks")))
        assert len(checks) >= 2, ref.id
        assert all(function.check_hint for function in checks), ref.id


def test_every_exercise_has_at_least_one_wrong_answer_here():
    assert {exercise_id for exercise_id, _, _ in WRONG_ANSWERS.values()} == set(IDS)
    assert {path.name for path in MUTANTS.glob("s*.py")} >= set(WRONG_ANSWERS)


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes(exercise_id):
    ref = find_exercise(exercise_id)
    results = checked(exercise_id, module_path(ref.module("solutions")))
    failed = {name: (r.expected, r.seen) for name, r in results.items() if not r.passed}
    assert not failed


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_untouched_stub_fails_every_check_without_a_traceback(exercise_id):
    ref = find_exercise(exercise_id)
    results = checked(exercise_id, module_path(ref.module("exercises")))
    assert results and not any(r.passed for r in results.values())
    for result in results.values():
        assert "NotImplementedError" in result.seen and not result.learner_traceback


@pytest.mark.parametrize("mutant", sorted(WRONG_ANSWERS))
def test_a_wrong_answer_fails_with_the_intended_hint(mutant):
    exercise_id, check_name, hint = WRONG_ANSWERS[mutant]
    results = checked(exercise_id, MUTANTS / mutant)
    assert not results[check_name].passed, f"{mutant} passed {check_name}"
    assert hint in results[check_name].hint
    assert results[check_name].expected and results[check_name].seen


def test_a_loop_that_never_ends_fails_cleanly_in_process():
    results = checked("1.1", MUTANTS / "s1_training_loop_endless.py", seconds=1)
    assert not any(r.passed for r in results.values())
    assert all("never ends" in r.hint for r in results.values())


def test_an_error_in_the_learners_code_shows_only_their_frames():
    result = checked("1.2", MUTANTS / "s1_mse_gradients_typo.py")["equals_autograd_flat"]
    assert not result.passed and "NameError" in result.seen
    assert "s1_mse_gradients_typo.py" in result.learner_traceback
    assert "common" not in result.learner_traceback and "checks" not in result.learner_traceback


def test_a_file_that_does_not_import_fails_one_check(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def mse_gradients(x, y, w, b)\n    return 0, 0\n", encoding="utf-8")
    results = checked("1.2", broken)
    assert list(results) == ["file_loads"] and "SyntaxError" in results["file_loads"].seen


# ----------------------------------------------------------------------------- the commands
def mlcourse(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "common.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT),
                               "MLCOURSE_HOME": str(home)})


def test_exercises_json_lists_every_exercise(capsys):
    assert cli.main(["exercises", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["exercises"]
    assert [row["id"] for row in listed] == IDS
    for row in listed:
        assert set(row) == {"id", "stage", "title", "stub", "solution"}
        assert (PROJECT_ROOT / row["stub"]).is_file() and (PROJECT_ROOT / row["solution"]).is_file()


def test_start_copies_the_stub_and_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["start", "1.2"]) == 0
    copy = tmp_path / "my_exercises" / "ex1.2_mse_gradients.py"
    assert "raise NotImplementedError" in copy.read_text(encoding="utf-8")
    copy.write_text("# my work\n", encoding="utf-8")
    assert cli.main(["start", "1.2"]) == 0
    assert copy.read_text(encoding="utf-8") == "# my work\n"
    assert "kept as it is" in capsys.readouterr().out


def test_solution_prints_the_reference_answer(capsys):
    assert cli.main(["solution", "4.3"]) == 0
    assert "def precision_recall" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["check", "9.9"], ["start", "nope"], ["solution", "0"],
                                  ["check", "1.2"], ["check", "1.2", "--time-limit", "0"]])
def test_bad_exercise_usage_exits_2_with_one_line(argv, tmp_path):
    assert_one_line_error(run_module("common.cli", *argv, cwd=tmp_path))


def test_check_status_and_progress_through_the_real_command(tmp_path):
    # 4.1's check needs no torch, so these real processes start in a fraction of a second.
    home = tmp_path / "home"
    assert mlcourse("start", "4.1", cwd=tmp_path, home=home).returncode == 0
    stub = mlcourse("check", "4.1", cwd=tmp_path, home=home)  # the workspace copy, untouched
    assert stub.returncode == 1 and "Traceback" not in stub.stdout + stub.stderr
    assert "expected:" in stub.stdout and "hint:" in stub.stdout

    solution = mlcourse("check", "4.1", "--solution", "--json", cwd=tmp_path, home=home)
    assert solution.returncode == 0, solution.stdout
    assert json.loads(solution.stdout.strip().splitlines()[-1])["passed"]

    mine = tmp_path / "mine.py"
    mine.write_text(module_path("stage4_own_data.solutions.row_accounting").read_text("utf-8"),
                    encoding="utf-8")
    assert mlcourse("check", "4.1", "--file", str(mine), cwd=tmp_path, home=home).returncode == 0

    status = mlcourse("status", "--json", cwd=tmp_path, home=home)
    document = json.loads(status.stdout.strip().splitlines()[-1])
    assert document["exercises_passed"] == ["4.1"]  # the --solution run did not count
    assert document["path"] == str(home / "progress.json") and str(home) in status.stdout
    progress = json.loads((home / "progress.json").read_text(encoding="utf-8"))
    assert progress["exercises"]["4.1"]["attempts"] == 2


def test_an_endless_loop_is_stopped_by_the_command(tmp_path):
    endless = tmp_path / "endless.py"
    endless.write_text("def clean(rows):\n    while True:\n        pass\n", encoding="utf-8")
    run = mlcourse("check", "4.1", "--file", str(endless), "--time-limit", "1", cwd=tmp_path,
                   home=tmp_path / "home")
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "loop that never ends" in run.stdout


def test_lessons_count_in_status(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLCOURSE_HOME", str(tmp_path / "home"))
    from stage1_basics import autograd_tour

    assert autograd_tour.main(["--quick", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stage1 = next(row for row in document["stages"] if row["stage"] == "1")
    assert stage1["lessons"] == {"total": 3, "run": 1, "passed": 1}
    assert stage1["exercises"]["passed"] == 0
