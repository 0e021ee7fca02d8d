"""Measure, or else estimate, the electrical energy of a training run.

The primary method is CodeCarbon's ``OfflineEmissionsTracker`` (no network, no
files). If CodeCarbon is unavailable or fails, the energy is estimated from the
run's duration and the machine's shape with Cloud Carbon Footprint's (CCF)
coefficients for Google Cloud. Neither figure includes the data centre's PUE.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from carbon_aware.hardware import catalogue, power_data
from carbon_aware.measurement import energy_terms as terms_mod
from carbon_aware.measurement.energy_terms import EnergyTerm

# CCF's GCP coefficients live in the figures table (energy_terms reads them), machines in the
# hardware catalogue; these names stay importable from here.
CPU_MIN_WATTS_PER_VCPU = terms_mod.CPU_MIN_WATTS_PER_VCPU
CPU_MAX_WATTS_PER_VCPU = terms_mod.CPU_MAX_WATTS_PER_VCPU
MEMORY_KWH_PER_GB_HOUR = terms_mod.MEMORY_WATTS_PER_GB / 1000.0
AVERAGE_UTILIZATION = terms_mod.AVERAGE_UTILIZATION
# CodeCarbon CPU modes that read a hardware energy counter (RAPL and its front ends).
COUNTER_CPU_MODES = ("intel_rapl", "intel_power_gadget", "windows_emi")
# Used only for CodeCarbon's CO2 figure (not reported) when the region is not a GCP one.
FALLBACK_COUNTRY_ISO = "USA"


@dataclass(frozen=True)
class EnergyMeasurement:
    """Energy of one run, in kWh, and how it was obtained.

    ``terms`` holds one :class:`~.energy_terms.EnergyTerm` dict per component (cpu, ram
    and, where there are accelerators, gpu); the kWh fields are their values and the total
    their sum. ``method`` says whether CodeCarbon ran (``codecarbon``) or not (``estimate``).
    """

    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    total_kwh: float
    method: str  # "codecarbon" or "estimate"
    method_detail: str
    duration_s: float
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the measurement as a JSON-ready dict."""
        return asdict(self)


def _measurement(
    terms: dict[str, EnergyTerm], method: str, detail: str, duration_s: float
) -> EnergyMeasurement:
    def kwh(name: str) -> float:
        return terms[name].kwh if name in terms else 0.0

    return EnergyMeasurement(
        cpu_kwh=kwh("cpu"),
        gpu_kwh=kwh("gpu"),
        ram_kwh=kwh("ram"),
        total_kwh=sum(t.kwh for t in terms.values()),
        method=method,
        method_detail=detail,
        duration_s=duration_s,
        terms={name: t.to_dict() for name, t in terms.items()},
    )


@dataclass(frozen=True)
class MachineShape:
    """vCPUs and memory of a Compute Engine machine type."""

    vcpus: int
    memory_gb: float


@dataclass
class EnergyMeter:
    """What :func:`measure_energy` yields; ``result`` is set when the block exits."""

    result: EnergyMeasurement | None = None


def machine_shape(machine_type: str) -> MachineShape:
    """The vCPUs and memory of a catalogue machine type, e.g. ``n1-standard-4``.

    Raises:
        ValueError: Not a machine type Vertex AI custom training takes (the message names the
            families).
    """
    spec = catalogue.machine(machine_type)
    return MachineShape(spec.vcpus, spec.memory_gb)


def accelerator_power(accelerator_type: str) -> power_data.AcceleratorPower:
    """Idle/maximum watts of one accelerator unit, e.g. ``NVIDIA_H100_80GB``; else ValueError."""
    key = accelerator_type.upper()
    if key not in power_data.ACCELERATOR_POWER:
        raise ValueError(
            f"accelerator_type {accelerator_type!r} is not known; use '' (none) or one of "
            f"{sorted(power_data.ACCELERATOR_POWER)}"
        )
    return power_data.ACCELERATOR_POWER[key]


def gpu_watts(accelerator_type: str) -> tuple[float, float]:
    """Return the (min, max) watts of one accelerator unit; else ValueError."""
    power = accelerator_power(accelerator_type)
    return power.min_watts, power.max_watts


def average_watts(min_watts: float, max_watts: float, utilization: float) -> float:
    """Return CCF's average power: ``min_watts + utilization * (max_watts - min_watts)``."""
    return terms_mod.average_watts(min_watts, max_watts, utilization)


