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
from carbon_aware.regions import ANNUAL_DATA_YEAR, get_region

FOOTPRINT_SCHEMA_VERSION = "1.2"

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
    "approximation: location-based gCO2e x (1 - Google CFE), with Google's "
    f"{ANNUAL_DATA_YEAR} hourly-matched carbon-free-energy fraction per region (as Cloud "
    "Carbon Footprint's GCP_USE_CARBON_FREE_ENERGY_PERCENTAGE option). Not a GHG "
    "Protocol scope 2 market-based figure: no contractual instruments are read."
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


@dataclass(frozen=True)
class Orchestration:
    """The pipeline's other steps: their energy and emissions (location-based, and market).

    All of them are counted, an upper bound on what being carbon-aware added (a pipeline
    that is not carbon-aware still trains and evaluates, but fetches no intensity).
    """

    status: str  # "timed" or "not-measured"
    source: str
    region: str
    region_basis: str
    pue: float
    intensity_gco2e_per_kwh: float
    energy_kwh: float
    low_kwh: float
    high_kwh: float
    co2e_g: float
    low_co2e_g: float
    high_co2e_g: float
    market_based_co2e_g: float | None
    steps: list[StepEnergy]
    method: str = (
        "each step's run time x the shape it requests (vCPUs x Cloud Carbon Footprint per-vCPU "
        "watts at 50 %, range 0-100 %; memory x W/GB), x PUE x the region's intensity"
    )


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
    net_savings_g_vs_baseline: float
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
) -> tuple[RegionEmissions, tuple[float, float, int] | None]:
    weighted = time_weighted(series, *window) if series and window else None
    intensity = weighted[0] if weighted else decision_value
    co2e = emissions_g(energy_kwh, pue.value, intensity)
    cfe = get_region(region).google_cfe_fraction
    return RegionEmissions(
        region=region,
        pue=pue.value,
        pue_kind=pue.kind,
        intensity_gco2e_per_kwh=intensity,
        intensity_method="time-weighted" if weighted else "decision",
        co2e_g=co2e,
        cfe_fraction=cfe,
        market_based_co2e_g=None if cfe is None else co2e * (1.0 - cfe),
        energy_kwh=energy_kwh,
    ), weighted


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
        ),
        cfe_fraction=emissions.cfe_fraction,
    )


