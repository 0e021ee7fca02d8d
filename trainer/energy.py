"""Measure, or else estimate, the electrical energy of a training run.

The primary method is CodeCarbon's ``OfflineEmissionsTracker`` (no network, no
files). If CodeCarbon is unavailable or fails, the energy is estimated from the
run's duration and the machine's shape with Cloud Carbon Footprint's (CCF)
coefficients for Google Cloud. Neither figure includes the data centre's PUE.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

# CCF coefficients for GCP compute, https://www.cloudcarbonfootprint.org/docs/methodology/
# (Appendix: GCP average min / max watts per vCPU; memory kWh per GB-hour). CCF's code
# currently uses medians of 0.68 / 4.11 W (packages/gcp/src/domain/
# GcpFootprintEstimationConstants.ts); we keep the documented averages.
CPU_MIN_WATTS_PER_VCPU = 0.71
CPU_MAX_WATTS_PER_VCPU = 4.26
MEMORY_KWH_PER_GB_HOUR = 0.000392
AVERAGE_UTILIZATION = 0.5  # CCF's fallback when no utilisation is known

# GPU (min, max) watts per card from CCF, packages/core/src/compute/ComputeProcessorTypes.ts.
# CCF has no L4: 72 W is NVIDIA's L4 datasheet maximum power; its 8 W minimum reuses the
# T4's idle fraction (8/71 ~ 11 %), as the L4 is the T4's successor in the same power class.
# fmt: off
GPU_WATTS: dict[str, tuple[float, float]] = {
    "NVIDIA_TESLA_T4": (8.0, 71.0), "NVIDIA_TESLA_V100": (35.0, 306.0),
    "NVIDIA_TESLA_A100": (46.0, 407.0), "NVIDIA_A100_80GB": (46.0, 407.0),
    "NVIDIA_TESLA_P100": (36.0, 306.0), "NVIDIA_TESLA_P4": (9.0, 76.5),
    "NVIDIA_TESLA_K80": (35.0, 306.0), "NVIDIA_L4": (8.0, 72.0),
}
# GB of memory per vCPU of predefined machine families (cloud.google.com/compute/docs).
MEMORY_GB_PER_VCPU: dict[str, float] = {
    "n1-standard": 3.75, "n1-highmem": 6.5, "n1-highcpu": 0.9,
    "e2-standard": 4.0, "e2-highmem": 8.0, "e2-highcpu": 1.0,
    "n2-standard": 4.0, "n2-highmem": 8.0, "n2-highcpu": 1.0,
    "n2d-standard": 4.0, "c2-standard": 4.0, "g2-standard": 4.0,
}
# Accelerator-optimised shapes whose memory is not a multiple of the vCPU count.
FIXED_SHAPES: dict[str, tuple[int, float]] = {
    "a2-highgpu-1g": (12, 85.0), "a2-highgpu-2g": (24, 170.0), "a2-highgpu-4g": (48, 340.0),
    "a2-highgpu-8g": (96, 680.0), "a2-megagpu-16g": (96, 1360.0),
}
# fmt: on
# Used only for CodeCarbon's CO2 figure (not reported) when the region is not a GCP one.
FALLBACK_COUNTRY_ISO = "USA"
_MACHINE_RE = re.compile(r"^([a-z][a-z0-9]*-[a-z]+)-(\d+)$")


@dataclass(frozen=True)
class EnergyMeasurement:
    """Energy of one run, in kWh, and how it was obtained."""

    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    total_kwh: float
    method: str  # "codecarbon" or "estimate"
    method_detail: str
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return the measurement as a JSON-ready dict."""
        return asdict(self)


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
    """Return the shape of e.g. ``n1-standard-4`` or ``a2-highgpu-1g``; else ValueError."""
    if machine_type in FIXED_SHAPES:
        vcpus, memory_gb = FIXED_SHAPES[machine_type]
        return MachineShape(vcpus, memory_gb)
    match = _MACHINE_RE.match(machine_type)
    if match and match.group(1) in MEMORY_GB_PER_VCPU and int(match.group(2)) > 0:
        vcpus = int(match.group(2))
        return MachineShape(vcpus, vcpus * MEMORY_GB_PER_VCPU[match.group(1)])
    raise ValueError(
        f"machine_type {machine_type!r} is not known; use FAMILY-VCPUS with FAMILY one of "
        f"{sorted(MEMORY_GB_PER_VCPU)} (e.g. n1-standard-4), or one of {sorted(FIXED_SHAPES)}"
    )


def gpu_watts(accelerator_type: str) -> tuple[float, float]:
    """Return CCF's (min, max) watts of one card, e.g. ``NVIDIA_TESLA_T4``; else ValueError."""
    key = accelerator_type.upper()
    if key not in GPU_WATTS:
        raise ValueError(
            f"accelerator_type {accelerator_type!r} is not known; use '' (none) or one of "
            f"{sorted(GPU_WATTS)}"
        )
    return GPU_WATTS[key]


