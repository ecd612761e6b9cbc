"""Stage 4: reading, cleaning, checks, the pipeline end to end, the bundle and bad input."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.bundle.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    BundleError,
    add_export,
    integrity,
    load_bundle,
)
from common.bundle.store import BundleStore
from common.errors import UsageError
from common.registry import BUNDLE_STORE_DIR
from common.summary import validate
from stage4_own_data import pipeline
from stage4_own_data.cleaning import REASONS, clean, normalize_text
from stage4_own_data.columns import choose_columns
from stage4_own_data.encoding import decode_bytes
from stage4_own_data.evaluation import choose_threshold
from stage4_own_data.reading import Malformed, read_table, sniff_delimiter
from stage4_own_data.splitting import data_checks, split_data
from tests.conftest import LessonRun, assert_one_line_error, run_lesson

MODULE = "stage4_own_data.pipeline"
QUICK_SECONDS = 20.0


def run_pipeline(*args: str) -> LessonRun:
    """``main()`` in this process with stdout/stderr captured (usable in module fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = pipeline.main([*args, "--json"])
    return LessonRun(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[LessonRun, Path]:
    """One quick pipeline run on the shipped inbox, as a learner runs it (no --out: into the
    bundle store under the working folder); its bundle serves the bundle tests."""
    work = tmp_path_factory.mktemp("stage4")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        run = run_pipeline("--quick")
    return run, work / BUNDLE_STORE_DIR / "support_inbox"


@pytest.fixture(scope="module")
def sms_rows() -> list[tuple[str, str]]:
    """Two-class messages (stage 3's written EN/RU SMS set) that cp1251 can encode."""
    from stage3_text.sms_data import WRITTEN_PATH, read_sms_file

    frame = read_sms_file(WRITTEN_PATH)
    rows = []
    for label, text in zip(frame["label"], frame["text"], strict=True):
        try:
            text.encode("cp1251")
        except UnicodeEncodeError:
            continue
        rows.append((label, text))
    return rows


def write_csv(path: Path, rows: list, *, encoding: str = "utf-8", header: list | None = None,
              delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- the shipped run and its bundle --------------------------------------------------------------

def test_quick_run_passes_its_bars_fast(quick_run):
    run, _ = quick_run
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    summary = run.summary
    validate(summary)
    assert summary["passed"] and summary["final_loss"] <= summary["loss_threshold"]
    assert summary["seconds"] < QUICK_SECONDS
    assert summary["dataset"] == "support-inbox"
    assert {"accuracy", "macro_f1"} <= set(summary["metrics"])
    assert summary["metrics"]["accuracy"] >= 0.6  # five classes: chance is 0.2
    data = summary["data"]
    assert data["encoding"] == "utf-8"
    assert data["rows_in"] == data["rows_kept"] + sum(data["rows_dropped"].values())
    for reason in ("empty_text", "missing_label", "duplicate", "conflicting_label",
                   "rare_label", "too_long"):
        assert data["rows_dropped"][reason] > 0, reason  # the shipped mess is all there
    assert "picked: its name" in run.stdout


def test_bundle_is_complete_and_consistent(quick_run):
    _, out = quick_run
    bundle = load_bundle(out)
    manifest = bundle.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert bundle.labels == ("account", "billing", "bug_report", "feature_request", "spam")
    assert bundle.positive_label is None and bundle.decision_threshold is None
    assert set(manifest["files"]) >= {"model.safetensors", "preprocessing.json",
                                      "preprocessing.vectors.json", "metrics.json",
                                      "data_report.json", "data_report.md", "MODEL_CARD.md",
                                      "splits/train.jsonl", "splits/val.jsonl",
                                      "splits/test.jsonl", "plots/confusion.png"}
    assert manifest["exports"] == {}
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], \
        "staging folders must not be left behind"
    assert BundleStore(out.parent).current() == out, "the run's bundle becomes the current one"
    assert bundle.failed is None and len(bundle.digest) == 64
    splits = {name: [json.loads(line) for line in bundle.split_path(name).open(encoding="utf-8")]
              for name in ("train", "val", "test")}
    texts = {name: {row["text"].lower() for row in rows} for name, rows in splits.items()}
    assert not texts["train"] & texts["test"]
    metrics = bundle.read_json("metrics")
    assert metrics["data"]["rows_kept"] == sum(len(rows) for rows in splits.values())
    assert "Intended use" in bundle.path("model_card").read_text(encoding="utf-8")


def test_bundle_model_reproduces_the_reported_accuracy(quick_run):
    from stage4_own_data.bundle_model import load_bundle_model

    _, out = quick_run
    loaded = load_bundle_model(out)
    test = [json.loads(line) for line in loaded.bundle.split_path("test").open(encoding="utf-8")]
    predicted = loaded.predict([row["text"] for row in test])
    accuracy = np.mean([p == row["label"] for p, row in zip(predicted, test, strict=True)])
    assert accuracy == pytest.approx(loaded.bundle.read_json("metrics")["test"]["accuracy"])
    assert loaded.predict(["I was charged twice for my subscription, refund please"]) == [
        "billing"]


def test_bundle_checks_catch_damage_and_versions(quick_run, tmp_path):
    import shutil

    _, out = quick_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    entry = add_export(copy, _file(tmp_path / "model.onnx", b"onnx bytes"), name="onnx",
                       format="onnx")
    assert load_bundle(copy).export_path("onnx").read_bytes() == b"onnx bytes"
    assert entry["file"] == "exports/model.onnx"

    (copy / "metrics.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BundleError, match=r"checksum mismatch for metrics\.json"):
        load_bundle(copy)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    shutil.copytree(out, tmp_path / "newer")
    _write_manifest(tmp_path / "newer", {**manifest, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(BundleError, match="update ml-roadmap"):
        load_bundle(tmp_path / "newer")
    shutil.copytree(out, tmp_path / "escape")
    files = {**manifest["files"], "../outside.txt": {"sha256": "0" * 64}}
    _write_manifest(tmp_path / "escape", {**manifest, "files": files})
    with pytest.raises(BundleError, match="outside the bundle"):
        load_bundle(tmp_path / "escape")
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "absent")
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        load_bundle(tmp_path)


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _write_manifest(root: Path, manifest: dict) -> None:
    """A manifest as a writer would seal it (its digests right), so the reader's other checks
    are what is tested."""
    manifest = {**manifest, "integrity": integrity(manifest)}
    (root / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.slow
def test_default_run_passes_its_bars(tmp_path, capsys):
    run = run_lesson(MODULE, out=tmp_path / "bundle", capsys=capsys)
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    validate(run.summary)
    assert run.summary["final_loss"] <= run.summary["loss_threshold"]
    assert run.summary["metrics"]["accuracy"] >= 0.7


# --- the acceptance shape: headerless, label first, not UTF-8 ------------------------------------

def test_headerless_cp1251_two_class_file(sms_rows, tmp_path, capsys):
    path = write_csv(tmp_path / "comments.csv", sms_rows, encoding="cp1251")
    run = run_lesson(MODULE, "--quick", "--input", str(path), "--no-header",
                     "--label-column", "0", "--text-column", "1",
                     out=tmp_path / "bundle", capsys=capsys)
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    summary = run.summary
    validate(summary)
    assert summary["data"]["encoding"] == "cp1251"
    assert summary["metrics"]["accuracy"] >= 0.85
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.positive_label == "spam"  # the rarer class
    assert 0.0 <= bundle.decision_threshold <= 1.0
    assert (tmp_path / "bundle" / "plots" / "precision_recall.png").is_file()
    threshold = bundle.read_json("metrics")["threshold"]
    assert {"target_recall", "threshold", "precision_cost"} <= set(threshold)


@pytest.mark.parametrize("variant", ["header_swapped_utf8", "header_cp1251", "numbered_flags"])
def test_file_variants_read_to_the_same_rows(sms_rows, tmp_path, variant):
    """Header or not, columns swapped, UTF-8 or cp1251: the cleaned data is the same."""
    baseline_path = write_csv(tmp_path / "base.csv", sms_rows, encoding="cp1251")
    base = read_table(baseline_path, header=False)
    expected = clean(base.values("column_1"), base.values("column_0"))
    if variant == "header_swapped_utf8":
        path = write_csv(tmp_path / "v.csv", [(t, lab) for lab, t in sms_rows],
                         header=["comment", "label"])
        table = read_table(path)
        columns = choose_columns(table, None, None)
        assert table.encoding == "utf-8" and table.header
    elif variant == "header_cp1251":
        path = write_csv(tmp_path / "v.csv", sms_rows, encoding="cp1251",
                         header=["label", "text"])
        table = read_table(path, header=True)
        columns = choose_columns(table, "text", "label")
    else:  # numbered flags without --no-header: the header is detected as absent
        table = read_table(baseline_path)
        columns = choose_columns(table, "1", "0")
        assert not table.header
    cleaned = clean(table.values(columns.text), table.values(columns.label))
    assert (cleaned.texts, cleaned.labels) == (expected.texts, expected.labels)


# --- compressed input and the tab rule ------------------------------------------------------------

def test_the_shipped_sms_collection_reads_one_row_per_line():
    """gzip, then tab-separated with literal quotes: 5,574 lines are 5,574 rows, none merged."""
    from stage3_text.sms_data import SHIPPED_COLLECTION_PATH

    table = read_table(SHIPPED_COLLECTION_PATH, header=False)
    assert (table.rows, table.malformed_rows, table.delimiter) == (5574, 0, "\t")
    assert any("gzip" in note for note in table.notes)
    assert any("quotes are literal" in note for note in table.notes)
    cleaned = clean(table.values("column_1"), table.values("column_0"))
    # 403 exact duplicates, plus 12 that differ only in case or spacing (stage 4's text_key)
    assert cleaned.rows_in == 5574 and cleaned.rows_dropped["duplicate"] == 415


def test_tab_separated_quotes_are_literal_but_csv_quotes_still_quote(tmp_path):
    tsv = _file(tmp_path / "x.tsv", b'ham\t"Hi there\nspam\tWIN "big" now\nham\tok"\n')
    table = read_table(tsv, header=False)
    assert table.values("column_1") == ['"Hi there', 'WIN "big" now', 'ok"'] and table.rows == 3
    csv_file = _file(tmp_path / "x.csv", b'text,label\n"a, quoted\nline",ham\nplain,spam\n')
    assert read_table(csv_file).values("text") == ["a, quoted\nline", "plain"]


@pytest.mark.parametrize("name", ["rows.csv.gz", "rows.tsv.gz", "rows.jsonl.gz"])
def test_gzip_input_is_decompressed_then_read_by_its_inner_suffix(tmp_path, name):
    import gzip

    body = {"rows.csv.gz": b"text,label\nhello there,ham\nwin now,spam\n",
            "rows.tsv.gz": b"text\tlabel\nhello there\tham\nwin now\tspam\n",
            "rows.jsonl.gz": b'{"text": "hello there", "label": "ham"}\n'
                             b'{"text": "win now", "label": "spam"}\n'}[name]
    table = read_table(_file(tmp_path / name, gzip.compress(body)))
    assert table.values("text") == ["hello there", "win now"]
    assert table.format == {"rows.csv.gz": "csv", "rows.tsv.gz": "tsv",
                            "rows.jsonl.gz": "jsonl"}[name]
    broken = _file(tmp_path / "broken.csv.gz", b"not gzip")
    with pytest.raises(UsageError, match="decompress"):
        read_table(broken)


def test_a_flag_prefix_is_refused(capsys):
    """``--text-colum`` is not read as ``--text-column``: one line on stderr, exit 2."""
    with pytest.raises(SystemExit) as stop:
        pipeline.main(["--quick", "--text-colum", "1"])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "unrecognized arguments: --text-colum 1" in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_sms_collection_pipeline_reaches_its_f1_bar(tmp_path, capsys):
    from stage3_text.sms_data import SHIPPED_COLLECTION_PATH

    run = run_lesson(MODULE, "--input", str(SHIPPED_COLLECTION_PATH), "--no-header",
                     "--label-column", "0", "--text-column", "1", out=tmp_path / "bundle",
                     capsys=capsys)
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    assert run.summary["data"]["rows_in"] == 5574
    assert run.summary["metrics"]["test_f1_spam"] >= 0.955
    metrics = load_bundle(tmp_path / "bundle").read_json("metrics")
    assert metrics["model_selection"]["criterion"] == "lowest validation loss"
    candidates = metrics["model_selection"]["candidates"]
    assert [c["trainer"] for c in candidates] == ["adam", "adam", "adam", "svm"]
    card = (tmp_path / "bundle" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "validation loss" in card


# --- bad input: exit 2, one line, nothing written ------------------------------------------------

def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    one_class = write_csv(tmp_path / "one.csv", [(f"message number {i}", "spam")
                                                 for i in range(30)], header=["text", "label"])
    all_dropped = write_csv(tmp_path / "dropped.csv", [("", "spam"), ("hi", ""), ("   ", "ham")],
                            header=["text", "label"])
    png = _file(tmp_path / "image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    empty = _file(tmp_path / "empty.csv", b"")
    good = write_csv(tmp_path / "good.csv", [("a text", "x"), ("b text", "y")],
                     header=["text", "label"])
    return {
        "missing file": (["--input", str(tmp_path / "nope.csv")], "not found"),
        "empty file": (["--input", str(empty)], "empty"),
        "unknown column": (["--input", str(good), "--text-column", "body"], "unknown column"),
        "one class only": (["--input", str(one_class)], "only one class"),
        "binary file": (["--input", str(png)], "PNG image"),
        "every row dropped": (["--input", str(all_dropped)], "every one of the 3 rows"),
        "bad encoding": (["--input", str(png), "--encoding", "klingon"], "unknown encoding"),
    }


@pytest.mark.parametrize("case", ["missing file", "empty file", "unknown column",
                                  "one class only", "binary file", "every row dropped",
                                  "bad encoding"])
def test_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    args, message = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / "bundle"
    run = run_lesson(MODULE, "--quick", *args, out=out, capsys=capsys)
    assert_one_line_error(run)
    assert message in run.stderr
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_out_holding_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    run = run_lesson(MODULE, "--quick", out=tmp_path, capsys=capsys)
    assert_one_line_error(run)
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_failure_mid_write_leaves_the_old_bundle(quick_run, tmp_path, monkeypatch, capsys):
    import shutil

    _, out = quick_run
    target = tmp_path / "bundle"
    shutil.copytree(out, target)
    before = (target / MANIFEST_NAME).read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "write_bundle", broken)
    with pytest.raises(OSError, match="disk full"):
        pipeline.run(pipeline.build_parser().parse_args(["--quick", "--out", str(target)]))
    assert (target / MANIFEST_NAME).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    load_bundle(target)


# --- regression, only when asked -----------------------------------------------------------------

def test_regression_task(tmp_path, capsys):
    rng = np.random.default_rng(0)
    words = ["great", "fine", "bad", "slow", "fast", "ok", "broken", "lovely"]
    score = {"great": 2, "lovely": 2, "fast": 1, "fine": 1, "ok": 0, "slow": -1, "bad": -2,
             "broken": -2}
    rows = []
    for i in range(300):
        chosen = list(rng.choice(words, size=3))
        rows.append((f"review {i}: " + " ".join(chosen), f"{sum(score[w] for w in chosen)}"))
    path = write_csv(tmp_path / "reviews.csv", rows, header=["text", "stars"])
    run = run_lesson(MODULE, "--quick", "--input", str(path), "--task", "regression",
                     out=tmp_path / "bundle", capsys=capsys)
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    summary = run.summary
    validate(summary)
    assert {"mse", "rmse", "mae", "r2"} <= set(summary["metrics"])
    assert summary["metrics"]["r2"] > 0.5
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.task == "regression" and bundle.labels == ()


def test_classification_is_the_default_even_for_numeric_labels(tmp_path):
    path = write_csv(tmp_path / "r.csv", [("good", "1"), ("bad", "0")], header=["text", "label"])
    args = pipeline.build_parser().parse_args(["--input", str(path)])
    assert args.task == "classification"


# --- reading -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "expected"), [
    ("Счёт выставлен дважды, верните деньги\nспасибо", "cp1251", "cp1251"),
    ("Счёт выставлен дважды, верните деньги\nспасибо", "koi8_r", "koi8_r"),
    ("Ça coûte très cher, je voudrais être remboursé", "cp1252", "cp1252"),
    ("plain ascii, with a café", "utf-8", "utf-8"),
    ("с BOM от Excel", "utf-8-sig", "utf-8-sig"),
])
def test_encoding_detection(text, encoding, expected):
    decoded = decode_bytes(text.encode(encoding))
    assert decoded.encoding == expected
    assert decoded.text.lstrip("\ufeff") == text


def test_forced_wrong_encoding_is_one_clear_error():
    with pytest.raises(UsageError, match="not valid utf-8"):
        decode_bytes("Счёт".encode("cp1251"), forced="utf-8")


def test_delimiter_and_header_detection(tmp_path):
    rows = [("spam", "Buy now; limited offer, click"), ("ham", "see you, ok?"),
            ("ham", "lunch; then gym")]
    semicolon = write_csv(tmp_path / "s.csv", rows, delimiter=";")
    table = read_table(semicolon)
    assert table.delimiter == ";" and not table.header and table.frame.shape == (3, 2)
    assert sniff_delimiter(["a\tb", "c\td"])[0] == "\t"
    with_header = write_csv(tmp_path / "h.tsv", rows, header=["label", "text"], delimiter="\t")
    table = read_table(with_header)
    assert table.header and list(table.frame.columns) == ["label", "text"]


def test_columns_are_picked_by_content_without_names(tmp_path):
    rows = [(str(1000 + i), ["a", "b", "c"][i % 3], f"a longer free text message {i} here")
            for i in range(30)]
    table = read_table(write_csv(tmp_path / "x.csv", rows), header=False)
    columns = choose_columns(table, None, None)
    assert (columns.text, columns.label) == ("column_2", "column_1")
    assert "fewest distinct values" in columns.how


def test_jsonl_counts_malformed_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "hi", "label": 1}\nnot json\n\n{"text": "yo", "label": 0}\n',
                    encoding="utf-8")
    table = read_table(path)
    assert table.malformed_rows == 1 and table.rows == 4
    assert table.values("label") == ["1", None, "0"]


# --- cleaning ------------------------------------------------------------------------------------

def test_cleaning_policy():
    texts = ["Same text", "same  text", "Other", "Tie", "tie", "Majority", "majority",
             "MAJORITY", "x" * 20, "  ", "no label", *[f"rare {i}" for i in range(2)]]
    labels = ["a", "a", "b", "a", "b", "a", "a", "b", "a", "a", "n/a", "r", "r"]
    cleaned = clean(texts, labels, max_text_chars=10, min_examples=1)
    assert cleaned.rows_dropped["duplicate"] == 2  # "same  text" and one "majority"
    assert cleaned.rows_dropped["conflicting_label"] == 3  # both ties + the minority vote
    assert cleaned.rows_dropped["too_long"] == 1
    assert cleaned.rows_dropped["empty_text"] == 1
    assert cleaned.rows_dropped["missing_label"] == 1
    assert "Majority" in cleaned.texts and "Tie" not in cleaned.texts
    rare = clean(texts, labels, max_text_chars=10, min_examples=3)
    assert rare.rare_labels == {"a": 2, "b": 1, "r": 2}
    assert normalize_text("Ｆｒｅｅ\u00a0 money\u200b!\n") == "Free money!"


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(
    st.one_of(st.none(), st.text(alphabet="ab \t\u00a0Ａ\u200b", max_size=6)),
    st.one_of(st.none(), st.sampled_from(["x", "X ", "y", "na", "", "z", "1.5", "oops"]))),
    max_size=60),
    malformed=st.integers(0, 3), min_examples=st.integers(1, 4),
    task=st.sampled_from(["classification", "regression"]))
