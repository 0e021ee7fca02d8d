import json

import pytest

from carbon_aware.decision import choose_region
from carbon_aware.footprint import (
    GOOGLE_FLEET_PUE,
    compute_footprint,
    emissions_g,
    energy_from_run_record,
)
from carbon_aware.intensity import IntensityKind, IntensityReading, IntensitySnapshot


def make_decision():
    values = {"europe-north1": 40.0, "europe-west1": 100.0, "us-central1": 400.0}
    snap = IntensitySnapshot(
        "test",
        "2026-11-23T10:00:00Z",
        tuple(
            IntensityReading(r, "ZZ", v, "2026-11-23T10:00:00Z", "unit-test", IntensityKind.LATEST)
            for r, v in values.items()
        ),
    )
    return choose_region(snap, ["europe-north1", "europe-west1"], "us-central1")


RUN_RECORD = {
    "start_utc": "2026-11-23T10:00:00Z",
    "end_utc": "2026-11-23T10:30:00Z",
    "duration_s": 1800.0,
    "energy": {
        "cpu_kwh": 0.3,
        "gpu_kwh": 0.0,
        "ram_kwh": 0.2,
        "total_kwh": 0.5,
        "method": "estimate",
        "method_detail": "unit test",
    },
}


def test_emissions_are_energy_times_pue_times_intensity():
    assert emissions_g(2.0, 1.1, 300.0) == pytest.approx(660.0)
    with pytest.raises(ValueError, match=r"PUE must be >= 1\.0"):
        emissions_g(1.0, 0.9, 100.0)


def test_footprint_counterfactuals_and_savings_by_hand():
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.2)
    assert fp.region == "europe-north1"
    assert fp.co2e_g == pytest.approx(0.5 * 1.2 * 40.0)
    assert fp.baseline_co2e_g == pytest.approx(0.5 * 1.2 * 400.0)
    assert fp.counterfactuals == {
        "europe-north1": pytest.approx(24.0),
        "europe-west1": pytest.approx(60.0),
        "us-central1": pytest.approx(240.0),
    }
    assert fp.savings_pct_vs_baseline == pytest.approx(90.0)
    assert fp.savings_g_vs_baseline == pytest.approx(216.0)
    assert fp.facility_energy_kwh == pytest.approx(0.6)
    assert fp.pue_source == "run parameter pue"


def test_default_pue_is_googles_published_fleet_figure():
    fp = compute_footprint(make_decision(), RUN_RECORD)
    assert fp.pue == GOOGLE_FLEET_PUE
    assert "Google" in fp.pue_source


def test_footprint_json_has_the_versioned_schema():
    record = json.loads(compute_footprint(make_decision(), RUN_RECORD).to_json())
    for key in (
        "schema_version",
        "region",
        "baseline_region",
        "energy_kwh",
        "pue",
        "intensity_gco2e_per_kwh",
        "co2e_g",
        "counterfactuals",
        "savings_pct_vs_baseline",
    ):
        assert key in record
    assert record["energy"]["method"] == "estimate"


def test_run_record_without_energy_is_refused():
    with pytest.raises(ValueError, match="no complete 'energy' block"):
        energy_from_run_record({"start_utc": "x"})
    bad = {"energy": {**RUN_RECORD["energy"], "total_kwh": -1}}
    with pytest.raises(ValueError, match="total_kwh must be a finite number >= 0"):
        energy_from_run_record(bad)
