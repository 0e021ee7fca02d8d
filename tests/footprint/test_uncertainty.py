import statistics

import pytest
from footprint.test_calculation import RUN_RECORD, hourly, make_decision

from carbon_aware.footprint import uncertainty
from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.footprint.intensity_window import parse_utc
from carbon_aware.footprint.orchestration import StepTimings


def inside(pair, value):
    return pair[0] - 1e-9 <= value <= pair[1] + 1e-9


def test_a_us_zone_gets_its_own_balancing_authoritys_band_from_the_bundled_file():
    assert uncertainty.bundled_area("US-MIDW-MISO") == "MISO"
    assert uncertainty.bundled_area("US-NW-PACE") is None  # not in the bundled file
    assert uncertainty.bundled_area("FI") is None
    # Recomputed by hand: 5th/95th percentile of one-hour values over the annual mean.
    values = sorted(uncertainty.bundled_hourly()["MISO"])
    mean = statistics.fmean(values)
    low, high = uncertainty.area_band("MISO", 1)
    assert low == pytest.approx(values[int(0.05 * (len(values) - 1))] / mean)
    assert high == pytest.approx(values[round(0.95 * (len(values) - 1))] / mean)
    (band, basis) = uncertainty.annual_figure_band("US-MIDW-MISO", 1)
    assert band == (low, high) and "balancing authority MISO" in basis


def test_the_band_narrows_as_the_run_lengthens():
    widths = [
        (lambda b: b[1] - b[0])(uncertainty.area_band("CISO", hours)) for hours in (1, 24, 168)
    ]
    assert widths[0] > widths[1] > widths[2] > 0
    assert uncertainty.mean_band([1.0, 2.0, 3.0], 3) == (1.0, 1.0)


def test_a_zone_without_bundled_data_gets_a_labelled_stand_in_never_silently_a_us_band():
    band, basis = uncertainty.annual_figure_band("FI", 1)
    assert "no hourly data bundled for zone FI" in basis and "not this zone's own" in basis
    assert band[0] <= min(uncertainty.area_band(a, 1)[0] for a in uncertainty.bundled_hourly())
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    assert "zone FI" in fp.uncertainty["intensity_basis"]
    assert "MISO" in fp.uncertainty["baseline_intensity_basis"]


def test_readings_in_the_run_window_give_a_mean_interval_that_narrows_with_n():
    series = hourly("europe-north1", 10, [30.0, 50.0, 90.0, 40.0])
    start = parse_utc("2026-11-23T10:00:00Z")
    found = uncertainty.intensity_range(
        52.5, series, (start, parse_utc("2026-11-23T14:00:00Z")), time_weighted=True
    )
    sd = statistics.stdev([30.0, 50.0, 90.0, 40.0])
    rho = max(0.0, uncertainty.lag1_autocorrelation([30.0, 50.0, 90.0, 40.0]))
    half = 1.6448536269514722 * sd / (4 * (1 - rho) / (1 + rho)) ** 0.5
    assert (found.low, found.high) == (pytest.approx(52.5 - half), pytest.approx(52.5 + half))
    assert "4 readings in the run window" in found.basis
    longer = hourly("europe-north1", 0, [30.0, 50.0, 90.0, 40.0] * 4)
    wide = uncertainty.readings_range(52.5, [30.0, 50.0, 90.0, 40.0])
    narrow = uncertainty.readings_range(52.5, [r.gco2e_per_kwh for r in longer])
    assert narrow.high - narrow.low < wide.high - wide.low


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
    assert "every [low, high] holds whenever" in u["meaning"]


def test_estimated_energy_bounds_are_the_terms_own():
    # RUN_RECORD has no terms (an older record): each term carries the load model's band.
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    terms = fp.energy.terms.values()
    assert fp.uncertainty["energy_kwh"] == [
        pytest.approx(sum(t.low_kwh for t in terms)),
        pytest.approx(sum(t.high_kwh for t in terms)),
    ]


def test_local_orchestration_moves_with_the_baselines_grid():
    timings = StepTimings({"fetch-intensity": 3600.0}, "unit test")  # local: no region
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0, step_timings=timings)
    assert fp.orchestration.grid_tied_to == "baseline"
    u, o = fp.uncertainty, fp.orchestration
    base_low, base_high = u["baseline_intensity_gco2e_per_kwh"]
    chosen_high = u["intensity_gco2e_per_kwh"][1]
    # The net saving's low end: the baseline's grid at its low end for the run AND the steps
    # (PUE 1, one energy scale for the run in both regions).
    expected_low = min(
        e * base_low - e * chosen_high - o.high_kwh * base_low - o.embodied_g
        for e in u["energy_kwh"]
    )
    assert u["net_savings_g_vs_baseline"][0] == pytest.approx(expected_low)
    # Moving independently (the old ranges) would pair the steps' high grid with the low one.
    untied = min(
        e * base_low - e * chosen_high - o.high_kwh * base_high - o.embodied_g
        for e in u["energy_kwh"]
    )
    assert u["net_savings_g_vs_baseline"][0] > untied


def test_saving_holds_only_when_its_low_end_is_positive():
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    low, high = fp.uncertainty["savings_pct_vs_baseline"]
    chosen, base = (
        fp.uncertainty["intensity_gco2e_per_kwh"],
        fp.uncertainty["baseline_intensity_gco2e_per_kwh"],
    )
    assert low == pytest.approx(100 * (1 - chosen[1] / base[0]), abs=1e-3)
    assert high == pytest.approx(100 * (1 - chosen[0] / base[1]), abs=1e-3)
    assert fp.uncertainty["saving_holds"] is (low > 0)
    e = uncertainty.Range(0.5, 2, "e")
    chosen_b = uncertainty.RegionBounds(1.0, e, 1.0, 90.0, uncertainty.Range(44.1, 124.2, "b"))
    base_b = uncertainty.RegionBounds(1.0, e, 1.0, 100.0, uncertainty.Range(49, 138, "b"))
    ranges = uncertainty.saving_ranges(chosen_b, base_b, None)
    assert ranges["savings_pct_vs_baseline"].low < 0 < ranges["savings_pct_vs_baseline"].high
    assert "net_savings_g_vs_baseline" not in ranges
