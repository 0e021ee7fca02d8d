"""Upper limits on the sizes and durations a user gives, checked before anything is allocated.

A plan or back-test builds hourly series as long as the job and its delay, so an absurd value
(``--duration-hours 1e9``) would take gigabytes before failing. The limits follow what the runs
themselves allow: a Vertex AI custom job runs at most 14 days (CustomJobSpec scheduling.timeout,
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec#Scheduling), and our
own intensity forecast reaches 7 days (live providers' forecasts 72 h).
"""

from __future__ import annotations

import math
from typing import Any

MAX_DURATION_HOURS = 14 * 24
"""Longest job a plan, a back-test or ``training_timeout_hours`` accepts: Vertex AI's 14 days."""
MAX_DELAY_HOURS = 7 * 24
"""Longest wait for a start (``--max-delay-hours``, ``--start-within``): our forecast's reach."""


def exact(value: Any) -> str:
    """A number as short as it reads, but never rounded (``168.0000001`` stays as it is)."""
    if isinstance(value, float) and math.isfinite(value):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return repr(value)


def check_hours(value: Any, flag: str, *, maximum: float, zero_allowed: bool = False) -> float:
    """Checks a number of hours given on the command line.

    Args:
        value: The value given.
        flag: The flag's name, for the message (``--duration-hours``).
        maximum: The largest value allowed.
        zero_allowed: Whether 0 is allowed (a delay may be 0; a duration may not).

    Returns:
        The value as a float.

    Raises:
        ValueError: Naming the flag, the value exactly as given and the allowed range.
    """
    low = "0 or more" if zero_allowed else "more than 0"
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if (
        number is None
        or not math.isfinite(number)
        or number > maximum
        or number < 0
        or (number == 0 and not zero_allowed)
    ):
        raise ValueError(f"{flag} {exact(value)} must be {low} and at most {maximum:g} hours")
    return float(number)
