"""Day-ahead forecast methods on synthetic periodic data."""

from __future__ import annotations

import numpy as np
import pytest

from carbon_aware.planning.forecast import (
    METHODS,
    day_ahead_forecast,
    reference_forecast,
    trailing_mae,
)

D = 24


def weekly_pattern(days: int) -> np.ndarray:
    hours = np.arange(days * D)
    daily = 200 + 80 * np.sin(2 * np.pi * hours / D)
    weekend = np.where((hours // D) % 7 >= 5, 120.0, 0.0)
    return daily + weekend


def test_weekly_profile_beats_persistence_on_a_clean_weekly_pattern() -> None:
    x = weekly_pattern(7 * 6)
    origin = len(x) - 3 * D  # leaves the next 3 days as truth
    mae = dict(zip(METHODS, trailing_mae(x[:origin], D, 7 * D)[:, origin], strict=True))
    assert mae["persistence_168h"] == 0.0
    assert mae["persistence_24h"] > 0
    assert mae["persistence_168h"] < min(mae["mean_7d"], mae["blend_24h_7d"])
    forecast = day_ahead_forecast(x[:origin], 2 * D, D)
    assert forecast.method == "persistence_168h"
    assert forecast.mae == mae
    np.testing.assert_allclose(forecast.values, x[origin : origin + 2 * D])


def test_seven_day_mean_beats_persistence_on_a_noisy_daily_pattern() -> None:
    rng = np.random.default_rng(7)
    hours = np.arange(D * 30)
    x = 300 + 100 * np.sin(2 * np.pi * hours / D) + rng.normal(0, 30, hours.size)
    forecast = day_ahead_forecast(x, D, D)
    assert forecast.mae["mean_7d"] < forecast.mae["persistence_24h"]
    assert forecast.mae["blend_24h_7d"] < forecast.mae["persistence_24h"]
    assert forecast.method in ("mean_7d", "blend_24h_7d")


def test_forecast_uses_the_latest_observed_day_for_each_lead() -> None:
    x = np.arange(D * 15, dtype=float)  # a ramp: persistence_24h is off by exactly one day
    mae = trailing_mae(x, D, 7 * D)[:, -1]
    assert mae[METHODS.index("persistence_24h")] == D
    forecast = day_ahead_forecast(x, 3 * D, D)
    assert forecast.method == "persistence_24h"
    origin = len(x)
    expected = [origin + k - D * (1 + k // D) for k in range(3 * D)]
    np.testing.assert_array_equal(forecast.values, expected)


@pytest.mark.parametrize("horizon", [1, D, D + 5, 3 * D])
def test_vectorised_forecast_matches_the_reference_loop(horizon: int) -> None:
    rng = np.random.default_rng(horizon)
    x = rng.uniform(0, 500, D * 15 + 7)
    forecast = day_ahead_forecast(x, horizon, D)
    values, method = reference_forecast(list(x), horizon, D)
    assert forecast.method == method
    np.testing.assert_allclose(forecast.values, values, rtol=1e-12)


def test_forecast_limits() -> None:
    with pytest.raises(ValueError, match="needs 14 days of history"):
        day_ahead_forecast(np.ones(D * 13), 1, D)
    with pytest.raises(ValueError, match="at most 7 days"):
        day_ahead_forecast(np.ones(D * 15), 7 * D + 1, D)


def test_one_extreme_reading_does_not_corrupt_later_trailing_errors() -> None:
    x = weekly_pattern(21) + np.random.default_rng(7).normal(0.0, 5.0, 21 * D)
    spiked = x.copy()
    spiked[7 * D] = 1e20
    # persistence_168h sees the spike only as the target at 7 D and as its forecast at 14 D:
    # one-day windows strictly between them must be exactly as without it.
    m = METHODS.index("persistence_168h")
    clean, dirty = trailing_mae(x, D, D)[m], trailing_mae(spiked, D, D)[m]
    between = slice(7 * D + 1 + D, 14 * D + 1)
    np.testing.assert_array_equal(dirty[between], clean[between])
    assert dirty[7 * D + D] > 1e17  # the window holding the spike does show it
