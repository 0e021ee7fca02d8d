"""``submit --start-within``: plan the start with the run's own provider and regions.

The plan uses the run's ``intensity_provider``, ``candidate_regions``, ``baseline_region``,
``residency``, ``max_carbon_intensity``, ``intensity_csv`` and ``api_key_secret``
(:func:`carbon_aware.planning.when.plan_from_provider`). When it starts now (now is best, or the
gain of waiting is below ``min_gain_pct``) the run is submitted at once; otherwise a one-off
schedule fires at the planned start. Either way the plan travels with the run: as labels, and as
the pipeline parameters ``planned_start_utc`` and ``planned_carbon_intensity`` that report-footprint
compares with what happened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carbon_aware.limits import MAX_DELAY_HOURS, MAX_DURATION_HOURS, check_hours, exact
from carbon_aware.planning.constraints import Constraints
from carbon_aware.planning.planner import Plan
from carbon_aware.planning.sources import PROVIDER_HORIZON_HOURS

PLAN_PARAMETERS = ("planned_start_utc", "planned_carbon_intensity")
MAX_START_WITHIN_HOURS = MAX_DELAY_HOURS
"""Our own forecast reaches 7 days; the live providers' forecasts 72 h."""


def check_start_within(
    start_within: float | None, duration_hours: float | None, start_at: str | None
) -> None:
    """Check the flags before anything is read or sent.

    Raises:
        ValueError: Naming the flag, the bad value and what is allowed.
    """
    if start_within is None:
        return  # --duration-hours alone is ignored: CI passes it whether or not it plans
    if start_at:
        raise ValueError("give either --start-at or --start-within, not both")
    if not (math.isfinite(start_within) and 0 < start_within <= MAX_START_WITHIN_HOURS):
        raise ValueError(
            f"--start-within {exact(start_within)} must be more than 0 and at most "
            f"{MAX_START_WITHIN_HOURS} hours (our forecast's reach; live provider forecasts: "
            f"{max(PROVIDER_HORIZON_HOURS.values())} h); to start now, leave it out"
        )
    if duration_hours is None:
        raise ValueError("--start-within needs --duration-hours D: how long the run takes")
    check_hours(duration_hours, "--duration-hours", maximum=MAX_DURATION_HOURS)


def plan_run(
    values: Mapping[str, Any],
    start_within: float,
    duration_hours: float,
    min_gain_pct: float | None,
    *,
    now: datetime | None = None,
    provider: Any = None,
) -> Plan:
    """Plan the run's start from its effective parameter values.

    Args:
        values: Every parameter of the run (template defaults plus overrides).
        start_within: Hours the start may wait.
        duration_hours: Expected run length.
        min_gain_pct: Least gain worth waiting for (None: the back-tested default).
        now: Planning time (default: the current UTC time).
        provider: Live provider object to use instead of the registry's.

    Returns:
        The plan.
    """
    from carbon_aware.intensity.registry import get_provider
    from carbon_aware.planning.when import plan_from_provider

    name = str(values.get("intensity_provider", "static"))
    if provider is None and name in PROVIDER_HORIZON_HOURS:
        provider = get_provider(
            name,
            allow_fallback=True,
            api_key_secret=str(values.get("api_key_secret", "")),
        )
    cap = float(values.get("max_carbon_intensity") or 0)
    constraints = Constraints(
        residency=str(values.get("residency") or "") or None,
        max_carbon_intensity=cap or None,
    )
    return plan_from_provider(
        name,
        list(values["candidate_regions"]),
        duration_hours,
        start_within,
        constraints=constraints,
        baseline_region=str(values.get("baseline_region") or "") or None,
        now=now,
        csv_uri=str(values.get("intensity_csv", "")),
        min_gain_pct=min_gain_pct,
        provider=provider,
    )


def _label(text: str) -> str:
    """Squeeze text into a Vertex label value (lowercase letters, digits, - and _; 63 max)."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def plan_labels(plan: Plan) -> dict[str, str]:
    """The plan as run labels (start, region, expected intensity in whole gCO2e/kWh)."""
    return {
        "planned-start": _label(plan.start_utc.replace(":", "")),
        "planned-region": _label(plan.region),
        "planned-gco2e-per-kwh": str(round(plan.expected_gco2e_per_kwh)),
    }


def plan_parameters(plan: Plan) -> dict[str, Any]:
    """The plan as the pipeline parameters report-footprint reads."""
    return {
        "planned_start_utc": plan.start_utc,
        "planned_carbon_intensity": round(plan.expected_gco2e_per_kwh, 3),
    }
