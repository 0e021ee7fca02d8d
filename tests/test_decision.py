import pytest

from carbon_aware.decision import RegionDecision, choose_region
from carbon_aware.intensity import IntensityKind, IntensityReading, IntensitySnapshot


def make_snapshot(values, kinds=None):
    kinds = kinds or {}
    return IntensitySnapshot(
        provider="test",
        fetched_at_utc="2026-11-23T10:00:00Z",
        readings=tuple(
            IntensityReading(
                region,
                "ZZ",
                value,
                "2026-11-23T10:00:00Z",
                "unit-test",
                kinds.get(region, IntensityKind.LATEST),
            )
            for region, value in values.items()
        ),
    )


def test_chooses_the_lowest_intensity_and_ranks_every_candidate():
    snap = make_snapshot({"us-central1": 400.0, "europe-west1": 120.0, "europe-north1": 30.0})
    decision = choose_region(snap, ["us-central1", "europe-west1", "europe-north1"], "us-central1")
    assert decision.region == "europe-north1"
    assert [r.region for r in decision.ranking] == ["europe-north1", "europe-west1", "us-central1"]
    assert [r.rank for r in decision.ranking] == [1, 2, 3]
    assert decision.baseline_gco2e_per_kwh == 400.0
    assert decision.intensity_saving_pct == pytest.approx(92.5)


def test_ties_go_to_lower_annual_intensity_then_name():
    # Same live value: europe-north1 has the lower Google annual figure.
    snap = make_snapshot({"us-central1": 100.0, "europe-north1": 100.0, "us-east4": 500.0})
    decision = choose_region(snap, ["us-central1", "europe-north1"], "us-east4")
    assert decision.region == "europe-north1"


def test_baseline_outside_candidates_is_used_for_savings_only():
    snap = make_snapshot({"europe-west1": 100.0, "us-east4": 500.0})
    decision = choose_region(snap, ["europe-west1"], "us-east4")
    assert decision.region == "europe-west1"
    assert [r.region for r in decision.ranking] == ["europe-west1"]
    assert decision.intensity_saving_pct == pytest.approx(80.0)


def test_fallback_figures_are_labelled_in_the_decision():
    snap = make_snapshot(
        {"europe-west1": 100.0, "us-east4": 500.0},
        kinds={"europe-west1": IntensityKind.FALLBACK},
    )
    decision = choose_region(snap, ["europe-west1", "us-east4"], "us-east4")
    assert decision.fallback_regions == ("europe-west1",)
    assert decision.ranking[0].is_fallback is True


def test_missing_reading_names_the_region():
    snap = make_snapshot({"europe-west1": 100.0})
    with pytest.raises(ValueError, match="no carbon-intensity reading for us-east4"):
        choose_region(snap, ["europe-west1", "us-east4"], "europe-west1")


def test_empty_candidates_refused():
    with pytest.raises(ValueError, match="candidate_regions is empty"):
        choose_region(make_snapshot({"europe-west1": 1.0}), [], "europe-west1")


def test_decision_json_round_trip():
    snap = make_snapshot({"us-central1": 400.0, "europe-west1": 120.0})
    decision = choose_region(snap, ["us-central1", "europe-west1"], "us-central1")
    assert RegionDecision.from_json(decision.to_json()) == decision
