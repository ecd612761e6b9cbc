"""Model bundles: one folder with everything needed to use, check and ship a trained model.

Stage 4 writes a bundle; stage 5a serves it and stage 5b compresses and exports it, both without
PyTorch, so this module uses the standard library only. The folder (format version 2)::

    manifest.json               what is here: format, task, labels, threshold, model config,
                                the sha256 and size of every other file, and its own checksums
    model.safetensors           the weights (safetensors: tensors only, no pickled code)
    preprocessing.json          the text spec (common.bundle.textprep), with ...
    preprocessing.vectors.json  ... its test vectors: input → tokens → ids, for ports to check
    metrics.json                test metrics (and the validation threshold analysis)
    data_report.json / .md      where the data came from, what cleaning dropped, class balance
    MODEL_CARD.md               data, metrics, intended use, limits
    splits/train|val|test.jsonl the exact rows trained, validated and tested on
    plots/*.png                 loss curves, confusion matrix, precision-recall curve
    exports/                    later exports (ONNX, quantized, mobile), added by add_export()

Integrity: ``manifest["integrity"]`` holds two sha256 digests of canonical JSON
(:func:`common.bundle.files.canonical_json`): ``"manifest"`` over every field but
``integrity`` and ``exports`` (the model's identity: labels, threshold, files, the failed mark),
``"exports"`` over the exports section alone, so recording an export never changes the model's
identity. A reader recomputes both: an edited label, threshold or checksum is refused like an
edited file. Files in the folder that the manifest does not list are ignored.

Compatibility rule: a reader accepts the format version it knows and refuses any other with a
clear message; new optional manifest keys may appear without a version bump.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from common.bundle.decision import check_rule
from common.bundle.errors import BundleError
from common.bundle.files import (
    describe_file,
    replace_directory,
    sha256_file,
    sha256_json,
    write_json_atomically,
)
from common.bundle.jsonfile import read_json_object

FORMAT = "ml-roadmap/model-bundle"
FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
# The files a bundle holds, by the names its manifest lists them under (``paths``).
WEIGHTS, SPEC, METRICS = "model.safetensors", "preprocessing.json", "metrics.json"
REPORT_JSON, REPORT_MD, CARD = "data_report.json", "data_report.md", "MODEL_CARD.md"
SPLITS_DIR, PLOTS_DIR, EXPORTS_DIR = "splits", "plots", "exports"
TASKS = ("classification", "regression")
REQUIRED_PATHS = ("weights", "preprocessing", "preprocessing_vectors", "metrics")
SPLITS = ("train", "val", "test")
REQUIRED_FIELDS = ("task", "labels", "positive_label", "decision_threshold", "model_version",
                   "max_text_chars", "model", "paths", "files", "exports", "failed",
                   "integrity")
# The model's interface (its ONNX export, the runtime): two int64 id matrices ``[batch, time]``
# in, one float matrix of logits ``[batch, classes]`` out.
INPUT_NAMES = ("word_ids", "ngram_ids")
OUTPUT_NAME = "logits"
ONNX_EXPORT, ONNX_FILE = "onnx", "model.onnx"  # the export the service and the offline folder run


@dataclass(frozen=True)
class Bundle:
    """A validated bundle: the manifest plus helpers to find its files."""

    root: Path
    manifest: dict[str, Any]

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.manifest["labels"])

    @property
    def positive_label(self) -> str | None:
        return self.manifest["positive_label"]

    @property
    def decision_threshold(self) -> float | None:
        return self.manifest["decision_threshold"]

    @property
    def model_version(self) -> str:
        return self.manifest["model_version"]

    @property
    def digest(self) -> str:
        """The sha256 of the manifest's covered part: the identity of this model."""
        return self.manifest["integrity"]["manifest"]

    @property
    def failed(self) -> str | None:
        """Why the run that wrote this bundle missed its bars, or None for a good bundle."""
        return self.manifest["failed"]

    @property
    def max_text_chars(self) -> int:
        return self.manifest["max_text_chars"]

    @property
    def model_config(self) -> dict[str, Any]:
        """The architecture's config (plain data; the model class rebuilds itself from it)."""
        return dict(self.manifest["model"]["config"])

    @property
    def exports(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest["exports"])

    def path(self, key: str) -> Path:
        """A file named in ``manifest["paths"]``: weights, preprocessing, metrics, ..."""
        try:
            return self.root / self.manifest["paths"][key]
        except KeyError:
            raise BundleError(f"bundle {self.root} has no {key!r} file") from None

    def split_path(self, name: str) -> Path:
        return self.root / self.manifest["paths"]["splits"][name]

    def export_path(self, name: str) -> Path:
        """The file of one export (e.g. ``"onnx"``), with a clear error when it is absent."""
        if name not in self.manifest["exports"]:
            have = ", ".join(self.manifest["exports"]) or "none"
            raise BundleError(f"bundle {self.root} has no {name!r} export (exports: {have})")
        return self.root / self.manifest["exports"][name]["file"]

    def read_json(self, key: str) -> dict[str, Any]:
        return read_json_object(self.path(key), error=BundleError, what=f"bundle {key} file")


