"""What a plan is made from: the provider's own forecast, else our forecast, else annual figures.

For each candidate region, on an hourly grid from the start of the current hour:

1. the provider's forecast (Electricity Maps ``/carbon-intensity/forecast`` with ``horizonHours``,
   WattTime ``/v3/forecast`` with ``horizon_hours``, both at most 72 h; the csv provider's file
   from now on), when it covers at least the job's duration;
2. else our ridge forecast (:mod:`.ridge`) of the region's history (the csv provider's file, or
   ``history_csv`` for the live providers) when it has ``RIDGE_HISTORY_DAYS`` days ending now;
3. else the static annual average: time cannot be chosen, so the job starts now.

Every region's source, and why an earlier one was not used, goes into the plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.csv_series import CsvSeriesProvider
from carbon_aware.intensity.static import StaticAnnualProvider
from carbon_aware.planning.planner import JobShape
from carbon_aware.planning.ridge import RIDGE_HISTORY_DAYS, ridge_forecast
from carbon_aware.planning.skill import ERROR_DAYS, saving_error_pct

HOUR = pd.Timedelta(hours=1)
PROVIDER_HORIZON_HOURS = {"electricitymaps": 72, "watttime": 72}
"""The longest forecast each live provider serves."""
__all__ = ["ERROR_DAYS", "PlanningData", "gather", "hours_needed", "saving_error_pct"]
FIT_DAYS = 365
"""Our forecast is fitted on at most this much of the latest history."""
D = 24


@dataclass
class PlanningData:
    """Hourly series per region from ``start``, with where each came from.

    Attributes:
        start: The planning time: the start of the current hour (UTC).
        provider: The provider's name.
        frame: Hourly grid from ``start``, one column per region (gCO2e/kWh).
        sources: Region to a description of its series.
        kinds: Region to ``provider``, ``ours`` or ``annual``.
        histories: Region to its hourly history before ``start`` (where there is one).
        notes: What was cut or replaced, and why.
    """

    start: pd.Timestamp
    frame: pd.DataFrame
    provider: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    histories: dict[str, pd.Series] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def hours_needed(duration_hours: float, max_delay_hours: float) -> int:
    """Hours of forecast a plan needs: the latest start plus the duration, rounded up."""
    return math.ceil(round(duration_hours + max_delay_hours, 9))


def _hourly(readings: Sequence[IntensityReading]) -> pd.Series:
    """Hourly means of time-stamped readings (5-minute WattTime points become hours)."""
    if not readings:
        return pd.Series(dtype=float)
    stamps = pd.DatetimeIndex([pd.Timestamp(r.datetime_utc) for r in readings]).floor("h")
    values = pd.Series([r.gco2e_per_kwh for r in readings], index=stamps)
    return values.groupby(level=0).mean().sort_index()


def _covered(series: pd.Series, start: pd.Timestamp, hours: int) -> np.ndarray:
    """The consecutive values on the grid from ``start``.

    A missing current hour is carried back from the next one: forecasts often begin at the next
    full hour.
    """
    grid = pd.date_range(start, periods=hours, freq="h")
    values = series.reindex(grid)
    if len(values) > 1 and math.isnan(values.iloc[0]) and not math.isnan(values.iloc[1]):
        values.iloc[0] = values.iloc[1]
    gaps = np.flatnonzero(np.isnan(values.to_numpy(dtype=float)))
    end = int(gaps[0]) if gaps.size else hours
    covered: np.ndarray = values.to_numpy(dtype=float)[:end]
    return covered


def _live_forecasts(
    provider: Any, regions: list[str], hours: int
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """The provider's forecast per region, and the reason for each region without one."""
    try:
        readings = provider.forecast_hours(regions, hours)
    except Exception as err:  # a failing provider never stops the plan: it is labelled
        return {}, dict.fromkeys(regions, f"{provider.name} forecast failed: {err}")
    series: dict[str, pd.Series] = {}
    missing: dict[str, str] = {}
    for region in regions:
        own = [r for r in readings if r.region == region]
        if any(r.kind is IntensityKind.FALLBACK for r in own):
            cause = next(r.detail for r in own if r.kind is IntensityKind.FALLBACK)
            missing[region] = f"{provider.name} has no forecast for it ({cause})"
        else:
            series[region] = _hourly([r for r in own if r.kind is IntensityKind.FORECAST])
    return series, missing


def _csv_series(path: str, regions: list[str]) -> tuple[dict[str, pd.Series], str]:
    """Each region's hourly series from an intensity CSV (matched as the csv provider does)."""
    reader = CsvSeriesProvider(path)
    out = {}
    for region in regions:
        column = reader.frame[reader.series_name(region)]
        out[region] = column.resample("h").mean() if len(column) > 1 else column
    return out, reader.source


