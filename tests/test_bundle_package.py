"""The torch-free bundle package: manifest integrity, crash-safe replace, the store and pointer,
the one decision rule. Bundles here are synthetic (no training): the package never looks inside
the weights, so a few small files make a valid bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.bundle import files
from common.bundle.decision import check_rule, decide
from common.bundle.errors import BundleError
from common.bundle.files import STAGING_MARK, clean_leftovers
from common.bundle.manifest import (
    MANIFEST_NAME,
    add_export,
    bundle_writer,
    is_bundle,
    load_bundle,
    mark_failed,
    write_manifest,
)
from common.bundle.store import POINTER, BundleStore, check_name, name_for
from tests.conftest import PROJECT_ROOT


def fill_bundle(root: Path, *, labels: tuple[str, ...] = ("ham", "spam"),
                weights: bytes = b"weights", positive: str | None = "spam",
                threshold: float | None = 0.5) -> dict:
    """Write a small valid bundle's files into ``root`` (a staging folder), the manifest last."""
    for name, data in [("model.safetensors", weights), ("preprocessing.json", b"{}"),
                       ("preprocessing.vectors.json", b"[]"), ("metrics.json", b"{}"),
                       ("splits/train.jsonl", b""), ("splits/val.jsonl", b""),
                       ("splits/test.jsonl", b"")]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return write_manifest(root, {
        "task": "classification", "labels": list(labels), "positive_label": positive,
        "decision_threshold": threshold, "model_version": "test+1", "max_text_chars": 100,
        "model": {"architecture": "a.B", "config": {}},
        "paths": {"weights": "model.safetensors", "preprocessing": "preprocessing.json",
                  "preprocessing_vectors": "preprocessing.vectors.json",
                  "metrics": "metrics.json",
                  "splits": {s: f"splits/{s}.jsonl" for s in ("train", "val", "test")}},
    })


def make_bundle(root: Path, **options) -> Path:
    root.mkdir(parents=True)
    fill_bundle(root, **options)
    return root


def edit_manifest(root: Path, change) -> None:
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    change(manifest)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")


# --- the manifest covers itself ------------------------------------------------------------------
def test_an_edited_manifest_is_refused(tmp_path):
    root = make_bundle(tmp_path / "b")
    load_bundle(root)
    for field, change in [("labels", lambda m: m["labels"].__setitem__(0, "HAM")),
                          ("threshold", lambda m: m.update(decision_threshold=0.01)),
                          ("failed mark", lambda m: m.update(failed="no")),
                          ("a file's checksum", lambda m: m["files"]["metrics.json"].update(
                              sha256="0" * 64)),
                          ("exports", lambda m: m["exports"].update(
                              onnx={"file": "exports/x", "sha256": "0" * 64}))]:
        before = (root / MANIFEST_NAME).read_bytes()
        edit_manifest(root, change)
        with pytest.raises(BundleError, match="edited after the bundle was written"):
            load_bundle(root)
        (root / MANIFEST_NAME).write_bytes(before)
        assert field and load_bundle(root)


def test_formatting_the_manifest_differently_is_not_an_edit(tmp_path):
    root = make_bundle(tmp_path / "b")
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=4, sort_keys=True),
                                      encoding="utf-8")
    assert load_bundle(root).labels == ("ham", "spam")


def test_an_export_changes_the_exports_digest_only(tmp_path):
    root = make_bundle(tmp_path / "b")
    before = load_bundle(root)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    add_export(root, tmp_path / "model.onnx", name="onnx", format="onnx")
    after = load_bundle(root)
    assert after.digest == before.digest and "onnx" in after.exports
    assert after.manifest["integrity"]["exports"] != before.manifest["integrity"]["exports"]


