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


def test_residency_leaves_out_non_eu_regions_with_the_reason():
    from carbon_aware.planning.constraints import Constraints

    snap = make_snapshot({"us-west1": 50.0, "europe-west1": 120.0, "europe-west2": 90.0})
    decision = choose_region(
        snap,
        ["us-west1", "europe-west1", "europe-west2"],
        "europe-west1",
        Constraints(residency="eu"),
    )
    assert decision.region == "europe-west1"
    reasons = {item["region"]: item["constraint"] for item in decision.exclusions}
    # London is in Europe but not in the EU: GDPR-style residency keeps it out.
    assert reasons == {"us-west1": "residency", "europe-west2": "residency"}
    assert decision.constraints == {"residency": "eu"}


def test_accelerator_must_be_offered_in_the_region():
    from carbon_aware.planning.constraints import Constraints
    from carbon_aware.regions import load_catalogue

    catalogue = load_catalogue()
    with_t4 = sorted(r for r, info in catalogue.items() if "NVIDIA_TESLA_T4" in info.accelerators)
    without = sorted(
        r for r, info in catalogue.items() if "NVIDIA_TESLA_T4" not in info.accelerators
    )
    snap = make_snapshot({without[0]: 1.0, with_t4[0]: 500.0})
    decision = choose_region(
        snap, [without[0], with_t4[0]], with_t4[0], Constraints(accelerator_type="NVIDIA_TESLA_T4")
    )
    assert decision.region == with_t4[0]
    assert decision.exclusions[0]["constraint"] == "accelerator"


def test_intensity_cap_and_an_emptied_list_name_the_constraints():
    from carbon_aware.planning.constraints import Constraints

    snap = make_snapshot({"us-central1": 400.0, "europe-west1": 120.0})
    decision = choose_region(
        snap, ["us-central1", "europe-west1"], "us-central1", Constraints(max_carbon_intensity=200)
    )
    assert [item["region"] for item in decision.exclusions] == ["us-central1"]
    with pytest.raises(ValueError, match="no candidate region satisfies the constraints") as err:
        choose_region(
            snap,
            ["us-central1", "europe-west1"],
            "us-central1",
            Constraints(residency="eu", max_carbon_intensity=100),
        )
    assert "residency='eu' excluded us-central1" in str(err.value)
    assert "max_carbon_intensity=100" in str(err.value)
