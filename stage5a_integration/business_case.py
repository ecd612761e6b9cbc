"""Does the model pay for itself? Where it saves time and money, where it does not, break-even.

Run: ``python -m stage5a_integration.business_case [--bundle DIR] [--scenario auto|filter|triage]
[--messages-per-day N] [--seconds-per-review S] [--hourly-cost C] [--currency EUR] ...``

Today people read and sort every incoming message. Two ways a model can take work off them:

- **filter** (a two-class bundle with an unwanted class, e.g. spam): messages whose probability of
  the unwanted class reaches the threshold are set aside unread. Each saves a read; a real
  message set aside (false positive) costs ``--cost-false-positive`` (a customer who waits);
  an unwanted message let through is read as before and costs ``--cost-false-negative`` on top.
- **triage** (any classifier): messages whose top label's probability reaches the threshold are
  routed automatically and skip the human sort; the rest are sorted by people as before. A
  message routed to the wrong queue costs ``--cost-misroute`` (someone finds it and moves it).

The model's behaviour at every threshold is measured on the bundle's test split (the texts it
never trained on), with the torch-free runtime the service uses. The lesson chooses the
threshold with the highest net saving on that curve, reports the saving there and at the
bundle's own threshold, the costs at which it would stop paying, and the volume it needs. It
fails (exit 1) when no threshold pays. The threshold is chosen on the same test rows it is
measured on, so the figure is optimistic: read it as the best case, with the interval noted.
Writes a Markdown report and a plot under ``runs/stage5a_integration/business_case/``.
"""

# %%
from __future__ import annotations

import argparse
import json
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
from stage5a_integration.predictor import BundlePredictor, load_predictor

STAGE, LESSON = "stage5a_integration", "business_case"
REPORT, PLOT = "business_case.md", "business_case.png"
SCENARIOS = ("auto", "filter", "triage")


def build_parser() -> argparse.ArgumentParser:
    parser = lesson_parser(f"{STAGE}.{LESSON}", __doc__.splitlines()[0], device_flag=False)
    add_bundle_flag(parser)
    parser.add_argument("--bench-json", type=Path, default=None,
                        help="the benchmark's results (default: runs/stage5a_integration/bench/"
                             "bench.json; measured here when absent)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="auto",
                        help="filter out an unwanted class, or triage every message; auto: "
                             "filter for a two-class bundle with a positive label, else triage")
    parser.add_argument("--positive-label", default=None,
                        help="filter: the unwanted class (default: the bundle's positive label)")
    parser.add_argument("--messages-per-day", type=positive_int, default=2000)
    parser.add_argument("--seconds-per-review", type=positive_float, default=30.0,
                        help="a person's time to read and sort one message")
    parser.add_argument("--hourly-cost", type=positive_float, default=30.0,
                        help="cost of one hour of that person's time")
    parser.add_argument("--currency", default="EUR",
                        help="the currency of every cost here (a name or code)")
    parser.add_argument("--cost-false-positive", type=non_negative_float, default=2.0,
                        help="filter: cost of one real message set aside unread")
    parser.add_argument("--cost-false-negative", type=non_negative_float, default=0.05,
                        help="filter: extra cost of one unwanted message that gets through")
    parser.add_argument("--cost-misroute", type=non_negative_float, default=1.5,
                        help="triage: cost of one message routed to the wrong queue (about "
                             "three minutes of someone's time to notice and move it, plus the "
                             "customer's wait)")
    parser.add_argument("--monthly-infra-cost", type=non_negative_float, default=60.0,
                        help="running the service for a month (server, monitoring)")
    parser.add_argument("--setup-cost", type=non_negative_float, default=3000.0,
                        help="one-off cost of building and deploying it")
    parser.add_argument("--days-per-month", type=positive_int, default=30)
    return parser


