"""Time-weighting an intensity series over a run's actual start and end."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from carbon_aware.intensity.base import IntensityKind, IntensityReading

_SERIES_KINDS = (IntensityKind.HISTORY, IntensityKind.LATEST, IntensityKind.FORECAST)


def parse_utc(text: str) -> datetime:
    """Parses an ISO 8601 UTC instant (``Z`` or offset); raises ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment


def time_weighted(
    readings: Sequence[IntensityReading], start: datetime, end: datetime
) -> tuple[float, float, int] | None:
    """Time-weights a step series over [start, end].

    Each reading holds from its timestamp until the next one (the last for the series' typical
    step, 1 h when there is a single reading).

    Returns:
        (gCO2e/kWh, fraction of the window covered, readings used), or None with no overlap.
    """
    points = sorted(
        (parse_utc(r.datetime_utc), r.gco2e_per_kwh)
        for r in readings
        if r.kind in _SERIES_KINDS and "T" in r.datetime_utc
    )
    if not points:
        return None
    end = max(end, start + timedelta(seconds=1))
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    step = gaps[len(gaps) // 2] if gaps else timedelta(hours=1)
    weighted = covered = 0.0
    used = 0
    for index, (moment, value) in enumerate(points):
        until = points[index + 1][0] if index + 1 < len(points) else moment + step
        overlap = (min(end, until) - max(start, moment)).total_seconds()
        if overlap > 0:
            weighted += value * overlap
            covered += overlap
            used += 1
    if covered <= 0:
        return None
    return weighted / covered, covered / (end - start).total_seconds(), used


def window_values(
    readings: Sequence[IntensityReading], start: datetime, end: datetime
) -> list[float]:
    """The readings (gCO2e/kWh) that :func:`time_weighted` weights over [start, end]."""
    points = sorted(
        (parse_utc(r.datetime_utc), r.gco2e_per_kwh)
        for r in readings
        if r.kind in _SERIES_KINDS and "T" in r.datetime_utc
    )
    end = max(end, start + timedelta(seconds=1))
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    step = gaps[len(gaps) // 2] if gaps else timedelta(hours=1)
    return [
        value
        for index, (moment, value) in enumerate(points)
        if (min(end, points[index + 1][0] if index + 1 < len(points) else moment + step))
        > max(start, moment)
    ]