def estimate_energy(
    duration_s: float,
    machine_type: str,
    accelerator_type: str = "",
    accelerator_count: int = 0,
    utilization: float = AVERAGE_UTILIZATION,
    note: str = "",
) -> EnergyMeasurement:
    """Estimate a run's energy from its duration and machine with CCF's GCP coefficients.

    Args:
        duration_s: Run time in seconds.
        machine_type: The Compute Engine machine type.
        accelerator_type: Vertex AI accelerator name, or empty for none.
        accelerator_count: Number of accelerator cards.
        utilization: Assumed average CPU and GPU utilisation in [0, 1].
        note: Appended to ``method_detail`` (e.g. why CodeCarbon was not used).

    Returns:
        The estimate, with ``method="estimate"``; every term bounded by idle and full load.

    Raises:
        ValueError: For an unknown machine or accelerator type or negative inputs.
    """
    if duration_s < 0 or accelerator_count < 0 or not 0.0 <= utilization <= 1.0:
        raise ValueError("need duration_s >= 0, accelerator_count >= 0, utilization in [0, 1]")
    shape = machine_shape(machine_type)
    cpu = catalogue.cpu_power(machine_type)
    hours = duration_s / 3600.0
    terms = {
        "cpu": terms_mod.cpu_estimated(shape.vcpus, hours, utilization, cpu),
        "ram": terms_mod.ram_modelled(shape.memory_gb, hours),
    }
    if accelerator_type and accelerator_count:
        terms["gpu"] = terms_mod.accelerator_term(
            accelerator_power(accelerator_type),
            accelerator_type,
            accelerator_count,
            hours,
            None,
            "nothing measured",
            assumed=utilization,
        )
    gpu_w = terms["gpu"].kwh * 1000.0 / hours if "gpu" in terms and hours else 0.0
    detail = (
        f"Cloud Carbon Footprint coefficients: {shape.vcpus} vCPU x "
        f"({cpu.min_watts_per_vcpu:g}-{cpu.max_watts_per_vcpu:g} W at {utilization:.0%} "
        f"utilisation), {shape.memory_gb:g} GB x {MEMORY_KWH_PER_GB_HOUR} kWh/GB-h, "
        f"GPU {accelerator_count} x {accelerator_type or 'none'} ({gpu_w:g} W); no PUE"
    )
    return _measurement(terms, "estimate", detail + (f"; {note}" if note else ""), duration_s)


class _CpuClock:
    """Machine-wide CPU utilisation over an interval, from the kernel's CPU times.

    Read directly rather than through ``psutil.cpu_percent``, whose module-wide state
    CodeCarbon's own sampling resets.
    """

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[float, float] | None:
        try:
            import psutil
        except ImportError:
            return None
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        total = sum(times)
        return total - idle, total

    def utilization(self) -> float | None:
        """Busy share of all CPUs since construction, or None if it cannot be read."""
        end = self._read()
        if self._start is None or end is None or end[1] <= self._start[1]:
            return None
        busy = (end[0] - self._start[0]) / (end[1] - self._start[1])
        return min(1.0, max(0.0, busy))


def _start_codecarbon(region: str) -> tuple[Any, str]:
    """Start an offline CodeCarbon tracker; return it and where it is located."""
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.input import DataSource

    # Importing codecarbon resets its logger to INFO; quieten it before the tracker logs.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    common: dict[str, Any] = {
        "log_level": "error",
        "output_methods": [],  # no emissions.csv, no API, no network
        "measure_power_secs": 1,
        "allow_multiple_runs": True,  # no lock file
        "tracking_mode": "machine",
    }
    cloud = DataSource().get_cloud_emissions_data()  # type: ignore[no-untyped-call]
    if ((cloud["provider"] == "gcp") & (cloud["region"] == region)).any():
        location = f"gcp:{region}"
        tracker = OfflineEmissionsTracker(cloud_provider="gcp", cloud_region=region, **common)
    else:
        location = f"country {FALLBACK_COUNTRY_ISO} ({region!r} is not a GCP region it knows)"
        tracker = OfflineEmissionsTracker(country_iso_code=FALLBACK_COUNTRY_ISO, **common)
    tracker.start()
    return tracker, location


def _hardware(tracker: Any, kind: str) -> Any:
    """One of the tracker's hardware objects (CPU, GPU): private, so read defensively."""
    return next((h for h in getattr(tracker, "_hardware", []) if type(h).__name__ == kind), None)


def _gpu_has_counter(tracker: Any) -> bool:
    """Whether every GPU CodeCarbon read has NVML's total energy counter in use."""
    gpu = _hardware(tracker, "GPU")
    devices = getattr(getattr(gpu, "devices", None), "devices", None) or []
    return bool(devices) and all(
        getattr(d, "_has_counter", False) and not getattr(d, "_use_power_fallback", True)
        for d in devices
    )


@dataclass(frozen=True)
class _RunContext:
    machine: MachineShape
    cpu: catalogue.CpuPower
    accelerator_type: str
    accelerator_count: int
    duration_s: float
    cpu_utilization: float | None


