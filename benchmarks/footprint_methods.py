"""A one-hour run's footprint, term by term with ranges, against three published methods.

For a T4, an A100 and an H100 run of one hour in three regions, prints each term (CPU, GPU, RAM
kWh; PUE; facility kWh; intensity; operational, embodied and total gCO2e) as this project
computes it (central and [low, high], see ``carbon_aware.footprint.uncertainty``), next to what
the published formulas of CodeCarbon, Cloud Carbon Footprint (CCF) and Green Algorithms (GA)
give for the same run with their own published constants (cited below). No network.

Run: ``.venv/bin/python benchmarks/footprint_methods.py``

Grid intensity is held equal across the four columns (Google's annual figure for the region,
the one this project uses): each tool ships its own intensity table (CodeCarbon's
``data/cloud/impact.csv``, CCF's GCP emission factors, GA's ``CI_aggregated.csv``) and those
tables are not bundled here, so the comparison isolates the energy, PUE and embodied methods.

Published constants used:

* CodeCarbon 2.x (mlco2/codecarbon, ``codecarbon/external/hardware.py`` and the methodology
  page): without RAPL (a cloud VM) the CPU is in "constant mode", 50 % of the CPU's TDP; a
  model not in its ``cpu_power.csv`` (a VM reports "Intel(R) Xeon(R) CPU @ 2.20GHz") gets the
  default 85 W TDP, hence 42.5 W (as CodeCarbon 2.3 writes ``cpu_power 42.5`` in its
  emissions.csv on such VMs). RAM: 3 W per 8 GB of the machine's memory (0.375 W/GB). GPU:
  measured with NVML in a real run; with no GPU here, the same GPU energy as ours (flagged).
  PUE: its ``pue`` parameter, default 1.0. No embodied emissions.
* CCF (cloudcarbonfootprint.org/docs/methodology, and ``ccfcoef/constants.py`` of
  cloud-carbon-footprint/cloud-carbon-coefficients): compute = vCPU hours x (min + 50 % x
  (max - min)) with GCP's average 0.71 / 4.26 W per vCPU; memory 0.000392 kWh per GB-hour; GPU
  min/max watts per card from ``ComputeProcessorTypes.ts`` (T4 8 / 71 W, A100 46 / 407 W; the
  H100 is not listed, so CCF has no GPU term for it); GCP PUE 1.1; embodied: M = TE x TR/EL x
  RR/TR with its GCP coefficients (as ``carbon_aware/footprint/embodied.py`` implements it).
* Green Algorithms (Lannelongue, Grealey & Inouye, Adv. Sci. 2021, 2100707; data of
  GreenAlgorithms/green-algorithms-tool): E = t x (n_c x P_c x u_c + n_g x P_g x u_g + n_m x
  P_m) x PUE with P_m = 0.3725 W/GB (``data/v2.2/referenceValues.csv``), usage factor 1 (the
  calculator's default), CPU "Any" 12.0 W per core (``data/v3.0/TDP_cpu.csv``; cores = vCPUs / 2,
  a vCPU being one hyperthread), GPU TDP T4 70 W, A100 40GB PCIe 250 W (``data/v3.0/GPUs.csv``;
  the H100 is not listed: its 700 W datasheet TDP entered as "Other", as GA's FAQ says), GCP PUE
  1.11 (``data/v2.2/defaults_PUE.csv``). No embodied emissions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from carbon_aware.footprint import uncertainty
from carbon_aware.footprint.embodied import embodied_emissions
from carbon_aware.footprint.pue import resolve_pue
from carbon_aware.measurement.energy import estimate_energy, machine_shape
from carbon_aware.measurement.energy_terms import EnergyTerm
from carbon_aware.regions import get_region

HOURS = 1.0
RUNS = (
    ("T4", "n1-standard-8", "NVIDIA_TESLA_T4"),
    ("A100", "a2-highgpu-1g", "NVIDIA_TESLA_A100"),
    ("H100", "a3-highgpu-1g", "NVIDIA_H100_80GB"),
)
REGIONS = ("us-central1", "europe-west4", "europe-north1")

CODECARBON_CPU_WATTS = 85.0 * 0.5
CODECARBON_RAM_WATTS_PER_GB = 3.0 / 8.0
CODECARBON_PUE = 1.0
CCF_CPU_WATTS = (0.71, 4.26)
CCF_RAM_WATTS_PER_GB = 0.392
CCF_GPU_WATTS = {"NVIDIA_TESLA_T4": (8.0, 71.0), "NVIDIA_TESLA_A100": (46.0, 407.0)}
CCF_PUE = 1.1
GA_CPU_WATTS_PER_CORE = 12.0
GA_RAM_WATTS_PER_GB = 0.3725
GA_GPU_TDP = {"NVIDIA_TESLA_T4": 70.0, "NVIDIA_TESLA_A100": 250.0, "NVIDIA_H100_80GB": 700.0}
GA_PUE = 1.11


@dataclass(frozen=True)
class Column:
    """One method's figures for a run: kWh per term, PUE, embodied gCO2e."""

    cpu_kwh: float
    gpu_kwh: float | None
    ram_kwh: float
    pue: float
    embodied_g: float | None

    def it_kwh(self) -> float:
        """IT energy."""
        return self.cpu_kwh + (self.gpu_kwh or 0.0) + self.ram_kwh


