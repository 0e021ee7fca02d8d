import json

import pytest

from carbon_aware.decision import choose_region
from carbon_aware.footprint.calculation import (
    compute_footprint,
    emissions_g,
    energy_from_run_record,
    to_gco2e_per_kwh,
)
from carbon_aware.footprint.orchestration import StepTimings
from carbon_aware.footprint.pue import (
    GOOGLE_FLEET_PUE,
    GOOGLE_FLEET_PUE_SOURCE,
    PueFigure,
    published_pues,
    resolve_pue,
)
from carbon_aware.intensity import IntensityKind, IntensityReading, IntensitySnapshot
from carbon_aware.regions import get_region


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
    "machine": {"machine_type": "n1-standard-4", "accelerator_type": "", "accelerator_count": 0},
    "dataset": {"rows": 569, "train_rows": 400},
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


def test_default_pue_is_googles_published_campus_figure_else_the_fleet():
    fp = compute_footprint(make_decision(), RUN_RECORD)
    assert fp.pue == 1.10 and fp.pue_kind == "published-campus"
    assert "Hamina" in fp.pue_source
    assert fp.regions["us-central1"].pue == 1.11
    assert resolve_pue("europe-west3") == PueFigure(
        GOOGLE_FLEET_PUE, GOOGLE_FLEET_PUE_SOURCE, "published-fleet"
    )
    assert resolve_pue("europe-west3", 1.3).kind == "parameter"


def test_published_pue_rows_are_catalogue_regions_with_plausible_values():
    for region, (value, campus) in published_pues().items():
        assert get_region(region).region == region
        assert 1.0 < value < 1.3 and campus


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
        "embodied_g",
        "sci",
    ):
        assert key in record
    assert record["energy"]["method"] == "estimate"
    assert record["schema_version"] == "1.3"
    assert record["sci"]["functional_unit"] == "training_run"


def test_run_record_without_energy_is_refused():
    with pytest.raises(ValueError, match="no complete 'energy' block"):
        energy_from_run_record({"start_utc": "x"})
    bad = {"energy": {**RUN_RECORD["energy"], "total_kwh": -1}}
    with pytest.raises(ValueError, match="total_kwh must be a finite number >= 0"):
        energy_from_run_record(bad)


def hourly(region, start_hour, values, unit_values=None):
    return [
        IntensityReading(
            region,
            "ZZ",
            value,
            f"2026-11-23T{start_hour + i:02d}:00:00Z",
            "unit-test history",
            IntensityKind.HISTORY,
        )
        for i, value in enumerate(values)
    ]


def test_intensity_is_time_weighted_over_the_run_window_when_a_series_is_given():
    # Run 10:00-10:30; readings at 09:00, 10:00, 11:00 -> only the 10:00 value counts.
    record = {**RUN_RECORD, "start_utc": "2026-11-23T10:15:00Z", "end_utc": "2026-11-23T11:15:00Z"}
    series = {"europe-north1": hourly("europe-north1", 9, [10.0, 20.0, 60.0])}
    fp = compute_footprint(make_decision(), record, pue=1.0, intensity_series=series)
    # 45 min at 20 + 15 min at 60 = 30 gCO2e/kWh.
    assert fp.intensity_gco2e_per_kwh == pytest.approx(30.0)
    assert fp.intensity_method == "time-weighted"
    assert "time-weighted over the run window" in fp.intensity_source
    assert fp.intensity_window["coverage_pct"] == pytest.approx(100.0)
    assert fp.co2e_g == pytest.approx(0.5 * 30.0)
    # Regions without a series keep the decision's figure, labelled as such.
    assert fp.regions["us-central1"].intensity_method == "decision"
    assert fp.baseline_co2e_g == pytest.approx(0.5 * 400.0)


def test_static_provider_uses_the_decision_value_and_says_so():
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    assert fp.intensity_method == "decision"
    assert fp.intensity_source == "unit-test (latest, value used for the decision)"
    assert fp.intensity_window["coverage_pct"] is None


def test_series_outside_the_window_falls_back_to_the_decision_value():
    series = {"europe-north1": hourly("europe-north1", 0, [999.0, 999.0])}
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0, intensity_series=series)
    assert fp.intensity_gco2e_per_kwh == 40.0 and fp.intensity_method == "decision"


