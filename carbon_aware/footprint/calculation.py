"""Footprint arithmetic: energy x PUE x grid intensity, for the chosen region and the others.

Everything here is pure: intensity history, when a live provider has it, is fetched by the caller
and passed in as readings. Units are explicit: energy in kWh, intensity in gCO2e/kWh, emissions in
gCO2e; :func:`to_gco2e_per_kwh` is the one place other intensity units are converted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from carbon_aware.decision import RegionDecision
from carbon_aware.footprint import uncertainty as bounds
from carbon_aware.footprint.data_movement import data_movement_term
from carbon_aware.footprint.embodied import Embodied, embodied_from_run_record
from carbon_aware.footprint.intensity_window import parse_utc, time_weighted
from carbon_aware.footprint.market import SCOPE, MarketFactor, market_factor
from carbon_aware.footprint.orchestration import (
    StepEnergy,
    StepTimings,
    orchestration_steps,
)
from carbon_aware.footprint.planned import planned_vs_actual
from carbon_aware.footprint.pue import PueFigure, resolve_pue
from carbon_aware.intensity.base import IntensityReading
from carbon_aware.intensity.watttime import GCO2E_PER_KWH_PER_LBS_PER_MWH
from carbon_aware.measurement.energy_terms import EnergyTerm, terms_of
from carbon_aware.regions import get_region

FOOTPRINT_SCHEMA_VERSION = "1.3"

FUNCTIONAL_UNITS: tuple[str, ...] = ("training_run", "1k_training_examples", "1k_predictions")
UNITS = {
    "energy": "kWh",
    "intensity": "gCO2e/kWh",
    "emissions": "gCO2e",
    "pue": "dimensionless (facility energy / IT energy)",
}
# Multiply a figure in the key's unit by the value to get gCO2e/kWh.
INTENSITY_UNIT_FACTORS: dict[str, float] = {
    "gCO2e/kWh": 1.0,
    "kgCO2e/kWh": 1000.0,
    "kgCO2e/MWh": 1.0,
    "tCO2e/MWh": 1000.0,
    "tCO2e/kWh": 1_000_000.0,
    "lbs/MWh": GCO2E_PER_KWH_PER_LBS_PER_MWH,
}
MARKET_BASED_METHOD = (
    "per region, best first: the project's Carbon Footprint export (location-based gCO2e x "
    "Google's Scope 2 market/location ratio for the region), else facility kWh x the country's "
    "residual mix (an estimate), else not estimated. The grid's carbon-free share is not "
    f"discounted again. For a cloud customer this is {SCOPE}"
)
TOTAL_DEFINITION = (
    "total_co2e_g = operational (the run's facility energy incl. data movement x its intensity, "
    "plus the orchestration steps' facility energy x their grid's intensity) + embodied (the "
    "run's hardware share plus the orchestration machines' share) = sci.energy_kwh x "
    "sci.intensity_gco2e_per_kwh + sci.embodied_g = sci.value x sci.functional_unit_count; "
    "location-based; orchestration parts only when measured"
)
RANGE_MEANING = (
    "every [low, high] holds whenever each input lies within its own range: energy terms within "
    "their sourced min/max, each grid intensity within the 5th-95th percentile of its mean over "
    "the run's length (see the intensity bases), PUE and embodied not varied; inputs are combined "
    "at every corner, one energy scale for the run in every region, orchestration at the same "
    "end of its grid's range as the region it ran in"
)


def to_gco2e_per_kwh(value: float, unit: str) -> float:
    """Converts a carbon intensity to gCO2e/kWh.

    Raises:
        ValueError: Unknown unit (the message lists the known ones).
    """
    try:
        return value * INTENSITY_UNIT_FACTORS[unit]
    except KeyError:
        known = ", ".join(INTENSITY_UNIT_FACTORS)
        raise ValueError(f"unknown intensity unit {unit!r}; known: {known}") from None


@dataclass(frozen=True)
class EnergyBreakdown:
    """IT energy of the run (before PUE), by component, in kWh."""

    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    total_kwh: float
    method: str
    method_detail: str
    terms: dict[str, EnergyTerm] = field(default_factory=dict)
    low_kwh: float = 0.0
    high_kwh: float = 0.0

    def __post_init__(self) -> None:
        for name in ("cpu_kwh", "gpu_kwh", "ram_kwh", "total_kwh"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"energy {name} must be a finite number >= 0 kWh, got {value!r}")

    def with_term(self, name: str, term: EnergyTerm | None) -> EnergyBreakdown:
        """The breakdown with one more term (e.g. data movement) in its total and bounds."""
        if term is None:
            return self
        return replace(
            self,
            terms={**self.terms, name: term},
            total_kwh=self.total_kwh + term.kwh,
            low_kwh=self.low_kwh + term.low_kwh,
            high_kwh=self.high_kwh + term.high_kwh,
        )


@dataclass(frozen=True)
class RegionEmissions:
    """What this run's IT energy emits in one region (the chosen one or a counterfactual)."""

    region: str
    pue: float
    pue_kind: str
    intensity_gco2e_per_kwh: float
    intensity_method: str
    co2e_g: float
    cfe_fraction: float | None
    market_based_co2e_g: float | None
    energy_kwh: float = 0.0
    market_based_kind: str = "not-estimated"