def _orchestration(
    timings: StepTimings | None,
    training_duration_s: float,
    decided: Mapping[str, float],
    decision: RegionDecision,
    pue: float,
) -> Orchestration:
    """The pipeline's other steps, in the region they ran in (the pipeline's own on Vertex)."""
    steps = orchestration_steps(timings, training_duration_s) if timings else []
    region = timings.region if timings and timings.region else decision.baseline_region
    basis = (
        "the pipeline job's region"
        if timings and timings.region
        else "not a Vertex run: the baseline region's intensity stands in for this machine's grid"
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
    kwh = sum(step.energy_kwh for step in steps)
    low = sum(step.low_kwh for step in steps)
    high = sum(step.high_kwh for step in steps)
    band = bounds.HOURLY_VS_ANNUAL_BAND
    cfe = catalogued.google_cfe_fraction if catalogued else None
    co2e = emissions_g(kwh, figure.value, intensity)
    return Orchestration(
        status="timed" if steps else "not-measured",
        source=timings.source if timings else "no step timings (neither run-local nor Vertex AI)",
        region=region,
        region_basis=basis,
        pue=figure.value,
        intensity_gco2e_per_kwh=intensity,
        energy_kwh=kwh,
        low_kwh=low,
        high_kwh=high,
        co2e_g=co2e,
        low_co2e_g=low * figure.value * intensity * band[0],
        high_co2e_g=high * figure.value * intensity * band[1],
        market_based_co2e_g=None if cfe is None else co2e * (1.0 - cfe),
        steps=steps,
    )


def _pair(found: bounds.Range) -> list[float]:
    return [found.low, found.high]


def _uncertainty(
    chosen: bounds.RegionBounds,
    base: bounds.RegionBounds,
    energy: EnergyBreakdown,
    overhead: Orchestration,
    embodied_g: float,
    r_count: float,
) -> dict[str, Any]:
    """``[low, high]`` of the headline figures; location-based and market-based apart."""
    orchestration = bounds.Range(overhead.low_co2e_g, overhead.high_co2e_g, "orchestration")
    co2e = bounds.co2e_range(chosen)
    location = bounds.saving_ranges(chosen, base, orchestration)
    market: dict[str, Any] | None = None
    if chosen.cfe_fraction is not None and base.cfe_fraction is not None:
        mb = bounds.saving_ranges(chosen, base, orchestration, market=True)
        market = {
            "co2e_g": [co2e.low * (1 - chosen.cfe_fraction), co2e.high * (1 - chosen.cfe_fraction)],
            "savings_pct_vs_baseline": _pair(mb["savings_pct_vs_baseline"]),
            "saving_holds": mb["savings_pct_vs_baseline"].low > 0,
        }
    total = [co2e.low + orchestration.low, co2e.high + orchestration.high]
    return {
        "basis": "location-based unless under market_based",
        "energy_kwh": [energy.low_kwh, energy.high_kwh],
        "terms": {name: [t.low_kwh, t.high_kwh] for name, t in energy.terms.items()},
        "intensity_gco2e_per_kwh": _pair(chosen.intensity_range),
        "intensity_basis": chosen.intensity_range.basis,
        "baseline_intensity_gco2e_per_kwh": _pair(base.intensity_range),
        "baseline_intensity_basis": base.intensity_range.basis,
        "co2e_g": _pair(co2e),
        "baseline_co2e_g": _pair(bounds.co2e_range(base)),
        "savings_pct_vs_baseline": _pair(location["savings_pct_vs_baseline"]),
        "savings_g_vs_baseline": _pair(location["savings_g_vs_baseline"]),
        "saving_holds": location["savings_pct_vs_baseline"].low > 0,
        "orchestration_co2e_g": [orchestration.low, orchestration.high],
        "total_co2e_g": total,
        "net_savings_g_vs_baseline": _pair(location["net_savings_g_vs_baseline"]),
        "net_saving_holds": location["net_savings_g_vs_baseline"].low > 0,
        "sci": [(total[0] + embodied_g) / r_count, (total[1] + embodied_g) / r_count],
        "market_based": market,
        "method": (
            "worst case: every energy term at the low (high) end of its documented range with "
            "the intensity at the low (high) end of its range; PUE and embodied not varied"
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
    overhead = _orchestration(
        step_timings, float(run_record.get("duration_s", 0.0) or 0.0), decided, decision, pue
    )
    sci = Sci(
        value=(chosen.co2e_g + overhead.co2e_g + embodied.embodied_g) / r_count,
        unit=f"gCO2e per {functional_unit}",
        functional_unit=functional_unit,
        functional_unit_count=r_count,
        functional_unit_basis=r_basis,
        operational_g=chosen.co2e_g + overhead.co2e_g,
        embodied_g=embodied.embodied_g,
        energy_kwh=facility_kwh + overhead.energy_kwh * overhead.pue,
        intensity_gco2e_per_kwh=chosen.intensity_gco2e_per_kwh,
        method=(
            "Green Software Foundation SCI specification: SCI = ((E * I) + M) per R; E * I "
            "includes the pipeline's orchestration steps"
        ),
    )
    bounded = {
        name: _region_bounds(region_energy[name], regions[name], series.get(name), window)
        for name in (decision.region, decision.baseline_region)
    }
    market: dict[str, Any] = {
        "co2e_g": chosen.market_based_co2e_g,
        "baseline_co2e_g": base.market_based_co2e_g,
        "cfe_fraction": chosen.cfe_fraction,
        "baseline_cfe_fraction": base.cfe_fraction,
        "savings_pct_vs_baseline": (
            _saving_pct(chosen.market_based_co2e_g, base.market_based_co2e_g)
            if chosen.market_based_co2e_g is not None and base.market_based_co2e_g is not None
            else None
        ),
        "method": MARKET_BASED_METHOD,
    }
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
        total_co2e_g=chosen.co2e_g + overhead.co2e_g,
        net_savings_g_vs_baseline=base.co2e_g - chosen.co2e_g - overhead.co2e_g,
        uncertainty=_uncertainty(
            bounded[decision.region],
            bounded[decision.baseline_region],
            energy,
            overhead,
            embodied.embodied_g,
            r_count,
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