def test_cleaning_accounts_for_every_row(rows, malformed, min_examples, task):
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    broken = [Malformed(len(rows) + i + 1, "?", "test") for i in range(malformed)]
    cleaned = clean(texts, labels, task=task, max_text_chars=4, min_examples=min_examples,
                    malformed=broken)
    assert set(cleaned.rows_dropped) == set(REASONS)
    assert cleaned.rows_in == len(rows) + malformed
    assert cleaned.rows_in == cleaned.rows_kept + sum(cleaned.rows_dropped.values())
    keys = [t.lower() for t in cleaned.texts]
    assert len(keys) == len(set(keys))  # no duplicates survive
    assert all(0 < len(t) <= 4 for t in cleaned.texts)
    if task == "classification":
        assert all(cleaned.labels.count(label) >= min_examples for label in cleaned.labels)
    else:
        assert all(isinstance(v, float) and math.isfinite(v) for v in cleaned.labels)


# --- checks, split and threshold -----------------------------------------------------------------

def test_split_is_stratified_seeded_and_leak_free():
    texts = [f"message {i}" for i in range(100)]
    labels = ["a"] * 70 + ["b"] * 30
    cleaned = clean(texts, labels)
    one, two = (split_data(cleaned, task="classification", seed=3) for _ in range(2))
    assert one.test.texts == two.test.texts
    assert sum(label == "b" for label in one.test.labels) in (4, 5)
    assert all(data_checks(one, "classification").values())


