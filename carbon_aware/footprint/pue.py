"""Power usage effectiveness: Google's published figure for the campus serving a region."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

# Google's trailing-twelve-month fleet-wide PUE for 2024 (google.com/about/datacenters/efficiency,
# "Our data centers' efficiency", fleet-wide TTM PUE 1.09). For regions without a campus figure.
GOOGLE_FLEET_PUE = 1.09
GOOGLE_FLEET_PUE_SOURCE = (
    "Google data centers efficiency page: 2024 fleet-wide trailing twelve-month PUE 1.09"
)
PUE_FILE = "google_pue.csv"


@dataclass(frozen=True)
class PueFigure:
    """The PUE applied in one region and where it came from (kind: parameter|campus|fleet)."""

    value: float
    source: str
    kind: str


@functools.cache
def published_pues() -> dict[str, tuple[float, str]]:
    """Google's published campus TTM PUE per region (``data/google_pue.csv``): value, campus."""
    text = resources.files("carbon_aware").joinpath("data", PUE_FILE).read_text(encoding="utf-8")
    return {
        row["region"]: (float(row["ttm_pue"]), row["campus"])
        for row in csv.DictReader(io.StringIO(text))
    }


def resolve_pue(region: str, override: float = 0.0) -> PueFigure:
    """The PUE for ``region``: ``override`` if non-zero, else its campus's, else the fleet's."""
    if override:
        if override < 1.0:
            raise ValueError(f"PUE must be >= 1.0, got {override!r}")
        return PueFigure(override, "run parameter pue", "parameter")
    published = published_pues().get(region)
    if published is None:
        return PueFigure(GOOGLE_FLEET_PUE, GOOGLE_FLEET_PUE_SOURCE, "published-fleet")
    value, campus = published
    source = f"Google published TTM PUE of the {campus} campus ({PUE_FILE})"
    return PueFigure(value, source, "published-campus")
