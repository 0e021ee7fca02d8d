"""One energy term per component (cpu, gpu, ram), each by its best available method, bounded.

Methods, best first: ``measured`` (a hardware energy counter: RAPL for the CPU, NVML's total
energy counter for an NVIDIA GPU), ``modelled`` (a measured quantity such as utilisation times
a published power model; memory from the machine type's GB times a published W/GB) and
``estimated`` (machine spec x duration, nothing measured). Every term carries ``[low, high]``
kWh from the documented range of its method, so the footprint can be bounded where it cannot be
measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from carbon_aware.hardware import figures
from carbon_aware.hardware.catalogue import CpuPower
from carbon_aware.hardware.power_data import AcceleratorPower

METHODS = ("measured", "modelled", "estimated")
_CPU_MIN = figures.figure("cpu.min_watts_per_vcpu.gcp_median")
_CPU_MAX = figures.figure("cpu.max_watts_per_vcpu.gcp_median")
# CCF's GCP medians of min / max watts per vCPU: its fallback where a machine's CPUs are unmapped.
CPU_MIN_WATTS_PER_VCPU = _CPU_MIN.value
CPU_MAX_WATTS_PER_VCPU = _CPU_MAX.value
GCP_MEDIAN_CPU = CpuPower(
    _CPU_MIN.value,
    _CPU_MAX.value,
    _CPU_MIN.value,
    _CPU_MAX.value,
    f"CCF's GCP median {_CPU_MIN.value:g}-{_CPU_MAX.value:g} W per vCPU ({_CPU_MIN.source})",
)
MEMORY_WATTS_PER_GB = figures.figure("memory.watts_per_gb").value
AVERAGE_UTILIZATION = 0.5  # CCF's fallback when no utilisation is known
# nvidia-smi --help-query-gpu: power.draw "is accurate to within +/- 5 watts".
NVML_WATTS_ERROR = figures.figure("nvml.power_error_watts").value
# CodeCarbon 3.x models RAM as 5 W per DIMM; over DIMMs of 64 GB down to 8 GB that is 0.078 to
# 0.625 W/GB around CCF's 0.392 W/GB.
_DIMM_WATTS = figures.figure("memory.watts_per_dimm").value
MEMORY_WATTS_PER_GB_RANGE = (
    _DIMM_WATTS / figures.figure("memory.dimm_gb_largest").value,
    _DIMM_WATTS / figures.figure("memory.dimm_gb_smallest").value,
)
MEMORY_SOURCE = (
    f"machine type's memory x {MEMORY_WATTS_PER_GB} W/GB (Cloud Carbon Footprint GCP memory "
    "coefficient 0.000392 kWh/GB-h); range 5 W per DIMM of 64 to 8 GB (CodeCarbon RAM model)"
)
# A record written before per-term detail existed holds only kWh per component, taken to be
# CCF's 50 % estimate: its bounds are the idle and full-load ends of CCF's GCP median range.
_LEGACY_BAND = (
    CPU_MIN_WATTS_PER_VCPU / ((CPU_MIN_WATTS_PER_VCPU + CPU_MAX_WATTS_PER_VCPU) / 2),
    CPU_MAX_WATTS_PER_VCPU / ((CPU_MIN_WATTS_PER_VCPU + CPU_MAX_WATTS_PER_VCPU) / 2),
)


@dataclass(frozen=True)
class EnergyTerm:
    """One component's energy in kWh, how it was obtained, and its ``[low, high]`` bounds."""

    kwh: float
    method: str
    source: str
    low_kwh: float
    high_kwh: float

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"energy term method {self.method!r} is not one of {METHODS}")
        if not 0.0 <= self.low_kwh <= self.kwh <= self.high_kwh:
            raise ValueError(
                f"energy term bounds must satisfy 0 <= low <= kWh <= high, got "
                f"{self.low_kwh!r} <= {self.kwh!r} <= {self.high_kwh!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The term as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyTerm:
        """Reads a term written by :meth:`to_dict`."""
        return cls(
            float(data["kwh"]),
            str(data["method"]),
            str(data["source"]),
            float(data["low_kwh"]),
            float(data["high_kwh"]),
        )


def scaled(kwh: float, band: tuple[float, float], method: str, source: str) -> EnergyTerm:
    """A term whose bounds are ``kwh`` times a relative band such as (0.4, 2.9)."""
    return EnergyTerm(kwh, method, source, kwh * band[0], kwh * band[1])


def average_watts(min_watts: float, max_watts: float, utilization: float) -> float:
    """CCF's average power: ``min_watts + utilization * (max_watts - min_watts)``."""
    return min_watts + utilization * (max_watts - min_watts)


def cpu_measured(kwh: float, how: str) -> EnergyTerm:
    """The CPU read from a RAPL energy counter (via CodeCarbon).

    No error band: none is published for the counter in the sources this project uses, so the
    bounds are the reading itself (RAPL covers the CPU package, not the whole machine).
    """
    return EnergyTerm(kwh, "measured", f"RAPL energy counter via {how}; no error band", kwh, kwh)


def cpu_modelled(
    vcpus: int, utilization: float, hours: float, note: str = "", cpu: CpuPower | None = None
) -> EnergyTerm:
    """Measured CPU utilisation x CCF's per-vCPU min/max watts of the machine's CPUs.

    Bounded by idle and full load of the family's microarchitectures (CCF's lowest minimum and
    highest maximum among them): whatever the utilisation, the CPUs draw within that range.
    """
    power = cpu or GCP_MEDIAN_CPU
    watts = vcpus * average_watts(power.min_watts_per_vcpu, power.max_watts_per_vcpu, utilization)
    source = (
        f"measured utilisation {utilization:.1%} x {vcpus} vCPU x {power.source}; range: idle "
        f"{power.low_watts_per_vcpu:g} to full load {power.high_watts_per_vcpu:g} W per vCPU"
        + (f"; {note}" if note else "")
    )
    return EnergyTerm(
        watts * hours / 1000.0,
        "modelled",
        source,
        vcpus * power.low_watts_per_vcpu * hours / 1000.0,
        vcpus * power.high_watts_per_vcpu * hours / 1000.0,
    )


def cpu_estimated(
    vcpus: int, hours: float, assumed: float = AVERAGE_UTILIZATION, cpu: CpuPower | None = None
) -> EnergyTerm:
    """An assumed utilisation (CCF's 50 %), bounded by idle and full load of the machine's CPUs."""
    power = cpu or GCP_MEDIAN_CPU
    watts = vcpus * average_watts(power.min_watts_per_vcpu, power.max_watts_per_vcpu, assumed)
    source = (
        f"{vcpus} vCPU at an assumed {assumed:.0%} utilisation, {power.source}; range: idle "
        f"{power.low_watts_per_vcpu:g} to full load {power.high_watts_per_vcpu:g} W per vCPU"
    )
    return EnergyTerm(
        watts * hours / 1000.0,
        "estimated",
        source,
        vcpus * power.low_watts_per_vcpu * hours / 1000.0,
        vcpus * power.high_watts_per_vcpu * hours / 1000.0,
    )


def ram_modelled(memory_gb: float, hours: float) -> EnergyTerm:
    """The machine type's memory x CCF's W/GB, bounded by CodeCarbon's per-DIMM model."""
    low_w, high_w = MEMORY_WATTS_PER_GB_RANGE
    return EnergyTerm(
        memory_gb * MEMORY_WATTS_PER_GB * hours / 1000.0,
        "modelled",
        f"{memory_gb:g} GB: {MEMORY_SOURCE}",
        memory_gb * low_w * hours / 1000.0,
        memory_gb * high_w * hours / 1000.0,
    )


def gpu_measured(kwh: float, cards: int, hours: float, how: str) -> EnergyTerm:
    """GPUs read from NVML's total energy counter; +/-5 W per card (nvidia-smi's accuracy)."""
    err = cards * NVML_WATTS_ERROR * hours / 1000.0
    source = f"NVML total energy counter via {how}; +/-{NVML_WATTS_ERROR:g} W per card"
    return EnergyTerm(kwh, "measured", source, max(0.0, kwh - err), kwh + err)


def accelerator_term(
    power: AcceleratorPower,
    kind: str,
    count: int,
    hours: float,
    utilization: float | None,
    why: str,
    assumed: float = AVERAGE_UTILIZATION,
) -> EnergyTerm:
    """Accelerators from their idle/maximum watts.

    At a measured utilisation the term is ``modelled``; without one it is ``estimated``: at
    Google's measured mean where published (TPUs), else at ``assumed`` (CCF's 50 %) between idle
    and maximum. Either way it is bounded by idle and maximum.
    """
    low = count * power.min_watts * hours / 1000.0
    high = count * power.max_watts * hours / 1000.0
    if utilization is None and power.mean_watts is not None:
        watts = power.mean_watts
        how = f"the published measured mean {power.mean_watts:g} W"
    else:
        used = assumed if utilization is None else utilization
        watts = average_watts(power.min_watts, power.max_watts, used)
        how = f"assumed {assumed:.0%}" if utilization is None else f"measured {utilization:.1%}"
        how += " utilisation"
    kwh = count * watts * hours / 1000.0
    source = (
        f"{count} x {kind} at {how}, between idle {power.min_watts:g} W and maximum "
        f"{power.max_watts:g} W ({power.source}); {why}"
    )
    return EnergyTerm(kwh, "estimated" if utilization is None else "modelled", source, low, high)


def weakest(methods: list[str]) -> str:
    """The least direct of several methods (a sum is only as good as its weakest part)."""
    return max(methods, key=METHODS.index) if methods else "estimated"


def sum_terms(terms: list[EnergyTerm]) -> EnergyTerm:
    """Adds terms of the same component (e.g. over replicas); bounds add as well."""
    sources = list(dict.fromkeys(t.source for t in terms))
    return EnergyTerm(
        sum(t.kwh for t in terms),
        weakest([t.method for t in terms]),
        " | ".join(sources),
        sum(t.low_kwh for t in terms),
        sum(t.high_kwh for t in terms),
    )


def terms_of(energy: dict[str, Any]) -> dict[str, EnergyTerm]:
    """The terms of an energy block; a block written before terms existed gets them derived.

    Such a block has only cpu/gpu/ram kWh: each becomes a term labelled ``measured`` when
    CodeCarbon produced it, else ``estimated``, taken as CCF's 50 % estimate and bounded by the
    idle and full-load ends of CCF's GCP median per-vCPU range.
    """
    if energy.get("terms"):
        return {name: EnergyTerm.from_dict(t) for name, t in energy["terms"].items()}
    method = "measured" if energy.get("method") == "codecarbon" else "estimated"
    source = (
        f"{energy.get('method', 'unknown')} (record without per-term detail); range: idle and "
        f"full load of {GCP_MEDIAN_CPU.source}, around its 50 % estimate"
    )
    return {
        name: scaled(float(energy[f"{name}_kwh"]), _LEGACY_BAND, method, source)
        for name in ("cpu", "gpu", "ram")
        if float(energy.get(f"{name}_kwh", 0.0)) > 0 or name != "gpu"
    }
