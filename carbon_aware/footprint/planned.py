"""Planned against actual: when the plan said to start and what it expected, and what happened."""

from __future__ import annotations

from typing import Any

from carbon_aware.footprint.intensity_window import parse_utc


def planned_vs_actual(
    planned_start_utc: str,
    planned_gco2e_per_kwh: float,
    actual_start_utc: str | None,
    actual_gco2e_per_kwh: float | None,
    actual_method: str,
) -> dict[str, Any] | None:
    """Compare the plan ``submit --start-within`` made with the run.

    Args:
        planned_start_utc: The planned start (ISO 8601 UTC); empty when the run had no plan.
        planned_gco2e_per_kwh: The plan's expected mean intensity (0: not given).
        actual_start_utc: When training actually started (from the run record), if known.
        actual_gco2e_per_kwh: The intensity over the actual run window, time-weighted from the
            provider's history; None where no history covers the run.
        actual_method: How ``actual_gco2e_per_kwh`` was found, or why it is missing.

    Returns:
        The comparison (``None`` without a plan).

    Raises:
        ValueError: A planned start that is not an ISO 8601 UTC instant.
    """
    if not planned_start_utc:
        return None
    planned = parse_utc(planned_start_utc)
    late_h = None
    if actual_start_utc:
        late_h = round((parse_utc(actual_start_utc) - planned).total_seconds() / 3600, 3)
    difference = None
    if actual_gco2e_per_kwh is not None and planned_gco2e_per_kwh > 0:
        difference = round(100 * (actual_gco2e_per_kwh / planned_gco2e_per_kwh - 1), 2)
    return {
        "planned_start_utc": planned_start_utc,
        "planned_gco2e_per_kwh": planned_gco2e_per_kwh or None,
        "actual_start_utc": actual_start_utc,
        "start_delay_vs_plan_hours": late_h,
        "actual_gco2e_per_kwh": actual_gco2e_per_kwh,
        "actual_method": actual_method,
        "intensity_vs_plan_pct": difference,
    }