def test_threshold_reaches_the_target_recall():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    choice = choose_threshold(y, scores, target_recall=1.0)
    assert choice.threshold == pytest.approx(0.4) and choice.val_recall == 1.0
    assert choice.precision_cost == pytest.approx(0.75 - 4 / 5)
    # recall >= 0.5 at 0.4 (F1 0.89), 0.6 (0.75), 0.7 (0.86), 0.8 (0.67): the best F1 wins
    assert choose_threshold(y, scores, target_recall=0.5).threshold == pytest.approx(0.4)
    # equal F1 (2/3) at 0.2 (every text) and 0.8 (half the positives, no false alarm): the higher
    tied = choose_threshold(np.array([1, 1, 0, 0, 0, 0, 1, 1]),
                            np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]), 0.5)
    assert tied.threshold == pytest.approx(0.8)


# --- every record kept or counted, with the line an editor shows ---------------------------------

def _rows_in(path: Path, **options: object) -> int:
    table = read_table(path, **options)
    cleaned = clean(table.values(table.frame.columns[-1]), table.values(table.frame.columns[0]),
                    lines=table.lines, malformed=table.malformed, min_examples=1)
    assert cleaned.rows_in == cleaned.rows_kept + sum(cleaned.rows_dropped.values())
    return cleaned.rows_in