def codecarbon(vcpus: int, memory_gb: float, ours_gpu_kwh: float) -> Column:
    """CodeCarbon's constant-mode CPU, 3 W / 8 GB RAM, NVML GPU (ours stands in), PUE 1."""
    del vcpus  # constant mode: one CPU package TDP, whatever the vCPU count
    return Column(
        CODECARBON_CPU_WATTS * HOURS / 1000,
        ours_gpu_kwh,
        CODECARBON_RAM_WATTS_PER_GB * memory_gb * HOURS / 1000,
        CODECARBON_PUE,
        None,
    )


def ccf(machine: str, vcpus: int, memory_gb: float, accelerator: str) -> Column:
    """CCF: vCPU hours x average watts at 50 %, memory coefficient, GPU min/max, PUE 1.1."""
    cpu_w = CCF_CPU_WATTS[0] + 0.5 * (CCF_CPU_WATTS[1] - CCF_CPU_WATTS[0])
    gpu = CCF_GPU_WATTS.get(accelerator)
    gpu_kwh = None if gpu is None else (gpu[0] + 0.5 * (gpu[1] - gpu[0])) * HOURS / 1000
    return Column(
        vcpus * cpu_w * HOURS / 1000,
        gpu_kwh,
        memory_gb * CCF_RAM_WATTS_PER_GB * HOURS / 1000,
        CCF_PUE,
        embodied_g(machine, accelerator),
    )


def green_algorithms(vcpus: int, memory_gb: float, accelerator: str) -> Column:
    """GA: t x (cores x 12 W x 1 + GPU TDP x 1 + memory x 0.3725 W/GB) x PUE 1.11."""
    return Column(
        (vcpus / 2) * GA_CPU_WATTS_PER_CORE * HOURS / 1000,
        GA_GPU_TDP[accelerator] * HOURS / 1000,
        memory_gb * GA_RAM_WATTS_PER_GB * HOURS / 1000,
        GA_PUE,
        None,
    )


def embodied_g(machine: str, accelerator: str) -> float | None:
    """CCF-method embodied gCO2e of one hour, or None where embodied.py has no figure."""
    try:
        found = embodied_emissions(machine, accelerator, 1, HOURS * 3600)
    except ValueError:  # a machine family embodied.py does not know yet (A3)
        return None
    return found.embodied_g if found.method != "not-estimated" else None


def fmt(value: float | None, digits: int = 3) -> str:
    """A figure, or a dash where the method has none."""
    return "-" if value is None else f"{value:.{digits}f}"