@dataclass(frozen=True)
class Sci:
    """Software Carbon Intensity, SCI = (E x I + M) / R, in gCO2e per functional unit."""

    value: float
    unit: str
    functional_unit: str
    functional_unit_count: float
    functional_unit_basis: str
    operational_g: float
    embodied_g: float
    energy_kwh: float
    intensity_gco2e_per_kwh: float
    method: str = "Green Software Foundation SCI specification: SCI = ((E * I) + M) per R"


def sci_of(
    energy_kwh: float, operational_g: float, embodied_g: float, r_count: float
) -> tuple[float, float, float, float]:
    """(E, I, E x I, SCI) with I = operational / E, so the record reproduces from E, I, M, R.

    ``I`` is the energy-weighted mean intensity of everything in E (the run and the
    orchestration steps may run on different grids).
    """
    intensity = operational_g / energy_kwh if energy_kwh > 0 else 0.0
    e_times_i = energy_kwh * intensity
    return energy_kwh, intensity, e_times_i, (e_times_i + embodied_g) / r_count


@dataclass(frozen=True)
class Orchestration:
    """The pipeline's other steps: their energy and emissions (location-based, and market).

    All of them are counted, an upper bound on what being carbon-aware added (a pipeline
    that is not carbon-aware still trains and evaluates, but fetches no intensity). When the
    step timings could not be read every figure is None ("not measured"), never 0.
    """

    status: str  # "timed" or "not-measured"
    source: str
    region: str
    region_basis: str
    pue: float
    intensity_gco2e_per_kwh: float
    grid_tied_to: str
    energy_kwh: float | None
    low_kwh: float | None
    high_kwh: float | None
    co2e_g: float | None
    low_co2e_g: float | None
    high_co2e_g: float | None
    embodied_g: float | None
    market_based_co2e_g: float | None
    steps: list[StepEnergy]
    method: str = (
        "each step's run time x the machine Vertex gives it (vCPUs x Cloud Carbon Footprint "
        "per-vCPU watts at 50 %, range 0-100 %; memory x W/GB), x PUE x its grid's intensity; "
        "plus that machine's embodied share over the run time"
    )

    @property
    def measured(self) -> bool:
        """Whether the steps were timed (their figures are numbers)."""
        return self.status == "timed"