def test_any_newline_convention_keeps_every_row(tmp_path):
    shipped = pipeline.DEFAULT_INPUT
    lines = shipped.read_text(encoding="utf-8").splitlines()
    endings = ("\r\n", "\n", "\r")
    mixed = "".join(line + endings[i % 3] for i, line in enumerate(lines))
    path = tmp_path / "mixed.csv"
    path.write_bytes(mixed.encode("utf-8"))
    assert read_table(path).rows == read_table(shipped).rows == 507


def test_a_stray_carriage_return_splits_a_line_and_both_halves_are_counted(tmp_path):
    rows = [("ham", f"message number {i}") for i in range(300)]
    rows[150] = ("ham", "first half\rsecond half")
    path = write_csv(tmp_path / "cr.csv", rows, header=["label", "text"])
    table = read_table(path)
    assert table.rows == 301  # a lone CR ends a line, as in editors and the csv module
    assert _rows_in(path) == 301
    assert "second half" in table.values("label")  # the text after the CR is a record too


def test_tab_separated_quotes_are_literal(tmp_path):
    lines = ['ham\tHe said "see you', 'spam\t"WIN now', 'ham\tfine"', 'ham\t"quoted"']
    path = tmp_path / "quotes.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path, header=False)
    assert table.rows == 4 and table.malformed_rows == 0
    assert table.values("column_1") == ['He said "see you', '"WIN now', 'fine"', '"quoted"']


