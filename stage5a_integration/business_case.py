"""Does the model pay for itself? Hours and money saved, the cost of its errors, break-even.

Run: ``python -m stage5a_integration.business_case [--bundle DIR] [--messages-per-day N]
[--seconds-per-review S] [--hourly-cost C] [--cost-false-positive X] [--cost-false-negative Y]``

The scenario: people read every incoming message to sort out the unwanted ones (the bundle's
positive label, e.g. spam). With the model, messages it flags skip the human read:

- time saved = flagged messages × seconds per review;
- a **false positive** (a real message flagged) costs ``X`` each: a customer who waits or leaves;
- a **false negative** (an unwanted message not flagged) is still read by a person, as before,
  and costs ``Y`` each on top (the risk of acting on it).

Flag rates come from the bundle's measured precision and recall on its test split and the share
of positives there; serving capacity and latency from the benchmark's JSON (``python -m
stage5a_integration.bench``), or, without it, from timing the service's model path here.
Writes a Markdown report and a plot under ``runs/stage5a_integration/business_case/``.
"""

# %%
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.bundle.jsonfile import read_json_object
from common.bundle.manifest import Bundle, load_bundle
from common.errors import UsageError
from common.lesson import (
    add_bundle_flag,
    lesson_main,
    lesson_parser,
    non_negative_float,
    positive_float,
    positive_int,
)
from common.paths import chosen_bundle, runs_dir
from common.summary import LessonSummary
from stage5a_integration.bench import default_bench_json

STAGE, LESSON = "stage5a_integration", "business_case"
REPORT, PLOT = "business_case.md", "business_case.png"


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_bundle_flag(parser)
    parser.add_argument("--bench-json", type=Path, default=None,
                        help="the benchmark's results (default: runs/stage5a_integration/bench/"
                             "bench.json; measured here when absent)")
    parser.add_argument("--positive-label", default=None,
                        help="the unwanted class (default: the bundle's positive label, else "
                             "'spam')")
    parser.add_argument("--messages-per-day", type=positive_int, default=2000)
    parser.add_argument("--seconds-per-review", type=positive_float, default=20.0,
                        help="a person's time to read and sort one message")
    parser.add_argument("--hourly-cost", type=positive_float, default=30.0,
                        help="cost of one hour of that person's time (any currency)")
    parser.add_argument("--cost-false-positive", type=non_negative_float, default=10.0,
                        help="cost of one real message wrongly flagged")
    parser.add_argument("--cost-false-negative", type=non_negative_float, default=0.5,
                        help="extra cost of one unwanted message that gets through")
    parser.add_argument("--monthly-infra-cost", type=non_negative_float, default=60.0,
                        help="running the service for a month (server, monitoring)")
    parser.add_argument("--setup-cost", type=non_negative_float, default=3000.0,
                        help="one-off cost of building and deploying it")
    parser.add_argument("--days-per-month", type=positive_int, default=30)
    return parser


@dataclass(frozen=True)
class Quality:
    """The positive class's test figures and its share of messages."""

    label: str
    precision: float
    recall: float
    prevalence: float
    test_messages: int


@dataclass(frozen=True)
class Serving:
    source: str
    rps_one_worker: float | None
    latency_ms: float  # p95 over HTTP when benchmarked, else the in-process p50 of one text


@dataclass(frozen=True)
class Outcome:
    flagged_per_day: float
    false_positives_per_day: float
    false_negatives_per_day: float
    hours_saved_per_month: float
    money_saved_per_month: float
    error_cost_per_month: float
    net_per_month: float
    break_even_months: float | None  # None: never (no net saving)
    break_even_messages_per_day: float | None
    workers_needed_at_10x_peak: float | None


def read_quality(bundle: Bundle, label: str | None) -> Quality:
    label = label or bundle.positive_label or ("spam" if "spam" in bundle.labels else None)
    if label is None or label not in bundle.labels:
        raise UsageError(f"choose the unwanted class with --positive-label "
                         f"(labels: {', '.join(bundle.labels)})")
    try:
        per_class = bundle.read_json("metrics")["test"]["per_class"]
        figures = per_class[label]
        total = sum(entry["support"] for entry in per_class.values())
    except (KeyError, TypeError):
        raise UsageError(f"{bundle.path('metrics')} has no test per-class precision/recall "
                         f"for {label!r}") from None
    if figures["support"] == 0 or figures["precision"] == 0:
        raise UsageError(f"the test split has no usable {label!r} results "
                         "(no examples, or none flagged correctly)")
    return Quality(label, figures["precision"], figures["recall"], figures["support"] / total,
                   total)


