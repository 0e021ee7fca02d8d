"""Footprint arithmetic: energy x PUE x grid intensity, for the chosen region and the others."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from carbon_aware.decision import RegionDecision

FOOTPRINT_SCHEMA_VERSION = "1.0"

# Google's trailing-twelve-month fleet-wide PUE for 2024 (google.com/about/datacenters/efficiency,
# "Our data centers' efficiency", fleet-wide TTM PUE 1.09). Used when the run gives no PUE.
GOOGLE_FLEET_PUE = 1.09
GOOGLE_FLEET_PUE_SOURCE = (
    "Google data centers efficiency page: 2024 fleet-wide trailing twelve-month PUE 1.09"
)


@dataclass(frozen=True)
class EnergyBreakdown:
    """IT energy of the run (before PUE), by component, in kWh."""

    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    total_kwh: float
    method: str
    method_detail: str

    def __post_init__(self) -> None:
        for name in ("cpu_kwh", "gpu_kwh", "ram_kwh", "total_kwh"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"energy {name} must be a finite number >= 0 kWh, got {value!r}")


@dataclass(frozen=True)
class Footprint:
    """The footprint record of one training run (``footprint.json``)."""

    region: str
    baseline_region: str
    energy_kwh: float
    energy: EnergyBreakdown
    pue: float
    pue_source: str
    facility_energy_kwh: float
    intensity_gco2e_per_kwh: float
    intensity_source: str
    intensity_kind: str
    co2e_g: float
    baseline_intensity_gco2e_per_kwh: float
    baseline_co2e_g: float
    counterfactuals: dict[str, float]
    savings_g_vs_baseline: float
    savings_pct_vs_baseline: float
    fallback_regions: list[str]
    run: dict[str, Any]
    provider: str
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
        return EnergyBreakdown(
            cpu_kwh=float(energy["cpu_kwh"]),
            gpu_kwh=float(energy["gpu_kwh"]),
            ram_kwh=float(energy["ram_kwh"]),
            total_kwh=float(energy["total_kwh"]),
            method=str(energy["method"]),
            method_detail=str(energy.get("method_detail", "")),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"run record has no complete 'energy' block: missing {err}") from err


def emissions_g(energy_kwh: float, pue: float, gco2e_per_kwh: float) -> float:
    """Operational emissions in gCO2e: IT energy (kWh) x PUE x grid intensity (gCO2e/kWh)."""
    if pue < 1.0:
        raise ValueError(f"PUE must be >= 1.0, got {pue!r}")
    return energy_kwh * pue * gco2e_per_kwh


def compute_footprint(
    decision: RegionDecision, run_record: dict[str, Any], pue: float = 0.0
) -> Footprint:
    """Computes the run's emissions and what the same energy would have emitted elsewhere.

    Args:
        decision: choose-region's decision (chosen, baseline and every candidate's intensity).
        run_record: The trainer's run record with its measured or estimated energy.
        pue: Power usage effectiveness to apply; 0 means Google's published fleet PUE.

    Returns:
        The footprint record.
    """
    energy = energy_from_run_record(run_record)
    applied_pue = pue if pue else GOOGLE_FLEET_PUE
    pue_source = "run parameter pue" if pue else GOOGLE_FLEET_PUE_SOURCE
    intensities = {item.region: item.gco2e_per_kwh for item in decision.ranking}
    intensities[decision.baseline_region] = decision.baseline_gco2e_per_kwh
    counterfactuals = {
        region: round(emissions_g(energy.total_kwh, applied_pue, value), 6)
        for region, value in sorted(intensities.items())
    }
    co2e = emissions_g(energy.total_kwh, applied_pue, decision.gco2e_per_kwh)
    baseline = emissions_g(energy.total_kwh, applied_pue, decision.baseline_gco2e_per_kwh)
    saving_pct = 100.0 * (1.0 - co2e / baseline) if baseline > 0 else 0.0
    run_keys = ("start_utc", "end_utc", "duration_s", "machine", "dataset", "epochs_run")
    return Footprint(
        region=decision.region,
        baseline_region=decision.baseline_region,
        energy_kwh=energy.total_kwh,
        energy=energy,
        pue=applied_pue,
        pue_source=pue_source,
        facility_energy_kwh=energy.total_kwh * applied_pue,
        intensity_gco2e_per_kwh=decision.gco2e_per_kwh,
        intensity_source=f"{decision.source} ({decision.kind}, value used for the decision)",
        intensity_kind=decision.kind,
        co2e_g=co2e,
        baseline_intensity_gco2e_per_kwh=decision.baseline_gco2e_per_kwh,
        baseline_co2e_g=baseline,
        counterfactuals=counterfactuals,
        savings_g_vs_baseline=baseline - co2e,
        savings_pct_vs_baseline=round(saving_pct, 4),
        fallback_regions=list(decision.fallback_regions),
        run={key: run_record[key] for key in run_keys if key in run_record},
        provider=decision.provider,
    )