def _codecarbon_result(tracker: Any, location: str, run: _RunContext) -> EnergyMeasurement:
    """Turn a stopped tracker's final data into per-term energy, each by its best method."""
    data = getattr(tracker, "final_emissions_data", None)
    if data is None:
        raise RuntimeError("CodeCarbon produced no final_emissions_data")
    hours = run.duration_s / 3600.0
    cpu = _hardware(tracker, "CPU")
    mode = str(getattr(cpu, "_mode", "unknown"))
    cpu_how = f"{cpu!r}, TDP {getattr(cpu, '_tdp', '?')} W" if cpu is not None else "no CPU"
    codecarbon = f"CodeCarbon {data.codecarbon_version}"
    terms: dict[str, EnergyTerm] = {}
    if mode in COUNTER_CPU_MODES:
        terms["cpu"] = terms_mod.cpu_measured(float(data.cpu_energy), f"{codecarbon} ({mode})")
    elif run.cpu_utilization is not None:
        terms["cpu"] = terms_mod.cpu_modelled(
            run.machine.vcpus,
            run.cpu_utilization,
            hours,
            f"no CPU energy counter ({codecarbon} mode {mode}: {float(data.cpu_energy):.3g} kWh "
            "from a TDP guess, not used)",
            run.cpu,
        )
    else:
        terms["cpu"] = terms_mod.cpu_estimated(run.machine.vcpus, hours, cpu=run.cpu)
    terms["ram"] = terms_mod.ram_modelled(run.machine.memory_gb, hours)
    gpu_kwh = float(data.gpu_energy)
    if _gpu_has_counter(tracker) and gpu_kwh > 0:
        cards = max(run.accelerator_count, int(getattr(data, "gpu_count", 0) or 0), 1)
        terms["gpu"] = terms_mod.gpu_measured(gpu_kwh, cards, hours, codecarbon)
    elif run.accelerator_type and run.accelerator_count:
        utilization = float(getattr(data, "gpu_utilization_percent", 0.0) or 0.0) / 100.0
        terms["gpu"] = terms_mod.accelerator_term(
            accelerator_power(run.accelerator_type),
            run.accelerator_type,
            run.accelerator_count,
            hours,
            utilization if utilization > 0 else None,
            f"no NVML energy counter read ({codecarbon} reported {gpu_kwh:.3g} kWh, not used)",
        )
    detail = (
        f"{codecarbon} offline, location {location}, "
        f"tracking_mode={data.tracking_mode}; CPU {data.cpu_model!r} via {cpu_how}, "
        f"avg {data.cpu_power:.2f} W; CodeCarbon RAM {data.ram_power:.2f} W for "
        f"{data.ram_total_size:.1f} GB replaced by the machine type's "
        f"{run.machine.memory_gb:g} GB; GPU {data.gpu_model or 'none detected'} avg "
        f"{data.gpu_power:.2f} W; PUE {data.pue}; per-term methods in terms"
    )
    return _measurement(terms, "codecarbon", detail, run.duration_s)


@contextmanager
def measure_energy(
    region: str,
    machine_type: str,
    accelerator_type: str = "",
    accelerator_count: int = 0,
    *,
    use_codecarbon: bool = True,
) -> Iterator[EnergyMeter]:
    """Measure the energy used while the ``with`` block runs, term by term.

    Args:
        region: The GCP region (CodeCarbon location); other values such as
            ``"local"`` fall back to a country-level location.
        machine_type: The machine type: its vCPUs and memory model the CPU and RAM terms
            where no energy counter reads them.
        accelerator_type: Vertex AI accelerator name, or empty for none.
        accelerator_count: Number of accelerator cards.
        use_codecarbon: False skips CodeCarbon and always estimates.

    Yields:
        An :class:`EnergyMeter`; its ``result`` is set on exit, even if the block raises.

    Raises:
        ValueError: On entry, for an unknown machine or accelerator type.
    """
    shape = machine_shape(machine_type)  # fail before the work, not after it
    if accelerator_type:
        accelerator_power(accelerator_type)
    meter = EnergyMeter()
    tracker: Any = None
    location = ""
    why_not = "CodeCarbon disabled"
    if use_codecarbon:
        try:
            tracker, location = _start_codecarbon(region)
        except Exception as exc:  # any failure means: estimate instead
            why_not = f"CodeCarbon unavailable: {type(exc).__name__}: {exc}"
    clock = _CpuClock()
    start = time.perf_counter()
    try:
        yield meter
    finally:
        duration = time.perf_counter() - start
        run = _RunContext(
            shape,
            catalogue.cpu_power(machine_type),
            accelerator_type,
            accelerator_count,
            duration,
            clock.utilization(),
        )
        if tracker is not None:
            try:
                tracker.stop()
                meter.result = _codecarbon_result(tracker, location, run)
            except Exception as exc:  # any failure means: estimate instead
                why_not = f"CodeCarbon failed: {type(exc).__name__}: {exc}"
        if meter.result is None:
            meter.result = estimate_energy(
                duration, machine_type, accelerator_type, accelerator_count, note=why_not
            )
