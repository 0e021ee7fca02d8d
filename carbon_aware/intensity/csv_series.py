"""Provider over a user's own intensity time series (the long CSV format of ``timeseries``).

A GCP region is matched to a series by, in order: its own name (``europe-west1``), its grid zone
from the catalogue (``US-MIDW-MISO``), or the zone's last part (``MISO``) — so balancing-authority
series such as the shipped EIA-930 file serve the US regions on those grids. "Now" is the current
time, or the end of the data when the data end earlier (a historical file used as a stand-in).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.regions import get_region
from carbon_aware.timeseries import load_intensity_csv


class CsvSeriesProvider:
    """Latest, last-24-hours and forecast readings from an intensity CSV file."""

    name = "csv"

    def __init__(self, csv_uri: str, now: datetime | None = None) -> None:
        """Creates the provider.

        Args:
            csv_uri: Local path or ``gs://`` URI of the CSV (``.csv`` or ``.csv.gz``).
            now: The planning time (defaults to the current UTC time).

        Raises:
            ValueError: No file given.
        """
        if not csv_uri.strip():
            raise ValueError(
                "intensity_provider 'csv' needs intensity_csv: a path or gs:// URI of a CSV "
                "with columns datetime, region, carbon_intensity"
            )
        self.csv_uri = csv_uri
        self._now = now

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The series, wide: UTC index x series name, gCO2e/kWh."""
        from carbon_aware.storage import fetch

        return load_intensity_csv(fetch(self.csv_uri))

    @property
    def source(self) -> str:
        """The figure's source label."""
        return f"intensity CSV {Path(self.csv_uri).name}"

    def series_name(self, region: str) -> str:
        """The series in the file that serves ``region``.

        Raises:
            ValueError: No series matches; the message lists the names tried and available.
        """
        zone = get_region(region).electricity_maps_zone
        tried = [region, zone, zone.rsplit("-", 1)[-1]]
        for name in tried:
            if name in self.frame.columns:
                return name
        raise ValueError(
            f"{self.csv_uri} has no series for {region} (tried {', '.join(tried)}); "
            f"it has: {', '.join(map(str, self.frame.columns))}"
        )

    def now(self) -> pd.Timestamp:
        """The planning time, clipped to the end of the data."""
        moment = pd.Timestamp(self._now or datetime.now(UTC))
        return min(moment, self.frame.index[-1])

    def _readings(
        self, region: str, rows: pd.Series, kind: IntensityKind
    ) -> list[IntensityReading]:
        name = self.series_name(region)
        return [
            IntensityReading(
                region=region,
                zone=name,
                gco2e_per_kwh=float(value),
                datetime_utc=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                source=self.source,
                kind=kind,
                detail=f"series {name}",
            )
            for stamp, value in rows.dropna().items()
        ]

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """The last value at or before now, per region."""
        out = []
        for region in regions:
            column = self.frame[self.series_name(region)].loc[: self.now()].dropna()
            if column.empty:
                raise ValueError(f"{self.csv_uri} has no value for {region} before {self.now()}")
            out += self._readings(region, column.iloc[-1:], IntensityKind.LATEST)
        return out

    def history(self, regions: list[str]) -> list[IntensityReading]:
        """The last 24 hours up to now, per region."""
        start = self.now() - timedelta(hours=24)
        return [
            reading
            for region in regions
            for reading in self._readings(
                region,
                self.frame[self.series_name(region)].loc[start : self.now()],
                IntensityKind.HISTORY,
            )
        ]

    def forecast(self, regions: list[str]) -> list[IntensityReading]:
        """Every value after now, per region (the file is taken as the forecast)."""
        after = self.now() + timedelta(microseconds=1)
        return [
            reading
            for region in regions
            for reading in self._readings(
                region, self.frame[self.series_name(region)].loc[after:], IntensityKind.FORECAST
            )
        ]
