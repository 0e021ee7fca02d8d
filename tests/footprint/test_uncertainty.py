import pytest
from footprint.test_calculation import RUN_RECORD, hourly, make_decision

from carbon_aware.footprint import uncertainty
from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.footprint.intensity_window import parse_utc
from carbon_aware.footprint.orchestration import StepTimings


def inside(pair, value):
    return pair[0] - 1e-9 <= value <= pair[1] + 1e-9


def test_the_hourly_band_is_what_the_bundled_eia_file_gives():
    low, high = uncertainty.hourly_vs_annual_band()
    assert (round(low, 2), round(high, 2)) == uncertainty.HOURLY_VS_ANNUAL_BAND


def test_intensity_range_from_the_window_readings_or_the_band():
    series = hourly("europe-north1", 10, [30.0, 50.0, 90.0])
    start = parse_utc("2026-11-23T10:30:00Z")
    end = parse_utc("2026-11-23T11:30:00Z")
    found = uncertainty.intensity_range(40.0, series, (start, end), time_weighted=True)
    assert (found.low, found.high) == (30.0, 50.0)
    annual = uncertainty.intensity_range(100.0, None, None, time_weighted=False)
    assert (annual.low, annual.high) == (pytest.approx(49.0), pytest.approx(138.0))
    assert "EIA-930" in annual.basis


def test_every_range_brackets_its_central_figure():
    timings = StepTimings({"fetch-intensity": 30.0, "report-footprint": 10.0}, "unit test")
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.1, step_timings=timings)
    u = fp.uncertainty
    assert inside(u["energy_kwh"], fp.energy_kwh)
    for name, term in fp.energy.terms.items():
        assert inside(u["terms"][name], term.kwh)
    assert inside(u["intensity_gco2e_per_kwh"], fp.intensity_gco2e_per_kwh)
    assert inside(u["co2e_g"], fp.co2e_g)
    assert inside(u["baseline_co2e_g"], fp.baseline_co2e_g)
    assert inside(u["savings_pct_vs_baseline"], fp.savings_pct_vs_baseline)
    assert inside(u["savings_g_vs_baseline"], fp.savings_g_vs_baseline)
    assert inside(u["orchestration_co2e_g"], fp.orchestration.co2e_g)
    assert inside(u["total_co2e_g"], fp.total_co2e_g)
    assert inside(u["net_savings_g_vs_baseline"], fp.net_savings_g_vs_baseline)
    assert inside(u["sci"], fp.sci.value)
    assert inside(u["market_based"]["co2e_g"], fp.market_based["co2e_g"])
    assert inside(
        u["market_based"]["savings_pct_vs_baseline"], fp.market_based["savings_pct_vs_baseline"]
    )


def test_estimated_energy_bounds_are_the_load_model_band():
    # RUN_RECORD has no terms (an older record, method estimate): taken as CCF's 50 % estimate,
    # bounded by idle and full load of CCF's GCP median 0.68-4.11 W: x 0.68/2.395 to x 4.11/2.395.
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    expected = [pytest.approx(0.5 * 0.68 / 2.395), pytest.approx(0.5 * 4.11 / 2.395)]
    assert fp.uncertainty["energy_kwh"] == expected
    assert fp.energy.terms["cpu"].method == "estimated"


def test_saving_holds_only_when_its_low_end_is_positive():
    # 40 vs 400 gCO2e/kWh: even at 40 x 1.38 vs 400 x 0.49 the saving is positive.
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    low, high = fp.uncertainty["savings_pct_vs_baseline"]
    assert low == pytest.approx(100 * (1 - 40 * 1.38 / (400 * 0.49)), abs=1e-3)
    assert high == pytest.approx(100 * (1 - 40 * 0.49 / (400 * 1.38)), abs=1e-3)
    assert fp.uncertainty["saving_holds"] is True
    chosen = uncertainty.RegionBounds(1.0, uncertainty.Range(0.5, 2, "e"), 1.0, 90.0,
                                      uncertainty.Range(44.1, 124.2, "b"), None)  # fmt: skip
    base = uncertainty.RegionBounds(1.0, uncertainty.Range(0.5, 2, "e"), 1.0, 100.0,
                                    uncertainty.Range(49, 138, "b"), None)  # fmt: skip
    ranges = uncertainty.saving_ranges(chosen, base, uncertainty.Range(0, 0, "none"))
    assert ranges["savings_pct_vs_baseline"].low < 0 < ranges["savings_pct_vs_baseline"].high