def test_mixed_units_are_converted_before_any_arithmetic():
    # WattTime-style lbs/MWh for the chosen region, g/kWh for the baseline, kgCO2e for embodied.
    lbs_per_mwh = [88.18490487395103, 88.18490487395103]  # = 40 g/kWh each
    chosen = [
        IntensityReading(
            "europe-north1",
            "ZZ",
            to_gco2e_per_kwh(v, "lbs/MWh"),
            f"2026-11-23T{10 + i:02d}:00:00Z",
            "watttime-like",
            IntensityKind.HISTORY,
        )
        for i, v in enumerate(lbs_per_mwh)
    ]
    baseline = hourly("us-central1", 10, [to_gco2e_per_kwh(0.4, "kgCO2e/kWh")])
    series = {"europe-north1": chosen, "us-central1": baseline}
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.2, intensity_series=series)
    assert fp.intensity_gco2e_per_kwh == pytest.approx(40.0, rel=1e-9)
    assert fp.co2e_g == pytest.approx(0.5 * 1.2 * 40.0)
    assert fp.baseline_co2e_g == pytest.approx(0.5 * 1.2 * 400.0)
    # Embodied: 1677.48 kgCO2e x 1000 g/kg x (0.5 h / 35040 h) x (4 / 96) vCPUs.
    embodied = 1677.48 * 1000 * (0.5 / (4 * 8760)) * (4 / 96)
    assert fp.embodied_g == pytest.approx(embodied)
    assert fp.sci.value == pytest.approx(24.0 + embodied)
    assert fp.units["emissions"] == "gCO2e"
    with pytest.raises(ValueError, match="unknown intensity unit"):
        to_gco2e_per_kwh(1.0, "g/MJ")


def test_market_based_view_never_discounts_the_grid_average_by_cfe_again():
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    # europe-north1 (Finland): no export given, so the AIB 2023 residual mix, 565.31 gCO2/kWh.
    assert fp.market_based["kind"] == "residual-mix-estimate"
    assert fp.market_based["co2e_g"] == pytest.approx(0.5 * 1.0 * 565.31)
    assert fp.market_based["co2e_g"] != pytest.approx(
        fp.co2e_g * (1 - get_region("europe-north1").google_cfe_fraction)
    )
    # us-central1: no residual mix bundled: not estimated (None), with the reason.
    assert fp.market_based["baseline_co2e_g"] is None
    assert fp.market_based["baseline_kind"] == "not-estimated"
    assert "no residual-mix figure bundled for country US" in fp.market_based["baseline_source"]
    assert "Scope 3" in fp.market_based["scope"] and "Scope 2" in fp.market_based["scope"]
    # With the project's Carbon Footprint export: Google's own Scope 2 market/location ratio.
    exported = compute_footprint(
        make_decision(),
        RUN_RECORD,
        pue=1.0,
        market_ratios={"europe-north1": 0.25, "us-central1": 0.5},
        market_export_label="p.d.t, 2026-01 to 2026-10",
    )
    assert exported.market_based["kind"] == "carbon-footprint-export"
    assert exported.market_based["co2e_g"] == pytest.approx(exported.co2e_g * 0.25)
    assert exported.market_based["baseline_co2e_g"] == pytest.approx(exported.baseline_co2e_g * 0.5)
    assert "p.d.t, 2026-01 to 2026-10" in exported.market_based["source"]
    market = exported.uncertainty["market_based"]
    assert market["co2e_g"][0] <= exported.market_based["co2e_g"] <= market["co2e_g"][1]


def test_the_sci_record_reproduces_from_its_own_e_i_m_and_r_in_the_json_alone():
    timings = StepTimings({"fetch-intensity": 40.0, "evaluate": 25.0}, "unit test")
    for kwargs in ({}, {"step_timings": timings}, {"functional_unit": "1k_training_examples"}):
        record = json.loads(compute_footprint(make_decision(), RUN_RECORD, 1.1, **kwargs).to_json())
        sci = record["sci"]
        e_times_i = sci["energy_kwh"] * sci["intensity_gco2e_per_kwh"]
        assert e_times_i == sci["operational_g"]
        assert (e_times_i + sci["embodied_g"]) / sci["functional_unit_count"] == sci["value"]
        assert e_times_i + sci["embodied_g"] == record["total_co2e_g"]
        # The one total: the run, orchestration (when measured) and both embodied shares.
        o = record["orchestration"]
        parts = (
            record["co2e_g"] + record["embodied_g"] + (o["co2e_g"] or 0) + (o["embodied_g"] or 0)
        )
        assert record["total_co2e_g"] == pytest.approx(parts, rel=1e-12)


@pytest.mark.parametrize(
    ("unit", "count"),
    [("training_run", 1.0), ("1k_training_examples", 0.4), ("1k_predictions", 2.5)],
)
def test_sci_divides_by_the_functional_unit(unit, count):
    fp = compute_footprint(
        make_decision(), RUN_RECORD, pue=1.0, functional_unit=unit, predictions_served=2500
    )
    assert fp.sci.functional_unit_count == pytest.approx(count)
    assert fp.sci.value == pytest.approx((fp.co2e_g + fp.embodied_g) / count)
    assert fp.sci.unit == f"gCO2e per {unit}"


def test_bad_functional_unit_is_refused():
    with pytest.raises(ValueError, match="functional_unit 'per_epoch' is not allowed"):
        compute_footprint(make_decision(), RUN_RECORD, functional_unit="per_epoch")
    with pytest.raises(ValueError, match="predictions_served > 0"):
        compute_footprint(
            make_decision(), RUN_RECORD, functional_unit="1k_predictions", predictions_served=0
        )
