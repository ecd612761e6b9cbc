"""MODEL_CARD.md: what the model is for, what it was trained and tested on, and where it fails.

Written from the same facts as the manifest, the data report and metrics.json, so the card
cannot claim numbers the bundle does not hold.
"""

from __future__ import annotations

from typing import Any


def render_model_card(fields: dict[str, Any], report: dict[str, Any],
                      metrics: dict[str, Any]) -> str:
    task, labels = fields["task"], fields["labels"]
    source = report["source"]
    dropped = {reason: n for reason, n in report["rows_dropped"].items() if n}
    lines = [
        f"# Model card: text {task} model {fields['model_version']}", "",
        f"Created {fields['created_at']} by `python -m stage4_own_data.pipeline`.", "",
        "## What it does", "",
        (f"Sorts a short text into one of {len(labels)} classes: "
         + ", ".join(f"`{label}`" for label in labels) + "."
         if task == "classification" else
         f"Predicts the number in column `{report['columns']['label']}` from a short text."),
    ]
    if fields["positive_label"] is not None:
        threshold = metrics["threshold"]
        lines.append(
            f"`{fields['positive_label']}` is predicted when its probability is at least "
            f"**{fields['decision_threshold']:.3f}**, chosen on the validation split for a recall "
            f"of {threshold['target_recall']:g} (it cost {threshold['precision_cost']:+.3f} "
            "precision there against the 0.5 cut).")
    lines += [
        f"Texts longer than {fields['max_text_chars']} characters are outside what it was "
        "trained on; callers should refuse or cut them.", "",
        "## Data", "",
        f"- source: `{source['path']}` ({source['format']}, encoding {source['encoding']})",
        f"- rows: {report['rows_in']} in, {report['rows_kept']} kept; dropped: "
        + (", ".join(f"{reason} {n}" for reason, n in dropped.items()) or "none"),
        "- splits (stratified, seeded): " + ", ".join(
            f"{name} {split['rows']}" for name, split in report.get("splits", {}).items()),
    ]
    if "classes" in report:
        lines.append("- classes: " + ", ".join(
            f"{name} {c['count']} ({c['share']:.0%})" for name, c in report["classes"].items()))
    lines += ["", "## Metrics (test split)", ""]
    test = metrics["test"]
    if task == "classification":
        lines += [f"- accuracy **{test['accuracy']:.3f}**, macro F1 **{test['macro_f1']:.3f}**, "
                  f"cross-entropy {test['loss']:.3f}", "",
                  "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | "
                  f"{c['support']} |" for name, c in test["per_class"].items()]
    else:
        lines.append(f"- MSE {test['mse']:.4g}, RMSE {test['rmse']:.4g}, MAE {test['mae']:.4g}, "
                     f"R² {test['r2']:.3f}")
    config = fields["model"]["config"]
    selection = metrics["model_selection"]
    chosen = selection["chosen"]
    scope = {"text": "across the whole text", "token": "within each token"}
    training = metrics["training"]
    refit = (f", then fitted again on train + validation ({training['refit_rows']} rows) once "
             "every choice was made" if training.get("refit_rows") else "")
    trained_by = (f"fitted as a linear SVM (squared hinge + L2, C {chosen['c']:g}, by L-BFGS; "
                  f"probabilities sigmoid(z / {training['temperature']:.3f}), the "
                  f"temperature fitted on the validation split){refit}"
                  if chosen["trainer"] == "svm" else
                  "trained with Adam on the cross-entropy, stopped early on the validation loss")
    lines += [
        "", "## Model", "",
        f"`{fields['model']['architecture']}`: word and hashed character n-gram embeddings "
        f"({config['embed_dim']} dimension{'' if config['embed_dim'] == 1 else 's'}; "
        f"n-grams {scope[chosen['ngram_scope']]}, "
        f"{chosen['buckets']} buckets), masked {config.get('pooling', 'mean')} pooling, "
        + (f"an MLP head ({config['hidden_dim']} hidden units)" if config["hidden_dim"]
           else "a linear head") + f"; {trained_by}; preprocessing in "
        f"`{fields['paths']['preprocessing']}`.",
        "",
        f"Settings chosen by {selection['criterion']} ("
        + ("cross-entropy" if task == "classification" else "MSE of the standardised target")
        + "; the test split took no part): "
        + "; ".join(f"{c['description']}: validation loss {c['val_loss']:.4f}"
                    for c in selection["candidates"])
        + "." + _search_sample(selection, report),
        "", "## Intended use", "",
        "Routing or triage of short messages like the training data (same languages, same kind "
        "of text), with a person checking what matters. Each prediction has a probability: send "
        "low-confidence ones to a human.",
        "", "## Limits", "",
        f"- Trained on {report['rows_kept']} rows: the test figures above come from "
        f"{report.get('splits', {}).get('test', {}).get('rows', '?')} rows and move by several "
        "points with another seed or split.",
        "- It knows only the words and character patterns of its training data; other languages, "
        "topics or a new kind of message (drift) lower its quality without any warning.",
        "- It reads text only; no metadata, no conversation context.",
        "- Not for decisions about people (credit, hiring, moderation of speech) without review.",
    ]
    for warning in report.get("warnings", []):
        lines.append(f"- Data: {warning}.")
    return "\n".join(lines) + "\n"


def _search_sample(selection: dict[str, Any], report: dict[str, Any]) -> str:
    """A sentence when the candidates were compared on a sample of a large training split."""
    searched = min((c.get("train_rows", 0) for c in selection["candidates"]), default=0)
    rows = report.get("splits", {}).get("train", {}).get("rows", 0)
    if not searched or searched >= rows:
        return ""
    return (f" The candidates were compared on a {searched}-row sample of the {rows} training "
            "rows; the chosen one was then trained on all of them.")
