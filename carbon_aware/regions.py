"""Catalogue of the Google Cloud regions where Vertex AI custom training runs.

The catalogue ships as data inside the package (``carbon_aware/data``):

* ``regions.csv``: one row per Vertex AI custom-training region, with its location, country, data
  residency group, Electricity Maps zone key, WattTime region (where established) and the source
  of the zone mapping. ``data/REGIONS.md`` explains the mapping decisions.
* ``vertex_accelerators.csv``: the accelerator types (Vertex ``AcceleratorType`` enum names)
  offered for training in each region.
* ``google_region_carbon_2024.csv``: Google's published 2024 annual grid carbon intensity and
  carbon-free-energy (CFE) fraction per region, joined in by region id.

Residency groups (``Region.residency_group``) say where the data is stored and processed:

* ``us``: the United States.
* ``americas``: the Americas outside the US (Canada, Brazil, Chile, Mexico).
* ``eu``: EU/EEA member states, for GDPR-style EU data residency.
* ``europe``: Europe outside the EU/EEA (United Kingdom, Switzerland). Not ``eu``.
* ``asia``: Asia (including India, Hong Kong, Taiwan, Indonesia).
* ``australia``: Australia.
* ``middle-east``: the Middle East (Israel, Qatar, Saudi Arabia).
* ``africa``: Africa.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

ANNUAL_DATA_YEAR = 2024
ANNUAL_DATA_SOURCE = (
    "google_region_carbon_2024.csv: Google Cloud's 2024 annual grid carbon intensity and CFE per "
    "region, from GoogleCloudPlatform/region-carbon-info (data/yearly/2024.csv, Apache-2.0)"
)
RESIDENCY_GROUPS = ("us", "americas", "eu", "europe", "asia", "australia", "middle-east", "africa")
VERTEX_ACCELERATOR_TYPES: frozenset[str] = frozenset(
    [
        "NVIDIA_TESLA_K80",
        "NVIDIA_TESLA_P100",
        "NVIDIA_TESLA_V100",
        "NVIDIA_TESLA_P4",
        "NVIDIA_TESLA_T4",
        "NVIDIA_TESLA_A100",
        "NVIDIA_A100_80GB",
        "NVIDIA_L4",
        "NVIDIA_H100_80GB",
        "NVIDIA_H100_MEGA_80GB",
        "NVIDIA_H200_141GB",
        "NVIDIA_B200",
        "NVIDIA_GB200",
        "NVIDIA_RTX_PRO_6000",
        "TPU_V2",
        "TPU_V3",
        "TPU_V4_POD",
        "TPU_V5_LITEPOD",
    ]
)
"""Accelerator names of the Vertex AI v1 ``AcceleratorType`` enum (google-cloud-aiplatform)."""

_GOOGLE_REGION = "Google Cloud Region"
_GOOGLE_CFE = "Google CFE"
_GOOGLE_INTENSITY = "Grid carbon intensity (gCO2eq / kWh)"


@dataclass(frozen=True)
class Region:
    """One Vertex AI custom-training region and the grid it draws power from.

    Attributes:
        region: Google Cloud region id, e.g. ``europe-west1``.
        location: City or area as Google names it.
        country_iso2: ISO 3166-1 alpha-2 code of the country the region is in.
        residency_group: One of ``RESIDENCY_GROUPS`` (see the module docstring).
        electricity_maps_zone: Electricity Maps zone key of the local grid, e.g. ``BE``.
        watttime_region: WattTime v3 region abbreviation, or None where not established.
        annual_gco2e_per_kwh: Google's annual grid carbon intensity for ``ANNUAL_DATA_YEAR``,
            or None when the region is missing from the bundled Google file.
        google_cfe_fraction: Google's hourly carbon-free-energy fraction (0-1), or None.
        accelerators: Vertex ``AcceleratorType`` names offered for training here.
        zone_source: Short citation for the zone mapping.
    """

    region: str
    location: str
    country_iso2: str
    residency_group: str
    electricity_maps_zone: str
    watttime_region: str | None
    annual_gco2e_per_kwh: float | None
    google_cfe_fraction: float | None
    accelerators: frozenset[str]
    zone_source: str


class UnknownRegionError(ValueError):
    """Raised for region ids that are not Vertex AI custom-training regions.

    Attributes:
        unknown: The unknown names, in the order given.
        suggestions: Closest valid region id for each unknown name, or None.
        valid: All valid region ids, sorted.
    """

    def __init__(self, unknown: Sequence[str], valid: Iterable[str]) -> None:
        self.unknown = tuple(unknown)
        self.valid = tuple(sorted(valid))
        self.suggestions = {name: _closest(name, self.valid) for name in self.unknown}
        parts = []
        for name in self.unknown:
            hint = self.suggestions[name]
            parts.append(f"{name!r} (did you mean {hint!r}?)" if hint else repr(name))
        noun = "region" if len(self.unknown) == 1 else "regions"
        super().__init__(
            f"unknown {noun} {', '.join(parts)}; valid regions: {', '.join(self.valid)}"
        )


def _closest(name: str, valid: Sequence[str]) -> str | None:
    """Return the valid region id closest to ``name`` (case-insensitive), or None."""
    by_lower = {v.lower(): v for v in valid}
    match = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[match[0]] if match else None


def _number(cell: str | None) -> float | None:
    """Parse a possibly blank CSV cell as a float."""
    return float(cell) if cell and cell.strip() else None


def _read_rows(filename: str) -> list[dict[str, str]]:
    """Read a CSV file bundled in ``carbon_aware/data`` as a list of row dicts."""
    text = resources.files("carbon_aware").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.cache
def load_catalogue() -> dict[str, Region]:
    """Load the region catalogue from the package data (cached; treat the result as read-only).

    Returns:
        Mapping of region id to ``Region``, sorted by region id.

    Raises:
        ValueError: If the bundled data is inconsistent (duplicate rows, unknown residency
            group or accelerator type, accelerators for a region not in ``regions.csv``).
    """
    google = {
        row[_GOOGLE_REGION].strip(): row for row in _read_rows("google_region_carbon_2024.csv")
    }
    accelerators: dict[str, set[str]] = {}
    for row in _read_rows("vertex_accelerators.csv"):
        kind = row["accelerator_type"].strip()
        if kind not in VERTEX_ACCELERATOR_TYPES:
            raise ValueError(f"vertex_accelerators.csv: unknown accelerator type {kind!r}")
        accelerators.setdefault(row["region"].strip(), set()).add(kind)

    catalogue: dict[str, Region] = {}
    for row in _read_rows("regions.csv"):
        name = row["region"].strip()
        if name in catalogue:
            raise ValueError(f"regions.csv: duplicate region {name!r}")
        group = row["residency_group"].strip()
        if group not in RESIDENCY_GROUPS:
            raise ValueError(f"regions.csv: {name}: unknown residency group {group!r}")
        annual = google.get(name, {})
        catalogue[name] = Region(
            region=name,
            location=row["location"].strip(),
            country_iso2=row["country_iso2"].strip(),
            residency_group=group,
            electricity_maps_zone=row["electricity_maps_zone"].strip(),
            watttime_region=row["watttime_region"].strip() or None,
            annual_gco2e_per_kwh=_number(annual.get(_GOOGLE_INTENSITY)),
            google_cfe_fraction=_number(annual.get(_GOOGLE_CFE)),
            accelerators=frozenset(accelerators.get(name, ())),
            zone_source=row["zone_source"].strip(),
        )
    stray = sorted(set(accelerators) - set(catalogue))
    if stray:
        raise ValueError(f"vertex_accelerators.csv: regions not in regions.csv: {stray}")
    return dict(sorted(catalogue.items()))


def get_region(name: str) -> Region:
    """Return the catalogue entry for one region id.

    Args:
        name: Region id, e.g. ``europe-west1``; surrounding whitespace is ignored.

    Returns:
        The matching ``Region``.

    Raises:
        UnknownRegionError: If ``name`` is not a Vertex AI custom-training region.
    """
    catalogue = load_catalogue()
    key = name.strip()
    if key not in catalogue:
        raise UnknownRegionError([name], catalogue)
    return catalogue[key]


def validate_regions(names: Iterable[str]) -> list[str]:
    """Check a list of candidate region ids and return them stripped, in the given order.

    Args:
        names: Region ids, e.g. from a pipeline parameter or a config file.

    Returns:
        The region ids with surrounding whitespace removed.

    Raises:
        TypeError: If ``names`` is a single string rather than a list of them.
        ValueError: If the list is empty, holds blank names or duplicates.
        UnknownRegionError: Naming every unknown region at once.
    """
    if isinstance(names, str):
        raise TypeError(f"expected a list of region ids, got the string {names!r}")
    stripped = [item.strip() for item in names]
    if not stripped:
        raise ValueError("no regions given: pass at least one region id")
    blanks = [index for index, item in enumerate(stripped) if not item]
    if blanks:
        raise ValueError(f"blank region id at position(s) {blanks}")
    duplicates = [item for item, count in Counter(stripped).items() if count > 1]
    if duplicates:
        raise ValueError(f"duplicate regions: {', '.join(map(repr, duplicates))}")
    catalogue = load_catalogue()
    unknown = [item for item in stripped if item not in catalogue]
    if unknown:
        raise UnknownRegionError(unknown, catalogue)
    return stripped


def regions_in_group(group: str) -> list[str]:
    """Return the sorted region ids in one residency group.

    Args:
        group: One of ``RESIDENCY_GROUPS``.

    Returns:
        Region ids whose ``residency_group`` is ``group``.

    Raises:
        ValueError: If ``group`` is not a known residency group.
    """
    if group not in RESIDENCY_GROUPS:
        raise ValueError(
            f"unknown residency group {group!r}; valid groups: {', '.join(RESIDENCY_GROUPS)}"
        )
    return [name for name, region in load_catalogue().items() if region.residency_group == group]