# %% What the model does at each threshold, measured on the test split
@dataclass(frozen=True)
class Curve:
    """Per test message: the score compared with the threshold, and whether acting is right.

    filter: score = P(unwanted), ``hit`` = it is unwanted (setting it aside is right);
    triage: score = the top label's probability, ``hit`` = the top label is the true one.
    """

    scenario: str
    label: str | None  # filter: the unwanted class
    scores: np.ndarray
    hits: np.ndarray

    @property
    def messages(self) -> int:
        return len(self.scores)

    def rates(self, threshold: float) -> tuple[float, float, float]:
        """Per incoming message: (share acted on, share acted on wrongly, share of misses)."""
        acted = self.scores >= threshold
        wrong = float(np.mean(acted & ~self.hits))
        missed = float(np.mean(~acted & self.hits)) if self.scenario == "filter" else 0.0
        return float(np.mean(acted)), wrong, missed


def read_test_split(bundle: Bundle) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with bundle.split_path("test").open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(row["label"])
    if not texts:
        raise UsageError(f"{bundle.split_path('test')} holds no test texts")
    return texts, labels


def measure_curve(predictor: BundlePredictor, scenario: str, label: str | None) -> Curve:
    texts, truth = read_test_split(predictor.bundle)
    probabilities = predictor.runtime.predict_proba(texts)
    labels = np.asarray(predictor.labels)
    if scenario == "filter":
        column = predictor.labels.index(label)
        return Curve(scenario, label, probabilities[:, column], np.asarray(truth) == label)
    top = probabilities.argmax(axis=1)
    return Curve(scenario, None, probabilities.max(axis=1), labels[top] == np.asarray(truth))


def choose_scenario(bundle: Bundle, args: argparse.Namespace) -> tuple[str, str | None]:
    """The scenario and, for filtering, the unwanted class; one clear line when it is unknown."""
    scenario = args.scenario
    label = args.positive_label or bundle.positive_label
    if scenario == "auto":
        scenario = "filter" if label is not None else "triage"
    if scenario == "filter":
        if label is None:
            raise UsageError("filtering needs the unwanted class: pass --positive-label "
                             f"(labels: {', '.join(bundle.labels)}), or --scenario triage")
        if label not in bundle.labels:
            raise UsageError(f"--positive-label {label!r} is not a label of the bundle "
                             f"({', '.join(bundle.labels)})")
    return scenario, label if scenario == "filter" else None


# %% Money
@dataclass(frozen=True)
class Outcome:
    """What one threshold gives, per month."""

    threshold: float
    acted_per_day: float
    wrong_per_day: float
    missed_per_day: float
    hours_saved_per_month: float
    money_saved_per_month: float
    error_cost_per_month: float
    net_per_month: float
    payback_months: float | None  # None: never (no net saving)


def error_cost(scenario: str, args: argparse.Namespace) -> float:
    return args.cost_false_positive if scenario == "filter" else args.cost_misroute


Rates = tuple[float, float, float]  # per message: acted on, acted on wrongly, missed


def outcome_of(rates: Rates, threshold: float, scenario: str,
               args: argparse.Namespace) -> Outcome:
    """The month's figures for a model that acts on these shares of the messages."""
    acted, wrong, missed = rates
    per_month = args.messages_per_day * args.days_per_month
    hours = per_month * acted * args.seconds_per_review / 3600
    errors = per_month * (wrong * error_cost(scenario, args) + missed * args.cost_false_negative)
    net = hours * args.hourly_cost - errors - args.monthly_infra_cost
    return Outcome(threshold, args.messages_per_day * acted, args.messages_per_day * wrong,
                   args.messages_per_day * missed, hours, hours * args.hourly_cost, errors, net,
                   args.setup_cost / net if net > 0 else None)


def outcome_at(curve: Curve, threshold: float, args: argparse.Namespace) -> Outcome:
    return outcome_of(curve.rates(threshold), threshold, curve.scenario, args)


def candidate_thresholds(curve: Curve) -> np.ndarray:
    """Every threshold that changes a decision on the test split (each score), plus 1.0."""
    return np.unique(np.concatenate([curve.scores, [1.0]]))


def best_outcome(curve: Curve, args: argparse.Namespace) -> Outcome:
    """The threshold with the highest net saving (the higher threshold among equals)."""
    outcomes = [outcome_at(curve, float(t), args) for t in candidate_thresholds(curve)]
    return max(outcomes, key=lambda o: (o.net_per_month, o.threshold))


@dataclass(frozen=True)
class BreakEven:
    """The values at which the chosen threshold stops paying (None: no such value)."""

    error_cost: float | None  # per wrong action
    hourly_cost: float | None
    messages_per_day: float | None


