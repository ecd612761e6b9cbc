"""A plausible wrong answer: it takes (1 − precision) × prevalence as the false positives.

Mutated from stage5a_integration/solutions/business_case.py.
"""

from __future__ import annotations

KEYS = ("flagged_per_day", "false_positives_per_day", "false_negatives_per_day",
        "hours_saved_per_month", "net_per_month", "break_even_messages_per_day")


def monthly_outcome(*, messages_per_day: float, days_per_month: float, prevalence: float,
                    precision: float, recall: float, seconds_per_review: float,
                    hourly_cost: float, cost_false_positive: float, cost_false_negative: float,
                    monthly_infra_cost: float) -> dict[str, float | None]:
    """The six figures of ``KEYS`` for one month."""
    true_positive = recall * prevalence  # per incoming message
    flagged = true_positive / precision
    false_positive = (1 - precision) * prevalence
    false_negative = prevalence - true_positive
    saved = flagged * seconds_per_review / 3600 * hourly_cost
    errors = false_positive * cost_false_positive + false_negative * cost_false_negative
    value = saved - errors  # per message, before the fixed monthly cost
    per_month = messages_per_day * days_per_month
    return {
        "flagged_per_day": messages_per_day * flagged,
        "false_positives_per_day": messages_per_day * false_positive,
        "false_negatives_per_day": messages_per_day * false_negative,
        "hours_saved_per_month": per_month * flagged * seconds_per_review / 3600,
        "net_per_month": per_month * value - monthly_infra_cost,
        "break_even_messages_per_day": (monthly_infra_cost / (value * days_per_month)
                                        if value > 0 else None),
    }
