"""Plan when and where from a provider: its forecast, ours, or annual figures, then the wait rule.

:func:`plan_from_provider` gathers each region's series (:mod:`.sources`), plans on them with
:func:`~carbon_aware.planning.planner.plan_job`, and applies ``min_gain_pct``: waiting must gain
at least that much over starting now. Its default is :data:`.skill.MIN_GAIN_ERROR_SHARE` times the
back-tested error of the expected saving of our forecast for the chosen region
(:func:`.skill.forecast_skill`), or no waiting while that cannot be back-tested yet; 0 when the
series is the csv file itself, and 0 with a note when the provider's own forecast cannot be
back-tested here.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import Any

from carbon_aware.planning.constraints import Constraints
from carbon_aware.planning.planner import Plan, plan_job
from carbon_aware.planning.skill import MIN_GAIN_ERROR_SHARE, ForecastSkill, forecast_skill
from carbon_aware.planning.sources import PlanningData, gather


def _skill(data: PlanningData, region: str, shape: tuple[float, float]) -> ForecastSkill:
    """Back-test our forecast on ``region``'s history (raises ValueError when too short)."""
    history = data.histories[region]
    return forecast_skill(history.to_numpy(dtype=float), *shape, day_step=history.index[0].hour)


def _model_name(data: PlanningData, region: str, provider_name: str) -> str:
    kind = data.kinds[region]
    return {"ours": "ridge", "annual": "annual average"}.get(kind, f"{provider_name} forecast")


def default_min_gain(
    data: PlanningData, region: str, provider_name: str, shape: tuple[float, float]
) -> tuple[float, str]:
    """The default ``min_gain_pct`` for a plan choosing ``region``, and how it was found."""
    kind = data.kinds[region]
    if kind == "provider" and provider_name == "csv":
        return 0.0, "min_gain_pct 0: the csv file is taken as the forecast"
    if kind == "annual":
        return 0.0, "min_gain_pct 0: annual figures do not change with time"
    if kind == "ours":
        try:
            skill = _skill(data, region, shape)
        except ValueError as err:
            return math.inf, f"min_gain_pct inf (the plan does not wait): {err}"
        return skill.min_gain_pct, (
            f"min_gain_pct {skill.min_gain_pct:g}%: {MIN_GAIN_ERROR_SHARE:g} x the back-tested "
            f"error of our forecast's expected saving in {region} over the last 14 days "
            f"({skill.saving_error_pct:g} points; MAPE 1-24 h {skill.mape_1_24h_pct:g}%)"
        )
    return 0.0, (
        f"min_gain_pct 0: {provider_name}'s own forecast cannot be back-tested here; "
        "set --min-gain-pct to demand a larger gain"
    )


def plan_from_provider(
    provider_name: str,
    regions: list[str],
    duration_hours: float,
    max_delay_hours: float,
    *,
    constraints: Constraints | None = None,
    baseline_region: str | None = None,
    now: datetime | None = None,
    csv_uri: str = "",
    history_csv: str = "",
    min_gain_pct: float | None = None,
    provider: Any = None,
) -> Plan:
    """Plan a job from the named provider's forecasts (see the module docstring).

    Args:
        provider_name: ``electricitymaps``, ``watttime``, ``csv`` or ``static``.
        regions: Candidate regions.
        duration_hours: Job length in hours.
        max_delay_hours: How long the start may wait.
        constraints: What the plan must respect.
        baseline_region: Run-now comparison (default: the first candidate).
        now: Planning time (default: the current UTC time).
        csv_uri: The csv provider's file.
        history_csv: History for our forecast where a live provider has no forecast.
        min_gain_pct: Least gain worth waiting for (default: see the module docstring).
        provider: A live provider object to use instead of the registry's.

    Returns:
        The plan; ``forecast`` is ``provider`` and ``forecast_methods`` names each region's source.

    Raises:
        ValueError: Bad inputs, or a region nothing can be planned for.
    """
    needed = list(dict.fromkeys([*regions, *([baseline_region] if baseline_region else [])]))
    data = gather(
        provider_name,
        needed,
        duration_hours,
        max_delay_hours,
        now=now,
        csv_uri=csv_uri,
        history_csv=history_csv,
        provider=provider,
    )
    max_delay = min(max_delay_hours, max(len(data.frame) - duration_hours, 0.0))

    def plan(gain: float | None) -> Plan:
        return plan_job(
            data.frame,
            regions,
            duration_hours,
            max_delay,
            constraints=constraints,
            baseline_region=baseline_region,
            forecast="oracle",
            now=data.start,
            data_source=f"provider {provider_name}",
            min_gain_pct=gain,
        )

    notes = list(data.notes)
    if min_gain_pct is None:
        min_gain_pct, why = default_min_gain(
            data, plan(None).region, provider_name, (duration_hours, max_delay)
        )
        notes.append(why)
    result = plan(min_gain_pct)
    errors: dict[str, dict[str, float]] = {}
    for region in result.forecast_methods:
        if data.kinds.get(region) != "ours":
            continue
        try:
            skill = _skill(data, region, (duration_hours, max_delay))
        except ValueError:
            continue
        errors[region] = {
            "saving_error_pct": skill.saving_error_pct,
            "mape_1_24h_pct": skill.mape_1_24h_pct,
            "backtest_arrivals": float(skill.arrivals),
            "min_gain_pct": skill.min_gain_pct,
        }
    return dataclasses.replace(
        result,
        max_delay_hours=max_delay_hours,
        forecast="provider",
        forecast_methods={r: data.sources[r] for r in result.forecast_methods if r in data.sources},
        forecast_model={
            r: _model_name(data, r, provider_name)
            for r in result.forecast_methods
            if r in data.kinds
        },
        forecast_error=errors,
        notes=(*notes, *(n for n in result.notes if "max delay cut" not in n)),
    )
