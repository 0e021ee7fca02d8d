"""The report's optional inputs, fetched outside the pure computation.

Both are best-effort: a provider without history, a failed fetch or an unreachable BigQuery table
leaves the input out and explains why in a note the report prints; the footprint still uses the
value the decision was made with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from carbon_aware.history.bigquery import FootprintHistory
from carbon_aware.intensity.base import IntensityKind, IntensityReading

NO_HISTORY_PROVIDERS = ("static",)


@dataclass
class ReportInputs:
    """Intensity readings per region around the run, the export summary, and notes."""

    intensity_series: dict[str, list[IntensityReading]] = field(default_factory=dict)
    history: FootprintHistory | None = None
    notes: list[str] = field(default_factory=list)


def fetch_intensity_series(
    provider_name: str,
    regions: Sequence[str],
    api_key_secret: str,
    inputs: ReportInputs,
    csv_uri: str = "",
) -> None:
    """Adds the provider's recent history for ``regions`` to ``inputs`` (not for ``static``).

    ``csv_uri`` is the csv provider's file, whose last 24 hours up to now are its history.
    """
    if provider_name in NO_HISTORY_PROVIDERS:
        return
    from carbon_aware.intensity.registry import get_provider

    try:
        provider = get_provider(
            provider_name, allow_fallback=True, api_key_secret=api_key_secret, csv_uri=csv_uri
        )
        history = getattr(provider, "history", None)
        if history is None:
            inputs.notes.append(f"provider {provider_name} has no history series")
            return
        readings: list[IntensityReading] = history(list(regions))
    except Exception as err:  # any failure leaves the decision's value in use
        inputs.notes.append(f"intensity history from {provider_name} unavailable: {err}")
        return
    for reading in readings:
        if reading.kind is IntensityKind.HISTORY:
            inputs.intensity_series.setdefault(reading.region, []).append(reading)


def fetch_project_history(table: str, project_id: str, months: int, inputs: ReportInputs) -> None:
    """Adds the Carbon Footprint export summary for ``project_id`` to ``inputs``."""
    if not table:
        return
    from carbon_aware.history.bigquery import fetch_history

    try:
        inputs.history = fetch_history(table, months, project_id)
    except Exception as err:  # the report is still useful without the trend
        inputs.notes.append(f"Carbon Footprint export {table} could not be read: {err}")