def integrity(manifest: dict[str, Any]) -> dict[str, str]:
    """The two digests that cover a manifest (see the module docstring)."""
    covered = {key: value for key, value in manifest.items()
               if key not in ("integrity", "exports")}
    return {"algorithm": "sha256", "manifest": sha256_json(covered),
            "exports": sha256_json(manifest["exports"])}


def write_manifest(root: Path, fields: dict[str, Any], *, failed: str | None = None
                   ) -> dict[str, Any]:
    """Write ``root/manifest.json``: ``fields`` plus format, checksums and an exports section.

    Every file under ``root`` except the manifest and ``exports/`` is listed with its sha256, so
    call this last, once every other file is in place. ``failed`` marks a bundle whose run
    missed its bars (it is kept, and said to be failed, rather than passed off as good).
    """
    root = Path(root)
    files = {
        path.relative_to(root).as_posix(): describe_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".") and path.name != MANIFEST_NAME
        and path.relative_to(root).parts[0] != EXPORTS_DIR
    }
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **fields,
                "files": files, "exports": fields.get("exports", {}), "failed": failed}
    return _seal(root, manifest)


def load_bundle(root: str | Path, *, verify_checksums: bool = True) -> Bundle:
    """Read and validate a bundle: format version, its own digests, fields, files, checksums."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"model bundle not found: {root}")
    manifest_path = root / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{root} is not a model bundle: it has no {MANIFEST_NAME}")
    manifest = read_json_object(manifest_path, error=BundleError, what="bundle manifest")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{manifest_path} is not an {FORMAT} manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise BundleError(
            f"bundle format version {version} is not supported (this code reads version "
            f"{FORMAT_VERSION}): " + ("update ml-roadmap" if newer else "retrain the bundle"))
    _check_integrity(manifest, manifest_path)
    _check_fields(manifest, root)
    entries = [(name, entry) for name, entry in manifest["files"].items()]
    entries += [(entry["file"], entry) for entry in manifest["exports"].values()]
    for name, entry in entries:
        path = _inside(root, name)
        if not path.is_file():
            raise BundleError(f"bundle file missing: {name} (in {root})")
        if verify_checksums and sha256_file(path) != entry["sha256"]:
            raise BundleError(f"checksum mismatch for {name} in {root}: the file changed after "
                              "the bundle was written (retrain or restore it)")
    return Bundle(root, manifest)


def is_bundle(root: Path) -> bool:
    """Whether ``root`` validates as a bundle: schema and checksums, not a file name."""
    try:
        load_bundle(root)
    except BundleError:
        return False
    return True


@contextmanager
def bundle_writer(target: Path) -> Iterator[Path]:
    """A staging folder whose bundle replaces ``target`` whole, or not at all (see
    :func:`common.bundle.files.replace_directory`); only a new path, an empty folder or a valid
    bundle may be the target."""
    with replace_directory(Path(target), is_bundle) as staging:
        yield staging
        if not (staging / MANIFEST_NAME).is_file():
            raise BundleError(f"no {MANIFEST_NAME} was written for {target}")


def add_export(root: str | Path, file: str | Path, *, name: str, **info: Any) -> dict[str, Any]:
    """Record an export (e.g. ``name="onnx"``) in the manifest with its sha256; returns the entry.

    ``file`` is copied into ``root/exports/`` unless it is there already. ``info`` adds plain
    JSON facts (``format="onnx"``, ``opset=18``, ``quantized=True``...). Re-adding a name
    replaces the entry. The bundle is validated first: exports only go into sound bundles.
    Only the ``exports`` digest changes: the model's identity stays.
    """
    bundle = load_bundle(root)
    source = Path(file)
    if not source.is_file():
        raise BundleError(f"export file not found: {source}")
    exports_dir = bundle.root / EXPORTS_DIR
    exports_dir.mkdir(exist_ok=True)
    target = exports_dir / source.name
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    entry = {"file": f"{EXPORTS_DIR}/{source.name}", **describe_file(target), **info}
    manifest = dict(bundle.manifest)
    manifest["exports"] = {**manifest["exports"], name: entry}
    _seal(bundle.root, manifest)
    return entry


def mark_failed(root: str | Path, reason: str) -> Bundle:
    """Record in a sound bundle's manifest (covered by its digest) that its run failed."""
    if not reason:
        raise ValueError("a failed mark needs a reason")
    bundle = load_bundle(root)
    return Bundle(bundle.root, _seal(bundle.root, {**bundle.manifest, "failed": reason}))