def test_csv_quoted_fields_span_lines_and_a_broken_quote_is_malformed_at_its_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('label,text\nham,"two\nlines"\nspam,"never closed\nham,fine\nham,ok\n',
                    encoding="utf-8")
    table = read_table(path)
    assert table.values("text") == ["two\nlines", "fine", "ok"]
    assert table.lines == [2, 5, 6]
    assert [(m.line, m.why) for m in table.malformed] == [(4, "a quote opened here is never "
                                                               "closed")]


def test_report_examples_carry_editor_line_numbers(tmp_path, capsys):
    rows = [("billing", f"I was charged twice for order {i}") for i in range(40)]
    rows += [("bug_report", f"the app crashes when I open screen {i}") for i in range(40)]
    text = "label,text\n" + "".join(f"{label},{message}\n" for label, message in rows[:2])
    text += "ham,too,many,fields\n"  # line 4: malformed
    text += "billing,\n"  # line 5: empty text
    text += "".join(f"{label},{message}\n" for label, message in rows[2:])
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding="utf-8")
    run = run_lesson(MODULE, "--quick", "--input", str(path), out=tmp_path / "b",
                     capsys=capsys)
    assert run.code in (0, 1), run.stderr
    report = json.loads((tmp_path / "b" / "data_report.json").read_text(encoding="utf-8"))
    assert report["drop_examples"]["malformed_row"][0]["line"] == 4
    assert report["drop_examples"]["empty_text"][0]["line"] == 5
    markdown = (tmp_path / "b" / "data_report.md").read_text(encoding="utf-8")
    assert "line 4: ham,too,many,fields" in markdown and "line 5:" in markdown