def read_serving(bench_json: Path, bundle: Bundle) -> Serving:
    if bench_json.is_file():
        document = read_json_object(bench_json, error=UsageError, what="benchmark result")
        try:
            http = document.get("http")
            if http:
                predict = http["endpoints"]["predict"]
                return Serving(f"{bench_json} ({document['created_at']})", predict["rps"],
                               predict["latency_ms"]["p95"])
            service = next(r for r in document["inprocess"]
                           if r["engine"] == "service_path" and r["batch"] == 1)
        except (KeyError, TypeError, StopIteration):
            raise UsageError(f"{bench_json} is not a result of stage5a_integration.bench "
                             "(run it again)") from None
        return Serving(f"{bench_json}, in-process only", None, service["p50_ms"])
    from stage5a_integration.predictor import load_predictor

    predictor = load_predictor(bundle.root)
    text = ["Hello, I was charged twice this month, could you refund one payment?"]
    for _ in range(20):
        predictor.predict(text)
    started = time.perf_counter()
    for _ in range(200):
        predictor.predict(text)
    per_call = (time.perf_counter() - started) / 200 * 1e3
    return Serving("measured here: 200 in-process calls (no benchmark JSON found)", None,
                   per_call)


def value_per_message(quality: Quality, args: argparse.Namespace) -> tuple[float, ...]:
    """Per incoming message: (flag rate, false-positive rate, false-negative rate, net value)."""
    true_positive = quality.recall * quality.prevalence
    flagged = true_positive / quality.precision
    false_positive = flagged - true_positive
    false_negative = quality.prevalence - true_positive
    saved = flagged * args.seconds_per_review / 3600 * args.hourly_cost
    errors = false_positive * args.cost_false_positive + false_negative * args.cost_false_negative
    return flagged, false_positive, false_negative, saved - errors


def outcome(quality: Quality, serving: Serving, args: argparse.Namespace) -> Outcome:
    flagged, false_positive, false_negative, value = value_per_message(quality, args)
    per_month = args.messages_per_day * args.days_per_month
    hours = per_month * flagged * args.seconds_per_review / 3600
    errors = per_month * (false_positive * args.cost_false_positive
                          + false_negative * args.cost_false_negative)
    net = hours * args.hourly_cost - errors - args.monthly_infra_cost
    peak_rps = 10 * args.messages_per_day / 86400  # a busy hour at ten times the average rate
    return Outcome(
        flagged_per_day=args.messages_per_day * flagged,
        false_positives_per_day=args.messages_per_day * false_positive,
        false_negatives_per_day=args.messages_per_day * false_negative,
        hours_saved_per_month=hours, money_saved_per_month=hours * args.hourly_cost,
        error_cost_per_month=errors, net_per_month=net,
        break_even_months=args.setup_cost / net if net > 0 else None,
        break_even_messages_per_day=(args.monthly_infra_cost / (value * args.days_per_month)
                                     if value > 0 else None),
        workers_needed_at_10x_peak=(peak_rps / serving.rps_one_worker
                                    if serving.rps_one_worker else None),
    )