@dataclass(frozen=True)
class Footprint:
    """The footprint record of one training run (``footprint.json``)."""

    region: str
    baseline_region: str
    energy_kwh: float
    energy: EnergyBreakdown
    pue: float
    pue_source: str
    pue_kind: str
    facility_energy_kwh: float
    intensity_gco2e_per_kwh: float
    intensity_source: str
    intensity_kind: str
    intensity_method: str
    intensity_window: dict[str, Any]
    co2e_g: float
    baseline_intensity_gco2e_per_kwh: float
    baseline_co2e_g: float
    counterfactuals: dict[str, float]
    regions: dict[str, RegionEmissions]
    savings_g_vs_baseline: float
    savings_pct_vs_baseline: float
    market_based: dict[str, Any]
    embodied: Embodied
    embodied_g: float
    sci: Sci
    orchestration: Orchestration
    total_co2e_g: float
    total_definition: str
    net_savings_g_vs_baseline: float | None
    uncertainty: dict[str, Any]
    fallback_regions: list[str]
    run: dict[str, Any]
    provider: str
    plan: dict[str, Any] | None = None
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    schema_version: str = field(default=FOOTPRINT_SCHEMA_VERSION)

    def to_json(self) -> str:
        """Serialises the record (stable key order)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def energy_from_run_record(run_record: dict[str, Any]) -> EnergyBreakdown:
    """Reads the energy block the trainer wrote into its run record.

    Raises:
        ValueError: The record has no usable energy block.
    """
    try:
        energy = run_record["energy"]
        breakdown = EnergyBreakdown(
            cpu_kwh=float(energy["cpu_kwh"]),
            gpu_kwh=float(energy["gpu_kwh"]),
            ram_kwh=float(energy["ram_kwh"]),
            total_kwh=float(energy["total_kwh"]),
            method=str(energy["method"]),
            method_detail=str(energy.get("method_detail", "")),
        )
        terms = terms_of(energy)
    except (KeyError, TypeError) as err:
        raise ValueError(f"run record has no complete 'energy' block: missing {err}") from err
    # The bounds scale with the total the record states (its terms may be rounded apart).
    central = sum(t.kwh for t in terms.values())
    scale = breakdown.total_kwh / central if central > 0 else 1.0
    return replace(
        breakdown,
        terms=terms,
        low_kwh=scale * sum(t.low_kwh for t in terms.values())
        if central > 0
        else breakdown.total_kwh,
        high_kwh=scale * sum(t.high_kwh for t in terms.values())
        if central > 0
        else breakdown.total_kwh,
    )


def emissions_g(energy_kwh: float, pue: float, gco2e_per_kwh: float) -> float:
    """Operational emissions in gCO2e: IT energy (kWh) x PUE x grid intensity (gCO2e/kWh)."""
    if pue < 1.0:
        raise ValueError(f"PUE must be >= 1.0, got {pue!r}")
    return energy_kwh * pue * gco2e_per_kwh


def functional_units(
    functional_unit: str, run_record: dict[str, Any], predictions_served: int
) -> tuple[float, str]:
    """R for the SCI: how many functional units the run delivered, and how it was counted.

    Raises:
        ValueError: Unknown unit, or the count it needs is missing or not positive.
    """
    if functional_unit == "training_run":
        return 1.0, "one training run"
    if functional_unit == "1k_training_examples":
        rows = int(run_record.get("dataset", {}).get("train_rows", 0) or 0)
        if rows <= 0:
            raise ValueError("functional_unit 1k_training_examples needs dataset.train_rows > 0")
        return rows / 1000.0, f"{rows} examples in the training split / 1000 (epochs not counted)"
    if functional_unit == "1k_predictions":
        if predictions_served <= 0:
            raise ValueError("functional_unit 1k_predictions needs predictions_served > 0")
        return predictions_served / 1000.0, (
            f"{predictions_served} predictions the model is expected to serve / 1000 "
            "(training footprint amortised; inference energy not included)"
        )
    allowed = ", ".join(FUNCTIONAL_UNITS)
    raise ValueError(f"functional_unit {functional_unit!r} is not allowed; allowed: {allowed}")


def _region_emissions(
    region: str,
    decision_value: float,
    energy_kwh: float,
    pue: PueFigure,
    series: Sequence[IntensityReading] | None,
    window: tuple[datetime, datetime] | None,
    market: MarketFactor,
) -> tuple[RegionEmissions, tuple[float, float, int] | None]:
    weighted = time_weighted(series, *window) if series and window else None
    intensity = weighted[0] if weighted else decision_value
    co2e = emissions_g(energy_kwh, pue.value, intensity)
    return RegionEmissions(
        region=region,
        pue=pue.value,
        pue_kind=pue.kind,
        intensity_gco2e_per_kwh=intensity,
        intensity_method="time-weighted" if weighted else "decision",
        co2e_g=co2e,
        cfe_fraction=get_region(region).google_cfe_fraction,
        market_based_co2e_g=market.co2e_g(energy_kwh * pue.value, co2e),
        energy_kwh=energy_kwh,
        market_based_kind=market.kind,
    ), weighted


def _zone(region: str) -> str:
    try:
        return get_region(region).electricity_maps_zone
    except ValueError:
        return ""


_saving_pct = bounds.saving_pct


def _region_bounds(
    energy: EnergyBreakdown,
    emissions: RegionEmissions,
    series: Sequence[IntensityReading] | None,
    window: tuple[datetime, datetime] | None,
) -> bounds.RegionBounds:
    return bounds.RegionBounds(
        energy_kwh=energy.total_kwh,
        energy=bounds.Range(energy.low_kwh, energy.high_kwh, "each term's documented range"),
        pue=emissions.pue,
        intensity=emissions.intensity_gco2e_per_kwh,
        intensity_range=bounds.intensity_range(
            emissions.intensity_gco2e_per_kwh,
            series,
            window,
            emissions.intensity_method == "time-weighted",
            _zone(emissions.region),
        ),
    )


def _orchestration(
    timings: StepTimings | None,
    training_duration_s: float,
    decided: Mapping[str, float],
    decision: RegionDecision,
    pue: float,
    market: Mapping[str, MarketFactor],
    window: tuple[datetime, datetime] | None,
) -> tuple[Orchestration, bounds.OverheadBounds | None]:
    """The pipeline's other steps, in the region they ran in (the pipeline's own on Vertex)."""
    measured = timings is not None and timings.measured
    steps = orchestration_steps(timings, training_duration_s) if timings and measured else []
    region = timings.region if timings and timings.region else decision.baseline_region
    local = not (timings and timings.region)
    basis = (
        "not a Vertex run: the steps ran on this machine; the baseline region's grid stands in"
        if local
        else "the pipeline job's region"
    )
    tied = (
        "baseline"
        if local or region == decision.baseline_region
        else ("chosen" if region == decision.region else "")
    )
    try:
        catalogued = get_region(region)
    except ValueError:
        catalogued = None
    intensity = decided.get(region)
    if intensity is None:
        annual = catalogued.annual_gco2e_per_kwh if catalogued else None
        intensity = annual if annual is not None else decision.baseline_gco2e_per_kwh
    figure = resolve_pue(region, pue) if catalogued else resolve_pue(decision.baseline_region, pue)
    if timings is None:
        source = "no step timings (neither run-local nor a Vertex AI pipeline job)"
    else:
        source = timings.source
    if not measured:
        return Orchestration(
            "not-measured", source, region, basis, figure.value, intensity, tied,
            None, None, None, None, None, None, None, None, [],
        ), None  # fmt: skip
    kwh = sum(step.energy_kwh for step in steps)
    energy = bounds.Range(
        sum(step.low_kwh for step in steps),
        sum(step.high_kwh for step in steps),
        "each step's machine at 0-100 % load",
    )
    zone = catalogued.electricity_maps_zone if catalogued else _zone(decision.baseline_region)
    band = bounds.intensity_range(intensity, None, window, False, zone)
    co2e = emissions_g(kwh, figure.value, intensity)
    embodied_g = sum(step.embodied_g for step in steps)
    factor = market.get(region) or market_factor(
        region, catalogued.country_iso2 if catalogued else "", {}
    )
    overhead = bounds.OverheadBounds(energy, figure.value, band, tied, embodied_g)
    return Orchestration(
        status="timed",
        source=source,
        region=region,
        region_basis=basis,
        pue=figure.value,
        intensity_gco2e_per_kwh=intensity,
        grid_tied_to=tied,
        energy_kwh=kwh,
        low_kwh=energy.low,
        high_kwh=energy.high,
        co2e_g=co2e,
        low_co2e_g=energy.low * figure.value * band.low,
        high_co2e_g=energy.high * figure.value * band.high,
        embodied_g=embodied_g,
        market_based_co2e_g=factor.co2e_g(kwh * figure.value, co2e),
        steps=steps,
    ), overhead


def _pair(found: bounds.Range) -> list[float]:
    return [found.low, found.high]


def _market_range(
    chosen: bounds.RegionBounds,
    base: bounds.RegionBounds,
    factors: tuple[MarketFactor, MarketFactor],
) -> dict[str, Any] | None:
    """``[low, high]`` of the market-based figures, when both regions have one."""
    if any(f.kind == "not-estimated" for f in factors):
        return None
    pairs = []
    for scale in (0, 1):
        for jc, jb in ((0, 0), (0, 1), (1, 0), (1, 1)):
            values = []
            for region, factor, j in ((chosen, factors[0], jc), (base, factors[1], jb)):
                kwh = (region.energy.low, region.energy.high)[scale]
                location = kwh * region.pue * (region.intensity_range.low,
                                               region.intensity_range.high)[j]  # fmt: skip
                values.append(factor.co2e_g(kwh * region.pue, location) or 0.0)
            pairs.append((values[0], values[1]))
    pct = [bounds.saving_pct(c, b) for c, b in pairs]
    return {
        "co2e_g": [min(c for c, _ in pairs), max(c for c, _ in pairs)],
        "savings_pct_vs_baseline": [min(pct), max(pct)],
        "saving_holds": min(pct) > 0,
    }


def _uncertainty(
    chosen: bounds.RegionBounds,
    base: bounds.RegionBounds,
    energy: EnergyBreakdown,
    overhead: bounds.OverheadBounds | None,
    embodied_g: float,
    r_count: float,
    factors: tuple[MarketFactor, MarketFactor],
) -> dict[str, Any]:
    """``[low, high]`` of the headline figures; location-based and market-based apart."""
    co2e = bounds.co2e_range(chosen)
    ranges = bounds.saving_ranges(chosen, base, overhead)
    if overhead is not None:
        operational = ranges["total_operational_g"]
        embodied_total = embodied_g + overhead.embodied_g
    else:
        operational, embodied_total = co2e, embodied_g
    total = [operational.low + embodied_total, operational.high + embodied_total]
    net = ranges.get("net_savings_g_vs_baseline")
    orchestration = ranges.get("orchestration_co2e_g")
    return {
        "basis": "location-based unless under market_based",
        "meaning": RANGE_MEANING,
        "energy_kwh": [energy.low_kwh, energy.high_kwh],
        "terms": {name: [t.low_kwh, t.high_kwh] for name, t in energy.terms.items()},
        "intensity_gco2e_per_kwh": _pair(chosen.intensity_range),
        "intensity_basis": chosen.intensity_range.basis,
        "baseline_intensity_gco2e_per_kwh": _pair(base.intensity_range),
        "baseline_intensity_basis": base.intensity_range.basis,
        "co2e_g": _pair(co2e),
        "baseline_co2e_g": _pair(bounds.co2e_range(base)),
        "savings_pct_vs_baseline": _pair(ranges["savings_pct_vs_baseline"]),
        "savings_g_vs_baseline": _pair(ranges["savings_g_vs_baseline"]),
        "saving_holds": ranges["savings_pct_vs_baseline"].low > 0,
        "orchestration_co2e_g": None if orchestration is None else _pair(orchestration),
        "total_co2e_g": total,
        "net_savings_g_vs_baseline": None if net is None else _pair(net),
        "net_saving_holds": None if net is None else net.low > 0,
        "sci": [total[0] / r_count, total[1] / r_count],
        "market_based": _market_range(chosen, base, factors),
        "method": (
            "every corner of the inputs' ranges (energy scale, each region's intensity, "
            "orchestration energy and, unless tied to the chosen or baseline grid, its "
            "intensity); PUE and embodied not varied"
        ),
    }


def compute_footprint(
    decision: RegionDecision,
    run_record: dict[str, Any],
    pue: float = 0.0,
    *,
    intensity_series: Mapping[str, Sequence[IntensityReading]] | None = None,
    functional_unit: str = "training_run",
    predictions_served: int = 1_000_000,
    lifetime_years: float = 4.0,
    planned_start_utc: str = "",
    planned_gco2e_per_kwh: float = 0.0,
    step_timings: StepTimings | None = None,
    market_ratios: Mapping[str, float] | None = None,
    market_export_label: str = "",
) -> Footprint:
    """Computes the run's emissions, what the same energy would have emitted elsewhere, and SCI.

    Args:
        decision: choose-region's decision (chosen, baseline and every candidate's intensity).
        run_record: The trainer's run record with its measured or estimated energy.
        pue: Power usage effectiveness to apply everywhere; 0 means Google's published figure
            for each region's campus (fleet-wide where none is published).
        intensity_series: Intensity readings per region covering the run (live providers'
            history); regions without one use the value the decision was made with.
        functional_unit: SCI's R, one of :data:`FUNCTIONAL_UNITS`.
        predictions_served: Predictions R counts for ``1k_predictions``.
        lifetime_years: Hardware lifetime for embodied emissions.
        planned_start_utc: The start ``submit --start-within`` planned (empty: no plan).
        planned_gco2e_per_kwh: The plan's expected intensity.
        step_timings: The pipeline's step run times (orchestration); None: not measured.
        market_ratios: Region -> Google's Scope 2 market/location ratio from the project's
            Carbon Footprint export (:func:`carbon_aware.footprint.market.export_ratios`).
        market_export_label: Which export and months the ratios come from.

    Returns:
        The footprint record.
    """
    compute = energy_from_run_record(run_record)
    data = run_record.get("data") or {}
    replicas = int((run_record.get("replicas") or {}).get("count", 1) or 1)
    energy = compute.with_term("data_movement", data_movement_term(data, decision.region, replicas))
    r_count, r_basis = functional_units(functional_unit, run_record, predictions_served)
    window = None
    if "start_utc" in run_record and "end_utc" in run_record:
        window = (parse_utc(run_record["start_utc"]), parse_utc(run_record["end_utc"]))
    decided = {item.region: item.gco2e_per_kwh for item in decision.ranking}
    decided[decision.baseline_region] = decision.baseline_gco2e_per_kwh
    series = intensity_series or {}
    ratios = market_ratios or {}
    factors = {
        name: market_factor(name, get_region(name).country_iso2, ratios, market_export_label)
        for name in decided
    }
    regions: dict[str, RegionEmissions] = {}
    weights: dict[str, tuple[float, float, int] | None] = {}
    region_energy: dict[str, EnergyBreakdown] = {}
    for name, value in sorted(decided.items()):
        region_energy[name] = compute.with_term(
            "data_movement", data_movement_term(data, name, replicas)
        )
        regions[name], weights[name] = _region_emissions(
            name,
            value,
            region_energy[name].total_kwh,
            resolve_pue(name, pue),
            series.get(name),
            window,
            factors[name],
        )
    chosen, base = regions[decision.region], regions[decision.baseline_region]
    weighted = weights[decision.region]
    if weighted and window:
        source = (
            f"time-weighted over the run window {run_record['start_utc']} to "
            f"{run_record['end_utc']} from {decision.provider} history "
            f"({100 * weighted[1]:.0f}% of the window covered, {weighted[2]} readings)"
        )
    else:
        source = f"{decision.source} ({decision.kind}, value used for the decision)"
    embodied = embodied_from_run_record(run_record, lifetime_years)
    facility_kwh = energy.total_kwh * chosen.pue
    overhead, overhead_bounds = _orchestration(
        step_timings,
        float(run_record.get("duration_s", 0.0) or 0.0),
        decided,
        decision,
        pue,
        factors,
        window,
    )
    operational_g = chosen.co2e_g + (overhead.co2e_g or 0.0)
    embodied_total_g = embodied.embodied_g + (overhead.embodied_g or 0.0)
    sci_e, sci_i, e_times_i, sci_value = sci_of(
        facility_kwh + (overhead.energy_kwh or 0.0) * overhead.pue,
        operational_g,
        embodied_total_g,
        r_count,
    )
    sci = Sci(
        value=sci_value,
        unit=f"gCO2e per {functional_unit}",
        functional_unit=functional_unit,
        functional_unit_count=r_count,
        functional_unit_basis=r_basis,
        operational_g=e_times_i,
        embodied_g=embodied_total_g,
        energy_kwh=sci_e,
        intensity_gco2e_per_kwh=sci_i,
        method=(
            "Green Software Foundation SCI specification: SCI = ((E * I) + M) per R; E: the "
            "run's and the measured orchestration steps' facility energy, I: their "
            "energy-weighted intensity, M: the run's and the orchestration machines' embodied "
            "share; (E * I + M) is total_co2e_g"
        ),
    )
    bounded = {
        name: _region_bounds(region_energy[name], regions[name], series.get(name), window)
        for name in (decision.region, decision.baseline_region)
    }
    market: dict[str, Any] = {
        "co2e_g": chosen.market_based_co2e_g,
        "baseline_co2e_g": base.market_based_co2e_g,
        "kind": factors[decision.region].kind,
        "baseline_kind": factors[decision.baseline_region].kind,
        "source": factors[decision.region].source,
        "baseline_source": factors[decision.baseline_region].source,
        "savings_pct_vs_baseline": (
            _saving_pct(chosen.market_based_co2e_g, base.market_based_co2e_g)
            if chosen.market_based_co2e_g is not None and base.market_based_co2e_g is not None
            else None
        ),
        "scope": SCOPE,
        "method": MARKET_BASED_METHOD,
    }
    net_savings = (
        base.co2e_g - chosen.co2e_g - (overhead.co2e_g or 0.0) - (overhead.embodied_g or 0.0)
        if overhead.measured
        else None
    )
    run_keys = (
        "start_utc",
        "end_utc",
        "duration_s",
        "machine",
        "dataset",
        "epochs_run",
        "levers",
        "data_efficiency",
        "precision",
        "compressed_export",
        "backend",
        "replicas",
        "training",
        "data",
        "metrics",
    )
    return Footprint(
        region=decision.region,
        baseline_region=decision.baseline_region,
        energy_kwh=energy.total_kwh,
        energy=energy,
        pue=chosen.pue,
        pue_source=resolve_pue(decision.region, pue).source,
        pue_kind=chosen.pue_kind,
        facility_energy_kwh=facility_kwh,
        intensity_gco2e_per_kwh=chosen.intensity_gco2e_per_kwh,
        intensity_source=source,
        intensity_kind=decision.kind,
        intensity_method=chosen.intensity_method,
        intensity_window={
            "start_utc": run_record.get("start_utc"),
            "end_utc": run_record.get("end_utc"),
            "coverage_pct": round(100 * weighted[1], 2) if weighted else None,
            "readings": weighted[2] if weighted else 0,
        },
        co2e_g=chosen.co2e_g,
        baseline_intensity_gco2e_per_kwh=base.intensity_gco2e_per_kwh,
        baseline_co2e_g=base.co2e_g,
        counterfactuals={name: round(item.co2e_g, 6) for name, item in regions.items()},
        regions=regions,
        savings_g_vs_baseline=base.co2e_g - chosen.co2e_g,
        savings_pct_vs_baseline=_saving_pct(chosen.co2e_g, base.co2e_g),
        market_based=market,
        embodied=embodied,
        embodied_g=embodied.embodied_g,
        sci=sci,
        orchestration=overhead,
        total_co2e_g=e_times_i + embodied_total_g,
        total_definition=TOTAL_DEFINITION,
        net_savings_g_vs_baseline=net_savings,
        uncertainty=_uncertainty(
            bounded[decision.region],
            bounded[decision.baseline_region],
            energy,
            overhead_bounds,
            embodied.embodied_g,
            r_count,
            (factors[decision.region], factors[decision.baseline_region]),
        ),
        fallback_regions=list(decision.fallback_regions),
        run={key: run_record[key] for key in run_keys if key in run_record},
        provider=decision.provider,
        plan=planned_vs_actual(
            planned_start_utc,
            planned_gco2e_per_kwh,
            run_record.get("start_utc"),
            chosen.intensity_gco2e_per_kwh if weighted else None,
            "time-weighted over the run window from the provider's history"
            if weighted
            else f"no {decision.provider} history covers the run window",
        ),
    )