def _seal(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Check, add the digests, and write the manifest atomically."""
    manifest = {key: value for key, value in manifest.items() if key != "integrity"}
    manifest["integrity"] = integrity(manifest)
    _check_fields(manifest, root)
    write_json_atomically(root / MANIFEST_NAME, manifest)
    return manifest


def _check_integrity(manifest: dict[str, Any], where: Path) -> None:
    stored = manifest.get("integrity")
    if not (isinstance(stored, dict) and isinstance(manifest.get("exports"), dict)):
        raise BundleError(f"{where} has no integrity section: retrain the bundle")
    try:
        expected = integrity(manifest)
    except (TypeError, ValueError):  # a value JSON allows but canonical JSON refuses (NaN)
        raise BundleError(f"{where} holds values that cannot be checksummed") from None
    for part in ("manifest", "exports"):
        if stored.get(part) != expected[part]:
            raise BundleError(f"{where} was edited after the bundle was written (its "
                              f"{part} checksum does not match): retrain or restore it")


def _check_fields(manifest: dict[str, Any], root: Path) -> None:
    """The manifest's meaning, checked field by field so each problem has its own message."""
    where = root / MANIFEST_NAME
    missing = [key for key in REQUIRED_FIELDS if key not in manifest]
    if missing:
        raise BundleError(f"{where} lacks {', '.join(missing)}")
    task, labels = manifest["task"], manifest["labels"]
    if task not in TASKS:
        raise BundleError(f"{where}: task must be one of {', '.join(TASKS)}, not {task!r}")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise BundleError(f"{where}: labels must be a list of strings")
    positive, threshold = manifest["positive_label"], manifest["decision_threshold"]
    if (threshold is None) != (positive is None):
        raise BundleError(f"{where}: positive_label and decision_threshold go together")
    if task == "classification":
        try:
            check_rule(labels, positive, threshold)
        except ValueError as error:
            raise BundleError(f"{where}: {error}") from None
    elif positive is not None:
        raise BundleError(f"{where}: a {task} bundle has no positive_label")
    failed = manifest["failed"]
    if failed is not None and not (isinstance(failed, str) and failed):
        raise BundleError(f"{where}: failed must be null or the reason the run failed")
    limit = manifest["max_text_chars"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise BundleError(f"{where}: max_text_chars must be a whole number >= 1")
    model = manifest["model"]
    if not (isinstance(model, dict) and isinstance(model.get("config"), dict)
            and isinstance(model.get("architecture"), str)):
        raise BundleError(f"{where}: model must hold an architecture name and its config")
    paths = manifest["paths"]
    if not isinstance(paths, dict) or any(key not in paths for key in REQUIRED_PATHS):
        raise BundleError(f"{where}: paths must name {', '.join(REQUIRED_PATHS)}")
    splits = paths.get("splits")
    if not isinstance(splits, dict) or any(name not in splits for name in SPLITS):
        raise BundleError(f"{where}: paths.splits must name {', '.join(SPLITS)}")
    if not isinstance(manifest["files"], dict) or not isinstance(manifest["exports"], dict):
        raise BundleError(f"{where}: files and exports must be objects")
    listed = set(manifest["files"])
    named = [value for key, value in paths.items() if key != "splits"] + list(splits.values())
    unlisted = [name for name in named if name not in listed]
    if unlisted:
        raise BundleError(f"{where}: {', '.join(map(str, unlisted))} named in paths but not in "
                          "files")
    for entry in [*manifest["files"].values(), *manifest["exports"].values()]:
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)):
            raise BundleError(f"{where}: every file and export needs a sha256")
    for name, entry in manifest["exports"].items():
        if not isinstance(entry.get("file"), str):
            raise BundleError(f"{where}: export {name!r} names no file")


def _inside(root: Path, name: str) -> Path:
    """A listed path, refused when it points outside the bundle (``../``, absolute)."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise BundleError(f"bundle file {name!r} points outside the bundle")
    return root.joinpath(*relative.parts)