def test_swapped_missing_and_unlisted_files(tmp_path):
    root = make_bundle(tmp_path / "b")
    (root / "NOTES.md").write_text("my notes", encoding="utf-8")  # unlisted: ignored
    (root / "plots").mkdir()
    (root / "plots" / "mine.png").write_bytes(b"png")
    assert load_bundle(root).labels == ("ham", "spam")
    other = make_bundle(tmp_path / "other", weights=b"other weights")
    (root / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(BundleError, match=r"checksum mismatch for model\.safetensors"):
        load_bundle(root)
    (root / "model.safetensors").write_bytes(b"weights")
    (root / "metrics.json").unlink()
    with pytest.raises(BundleError, match=r"bundle file missing: metrics\.json"):
        load_bundle(root)


def test_an_older_format_asks_to_retrain(tmp_path):
    root = make_bundle(tmp_path / "b")
    edit_manifest(root, lambda m: m.update(format_version=1))
    with pytest.raises(BundleError, match="retrain the bundle"):
        load_bundle(root)


def test_the_failed_mark_is_recorded_and_covered(tmp_path):
    root = make_bundle(tmp_path / "b")
    assert load_bundle(root).failed is None
    marked = mark_failed(root, "loss 3.2 above its bar 1.0")
    assert load_bundle(root).failed == "loss 3.2 above its bar 1.0" == marked.failed
    assert marked.digest != "" and load_bundle(root).digest == marked.digest
    with pytest.raises(ValueError):
        mark_failed(root, "")


# --- one decision rule, one range of thresholds --------------------------------------------------
@pytest.mark.parametrize("threshold", [0, 0.0, 1, 1.0, 0.3])
def test_reader_and_rule_accept_the_same_thresholds(tmp_path, threshold):
    root = make_bundle(tmp_path / "b", threshold=threshold)
    bundle = load_bundle(root)
    check_rule(bundle.labels, bundle.positive_label, bundle.decision_threshold)


@pytest.mark.parametrize("threshold", [-0.1, 1.01, float("nan"), True, "0.5"])
def test_reader_and_rule_refuse_the_same_thresholds(tmp_path, threshold):
    with pytest.raises(ValueError):
        check_rule(("ham", "spam"), "spam", threshold)
    with pytest.raises((BundleError, ValueError)):
        make_bundle(tmp_path / "b", threshold=threshold)


def test_decide_at_the_edges():
    probabilities = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.8, 0.2]])
    labels = ("ham", "spam")
    assert decide(probabilities, labels, "spam", 0.0).tolist() == [1, 1, 1, 1]
    assert decide(probabilities, labels, "spam", 1.0).tolist() == [0, 0, 1, 0]
    assert decide(probabilities, labels, "spam", 0.5).tolist() == [0, 1, 1, 0]
    assert decide(probabilities, labels, "ham", 0.9).tolist() == [0, 1, 1, 1]
    assert decide(probabilities, labels).tolist() == [0, 0, 1, 0]  # argmax, first on a tie


# --- crash-safe replace --------------------------------------------------------------------
def test_replace_swaps_whole_and_a_failure_keeps_the_old(tmp_path):
    target = make_bundle(tmp_path / "b", weights=b"old")
    with bundle_writer(target) as staging:
        assert staging.parent == target.parent and staging.name.startswith(".b.partial-")
        fill_bundle(staging, weights=b"new")
    assert (target / "model.safetensors").read_bytes() == b"new"
    with pytest.raises(RuntimeError), bundle_writer(target) as staging:
        fill_bundle(staging, weights=b"newer")
        raise RuntimeError("training diverged")
    assert (target / "model.safetensors").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_only_empty_new_or_valid_targets_are_replaced(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / MANIFEST_NAME).write_text("{}", encoding="utf-8")  # a name is not a bundle
    (work / "NOTES.md").write_text("mine", encoding="utf-8")
    with pytest.raises(BundleError, match="not a valid model bundle"), bundle_writer(work):
        pass
    assert sorted(p.name for p in work.iterdir()) == ["NOTES.md", MANIFEST_NAME]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(BundleError, match="not a folder"), bundle_writer(tmp_path / "file"):
        pass
    (tmp_path / "empty").mkdir()
    with bundle_writer(tmp_path / "empty") as staging:
        fill_bundle(staging)
    assert is_bundle(tmp_path / "empty")