def test_a_field_over_the_csv_module_limit_is_read_and_counted(tmp_path):
    huge = "x" * (200 * 1024)
    rows = [("ham", f"short message {i}") for i in range(10)] + [("spam", huge)]
    path = write_csv(tmp_path / "huge.csv", rows, header=["label", "text"])
    table = read_table(path)
    cleaned = clean(table.values("text"), table.values("label"), lines=table.lines,
                    malformed=table.malformed, min_examples=1, max_text_chars=1000)
    assert cleaned.rows_dropped["too_long"] == 1
    assert cleaned.examples["too_long"][0]["line"] == 12


def test_gzip_input_is_read_like_the_plain_file(tmp_path):
    import gzip

    plain = pipeline.DEFAULT_INPUT
    packed = tmp_path / "support_inbox.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_table(packed).values("text") == read_table(plain).values("text")
    (tmp_path / "broken.csv.gz").write_bytes(gzip.compress(plain.read_bytes())[:100])
    with pytest.raises(UsageError, match=r"decompress.*truncated"):
        read_table(tmp_path / "broken.csv.gz")


# --- nothing the learner made is lost ------------------------------------------------------------

def _tree_digest(root: Path) -> dict[str, str]:
    import hashlib

    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_learners_bundle_survives_the_shipped_run_and_a_failed_one(sms_rows, tmp_path,
                                                                      monkeypatch, capsys):
    from common.bundle import BundleStore, load_bundle

    monkeypatch.chdir(tmp_path)
    store = BundleStore(tmp_path / "runs" / "stage4_own_data" / "bundles")
    mine = write_csv(tmp_path / "my_sms.csv", sms_rows, header=["label", "text"])
    assert pipeline.main(["--quick", "--input", str(mine), "--name", "mine"]) == 0
    assert store.current_name() == "mine"
    before = _tree_digest(store.path("mine"))

    # the shipped example writes its own name and leaves the learner's bundle current
    assert pipeline.main(["--quick"]) == 0
    assert store.current_name() == "mine" and _tree_digest(store.path("mine")) == before
    shipped = _tree_digest(store.path("support_inbox"))

    # a diverging run writes nothing at all: the bundle keeps its place
    assert pipeline.main(["--quick", "--lr", "1e6"]) == 1
    assert _tree_digest(store.path("support_inbox")) == shipped

    # a run that misses a bar keeps the good bundle and puts the failed one beside it
    monkeypatch.setattr(pipeline, "data_checks", lambda splits, task: {"a bar it misses": False})
    capsys.readouterr()
    assert pipeline.main(["--quick"]) == 1
    assert "marked FAILED" in capsys.readouterr().out
    assert _tree_digest(store.path("support_inbox")) == shipped
    failed = load_bundle(store.path("support_inbox.failed"))
    assert failed.failed  # the bars it missed, recorded in the manifest
    assert store.current_name() == "mine" and _tree_digest(store.path("mine")) == before


