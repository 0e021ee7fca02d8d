"""Embodied (manufacturing) emissions of the hardware a run reserved: the SCI ``M`` term.

Method: the Software Carbon Intensity specification's ``M = TE x (TR / EL) x (RR / TR)``, as Cloud
Carbon Footprint (CCF) applies it to cloud machines (CCF docs, "Embodied Emissions"):

* ``TE``: total embodied emissions of the host server, kgCO2e. CCF's published GCP figure for the
  machine's series where there is one (``output/coefficients-gcp-embodied.csv``); otherwise
  derived by CCF's own method (Teads, after the Dell PowerEdge R740 LCA) from the host's memory:
  a 1000 kgCO2e mono-socket base server + 533/384 kgCO2e per GB of memory beyond 16 GB + 100
  kgCO2e per further CPU socket, with the host taken as the series' largest machine type.
* ``TR / EL``: the run's duration over the hardware lifetime, 4 years (CCF and Teads).
* ``RR / TR``: the machine's vCPUs over the host's vCPUs.

Attached accelerators are whole devices, so each is allocated in full to the run: its per-unit
embodied figure x (TR / EL). Every figure, with its source and what it stands for, is in
``data/hardware_figures.csv``; machines come from the hardware catalogue. The A2 host figure
already contains its GPUs (CCF), so they are not added again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from carbon_aware.hardware import catalogue, figures

HOURS_PER_YEAR = 8760.0
DEFAULT_LIFETIME_YEARS = figures.figure("embodied.lifetime_years").value
G_PER_KG = 1000.0
CCF_SOURCE = (
    "Cloud Carbon Footprint embodied-emissions method (M = TE x TR/EL x RR/TR), figures and "
    "sources in carbon_aware/data/hardware_figures.csv (CCF cloud-carbon-coefficients "
    "coefficients-gcp-embodied.csv and ccfcoef/constants.py)"
)


@dataclass(frozen=True)
class HostProfile:
    """The embodied figure of one host.

    Attributes:
        total_kgco2e: Embodied emissions of the whole host server (TE), kgCO2e.
        host_vcpus: vCPUs of the host (TR, total resources).
        includes_gpus: Whether TE already contains the host's GPUs (CCF's A2 figure).
        how: Where TE comes from (published, or how it was derived).
    """

    total_kgco2e: float
    host_vcpus: int
    includes_gpus: bool = False
    how: str = ""


def host_profile(machine_type: str) -> HostProfile:
    """The host a machine type runs on: CCF's figure for its series, else derived by CCF's method.

    Raises:
        ValueError: Not a catalogue machine type.
    """
    spec = catalogue.machine(machine_type)
    published = figures.maybe(f"embodied.host_kgco2e.{spec.series}")
    if published is not None:
        vcpus = figures.figure(f"embodied.host_vcpus.{spec.series}")
        return HostProfile(
            published.value,
            int(vcpus.value),
            "includes its GPUs" in published.source,
            f"{spec.series} host {published.cite()}",
        )
    same = [t for t in catalogue.load_machine_types().values() if t.series == spec.series]
    host = max(same, key=lambda t: (t.vcpus, t.memory_gb))
    base = figures.figure("embodied.base_server_kgco2e").value
    per_gb = figures.figure("embodied.dram_kgco2e_per_gb").value
    threshold = figures.figure("embodied.dram_threshold_gb").value
    sockets = figures.figure("embodied.host_cpu_sockets").value
    socket_kg = figures.figure("embodied.cpu_socket_kgco2e").value
    total = base + max(0.0, host.memory_gb - threshold) * per_gb + (sockets - 1) * socket_kg
    how = (
        f"no CCF figure for {spec.series}: derived by CCF's method for host {host.name} "
        f"({host.memory_gb:g} GB): {base:g} + ({host.memory_gb:g} - {threshold:g}) GB x "
        f"{per_gb:g} + {sockets - 1:g} socket x {socket_kg:g} = {total:.1f} kgCO2e "
        "(accelerators added per unit)"
    )
    return HostProfile(round(total, 2), host.vcpus, False, how)


def accelerator_kgco2e(accelerator_type: str) -> figures.Figure | None:
    """The embodied figure of one accelerator unit (card, chip or TensorCore), or None."""
    return figures.maybe(f"embodied.accelerator_kgco2e.{accelerator_type}")


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
    """Returns the vCPUs of a catalogue machine type.

    Raises:
        ValueError: Not a machine type Vertex AI custom training takes.
    """
    return catalogue.machine(machine_type.strip()).vcpus


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
        machine_type: A catalogue machine type, e.g. ``n1-standard-4``.
        accelerator_type: Vertex accelerator enum name, empty for none.
        accelerator_count: Attached accelerators.
        duration_s: How long the hardware was reserved for the run (s).
        lifetime_years: Hardware lifetime EL (years).

    Returns:
        The estimate; ``note`` says which figures are derived and what they stand for.

    Raises:
        ValueError: Not a catalogue machine type, or a bad duration or lifetime.
    """
    time_share = share_of_lifetime(duration_s, lifetime_years)
    profile = host_profile(machine_type)
    vcpus = machine_vcpus(machine_type)
    notes = [profile.how]
    server_g = profile.total_kgco2e * G_PER_KG * time_share * min(1.0, vcpus / profile.host_vcpus)
    units = accelerator_count if accelerator_type and accelerator_count > 0 else 0
    gpu_g = 0.0
    if units and profile.includes_gpus:
        notes.append("GPUs are part of the A2 host figure, allocated by vCPU share")
        units = 0
    elif units:
        per_unit = accelerator_kgco2e(accelerator_type)
        if per_unit is None:
            notes.append(f"no embodied figure for {accelerator_type}; accelerators omitted")
            units = 0
        else:
            gpu_g = units * per_unit.value * G_PER_KG * time_share
            notes.append(f"{units} x {accelerator_type} at {per_unit.cite()}")
    return Embodied(
        embodied_g=server_g + gpu_g,
        server_g=server_g,
        gpu_g=gpu_g,
        method="ccf-sci",
        machine_type=machine_type,
        vcpus=vcpus,
        host_vcpus=profile.host_vcpus,
        host_kgco2e=profile.total_kgco2e,
        gpu_count=units,
        duration_s=duration_s,
        lifetime_years=lifetime_years,
        source=CCF_SOURCE,
        note="; ".join(notes),
    )


def embodied_share_g(
    machine_type: str, hours: float, lifetime_years: float = DEFAULT_LIFETIME_YEARS
) -> float:
    """The embodied gCO2e of holding one ``machine_type`` for ``hours`` (no accelerators).

    For the orchestration steps, e.g. ``embodied_share_g("e2-standard-4", step_hours)``: the
    machine's vCPU share of its host's embodied emissions over the hardware lifetime.

    Raises:
        ValueError: Not a catalogue machine type, or negative hours.
    """
    return embodied_emissions(machine_type, "", 0, hours * 3600.0, lifetime_years).embodied_g


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