def break_even(rates: Rates, best: Outcome, args: argparse.Namespace) -> BreakEven:
    """Where ``best`` (the outcome of ``rates``) stops paying."""
    _, wrong, missed = rates
    per_month = args.messages_per_day * args.days_per_month
    saved = best.money_saved_per_month
    other_errors = per_month * missed * args.cost_false_negative
    error = ((saved - other_errors - args.monthly_infra_cost) / (per_month * wrong)
             if wrong > 0 else None)
    hourly = ((best.error_cost_per_month + args.monthly_infra_cost)
              / best.hours_saved_per_month if best.hours_saved_per_month > 0 else None)
    per_message = (saved - best.error_cost_per_month) / per_month
    volume = (args.monthly_infra_cost / (per_message * args.days_per_month)
              if per_message > 0 else None)
    return BreakEven(error, hourly, volume)


# %% Serving capacity (from the benchmark, or measured here)
@dataclass(frozen=True)
class Serving:
    source: str
    rps_one_worker: float | None
    latency_ms: float  # p95 over HTTP when benchmarked, else the in-process time of one text


def read_serving(bench_json: Path, predictor: BundlePredictor) -> Serving:
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
    text = ["Hello, I was charged twice this month, could you refund one payment?"]
    for _ in range(20):
        predictor.predict(text)
    started = time.perf_counter()
    for _ in range(200):
        predictor.predict(text)
    per_call = (time.perf_counter() - started) / 200 * 1e3
    return Serving("measured here: 200 in-process calls (no benchmark JSON found)", None,
                   per_call)


# %% Report
def money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.0f} {currency}"


