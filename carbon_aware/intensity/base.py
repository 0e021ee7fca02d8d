"""The record every provider returns, and the provider interface."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

UNIT = "gCO2e/kWh"
AVERAGE = "average"
MARGINAL = "marginal"


class IntensityKind(StrEnum):
    """What a figure is: live, past, forecast, an annual average, or a fallback."""

    LATEST = "latest"
    HISTORY = "history"
    FORECAST = "forecast"
    ANNUAL = "annual"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class IntensityReading:
    """One grid carbon-intensity figure for one GCP region.

    Attributes:
        region: GCP region id, e.g. ``europe-west1``.
        zone: The grid zone the figure describes (an Electricity Maps zone key, or the provider's).
        gco2e_per_kwh: Carbon intensity in grams CO2-equivalent per kWh.
        datetime_utc: ISO 8601 UTC instant (or ``YYYY`` for annual averages) the figure is for.
        source: Who published the figure and where it came from.
        kind: Whether the figure is measured now, historical, forecast, annual or a fallback.
        is_estimated: Whether the provider marks the figure as estimated.
        detail: Free-form provenance (estimation method, emission factor type, fallback cause).
        signal: ``average`` (the grid mix: Electricity Maps, Google's annual figures, WattTime
            ``co2_aoer``) or ``marginal`` (the plant that answers extra load: WattTime
            ``co2_moer``). The two are different quantities and must not be ranked as one.
    """

    region: str
    zone: str
    gco2e_per_kwh: float
    datetime_utc: str
    source: str
    kind: IntensityKind
    is_estimated: bool = False
    detail: str = ""
    signal: str = AVERAGE
    unit: str = field(default=UNIT, init=False)

    def __post_init__(self) -> None:
        if not math.isfinite(self.gco2e_per_kwh) or self.gco2e_per_kwh < 0:
            raise ValueError(
                f"carbon intensity for {self.region} must be a finite number >= 0 {UNIT}, "
                f"got {self.gco2e_per_kwh!r}"
            )
        if self.signal not in (AVERAGE, MARGINAL):
            raise ValueError(f"signal must be {AVERAGE!r} or {MARGINAL!r}, got {self.signal!r}")

    def to_dict(self) -> dict[str, Any]:
        """Returns the reading as JSON-ready data with explicit units."""
        data = asdict(self)
        data["carbon_intensity_gco2e_per_kwh"] = data.pop("gco2e_per_kwh")
        data["datetime"] = data.pop("datetime_utc")
        data["kind"] = str(self.kind)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntensityReading:
        """Builds a reading from :meth:`to_dict` output."""
        return cls(
            region=str(data["region"]),
            zone=str(data["zone"]),
            gco2e_per_kwh=float(data["carbon_intensity_gco2e_per_kwh"]),
            datetime_utc=str(data["datetime"]),
            source=str(data["source"]),
            kind=IntensityKind(data["kind"]),
            is_estimated=bool(data.get("is_estimated", False)),
            detail=str(data.get("detail", "")),
            signal=str(data.get("signal", AVERAGE)),
        )


@dataclass(frozen=True)
class IntensitySnapshot:
    """The readings fetch-intensity hands to choose-region, one per requested region."""

    provider: str
    fetched_at_utc: str
    readings: tuple[IntensityReading, ...]

    def by_region(self) -> dict[str, IntensityReading]:
        """Returns the readings keyed by GCP region."""
        return {reading.region: reading for reading in self.readings}

    def to_json(self) -> str:
        """Serialises the snapshot (stable key order, so identical inputs give identical files)."""
        payload = {
            "provider": self.provider,
            "fetched_at_utc": self.fetched_at_utc,
            "unit": UNIT,
            "readings": [reading.to_dict() for reading in self.readings],
        }
        return json.dumps(payload, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IntensitySnapshot:
        """Parses :meth:`to_json` output."""
        payload = json.loads(text)
        return cls(
            provider=str(payload["provider"]),
            fetched_at_utc=str(payload["fetched_at_utc"]),
            readings=tuple(IntensityReading.from_dict(item) for item in payload["readings"]),
        )


class CarbonIntensityProvider(Protocol):
    """A source of grid carbon intensity for GCP regions."""

    name: str

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the most recent figure for each region, in the order given."""
        ...
