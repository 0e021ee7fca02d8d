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

from carbon_aware.hardware.power_data import AcceleratorPower

METHODS = ("measured", "modelled", "estimated")
# CCF's GCP averages of min / max watts per vCPU (cloudcarbonfootprint.org/docs/methodology,
# Appendix) and memory coefficient (0.000392 kWh per GB-hour = 0.392 W/GB).
CPU_MIN_WATTS_PER_VCPU = 0.71
CPU_MAX_WATTS_PER_VCPU = 4.26
MEMORY_WATTS_PER_GB = 0.392
AVERAGE_UTILIZATION = 0.5  # CCF's fallback when no utilisation is known
CCF_CPU_SOURCE = (
    f"Cloud Carbon Footprint GCP coefficients: {CPU_MIN_WATTS_PER_VCPU}-"
    f"{CPU_MAX_WATTS_PER_VCPU} W per vCPU (cloudcarbonfootprint.org/docs/methodology)"
)
# CodeCarbon's accuracy notes put its CPU load x TDP model at -60 % / +190 % of RAPL; a load x
# per-vCPU-watts model is the same kind of model, so it carries the same band.
LOAD_MODEL_RANGE = (0.4, 2.9)
LOAD_MODEL_RANGE_SOURCE = (
    "CodeCarbon accuracy notes: a CPU load x TDP model is within -60 % / +190 % of RAPL"
)
# RAPL's package counter against a wall-power meter: a +/-10 % band (Khan et al., "RAPL in
# Action", ACM TOMPECS 3(2), 2018, find RAPL tracks measured package power closely); assumed.
RAPL_RANGE = (0.9, 1.1)
# nvidia-smi --help-query-gpu: power.draw "is accurate to within +/- 5 watts".
NVML_WATTS_ERROR = 5.0
# CodeCarbon 3.x models RAM as 5 W per DIMM (codecarbon/external/ram.py RAM_SLOT_POWER_X86);
# over DIMM sizes of 64 GB down to 8 GB that is 0.078 to 0.625 W/GB around CCF's 0.392 W/GB.
MEMORY_WATTS_PER_GB_RANGE = (5.0 / 64.0, 5.0 / 8.0)
MEMORY_SOURCE = (
    f"machine type's memory x {MEMORY_WATTS_PER_GB} W/GB (Cloud Carbon Footprint GCP memory "
    "coefficient 0.000392 kWh/GB-h); range 5 W per DIMM of 64 to 8 GB (CodeCarbon RAM model)"
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
    """The CPU read from a RAPL energy counter (via CodeCarbon)."""
    return scaled(kwh, RAPL_RANGE, "measured", f"RAPL energy counter via {how}; +/-10 % band")


def cpu_modelled(vcpus: int, utilization: float, hours: float, note: str = "") -> EnergyTerm:
    """Measured CPU utilisation x CCF's per-vCPU min/max watts, bounded by the load-model band."""
    watts = vcpus * average_watts(CPU_MIN_WATTS_PER_VCPU, CPU_MAX_WATTS_PER_VCPU, utilization)
    source = (
        f"measured utilisation {utilization:.1%} x {vcpus} vCPU x {CCF_CPU_SOURCE}; range: "
        f"{LOAD_MODEL_RANGE_SOURCE}" + (f"; {note}" if note else "")
    )
    return scaled(watts * hours / 1000.0, LOAD_MODEL_RANGE, "modelled", source)


def cpu_estimated(vcpus: int, hours: float, assumed: float = AVERAGE_UTILIZATION) -> EnergyTerm:
    """An assumed utilisation (CCF's 50 %), bounded by idle (0 %) and full (100 %) load."""
    low = vcpus * CPU_MIN_WATTS_PER_VCPU * hours / 1000.0
    high = vcpus * CPU_MAX_WATTS_PER_VCPU * hours / 1000.0
    watts = vcpus * average_watts(CPU_MIN_WATTS_PER_VCPU, CPU_MAX_WATTS_PER_VCPU, assumed)
    source = (
        f"{vcpus} vCPU at an assumed {assumed:.0%} utilisation, {CCF_CPU_SOURCE}; range 0-100 %"
    )
    return EnergyTerm(watts * hours / 1000.0, "estimated", source, low, high)


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
    """Accelerators from their idle/TDP watts.

    At a measured utilisation the term is ``modelled``; without one, at ``assumed`` (CCF's
    50 %) it is ``estimated``. Either way it is bounded by idle and TDP.
    """
    low = count * power.min_watts * hours / 1000.0
    high = count * power.max_watts * hours / 1000.0
    used = assumed if utilization is None else utilization
    kwh = count * average_watts(power.min_watts, power.max_watts, used) * hours / 1000.0
    how = f"assumed {assumed:.0%}" if utilization is None else f"measured {utilization:.1%}"
    source = (
        f"{count} x {kind} at {how} utilisation between idle {power.min_watts:g} W and TDP "
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
    CodeCarbon produced it, else ``estimated``, bounded by the load-model band either way (on a
    VM without RAPL, CodeCarbon's own figures are load x TDP models).
    """
    if energy.get("terms"):
        return {name: EnergyTerm.from_dict(t) for name, t in energy["terms"].items()}
    method = "measured" if energy.get("method") == "codecarbon" else "estimated"
    source = (
        f"{energy.get('method', 'unknown')} (record without per-term detail); range: the load "
        "model's band, for want of a per-term one: "
    )
    return {
        name: scaled(
            float(energy[f"{name}_kwh"]), LOAD_MODEL_RANGE, method, source + LOAD_MODEL_RANGE_SOURCE
        )
        for name in ("cpu", "gpu", "ram")
        if float(energy.get(f"{name}_kwh", 0.0)) > 0 or name != "gpu"
    }
