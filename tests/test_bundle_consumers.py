"""Every program that uses a bundle refuses a damaged one with one line and exit 2, ignores files
the manifest does not list, and defaults to the store's current bundle.

Each case copies the session's exported bundle (``exported_bundle``) and damages the copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from common.bundle.manifest import MANIFEST_NAME
from common.bundle.store import BundleStore
from common.registry import BUNDLE_STORE_DIR
from tests.conftest import LessonRun, assert_one_line_error, require, run_lesson

LESSONS = {  # consumer → extra flags that keep a sound run short
    "stage5a_integration.export": ("--quick",),
    "stage5a_integration.business_case": (),
    "stage5a_integration.bench": ("--quick", "--skip-http"),
    "stage5b_on_device.quantize": ("--quick",),
    "stage5b_on_device.prune": ("--quick",),
    "stage5b_on_device.export_mobile": ("--quick",),
}
CONSUMERS = ["mlcourse serve", *LESSONS]


def edit_label(root: Path) -> str:
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["labels"][0] += "_renamed"
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return "edited after the bundle was written"


def swap_splits(root: Path) -> str:
    train, test = root / "splits" / "train.jsonl", root / "splits" / "test.jsonl"
    train_bytes = train.read_bytes()
    train.write_bytes(test.read_bytes())
    test.write_bytes(train_bytes)
    return "checksum mismatch"


def remove_spec(root: Path) -> str:
    (root / "preprocessing.json").unlink()
    return "bundle file missing: preprocessing.json"


DAMAGE: dict[str, Callable[[Path], str]] = {
    "edited label": edit_label, "swapped files": swap_splits, "missing file": remove_spec}


def consume(consumer: str, bundle: Path | None, out: Path,
            capsys: pytest.CaptureFixture) -> LessonRun:
    """Run one consumer on ``bundle`` (None: its default, the current bundle)."""
    given = ["--bundle", str(bundle)] if bundle is not None else []
    if consumer == "mlcourse serve":
        require("fastapi", "serve")
        from stage5a_integration import serve

        code = serve.main([*given, "--port", "0"])
        captured = capsys.readouterr()
        return LessonRun(code, captured.out, captured.err)
    return run_lesson(consumer, *LESSONS[consumer], *given, out=out, capsys=capsys)


@pytest.fixture
def bundle_copy(exported_bundle, tmp_path) -> Path:
    return Path(shutil.copytree(exported_bundle[0], tmp_path / "bundle"))


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_damaged_bundle_is_refused_with_one_line(consumer, damage, bundle_copy, tmp_path,
                                                   capsys):
    expected = DAMAGE[damage](bundle_copy)
    run = consume(consumer, bundle_copy, tmp_path / "out", capsys)
    assert_one_line_error(run)
    assert expected in run.stderr


def test_files_the_manifest_does_not_list_are_ignored(bundle_copy):
    """A learner's notes, an extra plot, an editor's backup: the loaders of every consumer
    (the service's, the PyTorch side's, stage 5b's) take the bundle as it is."""
    import argparse

    from stage4_own_data import load_bundle_model
    from stage5b_on_device.workload import load_workload

    (bundle_copy / "NOTES.md").write_text("my notes", encoding="utf-8")
    (bundle_copy / "plots" / "mine.png").write_bytes(b"not even a png")
    (bundle_copy / "exports" / "model.onnx.bak").write_bytes(b"old export")
    assert load_bundle_model(bundle_copy).predict(["hello"])
    args = argparse.Namespace(bundle=bundle_copy, eval_data=None, quick=True)
    assert len(load_workload(args, announce=lambda _line: None).eval_set) > 0
    require("fastapi", "serve")
    from stage5a_integration.predictor import load_predictor

    assert load_predictor(bundle_copy).predict(["hello"])[0].label in load_predictor(
        bundle_copy).labels


@pytest.mark.parametrize("consumer", ["mlcourse serve", "stage5a_integration.export",
                                      "stage5b_on_device.quantize"])
def test_without_a_current_bundle_the_default_is_one_clear_line(consumer, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = consume(consumer, None, tmp_path / "out", capsys)
    assert_one_line_error(run)
    assert "no current model bundle" in run.stderr and "--bundle" in run.stderr


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_the_default_bundle_is_the_current_one(consumer, bundle_copy, tmp_path, capsys,
                                               monkeypatch):
    """The pointer names a bundle whose label was edited: refusing it proves the consumer
    opened the current bundle without being told."""
    store = BundleStore(tmp_path / "work" / BUNDLE_STORE_DIR)
    shutil.copytree(bundle_copy, store.path("mine"))
    store.set_current("mine")
    edit_label(store.path("mine"))
    monkeypatch.chdir(tmp_path / "work")
    run = consume(consumer, None, tmp_path / "out", capsys)
    assert_one_line_error(run)
    assert str(store.path("mine")) in run.stderr
