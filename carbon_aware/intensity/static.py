"""Offline provider: Google's published annual grid intensity per GCP region (bundled)."""

from __future__ import annotations

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.regions import ANNUAL_DATA_SOURCE, ANNUAL_DATA_YEAR, get_region


class MissingAnnualDataError(ValueError):
    """Google publishes no annual figure for a region."""


class StaticAnnualProvider:
    """Serves the bundled Google annual averages: no network, no key, labelled as annual."""

    name = "static"

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the annual average for each region.

        Args:
            regions: GCP region ids.

        Returns:
            One reading per region, ``kind=annual``.

        Raises:
            MissingAnnualDataError: A region has no published annual figure.
        """
        return [self.annual(region) for region in regions]

    def annual(self, region: str) -> IntensityReading:
        """Returns the annual average for one region."""
        info = get_region(region)
        if info.annual_gco2e_per_kwh is None:
            raise MissingAnnualDataError(
                f"no {ANNUAL_DATA_YEAR} annual grid intensity is published for {region!r} "
                f"in {ANNUAL_DATA_SOURCE}; choose another region or a live provider"
            )
        return IntensityReading(
            region=region,
            zone=info.electricity_maps_zone,
            gco2e_per_kwh=info.annual_gco2e_per_kwh,
            datetime_utc=str(ANNUAL_DATA_YEAR),
            source=ANNUAL_DATA_SOURCE,
            kind=IntensityKind.ANNUAL,
            is_estimated=False,
            detail=f"annual average, location-based, {ANNUAL_DATA_YEAR}",
        )
