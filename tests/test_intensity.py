from datetime import UTC, datetime

import pytest

from carbon_aware.intensity import (
    PROVIDER_NAMES,
    IntensityKind,
    IntensityReading,
    IntensitySnapshot,
    fetch_snapshot,
    get_provider,
)
from carbon_aware.regions import UnknownRegionError, get_region


def test_static_provider_serves_google_annual_figures_labelled_annual():
    snapshot = fetch_snapshot(
        "static", ["europe-north1", "us-central1"], now=datetime(2026, 1, 2, tzinfo=UTC)
    )
    readings = snapshot.by_region()
    assert snapshot.fetched_at_utc == "2026-01-02T00:00:00Z"
    assert readings["us-central1"].gco2e_per_kwh == get_region("us-central1").annual_gco2e_per_kwh
    for reading in readings.values():
        assert reading.kind is IntensityKind.ANNUAL
        assert reading.unit == "gCO2e/kWh"
        assert reading.datetime_utc == "2024"
        assert "google_region_carbon_2024.csv" in reading.source
    # Finland's grid is far cleaner than Iowa's in Google's 2024 data.
    assert readings["europe-north1"].gco2e_per_kwh < readings["us-central1"].gco2e_per_kwh


def test_snapshot_round_trips_through_json():
    snapshot = fetch_snapshot("static", ["europe-west1", "asia-south1"])
    again = IntensitySnapshot.from_json(snapshot.to_json())
    assert again == snapshot
    assert snapshot.to_json() == again.to_json()


def test_unknown_provider_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown intensity_provider 'carbonfairy'") as err:
        get_provider("carbonfairy")
    for name in PROVIDER_NAMES:
        assert name in str(err.value)


def test_unknown_region_is_refused_before_any_fetch():
    with pytest.raises(UnknownRegionError, match="europe-west99"):
        fetch_snapshot("static", ["europe-west1", "europe-west99"])


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_reading_refuses_negative_or_non_finite_intensity(bad):
    with pytest.raises(ValueError, match="finite number >= 0"):
        IntensityReading("us-central1", "US-MIDW-MISO", bad, "2024", "x", IntensityKind.LATEST)
