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