def plot(curve: Curve, best: Outcome, args: argparse.Namespace, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from common.plots import save_figure

    thresholds = np.linspace(0, 1, 201)
    outcomes = [outcome_at(curve, float(t), args) for t in thresholds]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(thresholds, [o.net_per_month for o in outcomes])
    left.axhline(0, color="gray", linewidth=0.8)
    left.axvline(best.threshold, color="tab:green", linestyle="--",
                 label=f"best threshold {best.threshold:.2f}")
    left.set(title=f"Net saving per month ({args.currency}) vs threshold", xlabel="threshold",
             ylabel=f"net per month ({args.currency})")
    left.legend()
    acted = [curve.rates(float(t)) for t in thresholds]
    right.plot(thresholds, [a for a, _, _ in acted], label="acted on (share of messages)")
    right.plot(thresholds, [w for _, w, _ in acted], label="acted on wrongly")
    right.set(title="What the model takes off people's hands", xlabel="threshold",
              ylabel="share of messages")
    right.legend()
    return save_figure(fig, path)


def report(curve: Curve, best: Outcome, bundle_rule: Outcome, limits: BreakEven,
           serving: Serving, args: argparse.Namespace, bundle: Bundle, plot_path: Path) -> str:
    c = args.currency
    action = (f"setting aside {curve.label!r} messages unread" if curve.scenario == "filter"
              else "routing each message whose top label is confident enough")
    wrong = "real messages set aside" if curve.scenario == "filter" else "messages misrouted"
    rows = []
    for name, o in (("best threshold", best), ("the bundle's rule", bundle_rule)):
        rows.append(f"| {name} | {o.threshold:.3f} | {o.acted_per_day:,.0f} | "
                    f"{o.wrong_per_day:,.1f} | {o.hours_saved_per_month:,.1f} | "
                    f"{money(o.money_saved_per_month, c)} | {money(o.error_cost_per_month, c)} | "
                    f"**{money(o.net_per_month, c)}** |")
    payback = (f"{best.payback_months:.1f} months" if best.payback_months is not None
               else "never (no net saving)")
    capacity = (f"one worker served {serving.rps_one_worker:,.0f} requests/s (p95 "
                f"{serving.latency_ms:.1f} ms)" if serving.rps_one_worker else
                f"{serving.latency_ms:.2f} ms per message in process; run the benchmark for "
                "HTTP throughput")
    return f"""# Business case: {curve.scenario} with model {bundle.model_version}

The model takes work off people by {action}. Measured on {curve.messages} test messages.

## Inputs

| | |
|---|---|
| messages per day | {args.messages_per_day:,} |
| seconds a person needs per message | {args.seconds_per_review:g} |
| cost of an hour | {args.hourly_cost:g} {c} |
| cost of a wrong action ({wrong}) | {error_cost(curve.scenario, args):g} {c} |
| service per month / one-off setup | {money(args.monthly_infra_cost, c)} / \
{money(args.setup_cost, c)} |
| serving | {serving.source}; {capacity} |

## Results per month of {args.days_per_month} days

| | threshold | acted on per day | wrong per day | hours saved | saved | errors cost | net |
|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Setup cost paid back after: {payback}.

## Where it stops paying

- a wrong action costing more than {money(limits.error_cost, c)} each (at the best threshold);
- an hour of work costing less than {money(limits.hourly_cost, c)};
- fewer than {f"{limits.messages_per_day:,.0f}" if limits.messages_per_day else "–"} messages
  a day (the service's monthly cost is then not covered).

![net saving vs threshold]({plot_path.name})

## How to read it

- Left of the best threshold the model acts on more messages but makes more mistakes; right of
  it, it is rarely wrong but leaves most messages to people. The curve shows both sides.
- The threshold is chosen on the same {curve.messages} test messages that measure it: treat the
  best figure as optimistic, and confirm it on new messages before relying on it.
"""


def run(args: argparse.Namespace) -> LessonSummary:
    bundle = load_bundle(chosen_bundle(args.bundle))
    scenario, label = choose_scenario(bundle, args)
    predictor = load_predictor(bundle.root)
    curve = measure_curve(predictor, scenario, label)
    best = best_outcome(curve, args)
    rule = (bundle.decision_threshold if scenario == "filter" and label == bundle.positive_label
            else 0.5 if scenario == "filter" else 0.0)
    bundle_rule = outcome_at(curve, rule, args)
    limits = break_even(curve.rates(best.threshold), best, args)
    serving = read_serving(args.bench_json or default_bench_json(), predictor)
    out = runs_dir(STAGE, LESSON, args.out)
    plot_path = plot(curve, best, args, out / PLOT)
    report_path = out / REPORT
    report_path.write_text(report(curve, best, bundle_rule, limits, serving, args, bundle,
                                  plot_path), encoding="utf-8")
    c = args.currency
    print(f"scenario {scenario}" + (f" (unwanted class {label!r})" if label else "")
          + f", measured on {curve.messages} test messages; serving: {serving.source}")
    for name, o in (("best threshold", best), ("bundle's rule", bundle_rule)):
        print(f"  {name:<15} {o.threshold:.3f}: acts on {o.acted_per_day:,.0f}/day, wrong "
              f"{o.wrong_per_day:,.1f}/day, net {money(o.net_per_month, c)} a month")
    print(f"  stops paying above {money(limits.error_cost, c)} per wrong action, below "
          f"{money(limits.hourly_cost, c)} an hour, or below "
          f"{limits.messages_per_day or 0:,.0f} messages a day")

    summary = LessonSummary(STAGE, LESSON, "tool", dataset=f"bundle test split "
                            f"({curve.messages} messages)",
                            outputs=[str(report_path), str(plot_path)],
                            extras={"scenario": scenario, "positive_label": label,
                                    "currency": c, "serving": asdict(serving),
                                    "best": asdict(best), "bundle_rule": asdict(bundle_rule),
                                    "break_even": asdict(limits)})
    summary.metrics.update({
        "best_threshold": best.threshold,
        "net_saving_per_month": best.net_per_month,
        "net_saving_per_month_at_bundle_rule": bundle_rule.net_per_month,
        "hours_saved_per_month": best.hours_saved_per_month,
        "payback_months": best.payback_months,
        "break_even_error_cost": limits.error_cost,
        "break_even_messages_per_day": limits.messages_per_day,
    })
    summary.check(f"some threshold pays: best net {money(best.net_per_month, c)} a month > 0",
                  best.net_per_month > 0)
    summary.check("every figure of the report is finite",
                  all(math.isfinite(v) for v in summary.metrics.values() if v is not None))
    return summary


def main(argv: list[str] | None = None) -> int:
    return lesson_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
