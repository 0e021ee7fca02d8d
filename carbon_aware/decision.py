"""Choose the training region: the lowest-carbon candidate, with the ranking and its sources."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from carbon_aware.intensity.base import IntensityKind, IntensityReading, IntensitySnapshot
from carbon_aware.planning.constraints import (
    Constraints,
    intensity_exclusion,
    no_region_left,
    static_exclusions,
)
from carbon_aware.regions import get_region

DECISION_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RankedRegion:
    """One candidate region with the figure it was ranked by."""

    rank: int
    region: str
    zone: str
    gco2e_per_kwh: float
    kind: str
    source: str
    datetime_utc: str
    is_fallback: bool
    detail: str
    signal: str = "average"


@dataclass(frozen=True)
class RegionDecision:
    """What choose-region decided and why.

    Attributes:
        region: The chosen GCP region.
        gco2e_per_kwh: Its carbon intensity (gCO2e/kWh).
        baseline_region: The region the user would have trained in without this tool.
        baseline_gco2e_per_kwh: The baseline region's intensity (gCO2e/kWh).
        intensity_saving_pct: 100 x (1 - chosen / baseline) intensity.
        provider: The intensity provider the figures came from.
        fetched_at_utc: When the figures were fetched.
        ranking: Every candidate, lowest intensity first.
        fallback_regions: Regions whose figure is a fallback, not the provider's own.
        constraints: The constraints applied (residency, accelerator, intensity cap).
        exclusions: Candidates left out, each with the constraint and the reason.
        notes: What could not be checked.
    """

    region: str
    gco2e_per_kwh: float
    source: str
    kind: str
    baseline_region: str
    baseline_gco2e_per_kwh: float
    baseline_kind: str
    intensity_saving_pct: float
    provider: str
    fetched_at_utc: str
    ranking: tuple[RankedRegion, ...]
    fallback_regions: tuple[str, ...]
    constraints: dict[str, Any] = field(default_factory=dict)
    exclusions: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    schema_version: int = DECISION_SCHEMA_VERSION

    def to_json(self) -> str:
        """Serialises the decision (stable key order)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RegionDecision:
        """Parses :meth:`to_json` output."""
        data: dict[str, Any] = json.loads(text)
        data["ranking"] = tuple(RankedRegion(**item) for item in data["ranking"])
        data["fallback_regions"] = tuple(data["fallback_regions"])
        data["exclusions"] = tuple(data.get("exclusions", ()))
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)


def _tie_break_annual(region: str) -> float:
    annual = get_region(region).annual_gco2e_per_kwh
    return annual if annual is not None else float("inf")


def _mixed_signals_note(readings: list[IntensityReading]) -> list[str]:
    """Says plainly when marginal and average figures are ranked together, and which is which."""
    by_signal: dict[str, list[str]] = {}
    for reading in readings:
        by_signal.setdefault(reading.signal, [])
        if reading.region not in by_signal[reading.signal]:
            by_signal[reading.signal].append(reading.region)
    if len(by_signal) < 2:
        return []
    parts = "; ".join(f"{signal}: {', '.join(regions)}" for signal, regions in by_signal.items())
    return [
        "ranking mixes signals that are different quantities (a marginal rate is the plant "
        "answering extra load, an average is the grid mix), so their order is not like for like: "
        + parts
    ]


def choose_region(
    snapshot: IntensitySnapshot,
    candidate_regions: list[str],
    baseline_region: str,
    constraints: Constraints | None = None,
) -> RegionDecision:
    """Picks the candidate with the lowest carbon intensity that meets the constraints.

    Ties go to the lower annual average, then to the region name, so the same figures always give
    the same choice.

    Args:
        snapshot: Readings covering every candidate and the baseline region.
        candidate_regions: Regions the job may run in.
        baseline_region: The region savings are measured against.
        constraints: Residency group, accelerator availability and intensity cap to respect.

    Returns:
        The decision with the ranking of the regions that qualify, and those left out.

    Raises:
        ValueError: No candidates, a region has no reading, or the constraints exclude every
            candidate (the message names the constraints that emptied the list).
    """
    if not candidate_regions:
        raise ValueError("candidate_regions is empty; give at least one GCP region")
    readings = snapshot.by_region()
    missing = [r for r in [*candidate_regions, baseline_region] if r not in readings]
    if missing:
        raise ValueError(
            f"no carbon-intensity reading for {', '.join(sorted(set(missing)))}; "
            f"fetch-intensity returned: {', '.join(sorted(readings))}"
        )
    rules = constraints or Constraints()
    rules.validate()
    kept, exclusions, notes = static_exclusions(list(dict.fromkeys(candidate_regions)), rules)
    for region in list(kept):
        capped = intensity_exclusion(region, readings[region].gco2e_per_kwh, rules)
        if capped is not None:
            kept.remove(region)
            exclusions.append(capped)
    if not kept:
        raise no_region_left(exclusions, rules)
    ordered = sorted(kept, key=lambda r: (readings[r].gco2e_per_kwh, _tie_break_annual(r), r))
    ranking = tuple(
        RankedRegion(
            rank=i + 1,
            region=r,
            zone=readings[r].zone,
            gco2e_per_kwh=readings[r].gco2e_per_kwh,
            kind=str(readings[r].kind),
            source=readings[r].source,
            datetime_utc=readings[r].datetime_utc,
            is_fallback=readings[r].kind == IntensityKind.FALLBACK,
            detail=readings[r].detail,
            signal=readings[r].signal,
        )
        for i, r in enumerate(ordered)
    )
    notes.extend(_mixed_signals_note([readings[r] for r in [*ordered, baseline_region]]))
    best = readings[ordered[0]]
    baseline = readings[baseline_region]
    saving = (
        100.0 * (1.0 - best.gco2e_per_kwh / baseline.gco2e_per_kwh)
        if baseline.gco2e_per_kwh > 0
        else 0.0
    )
    return RegionDecision(
        region=best.region,
        gco2e_per_kwh=best.gco2e_per_kwh,
        source=best.source,
        kind=str(best.kind),
        baseline_region=baseline_region,
        baseline_gco2e_per_kwh=baseline.gco2e_per_kwh,
        baseline_kind=str(baseline.kind),
        intensity_saving_pct=round(saving, 4),
        provider=snapshot.provider,
        fetched_at_utc=snapshot.fetched_at_utc,
        ranking=ranking,
        fallback_regions=tuple(
            r.region for r in snapshot.readings if r.kind == IntensityKind.FALLBACK
        ),
        constraints=rules.describe(),
        exclusions=tuple(asdict(item) for item in exclusions),
        notes=tuple(notes),
    )