def average_watts(min_watts: float, max_watts: float, utilization: float) -> float:
    """Return CCF's average power: ``min_watts + utilization * (max_watts - min_watts)``."""
    return min_watts + utilization * (max_watts - min_watts)


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
        The estimate, with ``method="estimate"``.

    Raises:
        ValueError: For an unknown machine or accelerator type or negative inputs.
    """
    if duration_s < 0 or accelerator_count < 0 or not 0.0 <= utilization <= 1.0:
        raise ValueError("need duration_s >= 0, accelerator_count >= 0, utilization in [0, 1]")
    shape = machine_shape(machine_type)
    hours = duration_s / 3600.0
    cpu_w = shape.vcpus * average_watts(CPU_MIN_WATTS_PER_VCPU, CPU_MAX_WATTS_PER_VCPU, utilization)
    gpu_w = 0.0
    if accelerator_type and accelerator_count:
        gpu_w = accelerator_count * average_watts(*gpu_watts(accelerator_type), utilization)
    cpu_kwh = cpu_w * hours / 1000.0
    gpu_kwh = gpu_w * hours / 1000.0
    ram_kwh = shape.memory_gb * MEMORY_KWH_PER_GB_HOUR * hours
    detail = (
        f"Cloud Carbon Footprint GCP coefficients: {shape.vcpus} vCPU x "
        f"({CPU_MIN_WATTS_PER_VCPU}-{CPU_MAX_WATTS_PER_VCPU} W at {utilization:.0%} "
        f"utilisation), {shape.memory_gb:g} GB x {MEMORY_KWH_PER_GB_HOUR} kWh/GB-h, "
        f"GPU {accelerator_count} x {accelerator_type or 'none'} ({gpu_w:g} W); no PUE"
    )
    return EnergyMeasurement(
        cpu_kwh=cpu_kwh,
        gpu_kwh=gpu_kwh,
        ram_kwh=ram_kwh,
        total_kwh=cpu_kwh + gpu_kwh + ram_kwh,
        method="estimate",
        method_detail=detail + (f"; {note}" if note else ""),
        duration_s=duration_s,
    )


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


def _codecarbon_result(tracker: Any, location: str, duration_s: float) -> EnergyMeasurement:
    """Turn a stopped tracker's final data into an EnergyMeasurement."""
    data = getattr(tracker, "final_emissions_data", None)
    if data is None:
        raise RuntimeError("CodeCarbon produced no final_emissions_data")
    # How CPU power was obtained (RAPL, CPU load x TDP, constant): private, so read defensively.
    cpu = next((h for h in getattr(tracker, "_hardware", []) if type(h).__name__ == "CPU"), None)
    cpu_how = f"{cpu!r}, TDP {getattr(cpu, '_tdp', '?')} W" if cpu is not None else "no CPU"
    detail = (
        f"CodeCarbon {data.codecarbon_version} offline, location {location}, "
        f"tracking_mode={data.tracking_mode}; CPU {data.cpu_model!r} via {cpu_how}, "
        f"avg {data.cpu_power:.2f} W; "
        f"RAM avg {data.ram_power:.2f} W for {data.ram_total_size:.1f} GB (CodeCarbon model); "
        f"GPU {data.gpu_model or 'none detected'} avg {data.gpu_power:.2f} W; PUE {data.pue}"
    )
    return EnergyMeasurement(
        cpu_kwh=float(data.cpu_energy),
        gpu_kwh=float(data.gpu_energy),
        ram_kwh=float(data.ram_energy),
        total_kwh=float(data.energy_consumed),
        method="codecarbon",
        method_detail=detail,
        duration_s=duration_s,
    )


@contextmanager
def measure_energy(
    region: str,
    machine_type: str,
    accelerator_type: str = "",
    accelerator_count: int = 0,
    *,
    use_codecarbon: bool = True,
) -> Iterator[EnergyMeter]:
    """Measure the energy used while the ``with`` block runs.

    Args:
        region: The GCP region (CodeCarbon location); other values such as
            ``"local"`` fall back to a country-level location.
        machine_type: The machine type, used by the estimate fallback.
        accelerator_type: Vertex AI accelerator name, or empty for none.
        accelerator_count: Number of accelerator cards.
        use_codecarbon: False skips CodeCarbon and always estimates.

    Yields:
        An :class:`EnergyMeter`; its ``result`` is set on exit, even if the block raises.

    Raises:
        ValueError: On entry, for an unknown machine or accelerator type.
    """
    machine_shape(machine_type)  # fail before the work, not after it
    if accelerator_type:
        gpu_watts(accelerator_type)
    meter = EnergyMeter()
    tracker: Any = None
    location = ""
    why_not = "CodeCarbon disabled"
    if use_codecarbon:
        try:
            tracker, location = _start_codecarbon(region)
        except Exception as exc:  # any failure means: estimate instead
            why_not = f"CodeCarbon unavailable: {type(exc).__name__}: {exc}"
    start = time.perf_counter()
    try:
        yield meter
    finally:
        duration = time.perf_counter() - start
        if tracker is not None:
            try:
                tracker.stop()
                meter.result = _codecarbon_result(tracker, location, duration)
            except Exception as exc:  # any failure means: estimate instead
                why_not = f"CodeCarbon failed: {type(exc).__name__}: {exc}"
        if meter.result is None:
            meter.result = estimate_energy(
                duration, machine_type, accelerator_type, accelerator_count, note=why_not
            )
