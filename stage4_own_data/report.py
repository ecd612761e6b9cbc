"""The data report: where the rows came from, what was dropped and why, what is left.

Written as JSON (for programs: the bundle, tests) and Markdown (for people) from one dict, so the
two never disagree. Read it before the metrics: a model is only as good as the rows it saw.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from stage4_own_data.cleaning import Cleaned
from stage4_own_data.columns import Columns
from stage4_own_data.reading import Table
from stage4_own_data.splitting import ADVISED_ROWS_PER_CLASS

IMBALANCE_WARNING = 5.0  # largest class / smallest class
FEW_EXAMPLES_WARNING = 20
DROPPED_SHARE_WARNING = 0.2
SMALL_CLASSES_LISTED = 10  # name the small classes up to this many; beyond it, count them


def build_report(
    table: Table, columns: Columns, cleaned: Cleaned, *, task: str, max_text_chars: int,
    min_examples: int,
) -> dict[str, Any]:
    """Everything known about the data before the split."""
    report: dict[str, Any] = {
        "source": {
            "path": str(table.path), "format": table.format, "encoding": table.encoding,
            "delimiter": table.delimiter, "header": table.header, "notes": list(table.notes),
        },
        "columns": columns.to_json(),
        "task": task,
        **cleaned.accounting(),
        "drop_examples": cleaned.examples,
        "policy": {"min_examples_per_label": min_examples, "max_text_chars": max_text_chars,
                   "conflicting_labels": "keep a clear majority (> half), drop ties"},
        "rare_labels": cleaned.rare_labels,
        "label_renames": cleaned.label_renames,
        "text_length": {"chars": _stats([len(t) for t in cleaned.texts]),
                        "words": _stats([len(t.split()) for t in cleaned.texts])},
    }
    if task == "classification":
        counts = Counter(cleaned.labels)
        total = sum(counts.values())
        report["classes"] = {str(label): {"count": n, "share": round(n / total, 4)}
                             for label, n in counts.most_common()} if total else {}
    else:
        report["target"] = _stats([float(v) for v in cleaned.labels])
    report["warnings"] = _warnings(report)
    return report


def add_splits(report: dict[str, Any], splits: dict[str, list[Any]], task: str) -> None:
    """Record split sizes (and classes per split) once the data is split."""
    report["splits"] = {name: {"rows": len(labels)} for name, labels in splits.items()}
    if task == "classification":
        for name, labels in splits.items():
            report["splits"][name]["classes"] = dict(sorted(Counter(map(str, labels)).items()))


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values, dtype=float)
    return {"min": float(array.min()), "median": float(np.median(array)),
            "mean": round(float(array.mean()), 3), "p95": float(np.percentile(array, 95)),
            "max": float(array.max()), "std": round(float(array.std()), 3)}


def _warnings(report: dict[str, Any]) -> list[str]:
    warnings = []
    dropped = sum(report["rows_dropped"].values())
    if report["rows_in"] and dropped / report["rows_in"] > DROPPED_SHARE_WARNING:
        warnings.append(f"{dropped / report['rows_in']:.0%} of the rows were dropped: check the "
                        "columns, the delimiter and the encoding before trusting the model")
    classes = report.get("classes", {})
    if len(classes) >= 2:
        counts = [c["count"] for c in classes.values()]
        if max(counts) / min(counts) > IMBALANCE_WARNING:
            warnings.append(f"classes are imbalanced ({max(counts)} vs {min(counts)} rows): "
                            "accuracy flatters the model; read macro F1 and per-class recall")
        small = [name for name, c in classes.items() if c["count"] < FEW_EXAMPLES_WARNING]
        if len(small) > SMALL_CLASSES_LISTED:
            warnings.append(f"{len(small)} of {len(classes)} classes have fewer than "
                            f"{FEW_EXAMPLES_WARNING} rows (e.g. {', '.join(small[:5])}): too "
                            f"few to learn them well; aim for {ADVISED_ROWS_PER_CLASS}+ rows "
                            "per class, or merge rare classes")
        elif small:
            warnings.append(f"few examples of {', '.join(small)}: their test scores are noisy")
    return warnings


def render_markdown(report: dict[str, Any]) -> str:
    """The report for people: the same facts as the JSON, as tables."""
    source, columns = report["source"], report["columns"]
    lines = [
        "# Data report", "",
        f"- file: `{source['path']}` ({source['format']}, encoding {source['encoding']})",
        f"- columns: text `{columns['text']}`, label `{columns['label']}` ({columns['how']})",
        f"- task: {report['task']}",
        *(f"- read: {note}" for note in source["notes"]),
        "", "## Rows", "",
        f"{report['rows_in']} rows in, **{report['rows_kept']} kept**, "
        f"{sum(report['rows_dropped'].values())} dropped.", "",
        "| reason | rows | example (line in the file, as an editor numbers it) |",
        "|---|---:|---|",
    ]
    for reason, count in report["rows_dropped"].items():
        example = report["drop_examples"].get(reason, [{}])[0]
        shown = ""
        if example:
            outcome = example.get("why") or _cell(example.get("label"))
            shown = f"line {example['line']}: {_cell(example.get('text'))} → {outcome}"
        lines.append(f"| {reason} | {count} | {shown} |")
    policy = report["policy"]
    lines += ["", f"Policy: labels with fewer than {policy['min_examples_per_label']} rows are "
              f"dropped; texts longer than {policy['max_text_chars']} characters are dropped; "
              f"conflicting labels: {policy['conflicting_labels']}."]
    if report["rare_labels"]:
        lines.append("Rare labels dropped: " + ", ".join(
            f"`{name}` ({n})" for name, n in report["rare_labels"].items()) + ".")
    if report["label_renames"]:
        lines.append("Labels normalised: " + ", ".join(
            f"`{old}` → `{new}`" for old, new in report["label_renames"].items()) + ".")
    if "classes" in report:
        lines += ["", "## Classes", "", "| label | rows | share |", "|---|---:|---:|"]
        lines += [f"| {name} | {c['count']} | {c['share']:.1%} |"
                  for name, c in report["classes"].items()]
    else:
        lines += ["", "## Target", "", _stats_table(report["target"])]
    lines += ["", "## Text length", "", "| unit | min | median | mean | p95 | max |",
              "|---|---:|---:|---:|---:|---:|"]
    for unit, stats in report["text_length"].items():
        if stats:
            lines.append(f"| {unit} | {stats['min']:g} | {stats['median']:g} | {stats['mean']:g} "
                         f"| {stats['p95']:g} | {stats['max']:g} |")
    if "splits" in report:
        lines += ["", "## Splits", "", "| split | rows | classes |", "|---|---:|---|"]
        for name, split in report["splits"].items():
            classes = ", ".join(f"{k} {v}" for k, v in split.get("classes", {}).items())
            lines.append(f"| {name} | {split['rows']} | {classes} |")
    if report.get("checks"):
        lines += ["", "## Checks", ""]
        lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in report["checks"].items()]
    if report["warnings"]:
        lines += ["", "## Warnings", ""]
        lines += [f"- {warning}" for warning in report["warnings"]]
    return "\n".join(lines) + "\n"


def _stats_table(stats: dict[str, float]) -> str:
    header = "| " + " | ".join(stats) + " |"
    rule = "|" + "---:|" * len(stats)
    return "\n".join([header, rule, "| " + " | ".join(f"{v:g}" for v in stats.values()) + " |"])


def _cell(value: object) -> str:
    """A value shown inside a Markdown table cell."""
    if value is None or value == "":
        return "(empty)"
    return str(value).replace("|", "\\|").replace("\n", " ")
