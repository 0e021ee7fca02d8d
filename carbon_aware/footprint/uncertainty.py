"""Bounds of the footprint: each energy term's documented range and the intensity's.

Intensity: a figure time-weighted from hourly history over the run window is bounded by the
lowest and highest reading in that window. Any other figure (an annual average, a reading taken
at decision time, a fallback) is bounded by how far single hours stray from their annual mean:
the 5th-95th percentile of hourly / annual-mean intensity over the bundled EIA-930 2022 hourly
data of nine US balancing authorities, 0.49-1.38 (:data:`HOURLY_VS_ANNUAL_BAND`, recomputed
from the file by the tests). PUE is Google's published figure and is not varied.

Ranges are worst case: terms and intensities are taken all at their low or all at their high
ends. The energy is common to the chosen and the baseline region (one run), so the saving's
range comes from the two regions' intensity ranges.
"""

from __future__ import annotations

import csv
import gzip
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from carbon_aware.footprint.intensity_window import window_values
from carbon_aware.intensity.base import IntensityReading

HOURLY_VS_ANNUAL_BAND = (0.49, 1.38)
EIA_FILE = Path(__file__).resolve().parents[1] / "data" / "eia930_2022_hourly_avg_ci.csv.gz"
BAND_SOURCE = (
    "hour-to-hour spread around the annual mean: 5th-95th percentile of hourly / annual-mean "
    "intensity, EIA-930 2022 hourly data (9 US balancing authorities)"
)


@dataclass(frozen=True)
class Range:
    """``[low, high]`` of one figure and what bounds it."""

    low: float
    high: float
    basis: str

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"range low {self.low!r} is above high {self.high!r}")

    def contains(self, value: float, tolerance: float = 1e-9) -> bool:
        """Whether ``value`` lies within the range."""
        return self.low - tolerance <= value <= self.high + tolerance


def hourly_vs_annual_band(path: Path = EIA_FILE, share: float = 0.05) -> tuple[float, float]:
    """Recomputes :data:`HOURLY_VS_ANNUAL_BAND` from the bundled EIA-930 hourly file."""
    by_area: dict[str, list[float]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_area.setdefault(row["region"], []).append(float(row["carbon_intensity"]))
    ratios = sorted(
        value / mean
        for values in by_area.values()
        if (mean := statistics.fmean(values)) > 0
        for value in values
    )
    return ratios[int(share * len(ratios))], ratios[int((1 - share) * len(ratios))]


def intensity_range(
    value: float,
    series: Sequence[IntensityReading] | None,
    window: tuple[datetime, datetime] | None,
    time_weighted: bool,
) -> Range:
    """The range of a region's intensity (gCO2e/kWh) as the footprint used it."""
    if time_weighted and series and window:
        inside = window_values(series, *window)
        if inside:
            return Range(
                min([*inside, value]),
                max([*inside, value]),
                f"lowest-highest of {len(inside)} hourly readings in the run window",
            )
    low, high = HOURLY_VS_ANNUAL_BAND
    return Range(value * low, value * high, BAND_SOURCE)


def saving_pct(co2e: float, baseline: float) -> float:
    """100 x (1 - co2e / baseline); 0 without a baseline."""
    return round(100.0 * (1.0 - co2e / baseline), 4) if baseline > 0 else 0.0


@dataclass(frozen=True)
class RegionBounds:
    """What one region's figure depends on: energy (central, range), PUE and intensity range."""

    energy_kwh: float
    energy: Range
    pue: float
    intensity: float
    intensity_range: Range
    cfe_fraction: float | None


def _span(values: list[float], basis: str) -> Range:
    return Range(min(values), max(values), basis)


def co2e_range(region: RegionBounds) -> Range:
    """gCO2e: energy and intensity both at their low, then both at their high ends."""
    return Range(
        region.energy.low * region.pue * region.intensity_range.low,
        region.energy.high * region.pue * region.intensity_range.high,
        f"energy [{region.energy.basis}] x PUE x intensity [{region.intensity_range.basis}]",
    )


def _corners(chosen: RegionBounds, base: RegionBounds) -> list[tuple[float, float]]:
    """(chosen gCO2e, baseline gCO2e) at every extreme: one run, so one energy scale for both."""
    corners = []
    for scale in (
        chosen.energy.low / chosen.energy_kwh if chosen.energy_kwh else 1.0,
        chosen.energy.high / chosen.energy_kwh if chosen.energy_kwh else 1.0,
    ):
        for ic in (chosen.intensity_range.low, chosen.intensity_range.high):
            for ib in (base.intensity_range.low, base.intensity_range.high):
                corners.append(
                    (
                        scale * chosen.energy_kwh * chosen.pue * ic,
                        scale * base.energy_kwh * base.pue * ib,
                    )
                )
    return corners


def saving_ranges(
    chosen: RegionBounds, base: RegionBounds, overhead: Range, market: bool = False
) -> dict[str, Range]:
    """Ranges of the saving vs the baseline: %, gCO2e, and gCO2e net of ``overhead``.

    With ``market`` the figures are the market-based approximation (x (1 - CFE) per region),
    kept apart from the location-based ones.
    """
    fc = 1.0 - (chosen.cfe_fraction or 0.0) if market else 1.0
    fb = 1.0 - (base.cfe_fraction or 0.0) if market else 1.0
    pairs = [(c * fc, b * fb) for c, b in _corners(chosen, base)]
    grams = [b - c for c, b in pairs]
    basis = "chosen and baseline intensities at opposite ends; energy common to both"
    return {
        "savings_pct_vs_baseline": _span([saving_pct(c, b) for c, b in pairs], basis),
        "savings_g_vs_baseline": _span(grams, basis),
        "net_savings_g_vs_baseline": Range(
            min(grams) - overhead.high, max(grams) - overhead.low, basis + "; minus orchestration"
        ),
    }
