"""The csv provider over the shipped EIA-930 series and a small file written here."""

from datetime import UTC, datetime

import pytest

from carbon_aware.intensity import IntensityKind, fetch_snapshot
from carbon_aware.intensity.csv_series import CsvSeriesProvider
from carbon_aware.timeseries import shipped_eia930_path

NOON = datetime(2022, 6, 1, 12, tzinfo=UTC)


def test_us_regions_match_balancing_authority_series_by_zone_suffix():
    provider = CsvSeriesProvider(str(shipped_eia930_path()), now=NOON)
    assert provider.series_name("us-central1") == "MISO"  # zone US-MIDW-MISO
    assert provider.series_name("us-west1") == "BPAT"
    (reading,) = provider.latest(["us-west1"])
    assert reading.kind is IntensityKind.LATEST
    assert reading.datetime_utc == "2022-06-01T12:00:00Z"
    assert reading.gco2e_per_kwh == pytest.approx(float(provider.frame["BPAT"].loc[NOON]))


def test_history_is_the_last_day_and_forecast_what_follows():
    provider = CsvSeriesProvider(str(shipped_eia930_path()), now=NOON)
    history = provider.history(["us-east4"])
    assert len(history) == 25 and history[-1].datetime_utc == "2022-06-01T12:00:00Z"
    forecast = provider.forecast(["us-east4"])
    assert forecast[0].datetime_utc == "2022-06-01T13:00:00Z"
    assert all(r.kind is IntensityKind.FORECAST and r.zone == "PJM" for r in forecast)


def test_a_region_without_a_series_is_named_with_what_the_file_has(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "datetime,region,carbon_intensity\n"
        "2026-01-01T00:00:00Z,europe-west1,120\n2026-01-01T01:00:00Z,europe-west1,110\n"
    )
    snap = fetch_snapshot("csv", ["europe-west1"], csv_uri=str(path))
    assert snap.readings[0].gco2e_per_kwh == 110.0  # the data end before now: the last value
    with pytest.raises(ValueError, match=r"no series for europe-north1 \(tried europe-north1, FI"):
        fetch_snapshot("csv", ["europe-north1"], csv_uri=str(path))


def test_csv_provider_needs_a_file():
    with pytest.raises(ValueError, match="intensity_provider 'csv' needs intensity_csv"):
        fetch_snapshot("csv", ["europe-west1"])
