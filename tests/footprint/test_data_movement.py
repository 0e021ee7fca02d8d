import pytest
from footprint.test_calculation import RUN_RECORD, make_decision

from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.footprint.data_movement import data_movement_term
from carbon_aware.training.data_location import locate_data

DATA = {"uri": "gs://b/d.csv", "location": "us-central1", "regions": ["us-central1"]}


def test_no_term_when_the_data_is_in_the_region_or_local():
    assert data_movement_term(DATA, "us-central1") is None
    assert data_movement_term({"uri": "bundled", "location": "local", "regions": []}, "x") is None


def test_bytes_read_from_another_region_times_kwh_per_gb():
    term = data_movement_term({**DATA, "size_bytes": 2_000_000_000}, "europe-north1", replicas=3)
    assert term is not None
    assert term.kwh == pytest.approx(6 * 0.001)
    assert (term.low_kwh, term.high_kwh) == (pytest.approx(0.006), pytest.approx(6 * 0.06))
    assert term.method == "estimated" and "Cloud Carbon Footprint" in term.source


def test_unknown_size_is_labelled_not_silently_dropped():
    term = data_movement_term(DATA, "europe-north1")
    assert term is not None and term.kwh == 0.0
    assert "object size unknown" in term.source


def test_counterfactuals_carry_their_own_data_movement():
    record = {**RUN_RECORD, "data": {**DATA, "size_bytes": 10_000_000_000}}
    fp = compute_footprint(make_decision(), record, pue=1.0)
    # Chosen europe-north1 reads 10 GB from us-central1: + 0.01 kWh; the baseline reads locally.
    assert fp.energy.terms["data_movement"].kwh == pytest.approx(0.01)
    assert fp.energy_kwh == pytest.approx(0.51)
    assert fp.regions["us-central1"].energy_kwh == pytest.approx(0.5)
    assert fp.co2e_g == pytest.approx(0.51 * 40.0)
    assert fp.baseline_co2e_g == pytest.approx(0.5 * 400.0)


def test_local_data_records_its_size(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    assert locate_data(str(path)).size_bytes == 8


def test_a_bucket_in_another_region_gives_bytes_and_a_term(monkeypatch, tmp_path):
    from storage_emulator import make_bucket, storage_emulator

    from carbon_aware import storage

    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path / "no-fuse")
    with storage_emulator():
        make_bucket("data-us", "us-central1")
        storage.write_text("gs://data-us/d.csv", "x" * 5000)
        found = locate_data("gs://data-us/d.csv").to_dict("europe-north1")
        assert storage.object_size("gs://data-us/missing.csv") is None
    assert found["size_bytes"] == 5000 and found["outside_chosen_region"] is True
    term = data_movement_term(found, "europe-north1")
    assert term is not None and term.kwh == pytest.approx(5000 / 1e9 * 0.001)
