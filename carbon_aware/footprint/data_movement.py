"""The data-movement term: bytes the run moved across regions x a cited energy per GB.

The training data is read once per replica from where it is stored; if that is outside the
region the job ran in, the transfer crosses regions and costs network energy. Outputs are
written to the chosen region's own bucket (``regional_bucket_template``), so writes do not cross
regions and count zero. Central figure: Cloud Carbon Footprint's networking coefficient for
data transferred between cloud regions, 0.001 kWh/GB (CCF methodology, "Networking"; the
``NETWORKING_COEFFICIENT`` of its cloud constants). Upper bound: Aslan et al., "Electricity
Intensity of Internet Data Transmission", Journal of Industrial Ecology 22(4), 2018:
0.06 kWh/GB for 2015, for the whole public internet including access networks. CCF's figure,
the lowest published one we have, is also the lower bound.
"""

from __future__ import annotations

from typing import Any

from carbon_aware.measurement.energy_terms import EnergyTerm

NETWORK_KWH_PER_GB = 0.001
NETWORK_KWH_PER_GB_HIGH = 0.06
BYTES_PER_GB = 1e9
SOURCE = (
    f"{NETWORK_KWH_PER_GB} kWh/GB (Cloud Carbon Footprint networking coefficient, cross-region "
    f"transfer); up to {NETWORK_KWH_PER_GB_HIGH} kWh/GB (Aslan et al. 2018, whole internet, 2015)"
)


def crosses_regions(data: dict[str, Any], region: str) -> bool:
    """Whether data stored in ``data['regions']`` is read from another region than ``region``."""
    regions = list(data.get("regions") or [])
    return bool(regions) and region not in regions


def data_movement_term(data: dict[str, Any], region: str, replicas: int = 1) -> EnergyTerm | None:
    """The term for a run in ``region`` reading the data block of a run record.

    Args:
        data: The run record's ``data`` block (``regions``, ``size_bytes`` where known).
        region: The region the run reads from (the chosen one, or a counterfactual).
        replicas: How many replicas each read the data.

    Returns:
        The term, or None when nothing crosses regions (local data, or stored in ``region``).
        When the data does cross but its size is unknown, an ``estimated`` zero-kWh term whose
        source says so (the report shows it; it is never silently left out).
    """
    if not crosses_regions(data, region):
        return None
    size = data.get("size_bytes")
    where = f"{data.get('uri', '?')} stored in {data.get('location', '?')}, read from {region}"
    if size is None:
        return EnergyTerm(0.0, "estimated", f"{where}: object size unknown, not counted", 0.0, 0.0)
    gb = float(size) * replicas / BYTES_PER_GB
    return EnergyTerm(
        gb * NETWORK_KWH_PER_GB,
        "estimated",
        f"{where}: {gb:.6g} GB read ({replicas} replica(s)) x {SOURCE}; writes stay in-region",
        gb * NETWORK_KWH_PER_GB,
        gb * NETWORK_KWH_PER_GB_HIGH,
    )