def ranged(central: float, low: float, high: float, digits: int = 3) -> str:
    """``central [low, high]``."""
    return f"{central:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def rows_for(label: str, machine: str, accelerator: str, region: str) -> list[list[str]]:
    """The table rows of one run in one region."""
    shape = machine_shape(machine)
    ours = estimate_energy(HOURS * 3600, machine, accelerator, 1)
    terms = {name: EnergyTerm.from_dict(t) for name, t in ours.terms.items()}
    it_low = sum(t.low_kwh for t in terms.values())
    it_high = sum(t.high_kwh for t in terms.values())
    pue = resolve_pue(region, 0.0).value
    info = get_region(region)
    intensity = float(info.annual_gco2e_per_kwh or 0.0)
    (band_low, band_high), _ = uncertainty.annual_figure_band(info.electricity_maps_zone, 1)
    ours_embodied = embodied_g(machine, accelerator)
    emb = ours_embodied or 0.0
    operational = ours.total_kwh * pue * intensity
    op_low = it_low * pue * intensity * band_low
    op_high = it_high * pue * intensity * band_high
    others = [
        codecarbon(shape.vcpus, shape.memory_gb, ours.gpu_kwh),
        ccf(machine, shape.vcpus, shape.memory_gb, accelerator),
        green_algorithms(shape.vcpus, shape.memory_gb, accelerator),
    ]
    name = f"{label} {machine} {region}"

    def op(c: Column) -> float:
        return c.it_kwh() * c.pue * intensity

    def total(c: Column) -> float:
        return op(c) + (c.embodied_g or 0.0)

    table = [
        ["CPU kWh", ranged(terms["cpu"].kwh, terms["cpu"].low_kwh, terms["cpu"].high_kwh),
         *(fmt(c.cpu_kwh) for c in others)],
        ["GPU kWh", ranged(terms["gpu"].kwh, terms["gpu"].low_kwh, terms["gpu"].high_kwh),
         *(fmt(c.gpu_kwh) + ("*" if i == 0 else "") for i, c in enumerate(others))],
        ["RAM kWh", ranged(terms["ram"].kwh, terms["ram"].low_kwh, terms["ram"].high_kwh),
         *(fmt(c.ram_kwh) for c in others)],
        ["IT kWh", ranged(ours.total_kwh, it_low, it_high), *(fmt(c.it_kwh()) for c in others)],
        ["PUE", f"{pue:.2f}", *(f"{c.pue:.2f}" for c in others)],
        ["gCO2e/kWh", ranged(intensity, intensity * band_low, intensity * band_high, 1),
         *(f"{intensity:.1f}" for _ in others)],
        ["operational g", ranged(operational, op_low, op_high, 1),
         *(fmt(op(c), 1) for c in others)],
        ["embodied g", fmt(ours_embodied, 1), *(fmt(c.embodied_g, 1) for c in others)],
        ["total g", ranged(operational + emb, op_low + emb, op_high + emb, 1),
         *(fmt(total(c), 1) for c in others)],
    ]  # fmt: skip
    return [[name if i == 0 else "", *row] for i, row in enumerate(table)]


def main() -> int:
    """Prints the comparison table (Markdown)."""
    header = [
        "run",
        "term",
        "this project: central [low, high]",
        "CodeCarbon",
        "CCF",
        "Green Algorithms",
    ]
    print("| " + " | ".join(header) + " |")
    print("|---|---|---:|---:|---:|---:|")
    for label, machine, accelerator in RUNS:
        for region in REGIONS:
            for row in rows_for(label, machine, accelerator, region):
                print("| " + " | ".join(row) + " |")
    print()
    print("* CodeCarbon measures the GPU with NVML; with no GPU here its column shows ours.")
    print("- CCF lists no H100: no GPU term. Intensity held equal (Google's annual figure).")
    print("- Embodied '-': the method has no embodied term (CodeCarbon, Green Algorithms).")
    print("  Ranges: carbon_aware.footprint.uncertainty's meaning.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
