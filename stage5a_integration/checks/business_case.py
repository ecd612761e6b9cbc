"""Checks for exercise 5a.3: the learner's arithmetic against the business-case lesson's."""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

from common.checks import check, expect
from stage5a_integration import business_case as lesson

KEYS = ("flagged_per_day", "false_positives_per_day", "false_negatives_per_day",
        "hours_saved_per_month", "net_per_month", "break_even_messages_per_day")
TYPICAL = {"messages_per_day": 2000, "days_per_month": 30, "prevalence": 0.134,
           "precision": 0.95, "recall": 0.9, "seconds_per_review": 20, "hourly_cost": 30.0,
           "cost_false_positive": 2.0, "cost_false_negative": 0.5, "monthly_infra_cost": 150.0}
PERFECT_PRECISION = {**TYPICAL, "precision": 1.0, "recall": 0.7}
NEVER_PAYS = {**TYPICAL, "precision": 0.5, "cost_false_positive": 5.0}


def lesson_figures(scenario: dict[str, float]) -> dict[str, Any]:
    """The lesson's own arithmetic (filtering at one threshold) for these quality figures."""
    found = scenario["recall"] * scenario["prevalence"]  # true positives per message
    flagged = found / scenario["precision"]
    rates = (flagged, flagged - found, scenario["prevalence"] - found)
    options = argparse.Namespace(setup_cost=0.0, cost_misroute=0.0,
                                 **{k: v for k, v in scenario.items()
                                    if k not in ("precision", "recall", "prevalence")})
    result = lesson.outcome_of(rates, 0.5, "filter", options)
    return {"flagged_per_day": result.acted_per_day,
            "false_positives_per_day": result.wrong_per_day,
            "false_negatives_per_day": result.missed_per_day,
            "hours_saved_per_month": result.hours_saved_per_month,
            "net_per_month": result.net_per_month,
            "break_even_messages_per_day":
                lesson.break_even(rates, result, options).messages_per_day}


def compare(learner: ModuleType, scenario: dict[str, float], keys: tuple[str, ...]) -> None:
    seen = learner.monthly_outcome(**scenario)
    expected = lesson_figures(scenario)
    for key in keys:
        mine, theirs = seen.get(key, "missing"), expected[key]
        same = (mine is None and theirs is None) or (
            isinstance(mine, int | float) and theirs is not None
            and abs(mine - theirs) <= 1e-6 * max(1.0, abs(theirs)))
        expect(same, expected=f"{key} = {theirs if theirs is None else round(theirs, 4)}",
               seen=f"{mine if not isinstance(mine, float) else round(mine, 4)}")


@check("flagged, false positives and false negatives per day",
       hint="per message: true positives = recall × prevalence, flagged = true positives / "
            "precision, false positives = flagged − true positives")
def error_counts(learner: ModuleType) -> None:
    for scenario in (TYPICAL, PERFECT_PRECISION):
        compare(learner, scenario, KEYS[:3])


@check("hours saved and net value per month",
       hint="hours = flagged per month × seconds per review / 3600; net = hours × hourly cost "
            "− error cost − the monthly infrastructure cost")
def money(learner: ModuleType) -> None:
    for scenario in (TYPICAL, PERFECT_PRECISION, NEVER_PAYS):
        compare(learner, scenario, KEYS[3:5])


@check("the break-even volume, and None when every message loses money",
       hint="break-even = infrastructure cost / (value per message × days); when the value per "
            "message is <= 0 there is none: return None")
def break_even(learner: ModuleType) -> None:
    for scenario in (TYPICAL, NEVER_PAYS):
        compare(learner, scenario, KEYS[5:])