# --- large data ---------------------------------------------------------------------------------
def test_a_generated_inbox_with_planted_bad_rows_is_accounted_for_exactly(tmp_path):
    """The bench's data at a small size: every planted bad row is found under its reason."""
    from stage4_own_data.generate_messages import generate

    path = tmp_path / "messages.csv"
    expected = generate(path, 3_000, seed=1, progress=False)
    assert all(expected["rows_dropped"].values())  # every kind of bad row is planted
    table = read_table(path)
    columns = choose_columns(table, None, None)
    cleaned = clean(table.values(columns.text), table.values(columns.label), lines=table.lines,
                    malformed=table.malformed)
    assert (columns.text, columns.label) == ("message", "category")
    assert cleaned.rows_in == expected["rows_in"] == 3_000
    assert {r: n for r, n in cleaned.rows_dropped.items() if n} == expected["rows_dropped"]
    assert cleaned.rows_kept == 3_000 - sum(expected["rows_dropped"].values())


def test_batch_and_epochs_follow_the_data_size_unless_given():
    from stage4_own_data.train import MIN_EPOCHS, ROW_PASSES, STEPS_PER_EPOCH, training_config

    def sized(rows, **flags):
        options = {"epochs": None, "batch_size": None, **flags}
        config = training_config(quick=False, lr=1e-2, patience=6, rows=rows, **options)
        return config.batch_size, config.epochs

    assert sized(336) == (32, 60)  # a small file: the course's settings
    batch, epochs = sized(100_000)
    assert 100_000 / batch <= STEPS_PER_EPOCH and epochs * 100_000 <= ROW_PASSES
    assert sized(342_920)[1] == MIN_EPOCHS  # the floor wins over the row-pass budget
    assert sized(342_920, epochs=9, batch_size=16) == (16, 9)  # flags given are kept


@pytest.mark.bench
def test_bench_scale_grows_linearly_within_the_bars(tmp_path, capsys):
    """``make bench``: 50k to 500k generated rows, a process for each; prints the table."""
    run = run_lesson("stage4_own_data.bench_scale", out=tmp_path, capsys=capsys)
    print(run.stdout)  # make bench runs with -s: show the table
    assert run.code == 0, run.summary["failed_checks"]