def test_a_signal_between_the_two_renames_waits_for_both(tmp_path, monkeypatch):
    """Where no atomic exchange exists: Ctrl-C right after the first rename is held back until
    the second is done, so the path never stays empty; the set-aside old one goes next run."""
    target = make_bundle(tmp_path / "b", weights=b"old")
    monkeypatch.setattr(files, "_exchange", lambda first, second: False)
    real_rename = Path.rename

    def rename_then_interrupt(self, destination):
        moved = real_rename(self, destination)
        if self == target:  # the old bundle was just moved aside
            os.kill(os.getpid(), signal.SIGINT)
        return moved

    monkeypatch.setattr(Path, "rename", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt), bundle_writer(target) as staging:
        fill_bundle(staging, weights=b"new")
    monkeypatch.setattr(Path, "rename", real_rename)
    assert (target / "model.safetensors").read_bytes() == b"new" and is_bundle(target)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "b"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".b.old-")
    with bundle_writer(target) as staging:
        fill_bundle(staging, weights=b"newest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_the_atomic_exchange_is_used_where_it_exists(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "a").write_text("1", encoding="utf-8")
    assert files._exchange(tmp_path / "one", tmp_path / "two")
    assert (tmp_path / "two" / "a").is_file() and not any((tmp_path / "one").iterdir())


def test_leftovers_of_killed_runs_are_cleaned_and_nothing_else(tmp_path):
    target = tmp_path / "b"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = tmp_path / ".b.partial-killed"
    (killed / "splits").mkdir(parents=True)
    (killed / STAGING_MARK).write_text(f"{dead} {os.uname().nodename}\n", encoding="utf-8")
    unknown = tmp_path / ".b.partial-unknown"  # no mark, not a bundle: not recognisably ours
    unknown.mkdir()
    (unknown / "thesis.tex").write_text("keep", encoding="utf-8")
    aside = make_bundle(tmp_path / ".b.old-lost", weights=b"old")  # SIGKILL between renames
    removed = clean_leftovers(target, is_bundle)
    assert removed == [killed]
    assert (unknown / "thesis.tex").is_file()
    assert (target / "model.safetensors").read_bytes() == b"old" and not aside.exists()


def test_a_hard_kill_mid_write_leaves_the_old_bundle_and_a_cleanable_leftover(tmp_path):
    target = make_bundle(tmp_path / "b", weights=b"old")
    script = (f"import os, sys\nsys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
              "from pathlib import Path\nfrom common.bundle.manifest import bundle_writer\n"
              f"with bundle_writer(Path({str(target)!r})) as staging:\n"
              "    (staging / 'half').write_text('x')\n"
              "    os.kill(os.getpid(), 9)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert (target / "model.safetensors").read_bytes() == b"old"
    assert len(list(tmp_path.glob(".b.partial-*"))) == 1
    with bundle_writer(target) as staging:
        fill_bundle(staging, weights=b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


# --- the store: named bundles and the current pointer -------------------------------------------
def test_store_writes_names_points_and_lists(tmp_path):
    store = BundleStore(tmp_path / "bundles", make_hint="train one")
    assert store.list() == [] and store.current_name() is None
    with pytest.raises(BundleError, match=r"no current model bundle .* \(train one\)"):
        store.current()
    for name, weights in (("inbox", b"a"), ("reviews", b"b")):
        with store.write(name) as staging:
            fill_bundle(staging, weights=weights)
    store.set_current("reviews")
    assert (store.root / POINTER).read_text(encoding="utf-8") == "reviews\n"
    assert store.current() == store.root / "reviews"
    assert store.load().manifest["files"]["model.safetensors"]["bytes"] == 1
    store.mark_failed("inbox", "missed its loss bar")
    (store.root / "broken").mkdir()
    entries = {entry.name: entry for entry in store.list()}
    assert set(entries) == {"inbox", "reviews", "broken"}
    assert entries["reviews"].current and entries["reviews"].usable
    assert entries["inbox"].failed == "missed its loss bar" and not entries["inbox"].usable
    assert entries["broken"].problem is not None
    with pytest.raises(BundleError):
        store.set_current("broken")  # the pointer names only a bundle that validates
    assert store.current_name() == "reviews"


def test_a_pointer_to_a_removed_bundle_is_one_clear_error(tmp_path):
    store = BundleStore(tmp_path)
    (tmp_path / POINTER).write_text("gone\n", encoding="utf-8")
    with pytest.raises(BundleError, match="'gone' is gone"):
        store.current()


def test_bundle_names():
    assert name_for(Path("data/My Reviews (2024).csv")) == "My-Reviews-2024"
    assert name_for(Path("support_inbox.csv")) == "support_inbox"
    assert name_for(Path("Отзывы.csv")) == "bundle"
    for bad in ("", ".hidden", "a/b", "..", POINTER, "x" * 65, "trailing."):
        with pytest.raises(BundleError):
            check_name(bad)
