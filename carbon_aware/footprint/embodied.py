"""Embodied (manufacturing) emissions of the hardware a run reserved: the SCI ``M`` term.

Method: the Software Carbon Intensity specification's ``M = TE x (TR / EL) x (RR / TR)``, as Cloud
Carbon Footprint (CCF) applies it to cloud machines (CCF docs, "Embodied Emissions"):

* ``TE``: total embodied emissions of the host server, kgCO2e. CCF's GCP figures
  (cloud-carbon-footprint/cloud-carbon-coefficients, ``output/coefficients-gcp-embodied.csv``):
  a 1000 kgCO2e mono-socket base server plus additional memory, storage, CPU sockets and GPUs
  (Teads' method, from the Dell PowerEdge R740 life-cycle assessment). Where CCF lists several
  microarchitectures for one machine family, the mean is used.
* ``TR / EL``: the run's duration over the hardware lifetime, 4 years (CCF and Teads, after the
  Dell R740 LCA).
* ``RR / TR``: the machine's vCPUs over the host's vCPUs, taken as the largest machine type of the
  family (CCF's rule).

Attached GPUs are whole devices, so each one is allocated in full to the run: 150 kgCO2e per GPU
card (CCF ``GPU_MANUFACTURING_EMISSIONS``) x (TR / EL). TPUs and machine families CCF has no figure
for are reported as ``not-estimated`` with a reason, never as a silent zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

HOURS_PER_YEAR = 8760.0
DEFAULT_LIFETIME_YEARS = 4.0
GPU_EMBODIED_KGCO2E = 150.0
G_PER_KG = 1000.0
CCF_SOURCE = (
    "Cloud Carbon Footprint embodied-emissions method (M = TE x TR/EL x RR/TR) and GCP "
    "coefficients: cloud-carbon-footprint/cloud-carbon-coefficients "
    "output/coefficients-gcp-embodied.csv (commit 69788dc) and ccfcoef/constants.py "
    "(GPU card 150 kgCO2e; 4-year rack-server lifespan)"
)


@dataclass(frozen=True)
class HostProfile:
    """CCF's embodied figure for one machine family and class.

    Attributes:
        total_kgco2e: Embodied emissions of the whole host server (TE), kgCO2e.
        host_vcpus: vCPUs of the largest machine type in the family (TR, total resources).
        includes_gpus: Whether TE already contains the family's GPUs (A2), so attached
            accelerators are not added again.
    """

    total_kgco2e: float
    host_vcpus: int
    includes_gpus: bool = False


# (family, class) -> profile. Values from coefficients-gcp-embodied.csv, mean over the listed
# microarchitectures; host vCPUs = the largest machine type CCF lists for the family.
HOST_PROFILES: dict[tuple[str, str], HostProfile] = {
    ("e2", "standard"): HostProfile(1230.46, 32),
    ("e2", "highmem"): HostProfile(1230.46, 32),
    ("e2", "highcpu"): HostProfile(1097.21, 32),
    ("n1", "standard"): HostProfile(1677.48, 96),
    ("n1", "highmem"): HostProfile(2043.92, 96),
    ("n1", "highcpu"): HostProfile(1297.72, 96),
    ("n2", "standard"): HostProfile(1888.46, 128),
    ("n2", "highmem"): HostProfile(2377.04, 128),
    ("n2", "highcpu"): HostProfile(1311.04, 128),
    ("n2d", "standard"): HostProfile(2321.46, 224),
    ("n2d", "highmem"): HostProfile(2143.79, 224),
    ("n2d", "highcpu"): HostProfile(1388.71, 224),
    ("c2", "standard"): HostProfile(1510.92, 60),
    ("a2", "highgpu"): HostProfile(5465.5, 96, includes_gpus=True),
    ("a2", "megagpu"): HostProfile(5465.5, 96, includes_gpus=True),
}
_MACHINE_RE = re.compile(r"^([a-z][a-z0-9]*)-([a-z]+)-(\d+)(g?)$")
_A2_VCPUS_PER_GPU = 12


@dataclass(frozen=True)
class Embodied:
    """The run's share of hardware manufacturing emissions, in grams CO2e.

    Attributes:
        embodied_g: Server share plus GPU share (gCO2e).
        server_g: The host server's share (gCO2e).
        gpu_g: The attached GPUs' share (gCO2e).
        method: ``ccf-sci`` when estimated, ``not-estimated`` when no figure applies.
        machine_type: The Compute Engine machine type.
        vcpus: vCPUs reserved (RR).
        host_vcpus: vCPUs of the host (TR), 0 when unknown.
        host_kgco2e: Embodied emissions of the host (TE, kgCO2e), 0 when unknown.
        gpu_count: Attached GPUs counted.
        duration_s: Time reserved (s).
        lifetime_years: Hardware lifetime (EL, years).
        source: Where the figures come from.
        note: What was left out, and why.
    """

    embodied_g: float
    server_g: float
    gpu_g: float
    method: str
    machine_type: str
    vcpus: int
    host_vcpus: int
    host_kgco2e: float
    gpu_count: int
    duration_s: float
    lifetime_years: float
    source: str
    note: str


def machine_vcpus(machine_type: str) -> int:
    """Returns the vCPUs of a predefined Compute Engine machine type.

    Raises:
        ValueError: Not a ``family-class-N`` machine type.
    """
    match = _MACHINE_RE.fullmatch(machine_type.strip())
    if not match:
        raise ValueError(f"cannot read the vCPU count from machine type {machine_type!r}")
    family, _, number, gpu_suffix = match.groups()
    if gpu_suffix:
        if family != "a2":
            raise ValueError(f"unknown accelerator-optimised machine type {machine_type!r}")
        return int(number) * _A2_VCPUS_PER_GPU
    return int(number)


def share_of_lifetime(duration_s: float, lifetime_years: float) -> float:
    """Time-share TR/EL: run duration (s) over hardware lifetime (years), dimensionless."""
    if not math.isfinite(duration_s) or duration_s < 0:
        raise ValueError(f"duration must be a finite number >= 0 s, got {duration_s!r}")
    if lifetime_years <= 0:
        raise ValueError(f"hardware lifetime must be > 0 years, got {lifetime_years!r}")
    return (duration_s / 3600.0) / (lifetime_years * HOURS_PER_YEAR)


def embodied_emissions(
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    duration_s: float,
    lifetime_years: float = DEFAULT_LIFETIME_YEARS,
) -> Embodied:
    """Estimates the run's embodied emissions with CCF's SCI method.

    Args:
        machine_type: Compute Engine machine type, e.g. ``n1-standard-4``.
        accelerator_type: Vertex accelerator enum name, empty for none.
        accelerator_count: Attached accelerators.
        duration_s: How long the hardware was reserved for the run (s).
        lifetime_years: Hardware lifetime EL (years).

    Returns:
        The estimate, with ``method="not-estimated"`` parts explained in ``note``.
    """
    time_share = share_of_lifetime(duration_s, lifetime_years)
    notes: list[str] = []
    match = _MACHINE_RE.fullmatch(machine_type.strip())
    profile = HOST_PROFILES.get((match.group(1), match.group(2))) if match else None
    vcpus = machine_vcpus(machine_type) if match else 0
    server_g = 0.0
    if profile is None:
        notes.append(f"no CCF embodied figure for machine type {machine_type!r}; server omitted")
    else:
        resource_share = min(1.0, vcpus / profile.host_vcpus)
        server_g = profile.total_kgco2e * G_PER_KG * time_share * resource_share
    gpus = accelerator_count if accelerator_type and accelerator_count > 0 else 0
    gpu_g = 0.0
    if gpus and accelerator_type.startswith("TPU"):
        notes.append(f"no embodied figure for {accelerator_type}; accelerators omitted")
        gpus = 0
    elif gpus and profile is not None and profile.includes_gpus:
        notes.append("GPUs are part of the A2 host figure, allocated by vCPU share")
        gpus = 0
    elif gpus:
        gpu_g = gpus * GPU_EMBODIED_KGCO2E * G_PER_KG * time_share
    return Embodied(
        embodied_g=server_g + gpu_g,
        server_g=server_g,
        gpu_g=gpu_g,
        method="ccf-sci" if profile is not None else "not-estimated",
        machine_type=machine_type,
        vcpus=vcpus,
        host_vcpus=profile.host_vcpus if profile else 0,
        host_kgco2e=profile.total_kgco2e if profile else 0.0,
        gpu_count=gpus,
        duration_s=duration_s,
        lifetime_years=lifetime_years,
        source=CCF_SOURCE,
        note="; ".join(notes),
    )


def embodied_from_run_record(
    run_record: dict[str, Any], lifetime_years: float = DEFAULT_LIFETIME_YEARS
) -> Embodied:
    """:func:`embodied_emissions` for the machines and duration in the run record.

    Every replica holds its own machine for the run, and the time share is linear in duration,
    so N replicas count as one machine for N times the duration.
    """
    machine = run_record.get("machine", {})
    replicas = max(1, int(machine.get("replica_count", 1) or 1))
    return embodied_emissions(
        str(machine.get("machine_type", "")),
        str(machine.get("accelerator_type", "") or ""),
        int(machine.get("accelerator_count", 0) or 0),
        float(run_record.get("duration_s", 0.0)) * replicas,
        lifetime_years,
    )