def plot(quality: Quality, result: Outcome, args: argparse.Namespace, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from common.plots import save_figure

    *_, value = value_per_message(quality, args)
    volumes = np.linspace(0, 3 * args.messages_per_day, 200)
    net = volumes * value * args.days_per_month - args.monthly_infra_cost
    months = np.arange(0, 25)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(volumes, net)
    left.axhline(0, color="gray", linewidth=0.8)
    left.axvline(args.messages_per_day, color="tab:green", linestyle="--",
                 label=f"your volume: {args.messages_per_day}/day")
    if result.break_even_messages_per_day is not None:
        left.axvline(result.break_even_messages_per_day, color="tab:red", linestyle=":",
                     label=f"break-even: {result.break_even_messages_per_day:.0f}/day")
    left.set(title="Net saving per month vs volume", xlabel="messages per day",
             ylabel="net saving per month")
    left.legend()
    right.plot(months, months * result.net_per_month - args.setup_cost)
    right.axhline(0, color="gray", linewidth=0.8)
    right.set(title=f"Cumulative, after a setup cost of {args.setup_cost:,.0f}",
              xlabel="months", ylabel="cumulative net")
    return save_figure(fig, path)


def money(value: float) -> str:
    return f"{value:,.0f}"


def report(quality: Quality, serving: Serving, result: Outcome, args: argparse.Namespace,
           bundle: Bundle, plot_path: Path) -> str:
    break_even = (f"{result.break_even_months:.1f} months" if result.break_even_months is not None
                  else "never at this volume (no net saving)")
    capacity = (f"one worker served {serving.rps_one_worker:,.0f} requests/s (p95 "
                f"{serving.latency_ms:.1f} ms); at ten times the average rate this volume needs "
                f"{result.workers_needed_at_10x_peak:.4f} of one worker"
                if serving.rps_one_worker else
                f"{serving.latency_ms:.2f} ms per message in process; run the benchmark for "
                "HTTP throughput")
    return f"""# Business case: {quality.label!r} filtering with model {bundle.model_version}

## Inputs

| | |
|---|---|
| messages per day | {args.messages_per_day:,} |
| seconds per human review | {args.seconds_per_review:g} |
| cost of an hour | {args.hourly_cost:g} |
| cost of a false positive (real message flagged) | {args.cost_false_positive:g} |
| cost of a false negative (unwanted message missed) | {args.cost_false_negative:g} |
| service per month / one-off setup | {money(args.monthly_infra_cost)} / {money(args.setup_cost)} |
| precision / recall of {quality.label!r} (test split, {quality.test_messages} messages) | \
{quality.precision:.3f} / {quality.recall:.3f} |
| share of {quality.label!r} in the test split | {quality.prevalence:.1%} |
| serving | {serving.source} |

## Results (per month of {args.days_per_month} days)

| | |
|---|---|
| messages flagged per day | {result.flagged_per_day:,.0f} |
| of which real messages (false positives) per day | {result.false_positives_per_day:,.1f} |
| unwanted messages missed per day | {result.false_negatives_per_day:,.1f} |
| hours of reading saved | {result.hours_saved_per_month:,.1f} |
| money saved | {money(result.money_saved_per_month)} |
| cost of errors | {money(result.error_cost_per_month)} |
| **net saving** (after the service's cost) | **{money(result.net_per_month)}** |
| setup cost paid back after | {break_even} |
| break-even volume | {f"{result.break_even_messages_per_day:,.0f} messages per day"
                         if result.break_even_messages_per_day else "none"} |

Capacity: {capacity}.

![net saving vs volume and over time]({plot_path.name})

## How to read it

- The saving scales with volume; the service's cost does not: below the break-even volume the
  model costs more than it saves.
- False positives usually dominate the error cost. Raising the decision threshold (stage 4's
  `--target-recall`) trades flagged messages (saving) for fewer false positives (cost).
- The precision and recall come from {quality.test_messages} test messages: with so few, treat
  every figure as ±10% or worse, and re-run with your own numbers and data.
"""


def run(args: argparse.Namespace) -> LessonSummary:
    bundle = load_bundle(chosen_bundle(args.bundle))
    quality = read_quality(bundle, args.positive_label)
    serving = read_serving(args.bench_json or default_bench_json(), bundle)
    result = outcome(quality, serving, args)
    out = runs_dir(STAGE, LESSON, args.out)
    plot_path = plot(quality, result, args, out / PLOT)
    report_path = out / REPORT
    report_path.write_text(report(quality, serving, result, args, bundle, plot_path),
                           encoding="utf-8")
    print(f"positive class {quality.label!r}: precision {quality.precision:.3f}, recall "
          f"{quality.recall:.3f}, share {quality.prevalence:.1%}; serving: {serving.source}")
    print(f"net saving per month {money(result.net_per_month)} (saved "
          f"{money(result.money_saved_per_month)}, errors {money(result.error_cost_per_month)}, "
          f"service {money(args.monthly_infra_cost)})")

    summary = LessonSummary(STAGE, LESSON, "tool", dataset=f"bundle test split "
                            f"({quality.test_messages} messages)",
                            outputs=[str(report_path), str(plot_path)],
                            extras={"quality": asdict(quality), "serving": asdict(serving),
                                    "outcome": asdict(result)})
    summary.metrics.update({
        "net_saving_per_month": result.net_per_month,
        "hours_saved_per_month": result.hours_saved_per_month,
        "error_cost_per_month": result.error_cost_per_month,
        "break_even_months": result.break_even_months,
        "break_even_messages_per_day": result.break_even_messages_per_day,
    })
    summary.check("every figure of the report is finite",
                  all(math.isfinite(v) for v in summary.metrics.values() if v is not None))
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
