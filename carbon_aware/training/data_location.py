"""Where the training data lives, against the chosen region and the residency constraint.

A ``gs://`` bucket's location is read from Cloud Storage (a region such as ``europe-north1``, a
dual-region such as ``eur4``, or a multi-region ``eu``/``us``/``asia``); a local path is
``local``. Locations follow https://cloud.google.com/storage/docs/locations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from carbon_aware import storage
from carbon_aware.regions import load_catalogue

# Multi-regions and predefined dual-regions: the regions they store data in.
# fmt: off
STORAGE_LOCATION_REGIONS: dict[str, tuple[str, ...]] = {
    "eu": ("europe-west1", "europe-west4", "europe-north1", "europe-west3", "europe-west9",
           "europe-southwest1", "europe-west8", "europe-central2", "europe-west10",
           "europe-north2"),
    "us": ("us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1",
           "us-west2", "us-west3", "us-west4"),
    "asia": ("asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2",
             "asia-northeast3", "asia-south1", "asia-southeast1", "asia-southeast2"),
    "eur4": ("europe-north1", "europe-west4"),
    "eur5": ("europe-west1", "europe-west2"),
    "eur7": ("europe-west2", "europe-west3"),
    "eur8": ("europe-west3", "europe-west6"),
    "nam4": ("us-central1", "us-east1"),
    "asia1": ("asia-northeast1", "asia-northeast2"),
}
# fmt: on


class DataResidencyError(ValueError):
    """The training data is stored outside the residency group the run must stay in."""


@dataclass(frozen=True)
class DataLocation:
    """Where a run's training data was read from."""

    uri: str
    location: str
    regions: tuple[str, ...]
    residency_groups: tuple[str, ...]
    size_bytes: int | None = None

    def to_dict(self, chosen_region: str) -> dict[str, Any]:
        """The run record's ``data`` block, with whether the read crossed regions."""
        return {
            **asdict(self),
            "regions": list(self.regions),
            "residency_groups": list(self.residency_groups),
            "chosen_region": chosen_region,
            "outside_chosen_region": bool(self.regions) and chosen_region not in self.regions,
        }


def storage_regions(location: str) -> tuple[str, ...]:
    """The regions a Cloud Storage location stores data in (empty if unknown)."""
    key = location.lower()
    if key in STORAGE_LOCATION_REGIONS:
        return STORAGE_LOCATION_REGIONS[key]
    return (key,) if key in load_catalogue() else ()


def locate_data(data_uri: str) -> DataLocation:
    """Finds where ``data_uri`` is stored (reads the bucket's metadata for ``gs://``).

    Raises:
        carbon_aware.storage.StorageError: The bucket cannot be read.
    """
    size = storage.object_size(data_uri) if data_uri else None
    if not storage.is_gcs_uri(data_uri):
        return DataLocation(data_uri or "bundled", "local", (), (), size)
    location = storage.bucket_location(data_uri)
    regions = storage_regions(location)
    catalogue = load_catalogue()
    groups = sorted({catalogue[r].residency_group for r in regions if r in catalogue})
    return DataLocation(data_uri, location, regions, tuple(groups), size)


def check_data_residency(data_uri: str, residency: str) -> DataLocation | None:
    """Refuses ``gs://`` training data stored outside the ``residency`` group.

    Returns:
        The data's location, or None when there is nothing to check (no residency, local data).

    Raises:
        DataResidencyError: The bucket's location is outside the group, or unknown.
    """
    if not residency or not storage.is_gcs_uri(data_uri):
        return None
    found = locate_data(data_uri)
    if not found.residency_groups or any(g != residency for g in found.residency_groups):
        held = ", ".join(found.residency_groups) or "unknown"
        raise DataResidencyError(
            f"data_uri {data_uri} is stored in {found.location!r} (residency {held}), outside "
            f"residency {residency!r}: training would read it across the boundary; copy the "
            f"data to a bucket in a {residency!r} region, or change residency"
        )
    return found
