"""Model bundles: one folder with everything needed to use, check and ship a trained model.

Stage 4 writes a bundle; stage 5a serves it and stage 5b compresses and exports it, both without
PyTorch, so this module uses the standard library only. The folder (format version 1)::

    manifest.json               what is here: format, task, labels, threshold, model config,
                                and the sha256 and size of every other file
    model.safetensors           the weights (safetensors: tensors only, no pickled code)
    preprocessing.json          the text spec (common.textprep), with ...
    preprocessing.vectors.json  ... its test vectors: input → tokens → ids, for ports to check
    metrics.json                test metrics (and the validation threshold analysis)
    data_report.json / .md      where the data came from, what cleaning dropped, class balance
    MODEL_CARD.md               data, metrics, intended use, limits
    splits/train|val|test.jsonl the exact rows trained, validated and tested on
    plots/*.png                 loss curves, confusion matrix, precision-recall curve
    exports/                    later exports (ONNX, quantized, mobile), added by add_export()

Compatibility rule: a reader accepts the format version it knows and refuses any other with a
clear message; new optional manifest keys may appear without a version bump, and exports are
listed under ``"exports"`` so adding one never invalidates the manifest.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from common.errors import UsageError
from common.jsonfile import read_json_object

FORMAT = "ml-roadmap/model-bundle"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
EXPORTS_DIR = "exports"
TASKS = ("classification", "regression")
REQUIRED_PATHS = ("weights", "preprocessing", "preprocessing_vectors", "metrics")
SPLITS = ("train", "val", "test")
REQUIRED_FIELDS = ("task", "labels", "positive_label", "decision_threshold", "model_version",
                   "max_text_chars", "model", "paths", "files", "exports")
DEFAULT_BUNDLE_DIR = PurePosixPath("runs/stage4_own_data/bundle")


class BundleError(UsageError):
    """A bundle that cannot be used: missing, damaged, edited after writing, or too new."""


def default_bundle_dir() -> Path:
    """Where ``python -m stage4_own_data.pipeline`` writes its bundle, and 5a/5b look for it."""
    return Path.cwd() / DEFAULT_BUNDLE_DIR


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_file(path: Path) -> dict[str, Any]:
    """The manifest entry of one file: its sha256 and size in bytes."""
    return {"sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


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

    def read_json(self, key: str) -> Any:
        return json.loads(self.path(key).read_text(encoding="utf-8"))


def write_manifest(root: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Write ``root/manifest.json``: ``fields`` plus format, checksums and an exports section.

    Every file under ``root`` except the manifest and ``exports/`` is listed with its sha256, so
    call this last, once every other file is in place.
    """
    root = Path(root)
    files = {
        path.relative_to(root).as_posix(): describe_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
        and path.relative_to(root).parts[0] != EXPORTS_DIR
    }
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **fields,
                "files": files, "exports": fields.get("exports", {})}
    _check_fields(manifest, root)
    _write_json_atomically(root / MANIFEST_NAME, manifest)
    return manifest


def load_bundle(root: str | Path, *, verify_checksums: bool = True) -> Bundle:
    """Read and validate a bundle: format version, fields, files present, checksums match."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"model bundle not found: {root} (make one with "
                          "`python -m stage4_own_data.pipeline`)")
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


def add_export(root: str | Path, file: str | Path, *, name: str, **info: Any) -> dict[str, Any]:
    """Record an export (e.g. ``name="onnx"``) in the manifest with its sha256; returns the entry.

    ``file`` is copied into ``root/exports/`` unless it is there already. ``info`` adds plain
    JSON facts (``format="onnx"``, ``opset=18``, ``quantized=True``...). Re-adding a name
    replaces the entry. The bundle is validated first: exports only go into sound bundles.
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
    _write_json_atomically(bundle.root / MANIFEST_NAME, manifest)
    return entry


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
    if task == "classification" and (len(labels) < 2 or len(set(labels)) != len(labels)):
        raise BundleError(f"{where}: a classifier needs two or more distinct labels")
    positive, threshold = manifest["positive_label"], manifest["decision_threshold"]
    if positive is not None and positive not in labels:
        raise BundleError(f"{where}: positive_label {positive!r} is not one of the labels")
    if threshold is not None and not (
            isinstance(threshold, (int, float)) and math.isfinite(threshold)
            and 0.0 <= threshold <= 1.0):
        raise BundleError(f"{where}: decision_threshold must be a number in [0, 1] or null")
    if (threshold is None) != (positive is None):
        raise BundleError(f"{where}: positive_label and decision_threshold go together")
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
    listed = set(manifest["files"])
    named = [value for key, value in paths.items() if key != "splits"] + list(splits.values())
    unlisted = [name for name in named if name not in listed]
    if unlisted:
        raise BundleError(f"{where}: {', '.join(unlisted)} named in paths but not in files")
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


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write beside the target, then rename: a reader sees the old manifest or the new one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