def gather(
    provider_name: str,
    regions: list[str],
    duration_hours: float,
    max_delay_hours: float,
    *,
    now: datetime | None = None,
    csv_uri: str = "",
    history_csv: str = "",
    provider: Any = None,
) -> PlanningData:
    """Build the hourly series a plan needs for every region (see the module docstring).

    Args:
        provider_name: ``electricitymaps``, ``watttime``, ``csv`` or ``static``.
        regions: Candidate regions (GCP region ids, or series names of the csv file).
        duration_hours: Job length.
        max_delay_hours: How long the start may wait.
        now: The planning time (default: the current UTC time).
        csv_uri: The csv provider's file.
        history_csv: History for our forecast where the live provider has none.
        provider: The live provider object (default: from the registry).

    Returns:
        The planning data.

    Raises:
        ValueError: Bad job figures, a duration longer than every source can cover.
    """
    shape = JobShape.from_hours(duration_hours, max_delay_hours, 1.0)
    moment = pd.Timestamp(now or datetime.now(UTC))
    if moment.tzinfo is None:
        raise ValueError(f"planning time {moment} must carry a UTC offset")
    start = moment.tz_convert("UTC").floor("h")
    needed = hours_needed(duration_hours, max_delay_hours)
    data = PlanningData(start=start, frame=pd.DataFrame(), provider=provider_name)
    forecasts: dict[str, pd.Series] = {}
    missing: dict[str, str] = {}
    history_source = ""
    if provider_name == "csv":
        series, label = _csv_series(csv_uri, regions)
        forecasts = {r: s.loc[start:] for r, s in series.items()}
        data.histories = {r: s.loc[: start - HOUR] for r, s in series.items()}
        history_source = label
    elif provider_name in PROVIDER_HORIZON_HOURS:
        limit = PROVIDER_HORIZON_HOURS[provider_name]
        if needed > limit:
            data.notes.append(
                f"{provider_name} forecasts reach {limit} h; max delay plus duration need "
                f"{needed} h, so the plan uses the first {limit} h"
            )
        if provider is None:
            from carbon_aware.intensity.registry import get_provider

            provider = get_provider(provider_name, allow_fallback=True)
        forecasts, missing = _live_forecasts(provider, regions, min(needed, limit))
    elif provider_name == "static":
        missing = dict.fromkeys(regions, "static serves annual averages only")
    else:
        raise ValueError(
            f"unknown provider {provider_name!r}; allowed: csv, electricitymaps, static, watttime"
        )
    if history_csv and provider_name != "csv":
        series, history_source = _csv_series(history_csv, regions)
        data.histories = {r: s.loc[: start - HOUR] for r, s in series.items()}
    columns = {}
    for region in regions:
        columns[region] = _region_values(
            data, region, forecasts.get(region), missing.get(region), shape, needed, history_source
        )
    length = min(len(v) for v in columns.values())
    if length < needed:
        cut = max(length - shape.span, 0)
        data.notes.append(f"max delay cut to {cut} h: the shortest series covers {length} h")
    grid = pd.date_range(start, periods=length, freq="h", name="datetime")
    data.frame = pd.DataFrame({r: v[:length] for r, v in columns.items()}, index=grid)
    if all(kind == "annual" for kind in data.kinds.values()):
        data.notes.append("only annual figures: the time cannot be chosen, so the job starts now")
    return data


def _region_values(
    data: PlanningData,
    region: str,
    forecast: pd.Series | None,
    cause: str | None,
    shape: JobShape,
    needed: int,
    history_source: str,
) -> np.ndarray:
    """One region's hourly values from ``data.start``; records its source in ``data``."""
    if forecast is not None:
        values = _covered(forecast, data.start, needed)
        if len(values) >= shape.span:
            data.kinds[region] = "provider"
            data.sources[region] = f"{data.provider} forecast ({len(values)} h)"
            return values
        cause = (
            f"the {data.provider} forecast covers {len(values)} h from {_iso(data.start)}, "
            f"less than the {shape.duration_steps:g} h job"
        )
    history = data.histories.get(region)
    usable = (
        history is not None
        and len(history) >= RIDGE_HISTORY_DAYS * D
        and history.index[-1] == data.start - HOUR
        and not history.iloc[-RIDGE_HISTORY_DAYS * D :].isna().any()
    )
    if history is not None and usable:
        hours = min(needed, 7 * D)
        past = history.iloc[-FIT_DAYS * D :].to_numpy(dtype=float)
        data.kinds[region] = "ours"
        data.sources[region] = f"our ridge forecast from {history_source} ({cause})"
        first = pd.Timestamp(history.index[-FIT_DAYS * D :][0])
        return ridge_forecast(past, hours, D, day_step=first.hour)
    why = (
        "no history"
        if history is None
        else f"history has no {RIDGE_HISTORY_DAYS} days ending at {_iso(data.start)}"
    )
    try:
        annual = StaticAnnualProvider().annual(region)
    except ValueError as err:
        raise ValueError(f"cannot plan {region}: {cause}; {why} for our forecast; {err}") from None
    data.kinds[region] = "annual"
    data.sources[region] = (
        f"annual average {annual.datetime_utc} ({cause}; {why} for our forecast): "
        "time cannot be chosen"
    )
    return np.full(needed, annual.gco2e_per_kwh)


def _iso(ts: pd.Timestamp) -> str:
    text: str = ts.isoformat()
    return text.replace("+00:00", "Z")
