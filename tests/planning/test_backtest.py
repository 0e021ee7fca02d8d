"""Back-tests: hand-computed figures, and the vectorised run against the reference loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon_aware.planning import run_backtest
from carbon_aware.planning.backtest import Outcome, backtest_arrays, backtest_loop
from carbon_aware.planning.planner import JobShape
from carbon_aware.timeseries import load_shipped_eia930


def frame(**series: list[float]) -> pd.DataFrame:
    n = len(next(iter(series.values())))
    index = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC", name="datetime")
    return pd.DataFrame(series, index=index)


def test_hand_computed_savings() -> None:
    data = frame(a=[3, 1, 2, 5], b=[2, 2, 2, 2])
    # arrivals 0..2; temporal in a: picks 1, 1, 2 against now 3, 1, 2.
    temporal = run_backtest(data, 1, 1, regions=["a"])
    assert temporal.jobs == 3
    assert temporal.savings_pct == pytest.approx(100 * (1 - 4 / 6), abs=1e-3)
    assert temporal.per_region == {"a": temporal.savings_pct}
    spatial = run_backtest(data, 1, 1, baseline_region="b")
    assert spatial.regions == ["a", "b"]
    assert spatial.savings_pct == pytest.approx(100 * (1 - 4 / 6), abs=1e-3)
    assert spatial.per_region["b"] == 0.0
    assert spatial.chosen_share == {"a": 1.0, "b": 0.0}  # the t=2 tie goes to the name a
    outside = run_backtest(data, 1, 1, regions=["a"], baseline_region="b")
    assert outside.regions == ["a"] and outside.baseline_region == "b"
    assert outside.savings_pct == spatial.savings_pct


def assert_same(vec: Outcome, loop: Outcome) -> None:
    for key in ("arrivals", "region", "offset", "temporal_offset"):
        np.testing.assert_array_equal(getattr(vec, key), getattr(loop, key), err_msg=key)
    for key in ("planned", "run_now", "temporal_planned", "temporal_now"):
        np.testing.assert_allclose(getattr(vec, key), getattr(loop, key), rtol=0, atol=2e-6)
    if vec.methods is None:
        assert loop.methods is None
    else:
        np.testing.assert_array_equal(vec.methods, loop.methods)


@pytest.mark.parametrize(
    ("duration", "delay", "integers"),
    [(1, 5, False), (2.5, 4, False), (3, 6, True), (1, 0, True)],
)
def test_vectorised_oracle_equals_loop(duration: float, delay: float, integers: bool) -> None:
    rng = np.random.default_rng(int(duration * 10 + delay))
    actual = rng.integers(0, 4, (4, 90)).astype(float) if integers else rng.uniform(0, 500, (4, 90))
    shape = JobShape.from_hours(duration, delay, 1.0)
    rank = [2, 0, 3, 1]
    vec = backtest_arrays(actual, rank, actual[2], shape, "oracle", 24)
    assert_same(vec, backtest_loop(actual, rank, actual[2], shape, "oracle", 24))


@pytest.mark.parametrize(("duration", "delay"), [(1, 3), (2.5, 20)])
def test_vectorised_day_ahead_equals_loop(duration: float, delay: float) -> None:
    rng = np.random.default_rng(3)
    hours = np.arange(24 * 14 + 40)
    daily = 200 + 80 * np.sin(2 * np.pi * hours / 24)
    actual = daily + rng.normal(0, 20, (3, hours.size))
    for row, shift in enumerate([325, 330, 340]):  # a level shift makes persistence win later
        actual[row, shift:] += 200
    shape = JobShape.from_hours(duration, delay, 1.0)
    vec = backtest_arrays(actual, [1, 0, 2], actual[0], shape, "day-ahead", 24)
    assert vec.methods is not None and len(set(vec.methods.ravel().tolist())) > 1
    assert_same(vec, backtest_loop(actual, [1, 0, 2], actual[0], shape, "day-ahead", 24))


def test_loop_on_a_subset_of_arrivals() -> None:
    actual = np.random.default_rng(1).uniform(0, 9, (2, 60))
    shape = JobShape.from_hours(1, 5, 1.0)
    vec = backtest_arrays(actual, [0, 1], actual[0], shape, "oracle", 24)
    part = backtest_loop(actual, [0, 1], actual[0], shape, "oracle", 24, arrivals=[3, 10])
    np.testing.assert_array_equal(part.region, vec.region[[3, 10]])


def test_errors() -> None:
    data = frame(a=[1, 2, 3])
    with pytest.raises(ValueError, match="too short"):
        run_backtest(data, 2, 2)
    with pytest.raises(ValueError, match="unknown or duplicate series"):
        run_backtest(data, 1, 0, regions=["x"])
    with pytest.raises(ValueError, match="unknown forecast"):
        run_backtest(data, 1, 0, forecast="crystal-ball")


def test_shipped_eia930_oracle_and_day_ahead() -> None:
    data = load_shipped_eia930()[["CISO", "BPAT"]]
    oracle = run_backtest(data, 1, 24, regions=["CISO"])
    assert oracle.jobs == 8760 - 25 + 1
    ahead = run_backtest(data, 1, 24, regions=["CISO"], forecast="day-ahead")
    assert ahead.jobs == oracle.jobs - 14 * 24
    assert 0 < ahead.savings_pct < oracle.savings_pct
    assert set(ahead.forecast_mae["CISO"]) == set(ahead.method_share["CISO"])
    spatial = run_backtest(data, 1, 24, baseline_region="CISO")
    assert spatial.savings_pct > oracle.savings_pct


def noisy_daily_frame(days: int, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    x = 300 + 40 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 25, hours.size)
    return frame(zone=list(x))


def test_wait_rules_fixed_backtested_and_none() -> None:
    data = noisy_daily_frame(70)
    anything = run_backtest(data, 1, 24, forecast="ridge", min_gain_pct=0)
    rule = run_backtest(data, 1, 24, forecast="ridge")
    never = run_backtest(data, 1, 24, forecast="ridge", min_gain_pct=1000)
    assert anything.min_gain_rule.startswith("fixed: wait only for an expected gain of at least 0%")
    assert rule.min_gain_rule.startswith("back-tested: 0.8 x the forecast's saving error")
    assert never.savings_pct == 0.0 and never.per_region_losing_starts_pct["zone"] == 0.0
    # The back-tested rule gives up little of the saving and most of the losing starts; it does
    # not wait while fewer than 24 back-tested runs have ended (25 + 23 arrivals).
    assert rule.savings_pct > 0.85 * anything.savings_pct
    losing = rule.per_region_losing_starts_pct["zone"]
    assert losing < 0.5 * anything.per_region_losing_starts_pct["zone"]
    assert "; 48 region-arrivals started now while the error was unknown)" in rule.min_gain_rule
    assert 0 < rule.per_region_kept_pct["zone"] < 100
    assert rule.per_region_oracle["zone"] > rule.per_region["zone"]
    oracle = run_backtest(data, 1, 24)
    assert oracle.per_region_kept_pct == {"zone": 100.0}
    assert oracle.min_gain_rule == "none: wait for any expected gain"
    with pytest.raises(ValueError, match="min_gain_pct must be a percentage >= 0, got -1"):
        run_backtest(data, 1, 24, forecast="ridge", min_gain_pct=-1)


def test_the_backtested_threshold_uses_only_runs_that_had_ended() -> None:
    from carbon_aware.planning.skill import trailing_error

    errors = np.arange(10.0)
    got = trailing_error(errors, horizon=3, window=4)
    # At arrival a the runs of arrivals b <= a - 3 have ended; the last 4 of them are averaged.
    expected = [
        np.mean(errors[max(0, a - 3 - 3) : a - 3 + 1]) if a >= 3 else np.nan for a in range(10)
    ]
    np.testing.assert_allclose(got, expected)


def test_a_fixed_threshold_starts_now_in_the_region_best_now() -> None:
    data = frame(a=[3, 2.9, 9, 9], b=[2, 2, 2, 2])
    # a at 1 h wait (2.9) is not the best; b now (2) is: no wait in either case.
    assert run_backtest(data, 1, 1, min_gain_pct=50).chosen_share == {"a": 0.0, "b": 1.0}
    data = frame(a=[3, 1, 9, 9], b=[2, 2, 2, 2])
    # waiting for a (1) gains 50 % over b now (2): kept with 40 %, dropped with 60 %.
    assert run_backtest(data, 1, 1, baseline_region="b", min_gain_pct=40).savings_pct > 0
    cautious = run_backtest(data, 1, 1, baseline_region="b", min_gain_pct=60)
    assert cautious.mean_delay_hours == 0.0
