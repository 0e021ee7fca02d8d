"""Bounds of the footprint: what every ``[low, high]`` means and how it is computed.

One meaning: a ``[low, high]`` holds whenever each of its inputs lies within its own range.
The inputs' ranges are:

* Energy terms: the sourced min/max of each term's method, taken from the terms as they come
  (:mod:`carbon_aware.measurement.energy_terms`), i.e. hard bounds.
* Grid intensity: a 5th-95th percentile interval of the mean intensity over the run's length.
  With the live provider's readings over the run window (two or more), the time-weighted mean
  +/- 1.645 standard errors, the standard error from the readings' spread over the effective
  number of independent hours ``N (1 - r) / (1 + r)`` (``r``: the readings' lag-1
  autocorrelation), so the band narrows as the run lengthens. Any other figure (an annual mean,
  a reading at decision time, a fallback) gets the 5th-95th percentile of ``mean of N consecutive
  hours / annual mean`` over the year: from the region's own balancing authority when its hourly
  data is bundled (EIA-930 2022, nine US balancing authorities, ``carbon_aware/data``), else,
  labelled as such, the widest such band among those nine (a US grid's spread standing in for a
  zone whose own hourly data is not bundled).
* PUE: Google's published figure, not varied; embodied emissions: not varied.

Outputs combine inputs by interval arithmetic over every corner, and correlated inputs move
together: one run has one energy scale in every region; the orchestration steps that ran on
the chosen or the baseline region's grid (locally: the baseline's) take that region's
intensity at the same corner.
"""

from __future__ import annotations

import csv
import functools
import gzip
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from carbon_aware.footprint.intensity_window import window_values
from carbon_aware.intensity.base import IntensityReading

EIA_FILE = Path(__file__).resolve().parents[1] / "data" / "eia930_2022_hourly_avg_ci.csv.gz"
EIA_SOURCE = "EIA-930 2022 hourly data (carbon_aware/data/eia930_2022_hourly_avg_ci.csv.gz)"
# Two-sided 90 % of a normal distribution: the 5th-95th percentile, as the bundled bands.
Z_90 = 1.6448536269514722
PERCENTILE_SHARE = 0.05
HOURS_PER_YEAR = 8760


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


