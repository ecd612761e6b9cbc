"""The shared toolkit: the training loop, batching, downloads, the summary schema, flags."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import torch
from torch import nn

from common.data.download import DownloadError, download, file_digest, with_fallback
from common.devices import pick_device
from common.errors import NonFiniteLossError, UsageError
from common.lesson import lesson_parser, print_summary
from common.metrics import binary_metrics, classification_metrics, regression_metrics
from common.summary import LessonSummary, validate
from common.training import TensorBatches, evaluate, fit


def regression_problem(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


# --- batching -------------------------------------------------------------------------------
def test_tensor_batches_cover_every_row_once_and_reshuffle_each_epoch():
    x = torch.arange(10)
    batches = TensorBatches(x, x * 2, batch_size=3, shuffle=True,
                            generator=torch.Generator().manual_seed(1))
    first = torch.cat([b[0] for b in batches])
    second = torch.cat([b[0] for b in batches])
    assert len(batches) == 4
    assert sorted(first.tolist()) == list(range(10))
    assert not torch.equal(first, second)
    assert all(torch.equal(b[1], b[0] * 2) for b in batches)


def test_tensor_batches_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="common length"):
        TensorBatches(torch.zeros(3), torch.zeros(4), batch_size=2)


# --- the loop ---------------------------------------------------------------------------------
def test_fit_drives_the_loss_down_and_records_history():
    torch.manual_seed(0)
    x, y = regression_problem()
    model = nn.Linear(3, 1)
    history = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  TensorBatches(x, y, batch_size=32), epochs=20, device=torch.device("cpu"),
                  val_batches=TensorBatches(x, y, batch_size=64), progress=False)
    assert len(history.records) == 20
    assert history.train_losses[-1] < 1e-3 < history.train_losses[0]
    assert history.val_losses[-1] == pytest.approx(
        evaluate(model, nn.MSELoss(), TensorBatches(x, y, batch_size=7),
                 torch.device("cpu")).loss, rel=1e-5)


def test_fit_stops_with_a_clear_error_when_the_loss_diverges():
    x, y = regression_problem()
    model = nn.Linear(3, 1)
    with pytest.raises(NonFiniteLossError, match="smaller learning rate"):
        fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=50.0),
            TensorBatches(x, y * 1e3, batch_size=256), epochs=200, device=torch.device("cpu"),
            progress=False)


def test_early_stopping_restores_the_best_epoch():
    torch.manual_seed(0)
    x, y = regression_problem(64)
    model = nn.Linear(3, 1)
    # Validation targets unrelated to training: validation loss soon stops improving.
    val = TensorBatches(x, -y, batch_size=64)
    history = fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  TensorBatches(x, y, batch_size=16), epochs=50, device=torch.device("cpu"),
                  val_batches=val, patience=3, progress=False)
    assert history.stopped_early
    best = min(history.val_losses)
    assert history.val_losses[history.best_epoch - 1] == best
    restored = evaluate(model, nn.MSELoss(), val, torch.device("cpu")).loss
    assert restored == pytest.approx(best, rel=1e-6)


def test_patience_without_validation_is_refused():
    x, y = regression_problem(8)
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="validation"):
        fit(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            TensorBatches(x, y, batch_size=4), epochs=2, device=torch.device("cpu"), patience=2)


# --- devices ----------------------------------------------------------------------------------
def test_auto_device_falls_back_to_what_exists():
    device = pick_device("auto")
    assert device.type in {"cuda", "mps", "cpu"}
    if not torch.cuda.is_available():
        assert device.type != "cuda"
        with pytest.raises(UsageError, match="no CUDA"):
            pick_device("cuda")


# --- downloads --------------------------------------------------------------------------------
def fake_fetch(payloads: dict[str, bytes | Exception]):
    calls: list[str] = []

    def fetch(url: str, target: Path, timeout: float) -> None:
        calls.append(url)
        payload = payloads[url]
        if isinstance(payload, Exception):
            raise payload
        target.write_bytes(payload)

    return fetch, calls


def test_download_tries_the_mirror_and_verifies_the_checksum(tmp_path, monkeypatch):
    monkeypatch.delenv("MLCOURSE_OFFLINE")
    good = b"real data"
    (tmp_path / "ref").write_bytes(good)
    checksum = "sha256:" + file_digest(tmp_path / "ref")
    fetch, calls = fake_fetch({"http://a/f": OSError("503"), "http://b/f": good})
    dest = download(["http://a/f", "http://b/f"], tmp_path / "cache" / "f", checksum=checksum,
                    retries=2, backoff_seconds=0, fetch=fetch)
    assert dest.read_bytes() == good
    assert calls == ["http://a/f", "http://a/f", "http://b/f"]
    # Cached now: no second fetch.
    download(["http://a/f"], dest, checksum=checksum, fetch=fake_fetch({})[0])


def test_download_never_keeps_a_corrupt_or_partial_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MLCOURSE_OFFLINE")
    fetch, _ = fake_fetch({"http://a/f": b"tampered"})
    with pytest.raises(DownloadError, match="checksum"):
        download(["http://a/f"], tmp_path / "f", checksum="md5:" + "0" * 32, retries=1,
                 backoff_seconds=0, fetch=fetch)
    assert list(tmp_path.iterdir()) == []


def test_offline_mode_fails_fast_and_the_fallback_is_announced(tmp_path):
    said: list[str] = []

    def primary() -> str:
        download(["http://unreachable.invalid/f"], tmp_path / "f")
        return "real"

    result, fell_back = with_fallback(primary, lambda: "fallback", announce=said.append)
    assert (result, fell_back) == ("fallback", True)
    assert "MLCOURSE_OFFLINE" in said[0]


# --- summary and schema -----------------------------------------------------------------------
def test_summary_passes_only_when_every_check_holds():
    summary = LessonSummary("stage1_basics", "x", "train", dataset="d", final_loss=0.5,
                            loss_threshold=0.4, metrics={"acc": 0.9})
    assert not summary.passed
    assert summary.failed_checks == ["held-out loss 0.5 <= loss bar 0.4"]
    validate(summary.to_json())


def test_human_summary_names_the_loss_and_rounds_every_figure(capsys):
    summary = LessonSummary("stage3_text", "x", "train", dataset="d", final_loss=0.0456674063,
                            loss_threshold=2.4953314, metrics={"f1_spam": 0.965663112})
    print_summary(summary)
    shown = capsys.readouterr().out
    assert "held-out loss 0.04567 (loss bar 2.495)" in shown
    assert "0.9657" in shown and "0.965663" not in shown and "2.49533" not in shown
    assert "threshold" not in shown  # the loss bar is not a decision threshold


def test_flags_must_be_spelt_in_full(capsys):
    parser = lesson_parser("stage9_x.lesson", "test", epochs=3)
    parser.add_argument("--text-column")
    assert parser.parse_args(["--text-column", "1"]).text_column == "1"
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--text-colum", "1"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --text-colum" in capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["--seed", "-1"], "--seed"), (["--seed", "99999999999999999999"], "--seed"),
    (["--seed", "x"], "--seed"), (["--out", "FILE"], "is a file"),
    (["--out", "FILE/below"], "which is a file")])
def test_out_of_range_seeds_and_unusable_out_paths_are_one_line(argv, needle, tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("the learner's notes")
    parser = lesson_parser("stage9.lesson", "A lesson", epochs=1)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args([arg.replace("FILE", str(target)) for arg in argv])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and needle in error and len(error.strip().splitlines()) == 1
    assert target.read_text() == "the learner's notes"
    assert parser.parse_args(["--seed", str(2**32 - 1)]).seed == 2**32 - 1


def test_an_unwritable_out_folder_is_one_clear_error(tmp_path):
    from common.paths import runs_dir

    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        runs_dir("stage9", "lesson", tmp_path / "file")
    with pytest.raises(UsageError, match="cannot write"):
        runs_dir("stage9", "lesson", Path("/proc/no_such_folder"))


def test_ctrl_c_before_main_is_one_line(capsys):
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    code = "import stage1_basics\nraise KeyboardInterrupt"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode != 0 and result.stderr.strip() == "error: interrupted"


def test_schema_rejects_malformed_summaries():
    good = LessonSummary("stage1_basics", "x", "tour").to_json()
    validate(good)
    for broken in ({**good, "kind": "other"}, {**good, "passed": "yes"},
                   {k: v for k, v in good.items() if k != "seconds"},
                   {**good, "kind": "train"}):  # a train summary needs a loss and a threshold
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_non_finite_figures_become_null():
    data = LessonSummary("stage1_basics", "x", "tour", metrics={"m": math.nan}).to_json()
    assert data["metrics"]["m"] is None
    validate(data)


# --- metrics ----------------------------------------------------------------------------------
def test_metric_wrappers():
    assert binary_metrics([1, 0, 1, 1], [1, 0, 0, 1]) == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "accuracy": 0.75})
    report = classification_metrics([0, 1, 2, 2], [0, 1, 2, 1], labels=["a", "b", "c"])
    assert report["per_class"]["c"]["recall"] == 0.5
    assert regression_metrics([1.0, 2.0], [1.0, 2.0])["rmse"] == 0.0


# --- flags ------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--epochs", "-1"], ["--epochs", "x"], ["--device", "tpu"],
                                  ["--no-such-flag"]])
def test_bad_flags_exit_2_with_one_line(argv, capsys):
    parser = lesson_parser("stage1_basics.demo", "demo", epochs=3)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_an_unresolvable_host_is_not_retried(tmp_path, monkeypatch):
    import socket
    import urllib.error

    monkeypatch.delenv("MLCOURSE_OFFLINE")
    no_dns = urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    fetch, calls = fake_fetch({"http://a/f": no_dns, "http://b/f": no_dns})
    with pytest.raises(DownloadError, match="Name or service"):
        download(["http://a/f", "http://b/f"], tmp_path / "f", retries=3, backoff_seconds=0,
                 fetch=fetch)
    assert calls == ["http://a/f", "http://b/f"]


def test_json_files_fail_with_one_clear_line(tmp_path):
    from common.bundle.jsonfile import read_json_object

    (tmp_path / "ok.json").write_text('{"a": 1}', encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"a": ', encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    assert read_json_object(tmp_path / "ok.json", error=UsageError) == {"a": 1}
    for name, reason in [("missing.json", "not found"), ("broken.json", "cannot read"),
                         ("list.json", "expected a JSON object")]:
        with pytest.raises(UsageError, match=reason) as caught:
            read_json_object(tmp_path / name, error=UsageError, what="manifest")
        assert "\n" not in str(caught.value)
