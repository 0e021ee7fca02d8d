"""Plausibility and freshness checks every live figure passes before it is used.

A provider can answer 200 with a figure that is well formed but wrong for a decision made now: a
reading from years ago, one time-stamped in the future, or a value no grid produces. These checks
turn such answers into :class:`~carbon_aware.intensity.http.BadResponseError` (so the region falls
back, labelled, or fails with ``allow_fallback=false``) instead of letting them rank regions.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from carbon_aware.intensity.http import BadResponseError

# The dirtiest fossil units (old lignite plants) emit about 1,100-1,400 gCO2/kWh at the stack, and
# an average grid mix cannot exceed its dirtiest plant; WattTime's marginal rates stay below
# ~2,200 lbs/MWh (~1,000 g/kWh). 2,000 g/kWh leaves headroom for any real grid, yet catches unit
# mix-ups (lbs/MWh or kg/MWh passed as g/kWh) and garbage.
MAX_PLAUSIBLE_GCO2E_PER_KWH = 2000.0
MAX_AGE_ENV = "CARBON_AWARE_MAX_READING_AGE_H"
# Electricity Maps' latest is the current hour (estimated when measurements lag, and they lag up
# to about an hour); WattTime's is a 5-minute forecast point. Three hours covers both with margin;
# anything older no longer describes "now".
DEFAULT_MAX_AGE_H = 3.0
# Clock skew and the start of a 5-minute or hourly bucket put a current point slightly ahead.
FUTURE_TOLERANCE = timedelta(hours=1)


def max_reading_age() -> timedelta:
    """Returns the staleness limit: ``$CARBON_AWARE_MAX_READING_AGE_H`` hours, default 3.

    Raises:
        ValueError: The variable is set but is not a positive number of hours.
    """
    raw = os.environ.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return timedelta(hours=DEFAULT_MAX_AGE_H)
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not hours > 0 or hours == float("inf"):
        raise ValueError(f"{MAX_AGE_ENV} must be a positive number of hours, got {raw!r}")
    return timedelta(hours=hours)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock of the providers)."""
    return datetime.now(UTC)


def plausible(gco2e_per_kwh: float, where: str) -> float:
    """Returns the figure if a real grid could produce it; raises BadResponseError otherwise."""
    if gco2e_per_kwh > MAX_PLAUSIBLE_GCO2E_PER_KWH:
        raise BadResponseError(
            f"{where}: {gco2e_per_kwh:.1f} gCO2e/kWh is above {MAX_PLAUSIBLE_GCO2E_PER_KWH:.0f}, "
            "more than any real grid emits; not used"
        )
    return gco2e_per_kwh


def _parse(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def not_in_future(timestamp: str, now: datetime, where: str) -> str:
    """Checks that a measured point (``YYYY-MM-DDTHH:MM:SSZ``) is not in the future."""
    if _parse(timestamp) - now > FUTURE_TOLERANCE:
        raise BadResponseError(
            f"{where}: measured point {timestamp} is in the future (now {_iso(now)}); not used"
        )
    return timestamp


def current(timestamp: str, now: datetime, max_age: timedelta, where: str) -> str:
    """Checks that a figure used as "now" is neither stale nor in the future."""
    not_in_future(timestamp, now, where)
    age = now - _parse(timestamp)
    if age > max_age:
        raise BadResponseError(
            f"{where}: reading from {timestamp} is {_age(age)} old, older than the "
            f"{_age(max_age)} limit ({MAX_AGE_ENV}); not used as the current figure"
        )
    return timestamp


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.1f} h"