def test_the_learning_curve_scores_large_data_on_a_capped_validation_sample(monkeypatch):
    """Above the cap, every curve model trains on a sample and stops early on a sample of
    validation rows too; all points are scored on that one sample."""
    from stage4_own_data import learning_curve as curve_module
    from stage4_own_data.splitting import Split, Splits

    def split(rows: int) -> Split:
        return Split([f"text {i}" for i in range(rows)], ["a", "b"] * (rows // 2),
                     list(range(rows)))

    seen_val: list[list[str]] = []
    monkeypatch.setattr(curve_module, "MAX_CURVE_ROWS", 40)
    monkeypatch.setattr(curve_module, "score",
                        lambda model, val, task: (seen_val.append(val.texts), (0.5, 0.7))[1])
    trained_on: list[tuple[int, int]] = []

    def train(part: Splits) -> object:
        trained_on.append((len(part.train), len(part.val)))
        return object()

    curve = curve_module.learning_curve(Splits(split(200), split(100), split(10)), object(),
                                        train, task="classification", seed=0,
                                        announce=lambda line: None)
    assert curve.capped_at == 40 and curve.val_rows == 40
    assert [rows for rows, _ in trained_on] == [10, 20, 30, 40]
    assert {val for _, val in trained_on} == {40}
    assert all(texts == seen_val[0] for texts in seen_val) and len(seen_val) == 4


# --- the SVM candidate (two classes) --------------------------------------------------------------
def _two_class_splits(rows: list[tuple[str, str]], seed: int = 0):
    cleaned = clean([text for _, text in rows], [label for label, _ in rows],
                    task="classification")
    return split_data(cleaned, task="classification", seed=seed)


def test_the_svm_joins_the_grid_for_two_classes_only(sms_rows, monkeypatch, capsys):
    from stage4_own_data import train as train_module

    two = _two_class_splits(sms_rows)
    assert train_module.candidate_grid(two, "classification")[-1].trainer == "svm"
    assert train_module.candidate_grid(two, "regression") == train_module.DEFAULT_GRID
    three = _two_class_splits([(label if i % 3 else "other", text)
                               for i, (label, text) in enumerate(sms_rows)])
    assert train_module.candidate_grid(three, "classification") == train_module.DEFAULT_GRID
    monkeypatch.setattr(train_module, "MAX_SVM_ROWS", len(two.train) - 1)
    assert train_module.candidate_grid(two, "classification") == train_module.DEFAULT_GRID
    assert "the SVM candidate is left out" in capsys.readouterr().out


def test_the_lowest_validation_loss_wins_between_adam_and_the_svm(sms_rows):
    """Both trainers are scored by one measure, the validation cross-entropy of the model they
    leave (the SVM's calibrated by its temperature), and the lower one is kept."""
    import torch

    from stage3_text.classifier import mean_loss
    from stage4_own_data.train import (
        QUICK_SETTINGS,
        SVM_SETTINGS,
        label_ids,
        train_model,
        training_config,
    )

    splits = _two_class_splits(sms_rows)
    training = training_config(quick=True, epochs=2, lr=2e-2, batch_size=None, patience=6,
                               rows=len(splits.train))
    trained = train_model(splits, task="classification", settings=[QUICK_SETTINGS, SVM_SETTINGS],
                          training=training, generator=torch.Generator().manual_seed(0),
                          device=torch.device("cpu"), progress=False)
    losses = {c["trainer"]: c["val_loss"] for c in trained.candidates}
    assert set(losses) == {"adam", "svm"}
    assert trained.settings.trainer == min(losses, key=losses.get)
    assert trained.val_loss == pytest.approx(mean_loss(
        trained.model, trained.encoder, splits.val.texts,
        label_ids(splits.val.labels, trained.labels), device=torch.device("cpu")))
    assert trained.settings.trainer == "svm"  # two Adam epochs cannot match the fitted SVM
    assert trained.temperature > 0 and trained.history.records == []
    assert trained.training_json()["lbfgs_evaluations"] == len(trained.svm_objectives) > 1


def test_a_pipeline_run_that_chooses_the_svm_writes_a_complete_bundle(sms_rows, tmp_path,
                                                                     monkeypatch, capsys):
    """The pipeline with the SVM as its only candidate (fast): the bundle's model gives the
    reported figures, the card says how it was fitted, the loss plot is the SVM's objective."""
    from stage4_own_data.train import SVM_SETTINGS

    monkeypatch.setattr(pipeline, "candidate_grid", lambda splits, task: (SVM_SETTINGS,))
    path = write_csv(tmp_path / "sms.csv", sms_rows)
    run = run_lesson(MODULE, "--input", str(path), "--no-header", "--label-column", "0",
                     "--text-column", "1", out=tmp_path / "bundle", capsys=capsys)
    assert run.code == 0, run.stderr + run.stdout[-2000:]
    assert "candidate" not in run.stdout  # one candidate: nothing to compare
    metrics = load_bundle(tmp_path / "bundle").read_json("metrics")
    assert metrics["model_selection"]["chosen"]["trainer"] == "svm"
    assert metrics["training"]["temperature"] > 0
    card = (tmp_path / "bundle" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "fitted as a linear SVM" in card and "linear SVM (C 30)" in card
    assert run.summary["metrics"]["test_f1_spam"] >= 0.8
    assert (tmp_path / "bundle" / "plots" / "loss_curves.png").is_file()