@functools.cache
def bundled_hourly(path: Path = EIA_FILE) -> dict[str, tuple[float, ...]]:
    """The bundled hourly intensity (gCO2e/kWh) of each balancing authority, in time order."""
    rows: dict[str, list[tuple[str, float]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["region"], []).append(
                (row["datetime"], float(row["carbon_intensity"]))
            )
    return {area: tuple(v for _, v in sorted(values)) for area, values in rows.items()}


def bundled_area(electricity_maps_zone: str) -> str | None:
    """The bundled balancing authority of an Electricity Maps zone (``US-MIDW-MISO``: MISO)."""
    area = electricity_maps_zone.rsplit("-", 1)[-1]
    return area if electricity_maps_zone.startswith("US-") and area in bundled_hourly() else None


def mean_band(
    values: Sequence[float], hours: int, share: float = PERCENTILE_SHARE
) -> tuple[float, float]:
    """``share`` and ``1 - share`` quantiles of (mean of ``hours`` consecutive values / mean).

    Every window of ``hours`` consecutive hours in the series counts once; a window as long as
    the series has no spread.
    """
    mean = statistics.fmean(values)
    n = max(1, min(hours, len(values)))
    sums = [0.0, *itertools.accumulate(values)]
    ratios = sorted((sums[i + n] - sums[i]) / n / mean for i in range(len(values) - n + 1))
    return ratios[int(share * (len(ratios) - 1))], ratios[round((1 - share) * (len(ratios) - 1))]


@functools.cache
def area_band(area: str, hours: int) -> tuple[float, float]:
    """The 5th-95th percentile band of ``hours``-hour means of one bundled balancing authority."""
    return mean_band(bundled_hourly()[area], hours)


@functools.cache
def stand_in_band(hours: int) -> tuple[float, float]:
    """The widest ``hours``-hour band among the bundled balancing authorities."""
    bands = [area_band(area, hours) for area in bundled_hourly()]
    return min(low for low, _ in bands), max(high for _, high in bands)


def run_hours(window: tuple[datetime, datetime] | None) -> int:
    """The run's length in whole hours (at least 1) for the bands."""
    if window is None:
        return 1
    return max(1, math.ceil((window[1] - window[0]).total_seconds() / 3600.0 - 1e-9))


def annual_figure_band(zone: str, hours: int) -> tuple[tuple[float, float], str]:
    """The relative band of a figure that is not the run's own readings, and its basis."""
    area = bundled_area(zone)
    if area is not None:
        low, high = area_band(area, hours)
        return (low, high), (
            f"5th-95th percentile of {hours}-hour means / annual mean of this zone's balancing "
            f"authority {area}, {EIA_SOURCE}"
        )
    low, high = stand_in_band(hours)
    return (low, high), (
        f"no hourly data bundled for zone {zone or '(unknown)'}: stand-in band, the widest "
        f"5th-95th percentile of {hours}-hour means / annual mean among the nine US balancing "
        f"authorities of {EIA_SOURCE} (a US grid's spread, not this zone's own)"
    )


def lag1_autocorrelation(values: Sequence[float]) -> float:
    """The lag-1 autocorrelation of a series (0 when it has no spread or < 3 values)."""
    if len(values) < 3:
        return 0.0
    mean = statistics.fmean(values)
    denominator = sum((v - mean) ** 2 for v in values)
    if denominator <= 0:
        return 0.0
    numerator = sum((a - mean) * (b - mean) for a, b in itertools.pairwise(values))
    return numerator / denominator


def readings_range(value: float, readings: Sequence[float]) -> Range:
    """5th-95th percentile interval of the mean over the readings (normal, effective N)."""
    n = len(readings)
    rho = min(0.99, max(0.0, lag1_autocorrelation(readings)))
    effective = max(1.0, n * (1 - rho) / (1 + rho))
    half = Z_90 * statistics.stdev(readings) / math.sqrt(effective)
    return Range(
        max(0.0, value - half),
        value + half,
        f"time-weighted mean +/- 1.645 standard errors of {n} readings in the run window "
        f"(standard deviation / sqrt of {effective:.1f} effective hours, lag-1 autocorrelation "
        f"{rho:.2f})",
    )


def intensity_range(
    value: float,
    series: Sequence[IntensityReading] | None,
    window: tuple[datetime, datetime] | None,
    time_weighted: bool,
    zone: str = "",
) -> Range:
    """The range of a region's intensity (gCO2e/kWh) as the footprint used it."""
    if time_weighted and series and window:
        inside = window_values(series, *window)
        if len(inside) >= 2:
            return readings_range(value, inside)
    (low, high), basis = annual_figure_band(zone, run_hours(window))
    return Range(value * low, value * high, basis)


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


@dataclass(frozen=True)
class OverheadBounds:
    """The orchestration steps: energy range, PUE, intensity range and the grid they share.

    Attributes:
        tied_to: ``chosen`` or ``baseline`` when the steps ran on that region's grid (their
            intensity is at the same end of its range at every corner), empty when on their own.
        embodied_g: Their machines' embodied share (gCO2e), not varied.
    """

    energy: Range
    pue: float
    intensity_range: Range
    tied_to: str
    embodied_g: float


@dataclass(frozen=True)
class Corner:
    """gCO2e of the run in the chosen and the baseline region and of orchestration, at a corner."""

    chosen_g: float
    baseline_g: float
    orchestration_g: float


def _ends(value_range: Range) -> tuple[float, float]:
    return value_range.low, value_range.high


def corners(
    chosen: RegionBounds, base: RegionBounds, overhead: OverheadBounds | None
) -> list[Corner]:
    """Every extreme of the inputs: one energy scale for the run, tied grids at the same end."""
    found = []
    for scale in (0, 1):
        for jc, jb, je in itertools.product((0, 1), (0, 1), (0, 1)):
            ratio_c = _ends(chosen.energy)[scale] / chosen.energy_kwh if chosen.energy_kwh else 1.0
            ratio_b = _ends(base.energy)[scale] / base.energy_kwh if base.energy_kwh else 1.0
            c = ratio_c * chosen.energy_kwh * chosen.pue * _ends(chosen.intensity_range)[jc]
            b = ratio_b * base.energy_kwh * base.pue * _ends(base.intensity_range)[jb]
            if overhead is None:
                found.append(Corner(c, b, 0.0))
                continue
            tied = {"chosen": (jc,), "baseline": (jb,)}.get(overhead.tied_to, (0, 1))
            for jo in tied:
                o = _ends(overhead.energy)[je] * overhead.pue * _ends(overhead.intensity_range)[jo]
                found.append(Corner(c, b, o))
    return found


def _span(values: list[float], basis: str) -> Range:
    return Range(min(values), max(values), basis)


def co2e_range(region: RegionBounds) -> Range:
    """gCO2e: energy and intensity both at their low, then both at their high ends."""
    return Range(
        region.energy.low * region.pue * region.intensity_range.low,
        region.energy.high * region.pue * region.intensity_range.high,
        f"energy [{region.energy.basis}] x PUE x intensity [{region.intensity_range.basis}]",
    )


def saving_ranges(
    chosen: RegionBounds, base: RegionBounds, overhead: OverheadBounds | None
) -> dict[str, Range]:
    """Ranges of the saving vs the baseline (%, gCO2e) and of what depends on orchestration.

    ``orchestration_co2e_g``, ``total_operational_g`` (the run plus orchestration) and
    ``net_savings_g_vs_baseline`` (the saving minus the orchestration's operational and embodied
    emissions) are present only with ``overhead``.
    """
    points = corners(chosen, base, overhead)
    basis = "every corner of the inputs' ranges; energy common to both regions"
    ranges = {
        "savings_pct_vs_baseline": _span(
            [saving_pct(p.chosen_g, p.baseline_g) for p in points], basis
        ),
        "savings_g_vs_baseline": _span([p.baseline_g - p.chosen_g for p in points], basis),
    }
    if overhead is not None:
        tie = f"; orchestration tied to the {overhead.tied_to} grid" if overhead.tied_to else ""
        ranges["orchestration_co2e_g"] = _span([p.orchestration_g for p in points], basis + tie)
        ranges["total_operational_g"] = _span(
            [p.chosen_g + p.orchestration_g for p in points], basis + tie
        )
        ranges["net_savings_g_vs_baseline"] = _span(
            [p.baseline_g - p.chosen_g - p.orchestration_g - overhead.embodied_g for p in points],
            basis + tie,
        )
    return ranges
