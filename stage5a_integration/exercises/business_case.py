"""Exercise 5a.3 — the business case: what a spam filter saves a month, and when it pays.

People read every incoming message to sort out spam. With the model, the messages it flags skip
the human read. From the model's measured quality on the test split:

- ``prevalence``: the share of messages that are spam; ``precision`` and ``recall`` of "spam";
- per message, true positives = recall × prevalence; flagged = true positives / precision;
  false positives = flagged − true positives; false negatives = prevalence − true positives.

With ``messages_per_day`` over ``days_per_month`` days: hours saved = flagged messages ×
``seconds_per_review`` / 3600; money saved = hours × ``hourly_cost``; the error cost = false
positives × ``cost_false_positive`` + false negatives × ``cost_false_negative``; net = saved −
error cost − ``monthly_infra_cost``. Break-even volume: the messages per day at which net is 0,
``None`` when each message loses money.

    def monthly_outcome(...) -> dict[str, float | None]   # the keys listed in KEYS

Done when ``mlcourse check 5a.3`` passes: every figure equals the lesson's
(``stage5a_integration.business_case``) within 1e-6 for three scenarios, among them a perfect
precision and one that never breaks even.
"""

from __future__ import annotations

KEYS = ("flagged_per_day", "false_positives_per_day", "false_negatives_per_day",
        "hours_saved_per_month", "net_per_month", "break_even_messages_per_day")


def monthly_outcome(*, messages_per_day: float, days_per_month: float, prevalence: float,
                    precision: float, recall: float, seconds_per_review: float,
                    hourly_cost: float, cost_false_positive: float, cost_false_negative: float,
                    monthly_infra_cost: float) -> dict[str, float | None]:
    """The six figures of ``KEYS`` for one month."""
    raise NotImplementedError
