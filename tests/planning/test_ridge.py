"""Our ridge forecast: only the past is read, back-test and plan-time fits agree, it helps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon_aware.planning import run_backtest
from carbon_aware.planning.forecast import one_day_ahead
from carbon_aware.planning.ridge import (
    REFIT_DAYS,
    RIDGE_HISTORY_DAYS,
    fit_ridge,
    ridge_backtest,
    ridge_forecast,
)

D = 24


def wind_like(days: int, seed: int = 3) -> np.ndarray:
    """A daily cycle plus a slowly wandering level (AR(1)): what recent readings predict."""
    rng = np.random.default_rng(seed)
    n = days * D
    level = np.zeros(n)
    for t in range(1, n):
        level[t] = 0.97 * level[t - 1] + rng.normal(0, 12)
    hours = np.arange(n)
    return np.clip(300 + 60 * np.sin(2 * np.pi * hours / D) + level, 5, None)


def test_the_forecast_reads_only_readings_before_the_origin() -> None:
    x = wind_like(60)
    origin = 45 * D
    first = ridge_forecast(x[:origin], 30, D)
    model = fit_ridge(x[:origin], 30, D)
    changed = x.copy()
    changed[origin:] = 9999.0  # the future must not matter
    np.testing.assert_allclose(model.predict(changed, np.array([origin]))[0], first)


def test_backtest_refits_match_a_plan_time_fit() -> None:
    x = wind_like(80)
    first = RIDGE_HISTORY_DAYS * D
    origins = np.arange(first, len(x) - 30)
    back = ridge_backtest(x, origins, 30, D)
    scale = float(np.mean(x[:first]))
    for k in (0, 1, 3):
        t = first + k * REFIT_DAYS * D
        np.testing.assert_allclose(back[t - first], ridge_forecast(x[:t], 30, D, scale), rtol=1e-8)


def test_it_beats_same_hour_yesterday_when_the_level_wanders() -> None:
    x = wind_like(120)
    first = 60 * D
    origins = np.arange(first, len(x) - D)
    fc = ridge_backtest(x, origins, D, D)
    lead3 = np.mean(np.abs(fc[:, 2] - x[origins + 2]))
    p24 = one_day_ahead(x, D)["persistence_24h"]
    baseline = np.mean(np.abs(p24[origins + 2] - x[origins + 2]))
    assert lead3 < 0.5 * baseline


def test_too_little_history_or_too_long_a_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="28 days of history"):
        ridge_forecast(wind_like(20), 24, D)
    with pytest.raises(ValueError, match="at most 7 days"):
        ridge_forecast(wind_like(40), 8 * D, D)


def test_backtest_with_the_ridge_forecast_saves_more_than_day_ahead() -> None:
    x = wind_like(150, seed=11)
    index = pd.date_range("2024-01-01", periods=len(x), freq="h", tz="UTC", name="datetime")
    frame = pd.DataFrame({"zone": x}, index=index)
    ridge = run_backtest(frame, 1, 24, forecast="ridge")
    day_ahead = run_backtest(frame, 1, 24, forecast="day-ahead")
    oracle = run_backtest(frame, 1, 24)
    assert ridge.first_arrival_utc == "2024-01-29T00:00:00Z"  # after 28 days of history
    assert 0 < day_ahead.savings_pct < ridge.savings_pct < oracle.savings_pct


def test_plan_job_with_the_ridge_forecast_finds_the_daily_trough() -> None:
    from carbon_aware.planning import plan_job

    hours = np.arange(40 * D)
    x = 300 + 100 * np.cos(2 * np.pi * hours / D)  # trough at hour 12 of every day
    index = pd.date_range("2024-01-01", periods=len(x), freq="h", tz="UTC", name="datetime")
    plan = plan_job(pd.DataFrame({"zone": x}, index=index), ["zone"], 1, 23, forecast="ridge")
    assert plan.planned_at_utc == "2024-02-10T00:00:00Z"
    assert plan.start_utc == "2024-02-10T12:00:00Z"
    assert plan.forecast_methods == {"zone": "ridge"}


def daily_shape(days: int, start_hour: int = 0) -> np.ndarray:
    hours = np.arange(days * D) + start_hour
    return 300 + 80 * np.sin(2 * np.pi * hours / D)


def noisy_daily(days: int, start_hour: int = 0, seed: int = 7) -> np.ndarray:
    """A fixed daily shape under heavy hour-to-hour noise: one week's profile is a poor guide."""
    rng = np.random.default_rng(seed)
    return daily_shape(days, start_hour) + rng.normal(0, 60, days * D)


def test_time_of_day_harmonics_learn_the_long_run_daily_shape() -> None:
    x = noisy_daily(120)
    origins = np.arange(60 * D, len(x) - 2 * D)
    with_shape = ridge_backtest(x, origins, 2 * D, D)
    without = ridge_backtest(x, origins, 2 * D, D, harmonics=0)
    shape = daily_shape(120)[origins[:, None] + np.arange(2 * D)[None, :]]
    # Against the noise-free shape (what can be forecast at all), the error falls by half.
    assert np.mean(np.abs(with_shape - shape)) < 0.5 * np.mean(np.abs(without - shape))


def test_day_step_places_the_series_in_the_day() -> None:
    x = noisy_daily(80, start_hour=5)
    origin = 70 * D
    shifted = ridge_forecast(x[:origin], 2 * D, D, day_step=5)
    first = RIDGE_HISTORY_DAYS * D
    back = ridge_backtest(x, np.array([first, origin]), 2 * D, D, day_step=5)
    refit = first + ((origin - first) // (REFIT_DAYS * D)) * REFIT_DAYS * D
    scale = float(np.mean(x[:first]))
    np.testing.assert_allclose(
        back[1], ridge_forecast(x[:refit], 2 * D, D, scale, day_step=5), rtol=1e-8
    )
    # The trough of the sine is at 18:00 UTC; the wrong phase misses it by hours.
    assert abs(int(np.argmin(shifted[:D])) - ((18 - origin - 5) % D)) <= 1


def test_sliced_features_equal_the_indexed_ones() -> None:
    from carbon_aware.planning.ridge import _design, _design_range, _prepare

    prepared = _prepare(noisy_daily(40) / 300, D, 7, 3)
    for lead in (1, 5, 24, 25, 60):
        origins = np.arange(200, 700)
        np.testing.assert_array_equal(
            _design_range(prepared, 200, 700, lead, D), _design(prepared, origins, lead, D)
        )
